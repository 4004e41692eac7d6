using System.Globalization;

namespace Mechanist.Universality;

/// <summary>One model's neuron statistics (§5.4), families (§5.6) and weight-based roles (§5.5), as CSV columns.</summary>
public sealed record NeuronReport(NeuronStatistics Statistics, NeuronFamily[] Families)
{
    public static IReadOnlyList<string> Header { get; } = [.. NeuronStatistics.Columns, "family", "family_feature", "family_vr", "role"];

    public IEnumerable<string> Row(int unit)
    {
        foreach (string c in NeuronStatistics.Columns) yield return Number(Statistics[c][unit]);
        yield return Families[unit].Family;
        yield return Csv(Families[unit].Feature);
        yield return NeuronFamilies.Format(Families[unit].Vr);
        yield return Statistics.Role(unit);
    }

    static string Number(double v) => double.IsNaN(v) ? "nan" : v.ToString("0.######", CultureInfo.InvariantCulture);

    /// <summary>A token text as one CSV field (quoted, escapes for line breaks).</summary>
    static string Csv(string text) =>
        text.Length == 0 ? "" : "\"" + text.Replace("\"", "\"\"").Replace("\n", "\\n").Replace("\r", "\\r") + "\"";
}
