namespace Mechanist.Models;

/// <summary>Which lines of a weight matrix are its neurons, for the minimum-alive rule of weight-sparse training.</summary>
public enum NeuronAxis
{
    /// <summary>No neurons (a bias vector): only the top-k applies.</summary>
    None,
    /// <summary>Each row is a neuron: wte and wpe (a token's or position's vector), lm_head (a token's logit reads a row).</summary>
    Rows,
    /// <summary>Each column is a neuron: a Conv1D weight [in, out], whose column j is output unit j's inputs.</summary>
    Columns,
}
