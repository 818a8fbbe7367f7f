"""The Cookbook's matrix functions tr, det, log det and X⁻¹ (of matrices that depend on x)
and division by a 1×1 expression u/s: derived Jacobians against torch autograd and
central finite differences at random points for d = 1..4, the proof's own checks, the
domains (a singular X, det X ≤ 0 under log det, s = 0) at a given point and in random
checks, printing, and the command line end to end."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
import sympy as sp
from helpers import fd_jacobian, torch_derivative, torch_hessian, torch_jacobian

from symres.blocks import Block, derive
from symres.calculus import differentiate, jacobian, transpose_of
from symres.cli import main
from symres.errors import SymresError
from symres.expr import Deriv, Det, Inv, LogDet, Tr, add, matmul
from symres.latex import latex
from symres.numeric import check_equal, compile_expr, draw
from symres.render import text
from symres.symbolic import symbolic_equal

#: user blocks of the new vocabulary, each as a user would write it
BLOCKS = {
    "inverse": lambda v: v.x + v.inv(v.matrix("A") + v.x @ v.x.T) @ v.x,
    "inverse-spd": lambda v: v.x + v.inv(v.eye() + v.x @ v.x.T + v.matrix("A") @ v.matrix("A").T) @ v.sigma(v.x),
    "inverse-middle": lambda v: v.matrix("B") @ v.inv(v.eye() + v.diag(v.sigma(v.x))) @ (v.matrix("A") @ v.x),
    "inverse-transposed": lambda v: (v.x.T @ v.inv(v.eye() + v.x @ v.x.T).T @ v.matrix("A")).T,
    "logdet": lambda v: v.logdet(v.eye() + v.x @ v.x.T) * v.x,
    "logdet-weights": lambda v: v.x + v.logdet(v.eye() + v.matrix("W") @ v.diag(v.x * v.x) @ v.matrix("W").T) * v.F(v.x),
    "det": lambda v: v.det(v.eye() + v.x @ v.x.T) * v.x,
    "det-general": lambda v: v.det(v.matrix("A") + v.diag(v.sigma(v.x))) * v.sigma(v.x),
    "trace": lambda v: v.tr(v.diag(v.x) @ v.matrix("A")) * v.x,
    "trace-of-inverse": lambda v: v.tr(v.inv(v.eye() + v.x @ v.x.T) @ v.matrix("A")) * v.x,
    "trace-quadratic": lambda v: v.x + v.tr(v.x @ v.x.T @ v.matrix("A") @ v.diag(v.x)) * v.sigma(v.x),
    "quotient": lambda v: v.x / (v.x.T @ v.x),
    "quotient-sqrt": lambda v: v.x + v.F(v.x) / v.act("sqrt", 1 + v.x.T @ v.x),
    "quotient-scalar": lambda v: (v.x.T @ v.matrix("A") @ v.x) / (1 + v.x.T @ v.x) * v.x,
    "layernorm-by-hand": lambda v: v.x + (v.x - v.ones() @ (v.ones().T @ v.x) / v.d) / v.act("sqrt", (v.x.T @ v.x) / v.d + 1),
}


def _points(inst, J, n: int, seed: int):
    """n random points of the instance at which the Jacobian is defined (no singular X)."""
    batch = draw(inst.symbols, inst.domains, 4 * n, np.random.default_rng(seed))
    fn = compile_expr(J, inst.symbols, "tanh")
    with np.errstate(all="ignore"):
        values = fn(batch)
    ok = np.ones(values.shape[0], bool) if fn.singular is None else ~np.broadcast_to(fn.singular, values.shape[:1])
    keep = np.flatnonzero(ok & np.all(np.isfinite(values), axis=(-2, -1)))[:n]
    assert keep.size == n, "too few points where the block is defined"
    return [({k: v[i] for k, v in batch.items()}, values[i]) for i in keep]


@pytest.mark.parametrize("dim", [1, 2, 3, 4])
@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_jacobians_agree_with_torch_and_finite_differences(name, dim):
    inst = Block.define(name, BLOCKS[name]).instance(dim)
    J = jacobian(inst.forward, inst.x)
    forward = compile_expr(inst.forward, inst.symbols, "tanh")
    for point, value in _points(inst, J, 3, seed=dim):
        np.testing.assert_allclose(value, torch_jacobian(inst.forward, point, "tanh"), rtol=1e-9, atol=1e-10)

        def f(x, point=point):
            return forward({**{k: v[None] for k, v in point.items()}, "x": x.reshape(1, -1, 1)})[0, :, 0]

        np.testing.assert_allclose(value, fd_jacobian(f, point["x"].reshape(-1)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["inverse", "logdet", "det", "trace", "quotient", "layernorm-by-hand"])
def test_the_proof_passes_its_checks_and_each_rule_is_one_step(name):
    proof = derive(Block.define(name, BLOCKS[name]), dim=3, trials=40)
    assert proof.passed, [(s.reason, s.check) for s in proof.steps if s.check and not s.check.passed]
    reasons = " ".join(s.reason for s in proof.steps)
    expected = {
        "inverse": r"d(X^{-1}) = -X^{-1}\, dX\, X^{-1}",
        "logdet": r"d \log\det(X) = \operatorname{tr}(X^{-1} dX)",
        "det": r"d \det(X) = \det(X) \operatorname{tr}(X^{-1} dX)",
        "trace": r"d \operatorname{tr}(X) = \operatorname{tr}(dX)",
        "quotient": r"d(u/s) = du/s - u\, ds/s^{2}",
        "layernorm-by-hand": r"d(u/s) = du/s - u\, ds/s^{2}",
    }[name]
    assert expected in reasons


def test_known_closed_forms():
    # ∂(x/(xᵀx))/∂x = I/(xᵀx) − 2 x xᵀ/(xᵀx)²; ∂(log det(I + x xᵀ) x)/∂x = log det(I + x xᵀ) I + 2 x xᵀ (I + x xᵀ)⁻¹
    x = np.array([[0.3], [-1.2], [0.7]])
    inst = Block.define("q", BLOCKS["quotient"]).instance(3)
    got = compile_expr(jacobian(inst.forward, inst.x), inst.symbols)({"x": x[None]})[0]
    s = float((x.T @ x)[0, 0])
    np.testing.assert_allclose(got, np.eye(3) / s - 2 * x @ x.T / s**2, rtol=1e-13)
    inst = Block.define("l", BLOCKS["logdet"]).instance(3)
    got = compile_expr(jacobian(inst.forward, inst.x), inst.symbols)({"x": x[None]})[0]
    M = np.eye(3) + x @ x.T
    np.testing.assert_allclose(got, np.log(np.linalg.det(M)) * np.eye(3) + 2 * x @ x.T @ np.linalg.inv(M), rtol=1e-13)


@pytest.mark.parametrize("name", ["trace-of-inverse", "logdet-weights", "inverse-middle"])
def test_derivatives_with_respect_to_a_weight_agree_with_torch(name):
    inst = Block.define(name, BLOCKS[name]).instance(2)
    W = next(s for s in inst.symbols if isinstance(s, sp.MatrixSymbol) and s.shape[1] > 1)
    JW = jacobian(inst.forward, W)
    for point, value in _points(inst, JW, 2, seed=5):
        np.testing.assert_allclose(value, torch_derivative(inst.forward, point, "tanh", str(W)), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name", ["logdet", "det", "trace-of-inverse", "quotient"])
def test_hessians_agree_with_torch_and_are_symmetric(name):
    inst = Block.define(name, BLOCKS[name]).instance(2)
    g = sp.MatrixSymbol("g", int(inst.forward.shape[0]), 1)
    s = matmul(sp.Transpose(g), inst.forward)
    H = jacobian(transpose_of(jacobian(s, inst.x)), inst.x)
    for point, _ in _points(inst, jacobian(inst.forward, inst.x), 2, seed=5):
        gval = np.random.default_rng(1).normal(size=(int(g.shape[0]), 1))
        hess = compile_expr(H, [*inst.symbols, g], "tanh")({**{k: v[None] for k, v in point.items()}, "g": gval[None]})[0]
        np.testing.assert_allclose(hess, torch_hessian(inst.forward, point, "tanh", gval), rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(hess, hess.T, atol=1e-10)


def test_gradient_through_a_trace_is_read_back_in_the_weights_shape():
    blk = Block.define("trW", lambda v: v.tr(v.matrix("W") @ v.x @ v.x.T) * v.x)
    proof = derive(blk, dim=2, grad="W", trials=30)
    assert proof.passed and text(proof.result) == "gᵀ x x xᵀ"  # (gᵀx) ∇_W tr(W x xᵀ) = (gᵀx) x xᵀ


def test_a_singular_matrix_a_nonpositive_determinant_and_a_zero_divisor_are_one_line_at_a_point():
    inverse = derive(Block.define("inv", BLOCKS["inverse"]), dim=3, check=False)
    with pytest.raises(SymresError, match=r"^\(A \+ x xᵀ\)⁻¹ is singular at this point"):
        inverse.at(x="1,0,0", A="0")
    pt = inverse.at(x="1,0,0", A="I")  # (I + e₁e₁ᵀ)⁻¹ = diag(½, 1, 1)
    np.testing.assert_allclose(pt.value, np.diag([1.0, 1.5, 1.5]))
    logdet = derive(Block.define("ld", lambda v: v.logdet(v.matrix("A") + v.x @ v.x.T) * v.x), dim=2, check=False)
    with pytest.raises(SymresError, match=r"^log det\(A \+ x xᵀ\) needs det > 0, but the determinant is -2 at this point"):
        logdet.at(x="1,0", A="-3,0;0,1")
    quotient = derive(Block.define("q", BLOCKS["quotient"]), dim=2, check=False)
    with pytest.raises(SymresError, match=r"^division by xᵀ x = 0 at this point"):
        quotient.at(x="0,0")


def test_random_checks_redraw_singular_points_and_say_so():
    # A + x xᵀ with A ~ N(0, 1/d): some draws are nearly singular, and are drawn again
    proof = derive(Block.define("inv", BLOCKS["inverse"]), dim=2, trials=60)
    assert proof.passed and "singular matrix replaced" in proof.final.detail
    x = sp.MatrixSymbol("x", 2, 1)
    never = matmul(Inv(matmul(x, sp.Transpose(x))), x)  # x xᵀ has rank 1: singular everywhere
    with pytest.raises(SymresError, match="singular matrices"):
        check_equal(never, never, trials=5)


def test_printing_in_latex_and_unicode():
    A, B = sp.MatrixSymbol("A", 2, 2), sp.MatrixSymbol("B", 2, 2)
    assert latex(Inv(A)) == "A^{-1}"
    assert latex(Inv(add(A, B))) == r"\left(A + B\right)^{-1}"
    assert latex(Tr(matmul(A, B))) == r"\operatorname{tr}\left(A B\right)"
    assert latex(Det(A)) == r"\det\left(A\right)"
    assert latex(LogDet(A)) == r"\log\det\left(A\right)"
    assert text(Inv(A)) == "A⁻¹" and text(Inv(add(A, B))) == "(A + B)⁻¹"
    assert text(Tr(A)) == "tr(A)" and text(Det(A)) == "det(A)" and text(LogDet(A)) == "log det(A)"
    assert str(LogDet(A)) == "log det(A)"  # SymPy's own str() in symres notation too


def test_bad_input_is_one_line_in_symres_notation():
    with pytest.raises(SymresError, match=r"^inv\(\) takes a square matrix, got the 3×1 x$"):
        Block.define("b", lambda v: v.inv(v.x)).instance(3)
    with pytest.raises(SymresError, match=r"^tr\(\) takes a square matrix, got the 2×3 B$"):
        Block.define("b", lambda v: v.tr(v.matrix("B", 2, 3)) * v.x).instance(3)
    with pytest.raises(SymresError, match="can divide only by a scalar or a 1×1, not by the 3×1 matrix x"):
        Block.define("b", lambda v: v.x / v.x).instance(3)


def test_symbolic_check_at_size_two():
    inst = Block.define("l", BLOCKS["logdet"]).instance(2)
    check = symbolic_equal(Deriv(inst.forward, inst.x), jacobian(inst.forward, inst.x))
    assert check is not None and check.passed
    steps = differentiate(inst.forward, inst.x).steps
    assert [s.rule.name for s in steps] == ["scalar-product", "logdet", "identity", "collect", "order"]


def test_cli_end_to_end(tmp_path, capsys):
    path = tmp_path / "cookbook_blocks.py"
    path.write_text(
        textwrap.dedent(
            """
            from symres import Block
            inv = Block.define("inv", lambda v: v.x + v.inv(v.matrix("A") + v.x @ v.x.T) @ v.x)
            logdet = Block.define("logdet", lambda v: v.logdet(v.eye() + v.x @ v.x.T) * v.x)
            """
        )
    )
    args = ["--dim", "3", "--trials", "40", "--let", "x=1,0,0", "--let", "A=I", "--json"]
    code = main(["derive", "--block", f"{path}:inv", *args])
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert code == 0 and data["check"]["passed"], err
    assert r"\left(A + x x^{T}\right)^{-1}" in data["jacobian"]
    np.testing.assert_allclose(np.array(data["value"]), np.diag([1.0, 1.5, 1.5]))
    code = main(["derive", "--block", f"{path}:logdet", "--dim", "3", "--trials", "40", "--latex"])
    out, err = capsys.readouterr()
    assert code == 0 and r"\log\det\left(I + x x^{T}\right)" in out
    code = main(["derive", "--block", f"{path}:inv", "--dim", "3", "--let", "x=1,0,0", "--let", "A=0"])
    out, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "is singular at this point" in err and "Traceback" not in err


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_emitted_code_computes_the_checked_jacobian(backend):
    import torch

    from symres.emit import emit

    for name in ["inverse", "logdet", "det", "trace-of-inverse", "quotient-sqrt"]:
        proof = derive(Block.define(name, BLOCKS[name]), dim=3, activation="tanh", check=False)
        inst = proof.meta["instance"]
        (point, want), *_ = _points(inst, proof.result, 1, seed=2)
        namespace: dict = {}
        exec(emit(proof, backend), namespace)
        fn = next(v for k, v in namespace.items() if k.startswith("jacobian_"))
        args = [point[str(p.symbol)] for p in inst.params]
        got = fn(*(torch.tensor(a) for a in args)) if backend == "torch" else fn(*args)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-12)


def test_scalar_coefficients_print_in_symres_notation():
    """A 1×1 node in a scalar coefficient prints as in the LaTeX: (xᵀ x)⁻², 2 det(…), no SymPy '*' or '/'."""
    from symres.render import text

    quot = derive(Block.define("q", lambda v: v.x / (v.x.T @ v.x)), dim=3, check=False)
    assert text(quot.result) == "(xᵀ x)⁻¹ I - 2 (xᵀ x)⁻² x xᵀ"
    det = derive(Block.define("d", lambda v: v.det(v.eye() + v.x @ v.x.T) * v.x), dim=3, check=False)
    assert "*" not in text(det.result) and "2 det(I + x xᵀ)" in text(det.result)
