"""Seed 001, §7: a residual block is one forward-Euler step of dh/dt = F(h), with step 1.

That a deep residual network approximates the continuous-depth flow needs the step to
shrink with depth: with step 1 the error does not go to zero (refuted with a linear, so
perfectly smooth, F(h) = Jh); with step 1/L the L steps converge to the time-1 flow at
rate O(1/L).
"""

from __future__ import annotations

import sys
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _seed001 import SEED, SMALL_STEPS, STEP_ONE, claim, euler_is_residual  # noqa: E402

from symres import derive  # noqa: E402
from symres.verify import statement  # noqa: E402


def euler_step_evidence():
    return derive("euler", dim=2), euler_is_residual()


def step_one_refuted():
    return claim(STEP_ONE)


def small_steps_converge():
    return claim(SMALL_STEPS)


@statement(
    seed=SEED,
    where="§7",
    expect="proved",
    text="a residual network with block function F(x) = W₂·σ(W₁·x) is a dynamical system h_{t+1} = h_t + F(h_t): a "
    "forward Euler discretisation of the ODE dh/dt = F(h) (with step size 1)",
)
def euler_step():
    return euler_step_evidence()


@statement(
    seed=SEED,
    where="§7",
    expect="refuted",
    text="very deep residual networks approximate continuous-depth models (Neural ODEs) (read: L blocks h → h + F(h), "
    "step 1, follow the flow of dh/dt = F(h) over the same time L; checked with F(h) = Jh, ‖J‖ ≤ 1, L = 100, "
    "relative error ≤ 0.1)",
    corrected="they do when the step shrinks with depth: L blocks h → h + F(h)/L follow the time-1 flow, "
    "‖(I + J/L)^L − e^J‖ ≤ ‖J‖²e^‖J‖/(2L) for F(h) = Jh; with step 1 the error does not shrink with depth",
)
def deep_approximates_ode():
    return step_one_refuted(), small_steps_converge()
