using Mechanist.Autograd;
using Mechanist.Autograd.Optimizers;

namespace Mechanist.Tests.Autograd;

/// <summary>
/// Restoring Adam's state from a checkpoint: what is accepted (a fresh state with step 0 included) and what is
/// refused, naming the file, the key and the problem.
/// </summary>
public class AdamStateImportTests
{
    const string Source = "/run/optimizer.safetensors";

    static Adam Fresh() => new([new Parameter("w", new Tensor(4, 5))]);

    static Dictionary<string, Tensor> Moments(params int[] shape) => new()
    {
        ["w.exp_avg"] = new Tensor(shape),
        ["w.exp_avg_sq"] = new Tensor(shape),
    };

    static void Refused(Dictionary<string, Tensor> tensors, Dictionary<string, long> steps, string field, string problem)
    {
        var e = Assert.Throws<DataFormatError>(() => Fresh().ImportState(tensors, steps, Source));
        Assert.Equal(Source, e.FilePath);
        Assert.Equal(field, e.Field);
        Assert.Contains(problem, e.Problem);
    }

    [Fact]
    public void A_state_that_never_stepped_imports_with_step_zero()
    {
        var (tensors, steps) = Fresh().ExportState();
        Assert.Equal(0, steps["w"]);
        var opt = Fresh();
        opt.StateOf("w").Step = 7;
        opt.ImportState(tensors, steps, Source);
        Assert.Equal(0, opt.StateOf("w").Step);
    }

    [Fact]
    public void Imported_moments_are_copied_in()
    {
        var tensors = Moments(4, 5);
        tensors["w.exp_avg"].Fill(0.25f);
        tensors["w.exp_avg_sq"].Fill(4);
        var opt = Fresh();
        opt.ImportState(tensors, new Dictionary<string, long> { ["w"] = 3 }, Source);
        tensors["w.exp_avg"].Fill(9);
        var s = opt.StateOf("w");
        Assert.All(s.M.ToArray(), m => Assert.Equal(0.25f, m));
        Assert.All(s.V.ToArray(), v => Assert.Equal(4f, v));
        Assert.Equal(3, s.Step);
    }

    [Fact]
    public void A_missing_or_negative_step_count_is_refused()
    {
        Refused(Moments(4, 5), [], "w.step", "missing or negative optimizer step count");
        Refused(Moments(4, 5), new() { ["w"] = -1 }, "w.step", "missing or negative optimizer step count");
    }

    [Fact]
    public void A_missing_or_misshapen_moment_is_refused()
    {
        var steps = new Dictionary<string, long> { ["w"] = 1 };
        var noSecond = Moments(4, 5);
        noSecond.Remove("w.exp_avg_sq");
        Refused(noSecond, steps, "w.exp_avg_sq", "missing optimizer state tensor");
        // Same element count, other shape: a transposed checkpoint must not slip through.
        Refused(Moments(5, 4), steps, "w.exp_avg", "shape [5, 4] does not match parameter [4, 5]");
        Refused(Moments(3), steps, "w.exp_avg", "shape [3] does not match parameter [4, 5]");
    }
}
