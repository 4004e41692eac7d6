using System.Diagnostics;
using System.Globalization;
using System.Runtime.Intrinsics.X86;

namespace Mechanist.Bench;

/// <summary>
/// numpy on the system's OpenBLAS (<c>bench/peers/numpy_gemm.py --serve</c>), kept running and asked for one
/// sample at a time, so <see cref="GemmBench"/> times it inside its own rounds, under the same load.
/// </summary>
public sealed class NumpyGemmPeer : IDisposable
{
    readonly Process _process;

    NumpyGemmPeer(Process process) => _process = process;

    /// <summary>Starts the peer with OpenBLAS pinned to <paramref name="threads"/>; null (and why, through <paramref name="log"/>) when it cannot run.</summary>
    public static NumpyGemmPeer? Start(string script, int threads, Action<string>? log)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3", [script, "--serve"])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        psi.Environment["OPENBLAS_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        // Debian's OpenBLAS 0.3.21 takes Zen 5 for Haswell and runs AVX2 kernels at half speed; name the AVX-512 ones.
        if (Avx512F.IsSupported) psi.Environment["OPENBLAS_CORETYPE"] = "SkylakeX";
        try
        {
            var p = Process.Start(psi)!;
            string? ready = p.StandardOutput.ReadLine();
            if (ready == null || !ready.Contains("\"ready\""))
            {
                log?.Invoke($"OpenBLAS peer not run: {p.StandardError.ReadToEnd().Trim().Split('\n').LastOrDefault()}");
                p.Dispose();
                return null;
            }
            return new NumpyGemmPeer(p);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            log?.Invoke($"OpenBLAS peer not run: {e.Message}");
            return null;
        }
    }

    /// <summary>GFLOP/s of ≈<paramref name="seconds"/> of calls of one shape and form ("AB", "ABt", "AtB").</summary>
    public double Sample(int m, int k, int n, string form, double seconds, bool cpuTime)
    {
        _process.StandardInput.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{m} {k} {n} {form} {seconds:R} {(cpuTime ? 1 : 0)}"));
        _process.StandardInput.Flush();
        string line = _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"the OpenBLAS peer stopped: {_process.StandardError.ReadToEnd().Trim()}");
        return double.Parse(line, CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        try { _process.StandardInput.Close(); if (!_process.WaitForExit(2000)) _process.Kill(); }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
