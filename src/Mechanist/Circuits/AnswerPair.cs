namespace Mechanist.Circuits;

/// <summary>
/// A task's target and alternative continuations, and text appended to every prompt before them (<paramref name="PromptEnd"/>):
/// a fallback for a tokenizer without the preferred tokens can move the answer, e.g. bracket_counting's "]]" vs "]" becomes
/// "]" vs "\n" after a first "]".
/// </summary>
public sealed record AnswerPair(string Target, string Alternative, string PromptEnd = "");
