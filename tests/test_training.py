"""symres.training and `symres train-paths`: g (over the connection) and g·J (through the
block) recorded while a small network trains on the 8×8 digits.

Oracles: torch autograd's vector-Jacobian product of the branch (the run records the
largest deviation of the derived g·J from it), and hand-made series for the crossing.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from symres import training
from symres.cli import main

pytest.importorskip("torch")
pytest.importorskip("sklearn")


def test_crossing_of_hand_made_series() -> None:
    connection = [1.0] * 10
    through = [0.2, 0.3, 0.4, 0.5, 0.6, 0.9, 1.2, 1.5, 1.5, 1.5]
    assert training.crossing(connection, through, 1) == 6
    assert training.crossing(connection, through, 3) == 7  # means over steps 5..7: (0.9 + 1.2 + 1.5)/3 ≥ 1
    assert training.crossing(connection, [2.0] * 10, 2) is None  # never below: no change of place
    assert training.crossing(connection, [0.1] * 10, 2) is None


def test_a_short_run_records_every_step_and_matches_autograd() -> None:
    data = training.load_digits_data()
    assert data[0].shape == (1797, 64) and 0 <= data[0].min() and data[0].max() <= 1
    run = training.train_run(0, width=8, epochs=0.2, batch=64, data=data)
    steps = round(0.2 * run.steps_per_epoch)
    assert len(run.loss) == len(run.connection) == len(run.through) == steps
    assert run.check_error < 1e-9  # derived Jacobian of the residual block vs torch autograd
    assert all(x > 0 for x in run.connection + run.through) and np.isfinite(run.loss).all()
    again = training.train_run(0, width=8, epochs=0.2, batch=64, data=data)
    assert again.through == run.through  # seeded


def test_cli_reports_k_of_n_seeds(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    plot = tmp_path / "t.png"
    assert (
        main(["train-paths", "--seeds", "2", "--epochs", "0.1", "--width", "6", "--batch", "64", "--json", "--plot", str(plot)])
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["seeds"] == 2 and data["verdict"] == f"holds in {data['holds']} of 2 seeds (experiment, not a proof)"
    assert all(r["check"]["passed"] for r in data["runs"])
    assert plot.read_bytes()[:4] == b"\x89PNG"
