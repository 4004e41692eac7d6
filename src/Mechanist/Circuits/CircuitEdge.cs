namespace Mechanist.Circuits;

/// <summary>A connection between two kept nodes, with the weight that makes it (1 for the residual stream's identity and for a q–k pair).</summary>
public sealed record CircuitEdge(int From, int To, float Weight);
