"""symres.claims and `symres check`: parse, prove, hold numerically, refute."""

from __future__ import annotations

import builtins
import json
from typing import Any

import numpy as np
import pytest

from symres import grammar
from symres.claims import Verdict, check, format_value, parse, recheck
from symres.cli import main
from symres.errors import SymresError

EXAMPLE_2 = "norm(prod(l=1..L, I+J_l)) >= 1 where norm(J_l) <= 0.1, L = 100"
Q4 = "norm(prod(l=1..L, I+J_l)) >= 1"


def _members(cx: Any, base: str) -> list[np.ndarray]:
    """J_1, J_2, ... of a counterexample, in order."""
    subs = sorted(int(k.split("_")[1]) for k in cx.values if k.startswith(base + "_"))
    assert subs == list(range(1, len(subs) + 1))
    return [np.asarray(cx.values[f"{base}_{i}"], dtype=float) for i in subs]


def _stack(js: list[np.ndarray]) -> np.ndarray:
    """(I + J_L) ⋯ (I + J_1), written out independently of symres."""
    d = js[0].shape[0]
    out = np.eye(d)
    for j in js:
        out = (np.eye(d) + j) @ out
    return out


# ----------------------------------------------------------------------------- grammar


@pytest.mark.parametrize(
    "text,rendered",
    [
        ("(I+A)(I+B) = I + A + B + A B", "(I + A) (I + B) = I + A + B + A B"),
        ("norm(I+J) >= 1 - norm(J)", "norm(I + J) >= 1 - norm(J)"),
        ("prod(l=1..L, I+J_l) = I", "prod(l=1..L, I + J_l) = I"),
        ("(A B)^T = B^T A^T", "(A B)^T = B^T A^T"),
        ("A ᵀ = A", "A^T = A"),
        ("2*J ≤ 3 · c", "2 J <= 3 c"),
        ("(1-c)^L <= smin(J) <= (1+c)^L", "(1 - c)^L <= smin(J) <= (1 + c)^L"),
        ("J_{12} = -c I", "J_12 = -c I"),
    ],
)
def test_parse_and_render(text: str, rendered: str) -> None:
    assert grammar.render(grammar.parse(text).relation) == rendered


def test_prod_is_ordered_later_index_on_the_left() -> None:
    assert check("prod(l=1..3, I+J_l) = (I+J_3)(I+J_2)(I+J_1)").verdict == "proved"
    assert check("prod(l=1..3, I+J_l) = (I+J_1)(I+J_2)(I+J_3)").verdict == "refuted"


def test_kinds_and_constraints() -> None:
    claim = parse("norm(prod(l=1..L, I+J_l)) >= (1-c)^L where norm(J_l) <= c, 0 <= c < 1, x vector")
    kinds = {k: v.value for k, v in claim.signature.kinds.items()}
    assert kinds == {"J": "matrix", "L": "scalar", "c": "scalar", "x": "vector"}
    assert claim.signature.integers == frozenset({"L"})
    bounds = {(b.target.label, b.upper, b.strict, b.on_norm) for b in claim.rules.bounds}
    assert bounds == {("J_l", True, False, True), ("c", False, False, False), ("c", True, True, False)}


@pytest.mark.parametrize(
    "text,column",
    [
        ("__import__('os').system('echo pwned')", 1),
        ("norm(J) <=", 11),
        ("A <= B", 3),
        ("I + 1 = J", 3),
        ("norm(J) + 1", 12),
        ("prod(l=1..L, I+J_l = I", 20),
        ("eig(I+J) = 1 + eig(J) where J diag", 31),
        ("eval(1) = 1", 1),
        ("os.system(1) = 1", 3),
        ("x = 1; import os", 6),
        ("eig(x) = 1 where x vector", 1),
        ("norm(J) <= 0.1 where norm(J) <= 0.1, ", 38),
        ("", 1),
        ("norm(prod(l=1..2, I+J_l)) >= 0 where norm(J) <= 0.1", 43),
        ("norm(I+J) >= 0 where norm(J_l) <= 0.1", 27),
    ],
)
def test_malformed_statement_names_the_column(text: str, column: int) -> None:
    with pytest.raises(SymresError) as err:
        parse(text)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"malformed statement, column {column}:")


def test_deep_nesting_is_rejected_not_a_crash() -> None:
    with pytest.raises(SymresError, match="nested deeper"):
        parse("(" * 500 + "1" + ")" * 500 + " = 1")


def test_hostile_input_runs_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: Any) -> None:
    seen: list[str] = []
    real_eval, real_exec = builtins.eval, builtins.exec

    def spy(real: Any) -> Any:
        def inner(source: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(str(source))
            return real(source, *args, **kwargs)

        return inner

    monkeypatch.setattr(builtins, "eval", spy(real_eval))
    monkeypatch.setattr(builtins, "exec", spy(real_exec))
    marker = tmp_path / "pwned"
    hostile = [
        f"__import__('os').system('touch {marker}')",
        f"exec(\"open('{marker}','w')\") = 1",
        "lambda: 0 = 1",
        "A.__class__ = A",
        "$(touch pwned) = 1",
    ]
    for text in hostile:
        assert main(["check", text]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "column" in err
    assert not marker.exists()
    assert not any("touch" in s or "pwned" in s or "open(" in s for s in seen)


# ----------------------------------------------------------------------------- proved


@pytest.mark.parametrize(
    "text",
    [
        "(I+A)(I+B) = I + A + B + A B",
        "eig(I+J) = 1 + eig(J)",
        "eig(A B) = eig(B A)",
        "tr(A B) = tr(B A)",
        "(A B)^T = B^T A^T",
        "svals(-2 J) = 2 svals(J)",
        "(A+B)^2 = A^2 + 2 A B + B^2 where A, B commute",
        "A B = B A where A, B diagonal",
        "J = J^T where J symmetric",
        "prod(l=1..2, I+J_l) = I + J_1 + J_2 + J_2 J_1",
        "sum(l=1..L, J_l) = L J where J_l = J",
        "svals(I + alpha J) = 1 where alpha = 0",
        "c^2 >= 0",
    ],
)
def test_proved_symbolically(text: str) -> None:
    v = check(text, trials=50)
    assert v.verdict == "proved", v.method
    assert v.method.startswith("symbolic:")
    assert v.summary == "proved symbolically"
    assert v.notes == ()  # the numeric cross-check found nothing and discarded nothing


def test_commuting_and_diagonal_draws_satisfy_their_constraints() -> None:
    for text in ("A B = B A where A, B commute", "A B = B A where A B diagonal", "A = A^T where A symmetric"):
        v = check(text, trials=100, dim=4)
        assert v.verdict == "proved" and v.notes == ()
        assert v.worst_margin is not None and v.worst_margin > -1e-12


# ----------------------------------------------------------------------------- holds


@pytest.mark.parametrize(
    "text",
    [
        "abs(eig(J)) <= norm(J)",
        "smin(I + J) > 0 where norm(J) < 1",
        "x^T A x >= 0 where A psd, x vector",
        "norm(Q x) = norm(x) where Q orthogonal, x vector",
        "det(A) >= 0 where A psd",
    ],
)
def test_holds_numerically_is_not_called_proved(text: str) -> None:
    v = check(text, trials=120, seed=3)
    assert v.verdict == "holds", v.counterexample
    assert v.summary == "holds numerically (120 trials, seed 3)"
    assert "proved" not in v.summary and "not a proof" in v.method
    assert v.counterexample is None and v.search_candidates > 0


def test_norm_bound_is_sampled_up_to_and_at_the_bound() -> None:
    v = check("max(svals(J)) <= 0.3 where norm(J) <= 0.3", trials=50)
    assert v.verdict == "holds"
    assert v.worst_margin is not None and abs(v.worst_margin) < 1e-12  # the boundary ‖J‖ = 0.3 was drawn


# ----------------------------------------------------------------------------- refuted


def test_singular_values_do_not_shift_like_eigenvalues() -> None:
    v = check("svals(I+J) = 1 + svals(J)")
    assert v.verdict == "refuted" and not v.ok
    cx = v.counterexample
    assert cx is not None and cx.dim == 1
    j = np.asarray(cx.values["J"])
    d = j.shape[0]
    lhs = np.sort(np.linalg.svd(np.eye(d) + j, compute_uv=False))
    rhs = 1 + np.sort(np.linalg.svd(j, compute_uv=False))
    assert not np.allclose(lhs, rhs)
    np.testing.assert_allclose(lhs, cx.links[0].lhs_value)


def test_product_expanded_in_the_wrong_order() -> None:
    v = check("(I+A)(I+B) = I + A + B + B A")
    cx = v.counterexample
    assert v.verdict == "refuted" and cx is not None and cx.dim == 2  # in dimension 1 everything commutes
    a, b = np.asarray(cx.values["A"]), np.asarray(cx.values["B"])
    i = np.eye(2)
    assert not np.allclose((i + a) @ (i + b), i + a + b + b @ a)
    assert set(np.unique(np.concatenate([a.ravel(), b.ravel()]))) <= {-1.0, 0.0, 1.0}  # minimised


def test_seed_001_example_2_is_false() -> None:
    v = check(EXAMPLE_2)
    cx = v.counterexample
    assert v.verdict == "refuted" and cx is not None
    assert cx.integers == {"L": 100}
    js = _members(cx, "J")
    assert len(js) == 100
    assert all(np.linalg.norm(j, 2) <= 0.1 + 1e-12 for j in js)
    value = np.linalg.norm(_stack(js), 2)
    assert value < 1
    assert value == pytest.approx(0.9**100)  # J_ℓ = -0.1 I, the worst case
    assert cx.grouped()[0][0] == "J_l (l = 1..100)"


def test_seed_001_q4_gradient_can_vanish() -> None:
    v = check(Q4)
    cx = v.counterexample
    assert v.verdict == "refuted" and cx is not None
    js = _members(cx, "J")
    assert len(js) == cx.integers["L"] == 1
    assert np.linalg.norm(_stack(js), 2) < 1


@pytest.mark.parametrize(
    "text",
    [
        "svals(I+J) = 1 + svals(J)",
        "(I+A)(I+B) = I + A + B + B A",
        EXAMPLE_2,
        Q4,
        "norm(A B) = norm(A) norm(B)",
        "rho(A B) <= rho(A) rho(B)",
        "norm(I + J) >= 1 where J symmetric",
        "(A+B)^2 = A^2 + 2 A B + B^2",
        "smin(I + J) > 0 where norm(J) <= 1",
        "N^3 = 0 where N nilpotent",
        "(1 - c)^L <= (1 + c)^L",
    ],
)
def test_false_statements_are_refuted_and_recheck(text: str) -> None:
    v = check(text, trials=100)
    assert v.verdict == "refuted"
    assert v.counterexample is not None
    assert recheck(text, v.counterexample)
    assert any(ln.violated for ln in v.counterexample.links)


def test_refutation_is_reproducible_from_the_seed() -> None:
    a = check("norm(A B) = norm(A) norm(B)", seed=5).to_json()
    b = check("norm(A B) = norm(A) norm(B)", seed=5).to_json()
    assert a == b and a["seed"] == 5 and a["counterexample"]["seed"] == 5


def test_unsatisfiable_constraints_are_bad_input() -> None:
    with pytest.raises(SymresError, match="no random instance"):
        check("norm(J) >= 0 where norm(J) <= -1")


def test_format_value() -> None:
    assert format_value(np.array([[1.0, 0.0], [0.0, -0.5]])) == "[[1, 0], [0, -0.5]]"
    assert format_value(np.array([2.0, 0.0])) == "{2, 0}"
    assert format_value(1 + 2j) == "1+2i"


# ----------------------------------------------------------------------------- command line


def _run(capsys: Any, *argv: str) -> tuple[int, str, str]:
    status = main(["check", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_exit_codes(capsys: Any) -> None:
    assert _run(capsys, "(I+A)(I+B) = I + A + B + A B")[0] == 0
    status, out, _ = _run(capsys, "abs(eig(J)) <= norm(J)")
    assert status == 0 and "holds numerically (200 trials, seed 0)" in out
    status, out, _ = _run(capsys, "svals(I+J) = 1 + svals(J)")
    assert status == 1 and "J = [[-1]]" in out and "re-verified" in out
    status, out, err = _run(capsys, "norm(J) <=")
    assert status == 2 and out == "" and err.strip().endswith("found the end of the statement")


def test_cli_json_counterexample_rechecks(capsys: Any) -> None:
    status, out, _ = _run(capsys, "--json", "--seed", "2", "--trials", "64", EXAMPLE_2)
    obj = json.loads(out)
    assert status == 1
    assert obj["verdict"] == "refuted" and obj["seed"] == 2 and obj["trials"] == 64
    assert {"statement", "method", "worst_margin", "tolerance", "counterexample"} <= set(obj)
    cx = obj["counterexample"]
    js = [np.array(cx["values"][f"J_{i}"]) for i in range(1, 101)]
    value = np.linalg.norm(_stack(js), 2)
    assert value == pytest.approx(cx["sides"][0]["lhs_value"]) and value < 1
    assert cx["sides"][0]["holds"] is False


def test_cli_json_holds(capsys: Any) -> None:
    status, out, _ = _run(capsys, "--json", "--dim", "2", "--trials", "50", "abs(eig(J)) <= norm(J)")
    obj = json.loads(out)
    assert status == 0
    assert obj["verdict"] == "holds" and obj["dim"] == 2 and obj["search"]["dims"] == [2]
    assert obj["summary"] == "holds numerically (50 trials, seed 0)"


def test_verdict_json_roundtrip_types() -> None:
    v: Verdict = check("eig(I+J) = 1 + eig(J)", trials=20)
    obj = json.loads(json.dumps(v.to_json()))
    assert obj["verdict"] == "proved" and obj["tolerance"] == 1e-6


def test_one_by_one_eigenvalues_are_confirmed_in_high_precision():
    """mpmath's eig returns a tuple for 1×1 matrices; a false statement must not 'hold'."""
    v = check("abs(eig(J)) <= 0.1 where J = 0.5 I", dim=1)
    assert v.verdict == "refuted"


def test_a_true_strict_inequality_near_its_boundary_is_not_refuted():
    v = check("abs(eig(I + J)) < 2 where norm(J) < 1", dim=2)
    assert v.verdict != "refuted"


def test_a_strict_inequality_false_at_equality_is_refuted():
    v = check("norm(I+J) < 1 + norm(J)")
    assert v.verdict == "refuted"
