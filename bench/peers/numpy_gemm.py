#!/usr/bin/python3
"""numpy (OpenBLAS) fp32 GEMM on the shapes of `mechanist bench gemm`, as a peer measured side by side.

Run with the system Python so that Debian's OpenBLAS is used, pinned to the thread count compared:
    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/peers/numpy_gemm.py [--repeats 5] [--json] [--shape MxKxN ...]
Debian's OpenBLAS 0.3.21 takes this Zen 5 EPYC for "Haswell" (AVX2 kernels, about half its speed);
OPENBLAS_CORETYPE=SkylakeX makes it use its AVX-512 kernels, the fair peer. Shapes are M×K×N; forms A·B, A·Bᵀ, Aᵀ·B are views (np.dot hands the transpose flag to sgemm, no copy).
Each sample runs ≈50 ms of calls after 0.3 s of warm-up per shape; the median is reported.
--serve: `mechanist bench gemm --peer` starts this script once and asks it for one sample at a time, inside
its own rounds (stdin lines "M K N FORM SECONDS CPU", one GFLOP/s figure per line back), so that both sides
are timed under the same load and the ratio is taken per round.
--cpu-time times by process CPU seconds per thread (as `mechanist bench gemm --cpu-time`): steadier on a
busy machine, fair with 1 thread; with more, OpenBLAS's spinning workers count against it.
"""
import argparse, json, os, time
import numpy as np

SHAPES = [(1024, 1024, 1024), (2048, 2048, 2048), (4096, 512, 4096), (4096, 4096, 512)]


def measure(m, k, n, form, repeats, rng, clock):
    a = rng.uniform(-1, 1, (k, m) if form == "Aᵀ·B" else (m, k)).astype(np.float32)
    b = rng.uniform(-1, 1, (n, k) if form == "A·Bᵀ" else (k, n)).astype(np.float32)
    left = a.T if form == "Aᵀ·B" else a
    right = b.T if form == "A·Bᵀ" else b
    out = np.empty((m, n), np.float32)
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < 0.3 or calls < 2:
        np.dot(left, right, out=out)
        calls += 1
    per_sample = max(1, round(0.05 / ((time.perf_counter() - start) / calls)))
    speeds = []
    for _ in range(repeats):
        t = clock()
        for _ in range(per_sample):
            np.dot(left, right, out=out)
        speeds.append(2.0 * m * n * k * per_sample / (clock() - t) / 1e9)
    return float(np.median(speeds))


def serve(threads):
    """One sample per request line, so the caller interleaves it with its own; warm-up on a shape's first use."""
    import sys
    rng = np.random.default_rng(12345)
    cache = {}
    print(json.dumps({"ready": True, "numpy": np.__version__, "threads": threads}), flush=True)
    for line in sys.stdin:
        m, k, n, form, seconds, cpu = line.split()
        m, k, n, seconds = int(m), int(k), int(n), float(seconds)
        clock = (lambda: time.process_time() / max(1, threads)) if cpu == "1" else time.perf_counter
        key = (m, k, n, form)
        if key not in cache:
            a = rng.uniform(-1, 1, (k, m) if form == "AtB" else (m, k)).astype(np.float32)
            b = rng.uniform(-1, 1, (n, k) if form == "ABt" else (k, n)).astype(np.float32)
            cache.clear()  # one shape at a time: keeps memory flat
            cache[key] = (a.T if form == "AtB" else a, b.T if form == "ABt" else b, np.empty((m, n), np.float32))
            left, right, out = cache[key]
            start = time.perf_counter()
            while time.perf_counter() - start < 0.3:
                np.dot(left, right, out=out)
        left, right, out = cache[key]
        calls, t = 0, clock()
        start = time.perf_counter()
        while calls < 1 or time.perf_counter() - start < seconds:
            np.dot(left, right, out=out)
            calls += 1
        print(f"{2.0 * m * n * k * calls / (clock() - t) / 1e9:.3f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--cpu-time", action="store_true")
    parser.add_argument("--serve", action="store_true", help="answer sample requests on stdin (used by `mechanist bench gemm --peer`)")
    parser.add_argument("--shape", action="append", metavar="MxKxN", help="only these shapes (repeatable), as `mechanist bench gemm --shape`")
    args = parser.parse_args()
    threads = int(os.environ.get("OPENBLAS_NUM_THREADS", "0") or 0)
    if args.serve:
        return serve(threads)
    clock = (lambda: time.process_time() / max(1, threads)) if args.cpu_time else time.perf_counter
    rng = np.random.default_rng(12345)
    results = []
    if not args.json:
        print(f"# numpy {np.__version__}, OPENBLAS_NUM_THREADS={threads or 'unset'}, {'CPU' if args.cpu_time else 'wall'} time")
        print(f"{'shape M×K×N':<16} {'op':<6} {'threads':>7} {'GFLOP/s':>9}")
    shapes = [tuple(int(x) for x in s.split("x")) for s in args.shape] if args.shape else SHAPES
    for m, k, n in shapes:
        for form in ("A·B", "A·Bᵀ", "Aᵀ·B"):
            g = measure(m, k, n, form, args.repeats, rng, clock)
            row = {"shape": f"{m}x{k}x{n}", "op": form, "threads": threads, "gflops": round(g, 2), "library": "numpy/OpenBLAS"}
            results.append(row)
            if not args.json:
                print(f"{row['shape']:<16} {form:<6} {threads:>7} {g:>9.1f}", flush=True)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
