using System.Text.Json.Nodes;

namespace Mechanist.Sae;

/// <summary>
/// Everything a training run needs besides the data. One run trains every combination of
/// <see cref="Widths"/> × sparsity settings (<see cref="L1"/> for relu/jumprelu/gated, <see cref="Ks"/> for topk/batchtopk)
/// on one pass over the activation stream. Defaults follow docs/METHODS.md §2.6.
/// </summary>
public sealed record SaeTrainingOptions
{
    public SaeArchitecture Architecture { get; init; } = SaeArchitecture.TopK;
    public int[] Widths { get; init; } = [4096];
    /// <summary>Sparsity coefficients λ (relu: L1 weight; jumprelu: L0 weight; gated: L1 weight on ReLU(π_gate)). Inputs are scaled to E‖x‖² = 1.</summary>
    public double[] L1 { get; init; } = [0.05];
    public int[] Ks { get; init; } = [32];
    public int BatchSize { get; init; } = 4096;
    /// <summary>Tokens (activation rows) to train on; 0 = one pass over the training rows.</summary>
    public long Tokens { get; init; }
    /// <summary>Adam learning rate; 0 (the default) = <see cref="DefaultLearningRate"/> for each SAE's width and the run's length.</summary>
    public double LearningRate { get; init; }
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Epsilon { get; init; } = 1e-8;
    /// <summary>Linear warm-up steps (capped at 5 % of the run).</summary>
    public long WarmupSteps { get; init; } = 1000;
    /// <summary>Fraction of the run at the end over which the learning rate decays linearly to 0.</summary>
    public double DecayFraction { get; init; } = 0.2;
    /// <summary>Fraction of the run over which λ rises linearly from 0 (relu, jumprelu, gated).</summary>
    public double SparsityWarmupFraction { get; init; } = 0.05;
    /// <summary>Global gradient-norm clip (0 = off).</summary>
    public double ClipNorm { get; init; } = 1;
    /// <summary>relu: steps at which dead latents are resampled (Towards Monosemanticity: 25k, 50k, 75k, 100k). Other architectures, gated included, are never resampled.</summary>
    public long[] ResampleSteps { get; init; } = [25_000, 50_000, 75_000, 100_000];
    /// <summary>relu: a latent is resampled if it has not fired in this many steps.</summary>
    public long ResampleWindowSteps { get; init; } = 12_500;
    /// <summary>relu: inputs whose losses weight the resampling draw.</summary>
    public int ResampleInputs { get; init; } = 819_200;
    /// <summary>
    /// A latent is dead (AuxK, progress, reports) after this many tokens without firing; 0 = <see cref="DeadWindow"/>'s
    /// default, a tenth of the run and at most Gao et al.'s 10 M.
    /// </summary>
    public long DeadWindowTokens { get; init; }
    /// <summary>AuxK latents per token (0 = d_in/2 rounded down to a power of two); α = <see cref="AuxAlpha"/>.</summary>
    public int KAux { get; init; }
    public double AuxAlpha { get; init; } = 1.0 / 32;
    /// <summary>JumpReLU straight-through bandwidth ε.</summary>
    public double Bandwidth { get; init; } = 0.001;
    /// <summary>JumpReLU: initial threshold θ₀ for every latent.</summary>
    public double ThresholdInit { get; init; } = 0.001;
    /// <summary>BatchTopK: the inference threshold is an EMA (β) of the per-batch threshold from this step on.</summary>
    public long ThresholdStartStep { get; init; } = 1000;
    public double ThresholdBeta { get; init; } = 0.999;
    /// <summary>Rows held out from training for the final evaluation (0 = 5 % of the rows, at most 65,536).</summary>
    public long HoldoutRows { get; init; }
    /// <summary>Scale inputs to unit mean squared norm while training (folded into the saved weights).</summary>
    public bool Normalize { get; init; } = true;
    public int GeometricMedianSamples { get; init; } = 32_768;
    public long CheckpointEverySteps { get; init; } = 2000;
    /// <summary>Steps between lines of training.jsonl (not part of <see cref="ToJson"/>: it does not change the result).</summary>
    public int LogEverySteps { get; init; } = 100;
    public ulong Seed { get; init; }
    /// <summary>
    /// Inputs of the training step's large matmuls: "fp32", or "bf16" (rounded to bfloat16, fp32 accumulation and
    /// weights; falls back to fp32, saying so, where bf16 cannot run). Evaluation and resampling stay fp32.
    /// </summary>
    public string Precision { get; init; } = "fp32";
    public SaeMetadata Metadata { get; init; } = new();

    /// <summary>
    /// The dead window for a run of <paramref name="runTokens"/>: <see cref="DeadWindowTokens"/> if given, else a tenth of
    /// the run (at least one batch, at most 10 M). A fixed 10 M window never counts a latent dead in a shorter run, so
    /// AuxK, which trains only dead latents, never ran there (issue 13: 190 dead latents after 5 M tokens).
    /// </summary>
    public long DeadWindow(long runTokens) => DeadWindowTokens > 0 ? DeadWindowTokens : Math.Clamp(runTokens / 10, BatchSize, 10_000_000);

    /// <summary>The learning rate an SAE of <paramref name="width"/> latents trains at in a run of <paramref name="steps"/> steps.</summary>
    public double LearningRateFor(int width, long steps) => LearningRate > 0 ? LearningRate : DefaultLearningRate(width, steps);

    /// <summary>
    /// The default learning rate: lr = 2·10⁻⁴·√(2¹⁴/m)·max(1, 5,000/steps), at most 0.016 (docs/METHODS.md §2.6).
    /// Width: wider SAEs want smaller rates, ∝ 1/√m (Gao et al. 2024; EleutherAI's sparsify uses 2·10⁻⁴/√(m/2¹⁴)).
    /// Run length: Adam moves each weight by about lr per step, and a latent has to turn from its random start to its
    /// feature, so a short run needs a rate that grows as 1/steps (measured: the rate below which recovery collapses
    /// halves when the run doubles). Fitted on planted features (bench/quality/sae_defaults.md, 123 and 489 steps,
    /// widths 512–2,048), where the fixed 3·10⁻⁴ recovered almost nothing; runs of 5,000 steps and more get the long-run
    /// rule unchanged. The cap is the best rate measured at 123 steps, for every width (0.032 recovered less).
    /// </summary>
    public static double DefaultLearningRate(int width, long steps) =>
        Math.Min(MaxDefaultLearningRate, 2e-4 * Math.Sqrt(16384.0 / width) * Math.Max(1, LongRunSteps / (double)Math.Max(1, steps)));

    /// <summary>Steps from which <see cref="DefaultLearningRate"/> is the long-run rule, with no run-length factor.</summary>
    public const long LongRunSteps = 5000;
    public const double MaxDefaultLearningRate = 0.016;

    public bool UsesK => Architecture is SaeArchitecture.TopK or SaeArchitecture.BatchTopK;

    /// <summary>The (width, sparsity) combinations, each with the folder name its SAE is saved under.</summary>
    public IReadOnlyList<(string Name, int Width, double L1, int K)> Runs()
    {
        var runs = new List<(string, int, double, int)>();
        foreach (int w in Widths)
            if (UsesK) foreach (int k in Ks) runs.Add(($"{Architecture.CliName()}-w{w}-k{k}", w, 0, k));
            else foreach (double l in L1) runs.Add(($"{Architecture.CliName()}-w{w}-l1_{l:G4}", w, l, 0));
        return runs;
    }

    public void Validate(int dIn)
    {
        if (Widths.Length == 0 || Widths.Any(w => w <= 0)) throw new UserError("--width: give one or more positive widths");
        if (UsesK && Ks.Length == 0) throw new UserError("--k: give one or more values");
        if (UsesK && Ks.FirstOrDefault(k => k <= 0 || k > Widths.Min(), -1) is int badK and not -1)
            throw new UserError($"--k {badK}: each k must be in [1, width] and the smallest --width is {Widths.Min()}");
        if (!UsesK && (L1.Length == 0 || L1.Any(l => !(l >= 0)))) throw new UserError("--l1: give one or more coefficients ≥ 0");
        if (BatchSize <= 0) throw new UserError("--batch-size must be positive");
        Numerics.GemmPrecisionScope.Parse(Precision);
        if (Tokens < 0) throw new UserError($"--tokens {Tokens}: must be ≥ 0 (0 = one pass over the training rows)");
        if (HoldoutRows < 0) throw new UserError($"--holdout {HoldoutRows}: must be ≥ 0 (0 = 5 %, at most 65,536)");
        if (LogEverySteps <= 0) throw new UserError($"log interval {LogEverySteps}: must be positive (steps)");
        if (ResampleWindowSteps <= 0) throw new UserError($"--resample-window {ResampleWindowSteps}: must be positive (steps)");
        if (ResampleSteps.Any(s => s <= 0)) throw new UserError("--resample-steps: each step must be positive");
        if (ResampleInputs <= 0) throw new UserError($"resampling candidates {ResampleInputs}: must be positive (rows)");
        if (WarmupSteps < 0 || CheckpointEverySteps < 0 || DeadWindowTokens < 0)
            throw new UserError("--warmup-steps, --checkpoint-every and --dead-window must be ≥ 0");
        if (!(ClipNorm >= 0) || !(SparsityWarmupFraction is >= 0 and <= 1))
            throw new UserError("--clip must be ≥ 0 and --l1-warmup in [0, 1]");
        if (!(LearningRate >= 0)) throw new UserError("--lr must be positive (or 0 for the default, set by width and run length)");
        if (!(DecayFraction is >= 0 and <= 1)) throw new UserError($"--decay {DecayFraction}: must be in [0, 1]");
        if (dIn <= 0) throw new UserError("activations have no columns");
        if (!(Bandwidth > 0) || !(ThresholdInit > 0)) throw new UserError("--bandwidth and --threshold-init must be positive");
    }

    public JsonObject ToJson()
    {
        var json = Fields();
        // Only a non-default precision is recorded, so runs and checkpoints from before the option still resume.
        if (Numerics.GemmPrecisionScope.Parse(Precision) != Numerics.GemmPrecision.Float32) json["precision"] = "bf16";
        return json;
    }

    JsonObject Fields() => new()
    {
        ["architecture"] = Architecture.CliName(),
        ["widths"] = new JsonArray(Widths.Select(w => (JsonNode)w).ToArray()),
        ["l1"] = new JsonArray(L1.Select(w => (JsonNode)w).ToArray()),
        ["k"] = new JsonArray(Ks.Select(w => (JsonNode)w).ToArray()),
        ["batch_size"] = BatchSize,
        ["tokens"] = Tokens,
        ["lr"] = LearningRate,
        ["betas"] = new JsonArray(Beta1, Beta2),
        ["eps"] = Epsilon,
        ["warmup_steps"] = WarmupSteps,
        ["decay_fraction"] = DecayFraction,
        ["sparsity_warmup_fraction"] = SparsityWarmupFraction,
        ["clip_norm"] = ClipNorm,
        ["resample_steps"] = new JsonArray(ResampleSteps.Select(w => (JsonNode)w).ToArray()),
        ["resample_window_steps"] = ResampleWindowSteps,
        ["resample_inputs"] = ResampleInputs,
        ["dead_window_tokens"] = DeadWindowTokens,
        ["k_aux"] = KAux,
        ["aux_alpha"] = AuxAlpha,
        ["bandwidth"] = Bandwidth,
        ["threshold_init"] = ThresholdInit,
        ["threshold_start_step"] = ThresholdStartStep,
        ["threshold_beta"] = ThresholdBeta,
        ["holdout_rows"] = HoldoutRows,
        ["normalize"] = Normalize,
        ["seed"] = Seed,
    };
}
