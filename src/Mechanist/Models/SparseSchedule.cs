namespace Mechanist.Models;

/// <summary>
/// The schedule of weight-sparse training (docs/METHODS.md §6.2) as pure functions of the step, so a resumed run
/// continues exactly: every sparsified tensor starts dense and its kept fraction falls linearly to its target
/// between <see cref="AnnealStart"/> and <see cref="AnnealEnd"/> of the run; the learning rate is multiplied by
/// √(final hidden density / current hidden density) (1 once the anneal is over).
/// </summary>
/// <param name="HiddenDensity">Final kept fraction of the hidden matrices (c_attn, attn c_proj, c_fc, mlp c_proj).</param>
/// <param name="EmbeddingDensity">Final kept fraction of wte, wpe, lm_head and the biases.</param>
public sealed record SparseSchedule(long TotalSteps, double HiddenDensity, double EmbeddingDensity)
{
    public const double AnnealStart = 0.01, AnnealEnd = 0.5;
    /// <summary>Each neuron's top weights kept before the top-k.</summary>
    public const int MinAlivePerNeuron = 4;
    /// <summary>Adam's ε in the recipe (unusually large: updates of rarely-touched weights stay small).</summary>
    public const float AdamEpsilon = 0.1f;
    /// <summary>The recipe's learning rate, β1, β2, weight decay and warm-up fraction.</summary>
    public const float LearningRate = 1.28e-2f, Beta1 = 0.9f, Beta2 = 0.95f, WeightDecay = 0.1f;
    public const double WarmupFraction = 0.01;

    /// <summary>The paper's ratio at width ×4: embeddings, unembedding and biases 4× denser than hidden matrices (pfrac/E vs pfrac/E²).</summary>
    public static double DefaultEmbeddingDensity(double hiddenDensity) => Math.Min(1, 4 * hiddenDensity);

    /// <summary>The kept fraction, after <paramref name="done"/> steps, of a tensor whose target is <paramref name="final"/>.</summary>
    public double Density(double final, long done)
    {
        double progress = TotalSteps <= 0 ? 1 : done / (double)TotalSteps;
        if (progress <= AnnealStart) return 1;
        if (progress >= AnnealEnd) return final;
        return 1 + (final - 1) * (progress - AnnealStart) / (AnnealEnd - AnnealStart);
    }

    /// <summary>√(final / current hidden density) for the step that follows <paramref name="done"/> steps.</summary>
    public double LearningRateFactor(long done) => Math.Sqrt(HiddenDensity / Density(HiddenDensity, done));

    /// <summary>Linear warm-up over 1 % of the run, then linear decay to 0.</summary>
    public Mechanist.Autograd.Optimizers.LearningRateSchedule LearningRates() =>
        new(Math.Max(1, (long)Math.Round(WarmupFraction * TotalSteps)), TotalSteps, Mechanist.Autograd.Optimizers.DecayShape.Linear, 0);
}
