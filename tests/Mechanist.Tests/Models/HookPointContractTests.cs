using Mechanist.Models;

namespace Mechanist.Tests.Models;

/// <summary>
/// Each hook site's kind, written out site by site as TransformerLens defines them, and the short description of a
/// model's points that error messages carry.
/// </summary>
public class HookPointContractTests
{
    static readonly HookSite[] Residual = [HookSite.Embed, HookSite.PosEmbed, HookSite.ResidPre, HookSite.ResidMid, HookSite.ResidPost, HookSite.AttnOut, HookSite.MlpOut];
    static readonly HookSite[] PerHead = [HookSite.Q, HookSite.K, HookSite.V, HookSite.Z];

    [Fact]
    public void Every_site_knows_whether_it_is_in_the_residual_basis_and_per_head()
    {
        var c = new TransformerConfig { DModel = 12, Heads = 3, DMlp = 20 };
        foreach (var site in Enum.GetValues<HookSite>())
        {
            var p = HookPoint.At(site, 1);
            Assert.True(Residual.Contains(site) == p.InResidualBasis, $"{p.Name}: InResidualBasis {p.InResidualBasis}");
            Assert.True(PerHead.Contains(site) == p.IsPerHead, $"{p.Name}: IsPerHead {p.IsPerHead}");
            int expected = site switch
            {
                HookSite.Ln1Scale or HookSite.Ln2Scale or HookSite.FinalScale => 1,
                HookSite.MlpPre or HookSite.MlpPost => 20,
                _ => 12, // d_model, and h · d_head = 3 · 4 for the per-head points
            };
            if (site != HookSite.Pattern) Assert.Equal(expected, p.Width(c));
        }
        Assert.Equal("blocks.1.attn.hook_pattern is [batch, head, query, key]: it has no row of values per position",
            Assert.Throws<UserError>(() => HookPoint.Pattern(1).Width(c)).Message);
    }

    [Fact]
    public void Model_level_sites_ignore_the_layer()
    {
        Assert.Equal(HookPoint.Embed, HookPoint.At(HookSite.Embed, 3));
        Assert.Equal(-1, HookPoint.At(HookSite.FinalNormalized, 2).Layer);
        Assert.Equal("ln_final.hook_normalized", HookPoint.At(HookSite.FinalNormalized, 2).Name);
        Assert.Throws<ArgumentOutOfRangeException>(() => HookPoint.At(HookSite.MlpPost, -1));
    }

    [Fact]
    public void Describe_lists_model_points_around_the_blocks_layer_range()
    {
        var one = new TransformerConfig { Layers = 1, AttentionOnly = true, LearnedPositions = true };
        Assert.Equal("hook_embed, hook_pos_embed, blocks.0.{hook_resid_pre, ln1.hook_scale, ln1.hook_normalized, attn.hook_q, attn.hook_k, " +
                     "attn.hook_v, attn.hook_pattern, attn.hook_z, hook_attn_out, hook_resid_post}, ln_final.hook_scale, ln_final.hook_normalized",
            HookPoint.Describe(one.HookPoints()));
        var three = new TransformerConfig { Layers = 3 };
        string d = HookPoint.Describe(three.HookPoints());
        Assert.StartsWith("hook_embed, hook_pos_embed, blocks.{0…2}.{hook_resid_pre, ", d);
        Assert.EndsWith("hook_mlp_out, hook_resid_post}, ln_final.hook_scale, ln_final.hook_normalized", d);
        Assert.Equal("hook_embed, ln_final.hook_scale", HookPoint.Describe([HookPoint.Embed, HookPoint.FinalScale]));
    }
}
