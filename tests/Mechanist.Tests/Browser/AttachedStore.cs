using Mechanist.Cli.Commands;
using Mechanist.Sae;

namespace Mechanist.Tests.Browser;

/// <summary>
/// A copy of the browser fixture's store with A/B matches and split families attached by the real commands, built
/// once and shared by the universality page tests (served, exported, in Chromium). A is matched against itself, so
/// every live feature's best match is itself (corr 1); the split run pairs the fixture's dictionary with one of half
/// the width made of its first half of latents, so each of those is its own family's parent.
/// </summary>
static class AttachedStore
{
    static readonly object Gate = new();
    static readonly Dictionary<string, string> Built = [];

    /// <summary>The attached store's folder (its parent also holds ab/, half/ and splits/).</summary>
    public static string For(BrowserFixture fx)
    {
        lock (Gate)
        {
            if (Built.TryGetValue(fx.StoreDir, out string? done)) return done;
            string store = Build(fx);
            Built[fx.StoreDir] = store;
            return store;
        }
    }

    internal static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (string d in Directory.GetDirectories(from)) Copy(d, Path.Combine(to, Path.GetFileName(d)));
    }

    static string Build(BrowserFixture fx)
    {
        string run = Path.GetDirectoryName(fx.StoreDir)!;
        string root = TestPaths.NewTempDir();
        string store = Path.Combine(root, "features");
        Copy(fx.StoreDir, store);

        var (code, _, err) = CliRun.Capture(UniversalCommands.Create(), "universal", "features", "--a", run, "--b", run,
            "--data", Path.Combine(run, "tokens"), "--tokens", "4000", "--features-a", store, "--features-b", store, "--out", Path.Combine(root, "ab"));
        if (code != 0) throw new InvalidOperationException(err);

        string saeDir = fx.Store.Source.Sae;
        var full = SaeLensFormat.Load(saeDir);
        var half = new SparseAutoencoder(full.Architecture, full.DIn, full.DSae / 2, Math.Min(full.K, full.DSae / 2)) { Metadata = full.Metadata };
        for (int i = 0; i < half.DSae; i++)
        {
            full.WEnc.Value.Row(i).CopyTo(half.WEnc.Value.Row(i));
            full.WDec.Value.Row(i).CopyTo(half.WDec.Value.Row(i));
            half.BEnc.Value[i] = full.BEnc.Value[i];
        }
        full.BDec.Value.Span.CopyTo(half.BDec.Value.Span);
        string halfDir = Path.Combine(root, "half");
        half.Save(halfDir);
        (code, _, err) = CliRun.Capture(FeaturesCommands.Create(), "features", "splits", "--sae", saeDir, halfDir,
            "--acts", Path.Combine(run, "acts"), "--features", store, "--out", Path.Combine(root, "splits"), "--min-density", "0");
        if (code != 0) throw new InvalidOperationException(err);
        return store;
    }
}
