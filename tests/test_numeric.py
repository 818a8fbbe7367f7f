import math

import numpy as np
import pytest
import sympy as sp

from symres.activations import ACTIVATIONS, get_activation
from symres.errors import SymresError
from symres.expr import Deriv, Diag, add, apply, matmul
from symres.numeric import check_equal, evaluate, parse_value

d = 3
x = sp.MatrixSymbol("x", d, 1)
W = sp.MatrixSymbol("W_1", d, d)


@pytest.mark.parametrize(
    "text, shape, expected",
    [
        ("I", (2, 2), np.eye(2)),
        ("0", (2, 1), np.zeros((2, 1))),
        ("2.5", (2, 2), 2.5 * np.eye(2)),
        ("3", (2, 1), np.full((2, 1), 3.0)),
        ("-1,1", (2, 1), np.array([[-1.0], [1.0]])),
        ("1,2;3,4", (2, 2), np.array([[1.0, 2.0], [3.0, 4.0]])),
        ("0.5", (1, 1), np.array([[0.5]])),
    ],
)
def test_parse_value(text, shape, expected):
    np.testing.assert_array_equal(parse_value(text, shape), expected)


@pytest.mark.parametrize(
    "text, shape, message",
    [
        ("I", (2, 1), "square"),
        ("1,2,3", (2, 1), "got 3 entries, expected a vector of 2 entries"),
        ("1,2;3", (2, 2), "rows of different lengths"),
        ("one", (2, 1), "accepted: I, 0, a finite number"),
        ("1,0;0,1;1,1", (2, 2), "3×2 matrix"),
        ("1,nan", (2, 1), "finite"),
        ("inf", (2, 2), "finite"),
    ],
)
def test_parse_value_errors(text, shape, message):
    with pytest.raises(SymresError, match=message):
        parse_value(text, shape, "x")


def test_check_equal_passes_and_reports():
    y = add(x, matmul(W, apply("sigma", x)))
    jac = add(sp.Identity(d), matmul(W, Diag(apply("sigma", x, 1))))
    good = check_equal(Deriv(y, x), jac, trials=300, seed=3)
    assert good.passed and good.trials == 300 and good.seed == 3 and good.max_error < 1e-8
    assert good.instance is None


def test_a_wrong_jacobian_is_caught_with_its_instance():
    y = add(x, matmul(W, apply("sigma", x)))
    wrong = add(sp.Identity(d), W)  # forgot the σ' gate
    c = check_equal(Deriv(y, x), wrong, activation="tanh", trials=200, seed=5)
    assert not c.passed and c.max_error > 1e-3 and c.seed == 5
    assert set(c.instance) == {"x", "W_1"} and len(c.instance["x"]) == d


def test_checks_are_reproducible_from_the_seed():
    y = matmul(W, apply("sigma", matmul(W, x)))
    a = check_equal(Deriv(y, x), matmul(W, W), activation="tanh", seed=11)
    b = check_equal(Deriv(y, x), matmul(W, W), activation="tanh", seed=11)
    assert a == b and not a.passed


def test_evaluate_reports_only_derivative_kinks():
    values = {"x": np.array([[0.0], [1.0], [-2.0]]), "W_1": np.eye(3)}
    out, kinks = evaluate({"y": apply("sigma", x), "J": Diag(apply("sigma", x, 1))}, values)
    np.testing.assert_array_equal(out["J"], np.diag([0.0, 1.0, 0.0]))
    assert [(k.component, k.argument, k.value) for k in kinks] == [(0, 0.0, 0.0)]


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_derivative_matches_sympy_and_differences(name):
    act = get_activation(name)
    u = sp.Symbol("u", real=True)
    pts = np.array([-2.3, -0.7, 0.4, 1.9])
    modules = [{"erf": np.vectorize(math.erf)}, "numpy"]
    sym_d = sp.lambdify(u, act.sympy_deriv(u), modules)
    sym_f = sp.lambdify(u, act.sympy_form(u), modules)
    np.testing.assert_allclose(act.numpy_deriv(pts), np.broadcast_to(sym_d(pts), pts.shape), rtol=1e-12)
    np.testing.assert_allclose(act.numpy_form(pts), np.broadcast_to(sym_f(pts), pts.shape), rtol=1e-12)
    h = 1e-6
    fd = (act.numpy_form(pts + h) - act.numpy_form(pts - h)) / (2 * h)
    np.testing.assert_allclose(act.numpy_deriv(pts), fd, rtol=1e-7, atol=1e-9)
    # the SymPy derivative is the derivative of the SymPy form (away from kinks)
    assert sp.simplify(sp.diff(act.sympy_form(u), u).subs(u, sp.Rational(3, 7)) - act.sympy_deriv(sp.Rational(3, 7))) == 0


def test_relu_kink_convention():
    relu = get_activation("relu")
    assert relu.numpy_deriv(np.array([0.0]))[0] == 0.0
    assert relu.kinks == (0.0,) and relu.convention == "ReLU'(0) := 0"
    assert relu.sympy_deriv(sp.Integer(0)) == 0
    with pytest.raises(SymresError, match="choose one of: relu, tanh"):
        get_activation("swish")
