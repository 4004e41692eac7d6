using Mechanist.Browser;
using Mechanist.Models;
using Mechanist.Sae;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Mechanist.Tests.Browser;

/// <summary>
/// The in-page model's speed in headless Chromium (bench/README.md): toy-1l (8,192-token vocabulary) with a 4,096-latent
/// top-k SAE at blocks.0.mlp.hook_post, random weights (speed does not depend on them). Runs only when
/// MECHANIST_WEB_BENCH=1, since figures on a shared machine are noisy and a test must not assert a time:
/// <code>MECHANIST_WEB_BENCH=1 dotnet test tests/Mechanist.Tests -c Release --filter FullyQualifiedName~WebModelBench --logger "console;verbosity=detailed"</code>
/// </summary>
[Collection("browser")]
public class WebModelBench(BrowserFixture fx, ChromiumFixture chromium, ITestOutputHelper output) : IClassFixture<ChromiumFixture>
{
    [Fact]
    public async Task Toy1l_generation_speed_and_page_load_time()
    {
        if (Environment.GetEnvironmentVariable("MECHANIST_WEB_BENCH") != "1") return;
        var model = Transformer<float>.Create(TransformerConfig.Preset("toy-1l", 8192), 1);
        var sae = SparseAutoencoder.Create(SaeArchitecture.TopK, 512, 4096, 2, k: 32);
        var files = WebModelFiles.Build(model, fx.Encoder.Tokenizer, sae, HookPoint.MlpPost(0));
        string site = Path.Combine(TestPaths.NewTempDir("mechanist-web-bench"), "site");
        StaticExport.WriteModelOnly(files, site);
        string report = $"load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}; {files.Summary}";

        // Our own browser, marked, so its renderer's processor time can be told from other Chromiums on the machine.
        string marker = "--mechanist-bench=" + Guid.NewGuid().ToString("N");
        await using var browser = await chromium.Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium", Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync", marker],
        });
        for (int round = 0; round < 3; round++)
        {
            var context = await browser.NewContextAsync();
            var page = await context.NewPageAsync();
            page.SetDefaultTimeout(120_000);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await page.GotoAsync(new Uri(Path.Combine(site, "index.html")).AbsoluteUri);
            await page.WaitForFunctionAsync("() => document.getElementById('genapp').dataset.ready", null, new PageWaitForFunctionOptions { PollingInterval = 5 });
            double loadMs = clock.Elapsed.TotalMilliseconds;
            // 200 greedy tokens after a 16-token prompt, one stream, after a short warm-up (JIT); then the same with each
            // token's top-5 features computed at the hook, as the Generate page does.
            const string Run = @"top => {
                const w = window.mechanistWeb, prompt = Array.from({ length: 16 }, (_, i) => (i * 37 + 5) % 384);
                const run = (n, top) => { const g = new Mechanist.Generator(w, { prompt, temperature: 0, top });
                    const t0 = performance.now(); for (let i = 0; i < n; i++) g.next(); return performance.now() - t0; };
                run(20, top);
                return 200 / run(200, top) * 1000;
            }";
            var rates = new double[2];
            var perCpuSecond = new double[2];
            for (int top = 0; top < 2; top++)
            {
                double cpu0 = RendererCpuSeconds(marker);
                rates[top] = await page.EvaluateAsync<double>(Run, top * 5);
                perCpuSecond[top] = 220 / (RendererCpuSeconds(marker) - cpu0);
            }
            double decodeMs = await page.EvaluateAsync<double>("() => window.mechanistWeb.loadMs");
            report += $"\nround {round + 1}: page ready in {loadMs:0} ms (model files decoded in {decodeMs:0} ms); " +
                      $"model only {rates[0]:0} tokens/s ({perCpuSecond[0]:0} per renderer CPU-second), " +
                      $"with the SAE's top features {rates[1]:0} tokens/s ({perCpuSecond[1]:0} per CPU-second)";
            await context.CloseAsync();
        }
        output.WriteLine(report);
        Console.WriteLine(report);
        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "artifacts", "web-bench.txt"), report + "\n");
    }

    /// <summary>User + system seconds of the renderer processes descended from the browser launched with <paramref name="marker"/>.</summary>
    static double RendererCpuSeconds(string marker)
    {
        double ticks = 0;
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                if (!File.ReadAllText($"{dir}/cmdline").Contains("--type=renderer")) continue;
                bool ours = false;
                for (int p = Parent(pid); p > 1 && !ours; p = Parent(p)) ours = File.ReadAllText($"/proc/{p}/cmdline").Contains(marker);
                if (!ours) continue;
                var fields = Stat(pid);
                ticks += double.Parse(fields[11]) + double.Parse(fields[12]); // utime, stime (after the command name)
            }
            catch (IOException) { }
        }
        return ticks / 100.0; // USER_HZ
    }

    static string[] Stat(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    }

    static int Parent(int pid) => int.Parse(Stat(pid)[1]);
}
