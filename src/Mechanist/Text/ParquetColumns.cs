using Parquet;
using Parquet.Schema;

namespace Mechanist.Text;

/// <summary>
/// Reads the text column (and a source column, if any) of a Parquet file one row group at a time, so memory
/// holds one row group's strings, never the file. Columns are found by dotted path (<c>meta.source</c> is the
/// field <c>source</c> of the struct <c>meta</c>). Errors name the file and the column.
/// </summary>
sealed class ParquetColumns : IDisposable
{
    readonly string _path;
    readonly ParquetReader _reader;
    readonly DataField _text;
    readonly DataField? _source;

    /// <param name="sourceFields">Columns tried in order for the source label; with <paramref name="sourceRequired"/>
    /// the first must exist.</param>
    public ParquetColumns(string path, Stream stream, string textField, IReadOnlyList<string> sourceFields, bool sourceRequired)
    {
        _path = path;
        try { _reader = ParquetReader.CreateAsync(stream, leaveStreamOpen: true).GetAwaiter().GetResult(); }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            throw new DataFormatError(path, "footer", $"not a readable Parquet file ({e.Message})", e);
        }
        var fields = _reader.Schema.GetDataFields();
        _text = Find(fields, textField) ?? throw Missing(fields, textField, "--text-field");
        CheckString(_text, textField);
        foreach (string name in sourceFields)
        {
            _source = Find(fields, name);
            if (_source != null) { CheckString(_source, name); break; }
            if (sourceRequired) throw Missing(fields, name, "--source-field");
        }
    }

    public int RowGroups => _reader.RowGroupCount;
    public bool HasSource => _source != null;

    /// <summary>The text and source values of row group <paramref name="group"/> (nulls where the file has none).</summary>
    public (string?[] Texts, string?[]? Sources) ReadRowGroup(int group, CancellationToken cancel)
    {
        try
        {
            using var rows = _reader.OpenRowGroupReader(group);
            var texts = new string?[checked((int)rows.RowCount)];
            rows.ReadAsync(_text, texts.AsMemory(), null, cancel).AsTask().GetAwaiter().GetResult();
            string?[]? sources = null;
            if (_source != null)
            {
                sources = new string?[texts.Length];
                rows.ReadAsync(_source, sources.AsMemory(), null, cancel).AsTask().GetAwaiter().GetResult();
            }
            return (texts, sources);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or InvalidOperationException or ArgumentException or IndexOutOfRangeException)
        {
            throw new DataFormatError(_path, $"row group {group}", $"cannot be read ({e.Message}); the file is damaged or truncated", e);
        }
    }

    static DataField? Find(DataField[] fields, string dotted) =>
        fields.FirstOrDefault(f => string.Join('.', f.Path.ToList()) == dotted);

    DataFormatError Missing(DataField[] fields, string name, string option) =>
        new(_path, $"column \"{name}\"", $"not in this file ({option}); its columns are {string.Join(", ", fields.Select(f => string.Join('.', f.Path.ToList())))}");

    void CheckString(DataField field, string name)
    {
        if (field.IsArray) throw new DataFormatError(_path, $"column \"{name}\"", "is a list, not one string per row");
        if (field.ClrType != typeof(string) && field.ClrType != typeof(ReadOnlyMemory<char>))
            throw new DataFormatError(_path, $"column \"{name}\"", $"holds {field.ClrType.Name}, not strings");
    }

    public void Dispose() => _reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
}
