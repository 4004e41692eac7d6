using Mechanist.Models;
using Mechanist.Text;

namespace Mechanist.Universality;

/// <summary>
/// One model's neurons over the run's first batches, for their statistics and families: the pre-activation
/// histograms (<c>mlp.hook_pre</c>, §5.4) and the activation's sums split by token, previous token, position and
/// context and corpus subset (<c>mlp.hook_post</c>, §5.6), on the same kept rows as the correlations.
/// </summary>
public sealed class NeuronProfile
{
    internal NeuronProfile(PreActivationHistogram pre, ConditionalSums post, IReadOnlyList<string> sources) { Pre = pre; Post = post; SourceLabels = sources; }

    public PreActivationHistogram Pre { get; }
    public ConditionalSums Post { get; }
    /// <summary>Names of the corpus subsets <see cref="ConditionalSums.BySource"/> splits by.</summary>
    public IReadOnlyList<string> SourceLabels { get; }

    public static NeuronProfile Measure(ModelUnitBatches data, int model, int batches, IProgressReporter? progress = null, CancellationToken cancel = default)
    {
        var layout = data.Layouts[model];
        var transformer = data.Model(model);
        var pre = new PreActivationHistogram(layout.Units);
        var post = new ConditionalSums(layout.Units, transformer.Config.Vocab, data.Context, data.SourceLabels.Count);
        var texts = data.Tokenizer is { } tok ? Enumerable.Range(0, tok.VocabSize).Select(id => tok.Decode([id])).ToArray() : null;
        int n = Math.Min(batches, data.BatchCount);
        using var bar = (progress ?? IProgressReporter.None).Start($"neuron statistics of model {model}", n, "batch");
        for (int b = 0; b < n; b++)
        {
            cancel.ThrowIfCancellationRequested();
            var (ids, keep, windows) = data.Tokens(b);
            var preRows = new float[keep.Count * layout.Units];
            var postRows = new float[keep.Count * layout.Units];
            var hooks = new Hooks<float>();
            for (int l = 0; l < layout.Layers; l++)
            {
                int layer = l;
                hooks.Read(HookPoint.MlpPre(l), t => Gather(t.Span, keep, layout, layer, preRows));
                hooks.Read(HookPoint.MlpPost(l), t => Gather(t.Span, keep, layout, layer, postRows));
            }
            using (Autograd.Tape.NoGrad())
                transformer.RunToHook(ids, windows, data.Context, HookPoint.MlpPost(layout.Layers - 1), hooks);
            pre.Add(preRows, keep.Count, layout.Units, 0);
            pre.CountTokens(keep.Count);
            var flags = texts == null ? null : ContextFlags(ids, data.Context, texts);
            for (int r = 0; r < keep.Count; r++)
            {
                int i = keep[r];
                post.Add(postRows.AsSpan(r * layout.Units, layout.Units), ids[i], ids[i - 1], i % data.Context, flags?[i] ?? 0, data.SourceOf(b, i));
            }
            bar.Advance(1);
        }
        return new NeuronProfile(pre, post, data.SourceLabels);
    }

    static void Gather(ReadOnlySpan<float> all, List<int> keep, UnitLayout layout, int layer, float[] rows)
    {
        for (int r = 0; r < keep.Count; r++)
            all.Slice(keep[r] * layout.Width, layout.Width).CopyTo(rows.AsSpan(r * layout.Units + layer * layout.Width, layout.Width));
    }

    /// <summary>
    /// Per position, bits of <see cref="ConditionalSums.FlagNames"/>: the previous token ends a line; an opening
    /// bracket earlier in the window is still open; an odd number of double quotes came before (window-local).
    /// </summary>
    static int[] ContextFlags(int[] ids, int context, string[] texts)
    {
        var flags = new int[ids.Length];
        for (int w = 0; w < ids.Length / context; w++)
        {
            int depth = 0, quotes = 0;
            for (int p = 0; p < context; p++)
            {
                int i = w * context + p;
                int f = 0;
                if (p > 0 && texts[ids[i - 1]].EndsWith('\n')) f |= 1;
                if (depth > 0) f |= 2;
                if (quotes % 2 == 1) f |= 4;
                flags[i] = f;
                foreach (char c in texts[ids[i]])
                {
                    if (c is '(' or '[' or '{') depth++;
                    else if (c is ')' or ']' or '}') depth = Math.Max(0, depth - 1);
                    else if (c == '"') quotes++;
                }
            }
        }
        return flags;
    }
}
