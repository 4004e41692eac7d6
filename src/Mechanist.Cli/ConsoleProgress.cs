using System.Diagnostics;

namespace Mechanist.Cli;

/// <summary>
/// Progress bars on stderr: label, bar, percentage, rate, ETA and a status line. Redraws in place at most
/// ten times a second on a terminal; when stderr is redirected (CI, logs) prints a plain line every 10 s.
/// </summary>
public sealed class ConsoleProgress : IProgressReporter
{
    public static ConsoleProgress Instance { get; } = new();

    public IProgressTask Start(string label, long total, string unit) => new Bar(label, total, unit);

    sealed class Bar(string label, long total, string unit) : IProgressTask
    {
        readonly Stopwatch _clock = Stopwatch.StartNew();
        readonly object _gate = new();
        readonly bool _interactive = !Console.IsErrorRedirected;
        long _done;
        string _status = "";
        double _lastDraw = -1;

        public void Advance(long amount) { Interlocked.Add(ref _done, amount); Draw(false); }
        public void SetDone(long done) { Interlocked.Exchange(ref _done, done); Draw(false); }
        public void SetStatus(string status) { _status = status; Draw(false); }

        public void Note(string message)
        {
            lock (_gate)
            {
                if (_interactive) Console.Error.Write("\r" + message + "\u001b[K\n");
                else Console.Error.WriteLine(message);
                _lastDraw = -1;
            }
            Draw(false);
        }

        public void Dispose()
        {
            Draw(true);
            if (_interactive) Console.Error.WriteLine();
        }

        void Draw(bool final)
        {
            double now = _clock.Elapsed.TotalSeconds;
            lock (_gate)
            {
                double interval = _interactive ? 0.1 : 10;
                if (!final && _lastDraw >= 0 && now - _lastDraw < interval) return;
                _lastDraw = now;
                string line = Render(now, final);
                if (_interactive) Console.Error.Write("\r" + Fit(line) + "\u001b[K");
                else Console.Error.WriteLine(line);
            }
        }

        string Render(double seconds, bool final)
        {
            long done = Interlocked.Read(ref _done);
            double rate = seconds > 0 ? done / seconds : 0;
            string text = label;
            if (total > 0)
            {
                double fraction = Math.Clamp((double)done / total, 0, 1);
                int filled = (int)(fraction * 24);
                text += $" [{new string('█', filled)}{new string('·', 24 - filled)}] {fraction * 100,5:F1}%";
            }
            text += $" {Human(done)}{(total > 0 ? "/" + Human(total) : "")} {unit}";
            text += $" {Human(rate)} {unit}/s";
            if (total > 0 && rate > 0 && !final) text += $" ETA {Clock((total - done) / rate)}";
            else text += $" {Clock(seconds)}";
            if (_status.Length > 0) text += " | " + _status;
            return text;
        }

        static string Fit(string line)
        {
            int width = 120;
            try { if (Console.WindowWidth > 20) width = Console.WindowWidth - 1; } catch (IOException) { }
            return line.Length <= width ? line : line[..width];
        }
    }

    public static string Human(double value) => value switch
    {
        >= 1e9 => $"{value / 1e9:F2}G",
        >= 1e6 => $"{value / 1e6:F2}M",
        >= 1e4 => $"{value / 1e3:F1}k",
        _ => $"{value:F0}",
    };

    public static string Clock(double seconds)
    {
        if (double.IsNaN(seconds) || double.IsInfinity(seconds)) return "--:--";
        var t = TimeSpan.FromSeconds(Math.Max(0, seconds));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:D2}:{t.Seconds:D2}" : $"{t.Minutes:D2}:{t.Seconds:D2}";
    }
}
