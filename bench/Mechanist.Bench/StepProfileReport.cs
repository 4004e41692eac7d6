using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Mechanist.Autograd;

namespace Mechanist.Bench;

/// <summary>
/// A <see cref="StepProfiler"/> as a table (text or JSON): each part's share of the step's wall time, forward and
/// backward, and how many cores were busy while it ran (process CPU time ÷ wall time). Idle is the wall time
/// times the thread count minus the CPU time, over the same product: cores a part left waiting (or, on a shared
/// machine, cores other processes held, so read it at low load).
/// </summary>
public static class StepProfileReport
{
    static readonly (StepPart Part, string Name)[] Rows =
    [
        (StepPart.Embedding, "embedding"), (StepPart.LayerNorm, "layer norms"), (StepPart.Attention, "attention projections"),
        (StepPart.AttentionKernel, "attention kernel"),
        (StepPart.Mlp, "MLP"), (StepPart.UnembeddingLoss, "unembedding + loss"), (StepPart.Optimizer, "optimizer"),
        (StepPart.Other, "other (residual adds, reshapes)"),
    ];

    public static string Text(StepProfiler p, int steps, int threads)
    {
        var inv = CultureInfo.InvariantCulture;
        double total = p.TotalWall;
        var sb = new StringBuilder();
        sb.AppendLine(string.Create(inv, $"profile: {steps} steps, {total / steps * 1000:0} ms per step, {threads} threads"));
        sb.AppendLine(string.Create(inv, $"{"part",-32} {"forward",8} {"backward",9} {"total",7} {"cores busy",11}"));
        foreach (var (part, name) in Rows)
        {
            double f = p.Wall(part, false), b = p.Wall(part, true), cpu = p.Cpu(part, false) + p.Cpu(part, true);
            sb.AppendLine(string.Create(inv, $"{name,-32} {f / total,8:P1} {b / total,9:P1} {(f + b) / total,7:P1} {(f + b > 0 ? cpu / (f + b) : 0),11:0.00}"));
        }
        sb.AppendLine(string.Create(inv, $"{"threading idle (of the above)",-32} {Idle(p, threads),26:P1}"));
        sb.AppendLine(string.Create(inv, $"{"GC pauses (of the above)",-32} {p.GcPause / total,26:P1}"));
        sb.Append(string.Create(inv, $"allocated {p.Allocated / 1e6 / steps:N0} MB per step"));
        return sb.ToString();
    }

    public static JsonObject Json(StepProfiler p, int steps, int threads)
    {
        double total = p.TotalWall;
        var parts = new JsonObject();
        foreach (var (part, _) in Rows)
        {
            double f = p.Wall(part, false), b = p.Wall(part, true), cpu = p.Cpu(part, false) + p.Cpu(part, true);
            parts[part.ToString()] = new JsonObject
            {
                ["forward_share"] = Math.Round(f / total, 4), ["backward_share"] = Math.Round(b / total, 4),
                ["cores_busy"] = f + b > 0 ? Math.Round(cpu / (f + b), 3) : 0,
            };
        }
        return new JsonObject
        {
            ["steps"] = steps, ["threads"] = threads, ["seconds_per_step"] = Math.Round(total / steps, 4), ["parts"] = parts,
            ["idle_share"] = Math.Round(Idle(p, threads), 4), ["gc_pause_share"] = Math.Round(p.GcPause / total, 4),
            ["allocated_bytes_per_step"] = p.Allocated / steps,
        };
    }

    /// <summary>(threads × wall − CPU) / (threads × wall), over the whole profile.</summary>
    static double Idle(StepProfiler p, int threads) => Math.Max(0, 1 - p.TotalCpu / (threads * p.TotalWall));
}
