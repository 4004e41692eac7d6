using Mechanist.IO;

namespace Mechanist.Tests.IO;

/// <summary>Without a warn callback, a dropped torn last line is reported on standard error (redirected here, so run alone).</summary>
[Collection("console-alone")]
public class StepLogDefaultWarningTests : IDisposable
{
    readonly string _dir = TestPaths.NewTempDir("steplog-warn");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ATornLastLineIsReportedOnStandardErrorByDefault()
    {
        string path = Path.Combine(_dir, "log.jsonl");
        File.WriteAllText(path, "{\"step\":1}\n{\"step\":2,\"lo");
        var error = new StringWriter();
        var saved = Console.Error;
        Console.SetError(error);
        try { Assert.Single(StepLog.Trim(path, 10)); }
        finally { Console.SetError(saved); }
        Assert.Equal($"warning: {path}: line 2: dropped a last line cut short by a crash (13 bytes without a newline){Environment.NewLine}", error.ToString());
    }
}
