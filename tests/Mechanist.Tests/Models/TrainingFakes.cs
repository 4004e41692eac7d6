using Mechanist.Models;

namespace Mechanist.Tests.Models;

/// <summary>Windows cut from a fixed synthetic token sequence, visited in a seeded order; resumable by position.</summary>
sealed class ArrayWindows(int[] tokens, int context, int vocab) : IWindowSource
{
    public int Context => context;
    public int VocabSize => vocab;
    public long Position { get; private set; }
    public void Seek(long position) => Position = position;
    public void Next(Span<int> window)
    {
        long count = tokens.Length / (context + 1);
        long i = (Position * 7919 + 13) % count;
        Position++;
        tokens.AsSpan((int)i * (context + 1), context + 1).CopyTo(window);
    }
}

/// <summary>Cancels the run after a given number of progress advances (steps).</summary>
sealed class StopAfter(int steps, CancellationTokenSource cts) : IProgressReporter, IProgressTask
{
    int _seen;
    public IProgressTask Start(string label, long total, string unit) => this;
    public void Advance(long amount) { if (++_seen == steps) cts.Cancel(); }
    public void SetDone(long done) { }
    public void SetStatus(string status) { }
    public void Dispose() { }
}

/// <summary>Every progress call as a line ("start LABEL TOTAL UNIT", "advance N", "done N", "status TEXT"), in order.</summary>
sealed class ProgressLog : IProgressReporter, IProgressTask
{
    public readonly List<string> Events = [];
    public IProgressTask Start(string label, long total, string unit) { Events.Add($"start {label} {total} {unit}"); return this; }
    public void Advance(long amount) => Events.Add($"advance {amount}");
    public void SetDone(long done) => Events.Add($"done {done}");
    public void SetStatus(string status) => Events.Add($"status {status}");
    public void Dispose() { }
}
