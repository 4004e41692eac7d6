using Mechanist.Models;

namespace Mechanist.Tests.Models;

/// <summary>Validation loss: the mean over windows, whatever the batch that evaluates them, with progress in tokens.</summary>
public class EvaluationTests
{
    sealed class Tokens : IProgressTask
    {
        public long Total;
        public void Advance(long amount) => Total += amount;
        public void SetDone(long done) { }
        public void SetStatus(string status) { }
        public void Dispose() { }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]  // 5 windows: batches of 2, 2 and 1
    [InlineData(8)]
    public void Mean_loss_is_the_mean_of_each_windows_loss(int batch)
    {
        const int context = 6, n = 5;
        var model = Transformer<float>.Create(new TransformerConfig { Layers = 1, DModel = 8, Heads = 2, DMlp = 16, Context = context, Vocab = 11 }, 2);
        var rng = new Random(7);
        int[] windows = Enumerable.Range(0, n * (context + 1) + 3).Select(_ => rng.Next(11)).ToArray(); // 3 stray tokens: no sixth window
        double expected = 0;
        for (int i = 0; i < n; i++) expected += model.Loss(windows.AsSpan(i * (context + 1), context + 1).ToArray(), 1).Value[0];
        expected /= n;
        var progress = new Tokens();
        Assert.Equal(expected, Evaluation.MeanLoss(model, windows, context, batch, progress), 5);
        Assert.Equal(n * context, progress.Total);
    }

    [Fact]
    public void Fewer_tokens_than_a_window_are_refused()
    {
        var model = Transformer<float>.Create(new TransformerConfig { Layers = 1, DModel = 8, Heads = 2, DMlp = 16, Context = 6, Vocab = 11 }, 2);
        Assert.Equal("no complete windows to evaluate on", Assert.Throws<UserError>(() => Evaluation.MeanLoss(model, new int[6], 6, 2)).Message);
    }
}
