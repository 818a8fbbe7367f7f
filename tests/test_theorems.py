"""symres.theorems: the library of residual-stack theorems, every step checked."""

from __future__ import annotations

import json

import numpy as np
import pytest

from symres.claims import check, parse
from symres.errors import SymresError
from symres.proof import Proof
from symres.theorems import THEOREMS, Theorem, check_theorem, claim_check, get_theorem

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
    thm = get_theorem(name)
    assert isinstance(result, Proof) and result.passed and result.meta["theorem"] == name
    assert (result.title, result.conclusion, list(result.assumptions)) == (thm.title, thm.conclusion, thm.assumptions)
    assert [s.check.verdict for s in result.steps] == EXPECTED[name]
    assert result.verdict == ("holds" if "holds" in EXPECTED[name] else "proved")
    for step, line in zip(result.steps, thm.steps):
        assert step.prose and (step.rhs, step.reason) == (line.statement, line.reason)
        check_ = step.check
        assert check_.instance is None and check_.decided
        if check_.verdict == "holds":
            assert (check_.method, check_.trials, check_.seed) == ("numeric", 100, 1)
            assert check_.numbers["worst_margin"] >= -check_.numbers["tolerance"]
            assert check_.numbers["search_candidates"] > 0
        else:
            assert check_.method in {"symbolic", "theorem", "certified"}


def test_theorem_checks_carry_the_claims_numbers() -> None:
    """A step's Check is the claims verdict of its statement, numbers and all."""
    result = check_theorem("plain_stack", trials=50, seed=2)
    statement = get_theorem("plain_stack").steps[0].statement
    verdict = check(statement, trials=50, seed=2)
    step = result.steps[0].check
    assert step.numbers["worst_margin"] == verdict.worst_margin
    assert step.numbers["tolerance"] == verdict.tolerance and step.numbers["dim"] == verdict.dim
    if verdict.theorems:
        assert step.method == "theorem" and step.numbers["theorems"] == list(verdict.theorems)
    d = result.as_dict()
    json.dumps(d)
    assert d["steps"][0]["statement"] == statement and d["steps"][0]["check"]["method"] == step.method


def test_claim_check_of_a_refutation_and_a_theorem_chain() -> None:
    """refuted → a failed Check with the counterexample as its instance (the statement is
    false there: recomputed with NumPy); proved by theorems → the theorems in order."""
    v = check("svals(I + J) = 1 + svals(J)", trials=50)
    c = claim_check(v)
    assert c.verdict == "refuted" and not c.passed
    J = np.asarray(c.instance["J"], dtype=float)
    lhs = np.linalg.svd(np.eye(len(J)) + J, compute_uv=False)
    rhs = 1 + np.linalg.svd(J, compute_uv=False)
    assert not np.allclose(np.sort(lhs), np.sort(rhs))
    assert c.numbers["counterexample_margin"] == v.counterexample.margin < 0
    proved = claim_check(check("norm(A B) <= norm(A) norm(B)", trials=20))
    assert proved.verdict == "proved" and proved.method == "theorem"
    assert proved.numbers["theorems"] and proved.numbers["theorems"][0].startswith("submultiplicativity")


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
