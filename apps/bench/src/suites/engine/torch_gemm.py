"""GEMM GFLOPS of PyTorch (float32 torch.mm into a preallocated output) for the bench's `engine` suite.

Usage: python3 torch_gemm.py '<job JSON>' with job = {"shapes": [{"m","k","n"}...], "threads": [1, N],
"minSeconds": s, "rep": r}. Speaks the bench's child protocol: one JSON record per line on stdout.
Per shape, the thread counts alternate in this one process (order reversed on odd repetitions); each
(shape, threads) gets one untimed warm-up call, then calls until minSeconds of work.
torch.set_num_threads sizes torch's own pools; where the BLAS torch loaded is OpenBLAS, its pool is sized as
well (openblas_set_num_threads through ctypes); the record's note names the BLAS and which of the two applied.
"""
import ctypes
import json
import sys
import time


def loaded_blas():
    """The BLAS libraries torch loaded, and the first that exports openblas_set_num_threads (or None)."""
    with open("/proc/self/maps") as f:
        paths = sorted({line.split()[-1] for line in f if "blas" in line.lower() and ".so" in line})
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_set_num_threads
            return paths, lib
        except (OSError, AttributeError):
            continue
    return paths, None


def main():
    job = json.loads(sys.argv[1])
    import torch

    torch.manual_seed(1234 + job.get("rep", 0))
    torch.mm(torch.ones(8, 8), torch.ones(8, 8))  # loads the BLAS
    paths, blas = loaded_blas()
    names = ", ".join(p.rsplit("/", 1)[-1] for p in paths) or "no BLAS loaded"
    reference = not any("openblas" in p.lower() for p in paths)
    note = f"torch {torch.__version__}, {names}" + (" (a reference BLAS, not OpenBLAS)" if reference else "")
    note += "; OpenBLAS threads set too" if blas is not None else ""
    order = list(job["threads"])
    if job.get("rep", 0) % 2 == 1:
        order.reverse()
    for s in job["shapes"]:
        m, k, n = s["m"], s["k"], s["n"]
        x = torch.randn(m, k)
        w = torch.randn(k, n)
        y = torch.empty(m, n)
        for t in order:
            torch.set_num_threads(t)
            if blas is not None:
                blas.openblas_set_num_threads(t)
            torch.mm(x, w, out=y)
            calls = 0
            t0 = time.perf_counter()
            while True:
                torch.mm(x, w, out=y)
                calls += 1
                dt = time.perf_counter() - t0
                if dt >= job["minSeconds"]:
                    break
            print(json.dumps({
                "kind": "gemm",
                "engine": "pytorch",
                "threads": t,
                "threadsInUse": torch.get_num_threads(),
                "shape": f"{m}×{k}×{n}",
                "gflops": 2 * m * k * n * calls / dt / 1e9,
                "calls": calls,
                "seconds": dt,
                "note": note,
            }, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
