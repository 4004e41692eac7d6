namespace Mechanist.Browser;

/// <summary>What <see cref="StaticExport.Export"/> wrote: the site folder, its start page, its size, and what became of the model (<see cref="WebModelFiles.Summary"/> or why it is not there).</summary>
public sealed record SiteExportResult(string Directory, string IndexPage, long Bytes, string Model);
