using System.CommandLine;
using System.Text.Json;
using Mechanist.Bench;

namespace Mechanist.Cli.Commands;

/// <summary>`mechanist bench corpus`: `corpus prepare` speed on .jsonl, .jsonl.gz, .jsonl.zst and Parquet copies of one slice.</summary>
static class BenchCorpusCommand
{
    public static Command Create()
    {
        var input = new Option<string>("--input")
        {
            Description = "JSON Lines (.gz) to take the slice from.",
            DefaultValueFactory = _ => "../shared/corpus/mini-pile.train.jsonl.gz",
        };
        var tokenizer = new Option<string>("--tokenizer") { Description = "Tokenizer folder to encode with.", DefaultValueFactory = _ => "../shared/tokenizers/gpt2" };
        var docs = new Option<int>("--docs") { Description = "Documents in the slice (the input's first).", DefaultValueFactory = _ => 3000 };
        var rounds = new Option<int>("--rounds") { Description = "Rounds; each times every format once, in a rotated order.", DefaultValueFactory = _ => 5 };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var command = new Command("corpus",
            "`corpus prepare` on one slice written as .jsonl, .jsonl.gz, .jsonl.zst and Parquet, timed interleaved; reports the medians " +
            "of the per-round speed ratios zst/gz and Parquet/jsonl (the tokens must be identical).") { input, tokenizer, docs, rounds, json };
        return command.WithAction((parse, cancel) =>
        {
            bool asJson = parse.GetValue(json);
            var report = CorpusBench.Run(new CorpusBenchOptions
            {
                Input = parse.GetValue(input)!, Tokenizer = parse.GetValue(tokenizer)!, Documents = parse.GetValue(docs), Rounds = parse.GetValue(rounds),
            }, asJson ? TextWriter.Null : Console.Out, cancel);
            if (asJson)
            {
                Console.WriteLine(JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
                return 0;
            }
            Console.WriteLine($"{"format",-10} {"file MB",8} {"median s",9} {"text MB/s",10} {"median CPU-s",13}");
            foreach (var f in report.Formats)
                Console.WriteLine($"{f.Format,-10} {f.FileBytes / 1e6,8:F1} {f.MedianSeconds,9:F2} {f.TextMegabytesPerSecond,10:F2} {f.MedianCpuSeconds,13:F2}");
            Console.WriteLine($"speed .jsonl.zst / .jsonl.gz: {report.ZstdOverGzip:F3} wall, {report.ZstdOverGzipCpu:F3} CPU (goal ≥ 0.9); " +
                              $"Parquet / .jsonl: {report.ParquetOverJsonl:F3} wall, {report.ParquetOverJsonlCpu:F3} CPU (goal ≥ 0.9)");
            Console.WriteLine($"{report.Tokens:N0} tokens, the same from every format; load average {report.LoadAverage}");
            return 0;
        });
    }
}
