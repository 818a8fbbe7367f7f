"""Hostile and huge input to `symres expand` and `symres paths` (issue 14, the expand/paths
reproducers): exact counts at any L, work past the budget refused in one line before it
starts, long runs announced with an estimate, any norm giving the right log-norms.

Oracles: math.comb and 2**L (exact integers); the exact scaling ‖g_k(c·J)‖ = c^k ‖g_k(J)‖
of the length-k component under J_ℓ → c·J_ℓ.
"""

from __future__ import annotations

import json
import math
import sys
import time

import numpy as np
import pytest

from symres import paths
from symres.cli import main
from symres.cli.paths import NOTICE_SECONDS
from symres.errors import SymresError


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("symres: error:"), err
    return err


def test_expand_15000_counts_json_is_exact(capsys: pytest.CaptureFixture[str]) -> None:
    limit = sys.get_int_max_str_digits()
    assert main(["expand", "15000", "--counts", "--json"]) == 0
    assert sys.get_int_max_str_digits() == limit  # lifted only while writing
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        data = json.loads(capsys.readouterr().out)
    finally:
        sys.set_int_max_str_digits(old)
    assert len(data["counts"]) == 15001 and data["check"]["passed"]
    assert data["counts"][7500] == math.comb(15000, 7500) and data["total"] == 2**15000


def test_format_count_is_exact_in_its_leading_digits() -> None:
    for n in [math.comb(15000, 7500), 10**30, 10**30 - 1, 10**31 - 1, 999999 * 10**40, 2**15000]:
        text = paths.format_count(n)
        with paths.exact_int_text():
            exact = str(n)
        if len(exact) <= paths.EXACT_DIGITS:
            assert text == exact
        else:
            lead, rest = text.split("e+")
            assert lead.replace(".", "") == exact[:6] and rest == f"{len(exact) - 1} ({len(exact)} digits)"


@pytest.mark.parametrize(
    "argv",
    [
        ["expand", "1000000", "--counts"],
        ["expand", str(10**40), "--counts", "--json"],
        ["paths", "--depth", "1000000", "--width", "4096"],
        ["paths", "--depth", "10", "--width", "4", "--samples", "100000000"],
        ["paths", "--depth", "100", "--width", "8", "--budget", "1KB"],
        ["paths", "--block", "preact", "--depth", "100000", "--width", "512"],
    ],
)
def test_work_past_the_budget_is_refused_before_it_starts(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    start = time.perf_counter()
    assert main(argv) == 2
    assert time.perf_counter() - start < 30
    err = _one_line_error(capsys)
    assert "--budget" in err and "refused before starting" in err


@pytest.mark.parametrize("text", ["abc", "0", "-5s", "1XB", "inf", "nan"])
def test_bad_budget_is_one_line(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paths", "--depth", "3", "--width", "2", "--budget", text]) == 2
    assert "budget" in _one_line_error(capsys)


def test_budget_parsing() -> None:
    assert paths.Budget.parse("60") == paths.Budget(60.0, paths.Budget.bytes)
    assert paths.Budget.parse("4GB") == paths.Budget(paths.Budget.seconds, 4 * 2**30)
    assert paths.Budget.parse("90s,512MB") == paths.Budget(90.0, 512 * 2**20)
    assert paths.Budget.parse(paths.DEFAULT_BUDGET) == paths.Budget()


def test_a_long_run_is_refused_by_default_and_announced_when_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    # `paths --depth 5000 --width 128` ran minutes without a word: now its estimate exceeds the
    # default budget (one line naming --budget, at once); allowed, it is above the notice
    # threshold (estimate and progress bar on stderr)
    cost = paths.spectrum_cost(5000, 128)
    assert cost.seconds >= NOTICE_SECONDS
    with pytest.raises(SymresError, match="--budget"):
        cost.check(paths.Budget())
    cost.check(paths.Budget.parse(paths.BATCH_BUDGET))
    assert main(["paths", "--depth", "5000", "--width", "128"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refused before starting" in err and "--budget" in err


def test_progress_on_stderr_leaves_stdout_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paths", "--depth", "30", "--width", "4", "--json", "--progress"]) == 0
    captured = capsys.readouterr()
    assert "estimated" in captured.err and "path spectrum of depth 30" in captured.err
    assert json.loads(captured.out)["check"]["passed"]


@pytest.mark.parametrize("norm", [1e-300, 1e-160, 1e155, 1e160, 1e300])
def test_any_norm_gives_the_right_log_norms(norm: float) -> None:
    J, g = paths.random_stack(6, 4, norm=1.0, seed=3)
    base = paths.path_spectrum(jacobians=J, grad=g, mc_lengths=())
    scaled = paths.path_spectrum(jacobians=norm * J, grad=g, mc_lengths=())
    expected = base.log10_norms + np.arange(7) * math.log10(norm)
    assert np.all(np.isfinite(scaled.log10_norms))
    np.testing.assert_allclose(scaled.log10_norms, expected, rtol=0, atol=1e-9)
    assert scaled.check_passed and scaled.check_error < 1e-9 and math.isfinite(scaled.check_tolerance)


def test_cli_norm_1e160_reports_growing_log_norms(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paths", "--depth", "4", "--width", "4", "--norm", "1e160", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert main(["paths", "--depth", "4", "--width", "4", "--norm", "1", "--json"]) == 0
    unit = json.loads(capsys.readouterr().out)
    assert all(x is not None for x in data["log10_norms"])  # never g_k = 0
    # the same draw scaled by 1e160: ‖g_k‖ grows by exactly 10^{160 k}
    np.testing.assert_allclose(np.subtract(data["log10_norms"], unit["log10_norms"]), 160.0 * np.arange(5), atol=1e-9)
    assert data["check"]["passed"] and data["check"]["tolerance"] is not None


@pytest.mark.parametrize("norm", ["inf", "nan", "-1", "1e400"])
def test_non_finite_norm_is_refused(norm: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paths", "--depth", "3", "--width", "2", "--norm", norm]) == 2
    _one_line_error(capsys)


def test_a_vanishing_product_is_checked_not_waved_through() -> None:
    # (I + J_2)(I + J_1) = 0 with J_1 = −I: the product is exactly 0 while g_0 = g and g_1 ≠ 0
    J = np.stack([-np.eye(2), np.array([[0.5, 0.1], [0.2, 0.3]])])
    spec = paths.path_spectrum(jacobians=J, grad=np.array([1.0, 0.0]), mc_lengths=())
    assert spec.log10_full_norm == -math.inf and math.isinf(spec.check_tolerance)
    assert spec.check_passed and spec.check_scaled_error < 1e-15
    assert spec.as_dict()["check"]["scaled_tolerance"] == 1e-9
