using Mechanist.Models;
using Mechanist.Numerics;

namespace Mechanist.Features.Statistics;

/// <summary>
/// Where units at a hook point write in the residual stream (docs/METHODS.md §3.2.5): a dictionary at
/// <c>mlp.hook_post</c> writes d·W_out, one in the residual basis writes its decoder rows themselves; elsewhere
/// (attention internals, normalised values) there is no direct path and the answer is null.
/// </summary>
public static class ResidualDirections
{
    /// <param name="rows">[units, width at the hook]: decoder rows, or one-hot rows for neurons.</param>
    public static Tensor? Of(Transformer<float> model, HookPoint hook, Tensor rows)
    {
        if (hook.Site == HookSite.MlpPost && model.Blocks[hook.Layer].MlpOutWeight?.Value is Tensor wOut)
        {
            var directions = new Tensor(rows.RowCount, model.Config.DModel);
            Gemm.Multiply(rows, false, wOut, false, directions, 1f, 0f);
            return directions;
        }
        return hook.InResidualBasis ? rows : null;
    }
}
