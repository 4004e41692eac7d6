namespace Mechanist.Tests.Numerics;

/// <summary>
/// Tests that change <see cref="Mechanist.Numerics.Parallelism.Threads"/>, which is process-wide, run alone:
/// a kernel in another test reading it mid-run would split its work differently, and tests that demand
/// bit-identical results (an SAE resumed from a checkpoint against a straight run) would then fail by chance.
/// </summary>
[CollectionDefinition("threads-alone", DisableParallelization = true)]
public sealed class ThreadsAloneCollection;

/// <summary>Sets <see cref="Mechanist.Numerics.Parallelism.Threads"/> until disposed (for tests in the threads-alone collection).</summary>
static class TestThreads
{
    public static IDisposable Set(int threads) => new Scope(threads);

    sealed class Scope : IDisposable
    {
        readonly int _saved = Mechanist.Numerics.Parallelism.Threads;
        public Scope(int threads) => Mechanist.Numerics.Parallelism.Threads = threads;
        public void Dispose() => Mechanist.Numerics.Parallelism.Threads = _saved;
    }
}
