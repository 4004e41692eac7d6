namespace Mechanist.Sae;

/// <summary>The architectures' names on the command line, in our files and in SAELens' cfg.json.</summary>
public static class SaeArchitectureNames
{
    /// <summary>The name used on the command line and in our own files.</summary>
    public static string CliName(this SaeArchitecture a) => a switch
    {
        SaeArchitecture.Relu => "relu",
        SaeArchitecture.TopK => "topk",
        SaeArchitecture.BatchTopK => "batchtopk",
        SaeArchitecture.JumpRelu => "jumprelu",
        SaeArchitecture.Gated => "gated",
        _ => throw new ArgumentOutOfRangeException(nameof(a)),
    };

    /// <summary>SAELens' `architecture` value in cfg.json.</summary>
    public static string SaeLensName(this SaeArchitecture a) => a switch
    {
        SaeArchitecture.Relu => "standard",
        SaeArchitecture.TopK => "topk",
        SaeArchitecture.BatchTopK => "jumprelu", // saved as JumpReLU with every threshold = θ (METHODS §2.3)
        SaeArchitecture.JumpRelu => "jumprelu",
        SaeArchitecture.Gated => "gated",
        _ => throw new ArgumentOutOfRangeException(nameof(a)),
    };

    public static bool TryParse(string name, out SaeArchitecture a)
    {
        switch (name.Trim().ToLowerInvariant())
        {
            case "relu": case "standard": case "l1": a = SaeArchitecture.Relu; return true;
            case "topk": a = SaeArchitecture.TopK; return true;
            case "batchtopk": case "batch_topk": a = SaeArchitecture.BatchTopK; return true;
            case "jumprelu": a = SaeArchitecture.JumpRelu; return true;
            case "gated": a = SaeArchitecture.Gated; return true;
            default: a = default; return false;
        }
    }
}
