namespace Mechanist.Tests.Sae;

/// <summary>
/// Records what the SAE training code reports: each task started ("LABEL TOTAL UNIT"), the statuses and notes in order,
/// every SetDone, and the sum of all advances (over every task started).
/// </summary>
sealed class ProgressRecorder : IProgressReporter, IProgressTask
{
    public readonly List<string> Starts = [], Notes = [], Statuses = [];
    public readonly List<long> Done = [];
    public long Advanced;
    public IProgressTask Start(string label, long total, string unit) { Starts.Add($"{label} {total} {unit}"); return this; }
    public void Advance(long amount) => Advanced += amount;
    public void SetDone(long done) => Done.Add(done);
    public void SetStatus(string status) => Statuses.Add(status);
    public void Note(string message) => Notes.Add(message);
    public void Dispose() { }
}
