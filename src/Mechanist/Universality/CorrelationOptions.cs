namespace Mechanist.Universality;

/// <summary>Settings of a neuron-correlation run (`mechanist universal neurons`).</summary>
public sealed record CorrelationOptions
{
    /// <summary>Baselines to compute; the first is the one excess_corr subtracts. Empty: none.</summary>
    public IReadOnlyList<CorrelationBaseline> Baselines { get; init; } = [CorrelationBaseline.Rotation];

    /// <summary>Seed of the baselines' random matrices, permutations and noise.</summary>
    public ulong Seed { get; init; }

    /// <summary>Memory the run may use, in bytes (model weights, batches, sums); the row tiles are sized to fit.</summary>
    public long MemoryBytes { get; init; } = DefaultMemoryBytes();

    /// <summary>
    /// Rows (model-0 neurons) per tile, instead of as many as the budget allows: shards merge only with equal
    /// tiles, so a job array on machines of different sizes fixes it here. Must still fit the budget.
    /// </summary>
    public int? TileRows { get; init; }

    /// <summary>This process's share of the tokens (batches), or <see cref="ShardSpec.Whole"/>.</summary>
    public ShardSpec Shard { get; init; } = ShardSpec.Whole;

    /// <summary>A neuron is universal when excess_corr exceeds this (the paper's 0.5).</summary>
    public double Threshold { get; init; } = 0.5;

    /// <summary>Four fifths of the memory the machine reports available now (MemAvailable), or of the GC's limit.</summary>
    public static long DefaultMemoryBytes()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024 / 5 * 4;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 5 * 4;
    }

    /// <summary>"2GB", "512MiB", "1.5G", "800000000" → bytes.</summary>
    public static long ParseBytes(string text)
    {
        string t = text.Trim().Replace("_", "");
        int split = 0;
        while (split < t.Length && (char.IsDigit(t[split]) || t[split] == '.')) split++;
        string unit = t[split..].Trim().ToUpperInvariant().TrimEnd('B').TrimEnd('I');
        if (split == 0 || !double.TryParse(t[..split], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v))
            throw new UserError($"--memory {text}: expected a size such as 2GB, 512MB or 1500000000");
        double scale = unit switch
        {
            "" => 1, "K" => 1L << 10, "M" => 1L << 20, "G" => 1L << 30, "T" => 1L << 40,
            _ => throw new UserError($"--memory {text}: unknown unit (use K, M, G or T)"),
        };
        return (long)(v * scale);
    }
}

/// <summary>Shard <see cref="Index"/> of <see cref="Count"/>: batches [Index·B/Count, (Index+1)·B/Count) of B.</summary>
public readonly record struct ShardSpec(int Index, int Count)
{
    public static ShardSpec Whole => new(0, 1);

    public bool IsWhole => Count == 1;

    public (int First, int End) Batches(int batchCount) =>
        ((int)((long)batchCount * Index / Count), (int)((long)batchCount * (Index + 1) / Count));

    /// <summary>Parses "i/N" (0 ≤ i &lt; N).</summary>
    public static ShardSpec Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length == 2 && int.TryParse(parts[0], out int i) && int.TryParse(parts[1], out int n) && n >= 1 && i >= 0 && i < n)
            return new ShardSpec(i, n);
        throw new UserError($"--shard {text}: expected i/N with 0 ≤ i < N, e.g. 3/8 (Slurm: $SLURM_ARRAY_TASK_ID/N)");
    }

    public string FolderName => $"shard-{Index:D5}-of-{Count:D5}";

    public override string ToString() => $"{Index}/{Count}";
}
