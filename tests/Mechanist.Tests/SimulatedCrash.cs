namespace Mechanist.Tests;

/// <summary>
/// A progress reporter that crashes a training run the way a killed process would, for crash-resume tests: it keeps a
/// copy of the checkpoint written after step <paramref name="keepStep"/>, lets the run go on, and throws
/// <see cref="CrashException"/> when step <paramref name="crashStep"/> reports its progress, so no clean checkpoint is
/// written at the stop. <see cref="RestoreKeptCheckpoint"/> then puts the old checkpoint back over the newer one, which
/// leaves the run folder as a crash would: a checkpoint at <paramref name="keepStep"/> and a step log that goes further.
/// Both trainers report progress once per step (on the task whose label starts with "training") after the step's log
/// line and before its checkpoint, so when step s + 1 reports, the checkpoint on disk is step s's.
/// </summary>
public sealed class SimulatedCrash(string checkpointDir, int keepStep, int crashStep) : IProgressReporter
{
    public sealed class CrashException() : Exception("simulated crash");

    readonly string _kept = checkpointDir.TrimEnd(Path.DirectorySeparatorChar) + ".kept";
    int _steps;

    public IProgressTask Start(string label, long total, string unit) =>
        label.StartsWith("training", StringComparison.Ordinal) ? new Task(this) : IProgressReporter.None.Start(label, total, unit);

    /// <summary>Replaces the run's checkpoint folder with the copy kept after step keepStep.</summary>
    public void RestoreKeptCheckpoint()
    {
        if (!Directory.Exists(_kept)) throw new InvalidOperationException($"no checkpoint was kept (the run reached {_steps} steps)");
        Directory.Delete(checkpointDir, recursive: true);
        Directory.Move(_kept, checkpointDir);
    }

    void OnStep()
    {
        _steps++;
        if (_steps == keepStep + 1) Copy(checkpointDir, _kept);
        if (_steps == crashStep) throw new CrashException();
    }

    static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (string dir in Directory.GetDirectories(from)) Copy(dir, Path.Combine(to, Path.GetFileName(dir)));
    }

    sealed class Task(SimulatedCrash owner) : IProgressTask
    {
        public void Advance(long amount) => owner.OnStep();
        public void SetDone(long done) { }
        public void SetStatus(string status) { }
        public void Dispose() { }
    }
}
