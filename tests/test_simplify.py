"""Simplification as checked proof steps (symres.simplify): common factors, canonical order."""

import numpy as np
import sympy as sp
from sympy.matrices.expressions import Identity

from symres.blocks import derive
from symres.expr import Diag, add, matmul
from symres.numeric import check_equal
from symres.render import text
from symres.simplify import canonical_order, factor_common

d = 3
A, B, C, D = (sp.MatrixSymbol(n, d, d) for n in "ABCD")
a, b = sp.MatrixSymbol("a", d, 1), sp.MatrixSymbol("b", d, 1)


def _same(u, v):
    assert check_equal(u, v, trials=20, seed=1).passed


def test_common_left_and_right_factors():
    left = add(matmul(A, B), matmul(A, C))
    assert text(factor_common(left)) == "A (B + C)"
    right = add(matmul(B, A), matmul(-1, C, A))
    assert text(factor_common(right)) == "(B - C) A"
    for e in (left, right):
        _same(e, factor_common(e))


def test_the_largest_common_factor_comes_out_and_other_terms_stay():
    e = add(matmul(Diag(a), Diag(b), A), D, matmul(-1, Diag(b), Diag(b), A), matmul(B, C))
    f = factor_common(e)
    assert text(f) == "(diag(a) - diag(b)) diag(b) A + D + B C"
    _same(e, f)


def test_no_factor_without_a_saving_and_no_identity_introduced():
    assert factor_common(add(matmul(A, B), matmul(C, D))) == add(matmul(A, B), matmul(C, D))
    e = add(matmul(A, B), A)  # A (B + I) would bring in an identity: left as it is
    assert factor_common(e) == e


def test_canonical_order_puts_the_identity_path_first():
    e = add(matmul(A, B), Identity(d), matmul(-1, C), D)
    o = canonical_order(e)
    assert text(o) == "I + D - C + A B"
    _same(e, o)


def test_gated_block_factors_its_gate_derivative():
    proof = derive("gated-exclusive", trials=30)
    assert proof.passed
    assert "(diag(W₂ σ(W₁ x)) - diag(x)) diag(sigmoid'(W_g x + b_g)) W_g" in text(proof.result)
    assert text(proof.result).startswith("diag(𝟙 - sigmoid(W_g x + b_g)) + ")
    factored = [s for s in proof.steps if s.short == "common factor"]
    assert factored and all(s.check.passed for s in factored)
    assert factored[0].check.method == "symbolic"


def test_postact_shows_the_identity_first_inside_its_gate():
    proof = derive("postact", trials=30)
    assert text(proof.result) == "diag(σ'(W₂ σ(W₁ x) + x)) (I + W₂ diag(σ'(W₁ x)) W₁)"
    assert any(s.short == "order of terms" and s.check.passed for s in proof.steps)


def test_factored_jacobian_equals_finite_differences():
    from helpers import fd_jacobian

    from symres.numeric import compile_expr, draw

    proof = derive("highway", activation="tanh", trials=30)
    inst = proof.meta["instance"]
    batch = draw(inst.symbols, inst.domains, 2, np.random.default_rng(3))
    J = compile_expr(proof.result, inst.symbols, "tanh")(batch)
    f = compile_expr(inst.forward, inst.symbols, "tanh")
    for k in range(2):
        point = {n: v[k : k + 1] for n, v in batch.items()}

        def fwd(x, point=point):
            return f({**point, "x": x.reshape(1, -1, 1)})[0, :, 0]

        np.testing.assert_allclose(J[k], fd_jacobian(fwd, batch["x"][k, :, 0]), rtol=1e-6, atol=1e-7)
