using Mechanist.Autograd;
using Mechanist.Models;
using Mechanist.Numerics;

namespace Mechanist.Sae;

/// <summary>Where an SAE's inputs come from: SAELens' metadata block.</summary>
public sealed record SaeMetadata
{
    public string? ModelName { get; init; }
    /// <summary>The hook point the SAE reads (cfg.json's hook_name).</summary>
    public HookPoint? Hook { get; init; }
    public int? HookHeadIndex { get; init; }
    public int? ContextSize { get; init; }
    public bool PrependBos { get; init; } = true;
    public string? DatasetPath { get; init; }
}

/// <summary>
/// A sparse autoencoder: encoder and decoder with one row per latent (see <see cref="SaeTensors{T}"/>),
/// biases, for JumpReLU a learned threshold per latent, and for gated the magnitude path's r_mag and b_mag.
/// Inputs are raw activations x ∈ R^d_in:
///   pre = W_enc·(x − b_dec) + b_enc;   f = sparsify(pre);   x̂ = Σ_i f_i·W_dec[i] + b_dec.
/// Gated: π_gate = W_enc·(x − b_dec) + b_gate (b_gate is <see cref="BEnc"/>),
///   π_mag = exp(r_mag)·(π_gate − b_gate) + b_mag,   f = 1[π_gate > 0]·ReLU(π_mag).
/// Load one with <see cref="Load"/>, encode with <see cref="Encode"/>, decode with <see cref="Decode"/>.
/// Encoding reuses internal buffers: one SparseAutoencoder serves one thread at a time.
/// </summary>
public sealed class SparseAutoencoder
{
    SaeKernel<float>? _kernel;

    public SparseAutoencoder(SaeArchitecture architecture, int dIn, int dSae, int k = 32)
    {
        if (dIn <= 0 || dSae <= 0) throw new ArgumentOutOfRangeException(nameof(dIn), "d_in and d_sae must be positive");
        if (architecture is SaeArchitecture.TopK or SaeArchitecture.BatchTopK && (k <= 0 || k > dSae))
            throw new ArgumentOutOfRangeException(nameof(k), $"k must be in [1, d_sae={dSae}]");
        Architecture = architecture; DIn = dIn; DSae = dSae; K = k;
        WEnc = new Parameter("W_enc", new Tensor(dSae, dIn));
        BEnc = new Parameter(architecture == SaeArchitecture.Gated ? "b_gate" : "b_enc", new Tensor(dSae), weightDecay: false);
        WDec = new Parameter("W_dec", new Tensor(dSae, dIn));
        BDec = new Parameter("b_dec", new Tensor(dIn), weightDecay: false);
        if (architecture == SaeArchitecture.JumpRelu)
            LogThreshold = new Parameter("log_threshold", new Tensor(dSae), weightDecay: false);
        if (architecture == SaeArchitecture.Gated)
        {
            RMag = new Parameter("r_mag", new Tensor(dSae), weightDecay: false);
            BMag = new Parameter("b_mag", new Tensor(dSae), weightDecay: false);
        }
        Weights = new SaeTensors<float>(WEnc.Value, BEnc.Value, WDec.Value, BDec.Value, LogThreshold?.Value, RMag?.Value, BMag?.Value);
        Gradients = new SaeTensors<float>(WEnc.Grad, BEnc.Grad, WDec.Grad, BDec.Grad, LogThreshold?.Grad, RMag?.Grad, BMag?.Grad);
        var parameters = new List<Parameter> { WEnc, BEnc, WDec, BDec };
        if (LogThreshold != null) parameters.Add(LogThreshold);
        if (RMag != null) { parameters.Add(RMag); parameters.Add(BMag!); }
        Parameters = parameters;
    }

    public SaeArchitecture Architecture { get; }
    public int DIn { get; }
    public int DSae { get; }
    /// <summary>Active latents per token (topk) or their batch mean (batchtopk).</summary>
    public int K { get; }
    /// <summary>BatchTopK's inference threshold θ (an estimate of the smallest kept pre-activation during training).</summary>
    public float BatchThreshold { get; set; }
    public SaeMetadata Metadata { get; set; } = new();

    /// <summary>Encoder rows [d_sae, d_in] (gated: W_gate, shared by both paths).</summary>
    public Parameter WEnc { get; }
    /// <summary>Encoder bias (gated: b_gate, the gate path's bias).</summary>
    public Parameter BEnc { get; }
    public Parameter WDec { get; }
    public Parameter BDec { get; }
    public Parameter? LogThreshold { get; }
    /// <summary>Gated: the magnitude path's log scale per latent (null for other architectures).</summary>
    public Parameter? RMag { get; }
    /// <summary>Gated: the magnitude path's bias per latent (null for other architectures).</summary>
    public Parameter? BMag { get; }
    public IReadOnlyList<Parameter> Parameters { get; }
    /// <summary>The parameters as the kernel reads them (views of the Parameter values).</summary>
    public SaeTensors<float> Weights { get; }
    public SaeTensors<float> Gradients { get; }

    /// <summary>
    /// A freshly initialised SAE. relu and gated: Kaiming-uniform encoder and decoder, untied (Towards
    /// Monosemanticity); the others: random unit decoder rows with the encoder set to the decoder's transpose
    /// (Gao et al.). Decoder rows have unit norm; biases are zero (the trainer sets b_dec to the data's geometric
    /// median); JumpReLU thresholds start at 0.001; gated r_mag = 0 (magnitude weights = gate weights), b_mag = 0.
    /// </summary>
    public static SparseAutoencoder Create(SaeArchitecture architecture, int dIn, int dSae, ulong seed, int k = 32)
    {
        var sae = new SparseAutoencoder(architecture, dIn, dSae, k);
        var rng = new Rng(seed);
        float bound = 1f / MathF.Sqrt(dIn);
        if (architecture is SaeArchitecture.Relu or SaeArchitecture.Gated)
        {
            rng.FillUniform(sae.WEnc.Value.Span, -bound, bound);
            rng.FillUniform(sae.WDec.Value.Span, -bound, bound);
            sae.NormalizeDecoderRows();
        }
        else
        {
            rng.FillNormal(sae.WDec.Value.Span, 0, 1);
            sae.NormalizeDecoderRows();
            sae.WDec.Value.Span.CopyTo(sae.WEnc.Value.Span);
        }
        if (sae.LogThreshold != null) sae.LogThreshold.Value.Fill(MathF.Log(0.001f));
        return sae;
    }

    /// <summary>Reads an SAE folder in SAELens' layout (see <see cref="SaeLensFormat.Load"/>).</summary>
    public static SparseAutoencoder Load(string dir) => SaeLensFormat.Load(dir);

    /// <summary>Writes this SAE as a SAELens folder, atomically (see <see cref="SaeLensFormat.Save"/>).</summary>
    public void Save(string dir, float[]? log10Density = null) => SaeLensFormat.Save(this, dir, log10Density);

    /// <summary>Rescales every decoder row to unit L2 norm (rows of zeros stay zero).</summary>
    public void NormalizeDecoderRows()
    {
        for (int i = 0; i < DSae; i++)
        {
            var row = WDec.Value.Row(i);
            double sq = VectorMath.Dot<float>(row, row);
            if (sq > 0) VectorMath.Scale((float)(1 / Math.Sqrt(sq)), row, row);
        }
    }

    /// <summary>
    /// The SAE that reads raw x when this one was trained on c·x: W_enc′ = c·W_enc, b_dec′ = b_dec/c,
    /// W_dec′ = W_dec/c, b_enc and thresholds unchanged (METHODS §2.6). Latent values are identical.
    /// Gated: b_gate, r_mag and b_mag are unchanged too (both paths read W_enc·(x − b_dec), which the fold preserves).
    /// </summary>
    public SparseAutoencoder FoldInputScale(float c)
    {
        if (!(c > 0) || !float.IsFinite(c)) throw new ArgumentOutOfRangeException(nameof(c), "scale must be positive and finite");
        var folded = Clone();
        VectorMath.Scale(c, WEnc.Value.Span, folded.WEnc.Value.Span);
        VectorMath.Scale(1 / c, WDec.Value.Span, folded.WDec.Value.Span);
        VectorMath.Scale(1 / c, BDec.Value.Span, folded.BDec.Value.Span);
        return folded;
    }

    public SparseAutoencoder Clone()
    {
        var copy = new SparseAutoencoder(Architecture, DIn, DSae, K) { BatchThreshold = BatchThreshold, Metadata = Metadata };
        for (int p = 0; p < Parameters.Count; p++) Parameters[p].Value.Span.CopyTo(copy.Parameters[p].Value.Span);
        return copy;
    }

    /// <summary>Encodes rows of x ([n, d_in]) to sparse latent codes.</summary>
    public SparseCodes Encode(Tensor x)
    {
        CheckInput(x);
        var offsets = new int[x.RowCount + 1];
        var indices = new List<int>();
        var values = new List<float>();
        ForBatches(x, (kernel, start, count) =>
        {
            for (int t = 0; t < count; t++)
            {
                indices.AddRange(kernel.ActiveIndices(t));
                values.AddRange(kernel.ActiveValues(t));
                offsets[start + t + 1] = indices.Count;
            }
        });
        return new SparseCodes(DSae, offsets, [.. indices], [.. values]);
    }

    /// <summary>x̂ = Σ_i f_i·W_dec[i] + b_dec for each row of codes.</summary>
    public Tensor Decode(SparseCodes codes)
    {
        if (codes.Latents != DSae) throw new ArgumentException($"codes have {codes.Latents} latents, the SAE {DSae}");
        var x = new Tensor(codes.Rows, DIn);
        for (int t = 0; t < codes.Rows; t++)
        {
            var row = x.Row(t);
            BDec.Value.Span.CopyTo(row);
            var idx = codes.RowIndices(t); var val = codes.RowValues(t);
            for (int e = 0; e < idx.Length; e++) VectorMath.Axpy(val[e], WDec.Value.Row(idx[e]), row);
        }
        return x;
    }

    /// <summary>Encode then decode: the SAE's reconstruction of each row of x.</summary>
    public Tensor Reconstruct(Tensor x)
    {
        CheckInput(x);
        var result = new Tensor(x.RowCount, DIn);
        ForBatches(x, (kernel, start, count) =>
        {
            for (int t = 0; t < count; t++) kernel.Reconstruction(t).CopyTo(result.Row(start + t));
        });
        return result;
    }

    /// <summary>Loss settings for inference: the architecture's own selection (batchtopk uses its θ).</summary>
    internal SaeLossSettings InferenceSettings() => new() { K = K, FixedThreshold = Architecture == SaeArchitecture.BatchTopK ? BatchThreshold : null };

    internal SaeKernel<float> Kernel => _kernel ??= SaeKernel<float>.Create(Architecture, DIn, DSae);

    /// <summary>Runs the inference pass over x in batches; <paramref name="visit"/> reads the kernel's outputs per batch.</summary>
    internal void ForBatches(Tensor x, Action<SaeKernel<float>, int, int> visit, Action<SaeBatchStats>? stats = null)
    {
        var settings = InferenceSettings();
        var rows = x.Reshape(-1, DIn);
        const int Batch = 4096;
        for (int start = 0; start < rows.RowCount; start += Batch)
        {
            int count = Math.Min(Batch, rows.RowCount - start);
            var s = Kernel.Run(Weights, rows.Rows(start, count), settings);
            stats?.Invoke(s);
            visit(Kernel, start, count);
        }
    }

    void CheckInput(Tensor x)
    {
        if (x.Columns != DIn) throw new ArgumentException($"input rows have {x.Columns} values, the SAE reads d_in = {DIn}");
    }

    public override string ToString() => $"{Architecture.CliName()} SAE {DIn} → {DSae}" + (Architecture is SaeArchitecture.TopK or SaeArchitecture.BatchTopK ? $" (k={K})" : "");
}
