using System.CommandLine;
using System.Globalization;
using Mechanist.Models;
using Mechanist.Sae;
using Mechanist.Text;

namespace Mechanist.Cli.Commands;

/// <summary>
/// `mechanist model generate`: continue a prompt by sampling, optionally with edits at a hook point on every
/// step: steering, clamping and ablating an SAE's latents, or ablating neurons (<see cref="SaeIntervention"/>).
/// </summary>
static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder (a training run directory or a GPT-2 folder: config.json + model.safetensors).", Required = true };
        var prompt = new Option<string>("--prompt") { Description = "Text to continue.", Required = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer folder (vocab.json + merges.txt, or tokenizer.json); default: the model folder." };
        var max = new Option<int>("--max-tokens") { Description = "Tokens to generate.", DefaultValueFactory = _ => 64 };
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature; 0 = greedy.", DefaultValueFactory = _ => 1f };
        var topK = new Option<int>("--top-k") { Description = "Sample among the k most likely tokens (0 = all).", DefaultValueFactory = _ => 0 };
        var topP = new Option<float>("--top-p") { Description = "Nucleus sampling: smallest set of tokens with this much probability (1 = all).", DefaultValueFactory = _ => 1f };
        var seed = new Option<ulong>("--seed") { Description = "Sampling seed.", DefaultValueFactory = _ => 0 };
        var sae = new Option<string?>("--sae") { Description = "SAE folder: --steer, --clamp and --ablate then name its latents, edited at its hook point on every step." };
        var hook = new Option<string?>("--hook") { Description = "Hook point of the edits (default: the SAE's hook_name). Without --sae, --ablate zeroes columns of this point, e.g. neurons of blocks.0.mlp.hook_post." };
        var steer = new Option<string[]>("--steer") { Description = "LATENT=ALPHA: add ALPHA times the latent's decoder direction at every position (repeatable), e.g. --steer 1234=8." };
        var clamp = new Option<string[]>("--clamp") { Description = "LATENT=VALUE: pin the latent's activation to VALUE at every position, keeping the SAE's reconstruction error as SAELens does (repeatable)." };
        var ablate = new Option<string[]>("--ablate") { Description = "With --sae: a latent to clamp to 0 (error kept). Without --sae: a neuron (column of --hook) to set to 0. Repeatable." };
        var cmd = new Command("generate", "Continue a prompt by sampling (temperature, top-k, top-p) with a KV cache; optionally steer, clamp or ablate " +
            "SAE latents or neurons on every step.") { model, prompt, tokenizer, max, temperature, topK, topP, seed, sae, hook, steer, clamp, ablate };
        return cmd.WithAction((parse, cancel) =>
        {
            string dir = parse.GetValue(model)!;
            var m = ModelFiles.Load(dir);
            var tok = TokenizerFiles.Load(parse.GetValue(tokenizer) ?? dir);
            int[] ids = tok.Encode(parse.GetValue(prompt)!);
            if (ids.Length == 0) throw new UserError("the prompt encodes to no tokens");
            var settings = new SamplingSettings(parse.GetValue(temperature), parse.GetValue(topK), parse.GetValue(topP), parse.GetValue(seed));
            var hooks = Edits(m.Config, parse.GetValue(sae), parse.GetValue(hook),
                Pairs(parse.GetValue(steer), "--steer", "ALPHA"), Pairs(parse.GetValue(clamp), "--clamp", "VALUE"), Indices(parse.GetValue(ablate)));
            Console.Write(parse.GetValue(prompt));
            var generated = new List<int>();
            string shown = "";
            foreach (int id in Sampler.Generate(m, ids, parse.GetValue(max), settings, hooks, cancel))
            {
                generated.Add(id);
                string text = tok.Decode(generated.ToArray());
                // Byte-level tokens can end inside a UTF-8 character: wait for the rest before printing.
                if (text.EndsWith('\uFFFD') || !text.StartsWith(shown, StringComparison.Ordinal)) continue;
                Console.Write(text[shown.Length..]);
                shown = text;
            }
            Console.WriteLine();
            return 0;
        });
    }

    /// <summary>The hooks for the edits asked for, or null when none are.</summary>
    static Hooks<float>? Edits(TransformerConfig config, string? saeDir, string? hookName,
        (int Index, float Value)[] steer, (int Index, float Value)[] clamp, int[] ablate)
    {
        if (saeDir == null)
        {
            if (steer.Length > 0 || clamp.Length > 0) throw new UserError("--steer and --clamp name SAE latents: give the SAE with --sae DIR");
            if (ablate.Length == 0) return null;
            var point = config.ParseHookPoint(hookName
                ?? throw new UserError("--ablate without --sae sets neurons of a hook point to 0: name it with --hook, e.g. --hook blocks.0.mlp.hook_post"));
            int width = point.Width(config);
            foreach (int n in ablate) if (n >= width) throw new UserError($"--ablate {n}: {point} has {width} values per position");
            return new Hooks<float>().Ablate(point, ablate);
        }
        if (steer.Length + clamp.Length + ablate.Length == 0) throw new UserError("--sae edits nothing without --steer, --clamp or --ablate");
        var s = SparseAutoencoder.Load(saeDir);
        var at = hookName != null ? config.ParseHookPoint(hookName)
            : s.Metadata.Hook ?? throw new UserError($"{saeDir}: the SAE does not say which hook it reads (hook_name); give --hook");
        var edit = new SaeIntervention(s, at, config);
        foreach (var (latent, value) in clamp) edit.Clamp(latent, value);
        foreach (int latent in ablate) edit.Ablate(latent);
        foreach (var (latent, alpha) in steer) edit.Steer(latent, alpha);
        return edit.AddTo(new Hooks<float>());
    }

    static (int, float)[] Pairs(string[]? texts, string option, string what) => (texts ?? []).Select(text =>
    {
        var parts = text.Split('=');
        if (parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int index)
            && float.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out float value) && float.IsFinite(value))
            return (index, value);
        throw new UserError($"{option} {text}: expected LATENT={what}, e.g. {option} 1234=8");
    }).ToArray();

    static int[] Indices(string[]? texts) => (texts ?? []).Select(text =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int index) ? index
            : throw new UserError($"--ablate {text}: expected a latent or neuron number, e.g. --ablate 12")).ToArray();
}
