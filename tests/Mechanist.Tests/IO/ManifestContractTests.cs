using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using Mechanist.IO;

namespace Mechanist.Tests.IO;

/// <summary>
/// manifest.json beyond the round trip: what may be absent or null, each refusal with its field and
/// reason, the readable (indented) text, and the typed field readers stages use on settings and contents.
/// </summary>
public class ManifestContractTests : IDisposable
{
    readonly string _dir = TestPaths.NewTempDir("manifest-contract");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    const string Head = "\"stage\":\"s\",\"tool_version\":\"1\",\"created_utc\":\"2026-01-01T00:00:00Z\"";

    static Manifest Parse(string json) => Manifest.Parse("m.json", Encoding.UTF8.GetBytes(json));

    static void Refuse(string json, string field, string problem)
    {
        var e = Assert.Throws<DataFormatError>(() => Parse(json));
        Assert.Equal(("m.json", field), (e.FilePath, e.Field));
        Assert.Contains(problem, e.Problem);
    }

    [Fact]
    public void ToolVersionIsTheAssemblysInformationalVersion()
    {
        string expected = typeof(Manifest).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.Equal(expected, Manifest.CurrentToolVersion);
        Assert.Equal(expected, new Manifest { Stage = "s" }.ToolVersion);
    }

    [Fact]
    public void OptionalPartsMayBeAbsentOrNull()
    {
        var m = Parse("{" + Head + ",\"settings\":null,\"contents\":null,\"inputs\":null,\"outputs\":null}");
        Assert.Empty(m.Settings);
        Assert.Empty(m.Contents);
        Assert.Empty(m.Inputs);
        Assert.Empty(m.Outputs);
        var bare = Parse("{" + Head + "}");
        Assert.Equal(("s", "1"), (bare.Stage, bare.ToolVersion));
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), bare.Created);
        Assert.Empty(bare.Inputs);
    }

    [Fact]
    public void FileEntriesKeepHashAndSize()
    {
        var m = Parse("{" + Head + ",\"inputs\":[{\"path\":\"a\",\"hash\":\"fast-sha256:00\",\"size\":0},{\"path\":\"b\",\"hash\":\"sha256:11\",\"size\":5},{\"path\":\"c\"}]}");
        Assert.Equal([new ManifestFile("a", "fast-sha256:00", 0), new ManifestFile("b", "sha256:11", 5), new ManifestFile("c")], m.Inputs);
    }

    [Theory]
    [InlineData("{", "manifest", "not valid JSON: ")]
    [InlineData("[]", "manifest", "expected a JSON object")]
    [InlineData("{\"tool_version\":\"1\",\"created_utc\":\"2026-01-01T00:00:00Z\"}", "stage", "missing or not a string")]
    [InlineData("{\"stage\":5,\"tool_version\":\"1\",\"created_utc\":\"2026-01-01T00:00:00Z\"}", "stage", "missing or not a string")]
    [InlineData("{\"stage\":\"s\",\"tool_version\":\"1\",\"created_utc\":\"yesterday\"}", "created_utc", "not a date and time: \"yesterday\"")]
    [InlineData("{" + Head + ",\"inputs\":5}", "inputs", "expected an array")]
    [InlineData("{" + Head + ",\"outputs\":[5]}", "outputs[0]", "expected an object with a path")]
    [InlineData("{" + Head + ",\"inputs\":[{\"path\":\"p\",\"hash\":5}]}", "inputs[0].hash", "not a string")]
    [InlineData("{" + Head + ",\"inputs\":[{\"path\":\"p\",\"hash\":\"md5:00\"}]}", "inputs[0].hash", "unknown hash kind \"md5:00\" (expected sha256: or fast-sha256:)")]
    [InlineData("{" + Head + ",\"inputs\":[{\"path\":\"p\",\"size\":-1}]}", "inputs[0].size", "not a non-negative integer")]
    [InlineData("{" + Head + ",\"inputs\":[{\"path\":\"p\",\"size\":1.5}]}", "inputs[0].size", "not a non-negative integer")]
    [InlineData("{" + Head + ",\"inputs\":[{\"path\":\"p\",\"size\":\"3\"}]}", "inputs[0].size", "not a non-negative integer")]
    [InlineData("{" + Head + ",\"inputs\":[{\"path\":7}]}", "inputs[0].path", "missing or not a string")]
    [InlineData("{" + Head + ",\"contents\":[]}", "contents", "expected a JSON object")]
    public void InvalidManifestsNameTheFieldAndTheReason(string json, string field, string problem) => Refuse(json, field, problem);

    [Fact]
    public void InvalidUtf8IsRefused()
    {
        var e = Assert.Throws<DataFormatError>(() => Manifest.Parse("m.json", [(byte)'{', 0xFF, (byte)'}']));
        Assert.Equal(("manifest", "not valid UTF-8"), (e.Field, e.Problem));
    }

    [Fact]
    public void LoadTakesAFolderOrTheFileItself()
    {
        var m = new Manifest { Stage = "st", Created = new DateTimeOffset(2026, 2, 3, 4, 5, 6, TimeSpan.FromHours(2)) };
        m.SaveTo(_dir);
        Assert.True(Manifest.ExistsIn(_dir));
        Assert.Equal("st", Manifest.Load(Manifest.PathIn(_dir)).Stage);
        Assert.Equal(m.Created, Manifest.Load(_dir).Created);
        var missing = Assert.Throws<UserError>(() => Manifest.Load(Path.Combine(_dir, "other.json")));
        Assert.Equal(Path.Combine(_dir, "other.json") + ": file not found", missing.Message);
    }

    [Fact]
    public void JsonIsIndentedWithUtcTimeAndEndsWithANewline()
    {
        var m = new Manifest { Stage = "st", ToolVersion = "9", Created = new DateTimeOffset(2026, 2, 3, 4, 5, 6, TimeSpan.FromHours(2)) };
        m.Outputs.Add(new ManifestFile("o.bin", Size: 3));
        string json = m.ToJson();
        Assert.StartsWith("{\n  \"stage\": \"st\",\n  \"tool_version\": \"9\",\n  \"created_utc\": \"2026-02-03T02:05:06.0000000", json);
        Assert.Equal(m.Created, Parse(json).Created);
        Assert.EndsWith("}\n", json);
        Assert.False(json.EndsWith("\n\n"));
        Assert.Equal([new ManifestFile("o.bin", null, 3)], Parse(json).Outputs);
    }

    [Fact]
    public void FolderInputsHaveAHashButNoSize()
    {
        string sub = Path.Combine(_dir, "in");
        Directory.CreateDirectory(sub);
        File.WriteAllText(Path.Combine(sub, "x"), "x");
        var m = new Manifest { Stage = "s" };
        m.AddInput(sub);
        Assert.Null(m.Inputs.Single().Size);
        Assert.Equal(ContentHash.OfDirectory(sub), m.Inputs.Single().Hash);
        Assert.Empty(m.ChangedInputs());
    }

    // ---- JsonFields ----

    static readonly JsonObject Fields = JsonNode.Parse("{\"n\":5,\"neg\":-3,\"x\":1.5,\"s\":\"t\",\"b\":true,\"f\":false,\"a\":[1],\"o\":{},\"z\":null}")!.AsObject();

    static void RefuseField(Action read, string field, string problem)
    {
        var e = Assert.Throws<DataFormatError>(read);
        Assert.Equal(("p", field, problem), (e.FilePath, e.Field, e.Problem));
    }

    [Fact]
    public void TypedReadersReturnValuesOfTheRightKind()
    {
        Assert.Equal(5, Fields.GetLong("p", "n"));
        Assert.Equal(5, Fields.GetLong("p", "n", min: 5));
        Assert.Equal(-3, Fields.GetLong("p", "neg"));
        Assert.Equal(5, Fields.GetOptionalLong("p", "n"));
        Assert.Null(Fields.GetOptionalLong("p", "missing"));
        Assert.Null(Fields.GetOptionalLong("p", "z"));
        Assert.Equal(1.5, Fields.GetDouble("p", "x"));
        Assert.Equal(5.0, Fields.GetDouble("p", "n"));
        Assert.Equal("t", Fields.GetString("p", "s"));
        Assert.Equal("t", Fields.GetOptionalString("p", "s"));
        Assert.Null(Fields.GetOptionalString("p", "missing"));
        Assert.True(Fields.GetBool("p", "b"));
        Assert.False(Fields.GetBool("p", "f"));
        Assert.Single(Fields.GetArray("p", "a"));
        Assert.Empty(Fields.GetObject("p", "o"));
    }

    [Fact]
    public void TypedReadersNamePrefixAndFieldWhenRefusing()
    {
        RefuseField(() => Fields.GetLong("p", "x", prefix: "c."), "c.x", "missing or not an integer");
        RefuseField(() => Fields.GetLong("p", "s"), "s", "missing or not an integer");
        RefuseField(() => Fields.GetLong("p", "missing"), "missing", "missing or not an integer");
        RefuseField(() => Fields.GetLong("p", "n", min: 6, prefix: "c."), "c.n", "5 is less than 6");
        RefuseField(() => Fields.GetOptionalLong("p", "s", prefix: "c."), "c.s", "missing or not an integer");
        RefuseField(() => Fields.GetDouble("p", "s", prefix: "c."), "c.s", "missing or not a number");
        RefuseField(() => Fields.GetString("p", "n", prefix: "c."), "c.n", "missing or not a string");
        RefuseField(() => Fields.GetString("p", "missing"), "missing", "missing or not a string");
        RefuseField(() => Fields.GetOptionalString("p", "n"), "n", "missing or not a string");
        RefuseField(() => Fields.GetBool("p", "n", prefix: "c."), "c.n", "missing or not true/false");
        RefuseField(() => Fields.GetBool("p", "s"), "s", "missing or not true/false");
        RefuseField(() => Fields.GetArray("p", "o", prefix: "c."), "c.o", "missing or not an array");
        RefuseField(() => Fields.GetObject("p", "a", prefix: "c."), "c.a", "missing or not an object");
    }
}
