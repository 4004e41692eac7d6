using Mechanist.Pipeline;

namespace Mechanist.Tests.Demo;

public class DotnetDocsCorpusTests
{
    const string Sample = """
        <?xml version="1.0" encoding="utf-8"?>
        <doc>
          <assembly><name>Sample</name></assembly>
          <members>
            <member name="T:Sample.Stack`1">
              <summary>A last-in, first-out collection of <typeparamref name="T" />.</summary>
            </member>
            <member name="M:Sample.Stack`1.Push(`0)">
              <summary>Adds <paramref name="item" /> on top. Returns <see langword="true" /> when it grew <see cref="P:Sample.Stack`1.Count" />.</summary>
              <param name="item">The item to add.</param>
              <exception cref="T:System.ArgumentNullException"><paramref name="item" /> is <see langword="null" />.</exception>
              <example><code>var s = new Stack&lt;int&gt;();
        s.Push(1);</code></example>
            </member>
            <member name="T:Sample.Empty" />
            <member name="T:Sample.Queue">
              <summary>First in, first out.</summary>
            </member>
          </members>
        </doc>
        """;

    [Fact]
    public void Groups_members_under_their_type_and_renders_references_readably()
    {
        string dir = TestPaths.NewTempDir();
        string xml = Path.Combine(dir, "Sample.xml");
        File.WriteAllText(xml, Sample);

        var docs = DotnetDocsCorpus.ReadDocuments(xml).ToList();

        Assert.Equal(2, docs.Count);
        Assert.StartsWith("Sample.Stack`1\nA last-in, first-out collection of T.", docs[0]);
        Assert.Contains("Stack<T>.Push(T)\nAdds item on top.", docs[0]);
        Assert.Contains("Returns true when it grew Stack<T>.Count.", docs[0]);
        Assert.Contains("Parameter item: The item to add.", docs[0]);
        Assert.Contains("Throws ArgumentNullException: item is null.", docs[0]);
        Assert.Contains("```\nvar s = new Stack<int>();\ns.Push(1);\n```", docs[0]);
        Assert.Equal("Sample.Queue\nFirst in, first out.", docs[1]);
    }

    [Fact]
    public void Malformed_xml_names_the_file_and_line()
    {
        string dir = TestPaths.NewTempDir();
        string xml = Path.Combine(dir, "Broken.xml");
        File.WriteAllText(xml, "<doc><members><member name=\"T:A\"><summary>unclosed</members></doc>");
        var error = Assert.Throws<DataFormatError>(() => DotnetDocsCorpus.ReadDocuments(xml).ToList());
        Assert.Contains("Broken.xml", error.Message);
        Assert.Contains("line", error.Message);
    }

    [Fact]
    public void Finds_the_sdk_documentation_of_this_machine()
    {
        var files = DotnetDocsCorpus.FindDocumentationFiles();
        Assert.Contains(files, f => Path.GetFileName(f) == "System.Linq.xml");
        Assert.Equal(files.Count, files.Select(Path.GetFileName).Distinct().Count());
    }
}
