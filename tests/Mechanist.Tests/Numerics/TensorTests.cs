using Mechanist.Numerics;

namespace Mechanist.Tests.Numerics;

public class TensorTests
{
    [Fact]
    public unsafe void Storage_is_64_byte_aligned()
    {
        for (int n = 1; n < 40; n++)
        {
            var t = new Tensor(n, 3);
            Assert.Equal(0, (long)t.Pointer % 64);
            var d = new Tensor<double>(n);
            Assert.Equal(0, (long)d.Pointer % 64);
        }
    }

    [Fact]
    public void Views_share_storage()
    {
        var t = Tensor.FromArray([1, 2, 3, 4, 5, 6], 3, 2);
        var rows = t.Rows(1, 2);
        rows[0] = 30;
        Assert.Equal(30, t[2]);
        var flat = t.Reshape(-1);
        Assert.Equal([6], flat.Shape);
        Assert.Equal(3, t.RowCount);
        Assert.Equal(2, t.Columns);
        Assert.Throws<ArgumentException>(() => t.Reshape(4, 2));
    }
}
