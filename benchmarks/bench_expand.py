"""Expansion of (I+J_L)⋯(I+J_1): symres.paths.expand_product against SymPy's expand.

Plain script, one process: `python benchmarks/bench_expand.py [--sympy-depth 16]`.
Goal (issue 4): expand_product at L = 16 at least 100× faster than sympy.expand of the
same MatMul. SymPy's side runs at L = 14 by default (≈10 s; L = 16 takes ≈50 s), so the
headline ratio is per term: (SymPy seconds / 2^14) / (ours seconds / 2^16). Both sides are
checked to produce the same set of terms at SymPy's depth.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sympy  # noqa: E402
from _timing import best_of  # noqa: E402
from sympy.matrices.expressions import MatAdd  # noqa: E402

from symres import paths  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depth", type=int, default=16, help="our depth (default 16)")
    ap.add_argument("--sympy-depth", type=int, default=14, help="SymPy's depth (default 14; 16 for the same-L ratio)")
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()

    ours = best_of(lambda: paths.expand_product(a.depth), a.repeats)
    ours_at_sympy = best_of(lambda: paths.expand_product(a.sympy_depth), a.repeats)
    product = paths.product_expression(a.sympy_depth)
    t = time.perf_counter()
    theirs = sympy.expand(product)
    sympy_time = time.perf_counter() - t

    same = set(theirs.args) == set(paths.expand_product(a.sympy_depth).args)
    n_ours, n_sym = 2**a.depth, 2**a.sympy_depth
    per_term = (sympy_time / n_sym) / (ours / n_ours)
    print(
        f"expand_product(L={a.depth}): {ours:.3f} s for {n_ours} terms ({ours / n_ours * 1e6:.2f} µs/term, best of {a.repeats})"
    )
    print(f"expand_product(L={a.sympy_depth}): {ours_at_sympy:.3f} s")
    print(
        f"sympy.expand(MatMul) at L={a.sympy_depth}: {sympy_time:.2f} s for {n_sym} terms "
        f"({sympy_time / n_sym * 1e6:.0f} µs/term)"
    )
    print(f"same terms as sympy.expand at L={a.sympy_depth}: {same} ({isinstance(theirs, MatAdd) and len(theirs.args)} terms)")
    print(f"ratio at the same depth L={a.sympy_depth}: {sympy_time / ours_at_sympy:.0f}x")
    print(f"ratio per term (SymPy at L={a.sympy_depth} vs ours at L={a.depth}): {per_term:.0f}x  (goal >= 100x)")


if __name__ == "__main__":
    main()
