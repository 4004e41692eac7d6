using Mechanist.Autograd;
using Mechanist.Models;
using Mechanist.Sae;

namespace Mechanist.Tests.Sae;

public class SaeInterventionTests
{
    const int D = 32, Vocab = 40;

    static Transformer<float> Model()
    {
        var m = Transformer<float>.Create(new TransformerConfig { Layers = 1, DModel = D, Heads = 2, DMlp = 64, Context = 24, Vocab = Vocab }, 5);
        var rng = new Random(5);
        foreach (var (name, w) in m.Weights)
            for (int i = 0; i < w.Value.Length; i++)
                w.Value[i] += (float)(rng.NextDouble() - 0.5) * (name.Contains("wte") ? 1.5f : 0.4f);
        return m;
    }

    /// <summary>
    /// An SAE at hook_resid_post whose latent <paramref name="latent"/> reads and writes token <paramref name="token"/>'s
    /// embedding direction (the unembedding is tied, so it is also that token's logit direction); the others are random.
    /// </summary>
    static SparseAutoencoder TokenSae(Transformer<float> m, int latent, int token)
    {
        var sae = SparseAutoencoder.Create(SaeArchitecture.Relu, D, 8, 3);
        sae.BDec.Value.Clear();
        sae.BEnc.Value.Clear();
        var e = m.TokenEmbedding.Value.Row(token);
        float norm = MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot(e, e));
        for (int i = 0; i < D; i++) sae.WDec.Value.Row(latent)[i] = sae.WEnc.Value.Row(latent)[i] = e[i] / norm;
        return sae;
    }

    /// <summary>Mean activation of a latent over the positions of <paramref name="tokens"/> from <paramref name="from"/> on, in a plain forward pass.</summary>
    static double MeanActivation(Transformer<float> m, SparseAutoencoder sae, int latent, int[] tokens, int from)
    {
        Tensor acts;
        using (Tape.NoGrad()) acts = m.RunToHook(tokens, 1, tokens.Length, HookPoint.ResidPost(0));
        var dense = sae.Encode(acts.Reshape(-1, D)).ToDense();
        return Enumerable.Range(from, tokens.Length - from).Average(p => dense[p * 8 + latent]);
    }

    [Fact]
    public void Steering_a_latent_changes_the_continuation_towards_it()
    {
        var m = Model();
        const int Latent = 3, Token = 17;
        var sae = TokenSae(m, Latent, Token);
        int[] prompt = [1, 2, 3, 4];
        var plain = Sampler.Generate(m, prompt, 12, new SamplingSettings(0f)).ToArray();
        var hooks = new SaeIntervention(sae, HookPoint.ResidPost(0), m.Config).Steer(Latent, 30f).AddTo(new Hooks<float>());
        var steered = Sampler.Generate(m, prompt, 12, new SamplingSettings(0f), hooks).ToArray();
        Assert.NotEqual(plain, steered);
        // The steered latent's own activation rises on the text the steered model wrote (read without steering).
        double before = MeanActivation(m, sae, Latent, [.. prompt, .. plain], prompt.Length);
        double after = MeanActivation(m, sae, Latent, [.. prompt, .. steered], prompt.Length);
        Assert.True(after > before + 0.5, $"latent {Latent}: mean activation {before:F3} on the plain continuation, {after:F3} on the steered one");
    }

    [Theory]
    [InlineData(SaeArchitecture.Relu)]
    [InlineData(SaeArchitecture.TopK)]
    public void Clamping_pins_the_latent_and_keeps_the_reconstruction_error(SaeArchitecture arch)
    {
        var m = Model();
        var sae = SparseAutoencoder.Create(arch, 64, 48, 11, k: 6);
        var rng = new Random(2);
        for (int i = 0; i < sae.BEnc.Value.Length; i++) sae.BEnc.Value[i] = (float)rng.NextDouble() * 0.2f;
        const int Latent = 5;
        const float Value = 4f;
        Tensor? before = null, after = null;
        var hooks = new Hooks<float>().Read(HookPoint.MlpPost(0), x => before = x.Clone());
        new SaeIntervention(sae, HookPoint.MlpPost(0), m.Config).Clamp(Latent, Value).AddTo(hooks);
        hooks.Read(HookPoint.MlpPost(0), x => after = x.Clone());
        using (Tape.NoGrad()) m.Forward([1, 5, 9, 2, 7, 3], 1, 6, hooks);

        var x = before!.Reshape(-1, 64);
        var codes = sae.Encode(x).ToDense();
        var reconstruction = sae.Reconstruct(x);
        double errorNorm = 0;
        for (int r = 0; r < 6; r++)
        {
            // The clamped reconstruction: decode(f with f_latent := Value).
            var clampedCodes = codes.Row(r).ToArray();
            clampedCodes[Latent] = Value;
            for (int j = 0; j < 64; j++)
            {
                double decoded = sae.BDec.Value[j];
                for (int i = 0; i < 48; i++) decoded += clampedCodes[i] * sae.WDec.Value[i * 64 + j];
                double error = x[r * 64 + j] - reconstruction[r * 64 + j];
                errorNorm += error * error;
                // Edited activation = clamped reconstruction + the untouched reconstruction error.
                Assert.True(Math.Abs(after![r * 64 + j] - (decoded + error)) < 1e-4, $"row {r} column {j}: {after[r * 64 + j]} vs {decoded + error}");
            }
        }
        Assert.True(errorNorm > 1e-2); // the error term is really there, and kept
    }

    [Fact]
    public void Edits_are_checked_against_the_model_and_the_SAE()
    {
        var m = Model();
        var sae = SparseAutoencoder.Create(SaeArchitecture.Relu, 64, 48, 1);
        Assert.Throws<UserError>(() => new SaeIntervention(sae, HookPoint.ResidPost(0), m.Config)); // width 32, not 64
        Assert.Throws<UserError>(() => new SaeIntervention(sae, HookPoint.MlpPost(1), m.Config));   // no layer 1
        Assert.Throws<UserError>(() => new SaeIntervention(sae, HookPoint.MlpPost(0), m.Config).Steer(48, 1f));
    }
}
