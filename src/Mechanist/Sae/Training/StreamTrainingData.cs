using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Mechanist.Activations;
using Mechanist.IO;
using Mechanist.Models;
using Mechanist.Numerics;
using Mechanist.Text;

namespace Mechanist.Sae;

/// <summary>
/// Training data streamed from a model (<c>sae train --model</c>): rows come from a <see cref="HarvestStream"/>
/// (the model run to the hook, position 0 skipped, K seeded positions per context, the same rows
/// <c>acts harvest</c> would store) through a shuffle buffer, and nothing is written to disk. The stream is
/// read once, front to back, and every use of data takes the next rows:
/// <list type="number">
/// <item>the first H rows are the held-out set, kept in memory for the final evaluation (H = --holdout, or
/// 5 % of --tokens, at most 65,536, as a store holds out 5 % of its rows). They are also the normalisation
/// sample (E‖x‖² over all H) and the geometric-median sample (the first 32,768 of them): a stream has no
/// recorded statistics, and these rows are as random as any, so no extra rows are spent;</item>
/// <item>training batches are the next rows, batch after batch: each row is trained on once (a store's
/// sampler may revisit rows in later epochs; a stream only revisits a context when the token split wraps into
/// a new epoch, with new positions and order);</item>
/// <item>at a relu resampling step, the next <see cref="SaeTrainingOptions.ResampleInputs"/> rows (819,200 by
/// default) are the candidates, consumed and not trained on, read chunk by chunk so memory stays bounded;
/// each SAE with dead latents keeps only its chosen rows (<see cref="WeightedReservoir"/>: weighted sampling
/// without replacement, ∝ loss², in one pass). All SAEs being resampled share the same candidate rows,
/// as they share the batches;</item>
/// <item>a checkpoint records how many rows the stream has produced. Resuming rebuilds the stream with the same
/// seed and skips that many rows (deterministic replay). The replay reruns only the forward passes to the
/// hook, not the SAE steps they fed: in the README's quick demo (toy-1l, every position of each window)
/// the harvest produced 1 M rows in 10 s and a 4,096-latent SAE trained on 2 M rows in 109 s, so a replay
/// costs about a fifth of the training it skips (more for a small K, which runs context / K tokens per row),
/// and no activations need storing.</item>
/// </list>
/// The forward passes run on the training thread between SAE steps, never beside them: both use every core.
/// </summary>
public sealed class StreamTrainingData : ISaeTrainingData, IDisposable
{
    const int Chunk = 16_384;
    /// <summary>Opens the row stream, given the rows the run plans to read (holdout + training; sizes the shuffle buffer).</summary>
    readonly Func<long, ActivationRowStream> _open;
    /// <summary>What identifies the stream's source in a checkpoint (the shuffle capacity and held-out rows are added).</summary>
    readonly JsonObject _source;
    readonly Func<string>? _sourceRate;
    SaeTrainingOptions? _o;
    SaeDataPlan? _plan;
    ActivationRowStream? _rows;
    Tensor? _heldOut;
    double _meanSquaredNorm;
    readonly Stopwatch _clock = new();

    /// <summary>Rows streamed from a model: a <see cref="HarvestStream"/> (the `acts harvest` rows, never stored).</summary>
    /// <param name="harvest">How to sample rows (hook, context, K, split of <paramref name="tokens"/>, seed, shuffle
    /// buffer); its <see cref="HarvestOptions.Tokens"/> is replaced by the rows the run plans to read, which caps
    /// the shuffle buffer as `acts harvest` caps it.</param>
    /// <param name="modelName">Recorded in the description and checkpoint (e.g. the model folder).</param>
    public StreamTrainingData(Transformer<float> model, TokenStore tokens, HarvestOptions harvest, string modelName)
    {
        var probe = new HarvestSource(model, tokens, harvest); // checks the hook, context and options now, before any output
        Width = probe.Width;
        Context = probe.Context;
        Description = $"streamed from {modelName} at {harvest.Hook} over {tokens.Directory} ({tokens.Split})";
        HarvestStream? stream = null;
        _open = planned =>
        {
            stream = new HarvestStream(model, tokens, harvest with { Tokens = planned });
            return stream.Rows(); // not cancellable mid-step: Start and RestoreState pass the token to Read instead
        };
        _sourceRate = () => string.Create(CultureInfo.InvariantCulture,
            $"model {Compact(stream!.Source.ModelTokens / Math.Max(1e-9, Rows.SourceTime.TotalSeconds))} tok/s");
        _source = new JsonObject
        {
            ["model"] = modelName,
            ["tokens"] = $"{tokens.Directory} ({tokens.Split})",
            ["hook"] = harvest.Hook.Name,
            ["context"] = probe.Context,
            ["per_context"] = probe.RowsPerContext,
            ["skip_first_position"] = harvest.SkipFirstPosition,
            ["seed"] = harvest.Seed.ToString(CultureInfo.InvariantCulture),
            ["batch_windows"] = probe.BatchWindows,
        };
    }

    /// <summary>
    /// Rows from any source read front to back, e.g. an activation store read in order: the same training as
    /// from a model whose stream yields those rows (the tests compare the two).
    /// </summary>
    /// <param name="chunks">Rows in order, each chunk a whole number of rows; the stream fails if they run out.</param>
    /// <param name="shuffleRows">Shuffle-buffer capacity in rows (0: source order).</param>
    public StreamTrainingData(IEnumerable<ReadOnlyMemory<float>> chunks, int width, int shuffleRows, ulong shuffleSeed, string description)
    {
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width));
        Width = width;
        Description = description;
        _open = _ => new ActivationRowStream(chunks, width, shuffleRows, shuffleSeed);
        _source = new JsonObject { ["source"] = description, ["shuffle_seed"] = shuffleSeed.ToString(CultureInfo.InvariantCulture) };
    }

    public int Width { get; }
    /// <summary>Tokens per context window (streams from a model; null otherwise).</summary>
    public int? Context { get; }
    public string Description { get; }
    public double? MeanSquaredNorm => _heldOut != null ? _meanSquaredNorm : null;
    /// <summary>Rows the stream has produced so far (held out, trained on, resampling candidates).</summary>
    public long RowsRead => _rows?.RowsRead ?? 0;
    /// <summary>Shuffle-buffer capacity in rows (0: source order); known after <see cref="Start"/>.</summary>
    public int ShuffleRows => Rows.ShuffleRows;

    SaeTrainingOptions O => _o ?? throw new InvalidOperationException("Plan first");
    SaeDataPlan P => _plan ?? throw new InvalidOperationException("Plan first");
    ActivationRowStream Rows => _rows ?? throw new InvalidOperationException("Start first");
    Tensor HeldOutRowsRead => _heldOut ?? throw new InvalidOperationException("Start first");

    public SaeDataPlan Plan(SaeTrainingOptions o)
    {
        if (o.Tokens <= 0) throw new UserError("--tokens: give the number of training tokens when streaming from a model (there is no store to make one pass over)");
        long steps = (o.Tokens + o.BatchSize - 1) / o.BatchSize;
        long holdout = HeldOutRows.Of(o.Tokens, o.HoldoutRows);
        if (holdout > int.MaxValue / Width) throw new UserError($"--holdout {holdout}: too many rows to hold in memory at width {Width}");
        _o = o;
        return _plan = new SaeDataPlan(holdout, steps * o.BatchSize, o.Tokens);
    }

    public void Start(IProgressReporter progress, CancellationToken cancel)
    {
        _clock.Start();
        _rows = _open(P.HoldoutRows + P.TrainRows);
        int h = (int)P.HoldoutRows;
        _heldOut = new Tensor(h, Width);
        using (var task = progress.Start($"streaming {h:N0} held-out rows", h, "tok"))
            for (int s = 0; s < h; s += Chunk)
            {
                int n = Math.Min(Chunk, h - s);
                Rows.Read(_heldOut.Span.Slice(s * Width, n * Width), cancel);
                task.Advance(n);
                task.SetStatus(StreamRate());
            }
        double sum = 0;
        foreach (float v in _heldOut.Span) sum += (double)v * v;
        _meanSquaredNorm = sum / h;
    }

    /// <summary>The first min(count, H) held-out rows (the rng is not used: the stream is already random).</summary>
    public Tensor Sample(Rng rng, int count) => HeldOutRowsRead.Rows(0, Math.Min(count, HeldOutRowsRead.RowCount)).Clone();

    /// <summary>
    /// The next batch. Not cancellable: the trainer checks for Ctrl-C between steps and checkpoints there, so
    /// a step never stops half-way through its forward passes.
    /// </summary>
    public int NextBatch(Span<float> dst)
    {
        Rows.Read(dst[..(O.BatchSize * Width)]);
        return O.BatchSize;
    }

    /// <summary>
    /// The next <paramref name="candidates"/> stream rows, read in chunks of 16,384 and scored by every
    /// request's SAE; each request keeps its <see cref="WeightedReservoir"/> of Count rows (one uniform draw
    /// from <paramref name="rng"/> per row and request, in chunk, request, row order).
    /// </summary>
    public IReadOnlyList<Tensor> ResampleInputs(IReadOnlyList<(SparseAutoencoder Sae, int Count)> requests, float scale, Rng rng, int candidates)
    {
        var reservoirs = requests.Select(r => new WeightedReservoir(r.Count, Width)).ToArray();
        int total = Math.Max(1, candidates);
        var chunk = new Tensor(Math.Min(Chunk, total), Width);
        for (int s = 0; s < total; s += Chunk)
        {
            int c = Math.Min(Chunk, total - s);
            var x = chunk.Rows(0, c);
            Rows.Read(x.Span);
            VectorMath.Scale(scale, x.Span, x.Span);
            for (int q = 0; q < requests.Count; q++)
            {
                var losses = DeadLatentResampler.SquaredLosses(requests[q].Sae, x);
                for (int i = 0; i < c; i++) reservoirs[q].Offer(x.Row(i), losses[i] * losses[i], rng);
            }
        }
        return reservoirs.Select((r, q) => r.Result(requests[q].Count)).ToArray();
    }

    public IEnumerable<Tensor> HeldOut()
    {
        var rows = HeldOutRowsRead;
        for (int s = 0; s < rows.RowCount; s += Chunk) yield return rows.Rows(s, Math.Min(Chunk, rows.RowCount - s));
    }

    /// <summary>What must match for a replay to reproduce the stream: the sampling settings and the planned rows (which size the buffer).</summary>
    JsonObject Identity()
    {
        var identity = (JsonObject)_source.DeepClone();
        identity["shuffle_buffer_rows"] = Rows.ShuffleRows;
        identity["holdout_rows"] = P.HoldoutRows;
        return identity;
    }

    public void SaveState(JsonObject checkpoint)
    {
        checkpoint["data"] = CheckpointData.Stream;
        checkpoint["stream"] = Identity();
        checkpoint["stream_rows"] = Rows.RowsRead;
    }

    public void RestoreState(JsonObject checkpoint, string path, IProgressReporter progress, CancellationToken cancel)
    {
        if (CheckpointData.Kind(checkpoint, path) == CheckpointData.Store)
            throw new UserError($"{path}: the checkpoint was trained on a stored activation store; resume with --acts instead of --model");
        string now = Identity().ToJsonString(), then = checkpoint["stream"]?.ToJsonString() ?? "";
        if (now != then)
            throw new UserError($"{path}: the checkpoint streamed with other settings ({then}); resume with the same --model, --data, --split, --hook, --context, --per-context, --shuffle-mb, --holdout and --seed");
        long rows = checkpoint.GetLong(path, "stream_rows", P.HoldoutRows);
        long skip = rows - Rows.RowsRead;
        using var task = progress.Start($"replaying {skip:N0} streamed rows to the checkpoint", skip, "tok");
        Rows.Skip(skip, n => { task.Advance(n); task.SetStatus(StreamRate()); }, cancel);
    }

    string StreamRate() => _sourceRate?.Invoke() ?? $"{Compact(Rows.RowsRead)} rows read";

    static string Compact(double v) => v >= 1e6 ? (v / 1e6).ToString("F2", CultureInfo.InvariantCulture) + "M"
        : v >= 1e4 ? (v / 1e3).ToString("F1", CultureInfo.InvariantCulture) + "k" : v.ToString("F0", CultureInfo.InvariantCulture);

    /// <summary>
    /// The model's forward rate and the share of the wall time spent producing rows (the rest is SAE steps),
    /// e.g. "model 167.1k tok/s, 12 % of the time".
    /// </summary>
    public string? Status() => _rows == null ? null : string.Create(CultureInfo.InvariantCulture,
        $"{StreamRate()}, {Rows.SourceTime.TotalSeconds / Math.Max(1e-9, _clock.Elapsed.TotalSeconds):P0} of the time");

    public void Dispose() => _rows?.Dispose();
}
