namespace Mechanist.Tests;

/// <summary>
/// Command-line tests redirect Console.Out, which is process-wide: they run in a collection that xunit runs
/// alone, so no other test's output lands in their writer and theirs never lands here.
/// </summary>
[CollectionDefinition("console-alone", DisableParallelization = true)]
public sealed class ConsoleAloneCollection;
