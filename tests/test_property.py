"""Property test: random expressions of the whole vocabulary, derived by symres.calculus,
against torch autograd (an oracle that shares no code with the calculus).

A seeded generator draws 1,000 forward maps of depth ≤ 4 (products with x-dependent
factors anywhere, transposes, inner products, scalar × sums, diag, BN, LayerNorm, every
activation, the matrix functions X⁻¹, tr, det and log det of well-conditioned arguments,
division by a positive 1 + uᵀu, fixed sizes, d = 1, 2, 3), in batches of 100 so that pytest-xdist shares
them out. For each: the Jacobian ∂y/∂x; for every third, the Jacobian with respect to a
weight matrix (∂y/∂vec(W)); for every fifth small one without LayerNorm, the Hessian ∇²_x (gᵀy)
(the Hessian through a defined function, J_LN's own derivative, is not derived). No expression of the
vocabulary may be refused, and every value must agree. A failure names its seed:
`_expression(seed)` rebuilds the block.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch  # noqa: F401  (imported once here, not inside the first timed-out expression)
from helpers import torch_derivative, torch_hessian, torch_jacobian

from symres.activations import ACTIVATIONS
from symres.blocks import Block, TermVocabulary
from symres.calculus import jacobian, transpose_of
from symres.expr import Defined, matmul
from symres.numeric import compile_expr, draw
from symres.render import text

BATCHES, PER_BATCH = 10, 100
ACTS = sorted(ACTIVATIONS)


class _Gen:
    """Random Terms of one TermVocabulary, all choices from one seeded generator."""

    def __init__(self, v: TermVocabulary, rng: np.random.Generator, budget: int = 6) -> None:
        self.v, self.rng, self.k, self.budget = v, rng, 0, budget  # at most `budget` inner nodes

    def _fresh(self) -> int:
        self.k += 1
        return self.k

    def matrix(self):
        return self.v.matrix(f"A_{self.rng.integers(3)}")

    def vec(self, depth: int):
        v, r = self.v, self.rng
        if depth <= 0 or self.budget <= 0:
            return v.x if r.random() < 0.75 else v.vector(f"b_{r.integers(2)}")
        self.budget -= 1
        k = int(r.integers(16)) if r.random() < 0.85 else int(r.integers(16, 21))  # 15%: the matrix functions, u/s

        def sub() -> object:  # one operand at depth - 1, others shallower: expressions stay small
            return self.vec(depth - 1 if r.random() < 0.6 else int(r.integers(depth)))

        if k == 0:
            return self.matrix() @ sub()
        if k == 1:
            return v.act(ACTS[r.integers(len(ACTS))], sub())
        if k == 2:
            return sub() + sub()
        if k == 3:
            return sub() * sub()  # Hadamard
        if k == 4:
            return v.diag(sub()) @ sub()
        if k == 5:
            return float(r.choice([-1.0, 0.5, 2.0])) * (sub() + sub())
        if k == 6:
            return self.scalar(depth - 1) * sub()
        if k == 7:
            return (sub() - sub()) / 3
        if k == 8:
            return (sub().T @ self.matrix()).T
        if k == 9:
            return sub().T.T
        if k == 10:
            return sub() @ self.scalar(depth - 1)  # a column times a 1×1
        if k == 11:  # fixed inner size, independent of d
            n = int(r.integers(1, 4))
            i = self._fresh()
            return v.matrix(f"B_{i}", v.d, n) @ v.sigma(v.matrix(f"C_{i}", n, v.d) @ sub())
        if k == 12:
            return v.bn(sub(), self._fresh())
        if k == 13:
            return v.layernorm(sub(), self._fresh())
        if k == 14:
            return v.scalar("alpha") * (sub() + v.F(sub()))
        if k == 15:
            return v.diag(v.sigma(sub())) @ (self.matrix() @ sub())
        if k == 16:  # X⁻¹ of a well-conditioned X = I + ⅒ u uᵀ (eigenvalues ≥ 1), anywhere in a product
            u = sub()
            return self.matrix() @ v.inv(v.eye() + 0.1 * (u @ u.T)) @ sub()
        if k == 17:
            return v.tr(v.diag(sub()) @ self.matrix()) * sub()
        if k == 18:  # log det and det of I + ⅒ diag(u ⊙ u) + ⅒ u uᵀ (det ≥ 1)
            u = sub()
            X = v.eye() + 0.1 * v.diag(u * u) + 0.1 * (u @ u.T)
            return (v.logdet(X) if r.random() < 0.5 else v.det(X)) * sub()
        if k == 19:  # division by a positive scalar 1 + uᵀu
            u = sub()
            return sub() / (1 + u.T @ u)
        return (sub().T @ v.inv(v.eye() + 0.1 * v.diag(v.sigmoid(sub()))).T @ self.matrix()).T  # (·)ᵀ of X⁻¹

    def scalar(self, depth: int):
        a, b = self.vec(max(depth - 1, 0)), self.vec(max(depth - 1, 0))
        k = int(self.rng.integers(3))
        if k == 0:
            return a.T @ b
        if k == 1:
            return a.T @ self.matrix() @ b
        return (self.matrix() @ a).T @ (self.matrix() @ a)


def _expression(seed: int) -> tuple[Block, int, str]:
    rng = np.random.default_rng(seed)
    dim = int(rng.choice([1, 2, 3]))
    depth = int(rng.integers(1, 5))
    activation = ACTS[int(rng.integers(len(ACTS)))]
    blk = Block.define(f"random-{seed}", lambda v: _Gen(v, np.random.default_rng(seed + 10**6)).vec(depth))
    return blk, dim, activation


def _nodes(e: sp.Basic) -> int:
    return sum(1 for _ in sp.preorder_traversal(e))


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    scale = max(1.0, float(np.max(np.abs(b))) if b.size else 1.0)
    return bool(np.max(np.abs(a - b), initial=0.0) <= 1e-8 * scale)


@pytest.mark.parametrize("batch", range(BATCHES))
def test_random_expressions_agree_with_torch(batch):
    failures = []
    for seed in range(batch * PER_BATCH, (batch + 1) * PER_BATCH):
        blk, dim, act = _expression(seed)
        try:
            inst = blk.instance(dim)
            y, x = inst.forward, inst.x
            point = {k: v[0] for k, v in draw(inst.symbols, inst.domains, 1, np.random.default_rng(seed)).items()}
            batch_point = {k: v[None] for k, v in point.items()}
            J = jacobian(y, x)
            got = compile_expr(J, inst.symbols, act)(batch_point)[0]
            if not _close(got, torch_jacobian(y, point, act)):
                failures.append(f"seed {seed}: ∂y/∂x of y = {text(y)} (d = {dim}, {act})")
                continue
            weights = [s for s in inst.symbols if isinstance(s, sp.MatrixSymbol) and s.shape[1] > 1]
            if seed % 3 == 0 and weights and _nodes(y) <= 40:
                W = weights[seed % len(weights)]
                got = compile_expr(jacobian(y, W), inst.symbols, act)(batch_point)[0]
                if not _close(got, torch_derivative(y, point, act, str(W))):
                    failures.append(f"seed {seed}: ∂y/∂vec({W}) of y = {text(y)} (d = {dim}, {act})")
            if seed % 5 == 0 and not y.has(Defined) and _nodes(y) <= 15:
                g = sp.MatrixSymbol("g", y.shape[0], 1)
                H = jacobian(transpose_of(matmul(sp.Transpose(g), J)), x)
                gval = np.random.default_rng(seed).normal(size=(int(y.shape[0]), 1))
                got = compile_expr(H, [*inst.symbols, g], act)({**batch_point, "g": gval[None]})[0]
                if not _close(got, torch_hessian(y, point, act, gval)):
                    failures.append(f"seed {seed}: ∇²_x gᵀy of y = {text(y)} (d = {dim}, {act})")
        except Exception as exc:  # a refusal inside the vocabulary is a failure too
            failures.append(f"seed {seed}: {type(exc).__name__}: {exc}")
    assert not failures, "\n".join(failures[:10])
