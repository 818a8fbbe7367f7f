"""Seed 001, §5: one path in a vanilla net, 2^1000 paths in a residual one, and which of
them carry the gradient.

The counts are exact (Python integers). "Most paths involve only a few J blocks" is
refuted: path lengths are Binomial(L, 1/2). What holds is the effective-depth picture for
the gradient: with small branches (‖J_ℓ‖₂ = 0.1 or 0.5, L = 100) the few short paths carry
≥ 90% of Σ_k ‖g_k‖ in every one of 200 random stacks (g_k: the length-k component of the
row gradient, computed exactly by a dynamic programme and cross-checked with
`symres.paths.path_spectrum`).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import sympy as sp  # noqa: E402
from _seed001 import (  # noqa: E402
    SEED,
    SPECTRUM_DEPTH,
    binomial_fraction,
    exact,
    log10_fraction,
    spectra,
    spectrum_check,
)

from symres.verify import statement, tested  # noqa: E402


def _one_path(max_depth: int = 8) -> tuple[bool, str]:
    """With non-commutative symbols: J_L⋯J_1 is one monomial and any J_m = 0 makes it 0,
    while the residual product with J_m = 0 is the product of the other factors (≠ 0)."""
    ok = True
    for L in range(1, max_depth + 1):
        Js = sp.symbols(f"J1:{L + 1}", commutative=False)
        plain, resid = sp.Integer(1), sp.Integer(1)
        for j in Js:
            plain, resid = j * plain, (1 + j) * resid
        ok &= len(sp.Add.make_args(sp.expand(plain))) == 1
        for m, j in enumerate(Js):
            rest = sp.Integer(1)
            for i, k in enumerate(Js):
                if i != m:
                    rest = (1 + k) * rest
            ok &= plain.subs(j, 0) == 0 and sp.expand(resid.subs(j, 0) - rest) == 0 and rest != 0
    return ok, (
        f"SymPy, non-commutative J_ℓ, L = 1..{max_depth}: expand(J_L⋯J_1) is one monomial; J_m = 0 (any m) makes it 0; "
        "the residual ∏(I + J_ℓ) with J_m = 0 is the product of the other factors"
    )


@statement(
    seed=SEED,
    where="§5",
    expect="proved",
    text="in a vanilla network there is exactly ONE gradient path, and every layer must successfully propagate the "
    "gradient (read: ∂h_L/∂h_0 = J_L⋯J_1 is a single product with nothing to expand, and one zero factor J_m = 0 "
    "makes it zero, while the residual product only loses its terms through block m)",
)
def vanilla_one_path():
    ok, detail = _one_path()
    return exact("one path, and one zero layer stops it", r"J_m = 0 \Rightarrow J_L \cdots J_1 = 0", ok, detail)


@statement(
    seed=SEED,
    where="§5",
    expect="proved",
    text="a residual network of 1000 blocks has 2^1000 ≈ 10^301 paths",
)
def two_to_the_thousand():
    n = 2**1000
    ok = 10**301 <= n < 2 * 10**301 and len(str(n)) == 302
    return exact(
        "2^1000 ≈ 10^301",
        r"10^{301} \le 2^{1000} < 1.08 \cdot 10^{301}",
        ok and n * 100 < 108 * 10**301,
        f"exact integers: 2^1000 = {str(n)[:6]}… ({len(str(n))} digits) = {n / 10**301:.4f}·10^301, "
        f"log10 = {1000 * math.log10(2):.3f}",
    )


@statement(
    seed=SEED,
    where="§5",
    expect="refuted",
    text="in a residual network [of 1000 blocks] most [of the 2^1000 paths] involve only a few J blocks and are short",
    corrected="path lengths are Binomial(1000, 1/2): fewer than half of the paths have length below 500, whatever "
    "'a few' means; 99.86% have length 450..550 and only a fraction ≈ 10^-161 has length ≤ 100 (exact counts). "
    "Short paths are few; with small branches they are the ones that carry the gradient (next statement)",
)
def most_paths_short():
    L = 1000
    below = binomial_fraction(L, 0, L // 2 - 1)
    written = exact(
        "most paths are shorter than L/2",
        r"\#\{S : |S| < 500\} > \tfrac{1}{2}\, 2^{1000}",
        below > sp.Rational(1, 2),
        f"exact integers: Σ_(k<500) C(1000,k) / 2^1000 = {float(below):.4f} < 1/2 (the median length is 500)",
        instance={"L": L, "paths of length < 500 (fraction)": float(below)},
    )
    middle = binomial_fraction(L, 450, 550)
    short = binomial_fraction(L, 0, 100)
    fixed = exact(
        "path lengths concentrate at L/2",
        r"\tfrac{\#\{S : 450 \le |S| \le 550\}}{2^{1000}} > 0.998,\quad \tfrac{\#\{S : |S| \le 100\}}{2^{1000}} < 10^{-160}",
        middle > sp.Rational(998, 1000) and log10_fraction(short) < -160,
        f"exact integers: the fraction with 450 ≤ k ≤ 550 is {float(middle):.5f}; "
        f"with k ≤ 100 it is 10^{log10_fraction(short):.2f}",
    )
    return written, fixed


def _short_paths_check(norm: float, hi: int) -> object:
    s = spectra(norm)
    share = s.share(0, hi)
    worst = float(share.min())
    n_paths = sum(math.comb(SPECTRUM_DEPTH, k) for k in range(hi + 1))
    check = spectrum_check(
        s,
        worst >= 0.9,
        f"share of Σ_k‖g_k‖ carried by the paths of length ≤ {hi} ({n_paths:.3g} of the 2^{SPECTRUM_DEPTH} ≈ "
        f"{2.0**SPECTRUM_DEPTH:.3g} paths) is ≥ 0.9 in every stack",
        worst,
    )
    return tested(
        f"short paths carry the gradient at ‖J_ℓ‖₂ = {norm:g}",
        rf"\|J_\ell\|_2 = {norm:g}:\ \sum_{{k \le {hi}}} \|g_k\| \ge 0.9 \sum_{{k=0}}^{{{SPECTRUM_DEPTH}}} \|g_k\|",
        check,
    )


@statement(
    seed=SEED,
    where="§5",
    expect="holds",
    text="the 'effective depth' interpretation: early in training, the network behaves like a shallow ensemble of "
    "shorter paths (read at a near-identity initialisation, ‖J_ℓ‖₂ = 0.1 or 0.5, L = 100, and decided on the "
    "gradient: which path lengths carry ∂L/∂h_0)",
)
def effective_depth():
    return _short_paths_check(0.1, 3), _short_paths_check(0.5, 20)
