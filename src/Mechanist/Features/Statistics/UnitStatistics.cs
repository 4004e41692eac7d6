using Mechanist.Numerics;

namespace Mechanist.Features.Statistics;

/// <summary>Copies tokens [start, start + ids.Length) of the analysed stream (window w starts at w·context) into ids.</summary>
public delegate void TokenReader(long start, Span<int> ids);

/// <summary>
/// Streaming per-unit activation statistics over windows of tokens, in one pass, with memory that does not
/// grow with the number of tokens. A unit fires where its activation is &gt; 0. Per unit it keeps:
/// <list type="bullet">
/// <item>count, sum and max of the firing activations (density, mean, max: exact);</item>
/// <item>the top-k contexts, at most one per window (the window's strongest token), each with the unit's
/// activations on the ±radius tokens around it, captured when it enters the top-k (exact);</item>
/// <item>a fine histogram of <see cref="FineBins"/> equal bins over [0, R), R a power of two above the running
/// max, halved in resolution (bins merged in pairs) whenever the max passes R. The final 50-bin histogram
/// and the interval fractions are read from it, each fine bin counted where its centre falls: fine bins are
/// at most max/256 wide, so a count can land one display bin off only within max/512 of an edge;</item>
/// <item>interval samples by bottom-k sampling: every firing gets a pseudo-random key (a hash of seed, unit and
/// token), and each of <see cref="Slots"/> activation slots (aligned with the fine bins, merged in pairs with
/// them) keeps its s smallest keys with their contexts. At the end, interval j = [j·max/n, (j+1)·max/n) takes
/// the s smallest keys among the kept firings whose value lies in it: a uniform random sample of the interval,
/// except that slots straddling an interval edge (slots are at most max/32 wide) contribute only the firings
/// they kept for the whole slot.</item>
/// </list>
/// Why one pass rather than two (pass 1 for the max, pass 2 for intervals and histogram): the model and the
/// SAE encoder dominate the cost, so a second pass would double the build time; the price is the edge
/// approximations above, none of which affects density, max, mean, the top-k or which interval a sample is shown in.
/// Batches are processed in parallel over units (each worker owns a unit range, no locks); results are
/// independent of the thread count.
/// </summary>
public sealed class UnitStatistics
{
    public const int FineBins = 512;
    public const int Slots = 64;
    const int SlotShift = 3; // FineBins / Slots = 8 fine bins per slot

    readonly UnitKind kind;
    readonly int units, context, topK, radius, span, samples;
    readonly StatisticsSettings settings;
    readonly ulong seed;

    readonly long[] count;
    readonly double[] sum;
    readonly float[] max;
    readonly float[] range, binsPerValue; // R and FineBins / R, per unit (0 until the unit first fires)
    readonly int[] fine;                  // [units, FineBins]

    readonly float[] topValue;            // [units, topK], unsorted, with the smallest tracked
    readonly long[] topToken;
    readonly Half[] topActs;              // [units, topK, span]
    readonly int[] topFill, topMinSlot;

    readonly ulong[] slotKey;             // [units, Slots, samples]
    readonly float[] slotValue;
    readonly long[] slotToken;
    readonly Half[] slotActs;             // [units, Slots, samples, span]
    readonly byte[] slotFill;             // [units, Slots]
    readonly ulong[] slotWorst;

    readonly float[] bestValue;           // the current window's strongest firing per unit
    readonly int[] bestPos;

    readonly (long Window, int Position)[] randomPicks;
    readonly float[]?[] randomActs;       // per pick: [span, units] once its window has been seen

    long windows;

    /// <param name="randomPicks">Contexts shared by all units (window index, position), captured as their windows go by.</param>
    public UnitStatistics(UnitKind kind, int units, int context, StatisticsSettings settings, IReadOnlyList<(long Window, int Position)>? randomPicks = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(units);
        ArgumentOutOfRangeException.ThrowIfLessThan(context, 1);
        settings.Validate();
        this.kind = kind; this.units = units; this.context = context; this.settings = settings;
        topK = settings.TopExamples; radius = settings.ContextRadius; span = settings.ContextLength;
        samples = Math.Min(settings.SamplesPerInterval, 255);
        seed = settings.Seed;
        count = new long[units]; sum = new double[units]; max = new float[units];
        range = new float[units]; binsPerValue = new float[units];
        fine = new int[(long)units * FineBins];
        topValue = new float[units * topK]; topToken = new long[units * topK]; topActs = new Half[(long)units * topK * span];
        topFill = new int[units]; topMinSlot = new int[units];
        long slotEntries = (long)units * Slots * samples;
        slotKey = new ulong[slotEntries]; slotValue = new float[slotEntries]; slotToken = new long[slotEntries];
        slotActs = new Half[slotEntries * span];
        slotFill = new byte[units * Slots]; slotWorst = new ulong[units * Slots];
        bestValue = new float[units]; bestPos = new int[units];
        this.randomPicks = [.. randomPicks ?? []];
        foreach (var (w, p) in this.randomPicks)
            if (w < 0 || (uint)p >= (uint)context) throw new ArgumentOutOfRangeException(nameof(randomPicks), $"random pick ({w}, {p}) outside the windows");
        randomActs = new float[]?[this.randomPicks.Length];
    }

    public UnitKind Kind => kind;
    public int Units => units;
    public int Context => context;
    /// <summary>Tokens seen so far (windows × context).</summary>
    public long Tokens => windows * context;

    /// <summary>Fewest units a worker takes (smaller unit ranges are not worth a thread); tests lower it.</summary>
    internal int MinUnitsPerWorker { get; set; } = 64;

    /// <summary>Most workers a batch is split over; default <see cref="Parallelism.Threads"/>.</summary>
    internal int? MaxWorkers { get; set; }

    /// <summary>
    /// Adds a batch of whole windows: rows [w·context, (w+1)·context) of <paramref name="batch"/> are window
    /// <paramref name="firstWindow"/> + w. Windows must arrive in order, each once.
    /// </summary>
    public void Add(long firstWindow, BatchActivations batch)
    {
        if (batch.Units != units) throw new ArgumentException($"batch has {batch.Units} units, the statistics {units}");
        if (batch.Rows % context != 0) throw new ArgumentException($"batch of {batch.Rows} rows is not whole windows of {context}");
        if (firstWindow != windows) throw new ArgumentException($"expected window {windows} next, got {firstWindow}");
        int batchWindows = batch.Rows / context;
        int workers = Math.Max(1, Math.Min(MaxWorkers ?? Parallelism.Threads, units / MinUnitsPerWorker));
        if (workers == 1) Worker(0, units, firstWindow, batchWindows, batch);
        else Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, w =>
            Worker((int)((long)units * w / workers), (int)((long)units * (w + 1) / workers), firstWindow, batchWindows, batch));
        CaptureRandom(firstWindow, batchWindows, batch);
        windows += batchWindows;
    }

    void Worker(int u0, int u1, long firstWindow, int batchWindows, BatchActivations batch)
    {
        if (u0 >= u1) return;
        var touched = new List<int>();
        for (int w = 0; w < batchWindows; w++)
        {
            long window = firstWindow + w;
            int rowStart = w * context;
            if (batch.IsSparse)
            {
                var codes = batch.SparseCodes;
                for (int pos = 0; pos < context; pos++)
                {
                    int row = rowStart + pos;
                    var idx = codes.RowIndices(row);
                    var val = codes.RowValues(row);
                    for (int e = 0; e < idx.Length; e++)
                    {
                        int u = idx[e];
                        if (u < u0 || u >= u1) continue;
                        float v = val[e];
                        if (!(v <= 0)) Observe(u, v, window, pos, rowStart, batch, touched); // NaN included: Observe refuses it
                    }
                }
            }
            else
            {
                var acts = batch.DenseTensor.Span;
                for (int pos = 0; pos < context; pos++)
                {
                    var row = acts.Slice((rowStart + pos) * units + u0, u1 - u0);
                    for (int j = 0; j < row.Length; j++)
                        if (!(row[j] <= 0)) Observe(u0 + j, row[j], window, pos, rowStart, batch, touched); // NaN included: Observe refuses it
                }
            }
            foreach (int u in touched)
            {
                OfferTop(u, bestValue[u], window, bestPos[u], rowStart, batch);
                bestValue[u] = 0;
            }
            touched.Clear();
        }
    }

    void Observe(int u, float v, long window, int pos, int rowStart, BatchActivations batch, List<int> touched)
    {
        if (!float.IsFinite(v)) throw new InvalidOperationException($"{kind.Name()} {u}: activation {v} at token {window * context + pos} is not finite");
        count[u]++;
        sum[u] += v;
        if (v > max[u]) max[u] = v;
        if (v >= range[u]) Grow(u, v);
        int bin = Math.Min(FineBins - 1, (int)(v * binsPerValue[u]));
        fine[(long)u * FineBins + bin]++;
        if (samples > 0)
        {
            int s = u * Slots + (bin >> SlotShift);
            long token = window * context + pos;
            ulong key = SampleKey(seed, u, token);
            if (slotFill[s] < samples || key < slotWorst[s]) InsertSample(u, s, key, v, token, pos, rowStart, batch);
        }
        if (v > bestValue[u])
        {
            if (bestValue[u] == 0) touched.Add(u);
            bestValue[u] = v;
            bestPos[u] = pos;
        }
    }

    /// <summary>The sampling key of a firing: a hash of (seed, unit, token), so samples do not depend on batch order or threads.</summary>
    internal static ulong SampleKey(ulong seed, int unit, long token) =>
        SplitMix64.Mix(SplitMix64.Mix(seed ^ 0x5851F42D4C957F2DUL) ^ SplitMix64.Mix((ulong)token * SplitMix64.Gamma + (ulong)unit));

    /// <summary>Doubles R until v &lt; R, merging fine bins and sample slots in pairs (the first firing just sets R).</summary>
    void Grow(int u, float v)
    {
        if (range[u] == 0)
        {
            range[u] = MathF.ScaleB(1f, MathF.ILogB(v) + 1);
            binsPerValue[u] = FineBins / range[u];
            return;
        }
        var bins = fine.AsSpan((int)((long)u * FineBins), FineBins);
        while (v >= range[u])
        {
            for (int i = 0; i < FineBins / 2; i++) bins[i] = bins[2 * i] + bins[2 * i + 1];
            bins[(FineBins / 2)..].Clear();
            if (samples > 0) MergeSlots(u);
            range[u] *= 2;
            binsPerValue[u] = FineBins / range[u];
        }
    }

    void MergeSlots(int u)
    {
        int n = 2 * samples;
        var keys = new ulong[n]; var values = new float[n]; var tokens = new long[n]; var acts = new Half[n * span];
        var order = new int[n];
        for (int c = 0; c < Slots / 2; c++)
        {
            int m = 0;
            for (int half = 0; half < 2; half++)
            {
                int s = u * Slots + 2 * c + half;
                for (int e = 0; e < slotFill[s]; e++, m++)
                {
                    long at = (long)s * samples + e;
                    keys[m] = slotKey[at]; values[m] = slotValue[at]; tokens[m] = slotToken[at];
                    slotActs.AsSpan((int)(at * span), span).CopyTo(acts.AsSpan(m * span, span));
                }
            }
            for (int i = 0; i < m; i++) order[i] = i;
            Array.Sort(keys, order, 0, m);
            int dst = u * Slots + c, keep = Math.Min(m, samples);
            for (int e = 0; e < keep; e++)
            {
                long at = (long)dst * samples + e;
                int from = order[e];
                slotKey[at] = keys[e]; slotValue[at] = values[from]; slotToken[at] = tokens[from];
                acts.AsSpan(from * span, span).CopyTo(slotActs.AsSpan((int)(at * span), span));
            }
            slotFill[dst] = (byte)keep;
            slotWorst[dst] = keep > 0 ? keys[keep - 1] : 0;
        }
        for (int c = Slots / 2; c < Slots; c++) slotFill[u * Slots + c] = 0;
    }

    void InsertSample(int u, int s, ulong key, float v, long token, int pos, int rowStart, BatchActivations batch)
    {
        long baseAt = (long)s * samples;
        int e;
        if (slotFill[s] < samples) e = slotFill[s]++;
        else
        {
            e = 0;
            for (int i = 1; i < samples; i++) if (slotKey[baseAt + i] > slotKey[baseAt + e]) e = i;
        }
        long at = baseAt + e;
        slotKey[at] = key; slotValue[at] = v; slotToken[at] = token;
        Capture(slotActs.AsSpan((int)(at * span), span), u, pos, rowStart, batch);
        ulong worst = 0;
        for (int i = 0; i < slotFill[s]; i++) worst = Math.Max(worst, slotKey[baseAt + i]);
        slotWorst[s] = worst;
    }

    void OfferTop(int u, float v, long window, int pos, int rowStart, BatchActivations batch)
    {
        if (topK == 0) return;
        int baseAt = u * topK, e;
        if (topFill[u] < topK) e = topFill[u]++;
        else if (v > topValue[baseAt + topMinSlot[u]]) e = topMinSlot[u];
        else return;
        topValue[baseAt + e] = v;
        topToken[baseAt + e] = window * context + pos;
        Capture(topActs.AsSpan((baseAt + e) * span, span), u, pos, rowStart, batch);
        int min = 0;
        for (int i = 1; i < topFill[u]; i++) if (topValue[baseAt + i] < topValue[baseAt + min]) min = i;
        topMinSlot[u] = min;
    }

    /// <summary>Window positions [lo, hi) shown around position pos.</summary>
    (int Lo, int Hi) Around(int pos) => (Math.Max(0, pos - radius), Math.Min(context, pos + radius + 1));

    void Capture(Span<Half> dst, int u, int pos, int rowStart, BatchActivations batch)
    {
        var (lo, hi) = Around(pos);
        dst.Clear();
        for (int p = lo; p < hi; p++) dst[p - lo] = (Half)batch.Get(rowStart + p, u);
    }

    void CaptureRandom(long firstWindow, int batchWindows, BatchActivations batch)
    {
        for (int i = 0; i < randomPicks.Length; i++)
        {
            var (w, pos) = randomPicks[i];
            if (w < firstWindow || w >= firstWindow + batchWindows) continue;
            int rowStart = (int)(w - firstWindow) * context;
            var (lo, hi) = Around(pos);
            var acts = new float[(hi - lo) * units];
            for (int p = lo; p < hi; p++)
            {
                var row = acts.AsSpan((p - lo) * units, units);
                if (!batch.IsSparse) batch.DenseTensor.Span.Slice((rowStart + p) * units, units).CopyTo(row);
                else
                {
                    var idx = batch.SparseCodes.RowIndices(rowStart + p);
                    var val = batch.SparseCodes.RowValues(rowStart + p);
                    for (int e = 0; e < idx.Length; e++) row[idx[e]] = val[e];
                }
            }
            randomActs[i] = acts;
        }
    }

    /// <summary>Firings of unit u so far.</summary>
    public long Count(int u) => count[u];

    /// <summary>
    /// The unit's record (no logit effects or neighbours: the builder adds those). Token ids are read back
    /// through <paramref name="readTokens"/> (token index = window·context + position). Thread-safe for distinct
    /// units once all batches are added.
    /// </summary>
    public FeatureRecord Record(int u, TokenReader readTokens)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)u, (uint)units, nameof(u));
        long tokens = Tokens;
        long n = count[u];
        if (n == 0)
            return new FeatureRecord { Kind = kind, Id = u, Density = 0, MaxActivation = 0, MeanActivation = 0 };
        float top = max[u];

        ActivationRecord Context(long token, ReadOnlySpan<Half> acts)
        {
            int pos = (int)(token % context);
            var (lo, hi) = Around(pos);
            var ids = new int[hi - lo];
            readTokens(token - pos + lo, ids);
            var values = new float[hi - lo];
            for (int i = 0; i < values.Length; i++) values[i] = (float)acts[i];
            return new ActivationRecord(ids, values);
        }

        // Top examples, strongest first (earlier token first among equals).
        int fill = topFill[u];
        var topOrder = Enumerable.Range(0, fill).OrderByDescending(e => topValue[u * topK + e]).ThenBy(e => topToken[u * topK + e]).ToArray();
        var topExamples = topOrder.Select(e => Context(topToken[u * topK + e], topActs.AsSpan((u * topK + e) * span, span))).ToArray();

        // Histogram and interval fractions from the fine bins (each counted where its centre falls).
        int bins = settings.HistogramBins, intervals = settings.Intervals;
        var histogram = new long[bins];
        var inInterval = new long[intervals];
        float fineWidth = range[u] / FineBins;
        for (int b = 0; b < FineBins; b++)
        {
            int c = fine[(long)u * FineBins + b];
            if (c == 0) continue;
            double centre = (b + 0.5) * fineWidth;
            histogram[Math.Min(bins - 1, (int)(centre / top * bins))] += c;
            inInterval[Math.Min(intervals - 1, (int)(centre / top * intervals))] += c;
        }

        // Interval samples: the smallest keys among kept firings whose value lies in the interval.
        var candidates = new List<(ulong Key, float Value, long Token, long At)>[intervals];
        for (int j = 0; j < intervals; j++) candidates[j] = [];
        for (int c = 0; c < Slots; c++)
        {
            int s = u * Slots + c;
            for (int e = 0; e < slotFill[s]; e++)
            {
                long at = (long)s * samples + e;
                int j = IntervalOf(slotValue[at], top, intervals);
                candidates[j].Add((slotKey[at], slotValue[at], slotToken[at], at));
            }
        }
        var intervalSamples = new IntervalSamples[intervals];
        for (int j = 0; j < intervals; j++)
        {
            var chosen = candidates[j].OrderBy(x => x.Key).Take(samples).OrderByDescending(x => x.Value).ThenBy(x => x.Token)
                .Select(x => Context(x.Token, slotActs.AsSpan((int)(x.At * span), span))).ToArray();
            intervalSamples[j] = new IntervalSamples(top * j / intervals, top * (j + 1) / intervals, (float)inInterval[j] / n, chosen);
        }

        var random = new ActivationRecord[randomPicks.Length];
        int kept = 0;
        for (int i = 0; i < randomPicks.Length; i++)
        {
            if (randomActs[i] is not float[] acts) continue; // its window was past the analysed tokens
            var (w, pos) = randomPicks[i];
            var (lo, hi) = Around(pos);
            var ids = new int[hi - lo];
            readTokens(w * context + lo, ids);
            var values = new float[hi - lo];
            for (int p = 0; p < values.Length; p++) values[p] = acts[p * units + u];
            random[kept++] = new ActivationRecord(ids, values);
        }

        return new FeatureRecord
        {
            Kind = kind, Id = u,
            Density = tokens == 0 ? 0 : (float)Math.Min(1.0, (double)n / tokens),
            MaxActivation = top,
            MeanActivation = (float)(sum[u] / n),
            ActivationHistogram = new Histogram(0, top, histogram),
            TopExamples = topExamples,
            Intervals = intervalSamples,
            RandomExamples = random[..kept],
        };
    }

    /// <summary>Interval j holds [j·max/n, (j+1)·max/n); the last one also holds max itself.</summary>
    public static int IntervalOf(float value, float max, int intervals) =>
        Math.Clamp((int)((double)value / max * intervals), 0, intervals - 1);
}
