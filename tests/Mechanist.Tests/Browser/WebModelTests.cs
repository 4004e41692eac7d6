using System.Text.Json;
using Mechanist.Autograd;
using Mechanist.Browser;
using Mechanist.Features;
using Mechanist.Models;
using Mechanist.Numerics;
using Mechanist.Numerics.Kernels;
using Mechanist.Sae;
using Mechanist.Text;
using Microsoft.Playwright;

namespace Mechanist.Tests.Browser;

/// <summary>
/// The model in the page (Assets/wm-*.js) against the C# code it mirrors, in Debian's Chromium: tokenizer ids, logits of
/// every model family, SAE features of every architecture, steering, greedy generation through the Generate page (static
/// and served), the static playground, 16-bit exports and the size limit.
/// </summary>
[Collection("browser")]
public class WebModelTests(BrowserFixture fx, ChromiumFixture chromium) : IClassFixture<ChromiumFixture>
{
    /// <summary>The fixture's model and SAE packed for the page, and a static site exported with them.</summary>
    (WebModelFiles Files, string Site) ExportSiteWithModel()
    {
        var files = WebModelFiles.Build(fx.Encoder.Model, fx.Encoder.Tokenizer, fx.Encoder.Sae, fx.Encoder.Hook);
        string site = Path.Combine(TestPaths.NewTempDir("mechanist-web"), "site");
        StaticExport.Write(fx.Store, site, IProgressReporter.None, default, files);
        return (files, site);
    }

    async Task<IPage> NewPage()
    {
        var context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        return page;
    }

    /// <summary>Writes a model-only site for <paramref name="files"/> and opens it from file://, waiting until the model is loaded.</summary>
    async Task<IPage> OpenModel(WebModelFiles files, string query = "")
    {
        string site = Path.Combine(TestPaths.NewTempDir("mechanist-web"), "site");
        StaticExport.WriteModelOnly(files, site);
        var page = await NewPage();
        await page.GotoAsync(new Uri(Path.Combine(site, "index.html")).AbsoluteUri + query);
        await page.WaitForFunctionAsync("() => document.getElementById('genapp').dataset.ready || document.getElementById('genapp').dataset.failed");
        Assert.Equal("1", await page.EvaluateAsync<string?>("() => document.getElementById('genapp').dataset.ready ?? null") ?? await page.InnerTextAsync("#modelstatus"));
        return page;
    }

    /// <summary>Random weights large enough that every part of the forward pass moves the logits (N(0, 0.2); gains 1 ± 0.2).</summary>
    static Transformer<float> RandomModel(TransformerConfig config, ulong seed, float std = 0.2f)
    {
        var model = Transformer<float>.Create(config, seed);
        var rng = new Rng(seed).Stream(7);
        foreach (var (name, w) in model.Weights)
        {
            var values = new float[w.Value.Length];
            rng.FillNormal(values, name.Contains("ln_") && name.EndsWith(".weight") ? 1f : 0f, std);
            values.CopyTo(w.Value.Span);
        }
        return model;
    }

    static SparseAutoencoder RandomSae(SaeArchitecture arch, int dIn, ulong seed, string hook)
    {
        var sae = SparseAutoencoder.Create(arch, dIn, 48, seed, k: 6);
        var rng = new Rng(seed).Stream(9);
        foreach (var p in sae.Parameters)
        {
            var values = new float[p.Value.Length];
            rng.FillNormal(values, 0, p.Name.Contains("threshold", StringComparison.OrdinalIgnoreCase) ? 0.5f : 0.3f);
            values.CopyTo(p.Value.Span);
        }
        sae.BatchThreshold = 0.4f;
        sae.Metadata = new SaeMetadata { Hook = HookPoint.Parse(hook) };
        return sae;
    }

    static float[] CsLogits(Transformer<float> model, int[] ids, Hooks<float>? hooks = null)
    {
        using var _ = Tape.NoGrad();
        return model.Forward(ids, 1, ids.Length, hooks).Value.Row(ids.Length - 1).ToArray();
    }

    static int[] Probe(int count, int vocab) => Enumerable.Range(0, count).Select(i => (int)((i * 131L + 7) % vocab)).ToArray();

    static void Near(float[] expected, double[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst <= tolerance, $"{what}: page and C# differ by up to {worst:G3} (tolerance {tolerance:G1})");
    }

    public static TheoryData<string> Families() => ["micro-relu-topk", "gelu-untied-scaled-jumprelu", "gelu_new-gated", "attn-only-relu", "micro-batchtopk"];

    /// <summary>Each model family with an SAE of each architecture at a different hook.</summary>
    static (Transformer<float> Model, SparseAutoencoder Sae, string Hook) Family(string name, int vocab)
    {
        var micro = TransformerConfig.Preset("micro", vocab);
        var two = new TransformerConfig { Layers = 2, DModel = 32, Heads = 4, DMlp = 48, Context = 24, Vocab = vocab };
        return name switch
        {
            "micro-relu-topk" => Pair(RandomModel(micro, 1), SaeArchitecture.TopK, "blocks.0.mlp.hook_post", micro.DMlp),
            "gelu-untied-scaled-jumprelu" => Pair(RandomModel(two with { Activation = Activation.Gelu, TiedEmbeddings = false, ScaleAttnByInverseLayerIdx = true }, 2),
                SaeArchitecture.JumpRelu, "blocks.1.hook_resid_pre", 32),
            "gelu_new-gated" => Pair(RandomModel(two with { Activation = Activation.GeluNew }, 3), SaeArchitecture.Gated, "blocks.0.hook_resid_post", 32),
            "attn-only-relu" => Pair(RandomModel(two with { AttentionOnly = true }, 4), SaeArchitecture.Relu, "blocks.1.hook_attn_out", 32),
            "micro-batchtopk" => Pair(RandomModel(micro, 5), SaeArchitecture.BatchTopK, "blocks.0.hook_mlp_out", micro.DModel),
            _ => throw new ArgumentException(name),
        };
        static (Transformer<float>, SparseAutoencoder, string) Pair(Transformer<float> m, SaeArchitecture arch, string hook, int width) =>
            (m, RandomSae(arch, width, (ulong)arch + 11, hook), hook);
    }

    [Theory]
    [MemberData(nameof(Families))]
    public async Task Page_logits_features_and_steering_equal_the_CSharp_model(string family)
    {
        var tokenizer = fx.Encoder.Tokenizer;
        var (model, sae, hook) = Family(family, tokenizer.VocabSize);
        var page = await OpenModel(WebModelFiles.Build(model, tokenizer, sae, HookPoint.Parse(hook)));
        int n = model.Config.Context - 3;
        var ids = Probe(n, model.Config.Vocab);

        // Logits of the last position (what `mechanist model logits` prints).
        var logits = await page.EvaluateAsync<double[]>("ids => window.mechanistWeb.model.logitsOf(ids)", ids);
        Near(CsLogits(model, ids), logits, 1e-4, $"{family} logits");

        // Every position's features at the hook.
        var pageTop = await page.EvaluateAsync<double[][][]>("ids => Mechanist.encodeFeatures(window.mechanistWeb, ids, 100)", ids);
        Tensor acts;
        using (Tape.NoGrad()) acts = model.RunToHook(ids, 1, n, HookPoint.Parse(hook)).Reshape(-1, sae.DIn);
        var codes = sae.Encode(acts);
        int active = 0;
        for (int t = 0; t < n; t++)
        {
            var expected = new Dictionary<int, float>();
            var idx = codes.RowIndices(t);
            var val = codes.RowValues(t);
            for (int i = 0; i < idx.Length; i++) if (val[i] > 0) expected[idx[i]] = val[i];
            Assert.Equal(expected.Keys.Order(), pageTop[t].Select(f => (int)f[0]).Order());
            foreach (var f in pageTop[t]) Assert.True(Math.Abs(expected[(int)f[0]] - f[1]) <= 1e-4, $"{family} position {t} feature {f[0]}: {f[1]} vs {expected[(int)f[0]]}");
            active += expected.Count;
        }
        Assert.True(active > n / 2, $"{family}: only {active} active features over {n} positions; the check would be empty");

        // Steering: α·W_dec[f] added at the hook, against the C# forward with the same vector added.
        int feature = 3;
        const float alpha = 2.5f;
        var delta = new Tensor(sae.DIn);
        for (int i = 0; i < sae.DIn; i++) delta[i] = alpha * sae.WDec.Value[feature * sae.DIn + i];
        var steered = await page.EvaluateAsync<double[]>(@"([ids, f, a]) => {
            const w = window.mechanistWeb, h = Mechanist.parseHook(w.sae.cfg.hook, w.model.config);
            w.model.hook = { layer: h.layer, kind: h.kind, fn: x => w.sae.addDirection(x, f, a) };
            try { return w.model.logitsOf(ids); } finally { w.model.hook = null; }
        }", new object[] { ids, feature, (double)alpha }); // Playwright passes a float as an object, a double as a number
        var expectedSteered = CsLogits(model, ids, new Hooks<float>().Add(HookPoint.Parse(hook), delta));
        Near(expectedSteered, steered, 1e-4, $"{family} steered logits");
        Assert.True(Enumerable.Range(0, steered.Length).Any(i => Math.Abs(steered[i] - logits[i]) > 1e-2), "steering changed the logits");

        // Greedy ids past the context (the cache rebuilt from the last context/2 tokens), against the C# sampler.
        int count = model.Config.Context + 10;
        var prompt = ids[..5];
        var expectedIds = Sampler.Generate(model, prompt, count, new SamplingSettings(Temperature: 0)).ToArray();
        var pageIds = await page.EvaluateAsync<int[]>(@"([prompt, n]) => {
            const g = new Mechanist.Generator(window.mechanistWeb, { prompt, temperature: 0 });
            return Array.from({ length: n }, () => g.next());
        }", new object[] { prompt, count });
        Assert.Equal(expectedIds, pageIds);
        // (Random attention-only weights settle into a loop of one or two tokens; the other families do not.)
        Assert.True(family == "attn-only-relu" || expectedIds.Distinct().Count() > 5, $"{family}: greedy text too repetitive to check the cache rebuild");
        await page.Context.CloseAsync();
    }

    /// <summary>Non-ASCII, whitespace runs, contractions, digits, emoji (surrogate pairs), a lone surrogate and special-token text.</summary>
    public static readonly string[] Texts =
    [
        "Hello world", "The cat sat on the mat.\n\nIt's 1950; they'll see 40 cars.", "  leading and trailing  \t\n ",
        "שלום עולם, בוקר טוב", "안녕하세요 감사합니다", "naïve café — déjà vu", "日本語のテキスト", "emoji 🙂👍🏽 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        "x = a[i] + b * 3.14e-5 // comment", "lone \ud800 surrogate", "<|endoftext|> is text here", "ＦＵＬＬ width １２３", "Ⅻ ½ ٣",
        "\u00a0non-breaking\u2009thin\u3000ideographic\u0085next", "'s 're 've 'm 'll 'd 'S", "",
        "aaaaaaaaa bbbbbbbb !!!!!!!! ======== --------", "        eight spaces\n\n\n\nfour newlines", "the the the thethethe 1111111 0000",
    ];

    [Fact]
    public async Task Page_tokenizer_gives_the_CSharp_ids_for_GPT2_and_a_trained_vocabulary()
    {
        var gpt2 = Mechanist.Tests.Text.Gpt2.Tokenizer;
        foreach (var tokenizer in new[] { fx.Encoder.Tokenizer, gpt2 })
        {
            var model = Transformer<float>.Create(TransformerConfig.Preset("micro", tokenizer.VocabSize) with { DModel = 8, Heads = 1, DMlp = 8 }, 1);
            var page = await OpenModel(WebModelFiles.Build(model, tokenizer, null, null));
            var ids = await page.EvaluateAsync<int[][]>("texts => texts.map(t => window.mechanistWeb.tokenizer.encode(t))", Texts);
            var decoded = await page.EvaluateAsync<string[]>("texts => texts.map(t => window.mechanistWeb.tokenizer.decode(window.mechanistWeb.tokenizer.encode(t)))", Texts);
            for (int i = 0; i < Texts.Length; i++)
            {
                Assert.Equal(tokenizer.Encode(Texts[i]), ids[i]);
                Assert.Equal(tokenizer.Decode(ids[i]), decoded[i]);
            }
            await page.Context.CloseAsync();
        }
    }

    /// <summary>The text `mechanist model generate --temperature 0` prints: the prompt, then the continuation up to its last whole character.</summary>
    static string CliGreedyText(Transformer<float> model, BpeTokenizer tokenizer, string prompt, int count)
    {
        var generated = new List<int>();
        string shown = "";
        foreach (int id in Sampler.Generate(model, tokenizer.Encode(prompt), count, new SamplingSettings(Temperature: 0)))
        {
            generated.Add(id);
            string text = tokenizer.Decode(generated.ToArray());
            if (!text.EndsWith('\uFFFD') && text.StartsWith(shown, StringComparison.Ordinal)) shown = text;
        }
        return prompt + shown;
    }

    [Fact]
    public async Task Generate_page_reproduces_greedy_generation_from_a_url_static_and_served()
    {
        var model = fx.Encoder.Model;
        const string prompt = "The dog ran to the";
        int count = model.Config.Context + 8; // past the context, so the cache is rebuilt as the C# sampler does
        string expected = CliGreedyText(model, fx.Encoder.Tokenizer, prompt, count);
        var (files, site) = ExportSiteWithModel();
        string query = $"?prompt={Uri.EscapeDataString(prompt)}&tokens={count}&temperature=0&seed=3";

        await using var server = await BrowserServer.StartAsync(fx.Store, fx.Encoder, "127.0.0.1", 0, default, files);
        foreach (string url in new[] { new Uri(Path.Combine(site, "generate.html")).AbsoluteUri + query, server.Address + "/generate" + query })
        {
            var page = await NewPage();
            var requests = new List<string>();
            page.Request += (_, r) => { lock (requests) requests.Add(r.Url); };
            await page.GotoAsync(url);
            await page.WaitForFunctionAsync("() => document.getElementById('generated').dataset.done === '1'");
            Assert.Equal(expected, await page.TextContentAsync("#generated"));
            Assert.Equal(count + fx.Encoder.Tokenizer.Encode(prompt).Length, await page.Locator("#plain .tok").CountAsync());
            Assert.True(await page.Locator("#steeredcol").IsHiddenAsync());
            string root = url.StartsWith("file:", StringComparison.Ordinal) ? "file://" : server.Address;
            lock (requests) Assert.All(requests, r => Assert.StartsWith(root, r));
            await ChromiumShot(page, url.StartsWith("file:", StringComparison.Ordinal) ? "generate-static" : "generate-served");
            await page.Context.CloseAsync();
        }
    }

    [Fact]
    public async Task Generate_page_steers_a_feature_beside_the_unsteered_text_and_colours_tokens()
    {
        string site = ExportSiteWithModel().Site;
        int feature = fx.Probe.Id;
        var page = await NewPage();
        await page.GotoAsync(new Uri(Path.Combine(site, "generate.html")).AbsoluteUri + $"?prompt=The%20cat&tokens=12&temperature=0&steer={feature}:40");
        await page.WaitForFunctionAsync("() => document.getElementById('steered').dataset.done === '1' && document.getElementById('generated').dataset.done === '1'");
        Assert.False(await page.Locator("#steeredcol").IsHiddenAsync());
        Assert.NotEqual(await page.TextContentAsync("#generated"), await page.TextContentAsync("#steered"));
        Assert.Equal(1, await page.Locator(".frow").CountAsync());
        Assert.Equal("40", await page.InputValueAsync(".frow .fval"));
        Assert.True(await page.Locator("#steeredtokens .tok[style*='255,128,0']").CountAsync() > 0, "the steered feature shades tokens");
        string title = await page.Locator("#plain .tok").Nth(1).GetAttributeAsync("title") ?? "";
        Assert.Matches(@": (f\d+ \d+\.\d\d|no feature fires)", title);
        Assert.Contains($"steer={feature}:40", page.Url);
        await ChromiumShot(page, "generate-steered");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Static_playground_computes_the_servers_features_in_the_page()
    {
        string site = ExportSiteWithModel().Site;
        const string text = "The dog ran to the park. In 1950 there were 40 cars. שלום עולם";
        var expected = fx.Encoder.Encode(text);
        var page = await NewPage();
        await page.GotoAsync(new Uri(Path.Combine(site, "playground.html")).AbsoluteUri);
        await page.FillAsync("#text", text);
        await page.ClickAsync("#play button");
        await page.WaitForFunctionAsync($"() => document.querySelectorAll('#tokens .tok').length === {expected.Count}");
        var titles = await page.Locator("#tokens .tok").EvaluateAllAsync<string[]>("els => els.map(e => e.title)");
        for (int i = 0; i < expected.Count; i++)
        {
            var top = expected[i].Top;
            var shown = System.Text.RegularExpressions.Regex.Match(titles[i], @": (?:feature (\d+) · (-?[\d.]+)|none)$");
            Assert.True(shown.Success, titles[i]);
            if (top.Count == 0) { Assert.False(shown.Groups[1].Success, titles[i]); continue; }
            Assert.Equal(top[0].Id.ToString(), shown.Groups[1].Value);
            Assert.True(Math.Abs(top[0].Activation - double.Parse(shown.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)) <= 0.006, titles[i]);
        }
        var all = await page.EvaluateAsync<double[][][]>(@"text => Mechanist.loadWebModel('model/').then(w => Mechanist.encodeFeatures(w, w.tokenizer.encode(text), 5))", text);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Top.Select(f => f.Id), all[i].Select(f => (int)f[0]));
            for (int j = 0; j < all[i].Length; j++) Assert.True(Math.Abs(expected[i].Top[j].Activation - all[i][j][1]) <= 1e-4);
        }
        await page.ClickAsync("header.top nav a:has-text('Generate')");
        await page.WaitForURLAsync("**/generate.html");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_16_bit_export_stays_within_1e_3_and_a_model_over_the_limit_gets_a_message()
    {
        var tokenizer = fx.Encoder.Tokenizer;
        var model = RandomModel(TransformerConfig.Preset("micro", tokenizer.VocabSize), 8, std: 0.05f);
        var ids = Probe(20, model.Config.Vocab);
        // bf16 keeps 8 bits of mantissa to f16's 11: only weights this small stay within 1e-3.
        foreach (var (precision, std) in new[] { (WebPrecision.F16, 0.05f), (WebPrecision.BF16, 0.01f) })
        {
            model = RandomModel(TransformerConfig.Preset("micro", tokenizer.VocabSize), 8, std);
            var files = WebModelFiles.Build(model, tokenizer, null, null, precision);
            Assert.True(files.ModelBytes * 2 <= WebModelFiles.Build(model, tokenizer, null, null).ModelBytes + 16);
            var page = await OpenModel(files);
            Near(CsLogits(model, ids), await page.EvaluateAsync<double[]>("ids => window.mechanistWeb.model.logitsOf(ids)", ids), 1e-3, $"{precision} logits");
            await page.Context.CloseAsync();
        }
        var big = RandomModel(TransformerConfig.Preset("micro", tokenizer.VocabSize), 8, std: 1f);
        var refused = Assert.Throws<UserError>(() => WebModelFiles.Build(big, tokenizer, null, null, WebPrecision.BF16));
        Assert.Contains("export it as f32", refused.Message);

        var tooLarge = WebModelFiles.Build(model, tokenizer, null, null, WebPrecision.F32, limitBytes: 10_000);
        Assert.True(tooLarge.TooLarge);
        Assert.Equal([WebModelFiles.ManifestFile], tooLarge.Files.Keys);
        string site = Path.Combine(TestPaths.NewTempDir("mechanist-web"), "site");
        StaticExport.WriteModelOnly(tooLarge, site);
        var p = await NewPage();
        await p.GotoAsync(new Uri(Path.Combine(site, "index.html")).AbsoluteUri + "?prompt=hi");
        await p.WaitForFunctionAsync("() => document.getElementById('genapp').dataset.failed === '1'");
        Assert.Contains("more than the 0.0 MB this page loads", await p.InnerTextAsync("#modelstatus"));
        await p.Context.CloseAsync();
    }

    static Task ChromiumShot(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ChromiumFixture.Screenshots, name + ".png"), FullPage = true });
}
