using Mechanist.Models;
using Mechanist.Numerics;

namespace Mechanist.Tests.Models;

/// <summary>Hook edits refused with their sizes, and AbsTopK site names read as a set.</summary>
public class HooksContractTests
{
    static Transformer<float> Model() =>
        Transformer<float>.Create(new TransformerConfig { Layers = 1, DModel = 8, Heads = 2, DMlp = 16, Context = 8, Vocab = 13 }, 1);

    [Fact]
    public void A_replacement_of_another_shape_is_refused_with_both_shapes()
    {
        var hooks = new Hooks<float>().Replace(HookPoint.MlpPost(0), _ => new Tensor(2, 3, 15));
        var e = Assert.Throws<ArgumentException>(() => Model().Forward([1, 2, 3, 4, 5, 6], 2, 3, hooks));
        Assert.Equal("hook blocks.0.mlp.hook_post: replacement [2, 3, 15] does not match [2, 3, 16]", e.Message);
    }

    [Fact]
    public void Ablating_a_column_past_the_last_is_refused_and_the_last_is_not()
    {
        var m = Model();
        var e = Assert.Throws<UserError>(() => m.Forward([1, 2, 3], 1, 3, new Hooks<float>().Ablate(HookPoint.MlpPost(0), [3, 16])));
        Assert.Equal("blocks.0.mlp.hook_post has 16 values per position; 16 is out of range", e.Message);
        Tensor? seen = null;
        m.Forward([1, 2, 3], 1, 3, new Hooks<float>().Ablate(HookPoint.MlpPost(0), [15], 2f).Read(HookPoint.MlpPost(0), t => seen = t.Clone()));
        for (int r = 0; r < 3; r++) Assert.Equal(2f, seen![r * 16 + 15]);
    }

    [Fact]
    public void Site_names_read_as_a_set_and_an_unknown_one_lists_the_known()
    {
        Assert.Equal(SparsitySites.MlpIn, SparsitySiteNames.Parse(["mlp_in", "mlp_in"], "cfg.json", "sites"));
        var e = Assert.Throws<DataFormatError>(() => SparsitySiteNames.Parse(["mlp_in", "ffn"], "cfg.json", "sites"));
        Assert.Equal("cfg.json: sites: 'ffn' is not a sparsity site (attn_in, attn_q, attn_k, attn_v, attn_out, mlp_in, mlp_neuron, mlp_out, " +
                     "resid_post_attn, resid_post_mlp)", e.Message);
    }
}
