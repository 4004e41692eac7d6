namespace Mechanist.Plots;

/// <summary>A chart's size and margins, and where a fraction of the data range lands in pixels.</summary>
public readonly record struct PlotArea(int Width, int Height, int Left, int Right, int Top, int Bottom)
{
    public double PlotWidth => Width - Left - Right;
    public double PlotHeight => Height - Top - Bottom;
    /// <summary>The baseline (bottom edge of the plot).</summary>
    public double Base => Height - Bottom;

    /// <summary>x of a fraction 0–1 of the horizontal range.</summary>
    public double X(double fraction) => Left + fraction * PlotWidth;

    /// <summary>y of a fraction 0–1 of the vertical range (0 at the baseline).</summary>
    public double Y(double fraction) => Base - fraction * PlotHeight;
}
