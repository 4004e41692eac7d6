using Mechanist.Models;
using Mechanist.Numerics;

namespace Mechanist.Sae;

/// <summary>
/// Edits made through an SAE at its hook point while the model runs (generation or any forward pass), as one
/// <see cref="Hooks{T}"/> entry. With d_i the decoder row of latent i and f_i(x) its activation on the incoming x:
/// <list type="bullet">
/// <item><b>steer</b> i by α: x + α·d_i at every position (Neuronpedia's and SAELens's steering vector);</item>
/// <item><b>clamp</b> i to v (pinned sampling, METHODS.md §3.2 item 7): the latent's activation fixed, the SAE's
/// reconstruction error kept, as SAELens adds it back: decode(f with f_i := v) + (x − decode(f)), which by
/// linearity is x + (v − f_i(x))·d_i, so only the latent's own share changes;</item>
/// <item><b>ablate</b> i: a clamp to 0.</item>
/// </list>
/// Clamps read the activation as it arrives; steering is added after them.
/// </summary>
public sealed class SaeIntervention
{
    readonly List<(int Latent, float Alpha)> _steer = [];
    readonly List<(int Latent, float Value)> _clamp = [];

    /// <summary>Edits through <paramref name="sae"/> at <paramref name="hook"/> of a model with <paramref name="config"/> (checked to fit).</summary>
    public SaeIntervention(SparseAutoencoder sae, HookPoint hook, TransformerConfig config)
    {
        int width = config.Check(hook).Width(config);
        if (width != sae.DIn) throw new UserError($"the SAE reads {sae.DIn} values per token but {hook} of this model has {width}");
        (Sae, Hook) = (sae, hook);
    }

    public SparseAutoencoder Sae { get; }
    public HookPoint Hook { get; }
    public bool IsEmpty => _steer.Count == 0 && _clamp.Count == 0;

    public SaeIntervention Steer(int latent, float alpha) { _steer.Add((CheckLatent(latent), alpha)); return this; }
    public SaeIntervention Clamp(int latent, float value) { _clamp.Add((CheckLatent(latent), value)); return this; }
    public SaeIntervention Ablate(int latent) => Clamp(latent, 0f);

    /// <summary>Adds the edits to <paramref name="hooks"/> (after what is there) and returns them.</summary>
    public Hooks<float> AddTo(Hooks<float> hooks)
    {
        if (IsEmpty) return hooks;
        var direction = new float[Sae.DIn]; // Σ α·d_i over the steered latents
        foreach (var (latent, alpha) in _steer) VectorMath.Axpy(alpha, Sae.WDec.Value.Row(latent), direction);
        return hooks.Replace(Hook, x =>
        {
            var y = x.Clone();
            var rows = y.Reshape(-1, Sae.DIn); // per-head points: heads side by side, as the SAE reads them
            if (_clamp.Count > 0) ClampRows(rows);
            if (_steer.Count > 0)
                for (int r = 0; r < rows.RowCount; r++) VectorMath.Axpy(1f, direction, rows.Row(r));
            return y;
        });
    }

    void ClampRows(Tensor rows)
    {
        var codes = Sae.Encode(rows);
        for (int r = 0; r < rows.RowCount; r++)
        {
            var active = codes.RowIndices(r);
            var values = codes.RowValues(r);
            foreach (var (latent, value) in _clamp)
            {
                int at = active.BinarySearch(latent); // ascending within a row
                float current = at >= 0 ? values[at] : 0f;
                VectorMath.Axpy(value - current, Sae.WDec.Value.Row(latent), rows.Row(r));
            }
        }
    }

    int CheckLatent(int latent) => (uint)latent < (uint)Sae.DSae ? latent
        : throw new UserError($"latent {latent} is outside the SAE's {Sae.DSae} latents");
}
