using Mechanist.Autograd;
using Mechanist.IO;
using Mechanist.Models;
using Mechanist.Numerics;

namespace Mechanist.Tests.Models;

/// <summary>
/// Two edges of loading and hooking: a tied model whose file also holds the lm_head copy (what some savers write)
/// loads, while an untied-looking extra tensor does not; a raw hook that swaps a LayerNorm's σ for a tensor of another
/// shape is refused with both shapes (Replace checks shapes itself, Apply does not).
/// </summary>
public class SavedCopiesAndScaleHooksTests
{
    static readonly TransformerConfig Config = new() { Layers = 1, DModel = 8, Heads = 2, DMlp = 16, Context = 8, Vocab = 13 };

    [Fact]
    public void A_tied_model_file_with_a_stored_lm_head_copy_loads_and_ignores_the_copy()
    {
        var model = Transformer<float>.Create(Config, 3);
        Assert.True(Config.TiedEmbeddings);
        string dir = TestPaths.NewTempDir();
        ModelFiles.Save(model, dir);
        void SaveWith(SafeTensorsEntry extra) => SafeTensors.Save(Path.Combine(dir, ModelFiles.WeightsFile),
            model.Weights.Select(w => SafeTensorsEntry.Float(w.Name, w.Weight.Value)).Append(extra));
        var junk = new Tensor(13, 8);
        junk.Span.Fill(7f);
        SaveWith(SafeTensorsEntry.Float("lm_head.weight", junk));
        var loaded = ModelFiles.Load(dir);
        Assert.Equal(model.TokenEmbedding.Value.ToArray(), loaded.TokenEmbedding.Value.ToArray());
        Assert.Equal(model.Forward([1, 2, 3], 1, 3).Value.ToArray(), loaded.Forward([1, 2, 3], 1, 3).Value.ToArray());

        // Only that one name is excused: any other extra tensor in a tied model's file is still refused.
        SaveWith(SafeTensorsEntry.Float("lm_head.bias", new Tensor(13)));
        Assert.Equal("lm_head.bias", Assert.Throws<DataFormatError>(() => ModelFiles.Load(dir)).Field);
    }

    [Fact]
    public void A_raw_hook_giving_the_scale_another_shape_is_refused_with_both_shapes()
    {
        var model = Transformer<float>.Create(Config, 3);
        var point = HookPoint.Scale(0, 1);
        var hooks = new Hooks<float>().Apply(point, _ => Ops.Constant(new Tensor(2, 3, 2)));
        var e = Assert.Throws<ArgumentException>(() => model.Forward([1, 2, 3, 4, 5, 6], 2, 3, hooks));
        Assert.Equal($"hook {point}: replacement [2, 3, 2] does not match [2, 3, 1]", e.Message);
    }
}
