using Mechanist.Autograd;
using Mechanist.Autograd.Optimizers;

namespace Mechanist.Models;

/// <summary>
/// One optimizer step of next-token training: zero the gradients, forward and backward on a batch of
/// windows, clip the global gradient norm, set the scheduled learning rate, AdamW update. Shared by the
/// trainer and the throughput benchmark so both measure the same work. With a <see cref="WeightSparsifier"/>
/// (weight-sparse training, docs/METHODS.md §6.2) the gradients are divided by their RMS instead of clipped, the
/// learning rate carries the anneal's factor, and the weights are pruned to the scheduled density after the update.
/// </summary>
public sealed class TrainingStep
{
    readonly Transformer<float> _model;
    readonly IReadOnlyList<Parameter> _parameters;

    public TrainingStep(Transformer<float> model, AdamW optimizer, LearningRateSchedule schedule, float baseLearningRate, float clipNorm,
        WeightSparsifier? sparsifier = null)
    {
        Sparsifier = sparsifier;
        _model = model;
        _parameters = model.Parameters;
        Optimizer = optimizer;
        Schedule = schedule;
        BaseLearningRate = baseLearningRate;
        ClipNorm = clipNorm;
    }

    public AdamW Optimizer { get; }
    public LearningRateSchedule Schedule { get; }
    public float BaseLearningRate { get; }
    public float ClipNorm { get; }
    public WeightSparsifier? Sparsifier { get; }

    /// <summary>Trains on windows [batch, context+1] at 0-based <paramref name="step"/>; returns the loss and the pre-clip gradient norm.</summary>
    public (float Loss, float GradNorm, float LearningRate) Run(int[] windows, int batch, long step)
    {
        using (StepProfiler.Enter(StepPart.Optimizer))
            foreach (var p in _parameters) p.ZeroGrad();
        float loss;
        using (var tape = Tape.Start())
        {
            var l = _model.Loss(windows, batch);
            loss = l.Value[0];
            tape.Backward(l);
        }
        using var part = StepProfiler.Enter(StepPart.Optimizer);
        float norm = Sparsifier != null ? GradientClipping.NormalizeRms(_parameters) : GradientClipping.ClipGlobalNorm(_parameters, ClipNorm);
        float lr = Schedule.Rate(BaseLearningRate, step) * (float)(Sparsifier?.Schedule.LearningRateFactor(step) ?? 1);
        if (float.IsFinite(norm) && float.IsFinite(loss))
        {
            Optimizer.LearningRate = lr;
            Optimizer.Step();
            Sparsifier?.Project(step + 1);
        }
        return (loss, norm, lr);
    }
}
