namespace Mechanist;

/// <summary>
/// A problem with what the user asked for or gave us (a missing file, a bad option, corrupt data).
/// The command line prints the message as one line and exits with code 1; no stack trace.
/// </summary>
public class UserError(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Bad data inside a file: the message names the file, the field and the problem.</summary>
public sealed class DataFormatError(string path, string field, string problem, Exception? inner = null)
    : UserError($"{path}: {field}: {problem}", inner)
{
    public string FilePath { get; } = path;
    public string Field { get; } = field;
    public string Problem { get; } = problem;
}
