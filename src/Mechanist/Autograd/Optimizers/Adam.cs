using System.Runtime.Intrinsics;

namespace Mechanist.Autograd.Optimizers;

/// <summary>Adam's per-parameter state: first and second moments and the step count (PyTorch's exp_avg, exp_avg_sq, step).</summary>
public sealed class AdamState
{
    internal AdamState(Parameter parameter)
    {
        Parameter = parameter;
        M = new Tensor(parameter.Value.Shape);
        V = new Tensor(parameter.Value.Shape);
    }

    public Parameter Parameter { get; }
    /// <summary>First moment (exp_avg), same shape as the parameter.</summary>
    public Tensor M { get; }
    /// <summary>Second moment (exp_avg_sq), same shape as the parameter.</summary>
    public Tensor V { get; }
    /// <summary>Steps taken on this parameter; bias correction uses it.</summary>
    public long Step { get; set; }

    /// <summary>Zeroes the moments of whole rows (the parameter read as a matrix, last axis = columns).</summary>
    public void ResetRows(ReadOnlySpan<int> rows)
    {
        foreach (int r in rows)
        {
            M.Row(r).Clear();
            V.Row(r).Clear();
        }
    }

    /// <summary>Zeroes the moments of whole columns (last axis).</summary>
    public void ResetColumns(ReadOnlySpan<int> columns)
    {
        int n = M.Columns, rows = M.RowCount;
        foreach (int c in columns)
        {
            if ((uint)c >= (uint)n) throw new ArgumentOutOfRangeException(nameof(columns), $"column {c} outside [0, {n})");
            for (int r = 0; r < rows; r++) { M[r * n + c] = 0; V[r * n + c] = 0; }
        }
    }

    /// <summary>Zeroes the moments of single entries given as flat (row-major) indices.</summary>
    public void ResetEntries(ReadOnlySpan<int> flatIndices)
    {
        foreach (int i in flatIndices)
        {
            if ((uint)i >= (uint)M.Length) throw new ArgumentOutOfRangeException(nameof(flatIndices), $"entry {i} outside [0, {M.Length})");
            M[i] = 0;
            V[i] = 0;
        }
    }
}

/// <summary>
/// Adam with PyTorch's exact update (torch.optim.Adam, single-tensor path), and the decoupled AdamW variant.
/// Per step t, for each parameter with gradient g:
///   AdamW: w ← w − lr·wd·w (before the moments);  Adam with wd ≠ 0: g ← g + wd·w (L2, as torch does);
///   m ← m + (1−β1)(g − m);  v ← β2·v + (1−β2)·g²;
///   w ← w − lr/(1−β1^t) · m / (√v / √(1−β2^t) + ε).
/// Weight decay applies only to parameters whose <see cref="Parameter.WeightDecay"/> is true.
/// Moments whose magnitude falls below <see cref="FlushBelow"/> are stored as exact zeros: once gradients
/// vanish, m and v decay geometrically into the subnormal range, where this CPU runs about 200× slower;
/// such values change the update by less than 1e-22 relative to ε, so flushing them is numerically invisible.
/// </summary>
public class Adam
{
    /// <summary>Moments with |value| below this are flushed to zero (see the class remarks).</summary>
    public const float FlushBelow = 1e-30f;

    readonly AdamState[] _states;
    readonly Dictionary<string, AdamState> _byName = new(StringComparer.Ordinal);

    public Adam(IReadOnlyList<Parameter> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f,
        float eps = 1e-8f, float weightDecay = 0f)
        : this(parameters, lr, beta1, beta2, eps, weightDecay, decoupled: false) { }

    protected Adam(IReadOnlyList<Parameter> parameters, float lr, float beta1, float beta2, float eps, float weightDecay, bool decoupled)
    {
        if (!(lr >= 0)) throw new ArgumentOutOfRangeException(nameof(lr), "learning rate must be ≥ 0");
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), "β1 must be in [0, 1)");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), "β2 must be in [0, 1)");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), "ε must be ≥ 0");
        if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), "weight decay must be ≥ 0");
        LearningRate = lr; Beta1 = beta1; Beta2 = beta2; Epsilon = eps; WeightDecay = weightDecay; Decoupled = decoupled;
        _states = new AdamState[parameters.Count];
        for (int i = 0; i < parameters.Count; i++)
        {
            var s = new AdamState(parameters[i]);
            if (!_byName.TryAdd(parameters[i].Name, s))
                throw new ArgumentException($"two parameters are named '{parameters[i].Name}'; names key the optimizer state");
            _states[i] = s;
        }
    }

    /// <summary>Learning rate for the next step; schedules set it before each <see cref="Step"/>.</summary>
    public float LearningRate { get; set; }
    public float Beta1 { get; set; }
    public float Beta2 { get; set; }
    public float Epsilon { get; set; }
    public float WeightDecay { get; set; }
    /// <summary>True for AdamW (decay applied to the weights), false for Adam (decay added to the gradient).</summary>
    public bool Decoupled { get; }

    public IReadOnlyList<AdamState> States => _states;

    public AdamState StateOf(Parameter p) => StateOf(p.Name);

    public AdamState StateOf(string name) =>
        _byName.TryGetValue(name, out var s) ? s : throw new ArgumentException($"no parameter named '{name}' in this optimizer");

    public void ZeroGrad()
    {
        foreach (var s in _states) s.Parameter.ZeroGrad();
    }

    /// <summary>One update of every parameter from its current gradient.</summary>
    public void Step()
    {
        foreach (var s in _states) Step(s);
    }

    /// <summary>One update of a single parameter (its own step count advances).</summary>
    public unsafe void Step(AdamState s)
    {
        s.Step++;
        double lr = LearningRate, b1 = Beta1, b2 = Beta2;
        double bias1 = 1 - Math.Pow(b1, s.Step);
        double bias2Sqrt = Math.Sqrt(1 - Math.Pow(b2, s.Step));
        float wd = s.Parameter.WeightDecay ? WeightDecay : 0f;
        var k = new Coefficients
        {
            Decay = Decoupled ? (float)(1 - lr * wd) : 1f,
            L2 = Decoupled ? 0f : wd,
            OneMinusBeta1 = (float)(1 - b1),
            Beta2 = Beta2,
            OneMinusBeta2 = (float)(1 - b2),
            StepSize = (float)(lr / bias1),
            Bias2Sqrt = (float)bias2Sqrt,
            Eps = Epsilon,
        };
        Update(s.Parameter.Value.Pointer, s.Parameter.Grad.Pointer, s.M.Pointer, s.V.Pointer, s.Parameter.Value.Length, k);
    }

    struct Coefficients
    {
        public float Decay, L2, OneMinusBeta1, Beta2, OneMinusBeta2, StepSize, Bias2Sqrt, Eps;
    }

    static unsafe void Update(float* w, float* g, float* m, float* v, int n, in Coefficients k)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var decay = Vector512.Create(k.Decay); var l2 = Vector512.Create(k.L2);
            var omb1 = Vector512.Create(k.OneMinusBeta1); var b2 = Vector512.Create(k.Beta2);
            var omb2 = Vector512.Create(k.OneMinusBeta2); var step = Vector512.Create(k.StepSize);
            var bc2 = Vector512.Create(k.Bias2Sqrt); var eps = Vector512.Create(k.Eps);
            var tiny = Vector512.Create(FlushBelow);
            for (; i <= n - 16; i += 16)
            {
                var wi = Vector512.Load(w + i) * decay;
                var gi = Vector512.Load(g + i) + l2 * wi;
                var mi = Vector512.Load(m + i);
                mi += omb1 * (gi - mi);
                var vi = b2 * Vector512.Load(v + i) + omb2 * (gi * gi);
                mi = Vector512.ConditionalSelect(Vector512.LessThan(Vector512.Abs(mi), tiny), Vector512<float>.Zero, mi);
                vi = Vector512.ConditionalSelect(Vector512.LessThan(vi, tiny), Vector512<float>.Zero, vi);
                var denom = Vector512.Sqrt(vi) / bc2 + eps;
                (wi - step * (mi / denom)).Store(w + i);
                mi.Store(m + i);
                vi.Store(v + i);
            }
        }
        for (; i < n; i++)
        {
            float wi = w[i] * k.Decay;
            float gi = g[i] + k.L2 * wi;
            float mi = m[i] + k.OneMinusBeta1 * (gi - m[i]);
            float vi = k.Beta2 * v[i] + k.OneMinusBeta2 * (gi * gi);
            if (MathF.Abs(mi) < FlushBelow) mi = 0;
            if (vi < FlushBelow) vi = 0;
            w[i] = wi - k.StepSize * (mi / (MathF.Sqrt(vi) / k.Bias2Sqrt + k.Eps));
            m[i] = mi;
            v[i] = vi;
        }
    }

    /// <summary>
    /// The state as named tensors for a checkpoint: "{name}.exp_avg", "{name}.exp_avg_sq" (shared, not copied),
    /// and the step counts keyed by parameter name (store them in the checkpoint's JSON).
    /// </summary>
    public (Dictionary<string, Tensor> Tensors, Dictionary<string, long> Steps) ExportState()
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var steps = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var s in _states)
        {
            tensors[s.Parameter.Name + ".exp_avg"] = s.M;
            tensors[s.Parameter.Name + ".exp_avg_sq"] = s.V;
            steps[s.Parameter.Name] = s.Step;
        }
        return (tensors, steps);
    }

    /// <summary>Restores what <see cref="ExportState"/> produced; every parameter must be present with its shape.</summary>
    /// <param name="source">The file the state came from, for error messages.</param>
    public void ImportState(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, long> steps, string source)
    {
        foreach (var s in _states)
        {
            string name = s.Parameter.Name;
            var m = Find(tensors, name + ".exp_avg", s, source);
            var v = Find(tensors, name + ".exp_avg_sq", s, source);
            if (!steps.TryGetValue(name, out long step) || step < 0)
                throw new DataFormatError(source, name + ".step", "missing or negative optimizer step count");
            m.Span.CopyTo(s.M.Span);
            v.Span.CopyTo(s.V.Span);
            s.Step = step;
        }
    }

    static Tensor Find(IReadOnlyDictionary<string, Tensor> tensors, string key, AdamState s, string source)
    {
        if (!tensors.TryGetValue(key, out var t)) throw new DataFormatError(source, key, "missing optimizer state tensor");
        if (t.Length != s.M.Length || !t.SameShape(s.M))
            throw new DataFormatError(source, key, $"shape {t.ShapeString} does not match parameter {s.Parameter.Value.ShapeString}");
        return t;
    }
}

/// <summary>AdamW (torch.optim.AdamW): Adam with decoupled weight decay w ← w − lr·wd·w before the update; default wd 0.01.</summary>
public sealed class AdamW(IReadOnlyList<Parameter> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f,
    float eps = 1e-8f, float weightDecay = 0.01f)
    : Adam(parameters, lr, beta1, beta2, eps, weightDecay, decoupled: true);
