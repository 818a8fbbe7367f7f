"""Seed 003, section "An experiment": the gradient over the residual connection and the
gradient through the block "change place" within one epoch of training.

With y = x + F(x) and g = ∂L/∂y, the gradient at the block input is ∂L/∂x = g + g·J,
J = ∂F/∂x: g is the path over the connection (length 0), g·J the path through the block
(length 1). Whether the two change place, and when, is a fact about training, decided here
by experiment, never proved: `symres train-paths` trains a small network on scikit-learn's
8×8 digits (the seed's MNIST conv net is not available offline; `symres.training` says
which network) and records ‖g‖ and ‖g·J‖ at every step, g·J from symres's derived Jacobian
of the residual block, checked against torch autograd at every step.

The runs are recorded once, not re-run by the test suite:

    symres train-paths --seeds 5 --epochs 5 --output derivations/data/seed003_experiment.json

This module reads the record (settings, versions, every step's numbers) and decides the
verdicts from the steps: the crossings are recomputed, never read. That the record is what
the code computes is checked by tests/test_training.py, which re-runs the first steps of a
recorded seed and compares them with the record.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from symres.errors import SymresError
from symres.experiment import Experiment, SeedResult
from symres.proof import Check, Proof
from symres.training import TrainingRun, load_record, plot_runs, statement_experiment, window_mean
from symres.verify import statement, tested

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the shared helpers of seeds 000, 002-004
from _seeds_0234 import SEED003  # noqa: E402

RECORD = Path(__file__).resolve().parent / "data" / "seed003_experiment.json"
#: the epochs (1-based) in which the corrected statement places the crossing
EPOCHS = (2, 3)


def _runs() -> tuple[dict, list[TrainingRun]]:
    settings, runs = load_record(RECORD)
    short = [r.seed for r in runs if len(r.loss) < max(EPOCHS) * r.steps_per_epoch]
    if short:
        raise SymresError(f"the record {RECORD.name} ends before epoch {max(EPOCHS)} is over (seeds {short})")
    return settings, runs


def _source(settings: dict, runs: list[TrainingRun]) -> str:
    r = runs[0]
    return (
        f"Recorded in derivations/data/seed003_experiment.json (by the command below): seeds "
        f"{', '.join(str(x.seed) for x in runs)}; {settings['epochs']:g} epochs of {r.steps_per_epoch} steps "
        f"(batch {r.batch}, Adam, lr {r.lr:g}), width d = {r.width}; the crossing is the first step at which the mean "
        f"of ‖g·J‖ over the last {r.window} steps reaches that of ‖g‖."
    )


def _start_end(r: TrainingRun) -> str:
    w = r.window
    return (
        f"‖g‖ {window_mean(r.connection, w, w - 1):.3f} → {window_mean(r.connection, w, -1):.3f}, "
        f"‖g·J‖ {window_mean(r.through, w, w - 1):.3f} → {window_mean(r.through, w, -1):.3f} (means of {w} steps, "
        f"first and last)"
    )


def _crossing_text(r: TrainingRun) -> str:
    c = r.crossing
    return "no crossing" if c is None else f"crossing at step {c}, epoch {r.epoch_of_crossing}"


def _derived_jacobian_check(runs: list[TrainingRun]) -> Proof:
    worst = max(r.check_error for r in runs)
    steps = sum(len(r.loss) for r in runs)
    return tested(
        "g·J from the derived Jacobian",
        r"g\,J = g\,W_2 \operatorname{diag}(\sigma'(W_1 x)) W_1"
        r" \text{ (derived) equals torch autograd's } g\,\partial F/\partial x",
        Check(
            "numeric",
            worst <= 1e-9,
            f"at every recorded step of seeds {', '.join(str(r.seed) for r in runs)}, every example of the batch, "
            "against torch.autograd.grad of F at x",
            trials=steps,
            max_error=worst,
            tolerance=1e-9,
            seed=runs[0].seed,
        ),
    )


@statement(
    seed=SEED003,
    where="An experiment",
    expect="contradicted",
    text="training for one epoch, the gradient over the residual connection (‖g‖, g = ∂L/∂y) is the larger at the "
    "start; 'as learning progresses, these two quickly change place': the gradient through the block (‖g·J‖, "
    "J = ∂F/∂x) overtakes it within the first epoch (put to the test on the 8×8 digits with a dense residual "
    "network in place of the seed's MNIST conv net)",
    corrected="the two do change place: ‖g‖ is the larger over the first steps, then falls while ‖g·J‖ grows; but on "
    "the digits they cross in the second or third epoch (of 45 steps of 32 examples), not within the first. 'Within "
    "one epoch' depends on the size of an epoch: the crossing comes after some 80 to 115 steps (2,500 to 3,700 "
    "examples seen), fewer than one MNIST epoch of 60,000 examples holds; whether the seed's conv net on MNIST "
    "crosses there is not tested here",
)
def change_place():
    settings, runs = _runs()
    source = _source(settings, runs)
    written = replace(
        statement_experiment(runs, source),
        figure=lambda: plot_runs(runs, "pdf"),
        command=settings["command"],
        caption="‖g‖ (blue) over the residual connection and ‖g·J‖ (orange) through the block at every training "
        f"step, thin; their means over {runs[0].window} steps, thick; epochs dotted, the crossing in red.",
    )

    def corrected(r: TrainingRun) -> bool:
        w = r.window
        fades = window_mean(r.connection, w, -1) < window_mean(r.connection, w, w - 1)
        grows = window_mean(r.through, w, -1) > window_mean(r.through, w, w - 1)
        return r.starts_with_connection and r.epoch_of_crossing in EPOCHS and fades and grows

    crossings = [r.crossing for r in runs if r.crossing is not None]
    seen = f" (observed: steps {min(crossings)} to {max(crossings)})" if crossings else ""
    fixed = Experiment(
        "In the second or third epoch",
        f"‖g‖ > ‖g·J‖ over the first {runs[0].window} steps, the two cross in epoch {EPOCHS[0]} or {EPOCHS[1]}{seen}, "
        f"and from the first {runs[0].window} steps to the last ‖g‖ falls while ‖g·J‖ grows",
        tuple(SeedResult(r.seed, corrected(r), f"{_crossing_text(r)}; {_start_end(r)}") for r in runs),
        source,
        command=settings["command"],
    )
    check = _derived_jacobian_check(runs)
    return (written, check), (fixed, check)
