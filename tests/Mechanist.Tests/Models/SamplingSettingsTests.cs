using Mechanist.Models;

namespace Mechanist.Tests.Models;

/// <summary>`mechanist model generate`'s sampling options: each refusal names its option, and the boundaries are open or closed as documented.</summary>
public class SamplingSettingsTests
{
    [Theory]
    [InlineData(-0.5f, 0, 1f, "--temperature must be ≥ 0, not -0.5")]
    [InlineData(float.NaN, 0, 1f, "--temperature must be ≥ 0, not NaN")]
    [InlineData(1f, -1, 1f, "--top-k must be ≥ 0, not -1")]
    [InlineData(1f, 0, 0f, "--top-p must be in (0, 1], not 0")]
    [InlineData(1f, 0, 1.25f, "--top-p must be in (0, 1], not 1.25")]
    [InlineData(1f, 0, float.NaN, "--top-p must be in (0, 1], not NaN")]
    public void Bad_settings_are_refused_naming_the_option(float temperature, int topK, float topP, string message) =>
        Assert.Equal(message, Assert.Throws<UserError>(() => new SamplingSettings(temperature, topK, topP).Validate()).Message);

    [Theory]
    [InlineData(0f, 0, 1f)]       // greedy, no top-k, top-p off
    [InlineData(2f, 1, 1e-6f)]    // the smallest nucleus
    public void Boundary_settings_are_accepted(float temperature, int topK, float topP) =>
        new SamplingSettings(temperature, topK, topP).Validate();
}
