"""symres.sweep and `symres sweep`: one row per run, independent of the executor, resumable.

Oracles: the rows of a plain local process pool against a Dask LocalCluster (threads, to
stay fast), and against `symres.sweep.run_one` called directly.
"""

from __future__ import annotations

import csv
import json

import pytest

from symres import sweep
from symres.cli import main

pytest.importorskip("distributed")

ARGV = ["sweep", "--block", "preact,postact", "--depth", "10,20", "--width", "8", "--seeds", "2"]


def _without_time(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def _read(path) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_local_pool_and_dask_give_the_same_rows(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    pool_file, dask_file = tmp_path / "pool.csv", tmp_path / "dask.csv"
    assert main([*ARGV, "--output", str(pool_file), "--workers", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["runs"] == 8 and out["ran"] == 8
    configs = sweep.grid(["preact", "postact"], [10, 20], [8], seeds=2)
    with sweep.executor("local", 1, processes=False) as client:
        rows, ran = sweep.sweep(configs, dask_file, submit=client)
    assert ran == 8
    pool_rows = _read(pool_file)
    assert len(pool_rows) == 8 and _without_time(pool_rows) == _without_time(_read(dask_file)) == _without_time(rows)
    assert [(r["block"], r["depth"], r["seed"]) for r in pool_rows] == [(c.block, str(c.depth), str(c.seed)) for c in configs]
    assert all(r["check_passed"] == "True" for r in pool_rows)
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.read_parquet(tmp_path / "pool.parquet")
    assert len(frame) == 8 and list(frame.columns) == list(sweep.COLUMNS) and frame["depth"].dtype.kind == "i"
    direct = {k: str(v) for k, v in sweep.run_one(configs[5]).items()}
    assert _without_time([direct]) == _without_time([pool_rows[5]])


def test_resume_after_an_interrupted_sweep(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    full, cut = tmp_path / "full.csv", tmp_path / "cut.csv"
    argv = ["sweep", "--block", "residual", "--depth", "3,4", "--width", "3", "--seeds", "2", "--workers", "1", "--json"]
    assert main([*argv, "--output", str(full)]) == 0
    capsys.readouterr()
    lines = full.read_text().splitlines(keepends=True)
    # killed while writing its fourth row: three complete rows and a torn line
    cut.write_text("".join(lines[:4]) + lines[4][:12])
    assert main([*argv, "--output", str(cut)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["runs"], out["ran"], out["skipped"]) == (4, 1, 3)
    assert _without_time(_read(cut)) == _without_time(_read(full))
    assert [r["seconds"] for r in _read(cut)[:3]] == [r["seconds"] for r in _read(full)[:3]]  # kept, not re-run
    assert main([*argv, "--output", str(cut)]) == 0
    assert json.loads(capsys.readouterr().out)["ran"] == 0


def test_bad_sweeps_are_one_line(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    for argv in (
        [*ARGV, "--output", str(other)],
        ["sweep", "--block", "preact", "--depth", "5", "--width", "4", "--init", "lecun", "--output", str(tmp_path / "x.csv")],
        ["sweep", "--block", "preact", "--depth", "100000", "--width", "512", "--output", str(tmp_path / "y.csv")],
        ["sweep", "--depth", "5", "--width", "4", "--output", str(tmp_path / "z.csv")],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("symres: error:"), err
    assert other.read_text() == "a,b\n1,2\n"  # not a sweep file: untouched


def test_grid_from_a_toml_file(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    conf = tmp_path / "grid.toml"
    conf.write_text('block = ["rezero"]\ndepth = [3]\nwidth = 4\nseeds = 2\n[let]\nalpha = 0.1\n')
    assert main(["sweep", "--config", str(conf), "--output", str(tmp_path / "g.csv"), "--workers", "1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [(r["block"], r["lets"], r["seed"]) for r in rows] == [("rezero", "alpha=0.1", "0"), ("rezero", "alpha=0.1", "1")]
