using System.CommandLine;
using Mechanist.Cli.Commands;
using Mechanist.Text;

namespace Mechanist.Tests.Text;

public class TextCommandTests
{
    static (int Code, string Error) Run(params string[] args)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(TokenizerCommands.Create());
        root.Subcommands.Add(CorpusCommands.Create());
        var error = new StringWriter();
        int code = Mechanist.Cli.CommandLine.Run(root, args, error);
        return (code, error.ToString());
    }

    [Fact]
    public void TrainThenPrepareThenRefuseToOverwrite()
    {
        string dir = TestPaths.NewTempDir();
        string corpus = Path.Combine(dir, "c.jsonl");
        File.WriteAllLines(corpus, Gpt2.Golden().Take(30).Select(g => System.Text.Json.JsonSerializer.Serialize(new { text = g.Text })));
        string tok = Path.Combine(dir, "tok"), store = Path.Combine(dir, "store");

        Assert.Equal(0, Run("tokenizer", "train", "--input", corpus, "--vocab-size", "400", "--out", tok).Code);
        var tokenizer = TokenizerFiles.Load(tok);
        Assert.Equal(400, tokenizer.VocabSize);
        var again = Run("tokenizer", "train", "--input", corpus, "--vocab-size", "400", "--out", tok);
        Assert.Equal(1, again.Code);
        Assert.Contains("--force", again.Error);

        Assert.Equal(0, Run("corpus", "prepare", "--input", corpus, "--tokenizer", tok, "--out", store, "--valid-fraction", "0.2").Code);
        using var train = TokenStore.Open(store);
        Assert.Equal(tokenizer.Hash, train.TokenizerHash);
        Assert.Equal(1, Run("corpus", "prepare", "--input", corpus, "--tokenizer", tok, "--out", store).Code);
    }

    [Fact]
    public void ABadRowStopsNamingItUnlessSkipBadRows()
    {
        string dir = TestPaths.NewTempDir();
        string corpus = Path.Combine(dir, "bad.jsonl");
        File.WriteAllText(corpus, "{\"text\": \"fine\"}\n{\"txt\": \"typo\"}\n");
        var (code, error) = Run("tokenizer", "train", "--input", corpus, "--vocab-size", "300", "--out", Path.Combine(dir, "tok"));
        Assert.Equal(1, code);
        Assert.Contains("bad.jsonl: line 2 (byte 17): missing field \"text\" (--text-field); the line has keys \"txt\"", error);
        Assert.False(Directory.Exists(Path.Combine(dir, "tok")));
        Assert.Equal(0, Run("tokenizer", "train", "--input", corpus, "--vocab-size", "300", "--out", Path.Combine(dir, "tok"), "--skip-bad-rows").Code);
    }

    [Fact]
    public void InputsWithoutTextAndAFileAsOutputAreUserErrorsThatWriteNothing()
    {
        string dir = TestPaths.NewTempDir();
        string empty = Path.Combine(dir, "empty.txt"), wrongField = Path.Combine(dir, "c.jsonl"), tok = Path.Combine(dir, "tok");
        File.WriteAllText(empty, "");
        File.WriteAllText(wrongField, "{\"body\": \"hello\"}\n");
        var (code, error) = Run("tokenizer", "train", "--input", empty, "--vocab-size", "300", "--out", tok);
        Assert.Equal(1, code);
        Assert.Contains("no text in", error);
        Assert.False(Directory.Exists(tok));

        var file = Run("tokenizer", "train", "--input", wrongField, "--field", "body", "--vocab-size", "300", "--out", empty);
        Assert.Equal(1, file.Code);
        Assert.Contains("is a file, not a folder", file.Error);

        Assert.Equal(0, Run("tokenizer", "train", "--input", wrongField, "--field", "body", "--vocab-size", "300", "--out", tok).Code);
        string store = Path.Combine(dir, "store");
        (code, error) = Run("corpus", "prepare", "--input", wrongField, "--tokenizer", tok, "--out", store, "--skip-bad-rows");
        Assert.Equal(1, code);
        Assert.Contains("missing field \"text\"", error); // the skipped lines say why there is no text
        Assert.False(Directory.Exists(store));
        Assert.Equal(3, Directory.GetFileSystemEntries(dir).Length); // empty.txt, c.jsonl, tok: no staging folder left behind
    }

    [Fact]
    public void MissingInputsAreUserErrors()
    {
        var (code, error) = Run("tokenizer", "train", "--input", "/nonexistent/corpus.jsonl", "--out", TestPaths.NewTempDir());
        Assert.Equal(1, code);
        Assert.Contains("not found", error);
        Assert.Equal(1, Run("corpus", "prepare", "--input", "/nonexistent", "--tokenizer", "/nonexistent", "--out", TestPaths.NewTempDir()).Code);
    }

    [Theory]
    [InlineData("[15496, 995]", new[] { 15496, 995 })]
    [InlineData("15496 995\n", new[] { 15496, 995 })]
    [InlineData("[1,2]\n[3]", new[] { 1, 2, 3 })]
    [InlineData("", new int[0])]
    public void IdsParseInEveryLayout(string text, int[] ids) => Assert.Equal(ids, TokenizerCommands.ParseIds(text));

    [Fact]
    public void BadIdsAreUserErrors()
    {
        Assert.ThrowsAny<UserError>(() => TokenizerCommands.ParseIds("1 two 3"));
        Assert.ThrowsAny<UserError>(() => TokenizerCommands.ParseIds("-5"));
        Assert.ThrowsAny<UserError>(() => Gpt2.Tokenizer.Decode([50257]));
    }
}
