import sympy as sp

from symres.expr import Deriv, Diag, Elementwise, add, apply, matmul
from symres.symbolic import explicit, symbolic_equal

x = sp.MatrixSymbol("x", 2, 1)
W = sp.MatrixSymbol("W_1", 2, 2)


def test_explicit_entries():
    m = explicit(matmul(W, x))
    assert m.shape == (2, 1)
    assert str(m[0, 0]) == "W_1[0,0]*x[0,0] + W_1[0,1]*x[1,0]"


def test_chain_rule_is_shown_for_any_sigma():
    lhs = Deriv(apply("sigma", matmul(W, x)), x)
    rhs = matmul(Diag(Elementwise("sigma", matmul(W, x), 1)), W)
    check = symbolic_equal(lhs, rhs)
    assert check is not None and check.passed and check.method == "symbolic"


def test_wrong_identities_are_not_shown():
    lhs = Deriv(apply("sigma", matmul(W, x)), x)
    assert symbolic_equal(lhs, matmul(W, Diag(Elementwise("sigma", matmul(W, x), 1)))) is None  # wrong order
    assert symbolic_equal(lhs, matmul(Diag(apply("sigma", matmul(W, x))), W)) is None  # σ for σ'
    assert symbolic_equal(add(x, matmul(W, x)), add(matmul(W, x), x)) is not None  # sums commute
