"""The exact path-length spectrum at L = 1000, d = 128: achieved GFLOP/s of the DP in
symres.paths.path_components against plain NumPy GEMMs of the same shapes.

Plain script, one process: `python benchmarks/bench_spectrum.py [--depth L --width d]`.
The DP processes block ℓ = L..1 with one (m+1)×d by d×d GEMM (m = blocks done, the rows
above m+1 being still zero) plus the per-row log-scale renormalisation; its flop count is
Σ_m 2(m+1)d² = L(L+1)d². The baseline runs exactly that sequence of GEMMs and nothing
else, in the same process, on the same matrices. Goal (issue 4): ≥ 50% of the baseline.
Also printed: the sequence of full (L+1)×d by d×d GEMMs (one per block, the shape the
issue names), which does twice the work.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _timing import best_of  # noqa: E402

from symres import paths  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depth", type=int, default=1000)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    L, d = a.depth, a.width
    J, g = paths.random_stack(L, d, norm=0.5, seed=0)
    U = np.random.default_rng(1).standard_normal((L + 1, d))

    def gemms_same_shapes() -> None:
        for m in range(L):
            U[: m + 1] @ J[L - 1 - m]

    def gemms_full_rows() -> None:
        for m in range(L):
            U @ J[L - 1 - m]

    flops = L * (L + 1) * d * d
    # interleave the runs so drifting machine load hits both sides alike
    t_dp, t_base, t_full = [], [], []
    for _ in range(a.repeats):
        t_dp.append(best_of(lambda: paths.path_components(J, g), 1))
        t_base.append(best_of(gemms_same_shapes, 1))
        t_full.append(best_of(gemms_full_rows, 1))
    dp, base, full = min(t_dp), min(t_base), min(t_full)
    spec = paths.path_spectrum(jacobians=J, grad=g, mc_lengths=())
    print(f"L = {L}, d = {d}, {flops / 1e9:.2f} GFLOP in the DP's GEMMs; best of {a.repeats}")
    print(f"path_components (DP + log-scale renormalisation): {dp:.3f} s, {flops / dp / 1e9:.1f} GFLOP/s")
    print(f"plain NumPy GEMMs of the same shapes:             {base:.3f} s, {flops / base / 1e9:.1f} GFLOP/s")
    print(f"full (L+1)xd GEMM per block (2x the work):         {full:.3f} s, {2 * flops / full / 1e9:.1f} GFLOP/s")
    print(f"ratio DP / same-shape GEMMs: {base / dp:.0%}  (goal >= 50%)")
    print(
        f"check: sum_k g_k vs the direct product, relative error {spec.check_error:.1e}; all log-norms finite: "
        f"{bool(np.all(np.isfinite(spec.log10_norms)))}"
    )


if __name__ == "__main__":
    main()
