namespace Mechanist.Sae;

/// <summary>
/// Latent codes of a batch in compressed-row form: token t's active latents are
/// Indices[Offsets[t] .. Offsets[t+1]) with activations Values[...] (ascending latent index within a token).
/// </summary>
public sealed class SparseCodes
{
    public SparseCodes(int latents, int[] offsets, int[] indices, float[] values)
    {
        if (offsets.Length == 0 || offsets[0] != 0 || offsets[^1] > indices.Length || indices.Length != values.Length)
            throw new ArgumentException("offsets, indices and values do not describe compressed rows");
        Latents = latents; Offsets = offsets; Indices = indices; Values = values;
    }

    /// <summary>Width of the dictionary (d_sae).</summary>
    public int Latents { get; }
    public int Rows => Offsets.Length - 1;
    public int[] Offsets { get; }
    public int[] Indices { get; }
    public float[] Values { get; }

    public ReadOnlySpan<int> RowIndices(int t) => Indices.AsSpan(Offsets[t], Offsets[t + 1] - Offsets[t]);
    public ReadOnlySpan<float> RowValues(int t) => Values.AsSpan(Offsets[t], Offsets[t + 1] - Offsets[t]);

    /// <summary>Mean number of active latents per row.</summary>
    public double L0 => Rows == 0 ? 0 : (double)Offsets[^1] / Rows;

    /// <summary>The codes as a dense [rows, latents] tensor.</summary>
    public Tensor ToDense()
    {
        var dense = new Tensor(Rows, Latents);
        for (int t = 0; t < Rows; t++)
        {
            var row = dense.Row(t);
            for (int e = Offsets[t]; e < Offsets[t + 1]; e++) row[Indices[e]] = Values[e];
        }
        return dense;
    }
}
