"""symres.theorems: the library of residual-stack theorems, every step checked."""

from __future__ import annotations

import pytest

from symres.claims import check, parse
from symres.errors import SymresError
from symres.theorems import THEOREMS, Theorem, check_theorem, get_theorem

#: the verdict of every step: "proved" symbolically or by theorems, or "holds" numerically
EXPECTED = {
    "eig_shift": ["proved", "proved", "holds"],
    "stack_bounds": ["proved"] * 7,
    "plain_stack": ["proved"] * 3,
    "identity_at_init": ["proved"] * 6,
    "euler_step": ["proved", "proved", "proved", "holds", "holds"],
    "path_bound": ["proved"] * 3,
}


def test_library_is_data() -> None:
    assert [t.name for t in THEOREMS] == list(EXPECTED)
    for t in THEOREMS:
        assert isinstance(t, Theorem) and t.title and t.conclusion and t.assumptions
        for step in t.steps:
            assert step.reason
            parse(step.statement)  # every step is a statement of the check grammar


@pytest.mark.parametrize("name", list(EXPECTED))
def test_theorem_checks(name: str) -> None:
    result = check_theorem(name, trials=100, seed=1)
    assert result.ok
    assert result.verdicts == EXPECTED[name]
    for s in result.steps:
        if s.verdict.verdict == "holds":
            assert s.verdict.summary == "holds numerically (100 trials, seed 1)"
        assert s.verdict.counterexample is None


def test_bounds_are_attained_at_both_ends() -> None:
    """J_ℓ = ∓cI attains (1 - c)^L and (1 + c)^L: the chain is tight (margin 0)."""
    chain = get_theorem("stack_bounds").steps[4].statement
    v = check(chain, trials=200)
    assert v.verdict == "proved" and v.theorems  # by Weyl, supermultiplicativity, (1 ± c)^L, ...
    assert v.worst_margin is not None and abs(v.worst_margin) < 1e-12


@pytest.mark.parametrize(
    "false",
    [
        "svals(I + J) = 1 + svals(J)",  # eig_shift's contrast
        "smin(prod(l=1..L, I + J_l)) >= 1 where norm(J_l) <= c, 0 <= c < 1",  # the gradient can shrink
        "norm(prod(l=1..L, I + J_l)) <= (1 + c)^(L - 1) where norm(J_l) <= c, 0 <= c < 1",  # the upper end is sharp
        "norm(prod(i=1..k, J_i)) <= c^(k + 1) where norm(J_i) <= c, c >= 0",  # the path bound is sharp
    ],
)
def test_sharpened_statements_are_refuted(false: str) -> None:
    assert check(false, trials=100).verdict == "refuted"


def test_unknown_theorem() -> None:
    with pytest.raises(SymresError, match="known: eig_shift"):
        get_theorem("nope")
