namespace Mechanist.Circuits;

/// <summary>
/// A pruning run's outcome: each node's learned τ, the nodes ranked by τ (highest first), the node budget k (bisected
/// to the target loss, or given), whether the target was reached, the kept nodes, and the train loss at k.
/// </summary>
public sealed record PruneResult(float[] Tau, int[] Ranking, int K, bool Reached, bool[] Keep, double Loss, double FinalTaskLoss)
{
    /// <summary>The top <paramref name="k"/> nodes of a ranking as a mask.</summary>
    public static bool[] TopK(int[] ranking, int k)
    {
        var keep = new bool[ranking.Length];
        for (int i = 0; i < k; i++) keep[ranking[i]] = true;
        return keep;
    }
}
