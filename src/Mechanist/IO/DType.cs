namespace Mechanist.IO;

/// <summary>Element types of tensors stored on disk (safetensors and NumPy). All are little-endian.</summary>
public enum DType
{
    F64, F32, F16, BF16,
    I64, I32, I16, I8,
    U64, U32, U16, U8,
    Bool,
    /// <summary>8-bit floats: kept as raw bytes only (no conversion to float32 here).</summary>
    F8E4M3, F8E5M2,
}

public static class DTypes
{
    public static int Size(this DType type) => type switch
    {
        DType.F64 or DType.I64 or DType.U64 => 8,
        DType.F32 or DType.I32 or DType.U32 => 4,
        DType.F16 or DType.BF16 or DType.I16 or DType.U16 => 2,
        DType.I8 or DType.U8 or DType.Bool or DType.F8E4M3 or DType.F8E5M2 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>The dtype string used in safetensors headers ("F32", "BF16", "BOOL", ...).</summary>
    public static string SafeTensorsName(this DType type) => type switch
    {
        DType.Bool => "BOOL",
        DType.F8E4M3 => "F8_E4M3",
        DType.F8E5M2 => "F8_E5M2",
        _ => type.ToString(),
    };

    public static bool TryParseSafeTensorsName(string name, out DType type)
    {
        foreach (DType t in Enum.GetValues<DType>())
            if (t.SafeTensorsName() == name) { type = t; return true; }
        type = default;
        return false;
    }

    /// <summary>Whether <see cref="ElementConversion.ToFloat"/> can convert this type to float32.</summary>
    public static bool ConvertsToFloat(this DType type) => type is not (DType.F8E4M3 or DType.F8E5M2);

    /// <summary>The dtype that stores a .NET element type T, or throws for types with no dtype.</summary>
    public static DType Of<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return DType.F32;
        if (typeof(T) == typeof(double)) return DType.F64;
        if (typeof(T) == typeof(Half)) return DType.F16;
        if (typeof(T) == typeof(long)) return DType.I64;
        if (typeof(T) == typeof(int)) return DType.I32;
        if (typeof(T) == typeof(short)) return DType.I16;
        if (typeof(T) == typeof(sbyte)) return DType.I8;
        if (typeof(T) == typeof(ulong)) return DType.U64;
        if (typeof(T) == typeof(uint)) return DType.U32;
        if (typeof(T) == typeof(ushort)) return DType.U16;
        if (typeof(T) == typeof(byte)) return DType.U8;
        if (typeof(T) == typeof(bool)) return DType.Bool;
        throw new ArgumentException($"no storage dtype for {typeof(T).Name}");
    }
}
