"""Seed 001, §1: the gradient of a plain (non-residual) ReLU network.

One layer h_ℓ = ReLU(z_ℓ), z_ℓ = W_ℓ h_{ℓ−1} has the Jacobian diag(ReLU'(z_ℓ)) W_ℓ; the
stack multiplies them with the later layer on the left. The seed's condition for
exponential vanishing ("singular values less than 1 on average") is refuted: the largest
singular value is what bounds the product.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _seed001 import SEED, TRIALS, claim, exact  # noqa: E402

from symres import check_equal, derive  # noqa: E402
from symres.blocks import Block  # noqa: E402
from symres.expr import Deriv, Diag, Elementwise, matmul  # noqa: E402
from symres.render import text  # noqa: E402
from symres.verify import statement, tested  # noqa: E402

#: one plain layer h = σ(W_ℓ h_prev) (the block input x stands for h_{ℓ−1})
PLAIN_LAYER = Block.define(
    "plain-layer",
    lambda v: v.sigma(v.matrix("W_l") @ v.x),
    title=r"one plain layer $h_\ell = \sigma(W_\ell h_{\ell-1})$",
    source="seed 001 §1",
    formula=r"\sigma(W_\ell x)",
)
#: two plain layers after h_1 = x: h_2 = σ(W_2 h_1), h_3 = σ(W_3 h_2)
PLAIN_STACK = Block.define(
    "plain-stack",
    lambda v: v.sigma(v.matrix("W_3") @ v.sigma(v.matrix("W_2") @ v.x)),
    title=r"a plain stack $h_3 = \sigma(W_3\,\sigma(W_2 h_1))$",
    source="seed 001 §1",
    formula=r"\sigma(W_3 \sigma(W_2 x))",
)


def _D(z):
    return Diag(Elementwise("sigma", z, 1))


@statement(
    seed=SEED,
    where="§1",
    expect="proved",
    text="one plain layer h_ℓ = ReLU(z_ℓ), z_ℓ = W_ℓ h_{ℓ−1}, has ∂h_ℓ/∂h_{ℓ−1} = diag(ReLU'(z_ℓ))·W_ℓ",
)
def plain_layer_jacobian():
    proof = derive(PLAIN_LAYER, dim=2)
    x = proof.meta["x"]
    W = next(p.symbol for p in proof.meta["instance"].params if str(p.symbol) == "W_l")
    same = proof.result == matmul(_D(matmul(W, x)), W)
    return proof, exact(
        "the derived Jacobian is diag(σ'(z)) W",
        r"\frac{\partial h_\ell}{\partial h_{\ell-1}} = \operatorname{diag}(\sigma'(W_\ell h_{\ell-1}))\,W_\ell",
        same,
        f"the derivation's result {text(proof.result)} is structurally diag(σ'(W_l x))·W_l (SymPy equality)",
    )


@statement(
    seed=SEED,
    where="§1",
    expect="refuted",
    text="∂L/∂x₁ = ∏_{ℓ=2}^{L} ∂h_ℓ/∂h_{ℓ−1} = ∏_{ℓ=2}^{L} diag(ReLU'(z_ℓ))·W_ℓ (read: the left side as the Jacobian "
    "∂h_L/∂h_1 — the right side has no loss factor — and ∏ in its written order, ℓ = 2 leftmost; checked at L = 3)",
    corrected="∂h_L/∂h_1 = diag(ReLU'(z_L))W_L ⋯ diag(ReLU'(z_2))W_2: the later layer stands on the left; the loss "
    "gradient is the row ∂L/∂h_1 = ∂L/∂h_L · ∂h_L/∂h_1",
)
def plain_stack_order():
    proof = derive(PLAIN_STACK, dim=2)
    inst = proof.meta["instance"]
    x = inst.x
    W2, W3 = (next(p.symbol for p in inst.params if str(p.symbol) == n) for n in ("W_2", "W_3"))
    z2 = matmul(W2, x)
    z3 = matmul(W3, Elementwise("sigma", z2))
    written = matmul(_D(z2), W2, _D(z3), W3)
    later_left = matmul(_D(z3), W3, _D(z2), W2)
    chk = check_equal(Deriv(inst.forward, x), written, domains=inst.domains, trials=TRIALS, seed=0)
    as_written = tested(
        "the product in written order",
        r"\frac{\partial h_3}{\partial h_1} = \operatorname{diag}(\sigma'(z_2))W_2\,\operatorname{diag}(\sigma'(z_3))W_3",
        chk,
    )
    order = exact(
        "the derived Jacobian has the later layer on the left",
        r"\frac{\partial h_3}{\partial h_1} = \operatorname{diag}(\sigma'(z_3))W_3\,\operatorname{diag}(\sigma'(z_2))W_2",
        proof.result == later_left,
        f"the derivation's result {text(proof.result)} is structurally D(z_3) W_3 D(z_2) W_2 (SymPy equality)",
    )
    return as_written, (proof, order)


def _relu_network(W: list[list[Fraction]], h0: list[Fraction], L: int) -> tuple[list[list[Fraction]], bool]:
    """∂h_L/∂h_0 of h_ℓ = ReLU(W h_{ℓ−1}) in exact arithmetic: layer Jacobians
    diag(ReLU'(z_ℓ)) W (ReLU'(0) := 0), multiplied with the later layer on the left.
    Also returns whether every pre-activation was positive (so every ReLU' = 1)."""
    d = len(h0)
    P = [[Fraction(int(i == j)) for j in range(d)] for i in range(d)]
    h, positive = h0, True
    for _ in range(L):
        z = [sum(W[i][j] * h[j] for j in range(d)) for i in range(d)]
        D = [Fraction(1) if zi > 0 else Fraction(0) for zi in z]
        positive &= all(zi > 0 for zi in z)
        J = [[D[i] * W[i][j] for j in range(d)] for i in range(d)]
        P = [[sum(J[i][k] * P[k][j] for k in range(d)) for j in range(d)] for i in range(d)]
        h = [max(zi, Fraction(0)) for zi in z]
    return P, positive


@statement(
    seed=SEED,
    where="§1",
    expect="refuted",
    text="if the singular values of W_ℓ are less than 1 on average, this product [∏ diag(ReLU'(z_ℓ))·W_ℓ] vanishes exponentially",
    corrected="if the largest singular value is below 1, ‖W_ℓ‖₂ ≤ c < 1 for every ℓ, then "
    "‖∏ diag(ReLU'(z_ℓ))·W_ℓ‖₂ ≤ c^L (every ‖diag(ReLU'(z_ℓ))‖₂ ≤ 1), which vanishes exponentially; an average "
    "below 1 is not enough: W_ℓ = diag(1.5, 0.1) (mean 0.8) and h_0 = (1, 1) give ∂h_100/∂h_0 = diag(1.5^100, 0.1^100)",
)
def singular_values_on_average():
    W = [[Fraction(3, 2), Fraction(0)], [Fraction(0), Fraction(1, 10)]]
    P, positive = _relu_network(W, [Fraction(1), Fraction(1)], 100)
    expected = [[Fraction(3, 2) ** 100, Fraction(0)], [Fraction(0), Fraction(1, 10) ** 100]]
    norm = max(abs(P[0][0]), abs(P[1][1]))
    decays = P == expected and positive and norm <= 1
    written = exact(
        "mean singular value 0.8, L = 100",
        r"W_\ell = \operatorname{diag}(1.5, 0.1):\ "
        r"\Big\|\prod_{\ell=1}^{100}\operatorname{diag}(\mathrm{ReLU}'(z_\ell))W_\ell\Big\|_2 \le 1",
        decays,
        f"exact rationals, h_ℓ = ReLU(W h_(ℓ−1)) from h_0 = (1, 1): every z_ℓ > 0 ({positive}), so ∂h_100/∂h_0 = "
        f"diag(1.5^100, 0.1^100) ({P == expected}), spectral norm 1.5^100 ≈ {float(norm):.3g}",
        instance={"W_l": [[1.5, 0], [0, 0.1]], "h_0": [1, 1], "L": 100, "norm": float(norm)},
    )
    search = claim("norm(prod(l=1..L, W)) <= 1 where W diagonal, W psd, tr(W) <= 1.6, L = 100")
    bound = claim("norm(prod(l=1..L, D_l W_l)) <= c^L where norm(W_l) <= c, 0 <= c < 1, D_l diagonal, norm(D_l) <= 1")
    return (written, search), bound
