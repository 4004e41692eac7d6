using System.Buffers.Binary;
using Mechanist.Models;
using Mechanist.Tests.Activations;
using Mechanist.Text;

namespace Mechanist.Tests.Models;

/// <summary>The fixed validation windows: the split's first non-overlapping windows, read back from the shard's bytes.</summary>
public class FixedWindowsTests
{
    [Theory]
    [InlineData(3, 3)]    // as many as asked
    [InlineData(100, 11)] // 200 tokens hold 11 windows of 17
    public void The_first_windows_of_the_split_in_order(int asked, int expected)
    {
        string data = HarvestFixture.TokenStore(trainTokens: 200, validTokens: 0);
        var bytes = File.ReadAllBytes(Path.Combine(data, "train-00000.bin"));
        var tokens = Enumerable.Range(0, 200).Select(i => (int)BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(2 * i))).ToArray();
        using var store = TokenStore.Open(data, "train");
        Assert.Equal(tokens[..(expected * 17)], TokenStoreWindows.FixedWindows(store, 16, asked));
    }
}
