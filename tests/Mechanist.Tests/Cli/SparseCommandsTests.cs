using System.Text.Json.Nodes;
using Mechanist.Cli.Commands;
using Mechanist.Models;
using Mechanist.Text;

namespace Mechanist.Tests.Cli;

/// <summary>`mechanist sparse data / train / info` end to end on a little Python, and their answers to bad input.</summary>
[Collection("console-alone")]
public class SparseCommandsTests
{
    static string PythonFolder()
    {
        string dir = TestPaths.NewTempDir("mechanist-py");
        for (int f = 0; f < 12; f++)
            File.WriteAllText(Path.Combine(dir, $"m{f}.py"), string.Concat(Enumerable.Range(0, 30).Select(i =>
                $"def f{i}(x, y=None):\n    s = set()\n    if x == {i}:\n        return \"{f}\" + str(y)\n    s.add('{i}')\n    return [x, [y]]\n\n")));
        File.WriteAllText(Path.Combine(dir, "notes.bin"), "not read: not a code or text pattern");
        return dir;
    }

    [Fact]
    public void Data_train_and_info_run_end_to_end_and_the_saved_model_is_sparse()
    {
        string corpus = PythonFolder(), work = TestPaths.NewTempDir();
        try
        {
            string data = Path.Combine(work, "data"), model = Path.Combine(work, "sparse");
            var (code, output, err) = CliRun.Capture(SparseCommands.Create(), ["sparse", "data", "--corpus", corpus, "--vocab", "300", "--out", data]);
            Assert.True(code == 0, err);
            Assert.Contains("made", output);
            (code, output, _) = CliRun.Capture(SparseCommands.Create(), ["sparse", "data", "--corpus", corpus, "--vocab", "300", "--out", data]);
            Assert.Contains("reusing", output);

            (code, output, err) = CliRun.Capture(SparseCommands.Create(), ["sparse", "train", "--data", data, "--preset", "sparse-micro", "--weight-density", "0.25",
                "--tokens", "4096", "--batch", "4", "--out", model]);
            Assert.True(code == 0, err);
            Assert.Contains("hidden weights 25", output);
            Assert.True(File.Exists(Path.Combine(model, "vocab.json")), "the tokenizer travels with the model");
            Assert.Equal(300, ModelFiles.ReadConfig(model).Vocab);

            (code, output, err) = CliRun.Capture(SparseCommands.Create(), ["sparse", "info", "--model", model, "--json"]);
            Assert.True(code == 0, err);
            var report = JsonNode.Parse(output)!;
            Assert.Equal(0.25, report["hidden_density"]!.GetValue<double>(), 3);
            Assert.All(report["tensors"]!.AsArray(), t => Assert.True(t!["fewest_per_neuron"] is null || t["fewest_per_neuron"]!.GetValue<int>() >= 4));
        }
        finally { Directory.Delete(corpus, true); Directory.Delete(work, true); }
    }

    [Fact]
    public void Activation_sites_add_the_residual_sites_to_the_saved_config_and_a_wrong_name_writes_nothing()
    {
        string corpus = PythonFolder(), work = TestPaths.NewTempDir();
        try
        {
            string data = Path.Combine(work, "data"), model = Path.Combine(work, "sparse"), bad = Path.Combine(work, "bad");
            var (code, _, err) = CliRun.Capture(SparseCommands.Create(), ["sparse", "data", "--corpus", corpus, "--vocab", "300", "--out", data]);
            Assert.True(code == 0, err);
            (code, var output, err) = CliRun.Capture(SparseCommands.Create(), ["sparse", "train", "--data", data, "--preset", "sparse-micro", "--weight-density", "0.25",
                "--tokens", "1024", "--batch", "4", "--activation-sites", "resid_post_atn", "--out", bad]);
            Assert.Equal(1, code);
            Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains("'resid_post_atn' is not a sparsity site", err);
            Assert.False(Directory.Exists(bad));
            (code, _, err) = CliRun.Capture(SparseCommands.Create(), ["sparse", "train", "--data", data, "--preset", "micro", "--weight-density", "0.25",
                "--tokens", "1024", "--batch", "4", "--activation-sites", "mlp_in", "--out", bad]);
            Assert.Equal(1, code);
            Assert.Contains("preset micro has no AbsTopK", err);
            Assert.False(Directory.Exists(bad));

            (code, _, err) = CliRun.Capture(SparseCommands.Create(), ["sparse", "train", "--data", data, "--preset", "sparse-micro", "--weight-density", "0.25",
                "--tokens", "1024", "--batch", "4", "--activation-sites", "mlp_neuron, resid_post_attn,resid_post_mlp", "--out", model]);
            Assert.True(code == 0, err);
            Assert.Equal(SparsitySites.MlpNeuron | SparsitySites.Residual, ModelFiles.ReadConfig(model).ActivationSites);
        }
        finally { Directory.Delete(corpus, true); Directory.Delete(work, true); }
    }

    [Fact]
    public void A_dense_model_given_to_info_is_one_line_and_exit_code_1()
    {
        string dir = TestPaths.NewTempDir();
        try
        {
            ModelFiles.Save(Transformer<float>.Create(TransformerConfig.Preset("sparse-micro", 50), 0), dir);
            var (code, output, err) = CliRun.Capture(SparseCommands.Create(), ["sparse", "info", "--model", dir]);
            Assert.Equal(1, code);
            Assert.Equal("", output);
            Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains("is a dense model", err);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void The_standard_library_is_found_by_version_and_its_absence_asks_for_corpus()
    {
        string root = TestPaths.NewTempDir();
        try
        {
            foreach (string v in new[] { "python3.9", "python3.12", "python3.10" }) Directory.CreateDirectory(Path.Combine(root, v));
            File.WriteAllText(Path.Combine(root, "python3.9", "os.py"), "");
            File.WriteAllText(Path.Combine(root, "python3.10", "os.py"), "");
            // 3.12 has no os.py (a leftover folder): not a standard library.
            Assert.Equal(Path.Combine(root, "python3.10"), PythonCorpus.StandardLibrary([root]));
            Assert.Equal(["given"], PythonCorpus.InputsOrDefault(["given"], [root]));
            var error = Assert.Throws<UserError>(() => PythonCorpus.InputsOrDefault(null, [Path.Combine(root, "python3.12")]));
            Assert.Contains("give --corpus", error.Message);
        }
        finally { Directory.Delete(root, true); }
    }
}
