using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Mechanist.Numerics;

/// <summary>
/// A dense row-major tensor of <typeparamref name="T"/> (float for everyday work; double for the
/// finite-difference checks). Storage is a pinned managed array whose first element sits on a 64-byte
/// boundary, so SIMD kernels can take raw pointers without pinning and the GC still owns the memory.
/// Views (<see cref="Reshape"/>, <see cref="Rows"/>) share storage with their parent.
/// </summary>
public sealed class Tensor<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    const int Alignment = 64;
    readonly T[] _buffer;
    readonly int _offset;

    public int[] Shape { get; }
    public int Length { get; }
    public int Rank => Shape.Length;

    public Tensor(params int[] shape) : this(shape, zeroed: true) { }

    Tensor(int[] shape, bool zeroed)
    {
        Shape = (int[])shape.Clone();
        Length = CheckedLength(Shape);
        int pad = Alignment / Unsafe.SizeOf<T>();
        _buffer = zeroed ? GC.AllocateArray<T>(Length + pad, pinned: true) : GC.AllocateUninitializedArray<T>(Length + pad, pinned: true);
        _offset = AlignedOffset(_buffer);
    }

    /// <summary>
    /// A tensor whose contents are undefined, for an op that writes every element before anything reads it: the
    /// runtime may skip zeroing the memory (a training step allocates hundreds of MB of such outputs).
    /// </summary>
    internal static Tensor<T> Uninitialized(params int[] shape) => new(shape, zeroed: false);

    Tensor(T[] buffer, int offset, int[] shape)
    {
        _buffer = buffer;
        _offset = offset;
        Shape = shape;
        Length = CheckedLength(shape);
    }

    public static Tensor<T> Zeros(params int[] shape) => new(shape);

    public static Tensor<T> FromArray(ReadOnlySpan<T> values, params int[] shape)
    {
        var t = new Tensor<T>(shape);
        if (values.Length != t.Length)
            throw new ArgumentException($"{values.Length} values do not fill shape [{string.Join(", ", shape)}]");
        values.CopyTo(t.Span);
        return t;
    }

    public Span<T> Span => _buffer.AsSpan(_offset, Length);

    /// <summary>Stable pointer to the first element (storage is pinned for the tensor's lifetime).</summary>
    public unsafe T* Pointer => (T*)Unsafe.AsPointer(ref _buffer[_offset]);

    public ref T this[int i] => ref _buffer[_offset + i];

    public int Dim(int axis) => Shape[axis < 0 ? Shape.Length + axis : axis];

    /// <summary>Size of the last axis: the row length when the tensor is read as a matrix.</summary>
    public int Columns => Shape.Length == 0 ? 1 : Shape[^1];

    /// <summary>Product of all axes but the last: the row count when the tensor is read as a matrix.</summary>
    public int RowCount => Shape.Length == 0 ? 1 : Length / Math.Max(1, Shape[^1]);

    public Span<T> Row(int i) => _buffer.AsSpan(_offset + i * Columns, Columns);

    public Tensor<T> Reshape(params int[] shape)
    {
        int inferred = Array.IndexOf(shape, -1);
        if (inferred >= 0)
        {
            shape = (int[])shape.Clone();
            int known = 1;
            for (int i = 0; i < shape.Length; i++) if (i != inferred) known *= shape[i];
            shape[inferred] = known == 0 ? 0 : Length / known;
        }
        if (CheckedLength(shape) != Length)
            throw new ArgumentException($"cannot reshape [{string.Join(", ", Shape)}] to [{string.Join(", ", shape)}]");
        return new Tensor<T>(_buffer, _offset, (int[])shape.Clone());
    }

    /// <summary>A view of rows [start, start+count) along the first axis.</summary>
    public Tensor<T> Rows(int start, int count)
    {
        if (Shape.Length == 0 || start < 0 || count < 0 || start + count > Shape[0])
            throw new ArgumentOutOfRangeException(nameof(start));
        int stride = Shape[0] == 0 ? 0 : Length / Shape[0];
        var shape = (int[])Shape.Clone();
        shape[0] = count;
        return new Tensor<T>(_buffer, _offset + start * stride, shape);
    }

    public Tensor<T> Clone()
    {
        var t = new Tensor<T>(Shape);
        Span.CopyTo(t.Span);
        return t;
    }

    public void Clear() => Span.Clear();

    public void Fill(T value) => Span.Fill(value);

    public T[] ToArray() => Span.ToArray();

    public bool SameShape(Tensor<T> other) => Shape.AsSpan().SequenceEqual(other.Shape);

    public string ShapeString => "[" + string.Join(", ", Shape) + "]";

    public override string ToString() => $"Tensor<{typeof(T).Name}>{ShapeString}";

    static int CheckedLength(int[] shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative dimension in shape [{string.Join(", ", shape)}]");
            n *= d;
            if (n > Array.MaxLength) throw new ArgumentException($"shape [{string.Join(", ", shape)}] is too large for one tensor");
        }
        return (int)n;
    }

    static unsafe int AlignedOffset(T[] buffer)
    {
        if (buffer.Length == 0) return 0;
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        int misalignment = (int)(address & (Alignment - 1));
        return misalignment == 0 ? 0 : (Alignment - misalignment) / Unsafe.SizeOf<T>();
    }
}
