using Mechanist.Models;
using Mechanist.Sae;

namespace Mechanist.Universality;

/// <summary>
/// One side of an A/B comparison: a dictionary folder (SAELens layout) and, when known, the model it was trained
/// on. A run folder (what <c>mechanist demo</c> writes) holds <c>model/</c> and <c>sae/NAME/</c>; a bare SAE
/// folder has no model.
/// </summary>
public sealed record FeatureRun(string? Model, string Sae)
{
    public static FeatureRun Resolve(string path, string? saeName, string option)
    {
        if (!Directory.Exists(path)) throw new UserError($"{option} {path}: no such folder");
        if (File.Exists(Path.Combine(path, SaeLensFormat.ConfigFile))) return new FeatureRun(null, path);
        string saeRoot = Path.Combine(path, "sae");
        if (!Directory.Exists(saeRoot))
            throw new UserError($"{option} {path}: neither a dictionary ({SaeLensFormat.ConfigFile}) nor a run folder (model/ and sae/NAME/)");
        var saes = SaeLensFormat.DictionariesIn(saeRoot);
        string sae;
        if (saeName != null)
        {
            sae = Path.Combine(saeRoot, saeName);
            if (!saes.Contains(sae)) throw new UserError($"{option} {path}: no dictionary sae/{saeName} (it has: {Names(saes)})");
        }
        else if (saes.Length == 1) sae = saes[0];
        else if (saes.Length == 0) throw new UserError($"{option} {path}: sae/ holds no dictionary");
        else throw new UserError($"{option} {path}: sae/ holds {saes.Length} dictionaries ({Names(saes)}); say which with --sae NAME");
        string model = Path.Combine(path, "model");
        return new FeatureRun(File.Exists(Path.Combine(model, ModelFiles.ConfigFile)) ? model : null, sae);
    }

    static string Names(string[] dirs) => string.Join(", ", dirs.Select(Path.GetFileName));
}
