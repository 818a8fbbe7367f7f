"""Seed 002, "Identity Initialization Property".

One block: H(x) − x = F(x) exactly, and for ReLU (1-Lipschitz, σ(0) = 0)
‖F(x)‖ ≤ ‖W₂‖‖W₁‖‖x‖, so small weights make every block nearly the identity. The whole
network: with c_ℓ = ‖W₂^ℓ‖‖W₁^ℓ‖, ‖h_L − h_0‖ ≤ (∏_ℓ(1 + c_ℓ) − 1)‖h_0‖, and the bound
is attained. A fixed small scale c therefore does not keep an arbitrarily deep network near
the identity: the deviation grows like (1 + c)^L. Depth-independent near-identity needs
Σ c_ℓ ≲ 1 (a scale shrinking like 1/L), or a zero gate (ReZero) which is exactly the
identity at any depth.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

from symres.blocks import get_block
from symres.expr import add
from symres.verify import statement

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the shared helpers of seeds 000, 002-004
from _seeds_0234 import SEED002, batch, claim, equal, exact  # noqa: E402


def _relu(u: np.ndarray) -> np.ndarray:
    return np.maximum(u, 0.0)


def _spec(a: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a, 2, axis=(-2, -1))


def _one_block(rng: np.random.Generator, n: int, d: int = 4) -> dict[str, np.ndarray]:
    scale = rng.uniform(0.01, 1.0, (n, 1, 1))  # "small" and not so small initialisations
    return {
        "x": rng.standard_normal((n, d, 1)),
        "W_1": scale * rng.standard_normal((n, d, d)) / np.sqrt(d),
        "W_2": scale * rng.standard_normal((n, d, d)) / np.sqrt(d),
    }


def _one_block_margin(v: dict[str, np.ndarray]) -> np.ndarray:
    dev = np.linalg.norm(v["W_2"] @ _relu(v["W_1"] @ v["x"]), axis=(1, 2))  # ‖H(x) − x‖ = ‖F(x)‖
    bound = _spec(v["W_2"]) * _spec(v["W_1"]) * np.linalg.norm(v["x"], axis=(1, 2))
    return (bound - dev) / np.maximum(1.0, bound)


@statement(
    seed=SEED002,
    where="Identity Initialization Property",
    expect="holds",
    text="with small random weights F(x) ≈ 0 initially, therefore H(x) = F(x) + x ≈ x; quantitatively (ReLU): "
    "‖H(x) − x‖ = ‖F(x)‖ ≤ ‖W₂‖‖W₁‖‖x‖",
)
def init_near_identity():
    def change(d: int):
        inst = get_block("residual").instance(d)
        return add(inst.forward, -inst.x), get_block("plain").instance(d).forward, inst.domains

    return (
        equal("the deviation from the identity is the branch", r"H(x) - x = F(x)", change),
        batch(
            "the deviation bound, weights of scale U(0.01, 1)·N(0, 1/fan-in)",
            r"\|H(x) - x\| \le \|W_2\|\,\|W_1\|\,\|x\|",
            draw=_one_block,
            margin=_one_block_margin,
            detail="ReLU blocks at d = 4 evaluated with NumPy, spectral norms",
        ),
    )


def _aligned(L: int) -> tuple[Fraction, bool]:
    """h_ℓ = h_{ℓ−1} + W₂ ReLU(W₁ h_{ℓ−1}) with W₁ = W₂ = I/10, h_0 = (1, 1), in exact rationals:
    the relative deviation ‖h_L − h_0‖/‖h_0‖ (a ratio of parallel vectors) and whether it equals (1.01)^L − 1."""
    h0 = [Fraction(1), Fraction(1)]
    h = list(h0)
    tenth = Fraction(1, 10)
    for _ in range(L):
        h = [hi + tenth * max(Fraction(0), tenth * hi) for hi in h]
    ratio = (h[0] - h0[0]) / h0[0]  # both entries move together
    return ratio, h[0] == h[1] and ratio == Fraction(101, 100) ** L - 1


class _RandomNetwork:
    """One seeded network of L ReLU blocks with weights s·N(0, 1/d); `draw` gives n random inputs h_0 (one
    batch), `margin` runs the forward pass on them: ½ − ‖h_L − h_0‖/‖h_0‖ (≥ 0: near the identity)."""

    def __init__(self, seed: int = 0, d: int = 8, L: int = 1000, s: float = 0.3) -> None:
        rng = np.random.default_rng([seed, 1])
        self.W1 = s * rng.standard_normal((L, d, d)) / np.sqrt(d)
        self.W2 = s * rng.standard_normal((L, d, d)) / np.sqrt(d)
        self.d, self.L, self.s = d, L, s
        self.moves: list[float] = []

    def draw(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        return {"h_0": rng.standard_normal((n, self.d))}

    def margin(self, v: dict[str, np.ndarray]) -> np.ndarray:
        h0 = v["h_0"].T
        h, moves = h0, []
        for l in range(self.L):
            F = self.W2[l] @ _relu(self.W1[l] @ h)
            moves.append(np.median(np.linalg.norm(F, axis=0) / np.linalg.norm(h, axis=0)))
            h = h + F
        self.moves = moves
        return 0.5 - np.linalg.norm(h - h0, axis=0) / np.linalg.norm(h0, axis=0)


@statement(
    seed=SEED002,
    where="Identity Initialization Property",
    expect="refuted",
    text="'every residual block starts as approximately the identity … the entire deep network starts as an identity "
    "mapping … the network can be made arbitrarily deep without immediately producing garbage outputs', read: a "
    "fixed small initialisation keeps the whole network near the identity (‖h_L − h_0‖ ≤ ½‖h_0‖) at every depth",
    corrected="‖h_L − h_0‖ ≤ (∏_ℓ(1 + c_ℓ) − 1)‖h_0‖ with c_ℓ = ‖W₂^ℓ‖‖W₁^ℓ‖ (ReLU), attained for aligned "
    "weights: the network stays near the identity only while Σ_ℓ c_ℓ ≲ 1 (a scale shrinking like 1/L); a zero "
    "gate α = 0 (ReZero) makes it exactly the identity at every depth",
)
def arbitrarily_deep():
    ratio, closed = _aligned(1000)
    aligned = exact(
        "1000 blocks each within 1% of the identity: W₁ = W₂ = I/10 (‖F(h)‖ = 0.01‖h‖), h₀ = (1, 1)",
        r"\|h_{1000} - h_0\| \le \tfrac{1}{2}\|h_0\|",
        ratio <= Fraction(1, 2),
        f"exact rationals: ReLU stays linear on the positive h_ℓ, h_L = 1.01^L h_0, so ‖h_1000 − h_0‖/‖h_0‖ = "
        f"1.01^1000 − 1 ≈ {float(ratio):.4g} (closed form matched: {closed})",
        instance={"W_1": [[0.1, 0.0], [0.0, 0.1]], "W_2": [[0.1, 0.0], [0.0, 0.1]], "h_0": [1.0, 1.0], "L": 1000},
    )
    net = _RandomNetwork()
    net.margin(net.draw(np.random.default_rng(1), 8))  # a pass on 8 inputs, to say how far one block moves its input
    move = float(np.median(net.moves))
    random = batch(
        "one seeded random network, 1000 ReLU blocks, weights 0.3·N(0, 1/d), d = 8, 200 random inputs h₀",
        r"\|h_{1000} - h_0\| \le \tfrac{1}{2}\|h_0\|",
        draw=net.draw,
        margin=net.margin,
        detail=f"forward pass in NumPy (network weights from default_rng([0, 1])); a typical block moves its input by "
        f"‖F(h)‖/‖h‖ ≈ {move:.3f}, yet the moves compound over 1000 blocks",
    )
    return (aligned, random), (
        batch(
            "the deviation bound through 10 blocks",
            r"\|h_L - h_0\| \le \Big(\prod_{\ell}(1 + c_\ell) - 1\Big)\|h_0\|",
            draw=_stack_draw,
            margin=_stack_margin,
            detail="ReLU blocks at d = 4, weights of scale U(0.01, 1)·N(0, 1/d)",
        ),
        exact(
            "the bound is attained (the aligned stack)",
            r"\|h_L - h_0\| = \big((1 + c)^L - 1\big)\|h_0\|, \ c = 0.01",
            closed,
            f"exact rationals at L = 1000: the deviation equals 1.01^1000 − 1 exactly: {closed}",
        ),
        claim("prod(l=1..L, I + alpha J_l) = I where alpha = 0"),
    )


def _stack_draw(rng: np.random.Generator, n: int, d: int = 4, L: int = 10) -> dict[str, np.ndarray]:
    scale = rng.uniform(0.01, 1.0, (n, L, 1, 1))
    return {
        "h_0": rng.standard_normal((n, d, 1)),
        "W_1": scale * rng.standard_normal((n, L, d, d)) / np.sqrt(d),
        "W_2": scale * rng.standard_normal((n, L, d, d)) / np.sqrt(d),
    }


def _stack_margin(v: dict[str, np.ndarray]) -> np.ndarray:
    h0 = v["h_0"]
    h = h0
    for l in range(v["W_1"].shape[1]):
        h = h + v["W_2"][:, l] @ _relu(v["W_1"][:, l] @ h)
    dev = np.linalg.norm(h - h0, axis=(1, 2))
    c = _spec(v["W_2"]) * _spec(v["W_1"])  # (n, L)
    bound = (np.prod(1.0 + c, axis=1) - 1.0) * np.linalg.norm(h0, axis=(1, 2))
    return (bound - dev) / np.maximum(1.0, bound)
