using System.Text.Json.Nodes;
using Mechanist.IO;

namespace Mechanist.Tests.IO;

public class ManifestTests : IDisposable
{
    readonly string _dir = TestPaths.NewTempDir("manifest");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void RoundTripsAndDetectsChangedInputs()
    {
        string input = Path.Combine(_dir, "input.bin");
        File.WriteAllBytes(input, [1, 2, 3]);
        var m = new Manifest { Stage = "test stage", Settings = new JsonObject { ["lr"] = 0.001, ["name"] = "x" } };
        m.AddInput(input);
        m.Outputs.Add(new ManifestFile("out.bin"));
        m.Contents["rows"] = 12;
        string outDir = Path.Combine(_dir, "out");
        Directory.CreateDirectory(outDir);
        m.SaveTo(outDir);

        var back = Manifest.Load(outDir);
        Assert.Equal("test stage", back.Stage);
        Assert.Equal(Manifest.CurrentToolVersion, back.ToolVersion);
        Assert.Equal(m.Created, back.Created);
        Assert.Equal(0.001, back.Settings.GetDouble("s", "lr"));
        Assert.Equal(12, back.Contents.GetLong("c", "rows"));
        Assert.Equal(ContentHash.OfFile(input), back.Inputs.Single().Hash);
        Assert.Equal(3, back.Inputs.Single().Size);
        Assert.Equal("out.bin", back.Outputs.Single().Path);
        Assert.Empty(back.ChangedInputs());

        File.WriteAllBytes(input, [1, 2, 4]);
        Assert.Single(back.ChangedInputs());
        File.Delete(input);
        Assert.Single(back.ChangedInputs());
    }

    [Fact]
    public void MissingManifestMeansUnfinishedStage()
    {
        var e = Assert.Throws<UserError>(() => Manifest.Load(_dir));
        Assert.Contains("did not finish", e.Message);
    }

    [Theory]
    [InlineData("{", "manifest")]
    [InlineData("[]", "manifest")]
    [InlineData("{\"tool_version\":\"1\",\"created_utc\":\"2026-01-01T00:00:00Z\"}", "stage")]
    [InlineData("{\"stage\":\"s\",\"tool_version\":\"1\",\"created_utc\":\"yesterday\"}", "created_utc")]
    [InlineData("{\"stage\":\"s\",\"tool_version\":\"1\",\"created_utc\":\"2026-01-01T00:00:00Z\",\"inputs\":[{\"hash\":\"sha256:00\"}]}", "inputs[0].path")]
    [InlineData("{\"stage\":\"s\",\"tool_version\":\"1\",\"created_utc\":\"2026-01-01T00:00:00Z\",\"inputs\":[{\"path\":\"p\",\"hash\":\"md5:00\"}]}", "inputs[0].hash")]
    [InlineData("{\"stage\":\"s\",\"tool_version\":\"1\",\"created_utc\":\"2026-01-01T00:00:00Z\",\"settings\":[]}", "settings")]
    public void InvalidManifestsNameTheField(string json, string field)
    {
        string path = Path.Combine(_dir, Manifest.FileName);
        File.WriteAllText(path, json);
        var e = Assert.Throws<DataFormatError>(() => Manifest.Load(_dir));
        Assert.Equal(field, e.Field);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void ContentHashesOfFilesAndFolders()
    {
        string a = Path.Combine(_dir, "a.bin"), b = Path.Combine(_dir, "b.bin");
        var big = new byte[3 << 20];
        new Random(3).NextBytes(big);
        File.WriteAllBytes(a, big);
        File.WriteAllBytes(b, big);
        Assert.StartsWith("sha256:", ContentHash.OfFile(a));
        Assert.Equal(ContentHash.OfFile(a), ContentHash.OfFile(b));
        // SHA-256 of the empty file, a known constant.
        string empty = Path.Combine(_dir, "empty");
        File.WriteAllBytes(empty, []);
        Assert.Equal("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", ContentHash.OfFile(empty));

        string fast = ContentHash.OfFile(a, fast: true);
        Assert.StartsWith("fast-sha256:", fast);
        Assert.True(ContentHash.Matches(a, fast));
        big[^1] ^= 1; // a change in the last MiB is seen by both
        File.WriteAllBytes(a, big);
        File.SetLastWriteTimeUtc(a, File.GetLastWriteTimeUtc(b));
        Assert.NotEqual(ContentHash.OfFile(b), ContentHash.OfFile(a));
        Assert.NotEqual(ContentHash.OfFile(b, fast: true), ContentHash.OfFile(a, fast: true));

        string dir = Path.Combine(_dir, "d");
        Directory.CreateDirectory(Path.Combine(dir, "sub"));
        File.WriteAllText(Path.Combine(dir, "sub", "x.txt"), "x");
        File.WriteAllText(Path.Combine(dir, "manifest.json"), "{}");
        string h1 = ContentHash.OfDirectory(dir);
        Assert.Equal(h1, ContentHash.Of(dir));
        Assert.NotEqual(h1, ContentHash.OfDirectory(dir, exclude: "manifest.json"));
        File.Move(Path.Combine(dir, "sub", "x.txt"), Path.Combine(dir, "sub", "y.txt"));
        Assert.NotEqual(h1, ContentHash.OfDirectory(dir));
    }
}
