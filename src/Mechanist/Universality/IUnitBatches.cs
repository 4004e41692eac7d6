using System.Text.Json.Nodes;

namespace Mechanist.Universality;

/// <summary>
/// The activations of several models on the same tokens, read in numbered batches: batch b is the same
/// tokens for every model, and reading it again gives the same rows (a tile pass, a shard, the shift
/// sample all re-read by number). Rows are tokens; model m's row holds <see cref="Layouts"/>[m].Units floats.
/// </summary>
public interface IUnitBatches : IDisposable
{
    IReadOnlyList<UnitLayout> Layouts { get; }

    int BatchCount { get; }

    /// <summary>Rows one batch can hold at most (the buffers' size).</summary>
    int MaxTokens { get; }

    /// <summary>Memory held while open (model weights), for the memory budget.</summary>
    long ResidentBytes { get; }

    /// <summary>Fills dst[m] (at least <see cref="MaxTokens"/> × units each) with batch <paramref name="batch"/>'s rows; returns the rows.</summary>
    int Read(int batch, float[][] dst);

    /// <summary>What these inputs are (paths, content hashes, token range): recorded in manifests and in the run's identity.</summary>
    JsonObject Describe();
}
