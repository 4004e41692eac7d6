namespace Mechanist.Numerics;

/// <summary>
/// One owner of the cores: every multithreaded kernel asks here how many threads it may use.
/// Oversubscription (nested parallel GEMMs) measured 25% slower than one thread each, so callers
/// that parallelise at a higher level set <see cref="Threads"/> to 1 inside their workers.
/// </summary>
public static class Parallelism
{
    static int _threads = Environment.ProcessorCount;

    /// <summary>Threads a kernel may use; defaults to the machine's core count.</summary>
    public static int Threads
    {
        get => _threads;
        set => _threads = value < 1 ? throw new ArgumentOutOfRangeException(nameof(value), "at least one thread") : value;
    }
}
