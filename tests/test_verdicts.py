"""Verdicts that cannot be wrong: certified decisions, undecided, premises re-checked,
budgets, proofs by theorems (issue 12).

The oracles are exact: rational arithmetic (fractions.Fraction) on the values a
counterexample prints, and statements whose truth is known by construction.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symres import grammar
from symres.claims import check
from symres.cli import main
from symres.errors import SymresError
from symres.outcome import Outcome

FAST = dict(trials=40)

#: the issue's table: statement -> the verdicts that are right (never a wrong yes or no)
TABLE = [
    ("0.000000001 <= 0", {"refuted"}),
    ("1.0003 * 0.9^100 <= smin(prod(l=1..L, I+J_l)) where norm(J_l) <= 0.1, L = 100", {"refuted"}),
    ("prod(l=1..L, c I + J_l) = 0 where J_l = 0, c = 0.5, L = 50", {"refuted"}),
    ("c^30 > 0 where 0.1 <= c <= 0.5", {"proved", "holds", "undecided"}),
    ("(1-c)^5 > 0 where 0 <= c < 1", {"proved", "holds", "undecided"}),
    ("det(I+J) > 0 where norm(J) <= 0.999999", {"proved", "holds", "undecided"}),
    ("det(A) >= 0 where A psd", {"proved", "holds", "undecided"}),
    ("rho(A) = 0 where A nilpotent", {"proved", "holds", "undecided"}),
    ("exp(1000) > 0", {"proved"}),
    ("norm(A B) <= norm(A) norm(B)", {"proved"}),
]


@pytest.mark.parametrize("text,right", TABLE)
def test_the_table_gives_the_truth(text: str, right: set[str]) -> None:
    v = check(text, **FAST)
    assert str(v.verdict) in right, (v.verdict, v.counterexample)
    assert not any("please report" in n for n in v.notes)


def _exact(rows: Any) -> list[list[Fraction]]:
    """A matrix as printed in JSON, in exact rationals (the printed decimal, not the double)."""
    return [[Fraction(repr(float(x))) for x in row] for row in rows]


def _mul(x: list[list[Fraction]], y: list[list[Fraction]]) -> list[list[Fraction]]:
    return [[sum((x[i][k] * y[k][j] for k in range(len(y))), Fraction(0)) for j in range(len(y[0]))] for i in range(len(x))]


def _psd(x: list[list[Fraction]]) -> bool:
    """Exact: symmetric and every principal minor of the leading blocks after pivoting >= 0
    (brute force over all principal minors, an independent oracle for small d)."""
    import itertools

    n = len(x)
    if any(x[i][j] != x[j][i] for i in range(n) for j in range(n)):
        return False

    def det(m: list[list[Fraction]]) -> Fraction:
        if not m:
            return Fraction(1)
        return sum(((-1) ** j * m[0][j] * det([r[:j] + r[j + 1 :] for r in m[1:]]) for j in range(len(m))), Fraction(0))

    return all(det([[x[i][j] for j in s] for i in s]) >= 0 for k in range(1, n + 1) for s in itertools.combinations(range(n), k))


def _json(capsys: Any, *argv: str) -> tuple[int, dict[str, Any]]:
    status = main(["check", "--json", *argv])
    out, _ = capsys.readouterr()
    return status, json.loads(out)


def test_a_norm_bound_premise_holds_exactly_on_the_printed_counterexample(capsys: Any) -> None:
    status, obj = _json(capsys, "--trials", "40", TABLE[1][0])
    assert status == 1 and obj["verdict"] == "refuted"
    cx = obj["counterexample"]
    bound = Fraction(1, 10)
    for name, value in cx["values"].items():
        j = _exact(value)
        gram = _mul([list(r) for r in zip(*j)], j)  # ‖J‖ <= 1/10  <=>  I/100 - JᵀJ psd
        n = len(gram)
        assert _psd([[(bound * bound if i == k else 0) - gram[i][k] for k in range(n)] for i in range(n)]), name
    assert cx["certified"]["interval"][1] < 0  # the enclosure of the margin is below 0


@pytest.mark.parametrize(
    "text,prop",
    [
        ("det(A) > 0 where A psd", "psd"),
        ("N^2 = 0 where N nilpotent", "nilpotent"),
        ("x^T A x > 0 where A psd, x vector", "psd"),
        ("norm(Q + I) = 2 where Q orthogonal", "orthogonal"),
    ],
)
def test_refutations_meet_their_premises_as_printed(capsys: Any, text: str, prop: str) -> None:
    status, obj = _json(capsys, "--trials", "40", text)
    assert status == 1
    name = {"psd": "A", "nilpotent": "N", "orthogonal": "Q"}[prop]
    m = _exact(obj["counterexample"]["values"][name])
    n = len(m)
    if prop == "psd":
        assert _psd(m)
    elif prop == "nilpotent":
        power = m
        for _ in range(n - 1):
            power = _mul(power, m)
        assert all(e == 0 for row in power for e in row)
    else:
        assert _mul([list(r) for r in zip(*m)], m) == [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]


# ----------------------------------------------------------------------------- margins

_MARGINS = st.one_of(
    st.just("0"),
    st.builds(lambda s, k, d: f"{s}{d}e-{k}", st.sampled_from(["", "-"]), st.integers(0, 30), st.integers(1, 9)),
)
_TEMPLATES = [
    "1 + {m} {op} 1",  # a constant: certified arithmetic alone
    "c + {m} {op} c where 0 <= c <= 1",
    "norm(J) + {m} {op} norm(J) where norm(J) <= 2",
    "exp(c) + {m} {op} exp(c) where -1 <= c <= 1",
]


def _truth(m: str, op: str) -> bool:
    x = Fraction(m)
    return {"<=": x <= 0, "<": x < 0, ">=": x >= 0, ">": x > 0, "=": x == 0}[op]


@settings(max_examples=40, deadline=None)
@given(m=_MARGINS, op=st.sampled_from(["<=", "<", ">=", ">", "="]), template=st.sampled_from(_TEMPLATES))
def test_tiny_margins_are_right_or_undecided(m: str, op: str, template: str) -> None:
    """`lhs + m op lhs` is true exactly when `m op 0`: margins down to 1e-30, both signs
    and exactly 0. The verdict is right or undecided, never a wrong yes or no."""
    v = check(template.format(m=m, op=op), trials=16, dim=2)
    if _truth(m, op):
        assert v.verdict in (Outcome.PROVED, Outcome.HOLDS, Outcome.UNDECIDED), (m, op, v.counterexample)
    else:
        assert v.verdict in (Outcome.REFUTED, Outcome.UNDECIDED), (m, op, v.method)


#: values without an mpmath.iv function: singular values, eigenvalues of a symmetric
#: matrix (inertia), the determinant and exponential of a matrix
_MATRIX_TEMPLATES = [
    "smin(A) + {m} {op} smin(A)",
    "max(eig(S)) + {m} {op} max(eig(S)) where S symmetric",
    "det(exp(A)) + {m} {op} det(exp(A)) where norm(A) <= 1",
    "norm(A B) + {m} {op} norm(A B)",
]


@settings(max_examples=30, deadline=None)
@given(m=_MARGINS, op=st.sampled_from(["<=", "<", ">=", ">", "="]), template=st.sampled_from(_MATRIX_TEMPLATES))
def test_tiny_margins_of_matrix_functions_are_right_or_undecided(m: str, op: str, template: str) -> None:
    """The same with the functions enclosed by symres itself (Jordan–Wielandt inertia,
    Laplace expansion, Taylor remainder)."""
    v = check(template.format(m=m, op=op), trials=8, dim=2)
    if _truth(m, op):
        assert v.verdict in (Outcome.PROVED, Outcome.HOLDS, Outcome.UNDECIDED), (m, op, v.counterexample)
    else:
        assert v.verdict in (Outcome.REFUTED, Outcome.UNDECIDED), (m, op, v.method)


def test_near_zero_constant_is_decided_by_widening_precision(capsys: Any) -> None:
    """exp(1)^2 + 1e-300 > exp(2): the margin is 1e-300, decided once the enclosure is
    narrower than that (at more digits than the first pass)."""
    status, obj = _json(capsys, "exp(1)^2 + 1e-300 > exp(2)")
    assert status == 0 and obj["verdict"] == "proved"
    status, obj = _json(capsys, "exp(1)^2 - 1e-300 > exp(2)")
    assert status == 1 and obj["verdict"] == "refuted"
    assert obj["counterexample"]["certified"]["digits"] > 300


@pytest.mark.parametrize(
    "text,verdict",
    [
        ("(-1)^(10^7) = 1", {"proved"}),  # an integer power of a negative number, by binary powering
        ("(-2)^(10^12) > 0", {"proved"}),
        ("0^(1/2) = 0", {"proved"}),
        ("exp(-exp(100)) > 0", {"proved"}),  # exp beyond ±10^6: enclosed by powers of 2
        ("exp(exp(1000)) > 10^10000", {"proved"}),
        ("exp(1e7) < exp(1e7 - 1)", {"refuted", "undecided"}),  # false; the coarse enclosure may not show it
    ],
)
def test_constants_with_huge_values(text: str, verdict: set[str]) -> None:
    assert str(check(text).verdict) in verdict


def test_undecided_shows_the_interval(capsys: Any) -> None:
    """exp(1)^2 < exp(2) is false (equal), but no precision can show it: undecided, exit 3."""
    status = main(["check", "exp(1)^2 < exp(2)"])
    out, _ = capsys.readouterr()
    assert status == 3 and "undecided" in out and "contains 0" in out
    status, obj = _json(capsys, "exp(1)^2 < exp(2)")
    assert status == 3 and obj["verdict"] == "undecided"
    lo, hi = obj["interval"]["lo"], obj["interval"]["hi"]
    assert lo <= 0 <= hi and hi - lo < 1e-100


# ----------------------------------------------------------------------------- budgets

ADVERSARIAL = [
    "c <= 1e999999999",
    "norm(prod(l=1..1000000000, I+J_l)) >= 0",
    "A^1000000000 = A A",
    "A^1000 = A A",
    "9^(9^9) >= c",
    "(1-c)^L <= 1 where L = 10^12, 0 <= c <= 1",
    "exp(" * 20 + "c" + ")" * 20 + " > 0",
    "1e400 = 1",
    " + ".join(["c"] * 333) + " >= 0",
    " + ".join(["c"] * 999) + " >= -1e9",
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_adversarial_statements_end_within_budget(capsys: Any, text: str) -> None:
    status = main(["check", "--trials", "20", "--timeout", "4", text])
    _, err = capsys.readouterr()
    assert 0 <= status <= 3
    assert len(err.strip().splitlines()) <= 1 and "Traceback" not in err


def test_the_time_budget_ends_in_undecided() -> None:
    v = check("norm(prod(l=1..L, I+J_l)) >= 1 where norm(J_l) <= 0.1, L = 100", timeout=0.2)
    assert v.verdict == Outcome.UNDECIDED and v.exit_status == 3
    assert any("time budget" in n for n in v.notes)


def test_too_costly_literals_name_the_construct() -> None:
    with pytest.raises(SymresError, match=r"column 6: the literal 1e999999999"):
        check("c <= 1e999999999")


@pytest.mark.parametrize(
    "text,expect",
    [("A² = A A", "A^2 = A A"), ("A⁻¹ A = I", "A^-1 A = I"), ("½ c <= c", "(1/2) c <= c"), ("c⁰ = 1", "c^0 = 1")],
)
def test_superscripts_and_fractions_are_what_they_are(text: str, expect: str) -> None:
    assert grammar.render(grammar.parse(text).relation) == grammar.render(grammar.parse(expect).relation)


@pytest.mark.parametrize("text,col", [("x① = 1", 2), ("2½ = 5/2", 2)])
def test_other_numeric_characters_are_refused_with_a_column(text: str, col: int) -> None:
    with pytest.raises(SymresError, match=f"column {col}"):
        grammar.parse(text)


# ----------------------------------------------------------------------------- theorems


def test_submultiplicativity_is_proved_by_theorem(capsys: Any) -> None:
    status, obj = _json(capsys, "--trials", "20", "norm(A B) <= norm(A) norm(B)")
    assert status == 0 and obj["verdict"] == "proved"
    assert obj["theorems"] == ["submultiplicativity: ‖P Q‖ ≤ ‖P‖ ‖Q‖"]


def test_the_readme_stack_bound_chain() -> None:
    v = check("(1-c)^L <= smin(prod(l=1..L, I+J_l)) where norm(J_l) <= c, c <= 0.9, L = 20", **FAST)
    assert v.verdict == Outcome.PROVED
    names = " | ".join(v.theorems)
    for part in ("Weyl", "supermultiplicativity of σ_min", "(1 ± c)^L"):
        assert part in names


@pytest.mark.parametrize(
    "text",
    [
        "norm(A B) < norm(A) norm(B)",  # equality at A = 0
        "norm(prod(l=1..L, I+J_l)) <= 1.05^L where norm(J_l) <= 0.1",
        "smin(I + J) >= 1 - norm(J) / 2",
    ],
)
def test_theorems_do_not_prove_false_statements(text: str) -> None:
    assert check(text, **FAST).verdict == Outcome.REFUTED


def test_a_theorem_proof_is_a_proof_of_steps() -> None:
    """The one evidence model: the chain of theorems becomes a Proof whose steps pass."""
    proof = check("norm(A + B) <= norm(A) + norm(B)", trials=10).as_proof()
    (step,) = proof.steps
    assert proof.passed and proof.verdict == "proved" and step.check is not None and step.check.method == "theorem"
    assert step.check.numbers["theorems"] == ["triangle inequality: ‖P + Q‖ ≤ ‖P‖ + ‖Q‖"]
    refuted = check("0.000000001 <= 0").as_proof()
    assert not refuted.passed


def test_a_swallowed_deadline_is_raised_again() -> None:
    """A deadline's exception that lands where it cannot propagate (a weakref callback
    during garbage collection drops it) is raised again a moment later: the time budget
    still ends the computation."""
    import time

    from symres.budget import OutOfTime, time_limit

    swallowed = 0
    with pytest.raises(OutOfTime):
        with time_limit(0.05):
            try:
                while True:
                    pass
            except OutOfTime:
                swallowed += 1  # dropped, as an unraisable exception would be
            end = time.monotonic() + 5
            while time.monotonic() < end:
                pass
    assert swallowed == 1


def test_the_deadline_exceptions_are_not_reported_as_unraisable() -> None:
    import sys
    from types import SimpleNamespace

    from symres.budget import OutOfTime, time_limit

    seen: list[Any] = []
    before = sys.unraisablehook
    sys.unraisablehook = seen.append
    try:
        with time_limit(60):
            for value in (OutOfTime(), ValueError("a real problem")):
                sys.unraisablehook(SimpleNamespace(exc_type=type(value), exc_value=value, exc_traceback=None))  # type: ignore[arg-type]
    finally:
        sys.unraisablehook = before
    assert [type(u.exc_value) for u in seen] == [ValueError]
