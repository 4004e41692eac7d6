namespace Mechanist.Universality;

/// <summary>
/// What a neuron's best correlation is compared with (METHODS.md §5.3): the same maximum taken against a
/// version of the other model whose neurons are no longer its own.
/// </summary>
public enum CorrelationBaseline
{
    /// <summary>The paper's: each layer multiplied by a matrix of unit-normalised Gaussian rows (not exactly orthogonal).</summary>
    Rotation,
    /// <summary>A uniformly random (Haar) orthogonal matrix per layer: QR of a Gaussian matrix, signs fixed by diag(R).</summary>
    Haar,
    /// <summary>The other model's rows shuffled over the tokens of each batch.</summary>
    Permutation,
    /// <summary>GELU of standard normal noise in place of the other model.</summary>
    Gaussian,
}

public static class CorrelationBaselines
{
    public static string Name(this CorrelationBaseline b) => b.ToString().ToLowerInvariant();

    /// <summary>"rotation,haar" → the list; "none" → empty. The first is the one excess_corr uses.</summary>
    public static IReadOnlyList<CorrelationBaseline> Parse(string text)
    {
        if (text.Trim() is "none" or "") return [];
        var list = new List<CorrelationBaseline>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!Enum.TryParse(part, ignoreCase: true, out CorrelationBaseline b) || int.TryParse(part, out _))
                throw new UserError($"--baselines {text}: unknown baseline '{part}' (use rotation, haar, permutation, gaussian or none)");
            if (list.Contains(b)) throw new UserError($"--baselines {text}: '{part}' given twice");
            list.Add(b);
        }
        return list;
    }
}
