namespace Mechanist.Autograd.Optimizers;

public enum DecayShape { Constant, Linear, Cosine }

/// <summary>
/// Learning-rate multiplier as a pure function of the step (0-based), so a resumed run gets the same rate:
/// linear warm-up over <see cref="WarmupSteps"/> ((step+1)/warmup, so the first step is not wasted), then a
/// plateau at 1 until <see cref="DecayStart"/>, then cosine or linear decay reaching <see cref="FinalFraction"/>
/// at <see cref="TotalSteps"/> and staying there.
/// Examples: SAE recipe (warm-up, decay to 0 over the last 20 %): new(1000, total, DecayShape.Linear, 0, decayStart: (int)(0.8 * total));
/// LM recipe (warm-up then cosine to 10 %): new(warmup, total, DecayShape.Cosine, 0.1).
/// </summary>
public sealed record LearningRateSchedule
{
    public LearningRateSchedule(long warmupSteps, long totalSteps, DecayShape decay = DecayShape.Cosine,
        double finalFraction = 0, long? decayStart = null)
    {
        if (warmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(warmupSteps), "step counts must be ≥ 0");
        if (totalSteps < 0) throw new ArgumentOutOfRangeException(nameof(totalSteps), "step counts must be ≥ 0");
        if (!(finalFraction >= 0 && finalFraction <= 1)) throw new ArgumentOutOfRangeException(nameof(finalFraction), "final fraction must be in [0, 1]");
        WarmupSteps = warmupSteps;
        TotalSteps = totalSteps;
        Decay = decay;
        FinalFraction = finalFraction;
        DecayStart = decayStart ?? warmupSteps;
        if (DecayStart < 0) throw new ArgumentOutOfRangeException(nameof(decayStart), "decay start must be ≥ 0");
    }

    public long WarmupSteps { get; }
    public long TotalSteps { get; }
    public DecayShape Decay { get; }
    public double FinalFraction { get; }
    public long DecayStart { get; }

    /// <summary>Multiplier for the base learning rate at <paramref name="step"/>.</summary>
    public double Factor(long step)
    {
        double f = 1;
        if (step < WarmupSteps) f = (step + 1) / (double)WarmupSteps;
        if (Decay == DecayShape.Constant || step < DecayStart) return f;
        long span = TotalSteps - DecayStart;
        double progress = span <= 0 ? 1 : Math.Clamp((step - DecayStart) / (double)span, 0, 1);
        double shape = Decay == DecayShape.Cosine ? 0.5 * (1 + Math.Cos(Math.PI * progress)) : 1 - progress;
        return f * (FinalFraction + (1 - FinalFraction) * shape);
    }

    /// <summary>Base rate times <see cref="Factor"/>.</summary>
    public float Rate(double baseRate, long step) => (float)(baseRate * Factor(step));
}
