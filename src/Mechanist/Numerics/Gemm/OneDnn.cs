using System.Runtime.InteropServices;

namespace Mechanist.Numerics;

/// <summary>
/// The few entry points of oneDNN 2.x's C API (Debian's libdnnl2, libdnnl.so.2) that a bf16 matmul needs,
/// bound at run time so that a machine without the library still runs (fp32 only). The descriptors are
/// opaque byte blocks of the v2 sizes; enum values are v2's. Every call's status is checked: a failure is
/// a bug in how we call it, not the user's mistake.
/// </summary>
static unsafe class OneDnn
{
    public const string LibraryName = "libdnnl.so.2";
    /// <summary>sizeof(dnnl_memory_desc_t) and sizeof(dnnl_matmul_desc_t) in oneDNN 2.x.</summary>
    public const int MemoryDescBytes = 696, MatmulDescBytes = 2800;
    public const int DataTypeBf16 = 2, DataTypeF32 = 3;
    public const int ArgSrc = 1, ArgDst = 17, ArgWeights = 33;
    const int EngineCpu = 1, StreamInOrder = 1, QueryImplInfoString = 8;

    static delegate* unmanaged<nint*, int, nuint, int> _engineCreate;
    static delegate* unmanaged<nint*, nint, uint, int> _streamCreate;
    static delegate* unmanaged<byte*, int, long*, int, long*, int> _memoryDescByStrides;
    static delegate* unmanaged<byte*, byte*, byte*, byte*, byte*, int> _matmulDescInit;
    static delegate* unmanaged<nint*, int> _attrCreate;
    static delegate* unmanaged<nint, int> _attrDestroy;
    static delegate* unmanaged<nint*, int> _postOpsCreate;
    static delegate* unmanaged<nint, float, int> _postOpsAppendSum;
    static delegate* unmanaged<nint, int> _postOpsDestroy;
    static delegate* unmanaged<nint, nint, int> _attrSetPostOps;
    static delegate* unmanaged<nint*, byte*, nint, nint, nint, int> _primitiveDescCreate;
    static delegate* unmanaged<nint, int, int, void*, int> _primitiveDescQuery;
    static delegate* unmanaged<nint, int> _primitiveDescDestroy;
    static delegate* unmanaged<nint*, nint, int> _primitiveCreate;
    static delegate* unmanaged<nint, int> _primitiveDestroy;
    static delegate* unmanaged<nint*, byte*, nint, void*, int> _memoryCreate;
    static delegate* unmanaged<nint, int> _memoryDestroy;
    static delegate* unmanaged<nint, nint, int, ExecArg*, int> _primitiveExecute;
    static delegate* unmanaged<nint, int> _streamWait;
    static delegate* unmanaged<int, void> _ompSetNumThreads;

    static nint _engine;
    [ThreadStatic] static nint _stream;

    [StructLayout(LayoutKind.Sequential)]
    public struct ExecArg { public int Arg; public nint Memory; }

    static readonly Lazy<string?> Loaded = new(LoadOnce);

    /// <summary>
    /// Loads the library and its exports once; null on success, else why not (one line). Later calls return the first
    /// answer: loading again would make a new engine, and the primitives cached on the old one would fail to run.
    /// </summary>
    public static string? Load() => Loaded.Value;

    static string? LoadOnce()
    {
        if (!NativeLibrary.TryLoad(LibraryName, out nint lib))
            return $"{LibraryName} not found (apt-get install libdnnl2)";
        if (BindExports(lib) is string missing) return $"{LibraryName} lacks {missing} (oneDNN 2.x needed)";
        // oneDNN's CPU threads are OpenMP's (Debian builds it on libgomp): its thread count is set per calling thread.
        if (NativeLibrary.TryLoad("libgomp.so.1", out nint gomp) && NativeLibrary.TryGetExport(gomp, "omp_set_num_threads", out nint set))
            _ompSetNumThreads = (delegate* unmanaged<int, void>)set;
        nint engine;
        int status = _engineCreate(&engine, EngineCpu, 0);
        if (status != 0) return $"dnnl_engine_create failed with status {status}";
        _engine = engine;
        return null;
    }

    /// <summary>
    /// Resolves every export the wrapper calls from the loaded library; returns the first one missing, or null. Binding
    /// the same library again stores the same addresses (tests check the names this way, without a new engine).
    /// </summary>
    internal static string? BindExports(nint lib)
    {
        string? missing = null;
        nint Get(string name)
        {
            if (NativeLibrary.TryGetExport(lib, name, out nint f)) return f;
            missing ??= name;
            return 0;
        }
        _engineCreate = (delegate* unmanaged<nint*, int, nuint, int>)Get("dnnl_engine_create");
        _streamCreate = (delegate* unmanaged<nint*, nint, uint, int>)Get("dnnl_stream_create");
        _memoryDescByStrides = (delegate* unmanaged<byte*, int, long*, int, long*, int>)Get("dnnl_memory_desc_init_by_strides");
        _matmulDescInit = (delegate* unmanaged<byte*, byte*, byte*, byte*, byte*, int>)Get("dnnl_matmul_desc_init");
        _attrCreate = (delegate* unmanaged<nint*, int>)Get("dnnl_primitive_attr_create");
        _attrDestroy = (delegate* unmanaged<nint, int>)Get("dnnl_primitive_attr_destroy");
        _postOpsCreate = (delegate* unmanaged<nint*, int>)Get("dnnl_post_ops_create");
        _postOpsAppendSum = (delegate* unmanaged<nint, float, int>)Get("dnnl_post_ops_append_sum");
        _postOpsDestroy = (delegate* unmanaged<nint, int>)Get("dnnl_post_ops_destroy");
        _attrSetPostOps = (delegate* unmanaged<nint, nint, int>)Get("dnnl_primitive_attr_set_post_ops");
        _primitiveDescCreate = (delegate* unmanaged<nint*, byte*, nint, nint, nint, int>)Get("dnnl_primitive_desc_create");
        _primitiveDescQuery = (delegate* unmanaged<nint, int, int, void*, int>)Get("dnnl_primitive_desc_query");
        _primitiveDescDestroy = (delegate* unmanaged<nint, int>)Get("dnnl_primitive_desc_destroy");
        _primitiveCreate = (delegate* unmanaged<nint*, nint, int>)Get("dnnl_primitive_create");
        _primitiveDestroy = (delegate* unmanaged<nint, int>)Get("dnnl_primitive_destroy");
        _memoryCreate = (delegate* unmanaged<nint*, byte*, nint, void*, int>)Get("dnnl_memory_create");
        _memoryDestroy = (delegate* unmanaged<nint, int>)Get("dnnl_memory_destroy");
        _primitiveExecute = (delegate* unmanaged<nint, nint, int, ExecArg*, int>)Get("dnnl_primitive_execute");
        _streamWait = (delegate* unmanaged<nint, int>)Get("dnnl_stream_wait");
        return missing;
    }

    static void Check(int status, string call)
    {
        if (status != 0) throw new InvalidOperationException($"oneDNN {call} failed with status {status}");
    }

    /// <summary>A 2-D memory descriptor rows×cols with the given strides (in elements).</summary>
    public static void MemoryDesc(byte* md, long rows, long cols, int dataType, long rowStride, long colStride)
    {
        long* dims = stackalloc long[2] { rows, cols };
        long* strides = stackalloc long[2] { rowStride, colStride };
        Check(_memoryDescByStrides(md, 2, dims, dataType, strides), "memory_desc_init_by_strides");
    }

    /// <summary>A matmul primitive dst = src·weights (+ sumScale·dst when sumScale ≠ 0) and its implementation's name.</summary>
    public static nint CreateMatmul(byte* src, byte* weights, byte* dst, float sumScale, out string implementation)
    {
        byte* desc = stackalloc byte[MatmulDescBytes];
        Check(_matmulDescInit(desc, src, weights, null, dst), "matmul_desc_init");
        nint attr = 0, postOps = 0, pd, primitive;
        try
        {
            if (sumScale != 0)
            {
                Check(_attrCreate(&attr), "primitive_attr_create");
                Check(_postOpsCreate(&postOps), "post_ops_create");
                Check(_postOpsAppendSum(postOps, sumScale), "post_ops_append_sum");
                Check(_attrSetPostOps(attr, postOps), "primitive_attr_set_post_ops");
            }
            Check(_primitiveDescCreate(&pd, desc, attr, _engine, 0), "primitive_desc_create (matmul)");
        }
        finally
        {
            if (postOps != 0) _postOpsDestroy(postOps);
            if (attr != 0) _attrDestroy(attr);
        }
        try
        {
            sbyte* name = null;
            Check(_primitiveDescQuery(pd, QueryImplInfoString, 0, &name), "primitive_desc_query");
            implementation = name == null ? "?" : new string(name);
            Check(_primitiveCreate(&primitive, pd), "primitive_create (matmul)");
        }
        finally { _primitiveDescDestroy(pd); }
        return primitive;
    }

    public static void DestroyPrimitive(nint primitive) => _primitiveDestroy(primitive);

    /// <summary>Runs a primitive on user buffers (one memory object per argument, made and freed here) and waits.</summary>
    public static void Execute(nint primitive, int threads, ReadOnlySpan<(int Arg, nint Desc, nint Data)> args)
    {
        if (_stream == 0)
        {
            nint stream;
            Check(_streamCreate(&stream, _engine, StreamInOrder), "stream_create");
            _stream = stream;
        }
        if (_ompSetNumThreads != null) _ompSetNumThreads(threads);
        var exec = stackalloc ExecArg[args.Length];
        int made = 0;
        try
        {
            for (; made < args.Length; made++)
            {
                nint memory;
                Check(_memoryCreate(&memory, (byte*)args[made].Desc, _engine, (void*)args[made].Data), "memory_create");
                exec[made] = new ExecArg { Arg = args[made].Arg, Memory = memory };
            }
            Check(_primitiveExecute(primitive, _stream, args.Length, exec), "primitive_execute");
            Check(_streamWait(_stream), "stream_wait");
        }
        finally
        {
            for (int i = 0; i < made; i++) _memoryDestroy(exec[i].Memory);
        }
    }
}
