using Mechanist.Numerics;
using Mechanist.Numerics.Kernels;

namespace Mechanist.Universality;

/// <summary>
/// Turns a batch of another model's activations into its baseline (<see cref="CorrelationBaseline"/>). Every
/// draw is keyed by the seed, the model and the batch number, so any shard or tile pass that reads batch b
/// makes the same baseline rows. The rotation matrices (one per layer) are shared by all models.
/// </summary>
public sealed unsafe class BaselineTransform
{
    readonly UnitLayout _layout;
    readonly float[][] _matrices;
    readonly Rng _root;

    BaselineTransform(CorrelationBaseline kind, UnitLayout layout, float[][] matrices, Rng root)
    {
        Kind = kind; _layout = layout; _matrices = matrices; _root = root;
    }

    public CorrelationBaseline Kind { get; }

    /// <summary>Bytes of rotation matrices held (for the memory budget).</summary>
    public long Bytes => _matrices.Sum(m => 4L * m.Length);

    public static long BytesFor(CorrelationBaseline kind, UnitLayout layout) =>
        kind is CorrelationBaseline.Rotation or CorrelationBaseline.Haar ? 4L * layout.Layers * layout.Width * layout.Width : 0;

    public static BaselineTransform Create(CorrelationBaseline kind, UnitLayout layout, ulong seed)
    {
        var root = new Rng(seed).Stream(0xBA5E11E0UL + (ulong)kind);
        var matrices = kind switch
        {
            CorrelationBaseline.Rotation => Enumerable.Range(0, layout.Layers).Select(l => RandomRotation.GaussianRows(layout.Width, root.Stream(1_000_000UL + (ulong)l))).ToArray(),
            CorrelationBaseline.Haar => Enumerable.Range(0, layout.Layers).Select(l => RandomRotation.Haar(layout.Width, root.Stream(1_000_000UL + (ulong)l))).ToArray(),
            _ => [],
        };
        return new BaselineTransform(kind, layout, matrices, root);
    }

    /// <summary>dst[t, :] = the baseline of y[t, :] for <paramref name="tokens"/> rows of model <paramref name="model"/>'s batch <paramref name="batch"/>.</summary>
    public void Apply(float[] y, int tokens, int model, int batch, float[] dst)
    {
        int width = _layout.Units;
        switch (Kind)
        {
            case CorrelationBaseline.Rotation or CorrelationBaseline.Haar:
                // Row t of layer l becomes G·y: Y_l Gᵀ, one GEMM per layer over the whole batch.
                fixed (float* py = y) fixed (float* pd = dst)
                    for (int l = 0; l < _layout.Layers; l++)
                        fixed (float* g = _matrices[l])
                            Gemm.Sgemm(false, true, tokens, _layout.Width, _layout.Width, 1f, py + l * _layout.Width, width,
                                g, _layout.Width, 0f, pd + l * _layout.Width, width);
                break;
            case CorrelationBaseline.Permutation:
            {
                var order = new int[tokens];
                for (int t = 0; t < tokens; t++) order[t] = t;
                BatchRng(model, batch).Shuffle(order.AsSpan());
                for (int t = 0; t < tokens; t++) y.AsSpan(order[t] * width, width).CopyTo(dst.AsSpan(t * width, width));
                break;
            }
            case CorrelationBaseline.Gaussian:
            {
                var span = dst.AsSpan(0, tokens * width);
                BatchRng(model, batch).FillNormal(span, 0, 1);
                Numerics.Kernels.Activations.Forward<float>(Activation.GeluNew, span, span);
                break;
            }
        }
    }

    Rng BatchRng(int model, int batch) => _root.Stream((ulong)model).Stream((ulong)batch);
}
