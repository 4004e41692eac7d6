using System.Net;
using System.Text.RegularExpressions;
using Mechanist.Browser;
using Mechanist.Features;
using Mechanist.Tests.Text;
using Mechanist.Text;

namespace Mechanist.Tests.Browser;

/// <summary>
/// Pages show Hebrew and Korean that GPT-2 splits inside characters as the characters (on the token that
/// completes each, shaded per token) with the token alone, escapes and all, in the tooltip; never GPT-2's byte
/// stand-ins ("Ġ×"). Checked on the static export, which renders with the server's templates.
/// </summary>
public class SplitCharacterPageTests
{
    [Fact]
    public void The_static_export_shows_split_characters_joined_and_tokens_alone_with_escapes()
    {
        var gpt2 = Gpt2.Tokenizer;
        string text = TokenDisplayTests.Hebrew + " " + TokenDisplayTests.Korean;
        int[] ids = gpt2.Encode(text);
        var acts = ids.Select((_, i) => i % 3 == 1 ? 1f + i % 5 : 0f).ToArray(); // shade some tokens, leave others plain
        int peak = Array.IndexOf(acts, acts.Max());
        var window = new ActivationRecord(ids, acts, peak);

        string dir = TestPaths.NewTempDir();
        string storeDir = Path.Combine(dir, "store"), site = Path.Combine(dir, "site");
        var vocabulary = Enumerable.Range(0, gpt2.VocabSize).Select(gpt2.TokenText).ToArray();
        using (var writer = FeatureStoreWriter.Create(storeDir, new FeatureStoreSource { Model = "m", Sae = "s", Hook = "h", TokensAnalysed = ids.Length }, vocabulary, 1))
        {
            writer.Add(new FeatureRecord
            {
                Kind = UnitKind.Feature, Id = 0, Density = 0.3f, MaxActivation = acts.Max(), MeanActivation = 3,
                ActivationHistogram = new Histogram(0, 5, [1, 2, 3]), TopExamples = [window],
                Logits = new LogitEffects([new TokenValue(ids[3], 1f)], [new TokenValue(ids[4], -1f)], Histogram.Empty),
            });
            writer.Complete();
        }
        using var store = FeatureStore.Open(storeDir);
        StaticExport.Write(store, site, IProgressReporter.None);
        string page = File.ReadAllText(Path.Combine(site, "feature", "0.html"));
        string units = File.ReadAllText(Path.Combine(site, "data", "units-feature.js"));

        foreach (string html in new[] { page, units, File.ReadAllText(Path.Combine(site, "index.html")) })
        {
            Assert.DoesNotContain("Ġ", html);
            Assert.DoesNotContain("×", html);
        }
        // The window reads as the text: every character whole, each split one on the token that completes it.
        string context = Regex.Match(page, "<div class=\"ctx\">(.*?)</div>").Groups[1].Value;
        string read = WebUtility.HtmlDecode(Regex.Replace(context, "<[^>]+>", ""));
        Assert.Equal(text, read.Replace(TokenDisplay.Pending, ""));
        // Each shaded token: its own span, its activation, the token alone in the tooltip, the joined text inside.
        var alone = ids.Select(gpt2.TokenText).ToArray();
        var shown = TokenDisplay.InContext(alone);
        for (int i = 0; i < ids.Length; i++)
            if (acts[i] > 0)
                Assert.Contains($"title=\"{Html.E(Html.TokenLabel(alone[i]))}: {acts[i].ToString("G4", System.Globalization.CultureInfo.InvariantCulture)}\">{Html.E(Html.TokenText(shown[i]))}</span>", page);
        // ם is split [D7][9D] (tokens 3 and 4): shaded, token 4 shows ם and its tooltip the byte alone.
        Assert.Equal(@"\x9D", gpt2.TokenText(ids[4]));
        Assert.Matches($"<span class=\"tok a\\d+( max)?\" title=\"\\\\x9D: {acts[4]:G4}\">ם</span>", page);
        // The logit table shows the tokens alone: \xD7 (token 3) as an escape.
        Assert.Contains(@"<td class=""tokcell", page);
        Assert.Contains(@">\xD7</td>", page);
    }
}
