import pytest
import sympy as sp

from symres.calculus import differentiate, jacobian, shortcut_term
from symres.errors import SymresError
from symres.expr import Deriv, Diag, Elementwise, Kron, add, apply, hadamard, matmul

d = 3
x = sp.MatrixSymbol("x", d, 1)
W1, W2, Ws = (sp.MatrixSymbol(n, d, d) for n in ("W_1", "W_2", "W_s"))
I = sp.Identity(d)


def test_sympy_mixes_layouts():
    """Why symres has its own chain rule: SymPy 1.14's MatrixExpr.diff returns the
    transpose (denominator layout) for a linear term but not once an elementwise
    function is involved. Numerator layout would give I + W2 W1 in the first case."""
    assert (x + W2 * W1 * x).diff(x) == I + W1.T * W2.T
    nonlinear = (x + W2 * (W1 * x).applyfunc(sp.tanh)).diff(x)
    assert not nonlinear.has(sp.Transpose)  # the same library, the other layout


@pytest.mark.parametrize(
    "expr, expected",
    [
        (x, I),
        (matmul(W1, x), W1),
        (add(x, matmul(W2, W1, x)), add(I, matmul(W2, W1))),
        (apply("sigma", x), Diag(Elementwise("sigma", x, 1))),
        (add(x, matmul(W2, apply("sigma", matmul(W1, x)))), add(I, matmul(W2, Diag(Elementwise("sigma", matmul(W1, x), 1)), W1))),
        (matmul(sp.Symbol("alpha"), W1, x), matmul(sp.Symbol("alpha"), W1)),
        (hadamard(x, x), matmul(2, Diag(x))),  # diag(x) + diag(x), terms collected
        (matmul(Diag(x), x), matmul(2, Diag(x))),
        (sp.MatrixSymbol("b", d, 1), sp.ZeroMatrix(d, d)),
    ],
)
def test_jacobian_numerator_layout(expr, expected):
    assert jacobian(expr, x) == expected


def test_rules_of_preact_in_order():
    y = add(x, matmul(W2, apply("sigma", matmul(W1, apply("sigma", x)))))
    rules = [s.rule.name for s in differentiate(y, x).steps]
    assert rules == ["sum", "identity", "linear", "chain", "linear", "chain", "identity"]


def test_every_step_removes_a_derivative_or_rewrites_one():
    y = apply("sigma", add(matmul(W2, apply("sigma", matmul(W1, x))), x))
    D = differentiate(y, x)
    assert D.steps[0].before == Deriv(y, x)
    assert not D.result.has(Deriv)
    for a, b in zip(D.steps, D.steps[1:]):
        assert a.after == b.before


def test_shortcut_terms():
    assert shortcut_term(add(I, W1))[0] == "identity"
    kind, gate = shortcut_term(matmul(Diag(x), add(W1, I)))
    assert kind == "gated" and gate == Diag(x)
    assert shortcut_term(add(Ws, W1)) == ("other", Ws)
    assert shortcut_term(matmul(W2, W1))[0] == "none"


def test_unsupported_expression_raises():
    # σ applied to a matrix that depends on x is outside the vocabulary (σ'(x) is not: σ'' exists);
    # the message is in symres notation, never a SymPy class name
    with pytest.raises(SymresError, match="cannot differentiate the factor σ") as err:
        jacobian(matmul(Elementwise("sigma", matmul(x, sp.Transpose(x))), x), x)
    assert "MatMul" not in str(err.value) and "Elementwise" not in str(err.value)


def test_wrt_a_matrix_gives_the_kronecker_form():
    # ∂(W₁x)/∂vec(W₁) = xᵀ ⊗ I (vec stacks columns)
    assert jacobian(matmul(W1, x), W1) == Kron(sp.Transpose(x), I)


def test_wrt_must_be_a_symbol():
    with pytest.raises(SymresError):
        differentiate(x, matmul(W1, x))
