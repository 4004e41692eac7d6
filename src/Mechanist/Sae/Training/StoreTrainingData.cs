using System.Text.Json.Nodes;
using Mechanist.Activations;
using Mechanist.IO;
using Mechanist.Numerics;

namespace Mechanist.Sae;

/// <summary>
/// Training data from a stored activation store or .npy file (random access): the last H rows are held out;
/// batches are drawn without replacement by a seeded <see cref="BatchSampler"/> over the rest, epoch after
/// epoch; the normalisation / geometric-median sample and the resampling candidates are uniform random rows
/// of the training pool; a checkpoint records the sampler's position. The caller owns (and disposes) the source.
/// </summary>
public sealed class StoreTrainingData(IActivationSource source) : ISaeTrainingData
{
    const int ResampleChunk = 16_384;
    SaeTrainingOptions? _o;
    SaeDataPlan? _plan;
    BatchSampler? _sampler;
    long[] _rows = [];

    public IActivationSource Source => source;
    public string Description => source.Path;
    public int Width => source.Width;
    public double? MeanSquaredNorm => source.Stats?.MeanSquaredNorm is double m && m > 0 ? m : null;

    SaeTrainingOptions O => _o ?? throw new InvalidOperationException("Plan first");
    SaeDataPlan P => _plan ?? throw new InvalidOperationException("Plan first");

    public SaeDataPlan Plan(SaeTrainingOptions o)
    {
        long holdout = HeldOutRows.Of(source.RowCount, o.HoldoutRows);
        long trainRows = source.RowCount - holdout;
        if (holdout >= source.RowCount)
            throw new UserError($"--holdout {holdout}: {source.Path} has only {source.RowCount} rows, which would leave none for training");
        if (trainRows < o.BatchSize)
            throw new UserError($"{source.Path}: {source.RowCount} rows leave {trainRows} for training after holding out {holdout}; need at least one batch of {o.BatchSize}");
        _o = o;
        return _plan = new SaeDataPlan(holdout, trainRows, o.Tokens > 0 ? o.Tokens : trainRows);
    }

    public void Start(IProgressReporter progress, CancellationToken cancel)
    {
        _sampler = new BatchSampler(P.TrainRows, O.BatchSize, SplitMix64.Mix(O.Seed ^ 0x5AE5AE5AE5UL), dropLast: true);
        _rows = new long[O.BatchSize];
    }

    public Tensor Sample(Rng rng, int count)
    {
        long trainRows = P.TrainRows;
        int sampleCount = (int)Math.Min(trainRows, count);
        var sampleRows = new long[sampleCount];
        for (int i = 0; i < sampleCount; i++) sampleRows[i] = sampleCount == trainRows ? i : (long)(rng.NextDouble() * trainRows);
        var sample = new Tensor(sampleCount, source.Width);
        source.ReadRows(sampleRows, sample.Span);
        return sample;
    }

    public int NextBatch(Span<float> dst)
    {
        int n = _sampler!.Next(_rows);
        source.ReadRows(_rows.AsSpan(0, n), dst[..(n * source.Width)]);
        return n;
    }

    /// <summary>
    /// For each request in turn: min(candidates, training rows) uniform random rows (with replacement),
    /// weighted by loss², one draw per dead latent (<see cref="DeadLatentResampler.Sample"/>).
    /// </summary>
    public IReadOnlyList<Tensor> ResampleInputs(IReadOnlyList<(SparseAutoencoder Sae, int Count)> requests, float scale, Rng rng, int candidates)
    {
        long trainRows = P.TrainRows;
        var result = new List<Tensor>();
        var chunk = new Tensor(ResampleChunk, source.Width);
        foreach (var (sae, count) in requests)
        {
            int n = (int)Math.Min(candidates, trainRows);
            var rows = new long[n];
            for (int i = 0; i < n; i++) rows[i] = (long)(rng.NextDouble() * trainRows);
            var weights = new double[n];
            for (int s = 0; s < n; s += ResampleChunk)
            {
                int c = Math.Min(ResampleChunk, n - s);
                var x = chunk.Rows(0, c);
                source.ReadRows(rows.AsSpan(s, c), x.Span);
                VectorMath.Scale(scale, x.Span, x.Span);
                var losses = DeadLatentResampler.SquaredLosses(sae, x);
                for (int i = 0; i < c; i++) weights[s + i] = losses[i] * losses[i];
            }
            var chosen = DeadLatentResampler.Sample(weights, count, rng);
            var picked = new Tensor(count, source.Width);
            source.ReadRows(chosen.Select(q => rows[q]).ToArray(), picked.Span);
            VectorMath.Scale(scale, picked.Span, picked.Span);
            result.Add(picked);
        }
        return result;
    }

    public IEnumerable<Tensor> HeldOut() => source.ReadChunks(P.TrainRows, P.HoldoutRows);

    public void SaveState(JsonObject checkpoint)
    {
        checkpoint["data"] = CheckpointData.Store;
        checkpoint["source_rows"] = source.RowCount;
        checkpoint["sampler"] = _sampler!.State.ToJson();
    }

    public void RestoreState(JsonObject checkpoint, string path, IProgressReporter progress, CancellationToken cancel)
    {
        if (CheckpointData.Kind(checkpoint, path) == CheckpointData.Stream)
            throw new UserError($"{path}: the checkpoint was trained on rows streamed from a model; resume with the same --model, --data and --hook instead of --acts");
        long rowsThen = checkpoint.GetLong(path, "source_rows", 0), width = checkpoint.GetLong(path, "d_in", 0);
        if (rowsThen != source.RowCount || width != source.Width)
            throw new UserError($"{path}: the checkpoint was made on {rowsThen} rows of width {width}; {source.Path} has {source.RowCount} × {source.Width}");
        _sampler = BatchSampler.Restore(BatchSamplerState.FromJson(checkpoint["sampler"] as JsonObject ?? throw new DataFormatError(path, "sampler", "missing"), path));
    }

    public string? Status() => null;
}
