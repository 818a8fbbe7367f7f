"""Stacks of residual blocks: ∏(I + J_ℓ) over subsets, path counts, path-length spectra.

Conventions (DESIGN.md): a stack h_ℓ = h_{ℓ-1} + F_ℓ(h_{ℓ-1}), ℓ = 1..L, has the
numerator-layout Jacobian ∂h_L/∂h_0 = (I + J_L) ⋯ (I + J_1) with J_ℓ = ∂F_ℓ/∂h_{ℓ-1}:
later blocks stand to the LEFT and the J_ℓ do not commute. Expanding the product gives
one term per subset S = {s_1 < ⋯ < s_k} ⊆ {1..L}, the ordered product

    J_S := J_{s_k} ⋯ J_{s_1}        (J_∅ := I),

so ∏(I + J_ℓ) = Σ_S J_S, with C(L, k) terms of length k and 2^L terms in all. The
gradient of a scalar loss is a row vector, ∂ℒ/∂h_0 = g · (I + J_L) ⋯ (I + J_1) with
g = ∂ℒ/∂h_L, and its length-k component is g_k := g · Σ_{|S|=k} J_S.

Term order, everywhere in this module: by length k, then the subsets of each length in
lexicographic order of (s_1, …, s_k) (the order of itertools.combinations). A path word
(seed 001, Problem 2) is written in BLOCK order 1..L, position ℓ holding ``J{ℓ}`` if
ℓ ∈ S and ``I`` otherwise (``J1IJ3`` is S = {1, 3}); a product is written in PRODUCT
order, later block left (``J_3 J_1`` for the same S).
"""

from symres.paths._common import BAND_DEFINITION as BAND_DEFINITION
from symres.paths._common import MAX_EXPLICIT_DEPTH as MAX_EXPLICIT_DEPTH
from symres.paths._common import Float64Array as Float64Array
from symres.paths._common import ProgressFn as ProgressFn
from symres.paths._common import non_negative_int as non_negative_int
from symres.paths.backend import array_backend as array_backend
from symres.paths.closed_form import count_proof as count_proof
from symres.paths.closed_form import induction_proof as induction_proof
from symres.paths.cost import BATCH_BUDGET as BATCH_BUDGET
from symres.paths.cost import DEFAULT_BUDGET as DEFAULT_BUDGET
from symres.paths.cost import EXACT_DIGITS as EXACT_DIGITS
from symres.paths.cost import Budget as Budget
from symres.paths.cost import Cost as Cost
from symres.paths.cost import counts_cost as counts_cost
from symres.paths.cost import counts_latex as counts_latex
from symres.paths.cost import exact_int_text as exact_int_text
from symres.paths.cost import format_count as format_count
from symres.paths.cost import spectrum_cost as spectrum_cost
from symres.paths.expansion import COUNTS_CHECK as COUNTS_CHECK
from symres.paths.expansion import PathTerm as PathTerm
from symres.paths.expansion import check_expansion as check_expansion
from symres.paths.expansion import checked_counts as checked_counts
from symres.paths.expansion import dimension_symbol as dimension_symbol
from symres.paths.expansion import expand_by_length as expand_by_length
from symres.paths.expansion import expand_product as expand_product
from symres.paths.expansion import expansion_indices as expansion_indices
from symres.paths.expansion import expansion_latex as expansion_latex
from symres.paths.expansion import expansion_terms as expansion_terms
from symres.paths.expansion import jacobian_symbols as jacobian_symbols
from symres.paths.expansion import path_counts as path_counts
from symres.paths.expansion import path_subsets as path_subsets
from symres.paths.expansion import path_terms as path_terms
from symres.paths.expansion import path_word as path_word
from symres.paths.expansion import path_words as path_words
from symres.paths.expansion import product_expression as product_expression
from symres.paths.expansion import product_words as product_words
from symres.paths.expansion import total_paths as total_paths
from symres.paths.expansion import typeset_expansion as typeset_expansion
from symres.paths.spectrum import COMPONENT_DEFINITION as COMPONENT_DEFINITION
from symres.paths.spectrum import STACK_JACOBIAN as STACK_JACOBIAN
from symres.paths.spectrum import MonteCarloEstimate as MonteCarloEstimate
from symres.paths.spectrum import PathSpectrum as PathSpectrum
from symres.paths.spectrum import effective_band as effective_band
from symres.paths.spectrum import full_product as full_product
from symres.paths.spectrum import monte_carlo_components as monte_carlo_components
from symres.paths.spectrum import path_components as path_components
from symres.paths.spectrum import path_spectrum as path_spectrum
from symres.paths.spectrum import plot_spectra as plot_spectra
from symres.paths.spectrum import plot_spectrum as plot_spectrum
from symres.paths.spectrum import random_stack as random_stack
from symres.paths.spectrum import require_matplotlib as require_matplotlib
from symres.paths.spectrum import spectrum_rows as spectrum_rows

__all__ = [
    "non_negative_int",
    "array_backend",
    "MAX_EXPLICIT_DEPTH",
    "BAND_DEFINITION",
    "PathTerm",
    "MonteCarloEstimate",
    "PathSpectrum",
    "dimension_symbol",
    "jacobian_symbols",
    "path_subsets",
    "path_word",
    "path_words",
    "path_terms",
    "path_counts",
    "total_paths",
    "checked_counts",
    "COUNTS_CHECK",
    "DEFAULT_BUDGET",
    "BATCH_BUDGET",
    "Budget",
    "Cost",
    "counts_cost",
    "spectrum_cost",
    "format_count",
    "exact_int_text",
    "counts_latex",
    "typeset_expansion",
    "expansion_latex",
    "product_expression",
    "expand_product",
    "expand_by_length",
    "expansion_indices",
    "expansion_terms",
    "check_expansion",
    "count_proof",
    "induction_proof",
    "random_stack",
    "path_components",
    "full_product",
    "effective_band",
    "monte_carlo_components",
    "path_spectrum",
    "plot_spectrum",
    "plot_spectra",
    "spectrum_rows",
    "COMPONENT_DEFINITION",
    "STACK_JACOBIAN",
    "product_words",
    "require_matplotlib",
    "EXACT_DIGITS",
]
