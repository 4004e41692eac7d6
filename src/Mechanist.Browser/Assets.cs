namespace Mechanist.Browser;

/// <summary>
/// The site's CSS and script, embedded in the assembly (no CDN, no build step). Served by name from a fixed
/// list, so no request can reach the file system.
/// </summary>
static class Assets
{
    static readonly Dictionary<string, (byte[] Bytes, string ContentType)> files = Load();

    public static IEnumerable<string> Names => files.Keys;

    public static bool TryGet(string name, out byte[] bytes, out string contentType)
    {
        if (files.TryGetValue(name, out var f)) { bytes = f.Bytes; contentType = f.ContentType; return true; }
        bytes = []; contentType = "";
        return false;
    }

    static Dictionary<string, (byte[], string)> Load()
    {
        var assembly = typeof(Assets).Assembly;
        var result = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (string resource in assembly.GetManifestResourceNames().Where(r => r.StartsWith("assets/", StringComparison.Ordinal)))
        {
            using var s = assembly.GetManifestResourceStream(resource)!;
            using var m = new MemoryStream();
            s.CopyTo(m);
            string name = resource["assets/".Length..];
            string type = Path.GetExtension(name) switch
            {
                ".css" => "text/css; charset=utf-8", ".js" => "text/javascript; charset=utf-8", ".svg" => "image/svg+xml", ".txt" => "text/plain; charset=utf-8", _ => "application/octet-stream",
            };
            result[name] = (m.ToArray(), type);
        }
        return result;
    }
}
