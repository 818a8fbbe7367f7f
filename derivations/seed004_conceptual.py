"""Seed 004, the conceptual entry: mechanism, identity by default, gradient flow, normalisation
placement, and "ensembles of shallow paths".

Decided here: y = x + F(x) carries x to the output with the ungated Jacobian term I; y − x = F(x)
exactly (the learned residual), so a small F makes the layer nearly transparent; the expansion
of ∏(I + J_ℓ) always contains the direct path I. "Reduce gradient attenuation" is false as a
comparison with the bare branch (J = −I), true with a margin when ‖J_ℓ‖ ≤ c ≤ 1/2. Pre-norm keeps
the ungated I, post-norm routes the identity path through J_LN, which annihilates 𝟙. The stack
is exactly an ensemble of 2^L paths, but "shallow" is not automatic: the path count peaks at
L/2 and the gradient is carried by short paths only when the ‖J_ℓ‖ are small.

Out of scope (empirical or advisory): "stabilizing optimization", "flatten loss landscapes",
"reduce pathological curvature", "less sensitive to depth and initialization", and the
Limitations (generalisation, architecture design, reasoning, data): symres decides statements
about the maps and their Jacobians, not about training outcomes or generalisation.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
from sympy import Identity

from symres import derive
from symres.blocks import get_block
from symres.calculus import jacobian
from symres.expr import add, matmul
from symres.paths import path_components, path_counts, path_spectrum, total_paths
from symres.proof import Check
from symres.verify import statement, tested

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the shared helpers of seeds 000, 002-004
from _seeds_0234 import SEED004, batch, claim, equal, exact, layernorm_kills_ones, loss_gradient  # noqa: E402

STACK = "prod(l=1..L, I + J_l)"


def _residual(d: int):
    inst = get_block("residual").instance(d)
    return inst, get_block("plain").instance(d).forward


@statement(
    seed=SEED004,
    where="Core Mechanism",
    expect="proved",
    text="a residual connection computes y = x + F(x), x the identity path: the input reaches the output unchanged, "
    "and ∂y/∂x contains the ungated term I",
)
def core_mechanism():
    return derive("residual")


@statement(
    seed=SEED004,
    where="Definition",
    expect="proved",
    text="instead of a full mapping the network learns a residual, how the output should differ from the input: F(x) = y − x",
)
def learns_residual():
    def make(d: int):
        inst, F = _residual(d)
        return add(inst.forward, -inst.x), F, inst.domains

    return equal("the residual is the difference", r"y - x = F(x)", make)


@statement(
    seed=SEED004,
    where="Identity Mapping",
    expect="proved",
    text="'if the learned transformation contributes little, the layer effectively becomes transparent': the "
    "deviation from the identity is exactly F, in value (y − x = F(x)) and in slope (∂y/∂x − I = ∂F/∂x); "
    "by default (F = 0) the layer is the identity",
)
def transparent():
    def slope(d: int):
        inst, F = _residual(d)
        return add(jacobian(inst.forward, inst.x), -Identity(d)), jacobian(F, inst.x), inst.domains

    return (
        equal("the slope deviates by ∂F/∂x", r"\frac{\partial y}{\partial x} - I = \frac{\partial F}{\partial x}", slope),
        claim("norm(I + J - I) = norm(J)"),
        claim("I + J = I where J = 0"),
    )


@statement(
    seed=SEED004,
    where="Gradient Flow Benefits",
    expect="proved",
    text="residual connections 'provide direct gradient paths': ∂L/∂x = ∂L/∂y + ∂L/∂y·∂F/∂x for one block, and "
    "the expansion of (I + J_L)⋯(I + J_1) contains the term I, the path through no branch",
)
def direct_paths():
    def make(d: int):
        inst, F = _residual(d)
        dL, g = loss_gradient(inst.forward, inst.x)
        return dL, add(g, matmul(g, jacobian(F, inst.x))), inst.domains

    return (
        equal(
            "one block",
            r"\frac{\partial L}{\partial x} = "
            r"\frac{\partial L}{\partial y} + \frac{\partial L}{\partial y}\frac{\partial F}{\partial x}",
            make,
        ),
        claim("prod(l=1..3, I + J_l) = I + J_1 + J_2 + J_3 + J_2 J_1 + J_3 J_1 + J_3 J_2 + J_3 J_2 J_1"),
    )


@statement(
    seed=SEED004,
    where="Gradient Flow Benefits",
    expect="refuted",
    text="residual connections 'reduce gradient attenuation', read: a residual block never attenuates the gradient "
    "more than its branch alone, σ_min(I + J) ≥ σ_min(J)",
    corrected="σ_min(I + J) ≥ 1 − ‖J‖ (J = −I gives 0: the skip can cancel the branch); for ‖J_ℓ‖ ≤ c ≤ 1/2 the "
    "residual stack's smallest gain is at least the plain stack's largest: ‖J_L⋯J_1‖ ≤ c^L ≤ (1 − c)^L ≤ "
    "σ_min(∏(I + J_ℓ))",
)
def reduce_attenuation():
    return claim("smin(I + J) >= smin(J)"), (
        claim("smin(I + J) >= 1 - norm(J)"),
        claim(f"norm(prod(l=1..L, J_l)) <= smin({STACK}) where norm(J_l) <= c, 0 <= c <= 1/2"),
    )


@statement(
    seed=SEED004,
    where="Relationship to Normalization",
    expect="proved",
    text="the placement of normalisation relative to the residual path (pre-norm vs post-norm) changes the gradient "
    "path: pre-norm y = x + F(LN(x)) keeps the ungated I; post-norm y = LN(x + F(x)) multiplies the identity path by "
    "J_LN, which annihilates 𝟙 ('affects stability, training dynamics, and robustness' is empirical, not decided)",
)
def pre_post_norm():
    return derive("prenorm"), derive("postnorm"), layernorm_kills_ones()


def _band_is_short(L: int = 50, width: int = 8, norm: float = 1.0, seed: int = 0) -> tuple[bool, str, dict]:
    spec = path_spectrum(L, width, norm=norm, seed=seed, mc_lengths=[])
    again = path_spectrum(L, width, norm=norm, seed=seed, mc_lengths=[])  # re-computed from the seed
    short = spec.band[1] <= L // 4
    text = (
        f"L = {L}, d = {width}, ‖J_ℓ‖ = {norm}, seed {seed}: 90% band {spec.band} (share {spec.band_share:.2f}), "
        f"peak at k = {spec.peak}; recomputed: {again.band}; DP vs direct product check passed: {spec.check_passed}"
    )
    assert spec.check_passed and again.band == spec.band
    return short, text, {"L": L, "d": width, "norm": norm, "seed": seed, "band": list(spec.band)}


def _bound_draw(rng: np.random.Generator, n: int, L: int = 20, d: int = 4) -> dict[str, np.ndarray]:
    G = rng.standard_normal((n, L, d, d))
    c = rng.uniform(0.05, 2.0, (n, 1, 1, 1))
    return {"J": c * G / np.linalg.norm(G, 2, axis=(-2, -1))[..., None, None], "g": rng.standard_normal((n, d))}


def _bound_margin(v: dict[str, np.ndarray]) -> np.ndarray:
    """min over k of (C(L,k) c^k ‖g‖ − ‖g_k‖)/bound, c the largest ‖J_ℓ‖ of the stack."""
    out = []
    for J, g in zip(v["J"], v["g"]):
        L = J.shape[0]
        U, logn = path_components(J, g)
        c = float(np.linalg.norm(J, 2, axis=(-2, -1)).max())
        bound = np.array([math.comb(L, k) * c**k for k in range(L + 1)]) * np.linalg.norm(g)
        out.append(np.min((bound - np.exp(logn)) / np.maximum(1.0, bound)))
    return np.array(out)


@statement(
    seed=SEED004,
    where="Optimization Perspective",
    expect="refuted",
    text="residual connections 'make deep models behave like ensembles of shallow paths', read: the gradient of a "
    "deep residual stack is carried by short paths (90% of Σ_k‖g_k‖ at lengths k ≤ L/4)",
    corrected="the stack is exactly a sum of 2^L paths, C(L, k) of length k (the count peaks at L/2); the length-k "
    "part obeys ‖g_k‖ ≤ C(L, k) c^k ‖g‖ for ‖J_ℓ‖ ≤ c, so short paths carry the gradient when the ‖J_ℓ‖ are small "
    "(random stacks, L = 50: bands within k ≤ 9 at ‖J_ℓ‖ = 0.1 and 0.5) but not at ‖J_ℓ‖ = 1 (band (7, 19)) or "
    "J_ℓ = I (‖g_k‖ = C(L, k)‖g‖, peak at L/2)",
)
def shallow_ensembles():
    short_band = r"\text{90\% of } \textstyle\sum_k \|g_k\| \text{ at } k \le L/4"
    short, text, inst = _band_is_short()
    random = tested(
        "a random stack with ‖J_ℓ‖ = 1",
        short_band,
        Check("numeric", short, f"path_spectrum: {text}", trials=1, seed=0, instance=None if short else inst),
    )
    L = 50
    counts = path_counts(L)
    share = sum(counts[: L // 4 + 1]) / total_paths(L)
    identity = exact(
        "J_ℓ = I, L = 50: g_k = C(L, k) g",
        short_band,
        share >= 0.9,
        f"exact integers: the lengths k ≤ {L // 4} carry {share:.2e} of Σ_k C(L, k)",
        instance={"L": L, "J_l (every l, here d = 2)": [[1.0, 0.0], [0.0, 1.0]]},
    )
    exact_counts = counts == [math.comb(L, k) for k in range(L + 1)] and sum(counts) == 2**L
    binomial = exact(
        "path counts",
        r"\#\{\text{paths of length } k\} = \binom{L}{k},\ \sum_k \binom{L}{k} = 2^L,\ \arg\max_k = L/2",
        exact_counts and counts.index(max(counts)) == L // 2,
        f"exact integers at L = {L}: symres.paths.path_counts against math.comb",
    )
    small = [_band_is_short(norm=c, seed=s) for c in (0.1, 0.5) for s in range(10)]
    bands = ", ".join(str(i["band"]) for _, _, i in small)
    shallow = tested(
        "random stacks with ‖J_ℓ‖ = 0.1 and 0.5, ten seeds each",
        short_band,
        Check(
            "numeric", all(ok for ok, _, _ in small), f"path_spectrum, L = 50, d = 8: bands {bands}", trials=len(small), seed=0
        ),
    )
    bound = batch(
        "the length-k bound on random stacks (L = 20, d = 4, ‖J_ℓ‖ ≤ c ~ U(0.05, 2))",
        r"\|g_k\| \le \binom{L}{k} c^k \|g\|",
        draw=_bound_draw,
        margin=_bound_margin,
        detail="exact components g_k by symres.paths.path_components, per stack",
    )
    return (random, identity), (binomial, shallow, bound)
