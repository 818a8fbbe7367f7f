"""Shared helpers of the derivation modules for seeds 000, 002, 003 and 004.

Every helper returns evidence that `symres.verify` understands (a `Proof`, or a claims
`Verdict`); none of them decides a verdict by itself:

- `claim`: `symres.claims.check` with the dimension fixed (the counterexample search runs
  at that dimension only, which keeps the library fast);
- `equal`: lhs = rhs, compared numerically on seeded instances and, where SymPy can,
  shown entry by entry with symbolic entries (at d = 2); a failed comparison is re-evaluated
  at the breaking instance before it is returned as a counterexample;
- `exact`: a fact computed in exact arithmetic (SymPy rationals), with the point;
- `batch`: a numeric property of seeded random instances, evaluated in one batch, the
  worst instance re-evaluated alone when it breaks the property;
- `stack`: two residual blocks in a row, their composite map and the Jacobians of each
  block at a chosen point (for the order and the evaluation point of the stack product);
- `loss_gradient`: ∂ℒ/∂x of ℒ = ½‖y − t‖² as an unevaluated derivative, and the row
  vector ∂ℒ/∂y = (y − t)ᵀ.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import sympy as sp
from sympy import Identity, MatrixSymbol, Transpose

from symres.claims import Verdict, check
from symres.expr import Deriv, Diag, Elementwise, add, matmul
from symres.numeric import Domain, check_equal, evaluate
from symres.proof import Check, Proof
from symres.symbolic import symbolic_equal
from symres.verify import tested

SEED000 = "000_bcba4f1ec0440903.txt"
SEED002 = "002_279a00ab0ffe42de.txt"
SEED003 = "003_0d182175b4a812a1.txt"
SEED004 = "004_45cbc370968e375a.txt"

TRIALS = 200
ZERO = Domain(low=0.0, high=0.0, description="= 0 (switched off)")

Make = Callable[[int], tuple[Any, Any, Mapping[str, Domain]]]


@functools.cache  # a Verdict is immutable; some claims serve several statements
def claim(text: str, *, dim: int = 2, trials: int = TRIALS, seed: int = 0) -> Verdict:
    """`symres.claims.check` at one dimension (trials and counterexample search there)."""
    return check(text, trials=trials, seed=seed, dim=dim)


def _shape(sym: Any) -> tuple[int, ...]:
    return tuple(int(n) for n in sym.shape) if getattr(sym, "is_Matrix", False) else (1, 1)


def _recheck(lhs: Any, rhs: Any, instance: Mapping[str, Any], activation: str, tolerance: float) -> float:
    """The relative error of lhs - rhs re-evaluated alone at a breaking instance."""
    symbols = {str(s): s for s in (lhs.free_symbols | rhs.free_symbols) if not s.is_Integer}
    values = {name: np.reshape(np.asarray(instance[name], dtype=float), _shape(sym)) for name, sym in symbols.items()}
    out, _ = evaluate({"lhs": lhs, "rhs": rhs}, values, activation=activation)
    a, b = out["lhs"], out["rhs"]
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def equal(
    title: str,
    statement: str,
    make: Make,
    *,
    dim: int = 3,
    sym_dim: int = 2,
    activation: str = "relu",
    symbolic: bool = True,
    trials: int = TRIALS,
    seed: int = 0,
    note: str = "",
) -> Proof:
    """lhs = rhs for `make(d) -> (lhs, rhs, domains)`: numerically at d = dim on `trials`
    seeded instances, symbolically (symbolic entries, generic σ) at d = sym_dim when the
    numbers agree. A disagreement is re-evaluated at its instance and returned as a counterexample."""
    lhs, rhs, domains = make(dim)
    num = check_equal(lhs, rhs, domains=dict(domains), activation=activation, trials=trials, seed=seed)
    if not num.passed:
        again = _recheck(lhs, rhs, num.instance or {}, activation, num.tolerance)
        if again <= num.tolerance:  # pragma: no cover - a breaking instance must break again
            raise AssertionError(f"{title}: the counterexample did not re-verify")
        detail = f"{num.detail}; the two sides differ, re-evaluated at the breaking instance: rel. error {again:.2g}"
        return tested(title, statement, replace(num, detail=detail), note)
    if symbolic:
        small = make(sym_dim)
        sym = symbolic_equal(small[0], small[1])
        if sym is not None:
            num = replace(num, method="symbolic", detail=f"{sym.detail}; confirmed {num.detail} at d = {dim}")
    return tested(title, statement, num, note)


def exact(title: str, statement: str, passed: bool, detail: str, instance: dict[str, Any] | None = None, note: str = "") -> Proof:
    """A fact computed in exact arithmetic; a failure carries the point as its instance."""
    return tested(title, statement, Check("symbolic", passed, detail, instance=None if passed else instance), note)


def batch(
    title: str,
    statement: str,
    *,
    draw: Callable[[np.random.Generator, int], dict[str, np.ndarray]],
    margin: Callable[[dict[str, np.ndarray]], np.ndarray],
    detail: str,
    trials: int = TRIALS,
    seed: int = 0,
    tolerance: float = 1e-9,
    note: str = "",
) -> Proof:
    """A property of `trials` seeded instances drawn in one batch: it holds on an instance
    when `margin(values) >= -tolerance` (relative margins). The worst instance, if it
    breaks the property, is re-evaluated alone and returned as the counterexample."""
    values = draw(np.random.default_rng(seed), trials)
    m = np.asarray(margin(values), dtype=float)
    worst = int(np.argmin(m))
    passed = bool(np.all(m >= -tolerance))
    instance = None
    if not passed:
        one = {k: v[worst : worst + 1] for k, v in values.items()}
        if float(np.asarray(margin(one))[0]) >= -tolerance:  # pragma: no cover
            raise AssertionError(f"{title}: the counterexample did not re-verify")
        instance = {k: np.asarray(v[worst]).tolist() for k, v in values.items()}
        detail += f"; breaks at trial {worst} (re-evaluated alone), margin {m[worst]:.3g}"
    worst_error = float(max(0.0, -m.min()))
    check = Check(
        "numeric", passed, detail, trials=trials, max_error=worst_error, tolerance=tolerance, seed=seed, instance=instance
    )
    return tested(title, statement, check, note)


# --------------------------------------------------------------------------- building blocks


def sigma(u: Any) -> Elementwise:
    return Elementwise("sigma", u)


def dsigma(u: Any) -> Diag:
    """diag(σ'(u))."""
    return Diag(Elementwise("sigma", u, 1))


def branch(W1: Any, W2: Any, u: Any) -> Any:
    """F(u) = W_2 σ(W_1 u)."""
    return matmul(W2, sigma(matmul(W1, u)))


def branch_jacobian(W1: Any, W2: Any, u: Any) -> Any:
    """∂F/∂u = W_2 diag(σ'(W_1 u)) W_1, at the point u."""
    return matmul(W2, dsigma(matmul(W1, u)), W1)


def stack(d: int) -> dict[str, Any]:
    """Two residual blocks x_1 = x + F_1(x), x_2 = x_1 + F_2(x_1), F_1 = A_2 σ(A_1 ·),
    F_2 = B_2 σ(B_1 ·); J_i(u) is ∂F_i/∂u at u."""
    x = MatrixSymbol("x", d, 1)
    A1, A2, B1, B2 = (MatrixSymbol(n, d, d) for n in ("A_1", "A_2", "B_1", "B_2"))
    x1 = add(x, branch(A1, A2, x))
    x2 = add(x1, branch(B1, B2, x1))
    return {
        "x": x,
        "x1": x1,
        "x2": x2,
        "I": Identity(d),
        "J1": lambda u: branch_jacobian(A1, A2, u),
        "J2": lambda u: branch_jacobian(B1, B2, u),
    }


def loss_gradient(y: Any, x: Any) -> tuple[Any, Any]:
    """(∂ℒ/∂x unevaluated, the row ∂ℒ/∂y = (y − t)ᵀ) for ℒ = ½‖y − t‖², t a target."""
    t = MatrixSymbol("t", y.shape[0], 1)
    r = add(y, matmul(-1, t))
    loss = matmul(sp.Rational(1, 2), Transpose(r), r)
    return Deriv(loss, x), Transpose(r)


def layernorm_kills_ones(dim: int = 3, trials: int = TRIALS, seed: int = 0) -> Proof:
    """J_LN(u) 𝟙 = 0: LayerNorm is shift-invariant, LN(u + t𝟙) = LN(u) (shown by SymPy at
    d = dim from the definition), so its Jacobian annihilates 𝟙; confirmed numerically on the
    derived post-norm Jacobian with the branch switched off (W₂ = 0), which is J_LN(x)."""
    from sympy import OneMatrix, ZeroMatrix

    from symres import derive

    u = sp.Matrix(sp.symbols(f"u0:{dim}", real=True))
    g = sp.symbols(f"gamma0:{dim}", positive=True)
    b = sp.symbols(f"beta0:{dim}", real=True)
    eps, t = sp.Symbol("epsilon", positive=True), sp.Symbol("t", real=True)

    def ln(w: sp.Matrix) -> sp.Matrix:
        c = w - sp.ones(dim, 1) * (sum(w) / dim)
        v = (c.T * c)[0] / dim
        return sp.Matrix([g[i] * c[i] / sp.sqrt(v + eps) + b[i] for i in range(dim)])

    shifted = ln(u + t * sp.ones(dim, 1)) - ln(u)
    invariant = all(sp.simplify(e) == 0 for e in shifted)
    proof = derive("postnorm") if dim == 3 else derive("postnorm", dim=dim)  # the cached default-size proof
    domains = {**proof.meta["instance"].domains, "W_2": ZERO}
    num = check_equal(matmul(proof.result, OneMatrix(dim, 1)), ZeroMatrix(dim, 1), domains=domains, trials=trials, seed=seed)
    detail = (
        f"SymPy: LN(u + t𝟙) − LN(u) simplifies to 0 at d = {dim} (LN from its definition, γ, β, ε > 0 symbolic), "
        f"so J_LN(u)𝟙 = d/dt LN(u + t𝟙)|₀ = 0; confirmed on the derived post-norm Jacobian at W₂ = 0 (= J_LN(x)) "
        f"times 𝟙: {num.detail}"
    )
    check = replace(num, method="symbolic", passed=invariant and num.passed, detail=detail)
    return tested("LayerNorm's Jacobian annihilates 𝟙", r"J_{\mathrm{LN}}(u)\,\mathbf{1} = 0", check)


def closing_block(title: str, statement: str) -> Proof:
    """The residual block at W₁ = I, W₂ = −I, x = (1, 2, 3) (ReLU): ∂F/∂x = −I exactly, so
    ∂y/∂x = 0 and every upstream gradient is blocked. Fails `statement` (the claim that the
    gradient always gets through) with this point as the counterexample."""
    from symres import derive
    from symres.symbolic import exact_value

    proof = derive("residual")
    inst = proof.meta["instance"]
    point = {"x": [[1], [2], [3]], "W_1": np.eye(3).tolist(), "W_2": (-np.eye(3)).tolist()}
    J = exact_value(proof.result, point)
    y = exact_value(inst.forward, point)
    fd, _ = evaluate({"J": Deriv(inst.forward, inst.x)}, {k: np.asarray(v, float) for k, v in point.items()})
    blocked = J == sp.zeros(3, 3) and y == sp.zeros(3, 1) and bool(np.allclose(fd["J"], 0.0, atol=1e-8))
    detail = (
        f"exact arithmetic (ReLU): ∂F/∂x = W₂ diag(σ'(W₁x)) W₁ = −I, so ∂y/∂x = {J.tolist()} and y = {list(y)} "
        f"(central differences agree, largest entry in absolute value {np.max(np.abs(fd['J'])):.1e}): every g gives g ∂y/∂x = 0"
    )
    return exact(title, statement, not blocked, detail, instance=point)
