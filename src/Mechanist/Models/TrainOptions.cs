using Mechanist.Numerics;

namespace Mechanist.Models;

/// <summary>Settings of one language-model training run (saved in the run directory; a resume reuses them).</summary>
public sealed record TrainOptions
{
    public string Preset { get; init; } = "toy-1l";
    /// <summary>Override of the preset's context length (tokens per window).</summary>
    public int? Context { get; init; }
    /// <summary>
    /// Override of a weight-sparse preset's AbsTopK sites: comma-separated names of <see cref="SparsitySiteNames"/>
    /// (e.g. the eight sites plus resid_post_attn,resid_post_mlp). Null: the preset's sites.
    /// </summary>
    public string? ActivationSites { get; init; }
    /// <summary>Windows per optimizer step.</summary>
    public int Batch { get; init; } = 16;
    /// <summary>Training tokens in total (steps = ⌈tokens / (batch·context)⌉).</summary>
    public long Tokens { get; init; } = 20_000_000;
    public ulong Seed { get; init; }
    public float LearningRate { get; init; } = 1e-3f;
    public float WeightDecay { get; init; } = 0.1f;
    public float Beta1 { get; init; } = 0.9f;
    public float Beta2 { get; init; } = 0.95f;
    public float ClipNorm { get; init; } = 1f;
    /// <summary>Linear warm-up steps (capped at a tenth of the run).</summary>
    public long WarmupSteps { get; init; } = 200;
    /// <summary>Cosine decay ends at this fraction of the peak learning rate.</summary>
    public double FinalLrFraction { get; init; } = 0.1;
    /// <summary>Steps between validation-loss measurements (also measured at the end).</summary>
    public int EvalEvery { get; init; } = 100;
    /// <summary>Validation windows per measurement.</summary>
    public int EvalWindows { get; init; } = 64;
    /// <summary>Steps between checkpoints (also written at exit and on Ctrl-C).</summary>
    public int CheckpointEvery { get; init; } = 250;
    /// <summary>
    /// Matmul inputs: "fp32", or "bf16" (fp32 master weights and activations, each large product's inputs rounded to
    /// bf16 with fp32 accumulation; falls back to fp32, saying so, where bf16 cannot run). Validation loss is always fp32.
    /// </summary>
    public string Precision { get; init; } = "fp32";
    /// <summary>
    /// Weight-sparse training (docs/METHODS.md §6.2) when set: the final kept fraction of the hidden matrices. The run
    /// then follows the paper's recipe: Adam ε 0.1, gradients divided by their RMS every step (instead of clipping),
    /// 1 % warm-up then linear decay to 0, the anneal from dense between 1 % and 50 % with the LR factor
    /// √(final/current density), and the projection after every step (<see cref="WeightSparsifier"/>). 1 = the dense
    /// baseline of the same recipe.
    /// </summary>
    public double? WeightDensity { get; init; }
    /// <summary>Final kept fraction of wte, wpe, lm_head and the biases; default min(1, 4 × <see cref="WeightDensity"/>).</summary>
    public double? EmbeddingDensity { get; init; }
    /// <summary>Weight-sparse runs: hidden matrices at density ≤ 1/16 run on the sparse kernels (false: dense GEMMs throughout, for comparison).</summary>
    public bool SparseKernels { get; init; } = true;

    public TrainOptions Validate()
    {
        if (Batch < 1) throw new UserError($"--batch must be ≥ 1, not {Batch}");
        if (Tokens < 1) throw new UserError($"--tokens must be ≥ 1, not {Tokens}");
        if (Context is < 2) throw new UserError($"--context must be ≥ 2, not {Context}");
        if (!(LearningRate > 0)) throw new UserError($"--lr must be > 0, not {LearningRate}");
        if (WeightDecay < 0) throw new UserError($"--weight-decay must be ≥ 0, not {WeightDecay}");
        if (!(ClipNorm > 0)) throw new UserError($"--clip must be > 0, not {ClipNorm}");
        GemmPrecisionScope.Parse(Precision);
        if (EvalEvery < 1 || CheckpointEvery < 1 || EvalWindows < 1) throw new UserError("--eval-every, --eval-windows and --checkpoint-every must be ≥ 1");
        if (WeightDensity is double f && !(f > 0 && f <= 1)) throw new UserError($"--weight-density must be in (0, 1], not {f}");
        if (EmbeddingDensity is double e && !(e > 0 && e <= 1)) throw new UserError($"--embedding-density must be in (0, 1], not {e}");
        if (EmbeddingDensity != null && WeightDensity == null) throw new UserError("--embedding-density needs --weight-density");
        if (ActivationSites != null) Sites(TransformerConfig.Preset(Preset, 1)); // refused before anything is written
        return this;
    }

    /// <summary>The model config this run starts from: the preset for the data's vocabulary, with the context and AbsTopK sites overridden where given.</summary>
    public TransformerConfig Config(int vocab)
    {
        var config = TransformerConfig.Preset(Preset, vocab);
        if (Context is int ctx) config = config with { Context = ctx };
        if (ActivationSites != null) config = config with { ActivationSites = Sites(config) };
        return config.Validate();
    }

    SparsitySites Sites(TransformerConfig preset)
    {
        if (preset.ActivationFraction == 0)
            throw new UserError($"--activation-sites: preset {Preset} has no AbsTopK activation sparsity (use a weight-sparse preset: sparse-micro, sparse-2l)");
        return SparsitySiteNames.Parse(ActivationSites!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries), "--activation-sites", "site");
    }
}
