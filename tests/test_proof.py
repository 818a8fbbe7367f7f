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
