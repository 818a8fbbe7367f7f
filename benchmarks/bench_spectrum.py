"""The exact path-length spectrum at L = 1000, d = 128: achieved GFLOP/s of the DP in
symres.paths.path_components against plain NumPy GEMMs of the same shapes.

Plain script, one process: `python benchmarks/bench_spectrum.py [--depth L --width d --repeats n]`.
The DP processes block ℓ = L..1 with one (m+1)×d by d×d GEMM (m = blocks done, the rows
above m+1 being still zero) plus its log-scale bookkeeping; its flop count is
Σ_m 2(m+1)d² = L(L+1)d². The baseline runs exactly that sequence of GEMMs and nothing
else (into a preallocated output, as the DP does), in the same process, on the same
matrices. Goal (issue 15): ≥ 50% of the baseline. Also printed: the sequence of full
(L+1)×d by d×d GEMMs (one per block), which does twice the work. The runs are
interleaved so that a drifting machine load hits every variant alike; the medians and
the ratio of medians are printed with /proc/loadavg before and after.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from symres import paths  # noqa: E402


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def _time(fn) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depth", type=int, default=1000)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    L, d = a.depth, a.width
    J, g = paths.random_stack(L, d, norm=0.5, seed=0)
    U = np.random.default_rng(1).standard_normal((L + 1, d))
    out = np.empty((L + 1, d))

    def gemms_same_shapes() -> None:
        for m in range(L):
            np.matmul(U[: m + 1], J[L - 1 - m], out=out[: m + 1])

    def gemms_full_rows() -> None:
        for m in range(L):
            np.matmul(U, J[L - 1 - m], out=out)

    flops = L * (L + 1) * d * d
    before = _loadavg()
    t_dp, t_base, t_full = [], [], []
    for _ in range(max(3, a.repeats)):
        t_dp.append(_time(lambda: paths.path_components(J, g)))
        t_base.append(_time(gemms_same_shapes))
        t_full.append(_time(gemms_full_rows))
    dp, base, full = (statistics.median(t) for t in (t_dp, t_base, t_full))
    ratios = [b / x for b, x in zip(t_base, t_dp)]
    spec = paths.path_spectrum(jacobians=J, grad=g, mc_lengths=())
    print(f"L = {L}, d = {d}, {flops / 1e9:.2f} GFLOP in the DP's GEMMs; median of {len(t_dp)} interleaved runs")
    print(f"loadavg before: {before}; after: {_loadavg()}")
    print(f"path_components (DP + log-scale bookkeeping): {dp:.3f} s, {flops / dp / 1e9:.1f} GFLOP/s")
    print(f"plain NumPy GEMMs of the same shapes:         {base:.3f} s, {flops / base / 1e9:.1f} GFLOP/s")
    print(f"full (L+1)xd GEMM per block (2x the work):     {full:.3f} s, {2 * flops / full / 1e9:.1f} GFLOP/s")
    print(f"per-run ratios DP / same-shape GEMMs: {', '.join(f'{r:.0%}' for r in ratios)}")
    print(f"ratio DP / same-shape GEMMs (medians): {base / dp:.0%}  (goal >= 50%)")
    print(
        f"check: sum_k g_k vs the direct product, relative error {spec.check_error:.1e}; all log-norms finite: "
        f"{bool(np.all(np.isfinite(spec.log10_norms)))}"
    )


if __name__ == "__main__":
    main()
