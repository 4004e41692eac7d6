namespace Mechanist.Tests.Numerics;

/// <summary>
/// Tests that change <see cref="Mechanist.Numerics.Parallelism.Threads"/>, which is process-wide, run alone:
/// a kernel in another test reading it mid-run would split its work differently, and tests that demand
/// bit-identical results (an SAE resumed from a checkpoint against a straight run) would then fail by chance.
/// </summary>
[CollectionDefinition("threads-alone", DisableParallelization = true)]
public sealed class ThreadsAloneCollection;
