using System.Text.Json.Nodes;

namespace Mechanist.Universality;

/// <summary>
/// Universal against other neurons, as the paper reports them (METHODS.md §5.4–5.6): medians of activation
/// frequency, kurtosis and input bias, and the counts of families and roles in each group.
/// </summary>
public static class UniversalComparison
{
    public static JsonObject Summarise(UniversalTable table, NeuronReport model0)
    {
        var universal = Enumerable.Range(0, table.IsUniversal.Length).Where(i => table.IsUniversal[i]).ToList();
        var others = Enumerable.Range(0, table.IsUniversal.Length).Where(i => !table.IsUniversal[i]).ToList();
        JsonObject Group(List<int> units)
        {
            double? Median(string column)
            {
                var v = units.Select(u => model0.Statistics[column][u]).Where(x => !double.IsNaN(x)).Order().ToArray();
                return v.Length == 0 ? null : v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
            }
            var families = new JsonObject();
            foreach (var g in units.GroupBy(u => model0.Families[u].Family).OrderByDescending(g => g.Count()))
                families[g.Key.Length == 0 ? "none" : g.Key] = g.Count();
            var roles = new JsonObject();
            foreach (var g in units.GroupBy(u => model0.Statistics.Role(u)).OrderByDescending(g => g.Count()))
                roles[g.Key.Length == 0 ? "none" : g.Key] = g.Count();
            return new JsonObject
            {
                ["count"] = units.Count,
                ["median_activation_frequency"] = Median("sparsity"),
                ["median_kurtosis"] = Median("kurt"),
                ["median_input_bias"] = Median("input_bias"),
                ["median_l2_penalty"] = Median("l2_penalty"),
                ["median_vocab_kurt"] = Median("vocab_kurt"),
                ["families"] = families,
                ["roles"] = roles,
            };
        }
        return new JsonObject { ["universal"] = Group(universal), ["other"] = Group(others) };
    }
}
