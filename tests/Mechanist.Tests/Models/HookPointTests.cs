using Mechanist.Models;

namespace Mechanist.Tests.Models;

public class HookPointTests
{
    static readonly TransformerConfig TwoLayers = new() { Layers = 2, DModel = 8, Heads = 2, DMlp = 12, Context = 6, Vocab = 11 };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Every_point_a_model_lists_round_trips_through_its_name(bool attentionOnly)
    {
        var config = TwoLayers with { AttentionOnly = attentionOnly };
        var points = config.HookPoints();
        Assert.Equal(attentionOnly ? 4 + 2 * 10 : 4 + 2 * 16, points.Count);
        Assert.Equal(points.Count, points.Distinct().Count());
        Assert.Equal(points.Count, points.Select(p => p.Name).Distinct().Count());
        foreach (var p in points)
        {
            Assert.Equal(p, HookPoint.Parse(p.Name));
            Assert.Equal(p, config.ParseHookPoint(p.Name));
            Assert.Equal(p.Name, p.ToString());
        }
        Assert.Equal("blocks.1.mlp.hook_post", HookPoint.MlpPost(1).Name);
        Assert.Equal("blocks.0.ln2.hook_scale", HookPoint.Scale(0, 2).Name);
        Assert.Equal("ln_final.hook_normalized", HookPoint.FinalNormalized.Name);
        Assert.Equal(HookPoint.Z(10), HookPoint.Parse("blocks.10.attn.hook_z"));
    }

    [Theory]
    [InlineData("blocks.0.mlp.hook_postt")]
    [InlineData("blocks.0.hook_embed")]
    [InlineData("hook_resid_pre")]
    [InlineData("blocks..hook_resid_pre")]
    [InlineData("blocks.-1.hook_resid_pre")]
    [InlineData("blocks.01.hook_resid_pre")]
    [InlineData("blocks.0.attn.hook_result")]
    [InlineData("")]
    public void Names_that_are_no_hook_point_are_refused(string name)
    {
        Assert.False(HookPoint.TryParse(name, out _));
        var e = Assert.Throws<UserError>(() => HookPoint.Parse(name));
        Assert.Contains("blocks.0.mlp.hook_post", e.Message);
    }

    [Fact]
    public void A_point_the_model_lacks_fails_with_the_models_points()
    {
        var e = Assert.Throws<UserError>(() => TwoLayers.ParseHookPoint("blocks.2.hook_resid_post"));
        Assert.Contains("2 layers", e.Message);
        Assert.Contains("hook_embed", e.Message);
        Assert.Contains("blocks.{0…1}.{hook_resid_pre, ln1.hook_scale", e.Message);
        Assert.Contains("mlp.hook_post", e.Message);
        Assert.EndsWith("ln_final.hook_scale, ln_final.hook_normalized", e.Message);

        var attnOnly = TwoLayers with { AttentionOnly = true };
        e = Assert.Throws<UserError>(() => attnOnly.Check(HookPoint.MlpPost(0)));
        Assert.Contains("attention-only", e.Message);
        Assert.DoesNotContain("mlp.hook_post", e.Message.Split("points are")[1]);

        // The model refuses such a point before it runs anything.
        var model = Transformer<float>.Create(attnOnly, 1);
        Assert.Throws<UserError>(() => model.Forward([1, 2], 1, 2, new Hooks<float>().Read(HookPoint.MlpPost(0), _ => { })));
        Assert.Throws<UserError>(() => model.RunToHook([1, 2], 1, 2, HookPoint.ResidPost(2)));
    }

    [Fact]
    public void Points_know_their_kind_and_width()
    {
        var c = TwoLayers;
        Assert.True(HookPoint.Z(0).IsPerHead);
        Assert.Equal(8, HookPoint.Z(0).Width(c));   // heads side by side: h·d_head
        Assert.Equal(12, HookPoint.MlpPre(1).Width(c));
        Assert.Equal(1, HookPoint.Scale(1, 1).Width(c));
        Assert.Equal(8, HookPoint.Embed.Width(c));
        Assert.True(HookPoint.Pattern(0).IsReadOnly && HookPoint.FinalScale.IsReadOnly && !HookPoint.Q(0).IsReadOnly);
        Assert.Throws<UserError>(() => HookPoint.Pattern(0).Width(c));
        Assert.True(HookPoint.MlpOut(0).InResidualBasis && !HookPoint.MlpPost(0).InResidualBasis);
        Assert.Equal(-1, HookPoint.Embed.Layer);
        Assert.False(HookPoint.FinalNormalized.InBlock);
    }
}
