using Mechanist.Sae;

namespace Mechanist.Tests.Dictionary;

/// <summary>Defaults that must fit the run they are used in (issue 13, "SAE defaults on short runs").</summary>
public class SaeTrainingDefaultsTests
{
    [Theory]
    [InlineData(5_000_000, 500_000)]     // the 5 M-token run: a 10 M window never counted a latent dead
    [InlineData(1_000_000_000, 10_000_000)] // long runs keep Gao et al.'s 10 M
    [InlineData(10_000, 4096)]           // at least one batch
    public void The_dead_window_is_a_tenth_of_the_run_at_most_10M(long runTokens, long window) =>
        Assert.Equal(window, new SaeTrainingOptions { BatchSize = 4096 }.DeadWindow(runTokens));

    [Fact]
    public void A_given_dead_window_is_kept() =>
        Assert.Equal(123_456, new SaeTrainingOptions { DeadWindowTokens = 123_456 }.DeadWindow(5_000_000));

    [Fact]
    public void AuxK_is_on_by_default_for_topk_and_batchtopk_with_half_the_input_width()
    {
        var o = new SaeTrainingOptions();
        Assert.Equal(1.0 / 32, o.AuxAlpha);
        foreach (var arch in new[] { SaeArchitecture.TopK, SaeArchitecture.BatchTopK })
        {
            var run = new SaeTrainingRun("r", new SparseAutoencoder(arch, 64, 256, 8), o with { Architecture = arch }, 0);
            Assert.Equal(32, run.Settings.KAux);
        }
    }
}
