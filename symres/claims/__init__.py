"""Claims about residual gradients: prove them, check them numerically, or refute them.

A `Claim` is a statement of the `symres.grammar` language, such as
``norm(prod(l=1..L, I + J_l)) >= 1 where norm(J_l) <= 0.1, L = 100``. `check` returns a
`Verdict`:

``proved``
    SymPy settles it (both sides expanded with non-commutative symbols, so A B ≠ B A
    unless a constraint says they commute; exact rules about ``s I + t M``), or named
    theorems do (submultiplicativity, the triangle inequality, Weyl's inequality for
    singular values, the (1 ± c)^L bounds, ...: `Verdict.theorems` lists them), or, for
    a statement without symbols, certified arithmetic. Proofs are cross-checked on the
    seeded trials.
``holds``
    *holds numerically*: no certified violation in N seeded trials (dimension 3 by
    default) nor in a counterexample search at dimensions 1-4. Evidence, not a proof.
``refuted``
    a counterexample, minimised, whose violation AND premises (norm bounds, psd,
    nilpotent, symmetric, orthogonal, commute, ranges) are certified on the values
    exactly as printed.
``undecided``
    certified arithmetic could not tell (the enclosure of a margin contains 0 at the
    highest precision tried; shown), or the time budget ran out. Exit status 3.

Deciding (`symres.claims.certify`): double precision only screens. The float margin of
``a <= b`` is ``(b - a) / max(|a|, |b|)`` (relative, no absolute slack); a trial whose
margin is below the tolerance, near 0, or not finite goes to `_certify`, which decides
in exact rationals where every value is rational (`symres.claims.exact`: the values as
printed, literals, + − · /, powers, det, tr, ...), else in rigorous interval arithmetic
(`symres.claims.enclose`: mpmath's ``iv`` with outward rounding; singular values,
symmetric eigenvalues, det and the matrix exponential enclosed by symres itself) at 30
digits, doubling while an enclosure contains 0. A value without a rigorous enclosure
(eigenvalues of a non-symmetric block larger than 2×2) is numeric evidence only: it can
make a statement ``holds`` or ``undecided``, never ``proved`` or ``refuted``.

The package: `model` (the claim and its constraints), `functions` (one table: each
function's kind rule, NumPy batch, interval enclosure, exact value, SymPy form),
`interpret` (one interpreter of the syntax tree; NumPy, intervals, rationals and SymPy
are its backends), `sampling` (seeded batched NumPy evaluation, the float screen),
`rational`, `exact`, `enclose` and `certify` (the decision at one instance), `search`
(trials, the counterexample search, minimising), `prover` (SymPy and theorems),
`verdict` (`Verdict`, `check`). Every statement runs within a time budget
(`check(timeout=20)`); too costly constructs are refused before evaluation.
"""

from __future__ import annotations

from symres.claims.model import EIG_TOLERANCE as EIG_TOLERANCE
from symres.claims.model import TOLERANCE as TOLERANCE
from symres.claims.model import Claim as Claim
from symres.claims.model import parse as parse
from symres.claims.verdict import Counterexample as Counterexample
from symres.claims.verdict import LinkValue as LinkValue
from symres.claims.verdict import Verdict as Verdict
from symres.claims.verdict import check as check
from symres.claims.verdict import format_value as format_value
from symres.claims.verdict import recheck as recheck

__all__ = [
    "Claim",
    "Verdict",
    "Counterexample",
    "LinkValue",
    "parse",
    "check",
    "recheck",
    "format_value",
    "TOLERANCE",
    "EIG_TOLERANCE",
]
