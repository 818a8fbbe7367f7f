"""The exact path-length spectrum at L = 1000, d = 128: achieved GFLOP/s of the DP in
symres.paths.path_components against plain GEMMs of the same shapes, in one process.

Plain script: `python benchmarks/bench_spectrum.py [--depth L --width d --repeats n]`; run
it once with the default BLAS threads and once with OPENBLAS_NUM_THREADS=1
(and OMP_NUM_THREADS=1 for torch). The DP processes block ℓ = L..1 with one (m+1)×d by
d×d GEMM (m = blocks done, the rows above m+1 being still zero) plus its log-scale
bookkeeping; its flop count is Σ_m 2(m+1)d² = L(L+1)d². The baselines run exactly that
sequence of GEMMs and nothing else, on the same matrices: NumPy's matmul into a
preallocated output, SciPy's dgemm with β = 1 into the rows (what the NumPy DP calls when
SciPy is installed), and torch.matmul (the baseline of the torch backend,
`path_components(..., device="cpu")`). The DP's ratio is taken against the faster of the
NumPy and SciPy GEMMs. Goal (issue 15): ≥ 50%. The runs are interleaved so that a
drifting machine load hits every variant alike; medians, ratios of medians and
/proc/loadavg before and after are printed, with the BLAS thread counts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from symres import paths  # noqa: E402
from symres.paths.backend import scipy_dgemm  # noqa: E402


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def _time(fn) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _threads() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    return "; ".join(f"{i['internal_api']} {Path(i['filepath']).name}: {i['num_threads']}" for i in threadpool_info())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depth", type=int, default=1000)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    L, d = a.depth, a.width
    J, g = paths.random_stack(L, d, norm=0.5, seed=0)
    U = np.random.default_rng(1).standard_normal((L + 1, d))
    out = np.empty((L + 1, d))
    variants = {"DP, NumPy rows": lambda: paths.path_components(J, g)}

    def gemms_numpy() -> None:
        for m in range(L):
            np.matmul(U[: m + 1], J[L - 1 - m], out=out[: m + 1])

    variants["GEMMs, np.matmul"] = gemms_numpy
    dgemm = scipy_dgemm()
    if dgemm is not None:

        def gemms_scipy() -> None:
            for m in range(L):
                dgemm(1.0, J[L - 1 - m].T, U[: m + 1].T, beta=1.0, c=out[1 : m + 2].T, overwrite_c=1)

        out[:] = 0.0
        variants["GEMMs, SciPy dgemm (beta = 1)"] = gemms_scipy
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        Jt, Ut, outt = torch.from_numpy(J), torch.from_numpy(U), torch.empty((L + 1, d), dtype=torch.float64)

        def gemms_torch() -> None:
            for m in range(L):
                torch.matmul(Ut[: m + 1], Jt[L - 1 - m], out=outt[: m + 1])

        variants["DP, torch rows (cpu)"] = lambda: paths.path_components(J, g, device="cpu")
        variants["GEMMs, torch.matmul"] = gemms_torch

    flops = L * (L + 1) * d * d
    before = _loadavg()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(max(3, a.repeats)):
        for name, fn in variants.items():
            times[name].append(_time(fn))
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"L = {L}, d = {d}, {flops / 1e9:.2f} GFLOP in the DP's GEMMs; median of {a.repeats} interleaved runs")
    print(f"loadavg before: {before}; after: {_loadavg()}")
    print(f"threads: OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; {_threads()}")
    if torch is not None:
        print(f"torch {torch.__version__}: {torch.get_num_threads()} intra-op threads")
    for name, t in med.items():
        runs = ", ".join(f"{x:.3f}" for x in times[name])
        print(f"{name:<32} {t:.3f} s, {flops / t / 1e9:6.1f} GFLOP/s  (runs: {runs})")
    base = min(med[n] for n in med if n.startswith("GEMMs") and "torch" not in n)
    print(f"ratio DP (NumPy rows) / best same-shape GEMMs (medians): {base / med['DP, NumPy rows']:.0%}  (goal >= 50%)")
    if torch is not None:
        ratio = med["GEMMs, torch.matmul"] / med["DP, torch rows (cpu)"]
        print(f"ratio DP (torch rows) / torch same-shape GEMMs (medians): {ratio:.0%}")
    spec = paths.path_spectrum(jacobians=J, grad=g, mc_lengths=())
    print(
        f"check: sum_k g_k vs the direct product, relative error {spec.check_error:.1e}; all log-norms finite: "
        f"{bool(np.all(np.isfinite(spec.log10_norms)))}"
    )


if __name__ == "__main__":
    main()
