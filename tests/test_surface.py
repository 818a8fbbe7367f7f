"""The library surface: Proof.at, the short repr, as_dict equal to --json."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import fd_jacobian

import symres
from symres.cli import main


def _relu_preact(x, W1, W2):
    r = lambda v: np.maximum(v, 0)  # noqa: E731
    return x + W2 @ r(W1 @ r(x))


def test_at_gives_value_output_and_kinks_against_finite_differences():
    rng = np.random.default_rng(3)
    x, W1, W2 = rng.normal(size=3), rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    pt = symres.derive("preact", check=False).at(x=x, W1=W1, W2=W2)
    assert np.allclose(pt.output, _relu_preact(x, W1, W2))
    assert np.allclose(pt.value, fd_jacobian(lambda v: _relu_preact(v, W1, W2), x), atol=1e-6)
    assert pt.kinks == ()


def test_at_reports_kinks_and_reads_let_strings():
    pt = symres.derive("preact", check=False).at(x="1,-1,0", W_1="I", W2=np.eye(3))
    assert np.allclose(pt.output, [2, -1, 0])
    assert np.allclose(pt.value, np.diag([2, 1, 1]))  # I + diag(1, 0, 0)² with ReLU'(0) := 0
    assert {k.component for k in pt.kinks} == {1, 2} and all(k.convention == "ReLU'(0) := 0" for k in pt.kinks)


@pytest.mark.parametrize(
    "values, message",
    [
        ({"x": "1,2,3", "W1": "I"}, "no value for W_2"),
        ({"x": "1,2,3", "W1": "I", "W2": "I", "V": "I"}, "no symbol 'V'"),
        ({"x": np.ones(2), "W1": "I", "W2": "I"}, "expected shape 3×1"),
        ({"x": [1, np.inf, 0], "W1": "I", "W2": "I"}, "finite"),
    ],
)
def test_at_rejects_bad_values_in_one_line(values, message):
    with pytest.raises(symres.SymresError, match=message):
        symres.derive("preact", check=False).at(**values)


def test_at_equals_the_cli_let_json(capsys):
    main(["derive", "preact", "--trials", "5", "--json", "--let", "x=1,-1,0", "--let", "W1=I", "--let", "W2=2"])
    cli = json.loads(capsys.readouterr().out)
    proof = symres.derive("preact", trials=5)
    assert {k: v for k, v in cli.items() if k not in ("value", "output", "kinks")} == json.loads(json.dumps(proof.as_dict()))
    pt = proof.at(x="1,-1,0", W1="I", W2="2").as_dict()
    assert {k: cli[k] for k in ("value", "output", "kinks")} == pt
    assert {"block", "forward", "jacobian", "activation"} <= set(proof.as_dict())


def test_short_repr():
    r = repr(symres.derive("residual", trials=5))
    assert r.startswith("<Proof 'Jacobian of the residual block") and r.endswith("steps, passed>") and "\n" not in r


def test_jacobian_prints_without_class_names():
    import sympy as sp

    from symres.expr import add, apply, matmul

    x, W1, W2 = sp.MatrixSymbol("x", 3, 1), sp.MatrixSymbol("W_1", 3, 3), sp.MatrixSymbol("W_2", 3, 3)
    J = symres.jacobian(add(x, matmul(W2, apply("tanh", matmul(W1, x)))), x)
    for shown in (str(J), repr(J), J._repr_latex_()):
        assert "Elementwise" not in shown and "Diag(" not in shown
    assert "diag(tanh'(W₁ x))" in str(J)
    assert r"\operatorname{diag}\left(\tanh'\left(W_{1} x\right)\right)" in J._repr_latex_()
