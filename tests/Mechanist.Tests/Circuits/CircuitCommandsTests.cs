using System.Text.Json.Nodes;
using Mechanist.Cli.Commands;

namespace Mechanist.Tests.Circuits;

/// <summary>`mechanist circuit tasks|prune`: the report as JSON, and bad input refused in one line with nothing written.</summary>
[Collection("console-alone")]
public class CircuitCommandsTests(CircuitFixture fx) : IClassFixture<CircuitFixture>
{
    string[] Prune(string outDir, params string[] more) =>
        ["circuit", "prune", "--model", fx.ModelDir, "--data", fx.DataDir, "--out", outDir, "--steps", "8", "--pairs", "6", "--mean-windows", "2", .. more];

    [Fact]
    public void Tasks_lists_every_task_with_examples_answers_and_the_models_accuracy()
    {
        var (code, output, err) = CliRun.Capture(CircuitCommands.Create(), "circuit", "tasks", "--model", fx.ModelDir, "--pairs", "4", "--json");
        Assert.True(code == 0, err);
        var list = JsonNode.Parse(output)!.AsArray();
        Assert.Equal(Mechanist.Circuits.PythonTasks.All.Count, list.Count);
        foreach (var t in list)
        {
            Assert.Equal(2, t!["examples"]!.AsArray().Count);
            Assert.Null(t["unrepresentable"]);
            Assert.InRange((double)t["accuracy"]!, 0, 1);
            Assert.NotNull(t["target_id"]);
        }
        (code, output, _) = CliRun.Capture(CircuitCommands.Create(), "circuit", "tasks");
        Assert.Equal(0, code);
        Assert.Contains("bracket_counting: how many list brackets are open", output);
    }

    [Fact]
    public void Prune_writes_a_report_with_nodes_edges_losses_and_the_controls()
    {
        string outDir = Path.Combine(fx.Root, "report-quote");
        var (code, output, err) = CliRun.Capture(CircuitCommands.Create(), Prune(outDir, "--task", "single_double_quote", "--json", "--target-loss", "0.6"));
        Assert.True(code == 0, err);
        var report = JsonNode.Parse(output)!.AsObject();
        foreach (string key in new[] { "nodes", "edges", "loss_unpruned", "loss_pruned" }) Assert.NotNull(report[key]);
        Assert.Equal(7, report["controls"]!.AsObject().Count);
        Assert.True(File.Exists(Path.Combine(outDir, "report.json")) && File.Exists(Path.Combine(outDir, "loss-vs-k.svg")));
    }

    [Theory]
    [InlineData("--task", "quotes", "unknown task 'quotes'")]
    [InlineData("--k", "100000", "--k 100000: the budget must be between 1 and the model's 304 nodes")]
    [InlineData("--k", "0", "--k 0: the budget must be between 1")]
    public void Bad_input_is_one_line_and_nothing_is_written(string option, string value, string message)
    {
        string outDir = Path.Combine(fx.Root, "bad-" + value);
        string[] args = option == "--task" ? Prune(outDir, "--task", value) : Prune(outDir, "--task", "if_colon", option, value);
        var (code, output, err) = CliRun.Capture(CircuitCommands.Create(), args);
        Assert.Equal(1, code);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(message, err);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void A_model_without_a_recorded_token_store_asks_for_data()
    {
        string outDir = Path.Combine(fx.Root, "no-data");
        var (code, _, err) = CliRun.Capture(CircuitCommands.Create(), "circuit", "prune", "--model", fx.ModelDir, "--task", "if_colon", "--out", outDir);
        Assert.Equal(1, code);
        Assert.Contains("give --data TOKENS", err);
        Assert.False(Directory.Exists(outDir));
    }
}
