"""Blocks defined by the user: Block.define, load_block and `symres derive --block`."""

import json
import sys
import textwrap

import numpy as np
import pytest
from helpers import torch_jacobian

from symres.blocks import BLOCKS, Block, derive, load_block
from symres.cli import main
from symres.errors import SymresError
from symres.numeric import compile_expr, draw

MINE = """
from symres import Block

mine = Block.define("mine", lambda v: v.x + v.matrix("W_2") @ v.sigma(v.matrix("W_1") @ v.x), source="my notes")

def _gated(v):
    g = v.sigmoid(v.matrix("W_g") @ v.x + v.vector("b_g"))
    return (1 - g) * v.x + g * v.F(v.layernorm(v.x))

gated_prenorm = Block.define("gated-prenorm", _gated, title="a gated pre-LN block")
wide = Block.define("wide", lambda v: v.x + v.F(v.x, rows=4))
not_a_block = 3
"""


@pytest.fixture
def blockfile(tmp_path):
    path = tmp_path / "myblocks.py"
    path.write_text(textwrap.dedent(MINE))
    return path


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_block_from_a_file_derives_through_the_cli(capsys, blockfile):
    code, out, err = run(capsys, "derive", "--block", f"{blockfile}:mine", "--json")
    data = json.loads(out)
    assert code == 0 and err == "" and data["block"] == "mine" and data["check"]["passed"]
    assert data["jacobian"] == r"I + W_{2} \operatorname{diag}\left(\sigma'\left(W_{1} x\right)\right) W_{1}"
    assert all(s["check"]["passed"] for s in data["steps"])


def test_a_block_from_a_module_on_the_current_directory(capsys, blockfile, monkeypatch):
    monkeypatch.chdir(blockfile.parent)
    monkeypatch.delitem(sys.modules, "myblocks", raising=False)
    code, out, _ = run(capsys, "derive", "--block", "myblocks:gated_prenorm", "--json", "--trials", "50", "--budget", "120")
    data = json.loads(out)
    assert code == 0 and data["block"] == "gated-prenorm" and data["check"]["passed"]
    assert "J_{\\operatorname{LN}}\\left(x\\right)" in data["jacobian"]


def test_user_blocks_are_not_registered_and_match_torch(blockfile):
    blk = load_block(f"{blockfile}:gated_prenorm")
    assert isinstance(blk, Block) and blk.name not in BLOCKS
    proof = derive(blk, activation="tanh", trials=50)
    assert proof.passed
    inst = proof.meta["instance"]
    batch = draw(inst.symbols, inst.domains, 3, np.random.default_rng(0))
    derived = compile_expr(proof.result, inst.symbols, "tanh")(batch)
    for k in range(3):
        point = {n: v[k] for n, v in batch.items()}
        np.testing.assert_allclose(derived[k], torch_jacobian(inst.forward, point, "tanh"), rtol=1e-9, atol=1e-12)


def test_the_shape_error_carries_the_advice(capsys, blockfile):
    code, out, err = run(capsys, "derive", "--block", f"{blockfile}:wide")
    assert code == 2 and out == ""
    assert err == "symres: error: shape mismatch: F maps R^3 to R^4; use a projection shortcut W_s x\n"
    code, _, err = run(capsys, "derive", "--block", f"{blockfile}:wide", "--dim", "5")
    assert "F maps R^5 to R^4" in err


@pytest.mark.parametrize(
    "spec, message",
    [
        ("{file}:nosuch", "has no attribute 'nosuch'"),
        ("{file}:not_a_block", "not_a_block is an int, not a Block"),
        ("{dir}/absent.py:mine", "no such file"),
        ("no_such_module_xyz:mine", "cannot import 'no_such_module_xyz'"),
        ("mine", "write MODULE:NAME or path/to/file.py:NAME"),
    ],
)
def test_bad_specs_are_one_line_and_status_2(capsys, blockfile, spec, message):
    spec = spec.format(file=blockfile, dir=blockfile.parent)
    code, out, err = run(capsys, "derive", "--block", spec)
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err


def test_a_module_that_fails_to_import_is_one_line(capsys, tmp_path):
    bad = tmp_path / "broken.py"
    bad.write_text("raise RuntimeError('no\\nway')\n")
    code, _, err = run(capsys, "derive", "--block", f"{bad}:mine")
    assert code == 2 and err.count("\n") == 1 and "RuntimeError: no way" in err


@pytest.mark.parametrize("argv", [["derive"], ["derive", "preact", "--block", "x.py:mine"]])
def test_name_or_block_exactly_one(capsys, argv):
    code, _, err = run(capsys, *argv)
    assert code == 2 and "exactly one of the three" in err


def test_define_in_python_with_operators_and_keyword_names():
    blk = Block.define(
        "scaled-mine",
        lambda v: v.scalar("lambda") * v.x + v.diag(v.vector("lambda_2")) @ v.F(v.x),
        source="notes",
    )
    proof = derive(blk, trials=50)
    assert proof.passed
    from symres.render import text

    assert text(proof.result) == "λ I + diag(λ₂) W₂ diag(σ'(W₁ x)) W₁"
    assert "scaled by the constant $\\lambda$" in proof.facts[0].reason


def test_define_must_produce_a_vector():
    with pytest.raises(SymresError, match="must produce a column vector"):
        Block.define("s", lambda v: v.x.T @ v.x @ v.x.T).instance(3)
    with pytest.raises(SymresError, match="scalar"):
        Block.define("s", lambda v: v.scalar("a")).instance(3)


ISSUE_BLOCKS = """
import math
from symres import Block

neg = Block.define("neg", lambda v: -(v.x + v.x))
scaled = Block.define("scaled", lambda v: (v.x + v.F(v.x)) / math.sqrt(2))
gate = Block.define("gate", lambda v: v.scalar("alpha") * (v.x + v.F(v.x)))
diag_mid = Block.define("diag_mid", lambda v: v.diag(v.sigma(v.x)) @ (v.matrix("A") @ v.x))
quad = Block.define("quad", lambda v: (v.x.T @ v.matrix("A") @ v.x) * v.x)
inner_F = Block.define("inner_F", lambda v: (v.F(v.x).T @ v.F(v.matrix("B") @ v.x)) * v.x)
row_T = Block.define("row_T", lambda v: (v.x.T @ v.matrix("A")).T)
sq_norm = Block.define("sq_norm", lambda v: ((v.matrix("A") @ v.x).T @ (v.matrix("A") @ v.x)) * v.x)
xBx = Block.define("xBx", lambda v: v.x * (v.x.T @ v.matrix("B") @ v.x))
TT = Block.define("TT", lambda v: v.x.T.T)
cubic = Block.define("cubic", lambda v: (v.diag(v.x) @ v.x) @ (v.x.T @ v.x))
fixed = Block.define("fixed", lambda v: v.matrix("B", 3, 2) @ v.sigma(v.matrix("A", 2, 3) @ v.x))
rsqrt = Block.define("rsqrt", lambda v: v.act("rsqrt", v.x))
"""


@pytest.fixture
def issue_file(tmp_path):
    path = tmp_path / "issue_blocks.py"
    path.write_text(textwrap.dedent(ISSUE_BLOCKS))
    return path


def _fd_at_point(inst, point, activation):
    from helpers import fd_jacobian

    f = compile_expr(inst.forward, inst.symbols, activation)

    def y(xv):
        values = {k: np.asarray(v, dtype=float)[None] for k, v in point.items()}
        values["x"] = xv.reshape(1, -1, 1)
        return f(values)[0, :, 0]

    return fd_jacobian(y, np.asarray(point["x"], dtype=float).reshape(-1))


@pytest.mark.parametrize(
    "name, dim",
    [
        ("neg", 3), ("scaled", 3), ("gate", 3), ("diag_mid", 3), ("quad", 3), ("inner_F", 3), ("row_T", 3),
        ("sq_norm", 3), ("xBx", 3), ("TT", 3), ("cubic", 3), ("cubic", 1), ("fixed", 3), ("quad", 1),
    ],
)  # fmt: skip
def test_the_blocks_the_issue_lists_derive_and_evaluate(capsys, issue_file, name, dim):
    blk = load_block(f"{issue_file}:{name}")
    inst = blk.instance(dim)
    rng = np.random.default_rng(7)
    point = {str(p.symbol): rng.normal(size=tuple(int(n) for n in getattr(p.symbol, "shape", (1, 1)))) for p in inst.params}
    lets = []
    for k, v in point.items():
        lets += ["--let", f"{k}=" + ";".join(",".join(repr(float(c)) for c in row) for row in np.atleast_2d(v))]
    argv = ["derive", "--block", f"{issue_file}:{name}", "--dim", str(dim), "--activation", "tanh", "--trials", "30"]
    code, out, err = run(capsys, *argv, *lets, "--json")
    assert code == 0 and err == "", err
    data = json.loads(out)
    assert data["passed"]
    np.testing.assert_allclose(np.array(data["value"]), _fd_at_point(inst, point, "tanh"), rtol=1e-6, atol=1e-7)
    if name == "neg":
        assert np.array(data["value"]).tolist() == (-2 * np.eye(3)).tolist()


def test_size_errors_and_names_are_one_line(capsys, issue_file):
    code, out, err = run(capsys, "derive", "residual", "--out-dim", "4")
    assert code == 2 and err.count("\n") == 1 and "--out-dim 4" in err
    code, out, err = run(capsys, "derive", "--block", f"{issue_file}:rsqrt")
    assert code == 2 and err.count("\n") == 1 and "unknown activation 'rsqrt'" in err
