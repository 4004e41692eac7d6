using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Xml;

namespace Mechanist.Pipeline;

/// <summary>
/// The demo's default corpus, which needs no download: the XML API documentation that ships inside the
/// .NET SDK's reference packs (English prose about code, with code samples). Each documented type becomes
/// one document: the type's summary followed by its members' signatures, summaries, parameters, return
/// values, exceptions, remarks and examples, with cross-references rendered as readable names.
/// </summary>
public static class DotnetDocsCorpus
{
    /// <summary>The XML documentation files of the newest version of each reference pack, one per assembly.</summary>
    public static IReadOnlyList<string> FindDocumentationFiles(string? dotnetRoot = null)
    {
        dotnetRoot ??= FindDotnetRoot();
        string packs = Path.Combine(dotnetRoot, "packs");
        if (!Directory.Exists(packs))
            throw new UserError($"no reference packs under {packs}: the .NET SDK's documentation was not found (pass --corpus to use your own text)");
        var byAssembly = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string pack in Directory.GetDirectories(packs, "*.Ref").OrderBy(p => p, StringComparer.Ordinal))
        {
            string? newest = Directory.GetDirectories(pack).OrderBy(v => Version.TryParse(Path.GetFileName(v).Split('-')[0], out var ver) ? ver : new Version())
                .LastOrDefault();
            if (newest == null) continue;
            foreach (string xml in Directory.EnumerateFiles(Path.Combine(newest, "ref"), "*.xml", SearchOption.AllDirectories))
                byAssembly.TryAdd(Path.GetFileName(xml), xml);   // the same assembly appears in several packs
        }
        if (byAssembly.Count == 0)
            throw new UserError($"no XML documentation in the reference packs under {packs} (pass --corpus to use your own text)");
        return byAssembly.Values.ToList();
    }

    /// <summary>The SDK's root folder, found from the running runtime (…/shared/Microsoft.NETCore.App/&lt;version&gt;/).</summary>
    public static string FindDotnetRoot()
    {
        string? env = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(Path.Combine(env, "packs"))) return env;
        var runtimeDir = new DirectoryInfo(RuntimeEnvironment.GetRuntimeDirectory());
        return runtimeDir.Parent?.Parent?.Parent?.FullName
               ?? throw new UserError("cannot locate the .NET installation from " + runtimeDir.FullName);
    }

    /// <summary>Converts every documentation file into JSON Lines documents ({"text": ...}), gzip-compressed.</summary>
    /// <returns>Documents and characters written.</returns>
    public static (long Documents, long Characters) WriteJsonl(IReadOnlyList<string> xmlFiles, string outputPath, IProgressReporter progress)
    {
        long documents = 0, characters = 0;
        using var task = progress.Start("reading .NET SDK documentation", xmlFiles.Count, "files");
        IO.AtomicFile.Write(outputPath, stream =>
        {
            using var gzip = new GZipStream(stream, CompressionLevel.Fastest, leaveOpen: true);
            using var writer = new StreamWriter(gzip, new UTF8Encoding(false));
            foreach (string file in xmlFiles)
            {
                foreach (string text in ReadDocuments(file))
                {
                    writer.Write("{\"text\":");
                    writer.Write(JsonSerializer.Serialize(text));
                    writer.Write("}\n");
                    documents++;
                    characters += text.Length;
                }
                task.Advance(1);
            }
        });
        return (documents, characters);
    }

    /// <summary>One text per documented type in <paramref name="xmlPath"/>, members grouped under their type.</summary>
    public static IEnumerable<string> ReadDocuments(string xmlPath)
    {
        var current = new StringBuilder();
        string? currentType = null;
        foreach (var (id, body) in ReadMembers(xmlPath))
        {
            string kind = id.Length > 2 && id[1] == ':' ? id[..1] : "";
            string name = id.Length > 2 ? id[2..] : id;
            string owner = kind == "T" ? name : OwnerType(name);
            if (owner != currentType)
            {
                if (current.Length > 0) yield return current.ToString().TrimEnd();
                current.Clear();
                currentType = owner;
            }
            if (body.Length == 0) continue;
            current.Append(kind == "T" ? name : ReadableSignature(name)).Append('\n').Append(body).Append("\n\n");
        }
        if (current.Length > 0) yield return current.ToString().TrimEnd();
    }

    static IEnumerable<(string Id, string Body)> ReadMembers(string xmlPath)
    {
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore, IgnoreComments = true };
        using var reader = XmlReader.Create(xmlPath, settings);
        while (true)
        {
            (string, string)? member;
            try
            {
                if (!reader.ReadToFollowing("member")) yield break;
                string id = reader.GetAttribute("name") ?? "";
                member = (id, RenderMember(reader));
            }
            catch (XmlException e)
            {
                throw new DataFormatError(xmlPath, $"line {e.LineNumber}", "invalid XML documentation: " + e.Message, e);
            }
            yield return member.Value;
        }
    }

    /// <summary>Renders one &lt;member&gt; element's children as plain text sections.</summary>
    static string RenderMember(XmlReader reader)
    {
        var text = new StringBuilder();
        using var member = reader.ReadSubtree();
        member.Read();
        while (member.Read())
        {
            if (member.NodeType != XmlNodeType.Element) continue;
            string section = member.Name;
            string? name = member.GetAttribute("name") ?? member.GetAttribute("cref");
            string content = RenderInline(member).Trim();
            if (content.Length == 0) continue;
            string label = section switch
            {
                "summary" => "",
                "param" => $"Parameter {name}: ",
                "typeparam" => $"Type parameter {name}: ",
                "returns" => "Returns: ",
                "value" => "Value: ",
                "exception" => $"Throws {ShortName(name ?? "")}: ",
                "remarks" => "Remarks: ",
                "example" => "Example: ",
                _ => "",
            };
            text.Append(label).Append(content).Append('\n');
        }
        return text.ToString().TrimEnd();
    }

    /// <summary>Text of an element with inline tags resolved (see, paramref, c, code, para, list).</summary>
    static string RenderInline(XmlReader reader)
    {
        var text = new StringBuilder();
        using var sub = reader.ReadSubtree();
        sub.Read();
        int depth = sub.Depth;
        while (sub.Read())
        {
            switch (sub.NodeType)
            {
                case XmlNodeType.Text:
                case XmlNodeType.CDATA:
                case XmlNodeType.SignificantWhitespace:
                    text.Append(CollapseSpaces(sub.Value, keepNewlines: InsideCode(text)));
                    break;
                case XmlNodeType.Whitespace:
                    if (text.Length > 0 && text[^1] != ' ' && text[^1] != '\n') text.Append(' ');
                    break;
                case XmlNodeType.Element:
                    string? cref = sub.GetAttribute("cref");
                    string? langword = sub.GetAttribute("langword");
                    string? paramName = sub.GetAttribute("name");
                    switch (sub.Name)
                    {
                        case "see" or "seealso" when sub.IsEmptyElement:
                            text.Append(langword ?? ShortName(cref ?? sub.GetAttribute("href") ?? ""));
                            break;
                        case "paramref" or "typeparamref":
                            text.Append(paramName);
                            break;
                        case "para" or "br":
                            text.Append('\n');
                            break;
                        case "code":
                            text.Append("\n```\n");
                            break;
                        case "item":
                            text.Append("\n- ");
                            break;
                    }
                    break;
                case XmlNodeType.EndElement:
                    if (sub.Name == "code") text.Append("\n```\n");
                    else if (sub.Name == "para") text.Append('\n');
                    break;
            }
        }
        return text.ToString();
    }

    static bool InsideCode(StringBuilder text)
    {
        int fences = 0;
        for (int i = 0; i + 2 < text.Length; i++)
            if (text[i] == '`' && text[i + 1] == '`' && text[i + 2] == '`') { fences++; i += 2; }
        return fences % 2 == 1;
    }

    static string CollapseSpaces(string s, bool keepNewlines)
    {
        if (keepNewlines) return s;
        var b = new StringBuilder(s.Length);
        bool space = false;
        foreach (char c in s)
        {
            if (char.IsWhiteSpace(c)) { space = true; continue; }
            if (space) b.Append(' ');   // a leading space separates this text from the inline tag before it
            space = false;
            b.Append(c);
        }
        if (space) b.Append(' ');
        return b.ToString();
    }

    /// <summary>"T:System.Collections.Generic.IEnumerable`1" → "IEnumerable&lt;T&gt;"; "M:A.B.C(System.Int32)" → "B.C".</summary>
    internal static string ShortName(string cref)
    {
        string name = cref.Length > 2 && cref[1] == ':' ? cref[2..] : cref;
        int paren = name.IndexOf('(');
        if (paren >= 0) name = name[..paren];
        string[] parts = name.Split('.');
        string last = parts[^1];
        bool member = cref.StartsWith("M:") || cref.StartsWith("P:") || cref.StartsWith("F:") || cref.StartsWith("E:");
        string result = member && parts.Length >= 2 ? parts[^2] + "." + last : last;
        return Generic(result).Replace("#ctor", "constructor");
    }

    static string OwnerType(string memberName)
    {
        int paren = memberName.IndexOf('(');
        string path = paren >= 0 ? memberName[..paren] : memberName;
        int dot = path.LastIndexOf('.');
        return dot > 0 ? path[..dot] : path;
    }

    static string ReadableSignature(string memberName)
    {
        int paren = memberName.IndexOf('(');
        string path = paren >= 0 ? memberName[..paren] : memberName;
        string args = paren >= 0 ? memberName[paren..] : "";
        string[] parts = path.Split('.');
        string head = parts.Length >= 2 ? parts[^2] + "." + parts[^1] : path;
        if (args.Length > 0)
        {
            var names = args.Trim('(', ')').Split(',').Select(a => a.StartsWith('`') ? "T" : Generic(a.Split('.')[^1].Replace("{", "<").Replace("}", ">")));
            args = "(" + string.Join(", ", names) + ")";
        }
        return Generic(head).Replace("#ctor", "constructor") + args;
    }

    static string Generic(string name)
    {
        int tick = name.IndexOf('`');
        if (tick < 0) return name;
        string baseName = name[..tick];
        int arity = 0;
        int i = tick;
        while (i < name.Length && name[i] == '`') i++;
        int start = i;
        while (i < name.Length && char.IsDigit(name[i])) i++;
        if (i > start) arity = int.Parse(name[start..i]);
        string parameters = arity switch { 1 => "T", 2 => "T1, T2", _ => string.Join(", ", Enumerable.Range(1, Math.Max(arity, 1)).Select(k => "T" + k)) };
        return baseName + "<" + parameters + ">" + name[i..];
    }
}
