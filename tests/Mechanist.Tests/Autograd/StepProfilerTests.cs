using System.Diagnostics;
using Mechanist.Autograd;
using Mechanist.Numerics;
using static Mechanist.Autograd.StepPart;

namespace Mechanist.Tests.Autograd;

/// <summary>
/// StepProfiler's timeline: each switch charges the time since the last one to the part (and direction) that was
/// running. So a part gets at least the time spent inside it, a slot never entered stays at exactly zero, and the
/// slots add up to the totals. The clocks are real, so the checks are bounds: at least the busy wait, at most the
/// clock read around the whole profile.
/// </summary>
public class StepProfilerTests
{
    const double Spin = 0.01; // seconds of both wall and process CPU time that each busy wait lasts at least

    static void Busy()
    {
        long wall = Stopwatch.GetTimestamp();
        var cpu = Environment.CpuUsage.TotalTime;
        while (Stopwatch.GetElapsedTime(wall).TotalSeconds < Spin || (Environment.CpuUsage.TotalTime - cpu).TotalSeconds < Spin) { }
    }

    static readonly (StepPart Part, bool Backward)[] Slots =
        Enum.GetValues<StepPart>().SelectMany(p => new[] { (p, false), (p, true) }).ToArray();

    /// <summary>
    /// The <paramref name="busy"/> slots got at least one busy wait of wall and CPU time, the <paramref name="touched"/>
    /// ones (entered briefly) anything, every other slot exactly nothing; and the slots add up to the totals.
    /// </summary>
    static void AssertCharges(StepProfiler profile, (StepPart, bool)[] busy, params (StepPart, bool)[] touched)
    {
        foreach (var (part, backward) in Slots)
        {
            double wall = profile.Wall(part, backward), cpu = profile.Cpu(part, backward);
            string slot = $"{part} {(backward ? "backward" : "forward")}";
            if (busy.Contains((part, backward)))
            {
                Assert.True(wall >= Spin, $"{slot}: {wall} s wall");
                Assert.True(cpu >= Spin, $"{slot}: {cpu} s CPU");
            }
            else if (!touched.Contains((part, backward)))
            {
                Assert.True(wall == 0 && cpu == 0, $"{slot} was never entered but has {wall} s wall, {cpu} s CPU");
            }
        }
        Assert.Equal(profile.TotalWall, Slots.Sum(s => profile.Wall(s.Part, s.Backward)), 1e-9);
        Assert.Equal(profile.TotalCpu, Slots.Sum(s => profile.Cpu(s.Part, s.Backward)), 1e-9);
    }

    [Fact]
    public void Marked_parts_get_the_time_spent_in_them_and_the_totals_fit_the_clocks()
    {
        long wallBefore = Stopwatch.GetTimestamp();
        var cpuBefore = Environment.CpuUsage.TotalTime;
        var profile = StepProfiler.Start();
        using (StepProfiler.Enter(Attention)) Busy();
        Busy(); // back in Other once the scope ends
        using (StepProfiler.Enter(Mlp))
        {
            using (StepProfiler.Enter(LayerNorm)) Busy();
            Busy(); // Mlp again: a scope returns to the part it interrupted
        }
        profile.Stop();
        double wall = Stopwatch.GetElapsedTime(wallBefore).TotalSeconds, cpu = (Environment.CpuUsage.TotalTime - cpuBefore).TotalSeconds;

        AssertCharges(profile, [(Other, false), (Attention, false), (Mlp, false), (LayerNorm, false)]);
        Assert.InRange(profile.TotalWall, 4 * Spin, wall);
        Assert.InRange(profile.TotalCpu, 4 * Spin, cpu);
    }

    [Fact]
    public void A_recorded_backward_is_charged_as_backward_time_to_the_part_that_recorded_it()
    {
        var ran = new List<StepPart>();
        var profile = StepProfiler.Start();
        using (var tape = Tape.Start())
        {
            using (StepProfiler.Enter(Embedding)) tape.Record(() => { ran.Add(Embedding); Busy(); });
            using (StepProfiler.Enter(UnembeddingLoss)) tape.Record(() => { ran.Add(UnembeddingLoss); Busy(); });
            tape.Backward(Ops.Leaf(new Tensor<double>(1)));
        }
        profile.Stop();

        Assert.Equal([UnembeddingLoss, Embedding], ran);
        AssertCharges(profile, [(Embedding, true), (UnembeddingLoss, true)], (Other, false), (Embedding, false), (UnembeddingLoss, false));
    }

    [Fact]
    public void Stop_charges_the_open_part_then_every_figure_is_frozen()
    {
        var profile = StepProfiler.Start();
        var optimizer = StepProfiler.Enter(Optimizer);
        Busy();
        profile.Stop();
        Assert.True(profile.Wall(Optimizer, backward: false) >= Spin);
        double[] Figures() => [.. Slots.Select(s => profile.Wall(s.Part, s.Backward)), .. Slots.Select(s => profile.Cpu(s.Part, s.Backward)),
            profile.GcPause, profile.Allocated];
        var frozen = Figures();

        Busy();
        GC.KeepAlive(new byte[1 << 20]);
        optimizer.Dispose();                        // a scope closing after Stop charges nothing,
        using (StepProfiler.Enter(Mlp)) Busy();     // the profiler no longer takes marks,
        profile.Stop();                             // and stopping again changes nothing
        profile.Dispose();
        Assert.Equal(frozen, Figures());
    }

    [Fact]
    public void An_inner_profiler_takes_the_marks_until_it_stops_then_the_outer_one_has_them_again()
    {
        var outer = StepProfiler.Start();
        var inner = StepProfiler.Start();
        using (StepProfiler.Enter(Attention)) Busy();
        inner.Stop();
        using (StepProfiler.Enter(Mlp)) Busy();
        outer.Stop();

        AssertCharges(inner, [(Attention, false)], (Other, false));
        AssertCharges(outer, [(Other, false), (Mlp, false)]); // the inner profile's time is the outer's Other
    }

    [Fact]
    public void Without_a_profiler_marks_do_nothing_and_backwards_are_recorded_as_given()
    {
        Action backward = () => { };
        Assert.Same(backward, StepProfiler.Tag(backward));
        using (StepProfiler.Enter(Mlp)) { }
    }

    [Fact]
    public void Gc_pause_and_allocation_are_those_made_while_profiling()
    {
        GC.Collect(); // so the process has GC pause time from before the profile
        var pauseBefore = GC.GetTotalPauseDuration();
        long allocatedBefore = GC.GetTotalAllocatedBytes();
        var profile = StepProfiler.Start();
        GC.KeepAlive(new byte[1 << 22]);
        GC.Collect();
        profile.Stop();
        double pause = (GC.GetTotalPauseDuration() - pauseBefore).TotalSeconds;
        long allocated = GC.GetTotalAllocatedBytes() - allocatedBefore;

        Assert.InRange(profile.GcPause, double.Epsilon, pause);
        // The runtime's cheap byte count lags by what sits in allocation buffers (kilobytes): bounds with slack.
        Assert.InRange(profile.Allocated, 1 << 21, allocated + (1 << 20));
    }
}
