using System.CommandLine;
using System.Runtime.Intrinsics;
using Mechanist.Numerics;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist info`: what this machine offers the numeric core.</summary>
static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Show the machine's cores and SIMD support as Mechanist sees them.");
        return command.WithAction((_, _) =>
        {
            Console.WriteLine($"mechanist {typeof(InfoCommand).Assembly.GetName().Version}");
            Console.WriteLine($".NET       {Environment.Version}");
            Console.WriteLine($"cores      {Environment.ProcessorCount} (kernels use {Parallelism.Threads})");
            Console.WriteLine($"Vector512  {(Vector512.IsHardwareAccelerated ? "yes" : "no")}");
            Console.WriteLine($"Vector256  {(Vector256.IsHardwareAccelerated ? "yes" : "no")}");
            return 0;
        });
    }
}
