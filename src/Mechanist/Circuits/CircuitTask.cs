using Mechanist.Numerics;

namespace Mechanist.Circuits;

/// <summary>
/// A binary next-token task on Python (docs/METHODS.md §6.4): a template writes a prompt whose right next token is
/// the task's target (<c>positive</c>) or its alternative, from a cue earlier in the prompt. <see cref="Answers"/>
/// lists (target, alternative) continuations in order of preference: the first pair the model's tokenizer writes as
/// one token each, after every prompt, is used (<see cref="TaskPrompts"/>).
/// </summary>
/// <param name="Name">The task's name on the command line (the paper's where it has one).</param>
/// <param name="Cue">What in the prompt decides the answer.</param>
/// <param name="Answers">(target, alternative) continuations, preferred first.</param>
/// <param name="Write">Writes one prompt from names to draw from; positive: the target is right.</param>
public sealed record CircuitTask(string Name, string Cue, IReadOnlyList<AnswerPair> Answers,
    Func<Rng, TaskVocabulary, bool, string> Write);
