namespace Mechanist;

/// <summary>
/// Several runs one after another shown as one task (one bar, one rate, one ETA): each run's own
/// <see cref="Start"/> continues the shared task from where the previous runs ended. Before each run the
/// caller says where it starts (<see cref="Next"/>); status lines get the run's name in front.
/// </summary>
public sealed class ProgressSequence(IProgressReporter inner, string label, long total, string unit) : IProgressReporter, IDisposable
{
    readonly IProgressTask _task = inner.Start(label, total, unit);
    long _offset;
    string _name = "";

    /// <summary>The next run is called <paramref name="name"/> and starts at <paramref name="offset"/> units of the whole.</summary>
    public void Next(string name, long offset)
    {
        _name = name;
        _offset = offset;
        _task.SetDone(offset);
    }

    /// <summary>A one-off line above the bar (e.g. "seed 2: done earlier, skipped").</summary>
    public void Note(string message) => _task.Note(message);

    public IProgressTask Start(string label, long total, string unit) => new Part(this);

    public void Dispose() => _task.Dispose();

    sealed class Part(ProgressSequence s) : IProgressTask
    {
        public void Advance(long amount) => s._task.Advance(amount);
        public void SetDone(long done) => s._task.SetDone(s._offset + done);
        public void SetStatus(string status) => s._task.SetStatus($"{s._name}: {status}");
        public void Note(string message) => s._task.Note($"{s._name}: {message}");
        public void Dispose() { }
    }
}
