"""Every block's derived Jacobian against two oracles that share nothing with symres:
central finite differences of the forward map and torch's autograd."""

import numpy as np
import pytest
from helpers import fd_jacobian, torch_jacobian

from symres.attention import TokenBlock
from symres.blocks import BLOCKS, Block, Vocabulary, derive, get_block, register
from symres.errors import SymresError
from symres.expr import add
from symres.numeric import compile_expr, draw

ACTIVATIONS = ["relu", "tanh", "sigmoid", "gelu"]
#: blocks of a vector x (token blocks, X ∈ R^{n×d}, are tested in test_attention.py)
VECTOR_BLOCKS = [name for name, b in BLOCKS.items() if not isinstance(b, TokenBlock)]


def _points(inst, n, seed):
    rng = np.random.default_rng(seed)
    return draw(inst.symbols, inst.domains, n, rng)


@pytest.mark.parametrize("name", VECTOR_BLOCKS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_jacobian_matches_torch_and_finite_differences(name, activation):
    proof = derive(name, dim=3, activation=activation, check=False)
    inst = proof.meta["instance"]
    jac = compile_expr(proof.result, inst.symbols, activation)
    fwd = compile_expr(inst.forward, inst.symbols, activation)
    batch = _points(inst, 10, seed=7)
    derived = jac(batch)
    for n in range(10):
        point = {k: v[n] for k, v in batch.items()}
        auto = torch_jacobian(inst.forward, point, activation)
        np.testing.assert_allclose(derived[n], auto, rtol=1e-9, atol=1e-12)

        def f(xv, point=point):
            return fwd({**{k: v[None] for k, v in point.items()}, "x": xv.reshape(1, -1, 1)})[0, :, 0]

        fd = fd_jacobian(f, point["x"].reshape(-1))
        np.testing.assert_allclose(derived[n], fd, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", VECTOR_BLOCKS)
def test_every_block_proof_checks(name):
    proof = derive(name, trials=200, seed=0)
    assert proof.passed
    assert proof.final.trials == 200 and proof.final.max_error < 1e-8
    assert all(s.check is not None and s.check.passed for s in proof.steps)


def test_seed_001_example_3():
    """W1 = W2 = I, x = (−1, 1), ReLU: post-activation diag(0, 2), pre-activation diag(1, 2)."""
    from symres.numeric import evaluate

    values = {"x": np.array([[-1.0], [1.0]]), "W_1": np.eye(2), "W_2": np.eye(2)}
    post = derive("postact", dim=2, check=False)
    out, kinks = evaluate({"J": post.result}, values)
    np.testing.assert_array_equal(out["J"], [[0, 0], [0, 2]])
    assert kinks == []
    pre = derive("preact", dim=2, check=False)
    out, kinks = evaluate({"J": pre.result, "y": pre.meta["forward"]}, values)
    np.testing.assert_array_equal(out["J"], [[1, 0], [0, 2]])
    np.testing.assert_array_equal(out["y"][:, 0], [-1, 2])
    assert len(kinks) == 1 and kinks[0].component == 0 and kinks[0].convention == "ReLU'(0) := 0"


def test_identity_path_facts():
    assert "stands alone" in derive("preact", check=False).facts[0].reason
    assert "gate" in derive("postact", check=False).facts[0].reason
    assert "W_{s}" in derive("projection", check=False).facts[0].reason
    assert "every path passes through" in derive("plain", check=False).facts[0].reason


def test_projection_changes_the_dimension():
    proof = derive("projection", dim=3, out_dim=5, trials=50)
    assert proof.result.shape == (5, 3) and proof.passed


def test_registry_errors():
    with pytest.raises(SymresError, match="unknown block 'nosuch'; known blocks: plain"):
        get_block("nosuch")
    with pytest.raises(SymresError, match="already registered"):
        register(Block("preact", "", "", lambda v: v.x))
    with pytest.raises(SymresError, match="dim"):
        Vocabulary(0)


def test_a_residual_around_a_branch_of_another_size_is_a_shape_error():
    blk = Block("bad", "", "", lambda v: add(v.x, v.F(v.x, rows=v.d + 1)))
    with pytest.raises(SymresError, match="shape mismatch"):
        blk.instance(3)
