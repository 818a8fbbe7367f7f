"""Seed 001, Learning objectives: the two that assert facts.

"∂y/∂x = I + ∂F/∂x prevents vanishing gradients regardless of depth" holds only under a
bound on the branches, and then only as "never zero", not "never shrinking with depth";
"at least one gradient path of length 1 (identity path)" mislabels the identity path,
which has length 0 in the seed's own count (§3).
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _seed001 import SEED, attained, claim, counts, exact, stack_bounds  # noqa: E402

from symres import derive  # noqa: E402
from symres.paths import path_terms  # noqa: E402
from symres.verify import statement  # noqa: E402


@statement(
    seed=SEED,
    where="Learning objectives",
    expect="refuted",
    text="∂y/∂x = I + ∂F(x)/∂x prevents vanishing gradients regardless of depth "
    "(read: for any branches F_ℓ and any depth L, ∂h_L/∂h_0 = ∏(I + J_ℓ) is never zero)",
    corrected="the identity ∂y/∂x = I + ∂F/∂x holds, but the gradient can vanish (J_1 = −I gives ∂h_1/∂h_0 = 0); "
    "it cannot when every ‖J_ℓ‖₂ ≤ c < 1, and then (1 − c)^L ≤ σ_min(∂h_L/∂h_0) ≤ ‖∂h_L/∂h_0‖ ≤ (1 + c)^L: "
    "non-zero at every depth, yet the lower end, attained by J_ℓ = −cI, decays with depth "
    "(0.9^100 ≈ 2.7e-5 at c = 0.1, L = 100)",
)
def identity_prevents_vanishing():
    proof = derive("residual", dim=2)
    return (proof, claim("norm(prod(l=1..L, I + J_l)) > 0")), (proof, stack_bounds(), attained(Fraction(1, 10), 100))


def _identity_path_lengths(max_depth: int = 12) -> tuple[bool, bool]:
    """(the identity term I is the only length-0 term and has no J factor, the length-1
    terms are exactly J_1, …, J_L) for L = 1..max_depth, read off the expansion's terms."""
    only_identity, singles = True, True
    for L in range(1, max_depth + 1):
        terms = list(path_terms(L))
        zero = [t for t in terms if t.length == 0]
        one = [t for t in terms if t.length == 1]
        only_identity &= len(zero) == 1 and zero[0].factors == () and zero[0].word == "I" * L
        singles &= sorted(t.factors for t in one) == sorted((f"J_{l}",) for l in range(1, L + 1))
    return only_identity, singles


@statement(
    seed=SEED,
    where="Learning objectives",
    expect="refuted",
    text="a residual network of depth L has at least one gradient path of length 1 (identity path)",
    corrected="the identity path (the term I of ∏(I + J_ℓ), no J factor) has length 0 and is the only path of length 0; "
    "the paths of length 1 are the L terms J_ℓ (one branch each), so there are L ≥ 1 of them",
)
def identity_path_length():
    only_identity, singles = _identity_path_lengths()
    identity = next(t for t in path_terms(3) if t.word == "III")
    written = exact(
        "the identity path has length 1",
        r"\operatorname{length}(I) = 1",
        identity.length == 1,
        f"symres.paths.path_terms(3): the identity term (subset ∅, word III) has factors {identity.factors}, so "
        f"its length is {identity.length}; the same for L = 1..12 ({only_identity})",
        instance={"L": 3, "length of the identity path": identity.length},
    )
    fixed = exact(
        "length-0 and length-1 paths",
        r"\{S : |S| = 0\} = \{\emptyset\}\ (J_\emptyset = I),\quad \{S : |S| = 1\} = \{\{1\}, \dots, \{L\}\}",
        only_identity and singles,
        "symres.paths.path_terms for L = 1..12: the only length-0 term is I (no factor); the length-1 terms are exactly J_1..J_L",
    )
    return written, (fixed, counts())
