namespace Mechanist.Circuits;

/// <summary>A model's (or a circuit's) result on a set of task prompts: the mean per-prompt contrast loss (nats), the fraction
/// of prompts whose right answer has the larger logit, and each prompt's logit difference right − wrong.</summary>
public sealed record TaskScore(double Loss, double Accuracy, float[] Margins);
