using Mechanist.Text;

namespace Mechanist.Tests.Text;

public class TokenizerFileTests
{
    /// <summary>A tiny valid GPT-2 style tokenizer: 256 bytes, merges "h e", "he l", <|endoftext|>.</summary>
    static (string Dir, string Vocab, string Merges) Write(string? vocab = null, string? merges = null)
    {
        string dir = TestPaths.NewTempDir();
        var entries = Enumerable.Range(0, 256).Select(b => $"{System.Text.Json.JsonSerializer.Serialize(ByteUnicode.ToChar((byte)b).ToString())}: {b}").ToList();
        entries.Add("\"he\": 256");
        entries.Add("\"hel\": 257");
        entries.Add("\"<|endoftext|>\": 258");
        File.WriteAllText(Path.Combine(dir, "vocab.json"), vocab ?? "{" + string.Join(", ", entries) + "}");
        if (merges != "(none)") File.WriteAllText(Path.Combine(dir, "merges.txt"), merges ?? "#version: 0.2\nh e\nhe l\n");
        return (dir, Path.Combine(dir, "vocab.json"), Path.Combine(dir, "merges.txt"));
    }

    [Fact]
    public void TinyTokenizerLoadsAndMerges()
    {
        var tokenizer = TokenizerFiles.Load(Write().Dir);
        Assert.Equal(259, tokenizer.VocabSize);
        Assert.Equal(258, tokenizer.EndOfText);
        Assert.Equal([257, 'l', 'o'], tokenizer.Encode("hello"));
    }

    [Fact]
    public void MissingMergesFileIsAClearError()
    {
        var e = Assert.ThrowsAny<UserError>(() => TokenizerFiles.Load(Write(merges: "(none)").Dir));
        Assert.Contains("merges.txt", e.Message);
    }

    [Fact]
    public void MergeOfUnknownTokenNamesTheLine()
    {
        var e = Assert.Throws<DataFormatError>(() => TokenizerFiles.Load(Write(merges: "#version: 0.2\nh e\nzz q\n").Dir));
        Assert.Contains("line 3", e.Message);
        Assert.Contains("\"zz\"", e.Message);
    }

    [Fact]
    public void MergeMakingAnUnknownTokenIsAnError()
    {
        var e = Assert.Throws<DataFormatError>(() => TokenizerFiles.Load(Write(merges: "#version: 0.2\nh e\nx y\n").Dir));
        Assert.Contains("\"xy\"", e.Message);
    }

    [Fact]
    public void MalformedMergeLineIsAnError()
    {
        var e = Assert.Throws<DataFormatError>(() => TokenizerFiles.Load(Write(merges: "#version: 0.2\nh e l\n").Dir));
        Assert.Contains("line 2", e.Message);
    }

    [Fact]
    public void BadJsonIsAnError()
    {
        var (dir, vocab, _) = Write(vocab: "{\"a\": 0, ");
        var e = Assert.Throws<DataFormatError>(() => TokenizerFiles.Load(dir));
        Assert.Equal(vocab, e.FilePath);
        Assert.Contains("JSON", e.Message);
    }

    [Fact]
    public void MergedTokenOutsideTheByteAlphabetIsAnError()
    {
        // "中" is not one of GPT-2's 256 byte characters (so on its own it is taken for a special token), but a merge
        // makes "中中", which must then be spelt in that alphabet.
        var (dir, vocab, _) = Write();
        File.WriteAllText(vocab, File.ReadAllText(vocab).TrimEnd('}') + ", \"中\": 259, \"中中\": 260}");
        File.WriteAllText(Path.Combine(dir, "merges.txt"), "#version: 0.2\nh e\nhe l\n中 中\n");
        var e = Assert.Throws<DataFormatError>(() => TokenizerFiles.Load(dir));
        Assert.Equal(vocab, e.FilePath);
        Assert.Contains("outside GPT-2's byte alphabet", e.Message);
    }

    [Fact]
    public void MissingByteTokenIsAnError()
    {
        var (dir, _, _) = Write(vocab: "{\"a\": 0, \"b\": 1}", merges: "#version: 0.2\n");
        var e = Assert.Throws<DataFormatError>(() => TokenizerFiles.Load(dir));
        Assert.Contains("every byte", e.Message);
    }

    [Fact]
    public void DuplicateIdsAndGapsAreErrors()
    {
        Assert.Throws<DataFormatError>(() => TokenizerFiles.Load(Write(vocab: "{\"a\": 0, \"b\": 0}", merges: "").Dir));
        Assert.Throws<DataFormatError>(() => TokenizerFiles.Load(Write(vocab: "{\"a\": 0, \"b\": 2}", merges: "").Dir));
    }

    [Fact]
    public void HuggingFaceJsonErrorsNameTheField()
    {
        string dir = TestPaths.NewTempDir();
        string path = Path.Combine(dir, "tokenizer.json");
        File.WriteAllText(path, "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}");
        Assert.Contains("model.type", Assert.Throws<DataFormatError>(() => TokenizerFiles.Load(path)).Message);
        File.WriteAllText(path, "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}}");
        Assert.Contains("model.merges", Assert.Throws<DataFormatError>(() => TokenizerFiles.Load(path)).Message);
        File.WriteAllText(path, "not json");
        Assert.Contains("invalid JSON", Assert.Throws<DataFormatError>(() => TokenizerFiles.Load(path)).Message);
    }

    [Fact]
    public void NoTokenizerInFolderIsAUserError()
    {
        Assert.ThrowsAny<UserError>(() => TokenizerFiles.Load(TestPaths.NewTempDir()));
        Assert.ThrowsAny<UserError>(() => TokenizerFiles.Load("/nonexistent/tokenizer"));
    }

    [Fact]
    public void Gpt2SavedAndReloadedInBothFormatsEncodesAlike()
    {
        var gpt2 = Gpt2.Tokenizer;
        string dir = TestPaths.NewTempDir();
        TokenizerFiles.Save(gpt2, dir);
        var fromVocab = TokenizerFiles.LoadGpt2(Path.Combine(dir, "vocab.json"), Path.Combine(dir, "merges.txt"));
        var fromHf = TokenizerFiles.LoadHuggingFace(Path.Combine(dir, "tokenizer.json"));
        Assert.Equal(gpt2.Hash, fromVocab.Hash);
        Assert.Equal(gpt2.Hash, fromHf.Hash);
        Assert.Equal(50256, fromHf.EndOfText);
        string text = Gpt2.Golden().First().Text;
        Assert.Equal(gpt2.Encode(text), fromHf.Encode(text));
        Assert.Empty(Directory.GetFiles(dir, "*.tmp-*"));
    }
}
