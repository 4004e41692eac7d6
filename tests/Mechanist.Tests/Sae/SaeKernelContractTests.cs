using Mechanist.Numerics;
using Mechanist.Sae;

namespace Mechanist.Tests.Sae;

/// <summary>
/// The kernel's promises beyond its arithmetic: the names it answers to, its defaults from docs/METHODS.md, the
/// refusals of mismatched inputs, and which architectures AuxK applies to.
/// </summary>
public class SaeKernelContractTests
{
    const int D = 8, M = 12, B = 6;

    [Fact]
    public void Every_architecture_round_trips_through_its_names()
    {
        foreach (var arch in Enum.GetValues<SaeArchitecture>())
        {
            Assert.True(SaeArchitectureNames.TryParse(arch.CliName(), out var back), arch.CliName());
            Assert.Equal(arch, back);
        }
        Assert.Equal(["relu", "topk", "batchtopk", "jumprelu", "gated"],
            new[] { SaeArchitecture.Relu, SaeArchitecture.TopK, SaeArchitecture.BatchTopK, SaeArchitecture.JumpRelu, SaeArchitecture.Gated }
                .Select(a => a.CliName()));
        foreach (var (alias, arch) in new[] { ("standard", SaeArchitecture.Relu), ("L1", SaeArchitecture.Relu), (" batch_topk ", SaeArchitecture.BatchTopK) })
        {
            Assert.True(SaeArchitectureNames.TryParse(alias, out var a), alias);
            Assert.Equal(arch, a);
        }
        Assert.False(SaeArchitectureNames.TryParse("sparse", out _));
    }

    [Fact]
    public void AuxK_weight_defaults_to_one_32nd() => Assert.Equal(1.0 / 32, new SaeLossSettings().AuxAlpha);

    static (SaeTensors<double> w, Tensor<double> x) Setup(SaeArchitecture arch, int seed = 5)
    {
        var rng = new Random(seed);
        var w = SaeReferenceLoss.RandomWeights(arch, D, M, rng, logThreshold: Math.Log(0.05));
        var x = new Tensor<double>(B, D);
        for (int i = 0; i < x.Length; i++) x[i] = 2 * rng.NextDouble() - 1;
        return (w, x);
    }

    [Fact]
    public void Mismatched_weights_inputs_and_dead_masks_are_refused_with_their_sizes()
    {
        var (w, x) = Setup(SaeArchitecture.TopK);
        var s = new SaeLossSettings { K = 3 };
        var wrongWidth = new SaeTensors<double>(D, M + 1, SaeArchitecture.TopK);
        var wrongInput = new SaeTensors<double>(D + 1, M, SaeArchitecture.TopK);
        Assert.Contains("sizes", Assert.Throws<ArgumentException>(() => SaeKernel<double>.Create(SaeArchitecture.TopK, D, M).Run(wrongWidth, x, s)).Message);
        Assert.Contains("sizes", Assert.Throws<ArgumentException>(() => SaeKernel<double>.Create(SaeArchitecture.TopK, D, M).Run(wrongInput, x, s)).Message);
        var narrow = new Tensor<double>(B, D - 1);
        Assert.Contains($"have {D - 1} values, the SAE reads {D}",
            Assert.Throws<ArgumentException>(() => SaeKernel<double>.Create(SaeArchitecture.TopK, D, M).Run(w, narrow, s)).Message);
        var badMask = new SaeLossSettings { K = 3, KAux = 2, Dead = new bool[M - 1] };
        Assert.Contains($"dead mask has {M - 1} entries, SAE has {M} latents",
            Assert.Throws<ArgumentException>(() => SaeKernel<double>.Create(SaeArchitecture.TopK, D, M).Run(w, x, badMask, new SaeTensors<double>(D, M, SaeArchitecture.TopK))).Message);

        var (gated, gx) = Setup(SaeArchitecture.Gated);
        var plain = new SaeTensors<double>(D, M, SaeArchitecture.Relu); // no r_mag, b_mag
        gated.WEnc.Span.CopyTo(plain.WEnc.Span);
        Assert.Contains("r_mag and b_mag",
            Assert.Throws<ArgumentException>(() => SaeKernel<double>.Create(SaeArchitecture.Gated, D, M).Run(plain, gx, new SaeLossSettings { Sparsity = 0.1 })).Message);
    }

    [Theory]
    [InlineData(SaeArchitecture.Relu)]
    [InlineData(SaeArchitecture.JumpRelu)]
    [InlineData(SaeArchitecture.Gated)]
    public void Architectures_without_AuxK_ignore_a_dead_mask(SaeArchitecture arch)
    {
        var (w, x) = Setup(arch);
        var plain = new SaeLossSettings { Sparsity = 0.1, Bandwidth = 0.01 };
        var withDead = new SaeLossSettings { Sparsity = 0.1, Bandwidth = 0.01, KAux = 4, Dead = Enumerable.Range(0, M).Select(i => i % 2 == 0).ToArray() };
        var a = SaeKernel<double>.Create(arch, D, M).Run(w, x, plain, new SaeTensors<double>(D, M, arch));
        var b = SaeKernel<double>.Create(arch, D, M).Run(w, x, withDead, new SaeTensors<double>(D, M, arch));
        Assert.Equal(a.Loss, b.Loss);
        if (arch != SaeArchitecture.Gated) Assert.Equal(0, b.Aux); // gated's Aux is its gate path's reconstruction
    }

    [Theory, InlineData(true), InlineData(false)]
    public void TopK_has_no_aux_term_when_k_aux_is_0_or_no_dead_mask_is_given(bool mask)
    {
        var (w, x) = Setup(SaeArchitecture.TopK);
        var s = mask ? new SaeLossSettings { K = 3, KAux = 0, Dead = Enumerable.Repeat(true, M).ToArray() } : new SaeLossSettings { K = 3, KAux = 4 };
        var stats = SaeKernel<double>.Create(SaeArchitecture.TopK, D, M).Run(w, x, s, new SaeTensors<double>(D, M, SaeArchitecture.TopK));
        Assert.Equal(0, stats.Aux);
    }
}

/// <summary>The containers the kernel reads and writes refuse shapes that do not fit together.</summary>
public class SaeContainerTests
{
    [Fact]
    public void Sparse_codes_must_be_compressed_rows()
    {
        Assert.Throws<ArgumentException>(() => new SparseCodes(4, [], [], []));
        Assert.Throws<ArgumentException>(() => new SparseCodes(4, [1, 1], [0], [1f]));
        Assert.Throws<ArgumentException>(() => new SparseCodes(4, [0, 2], [0], [1f]));
        Assert.Contains("do not describe compressed rows", Assert.Throws<ArgumentException>(() => new SparseCodes(4, [0, 1], [0], [1f, 2f])).Message);
        var codes = new SparseCodes(4, [0, 1, 3], [2, 0, 3], [1f, 2f, 3f]);
        Assert.Equal(1.5, codes.L0);
        Assert.Equal([0, 3], codes.RowIndices(1).ToArray());
        Assert.Equal([2f, 3f], codes.RowValues(1).ToArray());
        Assert.Equal(0, new SparseCodes(4, [0], [], []).L0);
        _ = new SparseCodes(4, [0, 1], [0, 1], [1f, 2f]); // room past the last row is allowed
    }

    [Fact]
    public void Sae_tensors_must_agree_in_shape()
    {
        Tensor<float> T(params int[] shape) => new(shape);
        Assert.Contains("shapes disagree", Assert.Throws<ArgumentException>(() => new SaeTensors<float>(T(5, 3), T(5), T(5, 4), T(3), null)).Message);
        Assert.Throws<ArgumentException>(() => new SaeTensors<float>(T(5, 3), T(4), T(5, 3), T(3), null));
        Assert.Throws<ArgumentException>(() => new SaeTensors<float>(T(5, 3), T(5), T(5, 3), T(4), null));
        Assert.Throws<ArgumentException>(() => new SaeTensors<float>(T(5, 3), T(5), T(5, 3), T(3), T(4)));
        Assert.Throws<ArgumentException>(() => new SaeTensors<float>(T(5, 3), T(5), T(5, 3), T(3), null, T(5), null));
        Assert.Throws<ArgumentException>(() => new SaeTensors<float>(T(5, 3), T(5), T(5, 3), T(3), null, T(4), T(5)));
        Assert.Throws<ArgumentException>(() => new SaeTensors<float>(T(5, 3), T(5), T(5, 3), T(3), null, T(5), T(4)));
        Assert.Equal(7, new SaeTensors<float>(T(5, 3), T(5), T(5, 3), T(3), T(5), T(5), T(5)).All().Count());
        Assert.Equal(4, new SaeTensors<float>(3, 5, withThreshold: false).All().Count());
        Assert.Equal(5, new SaeTensors<float>(3, 5, withThreshold: true).All().Count());
        Assert.Equal(6, new SaeTensors<float>(3, 5, SaeArchitecture.Gated).All().Count());
    }
}
