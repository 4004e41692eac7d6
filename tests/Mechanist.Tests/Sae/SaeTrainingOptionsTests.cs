using System.Text.Json.Nodes;
using Mechanist.Activations;
using Mechanist.Models;
using Mechanist.Sae;

namespace Mechanist.Tests.Sae;

/// <summary>
/// The training options' contract: every refusal names its option and value and every boundary the docs allow is
/// accepted; the JSON a checkpoint compares on resume holds every field that changes the result; run names; and the
/// metadata the training stage gives each SAE's cfg.json.
/// </summary>
public class SaeTrainingOptionsTests
{
    static readonly SaeTrainingOptions Ok = new() { Widths = [16, 32], Ks = [4, 16], L1 = [0.5], BatchSize = 64 };

    static void Refused(SaeTrainingOptions o, string expected, int dIn = 8) =>
        Assert.Contains(expected, Assert.ThrowsAny<UserError>(() => o.Validate(dIn)).Message);

    [Fact]
    public void Each_bad_option_is_refused_with_its_name()
    {
        Refused(Ok with { Widths = [] }, "--width: give one or more positive widths");
        Refused(Ok with { Widths = [16, 0] }, "--width: give one or more positive widths");
        Refused(Ok with { Ks = [] }, "--k: give one or more values");
        Refused(Ok with { Ks = [4, 17] }, "--k 17: each k must be in [1, width] and the smallest --width is 16");
        Refused(Ok with { Ks = [0] }, "--k 0");
        Refused(Ok with { Architecture = SaeArchitecture.Relu, L1 = [] }, "--l1: give one or more coefficients ≥ 0");
        Refused(Ok with { Architecture = SaeArchitecture.Gated, L1 = [0.1, -0.1] }, "--l1");
        Refused(Ok with { Architecture = SaeArchitecture.JumpRelu, L1 = [double.NaN] }, "--l1");
        Refused(Ok with { BatchSize = 0 }, "--batch-size must be positive");
        Refused(Ok with { Precision = "fp8" }, "--precision fp8");
        Refused(Ok with { Tokens = -1 }, "--tokens -1: must be ≥ 0");
        Refused(Ok with { HoldoutRows = -1 }, "--holdout -1: must be ≥ 0");
        Refused(Ok with { LogEverySteps = 0 }, "log interval 0: must be positive");
        Refused(Ok with { ResampleWindowSteps = 0 }, "--resample-window 0: must be positive");
        Refused(Ok with { ResampleSteps = [10, 0] }, "--resample-steps: each step must be positive");
        Refused(Ok with { ResampleInputs = 0 }, "resampling candidates 0: must be positive");
        foreach (var o in new[] { Ok with { WarmupSteps = -1 }, Ok with { CheckpointEverySteps = -1 }, Ok with { DeadWindowTokens = -1 } })
            Refused(o, "--warmup-steps, --checkpoint-every and --dead-window must be ≥ 0");
        foreach (var o in new[] { Ok with { ClipNorm = -1 }, Ok with { ClipNorm = double.NaN }, Ok with { SparsityWarmupFraction = -0.1 }, Ok with { SparsityWarmupFraction = 1.1 } })
            Refused(o, "--clip must be ≥ 0 and --l1-warmup in [0, 1]");
        Refused(Ok with { LearningRate = -1e-3 }, "--lr must be positive");
        Refused(Ok with { LearningRate = double.NaN }, "--lr must be positive");
        Refused(Ok with { DecayFraction = -0.1 }, "--decay -0.1: must be in [0, 1]");
        Refused(Ok with { DecayFraction = 1.01 }, "--decay 1.01");
        Refused(Ok, "activations have no columns", dIn: 0);
        Refused(Ok with { Bandwidth = 0 }, "--bandwidth and --threshold-init must be positive");
        Refused(Ok with { ThresholdInit = 0 }, "--bandwidth and --threshold-init must be positive");
    }

    [Fact]
    public void The_boundaries_the_options_allow_are_accepted()
    {
        Ok.Validate(1);
        (Ok with { Ks = [1, 16] }).Validate(8);                                     // k = 1 and k = the smallest width
        (Ok with { Architecture = SaeArchitecture.Relu, L1 = [0] }).Validate(8);   // λ = 0
        (Ok with { Architecture = SaeArchitecture.Relu, Ks = [] }).Validate(8);    // no k needed without top-k
        (Ok with { Architecture = SaeArchitecture.TopK, L1 = [] }).Validate(8);    // no λ needed with top-k
        (Ok with { Tokens = 0, HoldoutRows = 0, WarmupSteps = 0, CheckpointEverySteps = 0, DeadWindowTokens = 0, ClipNorm = 0, LearningRate = 0 }).Validate(8);
        (Ok with { SparsityWarmupFraction = 0, DecayFraction = 0 }).Validate(8);
        (Ok with { SparsityWarmupFraction = 1, DecayFraction = 1, Precision = "bf16", LogEverySteps = 1, ResampleWindowSteps = 1, ResampleSteps = [1] }).Validate(8);
    }

    [Fact]
    public void Runs_are_every_width_with_every_k_or_every_coefficient_named_by_architecture()
    {
        Assert.Equal([("topk-w16-k4", 16, 0.0, 4), ("topk-w16-k16", 16, 0.0, 16), ("topk-w32-k4", 32, 0.0, 4), ("topk-w32-k16", 32, 0.0, 16)], Ok.Runs());
        Assert.Equal([("batchtopk-w16-k4", 16, 0.0, 4)], (Ok with { Architecture = SaeArchitecture.BatchTopK, Widths = [16], Ks = [4] }).Runs());
        Assert.Equal([("relu-w8-l1_0.05", 8, 0.05, 0), ("relu-w8-l1_0.1235", 8, 0.1234567, 0)],
            (Ok with { Architecture = SaeArchitecture.Relu, Widths = [8], L1 = [0.05, 0.1234567] }).Runs());
        Assert.Equal("gated-w8-l1_1", (Ok with { Architecture = SaeArchitecture.Gated, Widths = [8], L1 = [1] }).Runs().Single().Name);
        Assert.Equal("jumprelu-w8-l1_0.5", (Ok with { Architecture = SaeArchitecture.JumpRelu, Widths = [8] }).Runs().Single().Name);
    }

    [Fact]
    public void Only_topk_and_batchtopk_use_k()
    {
        foreach (var arch in Enum.GetValues<SaeArchitecture>())
            Assert.Equal(arch is SaeArchitecture.TopK or SaeArchitecture.BatchTopK, new SaeTrainingOptions { Architecture = arch }.UsesK);
    }

    /// <summary>
    /// A resume compares this JSON with the checkpoint's, so every field that changes the result must be in it with
    /// its value (here all differ from the defaults), and the log interval, which does not, must not.
    /// </summary>
    [Fact]
    public void The_saved_options_hold_every_field_that_changes_the_result()
    {
        var o = new SaeTrainingOptions
        {
            Architecture = SaeArchitecture.JumpRelu, Widths = [8, 24], L1 = [0.25], Ks = [3], BatchSize = 48, Tokens = 960, LearningRate = 0.002,
            Beta1 = 0.8, Beta2 = 0.99, Epsilon = 1e-6, WarmupSteps = 7, DecayFraction = 0.3, SparsityWarmupFraction = 0.1, ClipNorm = 2,
            ResampleSteps = [5, 9], ResampleWindowSteps = 3, ResampleInputs = 77, DeadWindowTokens = 96, KAux = 6, AuxAlpha = 0.5,
            Bandwidth = 0.01, ThresholdInit = 0.02, ThresholdStartStep = 11, ThresholdBeta = 0.9, HoldoutRows = 33, Normalize = false,
            Seed = 1234567890123UL, LogEverySteps = 5,
        };
        var expected = JsonNode.Parse("""
            {"architecture":"jumprelu","widths":[8,24],"l1":[0.25],"k":[3],"batch_size":48,"tokens":960,"lr":0.002,"betas":[0.8,0.99],
             "eps":1E-06,"warmup_steps":7,"decay_fraction":0.3,"sparsity_warmup_fraction":0.1,"clip_norm":2,"resample_steps":[5,9],
             "resample_window_steps":3,"resample_inputs":77,"dead_window_tokens":96,"k_aux":6,"aux_alpha":0.5,"bandwidth":0.01,
             "threshold_init":0.02,"threshold_start_step":11,"threshold_beta":0.9,"holdout_rows":33,"normalize":false,"seed":1234567890123}
            """)!;
        Assert.True(JsonNode.DeepEquals(expected, o.ToJson()), o.ToJson().ToJsonString());
        Assert.Equal(o.ToJson().ToJsonString(), (o with { LogEverySteps = 1 }).ToJson().ToJsonString());
        // Only a non-default precision is recorded, so checkpoints from before the option still resume.
        Assert.False(o.ToJson().ContainsKey("precision"));
        Assert.False((o with { Precision = "float32" }).ToJson().ContainsKey("precision"));
        Assert.Equal("bf16", (o with { Precision = "BFloat16" }).ToJson()["precision"]!.GetValue<string>());
    }

    [Fact]
    public void A_run_takes_its_loss_settings_and_optimizer_from_the_options()
    {
        var o = new SaeTrainingOptions { Architecture = SaeArchitecture.TopK, AuxAlpha = 0.25, Bandwidth = 0.03, Beta1 = 0.8, Beta2 = 0.95, Epsilon = 1e-5 };
        var run = new SaeTrainingRun("r", new SparseAutoencoder(SaeArchitecture.TopK, 12, 40, 5), o, 0.7, 0.004);
        Assert.Equal(("r", 0.7, 0.004), (run.Name, run.Lambda, run.LearningRate));
        Assert.Equal((5, 4, 0.25, 0.03), (run.Settings.K, run.Settings.KAux, run.Settings.AuxAlpha, run.Settings.Bandwidth)); // k_aux: 12 / 2 = 6, down to 4
        Assert.Equal((0.004f, 0.8f, 0.95f, 1e-5f), (run.Optimizer.LearningRate, run.Optimizer.Beta1, run.Optimizer.Beta2, run.Optimizer.Epsilon));
        Assert.Equal(new long[40], run.TokensSinceFired);

        int KAux(SaeArchitecture arch, int dIn, int dSae, int kAux = 0) =>
            new SaeTrainingRun("r", new SparseAutoencoder(arch, dIn, dSae, 2), o with { Architecture = arch, KAux = kAux }, 0, 1e-3).Settings.KAux;
        Assert.Equal(8, KAux(SaeArchitecture.TopK, 16, 40));          // a power of two is kept
        Assert.Equal(16, KAux(SaeArchitecture.BatchTopK, 63, 40));    // 31 → 16
        Assert.Equal(1, KAux(SaeArchitecture.TopK, 2, 40));
        Assert.Equal(1, KAux(SaeArchitecture.TopK, 1, 40));           // at least one
        Assert.Equal(10, KAux(SaeArchitecture.TopK, 64, 10));         // at most the width
        Assert.Equal(7, KAux(SaeArchitecture.TopK, 64, 40, kAux: 7)); // as given
        Assert.Equal(40, KAux(SaeArchitecture.TopK, 64, 40, kAux: 99));
        foreach (var arch in new[] { SaeArchitecture.Relu, SaeArchitecture.JumpRelu, SaeArchitecture.Gated })
            Assert.Equal(0, KAux(arch, 16, 40, kAux: 7));
    }

    [Fact]
    public void The_stage_takes_one_source_and_records_where_the_rows_came_from()
    {
        Assert.Contains("not both", Assert.Throws<UserError>(() => SaeTrainStage.RequireOneSource(true, true)).Message);
        Assert.StartsWith("give --acts STORE, or --model DIR", Assert.Throws<UserError>(() => SaeTrainStage.RequireOneSource(false, false)).Message);
        SaeTrainStage.RequireOneSource(true, false);
        SaeTrainStage.RequireOneSource(false, true);

        var info = new ActivationSourceInfo { Model = "m", Hook = "blocks.0.mlp.hook_post", ContextLength = 64, Tokens = "tok (train)", TokenStore = "/data/tok" };
        var m = SaeTrainStage.Metadata(info, "/acts");
        Assert.Equal(("m", "blocks.0.mlp.hook_post", 64, "/data/tok"), (m.ModelName, m.Hook?.Name, m.ContextSize, m.DatasetPath));
        var overridden = SaeTrainStage.Metadata(info, "/acts", "gpt2", HookPoint.Parse("blocks.0.hook_resid_post"));
        Assert.Equal(("gpt2", "blocks.0.hook_resid_post"), (overridden.ModelName, overridden.Hook?.Name));
        Assert.Equal("tok (train)", SaeTrainStage.Metadata(info with { TokenStore = null }, "/acts").DatasetPath); // stores from before the folder was recorded
        var bare = SaeTrainStage.Metadata(null, "/x.npy");
        Assert.Null(bare.ModelName);
        Assert.Null(bare.Hook);
        Assert.Null(bare.ContextSize);
        Assert.Equal("/x.npy", bare.DatasetPath);
        Assert.Null(SaeTrainStage.Metadata(info with { Hook = null }, "/acts").Hook);
    }

    /// <summary>A model trained on one tokenizer cannot stream over ids another tokenizer wrote.</summary>
    [Fact]
    public void A_stream_over_another_tokenizers_ids_is_refused()
    {
        string model = TestPaths.NewTempDir();
        string state = Path.Combine(model, Trainer.CheckpointDir, Trainer.StateFile);
        Directory.CreateDirectory(Path.GetDirectoryName(state)!);
        File.WriteAllText(state, new JsonObject { [ModelTokenizer.StateKey] = "sha256:model" }.ToJsonString());
        string store = Mechanist.Tests.Activations.HarvestFixture.TokenStore(trainTokens: 100, validTokens: 0, tokenizerHash: "sha256:store");
        var o = new SaeTrainStageOptions
        {
            Stream = new SaeStreamSource(model, store, new HarvestOptions { Hook = HookPoint.MlpPost(0), Tokens = 1 }),
            OutDir = Path.Combine(model, "out"), Training = new SaeTrainingOptions { Tokens = 100 },
        };
        Assert.Contains($"another tokenizer than the model {model} reads", Assert.Throws<UserError>(() => SaeTrainStage.Run(o, IProgressReporter.None, default)).Message);
    }

    [Fact]
    public void A_stream_needs_a_token_count_before_anything_is_opened()
    {
        string dir = TestPaths.NewTempDir();
        var o = new SaeTrainStageOptions
        {
            Stream = new SaeStreamSource(Path.Combine(dir, "no-model"), Path.Combine(dir, "no-tokens"), new HarvestOptions { Hook = HookPoint.MlpPost(0), Tokens = 1 }),
            OutDir = Path.Combine(dir, "out"), Training = new SaeTrainingOptions(),
        };
        Assert.StartsWith("--model needs --tokens N", Assert.Throws<UserError>(() => SaeTrainStage.Run(o, IProgressReporter.None, default)).Message);
        Assert.False(Directory.Exists(o.OutDir));
    }
}
