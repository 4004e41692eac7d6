using System.Buffers.Binary;

namespace Mechanist.Features;

/// <summary>
/// The binary encoding of one unit's page data (one blob in `{kind}.data`), little-endian:
/// magic u32, kind u8, id i32; activation histogram; top examples; intervals; random examples;
/// logit effects (top, bottom, histogram); nearest neighbours. Lists carry a u16 count, token windows a
/// u16 length and a u16 focus position (0xFFFF for none), token ids are u16 or i32 (manifest `tokenIdBytes`),
/// activations float16.
/// Histogram counts are LEB128 varints so 50 bins of small counts stay small.
/// </summary>
static class UnitBlob
{
    public const uint Magic = 0x544E5555; // "UUNT"

    public static byte[] Encode(FeatureRecord unit, int tokenIdBytes)
    {
        var w = new Writer(tokenIdBytes);
        w.U32(Magic);
        w.U8((byte)unit.Kind);
        w.I32(unit.Id);
        w.Histogram(unit.ActivationHistogram, "activation histogram");
        w.Records(unit.TopExamples, "top examples");
        w.Count(unit.Intervals.Length, "intervals");
        foreach (var interval in unit.Intervals)
        {
            w.F32(interval.Lower); w.F32(interval.Upper); w.F32(interval.Fraction);
            w.Records(interval.Examples, "interval examples");
        }
        w.Records(unit.RandomExamples, "random examples");
        w.TokenValues(unit.Logits.Top, "logit top");
        w.TokenValues(unit.Logits.Bottom, "logit bottom");
        w.Histogram(unit.Logits.Histogram, "logit histogram");
        w.Count(unit.Nearest.Length, "nearest");
        foreach (var n in unit.Nearest) { w.I32(n.Id); w.F32(n.Cosine); }
        return w.ToArray();
    }

    /// <summary>Decodes a blob; every read is bounds-checked and a problem names <paramref name="path"/> and the unit.</summary>
    public static FeatureRecord Decode(ReadOnlySpan<byte> blob, string path, UnitKind kind, int id, int tokenIdBytes,
        int vocabularySize, UnitSummary summary)
    {
        var r = new Reader(blob, path, $"{kind.Name()} {id}", tokenIdBytes, vocabularySize);
        if (r.U32("magic") != Magic) r.Fail("magic", "not a unit blob (index offset wrong or data corrupt)");
        if (r.U8("kind") != (byte)kind || r.I32("id") != id) r.Fail("id", "blob belongs to another unit");
        var histogram = r.Histogram("activation histogram");
        var top = r.Records("top examples");
        var intervals = new IntervalSamples[r.Count("intervals")];
        for (int i = 0; i < intervals.Length; i++)
            intervals[i] = new IntervalSamples(r.F32("interval lower"), r.F32("interval upper"), r.F32("interval fraction"),
                r.Records("interval examples"));
        var random = r.Records("random examples");
        var logitTop = r.TokenValues("logit top");
        var logitBottom = r.TokenValues("logit bottom");
        var logitHistogram = r.Histogram("logit histogram");
        var nearest = new Neighbour[r.Count("nearest")];
        for (int i = 0; i < nearest.Length; i++) nearest[i] = new Neighbour(r.I32("nearest id"), r.F32("nearest cosine"));
        if (!r.AtEnd) r.Fail("length", "bytes left over after the last field");
        return new FeatureRecord
        {
            Kind = kind, Id = id, Density = summary.Density, MaxActivation = summary.MaxActivation,
            MeanActivation = summary.MeanActivation, ActivationHistogram = histogram, TopExamples = top,
            Intervals = intervals, RandomExamples = random, Logits = new LogitEffects(logitTop, logitBottom, logitHistogram),
            Nearest = nearest, Explanation = summary.Explanation, Explanations = summary.Explanations,
        };
    }

    sealed class Writer(int tokenIdBytes)
    {
        readonly MemoryStream stream = new();
        readonly byte[] scratch = new byte[8];

        public byte[] ToArray() => stream.ToArray();
        public void U8(byte v) => stream.WriteByte(v);
        public void U16(ushort v) { BinaryPrimitives.WriteUInt16LittleEndian(scratch, v); stream.Write(scratch, 0, 2); }
        public void U32(uint v) { BinaryPrimitives.WriteUInt32LittleEndian(scratch, v); stream.Write(scratch, 0, 4); }
        public void I32(int v) { BinaryPrimitives.WriteInt32LittleEndian(scratch, v); stream.Write(scratch, 0, 4); }
        public void F32(float v) { BinaryPrimitives.WriteSingleLittleEndian(scratch, v); stream.Write(scratch, 0, 4); }
        public void F16(float v) { BinaryPrimitives.WriteHalfLittleEndian(scratch, (Half)v); stream.Write(scratch, 0, 2); }

        public void VarInt(ulong v)
        {
            while (v >= 0x80) { stream.WriteByte((byte)(v | 0x80)); v >>= 7; }
            stream.WriteByte((byte)v);
        }

        public void Count(int n, string field)
        {
            if (n > ushort.MaxValue) throw new ArgumentException($"{field}: at most {ushort.MaxValue} entries, got {n}");
            U16((ushort)n);
        }

        public void Token(int id)
        {
            if (tokenIdBytes == 2) U16((ushort)id); else I32(id);
        }

        public void Histogram(Histogram h, string field)
        {
            F32(h.Min); F32(h.Max);
            Count(h.Counts.Length, field);
            foreach (long c in h.Counts)
            {
                if (c < 0) throw new ArgumentException($"{field}: negative count {c}");
                VarInt((ulong)c);
            }
        }

        public void Records(ActivationRecord[] records, string field)
        {
            Count(records.Length, field);
            foreach (var rec in records)
            {
                if (rec.TokenIds.Length != rec.Activations.Length)
                    throw new ArgumentException($"{field}: {rec.TokenIds.Length} token ids but {rec.Activations.Length} activations");
                Count(rec.TokenIds.Length, field);
                if (rec.Position < -1 || rec.Position >= rec.TokenIds.Length)
                    throw new ArgumentException($"{field}: position {rec.Position} outside the window of {rec.TokenIds.Length}");
                U16(rec.Position < 0 ? ushort.MaxValue : (ushort)rec.Position);
                foreach (int t in rec.TokenIds) Token(t);
                foreach (float a in rec.Activations) F16(a);
            }
        }

        public void TokenValues(TokenValue[] values, string field)
        {
            Count(values.Length, field);
            foreach (var v in values) { Token(v.TokenId); F32(v.Value); }
        }
    }

    ref struct Reader(ReadOnlySpan<byte> data, string path, string unit, int tokenIdBytes, int vocabularySize)
    {
        readonly ReadOnlySpan<byte> data = data;
        int pos;

        public readonly bool AtEnd => pos == data.Length;

        public readonly void Fail(string field, string problem) => throw new DataFormatError(path, $"{unit}: {field}", problem);

        ReadOnlySpan<byte> Take(int n, string field)
        {
            if (data.Length - pos < n) Fail(field, $"blob ends early (needs {n} bytes at {pos} of {data.Length})");
            var s = data.Slice(pos, n);
            pos += n;
            return s;
        }

        public byte U8(string f) => Take(1, f)[0];
        public ushort U16(string f) => BinaryPrimitives.ReadUInt16LittleEndian(Take(2, f));
        public uint U32(string f) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, f));
        public int I32(string f) => BinaryPrimitives.ReadInt32LittleEndian(Take(4, f));
        public int Count(string f) => U16(f);

        public float F32(string f)
        {
            float v = BinaryPrimitives.ReadSingleLittleEndian(Take(4, f));
            if (!float.IsFinite(v)) Fail(f, $"not a finite number ({v})");
            return v;
        }

        float F16(string f)
        {
            float v = (float)BinaryPrimitives.ReadHalfLittleEndian(Take(2, f));
            if (!float.IsFinite(v)) Fail(f, $"not a finite number ({v})");
            return v;
        }

        int Token(string f)
        {
            int id = tokenIdBytes == 2 ? U16(f) : I32(f);
            if ((uint)id >= (uint)vocabularySize) Fail(f, $"token id {id} outside the vocabulary of {vocabularySize}");
            return id;
        }

        ulong VarInt(string f)
        {
            ulong v = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                byte b = U8(f);
                v |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return v;
            }
            Fail(f, "varint longer than 64 bits");
            return 0;
        }

        public Histogram Histogram(string f)
        {
            float min = F32(f + " min"), max = F32(f + " max");
            if (max < min) Fail(f, $"max {max} below min {min}");
            var counts = new long[Count(f + " bins")];
            for (int i = 0; i < counts.Length; i++)
            {
                ulong c = VarInt(f + " count");
                if (c > long.MaxValue) Fail(f, "count too large");
                counts[i] = (long)c;
            }
            return new Histogram(min, max, counts);
        }

        public ActivationRecord[] Records(string f)
        {
            var records = new ActivationRecord[Count(f)];
            for (int i = 0; i < records.Length; i++)
            {
                int n = Count(f + " length");
                int position = U16(f + " position");
                if (position == ushort.MaxValue) position = -1;
                else if (position >= n) Fail(f + " position", $"{position} outside the window of {n}");
                var ids = new int[n];
                var acts = new float[n];
                for (int j = 0; j < n; j++) ids[j] = Token(f + " token");
                for (int j = 0; j < n; j++) acts[j] = F16(f + " activation");
                records[i] = new ActivationRecord(ids, acts, position);
            }
            return records;
        }

        public TokenValue[] TokenValues(string f)
        {
            var values = new TokenValue[Count(f)];
            for (int i = 0; i < values.Length; i++) values[i] = new TokenValue(Token(f + " token"), F32(f + " value"));
            return values;
        }
    }
}
