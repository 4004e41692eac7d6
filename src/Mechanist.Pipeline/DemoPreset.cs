namespace Mechanist.Pipeline;

/// <summary>
/// The sizes of one demo run. <c>tiny</c> takes seconds (tests); <c>quick</c> (the default) is sized to finish
/// within 15 minutes on 2 cores; <c>full</c> uses budgets like the Towards Monosemanticity setup (toy-1l on
/// ≥ 30 M tokens, a 4,096-latent SAE on ≥ 30 M activations, features over 10 M tokens).
/// </summary>
public sealed record DemoPreset
{
    public required string Name { get; init; }
    public required string Description { get; init; }
    /// <summary>Vocabulary of the BPE tokenizer learned from the corpus.</summary>
    public required int VocabSize { get; init; }
    /// <summary>Documents held out for validation (seeded hash of each document's index).</summary>
    public double ValidFraction { get; init; } = 0.01;
    /// <summary>Model shape (<see cref="Models.TransformerConfig.Preset"/>).</summary>
    public required string ModelPreset { get; init; }
    public int? Context { get; init; }
    public required long ModelTokens { get; init; }
    public int ModelBatch { get; init; } = 16;
    public float LearningRate { get; init; } = 1e-3f;
    public long WarmupSteps { get; init; } = 200;
    public int EvalEvery { get; init; } = 100;
    /// <summary>Activation rows harvested at the hook (every position of consecutive train windows).</summary>
    public required long HarvestTokens { get; init; }
    public required int SaeWidth { get; init; }
    public required int SaeK { get; init; }
    /// <summary>Activations the SAE trains on (rows drawn from the harvest; more than it holds means several epochs).</summary>
    public required long SaeTokens { get; init; }
    public int SaeBatch { get; init; } = 4096;
    public long SaeWarmupSteps { get; init; } = 1000;
    public long SaeDeadWindow { get; init; } = 10_000_000;
    /// <summary>Validation windows for the spliced CE-loss evaluation.</summary>
    public required int EvalWindows { get; init; }
    /// <summary>Tokens the feature statistics are computed over.</summary>
    public required long FeatureTokens { get; init; }

    /// <summary>The demo's SAE reads the one-layer model's neurons.</summary>
    public static Models.HookPoint Hook => Models.HookPoint.MlpPost(0);

    public static DemoPreset Tiny { get; } = new()
    {
        Name = "tiny", Description = "seconds: a check that every stage works (micro model, 64-latent SAE)",
        VocabSize = 512, ValidFraction = 0.05, ModelPreset = "micro", ModelTokens = 20_000, ModelBatch = 8, LearningRate = 3e-3f,
        WarmupSteps = 10, EvalEvery = 50, HarvestTokens = 16_384, SaeWidth = 64, SaeK = 8, SaeTokens = 32_768, SaeBatch = 512,
        SaeWarmupSteps = 10, SaeDeadWindow = 8_192, EvalWindows = 16, FeatureTokens = 4_096,
    };

    public static DemoPreset Quick { get; } = new()
    {
        Name = "quick", Description = "about 5 minutes on 2 cores (at most 15): toy-1l on 3 M tokens, a 4,096-latent SAE on 2 M activations",
        VocabSize = 4096, ModelPreset = "toy-1l", ModelTokens = 3_000_000, LearningRate = 2e-3f, WarmupSteps = 50, EvalEvery = 100,
        HarvestTokens = 1_000_000, SaeWidth = 4096, SaeK = 32, SaeTokens = 2_000_000, SaeWarmupSteps = 50, SaeDeadWindow = 1_000_000,
        EvalWindows = 32, FeatureTokens = 300_000,
    };

    public static DemoPreset Full { get; } = new()
    {
        Name = "full", Description = "paper-like budgets, about 35 minutes on 2 idle cores: vocabulary 8,192, toy-1l on 30 M tokens, a 4,096-latent SAE on 30 M activations, features over 10 M tokens",
        VocabSize = 8192, ModelPreset = "toy-1l", ModelTokens = 30_000_000, HarvestTokens = 10_000_000, SaeWidth = 4096, SaeK = 32,
        SaeTokens = 30_000_000, EvalWindows = 128, FeatureTokens = 10_000_000,
    };

    public static IReadOnlyList<DemoPreset> All { get; } = [Tiny, Quick, Full];

    public static DemoPreset Named(string name) => All.FirstOrDefault(p => p.Name == name)
        ?? throw new UserError($"--preset {name}: use {string.Join(", ", All.Select(p => p.Name))}");
}
