namespace Mechanist.Browser;

/// <summary>What <see cref="StaticExport.Export"/> wrote: the site folder, its start page and its size.</summary>
public sealed record SiteExportResult(string Directory, string IndexPage, long Bytes);
