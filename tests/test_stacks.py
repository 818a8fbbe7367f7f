"""Stacks with named intermediates (symres.stacks): h_ℓ and J_ℓ defined once, the chain checked."""

import json

import sympy as sp

from symres.cli import main
from symres.stacks import derive_stack


def test_a_mixed_stack_names_its_intermediates_and_passes():
    proof = derive_stack(["residual", "preact", "residual"], trials=40)
    assert proof.passed
    J = [sp.MatrixSymbol(f"J_{k}", 3, 3) for k in (3, 2, 1)]
    assert proof.result == sp.MatMul(*J)  # later blocks on the left
    lhs = [str(s.lhs) for s in proof.steps]
    assert lhs.count("h_2") == 1 and lhs.count("J_2") == 1  # each defined once
    assert proof.steps[-1].check.method == "numeric" and proof.steps[-1].check.passed


def test_cli_depth(capsys):
    assert main(["derive", "residual", "--depth", "4", "--json", "--trials", "40"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] and data["depth"] == 4 and data["jacobian"] == "J_{4} J_{3} J_{2} J_{1}"


def test_depth_with_let_is_one_line(capsys):
    assert main(["derive", "residual", "--depth", "2", "--let", "x=1,2,3"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
