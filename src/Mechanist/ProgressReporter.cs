namespace Mechanist;

/// <summary>
/// How long-running library work reports progress without knowing about consoles. The command line
/// renders it as a bar with rate and ETA; tests and library callers pass <see cref="None"/>.
/// </summary>
public interface IProgressReporter
{
    /// <param name="label">What is being done, e.g. "training model".</param>
    /// <param name="total">Units of work expected; 0 when unknown.</param>
    /// <param name="unit">Unit for the rate, e.g. "tok", "B", "step".</param>
    IProgressTask Start(string label, long total, string unit);

    static IProgressReporter None { get; } = new NoProgress();
}

public interface IProgressTask : IDisposable
{
    void Advance(long amount);
    void SetDone(long done);
    /// <summary>A short live status line (loss, L0, ...), shown after the bar.</summary>
    void SetStatus(string status);
    /// <summary>A one-off event worth keeping on screen (e.g. "resampled 120 dead latents"), printed above the bar.</summary>
    void Note(string message) { }
}

sealed class NoProgress : IProgressReporter, IProgressTask
{
    public IProgressTask Start(string label, long total, string unit) => this;
    public void Advance(long amount) { }
    public void SetDone(long done) { }
    public void SetStatus(string status) { }
    public void Dispose() { }
}
