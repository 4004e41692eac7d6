using Mechanist.Autograd.Optimizers;

namespace Mechanist.Sae;

/// <summary>One SAE being trained: its weights, optimizer, loss settings and firing history.</summary>
public sealed class SaeTrainingRun
{
    internal SaeTrainingRun(string name, SparseAutoencoder sae, SaeTrainingOptions o, double lambda, double learningRate)
    {
        Name = name;
        Sae = sae;
        Lambda = lambda;
        LearningRate = learningRate;
        Optimizer = new Adam(sae.Parameters, (float)learningRate, (float)o.Beta1, (float)o.Beta2, (float)o.Epsilon);
        TokensSinceFired = new long[sae.DSae];
        int kAux = o.KAux > 0 ? o.KAux : FloorPowerOfTwo(Math.Max(1, sae.DIn / 2));
        Settings = new SaeLossSettings
        {
            K = sae.K,
            KAux = o.UsesK ? Math.Min(kAux, sae.DSae) : 0,
            AuxAlpha = o.AuxAlpha,
            Bandwidth = o.Bandwidth,
        };
    }

    static int FloorPowerOfTwo(int n) => 1 << (31 - System.Numerics.BitOperations.LeadingZeroCount((uint)n));

    public string Name { get; }
    public SparseAutoencoder Sae { get; }
    public Adam Optimizer { get; }
    /// <summary>Peak learning rate (<see cref="SaeTrainingOptions.LearningRateFor"/>), before warm-up and decay.</summary>
    public double LearningRate { get; }
    /// <summary>Target sparsity coefficient λ (relu, jumprelu, gated); the loss uses it after warm-up.</summary>
    public double Lambda { get; }
    internal SaeLossSettings Settings { get; }
    /// <summary>Tokens since each latent last fired (dead-latent tracking; saved in checkpoints).</summary>
    public long[] TokensSinceFired { get; }
    /// <summary>Statistics of the most recent step.</summary>
    public SaeBatchStats Last { get; private set; }
    public double LastGradientNorm { get; private set; }

    public int DeadCount(long windowTokens) => TokensSinceFired.Count(t => t >= windowTokens);

    /// <summary>One optimisation step on x (already scaled); returns the batch's statistics.</summary>
    internal SaeBatchStats Step(Tensor x, long step, float learningRate, double sparsityFactor, long thresholdStart, SaeTrainingOptions o)
    {
        Settings.Sparsity = Lambda * sparsityFactor;
        if (Settings.KAux > 0)
        {
            var dead = Settings.Dead ??= new bool[Sae.DSae];
            for (int i = 0; i < dead.Length; i++) dead[i] = TokensSinceFired[i] >= o.DeadWindowTokens;
        }
        var stats = Sae.Kernel.Run(Sae.Weights, x, Settings, Sae.Gradients, projectDecoder: true);
        LastGradientNorm = o.ClipNorm > 0 ? GradientClipping.ClipGlobalNorm(Sae.Parameters, (float)o.ClipNorm) : double.NaN;
        if (double.IsFinite(stats.Loss) && !(o.ClipNorm > 0 && !double.IsFinite(LastGradientNorm)))
        {
            Optimizer.LearningRate = learningRate;
            Optimizer.Step();
            Sae.NormalizeDecoderRows();
        }
        var counts = Sae.Kernel.LatentCounts;
        int n = x.RowCount;
        for (int i = 0; i < counts.Length; i++) TokensSinceFired[i] = counts[i] > 0 ? 0 : TokensSinceFired[i] + n;
        if (Sae.Architecture == SaeArchitecture.BatchTopK && step >= thresholdStart)
        {
            float th = (float)stats.Threshold;
            Sae.BatchThreshold = Sae.BatchThreshold == 0 ? th : (float)(o.ThresholdBeta * Sae.BatchThreshold + (1 - o.ThresholdBeta) * th);
        }
        Last = stats;
        return stats;
    }
}
