using System.Globalization;

namespace Mechanist.Universality;

/// <summary>
/// One model's neuron statistics (§5.4), families (§5.6) and roles (§5.5) as CSV columns: the weight-based role,
/// joined by ';' with any role the interventions found (<see cref="RoleExperiments"/>, model 0 only).
/// </summary>
public sealed record NeuronReport(NeuronStatistics Statistics, NeuronFamily[] Families, RoleExperiments? Measured = null)
{
    public static IReadOnlyList<string> Header { get; } = [.. NeuronStatistics.Columns, "family", "family_feature", "family_vr", "role"];

    public IEnumerable<string> Row(int unit)
    {
        foreach (string c in NeuronStatistics.Columns) yield return Number(Statistics[c][unit]);
        yield return Families[unit].Family;
        yield return Csv(Families[unit].Feature);
        yield return NeuronFamilies.Format(Families[unit].Vr);
        yield return string.Join(';', new[] { Statistics.Role(unit), Measured?.RoleOf(unit) }.Where(r => !string.IsNullOrEmpty(r)));
    }

    static string Number(double v) => double.IsNaN(v) ? "nan" : v.ToString("0.######", CultureInfo.InvariantCulture);

    /// <summary>A token text as one CSV field (quoted, escapes for line breaks).</summary>
    static string Csv(string text) =>
        text.Length == 0 ? "" : "\"" + text.Replace("\"", "\"\"").Replace("\n", "\\n").Replace("\r", "\\r") + "\"";
}
