namespace Mechanist.Circuits;

/// <summary>
/// The binary Python tasks of docs/METHODS.md §6.4, written from our own templates (the paper's generators are not
/// released). Each prompt ends just before the answer, after a letter, digit or space, so that the answer starts a
/// new pre-token and can be one token of a byte-level BPE.
/// </summary>
public static class PythonTasks
{
    public static IReadOnlyList<CircuitTask> All { get; } =
    [
        new("single_double_quote", "the quote that opened the string", [new("\")", "')"), new("\"", "'")], (rng, v, positive) =>
        {
            char q = positive ? '"' : '\'';
            return $"{v.Name(rng)} = {v.Function(rng)}({q}{v.Word(rng)} {v.Word(rng)}";
        }),
        new("bracket_counting", "how many list brackets are open", [new("]]", "]"), new("]", "\n", PromptEnd: "]")], (rng, v, positive) =>
        {
            string open = positive ? "[[" : "[";
            return $"{v.Name(rng)} = {open}{v.Operand(rng)}, {v.Operand(rng)}, {v.Name(rng)}";
        }),
        new("set_or_string", "the variable was made by set() or as a string", [new(".add", " +="), new(".", " +="), new(".", " +")], (rng, v, positive) =>
        {
            var (acc, x) = v.TwoNames(rng);
            string init = positive ? "set()" : "\"\"";
            return $"{acc} = {init}\nfor {x} in {v.Name(rng)}:\n    {acc}";
        }),
        new("bracket_type", "a call's parenthesis or a list's bracket is open", [new(")", "]")], (rng, v, positive) =>
        {
            string open = positive ? $"{v.Function(rng)}(" : "[";
            return $"{v.Name(rng)} = {open}{v.Operand(rng)}, {v.Name(rng)}";
        }),
        new("if_colon", "the line starts with if (a condition) or is an assignment", [new(":", "\n")], (rng, v, positive) =>
        {
            var (a, b) = v.TwoNames(rng);
            string start = positive ? "if" : $"{v.Name(rng)} =";
            return $"{start} {a} > {b}";
        }),
        new("if_equals", "a comparison after if, or an assignment at the start of a line", [new(" ==", " =")], (rng, v, positive) =>
        {
            var (a, b) = v.TwoNames(rng);
            string line = positive ? $"if {b}" : b;
            return $"{a} = {v.Operand(rng)}\n{line}";
        }),
        new("for_while", "a for loop (in follows its variable) or a while loop", [new(" in", ":")], (rng, v, positive) =>
        {
            string keyword = positive ? "for" : "while";
            return $"{v.Name(rng)} = {v.Operand(rng)}\n{keyword} {v.Name(rng)}";
        }),
    ];

    public static IEnumerable<string> Names => All.Select(t => t.Name);

    /// <summary>The task with this name, or one clear error listing the known ones.</summary>
    public static CircuitTask Get(string name) => All.FirstOrDefault(t => t.Name == name)
        ?? throw new UserError($"unknown task '{name}' (known: {string.Join(", ", Names)})");
}
