using Mechanist.Models;
using Mechanist.Numerics;
using Mechanist.Text;

namespace Mechanist.Activations;

/// <summary>
/// The streaming mode: shuffled batches of activation rows straight from the model, without storing them.
/// Rows from <see cref="HarvestSource"/> pass through a <see cref="ShuffleBuffer"/> of
/// <see cref="HarvestOptions.ShuffleBufferMiB"/> (at least two batches), so each batch mixes rows from about
/// capacity / K contexts. <see cref="Batches"/> is for consumers that take fixed batches once, in order (an
/// <c>IEnumerable&lt;Tensor&gt;</c>); <see cref="Rows"/> is the endless pull-based form that
/// <c>sae train --model</c> reads (<see cref="Dictionary.StreamTrainingData"/>). A stream reads its
/// windows once: call one of the two, once.
/// </summary>
public sealed class HarvestStream
{
    readonly HarvestSource _source;
    readonly HarvestOptions _options;

    public HarvestStream(Transformer<float> model, TokenStore tokens, HarvestOptions options)
    {
        _source = new HarvestSource(model, tokens, options);
        _options = options;
    }

    public int Width => _source.Width;
    public HarvestSource Source => _source;

    /// <summary>
    /// Rows one read at a time, without end (epoch after epoch over the split), mixed by a shuffle buffer of
    /// <see cref="HarvestOptions.ShuffleBufferMiB"/> (0: harvest order), never more than
    /// <see cref="HarvestOptions.Tokens"/> rows (the rows the reader plans to take), exactly as
    /// <c>acts harvest</c> sizes its buffer. Deterministic for the same model, store and options, so a reader
    /// can resume by rebuilding the stream and skipping the rows it had read.
    /// </summary>
    /// <param name="cancel">Checked before each forward pass.</param>
    public ActivationRowStream Rows(CancellationToken cancel = default) =>
        new(_source.Chunks(cancel), Width, Harvester.ShuffleRows(_options, Width), Harvester.ShuffleSeed(_options.Seed));

    /// <summary>
    /// Batches of <paramref name="batchRows"/> rows ([n, Width]; the last may be short) until
    /// <see cref="HarvestOptions.Tokens"/> rows have been produced. Each tensor is fresh (safe to keep).
    /// </summary>
    public IEnumerable<Tensor> Batches(int batchRows, CancellationToken cancel = default)
    {
        if (batchRows < 1) throw new ArgumentOutOfRangeException(nameof(batchRows));
        long capacity = Math.Max(2L * batchRows, (long)_options.ShuffleBufferMiB * (1 << 20) / (4L * Width));
        var buffer = new ShuffleBuffer((int)Math.Min(capacity, Math.Min(int.MaxValue / Width, _options.Tokens)), Width,
            Harvester.ShuffleSeed(_options.Seed));
        foreach (var batch in buffer.Mix(Harvester.Limit(_source.Chunks(cancel), _options.Tokens, Width), Math.Min(batchRows, buffer.Capacity)))
        {
            var t = new Tensor(batch.Length / Width, Width);
            batch.Span.CopyTo(t.Span);
            yield return t;
        }
    }
}
