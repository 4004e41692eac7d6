using System.Diagnostics;

namespace Mechanist.Autograd;

/// <summary>
/// Where a training step's time goes, by <see cref="StepPart"/>, forward and backward apart. A timeline: every
/// switch of part charges the wall time (and the process's CPU time) since the previous switch to the part that
/// was running, so the parts add up to the whole step. Models mark their parts with <see cref="Enter"/>; the tape
/// tags each recorded backward with the part that recorded it. Off unless started on this thread, and then each
/// mark costs one thread-static read; on, a switch reads a timestamp and the process's CPU time (≈1 µs).
/// <code>
/// using var profile = StepProfiler.Start();
/// step.Run(...);                         // marked parts accumulate
/// profile.Stop(); profile.Wall(StepPart.Attention, backward: true) ...
/// </code>
/// </summary>
public sealed class StepProfiler : IDisposable
{
    [ThreadStatic] static StepProfiler? _current;

    static readonly int Parts = Enum.GetValues<StepPart>().Length;
    readonly long[] _wallTicks = new long[2 * Parts];
    readonly long[] _cpuTicks = new long[2 * Parts];
    readonly StepProfiler? _previous;
    readonly long _startGcPause, _startAllocated;
    StepPart _part;
    bool _backward, _stopped;
    long _lastWall, _lastCpu;

    StepProfiler(StepProfiler? previous)
    {
        _previous = previous;
        _startGcPause = GC.GetTotalPauseDuration().Ticks;
        _startAllocated = GC.GetTotalAllocatedBytes();
        _lastWall = Stopwatch.GetTimestamp();
        _lastCpu = Environment.CpuUsage.TotalTime.Ticks;
    }

    /// <summary>Starts profiling on this thread (part <see cref="StepPart.Other"/>, forward); dispose or <see cref="Stop"/> to end.</summary>
    public static StepProfiler Start() => _current = new StepProfiler(_current);

    /// <summary>Marks the code until the scope is disposed as <paramref name="part"/> (forward); nothing when not profiling.</summary>
    public static Scope Enter(StepPart part)
    {
        var p = _current;
        if (p == null) return default;
        var previous = p._part;
        p.Switch(part, backward: false);
        return new Scope(p, previous);
    }

    /// <summary>The backward to record: as given, or, while profiling, wrapped to charge its time to the current part.</summary>
    internal static Action Tag(Action backward)
    {
        var p = _current;
        if (p == null) return backward;
        var part = p._part;
        return () =>
        {
            p.Switch(part, backward: true);
            backward();
        };
    }

    /// <summary>Wall seconds spent in a part, forward or backward.</summary>
    public double Wall(StepPart part, bool backward) => _wallTicks[Index(part, backward)] / (double)Stopwatch.Frequency;

    /// <summary>Process CPU seconds (all threads) spent while a part ran.</summary>
    public double Cpu(StepPart part, bool backward) => _cpuTicks[Index(part, backward)] / (double)TimeSpan.TicksPerSecond;

    /// <summary>Wall seconds of everything profiled.</summary>
    public double TotalWall => _wallTicks.Sum() / (double)Stopwatch.Frequency;

    /// <summary>Process CPU seconds of everything profiled.</summary>
    public double TotalCpu => _cpuTicks.Sum() / (double)TimeSpan.TicksPerSecond;

    /// <summary>Garbage-collection pauses while profiling (inside the parts' times), seconds.</summary>
    public double GcPause { get; private set; }

    /// <summary>Bytes allocated while profiling (all threads).</summary>
    public long Allocated { get; private set; }

    /// <summary>Charges the time since the last switch and stops recording (idempotent).</summary>
    public void Stop()
    {
        if (_stopped) return;
        Switch(_part, _backward);
        _stopped = true;
        GcPause = (GC.GetTotalPauseDuration().Ticks - _startGcPause) / (double)TimeSpan.TicksPerSecond;
        Allocated = GC.GetTotalAllocatedBytes() - _startAllocated;
        if (_current == this) _current = _previous;
    }

    public void Dispose() => Stop();

    void Switch(StepPart part, bool backward)
    {
        if (_stopped) return;
        long wall = Stopwatch.GetTimestamp(), cpu = Environment.CpuUsage.TotalTime.Ticks;
        int i = Index(_part, _backward);
        _wallTicks[i] += wall - _lastWall;
        _cpuTicks[i] += cpu - _lastCpu;
        (_lastWall, _lastCpu, _part, _backward) = (wall, cpu, part, backward);
    }

    static int Index(StepPart part, bool backward) => (int)part * 2 + (backward ? 1 : 0);

    /// <summary>Returns to the enclosing part (forward) when disposed.</summary>
    public readonly struct Scope : IDisposable
    {
        readonly StepProfiler? _profiler;
        readonly StepPart _previous;

        internal Scope(StepProfiler profiler, StepPart previous) => (_profiler, _previous) = (profiler, previous);

        public void Dispose() => _profiler?.Switch(_previous, backward: false);
    }
}
