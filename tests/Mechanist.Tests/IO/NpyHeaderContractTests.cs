using System.Buffers.Binary;
using System.Text;
using Mechanist.IO;

namespace Mechanist.Tests.IO;

/// <summary>
/// The .npy header contract, checked in memory against hand-built bytes: which headers are accepted
/// (odd but valid spellings, every dtype), which are refused and with which field and words, and the
/// exact bytes the writer produces (version 1.0 up to the u16 header length limit, 2.0 beyond it).
/// </summary>
public class NpyHeaderContractTests
{
    const string Path = "/data/x.npy";

    /// <summary>Magic, version, header length (u16 for 1.0, u32 after), header bytes as given, data.</summary>
    static byte[] Build(byte[] header, byte[] data, int major = 1, int minor = 0)
    {
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, (byte)minor };
        if (major == 1) bytes.AddRange(BitConverter.GetBytes((ushort)header.Length));
        else bytes.AddRange(BitConverter.GetBytes((uint)header.Length));
        bytes.AddRange(header);
        bytes.AddRange(data);
        return [.. bytes];
    }

    static byte[] Build(string dict, byte[] data, int major = 1) =>
        Build((major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetBytes(dict), data, major);

    static string Dict(string descr = "<f4", string shape = "(2,)", string fortran = "False") =>
        $"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}";

    static NpyHeader Parse(byte[] bytes) =>
        NpyHeader.Parse(Path, (offset, count) => bytes.AsSpan((int)offset, count), bytes.Length);

    static DataFormatError Refuse(byte[] bytes, string field, params string[] words)
    {
        var e = Assert.Throws<DataFormatError>(() => Parse(bytes));
        Assert.Equal(field, e.Field);
        Assert.Equal(Path, e.FilePath);
        foreach (var w in words) Assert.Contains(w, e.Problem);
        return e;
    }

    // ---- framing: magic, version, header length ----

    [Fact]
    public void FramingRefusalsNameTheFieldAndSayWhy()
    {
        Refuse(new byte[9], "header", "9 bytes", "too short");
        Refuse(new byte[12], "magic", "not a .npy file", "\\x93NUMPY");
        Refuse(Build(Dict(), new byte[8], major: 9), "version", "unsupported .npy format version 9.0", "expected 1.0, 2.0 or 3.0");
        Refuse(Build(Encoding.Latin1.GetBytes(Dict()), new byte[8], major: 1, minor: 1), "version", "version 1.1");
        // Version 2.0 keeps its header length in bytes 8..12: a file of 11 bytes ends inside it.
        Refuse(Build(Dict(), new byte[8], major: 2)[..11], "header length", "ends inside the header length");
        Refuse(Build([], [], major: 2)[..8].Concat(BitConverter.GetBytes((1u << 20) + 1)).ToArray(), "header length", "1048577 bytes", "implausibly large");
        Refuse(Build(Dict(), new byte[8])[..40], "header", "runs past the end of the file (40 bytes)", "truncated?");
    }

    [Fact]
    public void ExactlyTenOrTwelveBytesAreLongEnoughToReachTheDict()
    {
        // A 1.0 file of exactly 10 bytes (empty dict text) and a 2.0 file of exactly 12 bytes get past the
        // framing checks and fail on the empty dict, not on the length.
        Refuse(Build([], [], major: 1), "header", "cannot parse the header dict", "unexpected end of header");
        Refuse(Build([], [], major: 2), "header", "cannot parse the header dict", "unexpected end of header");
    }

    [Fact]
    public void HeaderLengthAtTheLimitIsJudgedAgainstTheFileNotTheLimit()
    {
        byte[] bytes = Build([], [], major: 2)[..8].Concat(BitConverter.GetBytes(1u << 20)).Concat(new byte[100]).ToArray();
        Refuse(bytes, "header", "1048576 bytes runs past the end");
    }

    [Fact]
    public void HeaderEndingExactlyAtTheEndOfTheFileIsAnEmptyArray()
    {
        var h = Parse(Build(Dict(shape: "(0,)"), []));
        Assert.Equal([0L], h.Shape);
        Assert.Equal(0, h.ElementCount);
        Assert.Equal(0, h.DataBytes);
    }

    // ---- header text encoding: Latin-1 for 1.0/2.0, strict UTF-8 for 3.0 ----

    [Fact]
    public void Version3HeadersAreUtf8AndOlderOnesLatin1()
    {
        // The unknown descr is quoted in the error, which shows how the header text was decoded.
        Refuse(Build(Dict(descr: "<é"), new byte[8], major: 3), "descr", "unsupported dtype '<é'");
        Refuse(Build(Dict(descr: "<é"), new byte[8], major: 1), "descr", "unsupported dtype '<é'");
        Refuse(Build(Dict(descr: "<é"), new byte[8], major: 2), "descr", "unsupported dtype '<é'");
        // A lone 0xE9 byte is fine Latin-1 but not UTF-8.
        byte[] latin1 = Encoding.Latin1.GetBytes(Dict(shape: "(2,)", descr: "<f4") + "#");
        latin1[^1] = 0xE9;
        Refuse(Build(latin1, new byte[8], major: 3), "header", "not valid UTF-8");
        Refuse(Build(latin1, new byte[8], major: 1), "header", "cannot parse", "unexpected 'é'");
    }

    // ---- sizes ----

    [Fact]
    public void DataSizeMismatchesSayWhatWasNeededAndFound()
    {
        Refuse(Build(Dict(shape: "(3,)"), new byte[8]), "data", "shape (3) of F32 needs 12 bytes but the file holds 8: truncated?");
        var extra = Refuse(Build(Dict(shape: "(1, 2)"), new byte[12]), "data", "shape (1, 2) of F32 needs 8 bytes but the file holds 12");
        Assert.DoesNotContain("truncated", extra.Problem);
    }

    [Fact]
    public void OverflowingElementOrByteCountsAreRefused()
    {
        // 2^32 * 2^32 wraps to 0 elements and 2^61 * 8 bytes wraps to 0 bytes: both would "match" an empty data section.
        Refuse(Build(Dict(descr: "|u1", shape: "(4294967296, 4294967296)"), []), "shape", "element count overflows");
        Refuse(Build(Dict(descr: "<f8", shape: "(2305843009213693952,)"), []), "shape", "element count overflows");
    }

    // ---- the dict ----

    public static TheoryData<string, string, string[]> BadDicts => new()
    {
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x", "header", ["unexpected 'x' at character"] },
        { "['<f4']", "header", ["expected a dict literal"] },
        { "5", "header", ["expected a dict literal"] },
        { "{'fortran_order': False, 'shape': (2,)}", "descr", ["missing"] },
        { "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}", "descr", ["structured (record) dtypes are not supported"] },
        { "{'descr': '<f4', 'shape': (2,)}", "fortran_order", ["missing or not True/False"] },
        { "{'descr': '<f4', 'fortran_order': None, 'shape': (2,)}", "fortran_order", ["missing or not True/False"] },
        { "{'descr': '<f4', 'fortran_order': False}", "shape", ["missing or not a tuple"] },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': 2}", "shape", ["missing or not a tuple"] },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': ('a',)}", "shape", ["item 0 is not an integer"] },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (1, -2)}", "shape", ["item 1 is negative (-2)"] },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': abc}", "header", ["unexpected 'a' at character"] },
        { "{1: 2}", "header", ["dict keys must be strings"] },
        { "{'descr' '<f4'}", "header", ["expected ':' at character"] },
        { "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", "header", ["key 'descr' appears twice"] },
        { "{'descr': '<f4' 'x'}", "header", ["expected ',' or '}' at character"] },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}", "header", ["expected ',' or ')' at character"] },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': [2 3]}", "header", ["expected ',' or ']' at character"] },
        { "{'descr': '<f4", "header", ["unterminated string"] },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (-,)}", "header", ["bad integer at character"] },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", "header", ["bad integer at character"] },
        { "{", "header", ["unexpected end of header"] },
        { "{'descr':", "header", ["unexpected end of header"] },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (2,", "header", ["unexpected end of header"] },
    };

    [Theory]
    [MemberData(nameof(BadDicts))]
    public void MalformedDictsAreRefusedWithFieldAndReason(string dict, string field, string[] words)
    {
        var e = Refuse(Build(dict, new byte[8]), field, words);
        if (field == "header" && dict != "['<f4']" && dict != "5") Assert.StartsWith("cannot parse the header dict: ", e.Problem);
    }

    [Theory]
    [InlineData("{'descr' : '<f4' , 'fortran_order' : False , 'shape' : ( 2 , ) , }")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2, ), 'extra': None, 'list': [1, 'b', True]}")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (+2,)}")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': [2]}")]
    [InlineData("  {'shape': (2L,), 'descr': \"<f4\", 'fortran_order': False}  \n")]
    public void OddButValidSpellingsAreAccepted(string dict)
    {
        var h = Parse(Build(dict, new byte[8]));
        Assert.Equal(DType.F32, h.DType);
        Assert.Equal([2L], h.Shape);
        Assert.False(h.FortranOrder);
    }

    [Fact]
    public void ATrailingIntegerIsParsedUpToTheEndOfTheText()
    {
        // An integer that ends the header text must not read past it (the header is then no dict).
        Refuse(Build("5", []), "header", "expected a dict literal");
        Refuse(Build("-12", []), "header", "expected a dict literal");
    }

    // ---- descr ----

    [Theory]
    [InlineData("<f8", DType.F64)]
    [InlineData("<f4", DType.F32)]
    [InlineData("<f2", DType.F16)]
    [InlineData("<i8", DType.I64)]
    [InlineData("<i4", DType.I32)]
    [InlineData("<i2", DType.I16)]
    [InlineData("|i1", DType.I8)]
    [InlineData("<u8", DType.U64)]
    [InlineData("<u4", DType.U32)]
    [InlineData("<u2", DType.U16)]
    [InlineData("|u1", DType.U8)]
    [InlineData("|b1", DType.Bool)]
    [InlineData("=f4", DType.F32)]
    [InlineData(">u1", DType.U8)]
    [InlineData(">i1", DType.I8)]
    [InlineData(">b1", DType.Bool)]
    public void EachNumpyDescrParsesToItsDType(string descr, DType expected)
    {
        var h = Parse(Build(Dict(descr: descr, shape: "(3,)"), new byte[3 * expected.Size()]));
        Assert.Equal(expected, h.DType);
        Assert.Equal(3 * expected.Size(), h.DataBytes);
    }

    [Theory]
    [InlineData("<", "unknown dtype '<'")]
    [InlineData("|O", "object arrays (pickled Python objects) are not supported")]
    [InlineData(">f4", "big-endian dtype '>f4' is not supported; save it little-endian (arr.astype('<f4'))")]
    [InlineData(">i2", "big-endian dtype '>i2'")]
    [InlineData("xf4", "unknown byte order in dtype 'xf4'")]
    [InlineData("<c8", "unsupported dtype '<c8'")]
    [InlineData("<U1", "unsupported dtype '<U1'")]
    public void UnsupportedDescrsAreRefusedWithTheReason(string descr, string words) =>
        Refuse(Build(Dict(descr: descr, shape: "(1,)"), new byte[8]), "descr", words);

    // ---- the writer ----

    [Fact]
    public void FormatWritesTheGoldenVersion1Header()
    {
        // The format's layout for a float32 vector of 3: 10-byte prefix, 57-character dict, spaces and a newline up to 128 bytes.
        string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
        byte[] expected = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, 118, 0,
            .. Encoding.ASCII.GetBytes(dict + new string(' ', 128 - 10 - dict.Length - 1) + "\n")];
        Assert.Equal(expected, NpyHeader.Format(DType.F32, [3]));

        string dict2 = "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }";
        byte[] header2 = NpyHeader.Format(DType.I64, [2, 3]);
        Assert.Equal(128, header2.Length);
        Assert.Equal(dict2, Encoding.ASCII.GetString(header2, 10, dict2.Length));
        string dict3 = "{'descr': '|b1', 'fortran_order': False, 'shape': (), }";
        Assert.Equal(dict3, Encoding.ASCII.GetString(NpyHeader.Format(DType.Bool, []), 10, dict3.Length));
    }

    [Theory]
    [InlineData(DType.F64, "<f8")]
    [InlineData(DType.F32, "<f4")]
    [InlineData(DType.F16, "<f2")]
    [InlineData(DType.I64, "<i8")]
    [InlineData(DType.I32, "<i4")]
    [InlineData(DType.I16, "<i2")]
    [InlineData(DType.I8, "|i1")]
    [InlineData(DType.U64, "<u8")]
    [InlineData(DType.U32, "<u4")]
    [InlineData(DType.U16, "<u2")]
    [InlineData(DType.U8, "|u1")]
    [InlineData(DType.Bool, "|b1")]
    public void EachDTypeHasItsNumpyDescrAndRoundTrips(DType type, string descr)
    {
        Assert.Equal(descr, NpyHeader.Descr(type));
        byte[] header = NpyHeader.Format(type, [2]);
        var h = Parse([.. header, .. new byte[2 * type.Size()]]);
        Assert.Equal(type, h.DType);
        Assert.Equal(header.Length, h.DataOffset);
    }

    [Fact]
    public void DTypesNumpyLacksAreRefusedByName()
    {
        var e = Assert.Throws<ArgumentException>(() => NpyHeader.Descr(DType.BF16));
        Assert.Contains("NumPy has no dtype for BF16", e.Message);
    }

    /// <summary>A shape whose dict text is exactly <paramref name="length"/> characters: a leading 0 (no data), then 1s, the last widened to 10 or 100.</summary>
    static long[] ShapeWithDictLength(int length)
    {
        int fixedPart = Dict(shape: "()").Length; // "(" and ")" included
        int inner = length - fixedPart;          // "0, 1, 1, ..., 1" must be this long
        int ones = (inner - 1) / 3;               // each ", 1" adds 3
        int extra = inner - 1 - 3 * ones;         // 0, 1 or 2 more digits on the last dim
        var shape = new long[1 + ones];
        for (int i = 1; i < shape.Length; i++) shape[i] = 1;
        shape[^1] = extra switch { 0 => 1, 1 => 10, _ => 100 };
        Assert.Equal(length, Dict(shape: "(" + string.Join(", ", shape) + ")").Length);
        return shape;
    }

    [Theory]
    [InlineData(65519, 1, 65536)] // 10 + 65519 + 1 = 65530, padded to 65536: header length 65526 still fits a u16
    [InlineData(65525, 1, 65536)] // exactly 65536 with no padding
    [InlineData(65526, 2, 65600)] // one more character: 65600 - 10 > 65535, so version 2.0 with a 12-byte prefix
    [InlineData(65588, 2, 65664)] // 12 + 65588 + 1 = 65601, one past a multiple of 64
    public void HugeHeadersSwitchToVersion2AtTheU16Limit(int dictLength, int version, int headerBytes)
    {
        long[] shape = ShapeWithDictLength(dictLength);
        byte[] header = NpyHeader.Format(DType.F32, shape);
        Assert.Equal(headerBytes, header.Length);
        Assert.Equal(version, header[6]);
        Assert.Equal(0, header[7]);
        int prefix = version == 1 ? 10 : 12;
        long declared = version == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(8)) : BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8));
        Assert.Equal(headerBytes - prefix, declared);
        Assert.Equal((byte)'{', header[prefix]);
        Assert.All(header[(prefix + dictLength)..^1], b => Assert.Equal((byte)' ', b));
        Assert.Equal((byte)'\n', header[^1]);
        var h = Parse(header);
        Assert.Equal(shape, h.Shape);
        Assert.Equal(headerBytes, h.DataOffset);
    }
}
