"""symres.paths: the subset expansion of ∏(I + J_ℓ), path counts, the path-length spectrum.

The oracles here are independent of the code under test: SymPy's own `expand` and
`lambdify`, NumPy products written out in the test, and brute-force subset enumeration.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import sympy as sp
from helpers import brute_path_components
from sympy.matrices.expressions import Identity, MatAdd, MatMul

from symres import paths
from symres.cli import main
from symres.errors import SymresError
from symres.paths import closed_form


def _direct_product(J: np.ndarray) -> np.ndarray:
    """(I + J_L) ⋯ (I + J_1) with J[ℓ-1] = J_ℓ, later block left."""
    d = J.shape[1]
    P = np.eye(d)
    for Jl in J:
        P = (np.eye(d) + Jl) @ P
    return P


# --------------------------------------------------------------------------- symbolic expansion


@pytest.mark.parametrize("L", range(0, 8))
def test_term_count_is_two_to_the_L(L: int) -> None:
    expr = paths.expand_product(L)
    terms = expr.args if isinstance(expr, MatAdd) else (expr,)
    assert len(terms) == 2**L
    assert len(set(terms)) == 2**L


def test_order_L2_and_L3() -> None:
    assert sp.sstr(paths.expand_product(2), order="none") == "I + J_1 + J_2 + J_2*J_1"
    assert sp.sstr(paths.expand_product(3), order="none") == ("I + J_1 + J_2 + J_3 + J_2*J_1 + J_3*J_1 + J_3*J_2 + J_3*J_2*J_1")
    assert paths.expansion_indices(paths.expand_product(3), 3) == [(), (1,), (2,), (3,), (2, 1), (3, 1), (3, 2), (3, 2, 1)]
    assert sp.sstr(paths.product_expression(3), order="none") == "(I + J_3)*(I + J_2)*(I + J_1)"


def test_fast_construction_is_the_public_constructors_object() -> None:
    d = sp.Symbol("d")
    J = [sp.MatrixSymbol(f"J_{l}", d, d) for l in range(1, 5)]
    terms = [Identity(d)]
    for k in range(1, 5):
        for S in itertools.combinations(range(4), k):
            terms.append(MatMul(*[J[s] for s in reversed(S)]) if k > 1 else J[S[0]])
    public = MatAdd(*terms)
    ours = paths.expand_product(4)
    assert ours == public
    assert ours.args == tuple(terms)  # SymPy kept our order
    assert ours.shape == (d, d)


@pytest.mark.parametrize("L", [1, 2, 3, 4])
def test_same_terms_as_sympy_expand(L: int) -> None:
    sym = sp.expand(paths.product_expression(L))
    ours = paths.expand_product(L)
    as_set = lambda e: set(e.args) if isinstance(e, MatAdd) else {e}  # noqa: E731
    assert as_set(sym) == as_set(ours)


@pytest.mark.parametrize("L", [1, 2, 3, 5])
def test_expansion_equals_numeric_product_via_lambdify(L: int) -> None:
    d = 3
    expr = paths.expand_product(L).xreplace({paths.dimension_symbol(): d})
    f = sp.lambdify(list(paths.jacobian_symbols(L, d)), expr, "numpy")
    rng = np.random.default_rng(L)
    for _ in range(3):
        J = rng.standard_normal((L, d, d)) * 0.5
        np.testing.assert_allclose(f(*J), _direct_product(J), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("L", [0, 1, 4, 9])
def test_check_expansion_passes_and_catches_a_wrong_order(L: int) -> None:
    expr = paths.expand_product(L)
    check = paths.check_expansion(expr, L, seed=L)
    assert check.passed and check.verdict == "holds" and check.max_error < 1e-12
    assert check.numbers == {"depth": L, "terms": 2**L, "terms_expected": 2**L, "d": 3, "norm": 0.9}
    assert (check.trials, check.seed, check.tolerance) == (3, L, 1e-10 * (L + 1))
    if L >= 2:  # the same terms with J_1 J_2 in place of J_2 J_1 are refused
        J = paths.jacobian_symbols(L)
        bad = MatAdd(*[t for t in expr.args if t != MatMul(J[1], J[0])], MatMul(J[0], J[1]))
        with pytest.raises(SymresError, match="product order"):
            paths.check_expansion(bad, L)


def test_expand_by_length_groups_and_counts() -> None:
    groups = paths.expand_by_length(5)
    assert sorted(groups) == list(range(6))
    for k, g in groups.items():
        n = len(g.args) if isinstance(g, MatAdd) else 1
        assert n == math.comb(5, k)


def test_expand_rejects_bad_depth() -> None:
    for bad in (-1, 2.5, "3", True):
        with pytest.raises(SymresError, match="non-negative integer"):
            paths.expand_product(bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- words, counts


def test_path_words_are_seed_problem_2() -> None:
    assert list(paths.path_words(3)) == ["III", "J1II", "IJ2I", "IIJ3", "J1J2I", "J1IJ3", "IJ2J3", "J1J2J3"]
    assert [t.factors for t in paths.path_terms(2)] == [(), ("J_1",), ("J_2",), ("J_2", "J_1")]


def test_words_and_terms_stream() -> None:
    words = paths.path_words(60)  # 2^60 words: only a generator can hold them
    assert next(words) == "I" * 60
    assert next(words) == "J1" + "I" * 59
    term = next(itertools.islice(paths.path_terms(60), 61, None))
    assert term.subset == (1, 2) and term.factors == ("J_2", "J_1")


@pytest.mark.parametrize("L", [0, 1, 2, 7, 30, 54, 200])
def test_counts_are_binomials(L: int) -> None:
    counts = paths.path_counts(L)
    assert counts == [math.comb(L, k) for k in range(L + 1)]
    assert sum(counts) == paths.total_paths(L) == 2**L


def test_counts_match_enumeration() -> None:
    for L in range(9):
        lengths = [len(S) for S in paths.path_subsets(L)]
        assert [lengths.count(k) for k in range(L + 1)] == paths.path_counts(L)


# --------------------------------------------------------------------------- closed form


def test_count_proof_checks_carry_the_counts() -> None:
    """Σ_k C(L, k) = 2^L: the enumerated counts, compared exactly with an independent oracle
    (itertools.combinations and math.comb), and what SymPy returned, are in the Checks."""
    proof = paths.count_proof(max_depth=6)
    assert proof.verdict == "proved" and proof.passed
    enum, ends, total = proof.steps
    assert ends.check.numbers == {"sympy_result": ["0", "0", "0"]}
    assert enum.check.method == "exact" and enum.check.verdict == "proved" and enum.check.trials == 7
    oracle = [[sum(1 for _ in itertools.combinations(range(n), k)) for k in range(n + 1)] for n in range(7)]
    assert enum.check.numbers["enumerated"] == oracle
    assert enum.check.numbers["binomial"] == [[math.comb(n, k) for k in range(n + 1)] for n in range(7)]
    assert enum.check.numbers["max_difference"] == 0 and enum.check.numbers["depths"] == list(range(7))
    assert total.check.method == "symbolic" and total.check.numbers == {"summation": "2**L", "sympy_result": "0"}
    assert (total.lhs, total.rhs) == (r"\sum_{k=0}^{L} \binom{L}{k}", "2^{L}")
    d = proof.as_dict()
    json.dumps(d)
    assert d["steps"][0]["latex"] == r"\#\{S \subseteq \{1,\dots,L\} : |S| = k\} = \binom{L}{k}"
    assert d["steps"][0]["check"]["numbers"]["enumerated"][6] == [1, 6, 15, 20, 15, 6, 1]
    assert sp.summation(sp.binomial(closed_form._L, closed_form._K), (closed_form._K, 0, closed_form._L)) == 2**closed_form._L


def test_induction_proof_checks_carry_the_errors() -> None:
    """The matrix identities of the induction are checked on random J with the largest
    relative error in the Check (recomputed here independently); Pascal's rule by SymPy."""
    proof = paths.induction_proof(max_depth=3, trials=2, seed=5)
    assert proof.passed and proof.verdict == "proved"
    assert [s.check.method for s in proof.steps] == ["symbolic"] * 6
    split, distrib = proof.steps[1].check, proof.steps[2].check
    assert split.numbers == {"sympy_result": "True"} and distrib.numbers == {"sympy_result": "0"}
    expected = closed_form._numeric_product_check([0, 1, 2, 3], 3, 2, 5)
    assert (split.max_error, distrib.max_error) == expected[:2]
    assert split.trials == 8 and split.seed == 5 and 0 < split.max_error < 1e-12
    assert split.tolerance == closed_form.NUMERIC_TOLERANCE
    subsets = proof.steps[3].check
    assert subsets.max_error == expected[2] and subsets.numbers["sympy_result"] == "True"
    pascal = proof.steps[4].check
    assert pascal.numbers == {"sympy_result": "0", "exact_up_to": 40, "exact": True}
    assert proof.steps[2].lhs is None  # continues the previous line
    json.dumps(proof.as_dict())


def test_a_failed_numeric_identity_fails_the_induction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(closed_form, "_numeric_product_check", lambda *a: (1e-3, 0.0, 0.0))
    proof = paths.induction_proof(max_depth=2, trials=1)
    assert not proof.passed and proof.verdict == "failed"
    assert [i for i, _ in proof.failures()] == [2]
    assert proof.steps[1].check.max_error == 1e-3


# --------------------------------------------------------------------------- spectrum


def test_dp_matches_brute_force_enumeration() -> None:
    rng = np.random.default_rng(7)
    J, g = rng.standard_normal((6, 3, 3)), rng.standard_normal(3)
    U, c = paths.path_components(J, g)
    np.testing.assert_allclose(np.exp(c)[:, None] * U, brute_path_components(J, g), rtol=1e-12, atol=1e-12)
    spec = paths.path_spectrum(jacobians=J, grad=g, mc_lengths=())
    brute = np.linalg.norm(brute_path_components(J, g), axis=1)
    np.testing.assert_allclose(spec.log10_norms, np.log10(brute), atol=1e-12)
    np.testing.assert_allclose(spec.log10_counts, np.log10([math.comb(6, k) for k in range(7)]), atol=1e-14)


def test_sum_of_components_is_the_full_product() -> None:
    J, g = paths.random_stack(12, 5, norm=0.8, seed=3)
    np.testing.assert_allclose(np.linalg.norm(J, ord=2, axis=(1, 2)), 0.8, rtol=1e-12)
    spec = paths.path_spectrum(jacobians=J, grad=g, mc_lengths=())
    assert spec.check_passed and spec.check_error < 1e-13
    full = g @ _direct_product(J)
    assert spec.log10_full_norm == pytest.approx(np.log10(np.linalg.norm(full)), abs=1e-12)
    u, c = paths.full_product(J, g)
    np.testing.assert_allclose(np.exp(c) * u, full, rtol=1e-12)


def test_random_instance_is_reproducible_and_matches_random_stack() -> None:
    a = paths.path_spectrum(40, 4, norm=0.7, seed=11, mc_samples=50)
    b = paths.path_spectrum(40, 4, norm=0.7, seed=11, mc_samples=50)
    np.testing.assert_array_equal(a.log10_norms, b.log10_norms)
    J, g = paths.random_stack(40, 4, norm=0.7, seed=11)
    c = paths.path_spectrum(jacobians=J, grad=g, mc_lengths=())
    np.testing.assert_array_equal(a.log10_norms, c.log10_norms)


@pytest.mark.parametrize("norm", [0.001, 3.0])
def test_no_overflow_at_depth_1000(norm: float) -> None:
    # norm 3: ‖g_k‖ reaches ~10^400 (float64 overflows); norm 0.001: g_1000 ~ 10^-3000 (underflows)
    spec = paths.path_spectrum(1000, 4, norm=norm, seed=1, mc_lengths=(1,), mc_samples=100)
    assert spec.log10_norms.shape == (1001,)
    assert np.all(np.isfinite(spec.log10_norms))
    assert spec.check_passed
    assert (spec.log10_norms.max() > 310) if norm == 3.0 else (spec.log10_norms[-1] < -2000)


def test_exact_zero_components_are_minus_inf() -> None:
    spec = paths.path_spectrum(5, 3, norm=0.0, seed=0, mc_lengths=(0, 2))
    assert spec.log10_norms[0] == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.isneginf(spec.log10_norms[1:]))
    assert spec.check_passed and spec.band == (0, 0)
    assert json.dumps(spec.as_dict())  # -inf become null


def test_monte_carlo_estimate_is_close_at_small_depth() -> None:
    spec = paths.path_spectrum(8, 3, norm=0.6, seed=5, mc_lengths=(0, 1, 2, 8), mc_samples=20000)
    errs = {m.length: m.rel_error for m in spec.monte_carlo}
    assert errs[0] < 1e-12 and errs[8] < 1e-12  # one subset: the estimate is exact
    assert errs[1] < 0.1 and errs[2] < 0.15
    assert all(m.samples == 20000 for m in spec.monte_carlo)


def test_effective_band() -> None:
    assert paths.effective_band(np.log([1.0, 8.0, 1.0]), 0.8) == (1, 1, 0.8)
    a, b, share = paths.effective_band(np.log([5.0, 1.0, 1.0, 5.0]), 0.9)
    assert (a, b) == (0, 3) and share == 1.0
    a, b, share = paths.effective_band(np.log([1.0, 4.0, 4.0, 1.0, 0.1]), 0.75)
    assert (a, b) == (1, 2) and share == pytest.approx(8 / 10.1)
    assert paths.effective_band(np.array([-np.inf, -np.inf])) == (0, 0, 0.0)


def test_supplied_stack_is_validated() -> None:
    with pytest.raises(SymresError):
        paths.path_spectrum(jacobians=np.zeros((3, 2, 2)), grad=np.ones(3))
    with pytest.raises(SymresError):
        paths.path_spectrum(4, 0)
    with pytest.raises(SymresError):
        paths.path_spectrum(4, 2, norm=float("nan"))


# --------------------------------------------------------------------------- CLI


def test_cli_expand_3_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["expand", "3", "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert out == json.dumps(data, indent=2) + "\n"  # the streamed writer prints what _print_json would
    assert [t["factors"] for t in data["terms"]] == [
        [],
        ["J_1"],
        ["J_2"],
        ["J_3"],
        ["J_2", "J_1"],
        ["J_3", "J_1"],
        ["J_3", "J_2"],
        ["J_3", "J_2", "J_1"],
    ]
    assert [t["length"] for t in data["terms"]] == [0, 1, 1, 1, 2, 2, 2, 3]
    assert [t["word"] for t in data["terms"]] == ["III", "J1II", "IJ2I", "IIJ3", "J1J2I", "J1IJ3", "IJ2J3", "J1J2J3"]
    assert data["counts"] == [1, 3, 3, 1] and data["total"] == 8
    assert data["check"]["passed"] and data["check"]["numbers"]["terms"] == 8 and data["check"]["method"] == "numeric"


def test_cli_expand_counts_54_exact(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["expand", "54", "--counts", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["counts"] == [math.comb(54, k) for k in range(55)]
    assert data["total"] == 2**54 and data["check"]["passed"]
    assert data["check"] == {"method": "exact", "passed": True, "detail": paths.COUNTS_CHECK}


@pytest.mark.parametrize("flags", [[], ["--grouped"], ["--latex"], ["--latex", "--grouped"], ["--counts"]])
def test_cli_expand_text_says_how_it_was_checked(flags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["expand", "3", *flags]) == 0
    assert "checked" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["expand", "25"],
        ["expand", "-1"],
        ["expand", "x"],
        ["expand", "2.5"],
        ["paths", "--depth", "-3", "--width", "2"],
        ["paths", "--depth", "3", "--width", "0"],
        ["paths", "--depth", "3", "--width", "2", "--norm", "-1"],
    ],
)
def test_cli_bad_input_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("symres: error:")
    if argv == ["expand", "25"]:
        assert "--counts" in err


def test_cli_paths_1000_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paths", "--depth", "1000", "--width", "64", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    norms = data["log10_norms"]
    assert len(norms) == 1001 and all(x is not None and math.isfinite(x) for x in norms)
    assert data["check"]["passed"] and data["check"]["rel_error"] < 1e-10
    a, b = data["band"]["lengths"]
    assert 0 <= a <= data["peak"] <= b <= 1000 and data["band"]["share"] >= 0.9
    assert len(data["log10_counts"]) == 1001 and data["log10_counts"][500] == pytest.approx(299.4, abs=0.1)


def test_cli_paths_text_and_plot(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "spectrum.png"
    assert main(["paths", "--depth", "50", "--width", "4", "--plot", str(target)]) == 0
    out = capsys.readouterr().out
    assert "checked (numeric)" in out and "effective band" in out and "Monte-Carlo" in out
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["spectrum.png"]  # no temporary file left


def test_cli_expand_proof_renders_the_closed_form(capsys: pytest.CaptureFixture[str]) -> None:
    """`symres expand L --proof`: the counts and the induction for symbolic L, the checks
    enumerating depths 0..L, as JSON (the Proofs' as_dict), terminal text and LaTeX."""
    assert main(["expand", "5", "--proof", "--json"]) == 0
    counts, induction = json.loads(capsys.readouterr().out)
    enumerated = counts["steps"][0]["check"]["numbers"]["enumerated"]
    assert enumerated == [[math.comb(n, k) for k in range(n + 1)] for n in range(6)]
    assert counts["passed"] and induction["passed"] and len(induction["steps"]) == 6
    assert induction["steps"][1]["check"]["trials"] == 6 * 5  # L = 0..5, five instances each
    assert main(["expand", "3", "--proof"]) == 0
    out = capsys.readouterr().out
    assert "#{S ⊆ {1,…,L} : |S| = k} = C(L,k)" in out and "✓ exact; 4 cases" in out
    assert main(["expand", "3", "--proof", "--latex"]) == 0
    assert r"\binom{L+1}{k} &= \binom{L}{k} + \binom{L}{k-1}" in capsys.readouterr().out
    assert main(["expand", "15", "--proof"]) == 2
    assert "give L <= 14" in capsys.readouterr().err
