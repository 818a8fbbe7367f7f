"""symres: the mathematics of residual connections, derived symbolically with SymPy and
checked numerically with NumPy.

Conventions (one place, used everywhere): numerator layout (∂y/∂x)_ij = ∂y_i/∂x_j;
a stack h_ℓ = B_ℓ(h_{ℓ-1}) has ∂h_L/∂h_0 = J_L ⋯ J_1 (later blocks on the left);
ReLU'(0) := 0.

>>> import symres
>>> proof = symres.derive("preact")          # a checked, step-by-step Proof
>>> proof.passed
True
>>> print(symres.render.text(proof.result))
I + W₂ diag(σ'(W₁ σ(x))) W₁ diag(σ'(x))
"""

from symres import render as render
from symres import variants as variants  # the literature's blocks, registered on import (after blocks)
from symres.activations import ACTIVATIONS as ACTIVATIONS
from symres.activations import Activation as Activation
from symres.blocks import BLOCKS as BLOCKS
from symres.blocks import Block as Block
from symres.blocks import Vocabulary as Vocabulary
from symres.blocks import derive as derive
from symres.blocks import get_block as get_block
from symres.blocks import register as register
from symres.calculus import differentiate as differentiate
from symres.calculus import jacobian as jacobian
from symres.claims import Claim as Claim
from symres.claims import Verdict as Verdict
from symres.claims import check as check
from symres.errors import SymresError as SymresError
from symres.expr import Deriv as Deriv
from symres.expr import Diag as Diag
from symres.expr import Elementwise as Elementwise
from symres.latex import latex as latex
from symres.numeric import POSITIVE as POSITIVE
from symres.numeric import check_equal as check_equal
from symres.paths import expand_product as expand_product
from symres.paths import path_counts as path_counts
from symres.paths import path_spectrum as path_spectrum
from symres.proof import Check as Check
from symres.proof import Proof as Proof
from symres.proof import Step as Step
from symres.stacks import derive_stack as derive_stack
from symres.theorems import THEOREMS as THEOREMS
from symres.theorems import check_theorem as check_theorem
from symres.torch_bridge import derive_module as derive_module
from symres.torch_bridge import from_torch as from_torch

__version__ = "0.1.0"
