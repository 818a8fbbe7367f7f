import sympy as sp

from symres.blocks import derive
from symres.expr import Deriv, Diag, add, apply, matmul
from symres.numeric import check_equal
from symres.proof import Check, Proof, Step

d = 3
x = sp.MatrixSymbol("x", d, 1)
W = sp.MatrixSymbol("W_1", d, d)


def _proof(rhs_after):
    y = add(x, matmul(W, apply("sigma", x)))
    start = Deriv(y, x)

    def verifier(a, b):
        return lambda trials, seed: check_equal(a, b, activation="tanh", trials=trials, seed=seed)

    steps = (Step(rhs=rhs_after, lhs=start, reason="claimed", verifier=verifier(start, rhs_after)),)
    return Proof("a test", ("x ∈ R^3",), steps, "done")


def test_a_wrong_step_is_reported_with_seed_and_instance():
    wrong = add(sp.Identity(d), matmul(W, Diag(apply("sigma", x))))  # σ where σ' belongs
    proof = _proof(wrong).check(trials=200, seed=42)
    assert not proof.passed
    ((number, step),) = proof.failures()
    assert number == 1
    assert step.check.seed == 42 and step.check.trials == 200 and step.check.max_error > 1e-3
    assert set(step.check.instance) == {"x", "W_1"}
    # the instance reproduces the failure: evaluate both sides there by hand
    import numpy as np

    xv, Wv = np.array(step.check.instance["x"]), np.array(step.check.instance["W_1"])
    h = 1e-6
    fd = np.stack(
        [((xv + h * e) + Wv @ np.tanh(xv + h * e) - (xv - h * e) - Wv @ np.tanh(xv - h * e)) / (2 * h) for e in np.eye(d)], axis=1
    )
    claimed = np.eye(d) + Wv @ np.diag(np.tanh(xv))
    assert np.max(np.abs(fd - claimed)) > 1e-3


def test_a_right_step_passes():
    right = add(sp.Identity(d), matmul(W, Diag(apply("sigma", x, 1))))
    proof = _proof(right).check(trials=200, seed=1)
    assert proof.passed and proof.failures() == []


def test_unchecked_proof_is_not_passed():
    proof = derive("residual", check=False)
    assert not proof.checked and not proof.passed


def test_json_of_preact_has_checked_steps():
    data = derive("preact").as_dict()
    assert len(data["steps"]) >= 4 and data["passed"]
    rules = data["steps"][2:]  # after the definition and the substitution
    assert len(rules) >= 4 and all(s["check"]["method"] == "symbolic" for s in rules)
    assert all(s["check"]["passed"] and s["check"]["trials"] >= 200 for s in rules)
    assert data["check"]["trials"] == 200 and data["check"]["seed"] == 0


def test_block_steps_are_symbolic_at_d_2_and_numeric_at_d():
    proof = derive("postact", dim=4, trials=50)
    assert proof.final.method == "symbolic" and proof.final.trials == 50
    assert "by the chain of steps above" in proof.final.detail and "at d = 4" in proof.final.detail
    assert all("size 2×2" in s.check.detail for s in proof.steps[2:])


def test_check_summary_wording():
    c = Check("numeric", True, "central finite differences", 200, 2e-10, 1e-6, 0)
    assert (
        c.summary()
        == "numerically (central finite differences): 200 points, max rel. error 2.0e-10 (tolerance 1e-06), seed 0: passed"
    )


# --------------------------------------------------------------------------- one model of evidence


def test_check_verdict_is_computed_from_the_check():
    assert Check("symbolic", True).verdict == "proved"
    assert Check("exact", True, trials=13).verdict == "proved"
    assert Check("theorem", True).verdict == "proved"
    assert Check("definition", True).verdict == "proved"
    assert Check("numeric", True, trials=10).verdict == "holds"
    assert Check("numeric", False, instance={"c": 0.5}).verdict == "refuted"
    assert Check("symbolic", False).verdict == "failed"
    undecided = Check("numeric", False, "too close", numbers={"interval": [-1e-30, 1e-30]}, decided=False)
    assert undecided.verdict == "undecided" and undecided.summary() == "numeric (too close): undecided"
    assert undecided.as_dict() == {
        "method": "numeric",
        "passed": False,
        "detail": "too close",
        "numbers": {"interval": [-1e-30, 1e-30]},
        "decided": False,
    }


def test_exact_and_theorem_checks_read_as_such():
    c = Check("exact", True, "counts compared with math.comb", trials=13, numbers={"max_difference": 0})
    assert c.summary() == "exactly (counts compared with math.comb): 13 cases: passed"
    assert c.mark == "exact; 13 cases"
    assert c.as_dict()["numbers"] == {"max_difference": 0}
    t = Check("theorem", True, "submultiplicativity", numbers={"theorems": ["submultiplicativity"]})
    assert t.summary() == "by theorems (submultiplicativity): passed" and t.mark == "theorem"
    margin = Check("numeric", True, "trials", trials=50, seed=3, numbers={"worst_margin": 0.25})
    assert margin.summary() == "numerically (trials): 50 points, worst margin 2.5e-01, seed 3: passed"
    assert margin.mark == "numeric, 50 pts, margin 2e-01"
    assert hash(c) == hash(Check("exact", True, "counts compared with math.comb", trials=13))  # numbers: not hashed


def test_proof_verdict_combines_its_checks():
    def proof(*checks: Check, **meta: object) -> Proof:
        steps = tuple(Step(rhs=sp.Integer(i), lhs=sp.Integer(i), reason="r", check=c) for i, c in enumerate(checks))
        return Proof("p", ("a",), steps, "c", meta=dict(meta))

    sym, num = Check("symbolic", True), Check("numeric", True, trials=5)
    assert proof(sym, Check("exact", True)).verdict == "proved"
    assert proof(sym, num).verdict == "holds"
    assert proof(sym, num, derived=True).verdict == "proved"  # rule by rule: the numeric check only confirms
    assert proof(num, Check("numeric", False, instance={"x": 1.0})).verdict == "refuted"
    assert proof(num, Check("symbolic", False)).verdict == "failed"
    assert proof(num, Check("numeric", False, decided=False)).verdict == "undecided"
    unchecked = Proof("p", (), (Step(rhs=x, lhs=x, reason="r", verifier=lambda t, s: sym),), "c")
    assert unchecked.verdict == "failed" and unchecked.check().verdict == "proved"


def test_a_statement_is_a_one_step_proof():
    check = Check("numeric", False, "200 trials", 200, 0.5, 1e-6, 0, instance={"c": 2.0})
    p = Proof.statement("a title", r"c \le 1", check, "why it matters")
    assert p.is_statement and p.verdict == "refuted" and not p.passed
    assert p.steps[0].reason == "why it matters" and p.steps[0].rhs == r"c \le 1"
    assert not _proof(x).is_statement  # a derivation with assumptions and a left side is not
    claim = Step.claim("norm(J) <= 1 where norm(J) <= 1", "given", Check("symbolic", True))
    assert claim.prose and claim.relation == "" and claim.lhs is None
    data = Proof("t", ("a",), (claim,), "c").as_dict()
    assert data["steps"][0] == {
        "statement": "norm(J) <= 1 where norm(J) <= 1",
        "reason": "given",
        "check": {"method": "symbolic", "passed": True, "detail": ""},
    }


def test_one_set_of_verdict_words():
    """The verdicts of checks, proofs, claims and the derivation library are named by one
    enum; the table's words come from it."""
    from symres.outcome import Outcome

    assert [o.label for o in Outcome] == ["proved", "holds numerically", "refuted", "undecided", "observed", "contradicted"]
    assert Outcome.label_of("holds") == "holds numerically" and Outcome.label_of("failed") == "failed"
    assert {Check("numeric", True, trials=1).verdict, Check("symbolic", True).verdict} == {Outcome.HOLDS, Outcome.PROVED}
