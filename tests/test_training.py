"""symres.training and `symres train-paths`: g (over the connection) and g·J (through the
block) recorded while a small network trains on the 8×8 digits.

Oracles: torch autograd's vector-Jacobian product of the branch (the run records the
largest deviation of the derived g·J from it), hand-made series for the crossing, and the
recorded runs of derivations/data/seed003_experiment.json (re-run from their settings).

torch and scikit-learn are required here (the dev extra installs them): the reproduction
of the recorded experiment is not skipped for want of them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sklearn  # noqa: F401  (required: the digits)
import torch  # noqa: F401  (required: the training)

from symres import training
from symres.cli import main
from symres.errors import SymresError

RECORD = Path(__file__).resolve().parents[1] / "derivations" / "data" / "seed003_experiment.json"


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
    verdict = {2: "observed", 0: "contradicted"}.get(data["holds"], "undecided")
    assert data["seeds"] == 2
    assert data["verdict"] == f"{verdict}: the statement held in {data['holds']} of 2 seeds (an experiment, not a proof)"
    assert all(r["check"]["passed"] for r in data["runs"])
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_the_recorded_experiment_reproduces() -> None:
    """The first steps of the record's first seed, re-run from the record's settings, give
    the recorded loss, ‖g‖ and ‖g·J‖ (stored to 8 significant digits)."""
    settings, runs = training.load_record(RECORD)
    first = runs[0]
    steps = 12
    again = training.train_run(
        first.seed,
        width=settings["width"],
        epochs=settings["epochs"],
        batch=settings["batch"],
        lr=settings["lr"],
        window=settings["window"],
        steps=steps,
    )
    assert again.steps_per_epoch == first.steps_per_epoch
    for ours, recorded in ((again.loss, first.loss), (again.connection, first.connection), (again.through, first.through)):
        np.testing.assert_allclose(ours, recorded[:steps], rtol=1e-6)
    assert again.check_error < 1e-9


def test_a_record_round_trips(tmp_path: Path) -> None:
    data = training.load_digits_data()
    runs = [training.train_run(s, width=6, epochs=0.1, batch=64, data=data) for s in (0, 1)]
    path = tmp_path / "r.json"
    path.write_text(training.record_json(training.record(runs, epochs=0.1, command="test")), encoding="utf-8")
    settings, back = training.load_record(path)
    assert settings["seeds"] == [0, 1] and settings["epochs"] == 0.1 and settings["batch"] == 64
    for r, b in zip(runs, back):
        assert (b.seed, b.width, b.steps_per_epoch, b.window) == (r.seed, r.width, r.steps_per_epoch, r.window)
        np.testing.assert_allclose(b.through, r.through, rtol=1e-7)
        assert b.crossing == r.crossing and b.statement_holds == r.statement_holds
    assert json.loads(path.read_text(encoding="utf-8"))["runs"][0]["seed"] == 0


@pytest.mark.parametrize(
    "text, message",
    [("{", "not JSON"), ('{"kind": "other"}', "is not a symres train-paths record"), ("[]", "is not a")],
)
def test_a_bad_record_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "r.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SymresError, match=message):
        training.load_record(path)
    with pytest.raises(SymresError, match="cannot read"):
        training.load_record(tmp_path / "missing.json")


def test_train_run_stops_after_the_steps_asked_for() -> None:
    data = training.load_digits_data()
    short = training.train_run(3, width=5, epochs=1, batch=64, data=data, steps=4)
    longer = training.train_run(3, width=5, epochs=1, batch=64, data=data, steps=6)
    assert len(short.loss) == 4 and longer.through[:4] == short.through
    with pytest.raises(SymresError, match="steps must be a positive"):
        training.train_run(3, width=5, steps=0, data=data)


def test_the_plot_is_deterministic_and_marks_the_crossing() -> None:
    run = training.TrainingRun(0, 4, 8, 1e-3, 10, 2, [1.0] * 30, [1.0] * 30, [0.5] * 12 + [2.0] * 18)
    assert run.crossing == 12 and run.epoch_of_crossing == 2  # the mean over steps 11, 12 is (0.5 + 2)/2 ≥ 1
    pdf = training.plot_runs([run, run], "pdf")
    assert pdf[:5] == b"%PDF-" and pdf == training.plot_runs([run, run], "pdf")
    assert training.plot_runs([run], "png")[:4] == b"\x89PNG"
    with pytest.raises(SymresError, match="pdf or .png"):
        training.plot_runs([run], "svg")


def test_cli_writes_a_record_and_refuses_a_bad_plot_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rec.json"
    args = ["train-paths", "--seeds", "1", "--epochs", "0.05", "--width", "4", "--batch", "64", "--json"]
    assert main([*args, "--output", str(out)]) == 0
    capsys.readouterr()
    settings, runs = training.load_record(out)
    assert settings["seeds"] == [0] and len(runs) == 1
    assert "--output" in json.loads(out.read_text(encoding="utf-8"))["command"]
    assert main([*args, "--plot", str(tmp_path / "x.svg")]) == 2
    assert "--plot writes a .png or a .pdf" in capsys.readouterr().err
