"""Seed 001, Examples 1 and 2 (Example 3 is seed001_example3_pre_post.py).

Example 1: the two-block chain rule, as a row gradient, and its four paths (proved; the
lost subscripts are restored from the order ∂h₂/∂h₁ · ∂h₁/∂x). Example 2: the claimed
bound ‖∂L/∂h₀‖ ≥ ‖∂L/∂h₁₀₀‖ is refuted (J_ℓ = −0.1I gives 0.9^100 ≈ 2.66e-5) and
corrected to 0.9^100 ≤ ‖∂L/∂h₀‖/‖∂L/∂h₁₀₀‖ ≤ 1.1^100; the triangle-inequality step and
the vanilla bound (0.1)^100 hold.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _seed001 import (  # noqa: E402
    SEED,
    SPECTRUM_DEPTH,
    TRIALS,
    attained,
    chain_rule_row,
    claim,
    exact,
    gradient_bounds,
    plain_bound,
    spectra,
)

from symres.paths import path_terms  # noqa: E402
from symres.proof import Check  # noqa: E402
from symres.verify import statement, tested  # noqa: E402


@statement(
    seed=SEED,
    where="Example 1",
    expect="proved",
    text="for h₁ = x + F₁(x), h₂ = h₁ + F₂(h₁) and a loss L at h₂: ∂h₁/∂x = I + J₁, ∂h₂/∂h₁ = I + J₂, and "
    "∂L/∂x = ∂L/∂h₂ · ∂h₂/∂h₁ · ∂h₁/∂x = ∂L/∂h₂ · (I + J₂)(I + J₁) (the seed's subscripts were lost; restored "
    "from the order of the chain; checked with L = cᵀh₂)",
)
def two_block_chain_rule():
    return chain_rule_row()


@statement(
    seed=SEED,
    where="Example 1",
    expect="proved",
    text="∂L/∂h₂ · (I + J₂)(I + J₁) = ∂L/∂h₂ · (I + J₁ + J₂ + J₂J₁): four paths — I through both identity connections, "
    "J₁ through F₁ only, J₂ through F₂ only, J₂J₁ through both (the 'vanilla' deep path)",
)
def two_block_four_paths():
    terms = list(path_terms(2))
    ok = [t.factors for t in terms] == [(), ("J_1",), ("J_2",), ("J_2", "J_1")]
    ok &= [t.word for t in terms] == ["II", "J1I", "IJ2", "J1J2"]
    paths = exact(
        "the four paths of two blocks",
        r"S = \emptyset, \{1\}, \{2\}, \{1,2\}:\ I,\ J_1,\ J_2,\ J_2 J_1",
        ok,
        "symres.paths.path_terms(2): products I, J_1, J_2, J_2 J_1 (later block left), words II, J1I, IJ2, J1J2",
    )
    return claim("(I + J_2)(I + J_1) = I + J_1 + J_2 + J_2 J_1"), paths


def _random_stacks_between() -> object:
    """0.9^100 ≤ ‖g∏(I+J_ℓ)‖ ≤ 1.1^100 on the 200 random stacks with ‖J_ℓ‖₂ = 0.1, L = 100."""
    s = spectra(0.1)
    lo, hi = 0.9**SPECTRUM_DEPTH, 1.1**SPECTRUM_DEPTH
    ok = bool((s.full >= lo * (1 - 1e-9)).all() and (s.full <= hi * (1 + 1e-9)).all())
    return tested(
        "200 random stacks, L = 100, ‖J_ℓ‖₂ = 0.1",
        r"0.9^{100} \le \|g \textstyle\prod_{\ell}(I + J_\ell)\| \le 1.1^{100}",
        Check(
            "numeric",
            ok,
            f"unit row g, {TRIALS} random stacks (d = 4, Gaussian directions, ‖J_ℓ‖₂ = 0.1): ‖∂L/∂h_0‖ in "
            f"[{s.full.min():.4g}, {s.full.max():.4g}] within [0.9^100, 1.1^100] = [{lo:.4g}, {hi:.4g}]",
            trials=TRIALS,
            max_error=0.0,
            tolerance=1e-9,
            seed=0,
            instance=None if ok else {"min": float(s.full.min()), "max": float(s.full.max())},
        ),
    )


@statement(
    seed=SEED,
    where="Example 2",
    expect="refuted",
    text="if ‖J_ℓ‖ ≤ 0.1 for all ℓ in a 100-block residual network, considering the I term alone: ‖∂L/∂h₀‖ ≥ "
    "‖∂L/∂h₁₀₀‖ (the gradient at layer 0 is at least as large as that at layer 100, via the pure identity path)",
    corrected="0.9^100‖∂L/∂h₁₀₀‖ ≤ ‖∂L/∂h₀‖ ≤ 1.1^100‖∂L/∂h₁₀₀‖, i.e. between ≈ 2.66e-5 and ≈ 1.38e4 times; both "
    "ends are attained (J_ℓ = −0.1I and +0.1I)",
)
def identity_path_lower_bound():
    written = claim("norm(g^T prod(l=1..L, I + J_l)) >= norm(g) where g vector, norm(J_l) <= 0.1, L = 100", dim=1)
    return written, (gradient_bounds("0.1"), attained(Fraction(1, 10), 100), _random_stacks_between())


@statement(
    seed=SEED,
    where="Example 2",
    expect="holds",
    text="the identity path contributes ∂L/∂h₁₀₀ directly, so ‖∂L/∂h₀‖ ≥ ‖∂L/∂h₁₀₀‖ − ‖(terms from other paths)‖",
)
def identity_minus_other_paths():
    return claim("norm(g^T prod(l=1..L, I + J_l)) >= norm(g) - norm(g^T (prod(l=1..L, I + J_l) - I)) where g vector")


@statement(
    seed=SEED,
    where="Example 2",
    expect="holds",
    text="in a vanilla net with ‖J_ℓ‖ ≤ 0.1: ‖∂L/∂h₀‖ ≤ (0.1)^100 ‖∂L/∂h₁₀₀‖",
)
def vanilla_bound():
    return claim("norm(g^T prod(l=1..L, J_l)) <= 0.1^L norm(g) where g vector, norm(J_l) <= 0.1"), plain_bound(0.1, 100)
