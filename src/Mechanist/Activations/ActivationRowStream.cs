using System.Diagnostics;

namespace Mechanist.Activations;

/// <summary>
/// A pull-based stream of activation rows, read a row count at a time, optionally mixed by a
/// <see cref="ShuffleBuffer"/>. Used by the SAE trainer's streaming mode (rows straight from a model, never
/// stored). The mixing rule is defined per row so that the stream does not depend on how reads are split:
/// before each row is emitted the buffer is topped up to capacity from the source (while it has rows), then
/// one held row is drawn uniformly at random and removed. So reading 10 rows and then 20 gives exactly the
/// rows of reading 30, and <see cref="Skip"/> (used to resume a training run by replay) is the same as
/// reading and discarding. With capacity 0 the rows come out in source order.
/// <para>
/// The source's chunks are pulled on the calling thread, one after another with whatever the caller does
/// between reads: a model forward pass and an SAE step never run at the same time, so each has every core
/// (<see cref="Numerics.Parallelism.Threads"/>) to itself and parallelism is never nested.
/// </para>
/// </summary>
public sealed class ActivationRowStream : IDisposable
{
    readonly IEnumerator<ReadOnlyMemory<float>> _chunks;
    readonly ShuffleBuffer? _buffer;
    readonly Stopwatch _sourceClock = new();
    ReadOnlyMemory<float> _rest;
    bool _ended;

    /// <param name="chunks">Rows in source order, each chunk a whole number of rows; a chunk need only stay valid until the next is requested.</param>
    /// <param name="shuffleRows">Shuffle-buffer capacity in rows; 0 = source order.</param>
    public ActivationRowStream(IEnumerable<ReadOnlyMemory<float>> chunks, int width, int shuffleRows, ulong seed)
    {
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width));
        if (shuffleRows < 0) throw new ArgumentOutOfRangeException(nameof(shuffleRows));
        Width = width;
        ShuffleRows = shuffleRows;
        _chunks = chunks.GetEnumerator();
        if (shuffleRows > 0) _buffer = new ShuffleBuffer(shuffleRows, width, seed);
    }

    public int Width { get; }
    /// <summary>Capacity of the shuffle buffer in rows (0: source order).</summary>
    public int ShuffleRows { get; }
    /// <summary>Rows emitted so far (read or skipped).</summary>
    public long RowsRead { get; private set; }
    /// <summary>Wall time spent inside the source producing chunks (for a harvest: the model's forward passes).</summary>
    public TimeSpan SourceTime => _sourceClock.Elapsed;

    /// <summary>Fills <paramref name="dst"/> with the next dst.Length / Width rows.</summary>
    /// <exception cref="InvalidOperationException">The source ran out (a harvest never does: it starts a new epoch).</exception>
    public void Read(Span<float> dst, CancellationToken cancel = default)
    {
        if (dst.Length % Width != 0) throw new ArgumentException($"{dst.Length} values is not a whole number of rows of {Width}");
        int rows = dst.Length / Width;
        for (int i = 0; i < rows; i++)
        {
            var row = dst.Slice(i * Width, Width);
            if (_buffer == null)
            {
                if (!Next(cancel)) throw Ended();
                _rest.Span[..Width].CopyTo(row);
                _rest = _rest[Width..];
            }
            else
            {
                while (_buffer.Free > 0 && Next(cancel))
                {
                    int added = _buffer.Add(_rest.Span[..(Math.Min(_buffer.Free, _rest.Length / Width) * Width)]);
                    _rest = _rest[(added * Width)..];
                }
                if (_buffer.Take(1, row) == 0) throw Ended();
            }
            RowsRead++;
        }
    }

    /// <summary>Discards the next <paramref name="rows"/> rows (exactly as reading them would); reports each piece skipped.</summary>
    public void Skip(long rows, Action<long>? skipped = null, CancellationToken cancel = default)
    {
        var scratch = new float[(int)Math.Min(Math.Max(rows, 1), 4096) * Width];
        for (long left = rows; left > 0;)
        {
            int n = (int)Math.Min(left, scratch.Length / Width);
            Read(scratch.AsSpan(0, n * Width), cancel);
            left -= n;
            skipped?.Invoke(n);
        }
    }

    /// <summary>Makes sure <see cref="_rest"/> holds at least one row; false when the source has ended.</summary>
    bool Next(CancellationToken cancel)
    {
        while (_rest.Length < Width)
        {
            if (_ended) return false;
            cancel.ThrowIfCancellationRequested();
            _sourceClock.Start();
            try
            {
                if (_chunks.MoveNext())
                {
                    _rest = _chunks.Current;
                    if (_rest.Length % Width != 0) throw new InvalidOperationException($"a chunk of {_rest.Length} values is not a whole number of rows of {Width}");
                }
                else _ended = true;
            }
            finally { _sourceClock.Stop(); }
        }
        return true;
    }

    InvalidOperationException Ended() => new($"the activation stream ended after {RowsRead:N0} rows");

    public void Dispose() => _chunks.Dispose();
}
