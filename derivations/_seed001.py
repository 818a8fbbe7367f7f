"""Evidence shared by the seed 001 derivation modules (not collected: the name starts with "_").

Everything here is computed once per process (functools.cache) and reused by the
statements that need it: claims verdicts, the two-block residual network of §3 and
Example 1, exact (integer/rational) evaluations, and a batched path-length spectrum.

Conventions (DESIGN.md): numerator layout; ∂h_L/∂h_0 = J_L ⋯ J_1 (later block left); the
gradient of a scalar loss is the row ∂L/∂h_0 = ∂L/∂h_L · ∂h_L/∂h_0; ReLU'(0) := 0.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp
from sympy import Identity, MatrixSymbol, Transpose

from symres import check_equal, derive, jacobian
from symres.activations import GENERIC
from symres.claims import Verdict, check
from symres.errors import SymresError
from symres.expr import Deriv, Elementwise, add, matmul
from symres.paths import count_proof, path_spectrum
from symres.proof import Check, Proof
from symres.symbolic import explicit, generic_function, symbolic_equal
from symres.verify import tested

SEED = "001_3a3f3c0e152939cc.txt"
#: every numeric check of seed 001 uses this many seeded trials, in one batch
TRIALS = 200


# --------------------------------------------------------------------------- small wrappers


@functools.cache
def claim(text: str, dim: int | None = 2) -> Verdict:
    """`symres.claims.check` with 200 seeded trials (seed 0); the counterexample search runs
    at dimension `dim` (2 unless said otherwise: every statement here is dimension-free)."""
    return check(text, trials=TRIALS, seed=0, dim=dim)


def exact(title: str, statement: str, ok: bool, detail: str, instance: dict[str, Any] | None = None, note: str = "") -> Proof:
    """A statement decided by exact arithmetic (Python integers, Fractions, SymPy): a
    symbolic Check. A failed one must carry the instance that breaks it."""
    if not ok and instance is None:
        raise SymresError(f"{title}: an exact refutation needs its instance")
    return tested(title, statement, Check("symbolic", ok, detail, instance=None if ok else instance), note)


def both(title: str, statement: str, lhs: Any, rhs: Any, *, domains: dict | None = None, activation: str = "relu") -> Proof:
    """lhs = rhs shown entry by entry by SymPy at the sizes the expressions carry (any
    differentiable σ) and confirmed on 200 seeded instances (σ = activation); numeric only
    when SymPy cannot show it; a failed numeric check keeps its breaking instance."""
    num = check_equal(lhs, rhs, domains=domains, activation=activation, trials=TRIALS, seed=0)
    sym = symbolic_equal(lhs, rhs) if num.passed else None
    if sym is not None:
        how = f"{sym.detail}; confirmed numerically ({num.detail})"
        num = Check("symbolic", True, how, num.trials, num.max_error, num.tolerance, num.seed)
    return tested(title, statement, num)


# --------------------------------------------------------------------------- residual stacks: the bounds


#: the stack Jacobian ∏(I + J_ℓ), later block left, in the claims grammar
STACK = "prod(l=1..L, I + J_l)"


def stack_bounds(c: str = "c") -> Verdict:
    """(1−c)^L ≤ σ_min(∏(I+J_ℓ)) ≤ ‖∏(I+J_ℓ)‖ ≤ (1+c)^L when every ‖J_ℓ‖₂ ≤ c < 1."""
    where = "norm(J_l) <= c, 0 <= c < 1" if c == "c" else f"norm(J_l) <= {c}"
    return claim(f"(1 - {c})^L <= smin({STACK}) <= norm({STACK}) <= (1 + {c})^L where {where}")


def gradient_bounds(c: str = "c") -> Verdict:
    """The same bounds for a row gradient g: (1−c)^L‖g‖ ≤ ‖gᵀ∏(I+J_ℓ)‖ ≤ (1+c)^L‖g‖."""
    where = "norm(J_l) <= c, 0 <= c < 1" if c == "c" else f"norm(J_l) <= {c}"
    return claim(f"(1 - {c})^L norm(g) <= norm(g^T {STACK}) <= (1 + {c})^L norm(g) where g vector, {where}")


@functools.cache
def attained(c: Fraction, L: int) -> Proof:
    """With J_ℓ = ∓cI every factor is (1 ∓ c)I, so ∂h_L/∂h_0 = (1 ∓ c)^L I exactly: the two
    ends of `stack_bounds` are attained (exact rational powers, a 2×2 instance)."""
    lo, hi = sp.Rational(1) - sp.Rational(c), sp.Rational(1) + sp.Rational(c)
    P_lo = (sp.eye(2) * lo) ** L
    P_hi = (sp.eye(2) * hi) ** L
    ok = P_lo == lo**L * sp.eye(2) and P_hi == hi**L * sp.eye(2)
    detail = (
        f"exact rationals: J_ℓ = −{c}·I gives ∏(I+J_ℓ) = ({lo})^{L} I ≈ {float(lo**L):.4g} I, "
        f"J_ℓ = +{c}·I gives ({hi})^{L} I ≈ {float(hi**L):.4g} I"
    )
    claim_tex = rf"\prod_{{\ell=1}}^{{{L}}}(I \mp {c} I) = (1 \mp {c})^{{{L}}} I"
    return exact(f"both ends attained at c = {c}, L = {L}", claim_tex, ok, detail)


# --------------------------------------------------------------------------- a two-block network with a loss


@dataclass(frozen=True)
class TwoBlocks:
    """h₁ = x + V₁σ(U₁x), h₂ = h₁ + V₂σ(U₂h₁), loss L = cᵀh₂ (so ∂L/∂h₂ = cᵀ), at size d.

    J₁ = ∂F₁/∂x and J₂ = ∂F₂/∂h₁ (at h₁ = h₁(x)) are derived by `symres.jacobian`."""

    x: MatrixSymbol
    c: MatrixSymbol
    J1: Any
    J2: Any
    grad: Any  # Deriv(L, x): the row gradient ∂L/∂x, 1×d, by finite differences / SymPy
    eye: Any


@functools.cache
def two_blocks(d: int = 2) -> TwoBlocks:
    x, h, c = MatrixSymbol("x", d, 1), MatrixSymbol("h", d, 1), MatrixSymbol("c", d, 1)
    U1, V1, U2, V2 = (MatrixSymbol(n, d, d) for n in ("U_1", "V_1", "U_2", "V_2"))

    def F(U: MatrixSymbol, V: MatrixSymbol, z: Any) -> Any:
        return matmul(V, Elementwise("sigma", matmul(U, z)))

    h1 = add(x, F(U1, V1, x))
    h2 = add(h1, F(U2, V2, h1))
    J1 = jacobian(F(U1, V1, x), x)
    J2 = jacobian(F(U2, V2, h), h).xreplace({h: h1})
    return TwoBlocks(x, c, J1, J2, Deriv(matmul(Transpose(c), h2), x), Identity(d))


@functools.cache
def chain_rule_row() -> Proof:
    """∂L/∂x = ∂L/∂h₂ · (I + J₂)(I + J₁) for the two-block network (row gradient)."""
    n = two_blocks()
    rhs = matmul(Transpose(n.c), add(n.eye, n.J2), add(n.eye, n.J1))
    return both(
        "row gradient of a two-block stack",
        r"\frac{\partial \mathcal{L}}{\partial x} = \frac{\partial \mathcal{L}}{\partial h_2}(I + J_2)(I + J_1),"
        r"\quad \mathcal{L} = c^{T} h_2",
        n.grad,
        rhs,
    )


@functools.cache
def chain_rule_column() -> Proof:
    """The column gradient is the transpose: (∂L/∂x)ᵀ = (I + J₁)ᵀ(I + J₂)ᵀ c."""
    n = two_blocks()
    rhs = matmul(Transpose(add(n.eye, n.J1)), Transpose(add(n.eye, n.J2)), n.c)
    return both(
        "column gradient = transpose of the row",
        r"\left(\frac{\partial \mathcal{L}}{\partial x}\right)^{T} = (I + J_1)^{T}(I + J_2)^{T} c",
        Transpose(n.grad),
        rhs,
    )


@functools.cache
def seed_column_forms() -> tuple[Proof, Proof]:
    """The seed's ∂L/∂h₀ = (∏(I + J_ℓ))·∂L/∂h_L as a column, in either order of ∏, against
    the true column gradient: both fail (numerically, with the breaking instance)."""
    n = two_blocks()
    out = []
    for name, first, second in (("written order (I+J_1)(I+J_2)", n.J1, n.J2), ("later-left order (I+J_2)(I+J_1)", n.J2, n.J1)):
        rhs = matmul(add(n.eye, first), add(n.eye, second), n.c)
        chk = check_equal(Transpose(n.grad), rhs, trials=TRIALS, seed=0)
        i, j = ("1", "2") if first is n.J1 else ("2", "1")
        out.append(
            tested(
                f"the seed's column form, {name}",
                rf"\left(\frac{{\partial \mathcal{{L}}}}{{\partial x}}\right)^{{T}} = (I + J_{i})(I + J_{j})"
                r"\,\frac{\partial \mathcal{L}}{\partial h_2}",
                chk,
            )
        )
    return out[0], out[1]


# --------------------------------------------------------------------------- path counts


@functools.cache
def counts(max_depth: int = 12) -> Proof:
    """#paths of length k = C(L, k) (1, L, C(L,2), …, 1) and 2^L in all, for symbolic L:
    `symres.paths.count_proof` (subsets enumerated exactly for L = 0..max_depth, the ends
    and Σ_k C(L,k) = 2^L by SymPy), one derivation for the library and the toolkit."""
    return count_proof(max_depth=max_depth)


# --------------------------------------------------------------------------- the path-length spectrum


SPECTRUM_DEPTH, SPECTRUM_WIDTH = 100, 4


@functools.cache
def _directions(
    L: int = SPECTRUM_DEPTH, d: int = SPECTRUM_WIDTH, trials: int = TRIALS, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """`trials` random stacks: Ĝ (T, L, d, d) Gaussian scaled to spectral norm 1 (Ĝ[t, ℓ-1]
    for block ℓ), and unit row gradients g (T, d); numpy.random.default_rng(seed)."""
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((trials, L, d, d))
    top = np.sqrt(np.linalg.eigvalsh(np.swapaxes(G, -1, -2) @ G)[..., -1])
    G /= top[..., None, None]
    g = rng.standard_normal((trials, d))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    return G, g


@dataclass(frozen=True)
class Spectra:
    """Per stack t and length k: norms[t, k] = ‖g_k‖ with g_k = g · Σ_{|S|=k} J_S, and
    full[t] = ‖g · (I + J_L)⋯(I + J_1)‖ (computed directly)."""

    norm: float
    norms: np.ndarray
    full: np.ndarray
    sum_error: float  # max_t ‖Σ_k g_k − g·∏(I+J_ℓ)‖ / ‖g·∏(I+J_ℓ)‖
    agreement: float  # max |log10‖g_k‖ (batched DP) − log10‖g_k‖ (symres.paths.path_spectrum)| on stack 0
    band0: tuple[int, int]  # the effective band of stack 0 by path_spectrum
    band0_share: float

    def share(self, lo: int, hi: int) -> np.ndarray:
        """Per stack: the share of Σ_k ‖g_k‖ carried by lengths lo ≤ k ≤ hi."""
        return self.norms[:, lo : hi + 1].sum(axis=1) / self.norms.sum(axis=1)


@functools.cache
def spectra(norm: float) -> Spectra:
    """The exact length components g_k of 200 random stacks with ‖J_ℓ‖₂ = norm (L = 100,
    d = 4), by a dynamic programme batched over the stacks (from the loss side: block ℓ
    maps the length-(k−1) component into the length-k one, V_k ← V_k + V_{k−1} J_ℓ), checked
    against the direct product and, on stack 0, against `symres.paths.path_spectrum`."""
    G, g = _directions()
    J = norm * G
    T, L, d, _ = J.shape
    V = np.zeros((T, L + 1, d))
    V[:, 0] = g
    full = g[:, None, :].copy()
    for m in range(L):
        block = J[:, L - 1 - m]
        V[:, 1 : m + 2] += V[:, : m + 1] @ block
        full = full + full @ block
    full = full[:, 0]
    err = np.linalg.norm(V.sum(axis=1) - full, axis=1) / np.linalg.norm(full, axis=1)
    ps = path_spectrum(jacobians=J[0], grad=g[0], mc_lengths=[])
    norms = np.linalg.norm(V, axis=2)
    with np.errstate(divide="ignore"):
        agree = float(np.max(np.abs(ps.log10_norms - np.log10(norms[0]))))
    if not ps.check_passed:
        agree = math.inf
    return Spectra(norm, norms, np.linalg.norm(full, axis=1), float(err.max()), agree, ps.band, ps.band_share)


def spectrum_check(sp_: Spectra, passed: bool, what: str, worst: float) -> Check:
    """A numeric Check over the 200 stacks: `passed` says the property held in every stack;
    the DP is also held to the direct product (rel. error ≤ 1e-9) and to path_spectrum."""
    consistent = sp_.sum_error <= 1e-9 and sp_.agreement <= 1e-9
    detail = (
        f"{what}; worst stack {worst:.4g}; {TRIALS} random stacks (L = {SPECTRUM_DEPTH}, d = {SPECTRUM_WIDTH}, "
        f"‖J_ℓ‖₂ = {sp_.norm:g}, Gaussian directions, default_rng(0)); Σ_k g_k vs the direct product: rel. error "
        f"{sp_.sum_error:.1e}; stack 0 vs symres.paths.path_spectrum: |Δlog10| ≤ {sp_.agreement:.1e}, its "
        f"effective band {list(sp_.band0)} ({sp_.band0_share:.0%})"
    )
    ok = passed and consistent
    instance = None if ok else {"norm": sp_.norm, "worst": worst}
    error = max(sp_.sum_error, sp_.agreement)
    return Check("numeric", ok, detail, trials=TRIALS, max_error=error, tolerance=1e-9, seed=0, instance=instance)


# --------------------------------------------------------------------------- blocks


def _derivative_at(M: sp.Matrix, point: sp.Expr) -> dict[sp.Basic, int]:
    """{σ'(point): 0}: the derivative factors of a generic σ evaluated at `point` in M."""
    return {s: 0 for s in M.atoms(generic_function(GENERIC, 1)) if s.args[0] == point}


@functools.cache
def postact_rows_blocked() -> Proof:
    """Post-activation at d = 2: where σ'((F(x) + x)_i) = 0 (for ReLU: (F(x) + x)_i ≤ 0, with
    ReLU'(0) := 0) row i of ∂y/∂x is zero, identity contribution included: SymPy with
    symbolic W₁, W₂, x and a generic σ."""
    proof = derive("postact", dim=2)
    env: dict[sp.Basic, Any] = {}
    M = explicit(proof.result, env)
    u = explicit(proof.meta["forward"].arg, env)
    ok = True
    for i in range(2):
        zero = _derivative_at(M, u[i])
        ok &= bool(zero) and all(sp.expand(e) == 0 for e in M[i, :].xreplace(zero))
    return exact(
        "post-activation: a closed ReLU closes its whole row",
        r"(F(x) + x)_i \le 0 \;\Rightarrow\; \left(\frac{\partial y}{\partial x}\right)_{i,:} = 0",
        bool(ok),
        "SymPy, d = 2, symbolic W₁, W₂, x, generic σ: row i of diag(σ'(F(x)+x))(I + ∂F/∂x) with σ'((F(x)+x)_i) = 0 "
        "expands to zero; for ReLU, σ'((F(x)+x)_i) = 0 exactly when (F(x)+x)_i ≤ 0 (ReLU'(0) := 0)",
    )


@functools.cache
def preact_columns_free() -> Proof:
    """Pre-activation at d = 2: where σ'(x_i) = 0 (ReLU: x_i ≤ 0) column i of ∂y/∂x is exactly
    e_i (the identity column survives; only the branch is switched off)."""
    proof = derive("preact", dim=2)
    env: dict[sp.Basic, Any] = {}
    M = explicit(proof.result, env)
    x = explicit(proof.meta["x"], env)
    ok = True
    for i in range(2):
        zero = _derivative_at(M, x[i])
        ok &= bool(zero) and all(sp.expand(a - b) == 0 for a, b in zip(M[:, i].xreplace(zero), sp.eye(2)[:, i]))
    return exact(
        "pre-activation: the identity column survives where ReLU'(x_i) = 0",
        r"x_i \le 0 \;\Rightarrow\; \left(\frac{\partial y}{\partial x}\right)_{:,i} = e_i",
        bool(ok),
        "SymPy, d = 2, symbolic W₁, W₂, x, generic σ: column i of I + W₂ diag(σ'(W₁σ(x))) W₁ diag(σ'(x)) with "
        "σ'(x_i) = 0 expands to e_i; for ReLU, σ'(x_i) = 0 exactly when x_i ≤ 0",
    )


def block_tested(block: str, statement: str, **kw: Any) -> tuple[Any, Proof]:
    """The block's derivation (a Proof) and its shortcut fact as a Proof (read off the
    structure of the derived Jacobian, symbolic)."""
    proof = derive(block, **kw)
    fact = proof.facts[0]
    return proof, tested(f"{block}: the shortcut term", statement, fact.check, note=fact.reason)


def binomial_fraction(L: int, lo: int, hi: int) -> Fraction:
    """The exact fraction of the 2^L paths whose length k lies in lo ≤ k ≤ hi."""
    return Fraction(sum(math.comb(L, k) for k in range(max(lo, 0), min(hi, L) + 1)), 2**L)


def log10_fraction(f: Fraction) -> float:
    return math.log10(f.numerator) - math.log10(f.denominator) if f else -math.inf


# --------------------------------------------------------------------------- shapes and the projection shortcut


@functools.cache
def shape_mismatch() -> Proof:
    """x + F(x) with F: ℝ² → ℝ³ is refused with a shape error (by `symres.expr.add`, and by a
    block whose branch changes the width, with the advice to use W_s x)."""
    from symres.blocks import Block
    from symres.expr import ShapeError

    x, W1, W2 = MatrixSymbol("x", 2, 1), MatrixSymbol("W_1", 3, 2), MatrixSymbol("W_2", 3, 3)
    messages = []
    try:
        add(x, matmul(W2, Elementwise("sigma", matmul(W1, x))))
    except ShapeError as exc:
        messages.append(str(exc))
    widening = Block.define("widening", lambda v: v.x + v.F(v.x, rows=v.d + 1))
    try:
        widening.instance(2)
    except SymresError as exc:
        messages.append(str(exc))
    ok = len(messages) == 2 and all("shape mismatch" in m for m in messages) and "W_s x" in messages[1]
    return exact(
        "x + F(x) with F: R^2 -> R^3 is a shape error",
        r"F: \mathbb{R}^{2} \to \mathbb{R}^{3} \;\Rightarrow\; x + F(x) \text{ is undefined}",
        ok,
        "symres.expr.add raised: " + " | the block raised: ".join(messages),
    )


ZERO_PAD = [[1, 0], [0, 1], [0, 0]]


@functools.cache
def zero_padding() -> Proof:
    """The zero-padding shortcut is the fixed projection P = [I; 0] (3×2): y = F(x) + P x is
    well-formed and ∂y/∂x = P + ∂F/∂x, whose top 2×2 block is I + (∂F/∂x)_top (SymPy, generic σ)."""
    proof = derive("projection", dim=2)
    Ws = next(p.symbol for p in proof.meta["instance"].params if str(p.symbol) == "W_s")
    P = sp.Matrix(ZERO_PAD)
    env: dict[sp.Basic, Any] = {Ws: P}
    jac = explicit(proof.result, env)
    branch = jac - P
    top = jac[:2, :] - (sp.eye(2) + branch[:2, :])
    bottom = jac[2, :] - branch[2, :]
    ok = proof.result.shape == (3, 2) and all(sp.expand(e) == 0 for e in (*top, *bottom))
    return exact(
        "zero-padding shortcut W_s = [I; 0]",
        r"W_s = \begin{bmatrix} I \\ 0 \end{bmatrix}:\ "
        r"\frac{\partial y}{\partial x} = \begin{bmatrix} I \\ 0 \end{bmatrix} + \frac{\partial F}{\partial x}",
        ok,
        "SymPy, d = 2, m = 3, symbolic W₁, W₂, x, generic σ: the derived W_s + W₂ diag(σ'(W₁x)) W₁ at W_s = [I; 0] "
        "has top block I + (∂F/∂x)_top and bottom row (∂F/∂x)_bottom",
    )


# --------------------------------------------------------------------------- Euler


@functools.cache
def euler_is_residual() -> Proof:
    """The Euler step h + εF(h) at ε = 1 is the residual block h + F(h) (forward maps equal)."""
    from symres.blocks import get_block

    euler, residual = get_block("euler").instance(2), get_block("residual").instance(2)
    eps = next(p.symbol for p in euler.params if str(p.symbol) == "epsilon")
    return both(
        "the Euler step with step size 1 is the residual block",
        r"h + \varepsilon F(h)\big|_{\varepsilon = 1} = h + F(h)",
        euler.forward.xreplace({eps: 1}),
        residual.forward,
    )


STEP_ONE = "norm((I + J)^L - exp(L J)) <= 0.1 norm(exp(L J)) where norm(J) <= 1, L = 100"
SMALL_STEPS = "norm((I + J/L)^L - exp(J)) <= norm(J)^2 exp(norm(J)) / (2 L)"


# --------------------------------------------------------------------------- plain stacks at depth


@functools.cache
def plain_products(norm: float, L: int) -> np.ndarray:
    """‖J_L ⋯ J_1‖₂ for the 200 random stacks of `_directions` (first L blocks, ‖J_ℓ‖₂ = norm)."""
    G, _ = _directions()
    P = np.broadcast_to(np.eye(G.shape[-1]), (G.shape[0], G.shape[-1], G.shape[-1])).copy()
    for l in range(L):
        P = (norm * G[:, l]) @ P
    return np.linalg.norm(P, ord=2, axis=(1, 2))


def plain_bound(norm: float, L: int) -> Proof:
    """‖J_L ⋯ J_1‖₂ ≤ norm^L on the 200 random stacks (numeric)."""
    got = plain_products(norm, L)
    ratio = got / norm**L
    worst = float(ratio.max())
    ok = bool(worst <= 1 + 1e-9)
    return tested(
        f"vanilla product, L = {L}, ‖J_ℓ‖₂ = {norm:g}",
        rf"\|J_{{{L}}} \cdots J_{{1}}\|_2 \le {norm:g}^{{{L}}}",
        Check(
            "numeric",
            ok,
            f"{TRIALS} random stacks (d = {SPECTRUM_WIDTH}, ‖J_ℓ‖₂ = {norm:g}): max ‖J_L⋯J_1‖/{norm:g}^L = {worst:.3g}",
            trials=TRIALS,
            max_error=max(0.0, worst - 1),
            tolerance=1e-9,
            seed=0,
            instance=None if ok else {"ratio": worst},
        ),
    )


@functools.cache
def q5_evidence() -> tuple[Proof, tuple[Any, Proof]]:
    """ "A learned projection must replace the identity skip" against the parameter-free
    zero-padding W_s = [I; 0]: (the statement tested at that W_s, (the projection block's
    derivation, its Jacobian at W_s = [I; 0]))."""
    proof = derive("projection", dim=2)
    Ws = next(p.symbol for p in proof.meta["instance"].params if str(p.symbol) == "W_s")
    y = explicit(proof.meta["forward"], {Ws: sp.Matrix(ZERO_PAD)})
    well_formed = y.shape == (3, 1)
    written = exact(
        "only a learned projection matches the shapes",
        r"\text{no parameter-free } W_s \in \mathbb{R}^{3 \times 2} \text{ makes } F(x) + W_s x \text{ well-formed}",
        not well_formed,
        f"SymPy, d = 2, m = 3: with the fixed W_s = [I; 0] (zero-padding, no parameters) F(x) + W_s x evaluates to a "
        f"{y.shape[0]}×{y.shape[1]} vector, (x_1 + F_1, x_2 + F_2, F_3)",
        instance={"W_s": ZERO_PAD},
    )
    return written, (proof, zero_padding())
