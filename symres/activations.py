"""The activation catalogue: for each σ its SymPy form, its derivative, its NumPy forms
and its kinks (points where σ is not differentiable) with the convention used there.

Convention (DESIGN.md): ReLU'(0) := 0, as in the common frameworks. The NumPy
derivative uses exactly that value; `kinks_hit` tells where an argument sat on a kink.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from symres.errors import SymresError

__all__ = [
    "Activation",
    "ACTIVATIONS",
    "COOKBOOK",
    "FUNCTIONS",
    "GENERIC",
    "get_activation",
    "get_elementwise",
    "get_function",
    "power",
]

#: The name under which blocks refer to "the" activation σ of a block; it is bound to
#: a concrete activation (relu by default) only when a derivation is evaluated.
GENERIC = "sigma"

Array = np.ndarray
_erf = np.vectorize(math.erf, otypes=[float])


@dataclass(frozen=True)
class Activation:
    """An elementwise scalar function σ with its first derivative.

    `sympy_form(u)` and `sympy_deriv(u)` are SymPy expressions in a scalar u;
    `numpy_form` and `numpy_deriv` act entrywise on arrays; `kinks` lists the points
    where σ is not differentiable and `convention` the derivative value used there.
    """

    name: str
    title: str
    latex: str
    sympy_form: Callable[[sp.Expr], sp.Expr]
    sympy_deriv: Callable[[sp.Expr], sp.Expr]
    numpy_form: Callable[[Array], Array]
    numpy_deriv: Callable[[Array], Array]
    kinks: tuple[float, ...] = ()
    convention: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    #: how f(t) and f'(t) are written when a plain name would read badly, e.g. t^{-1/2}:
    #: (LaTeX order 0, LaTeX order 1, text order 0, text order 1), each with {arg}; () = by name
    notation: tuple[str, ...] = ()
    #: the second derivative σ'' (NumPy), for Hessians; None: not in the catalogue
    numpy_deriv2: Callable[[Array], Array] | None = None
    #: the second derivative in SymPy; None: differentiate sympy_deriv
    sympy_deriv2: Callable[[sp.Expr], sp.Expr] | None = None
    #: per entry, how far the argument is from a pole (tan: |cos t|); None: no poles.
    #: Numeric checks draw again the instances that come closer than numeric.POLE_MARGIN.
    pole_gap: Callable[[Array], Array] | None = None

    def numpy(self, order: int) -> Callable[[Array], Array]:
        """The NumPy function of the given derivative order (0, 1 or 2)."""
        if order == 0:
            return self.numpy_form
        if order == 1:
            return self.numpy_deriv
        if order == 2 and self.numpy_deriv2 is not None:
            return self.numpy_deriv2
        raise SymresError(f"the derivative of order {order} of {self.name} is not in the catalogue")

    def sympy_derivative(self, order: int) -> Callable[[sp.Expr], sp.Expr]:
        """The SymPy form of the given derivative order (0, 1 or 2)."""
        if order == 0:
            return self.sympy_form
        if order == 1:
            return self.sympy_deriv
        if order == 2 and self.sympy_deriv2 is not None:
            return self.sympy_deriv2
        if order == 2:
            t = sp.Dummy("t")
            second = sp.diff(self.sympy_deriv(t), t)
            return lambda u: second.subs(t, u)
        raise SymresError(f"the derivative of order {order} of {self.name} is not in the catalogue")

    def kinks_hit(self, arg: Array) -> Array:
        """Boolean mask of the entries of arg that lie exactly on a kink."""
        hit = np.zeros(np.shape(arg), dtype=bool)
        for k in self.kinks:
            hit |= np.asarray(arg) == k
        return hit


def _sigmoid(u: Array) -> Array:
    return 0.5 * (1.0 + np.tanh(0.5 * u))  # overflow-free logistic


def _gelu(u: Array) -> Array:
    return 0.5 * u * (1.0 + _erf(u / math.sqrt(2.0)))


def _gelu_deriv(u: Array) -> Array:
    return 0.5 * (1.0 + _erf(u / math.sqrt(2.0))) + u * np.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)


def _phi(u: sp.Expr) -> sp.Expr:
    return (1 + sp.erf(u / sp.sqrt(2))) / 2


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in [
        Activation(
            "relu",
            "rectified linear unit max(0, u)",
            r"\operatorname{ReLU}",
            lambda u: sp.Max(0, u),
            lambda u: sp.Heaviside(u, 0),
            lambda u: np.maximum(u, 0.0),
            lambda u: (u > 0).astype(float),
            kinks=(0.0,),
            convention="ReLU'(0) := 0",
            numpy_deriv2=lambda u: np.zeros_like(u, dtype=float),
            sympy_deriv2=lambda u: sp.Integer(0),
        ),
        Activation(
            "tanh",
            "hyperbolic tangent",
            r"\tanh",
            sp.tanh,
            lambda u: 1 - sp.tanh(u) ** 2,
            np.tanh,
            lambda u: 1.0 - np.tanh(u) ** 2,
            numpy_deriv2=lambda u: -2.0 * np.tanh(u) * (1.0 - np.tanh(u) ** 2),
        ),
        Activation(
            "sigmoid",
            "logistic function 1/(1+e^{-u})",
            r"\operatorname{sigmoid}",
            lambda u: 1 / (1 + sp.exp(-u)),
            lambda u: sp.exp(-u) / (1 + sp.exp(-u)) ** 2,
            _sigmoid,
            lambda u: _sigmoid(u) * (1.0 - _sigmoid(u)),
            numpy_deriv2=lambda u: _sigmoid(u) * (1.0 - _sigmoid(u)) * (1.0 - 2.0 * _sigmoid(u)),
        ),
        Activation(
            "gelu",
            "Gaussian error linear unit u·Φ(u) (exact, erf form)",
            r"\operatorname{GELU}",
            lambda u: u * _phi(u),
            lambda u: _phi(u) + u * sp.exp(-(u**2) / 2) / sp.sqrt(2 * sp.pi),
            _gelu,
            _gelu_deriv,
            numpy_deriv2=lambda u: np.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi) * (2.0 - u * u),
        ),
        Activation(
            "identity",
            "the identity function (a linear block)",
            r"\operatorname{id}",
            lambda u: u,
            lambda u: sp.Integer(1),
            lambda u: np.asarray(u, dtype=float),
            lambda u: np.ones_like(u, dtype=float),
            numpy_deriv2=lambda u: np.zeros_like(u, dtype=float),
        ),
    ]
}


#: Scalar functions that are not activations: they appear inside definitions (LayerNorm's
#: (v + ε)^{-1/2}), are applied to 1×1 arguments, and are defined on part of the line only,
#: so they cannot be chosen as a block's σ.
FUNCTIONS: dict[str, Activation] = {
    f.name: f
    for f in [
        Activation(
            "rsqrt",
            "reciprocal square root t^{-1/2}, defined for t > 0",
            r"\operatorname{rsqrt}",
            lambda t: 1 / sp.sqrt(t),
            lambda t: -1 / (2 * t * sp.sqrt(t)),
            lambda t: 1.0 / np.sqrt(t),
            lambda t: -0.5 / (t * np.sqrt(t)),
            numpy_deriv2=lambda t: 0.75 / (t * t * np.sqrt(t)),
            notation=(
                r"\left({arg}\right)^{{-1/2}}",
                r"\left(-\tfrac{{1}}{{2}} \left({arg}\right)^{{-3/2}}\right)",
                "({arg})^(-1/2)",
                "(-½ ({arg})^(-3/2))",
            ),
        ),
    ]
}


def _cos2(t: Array) -> Array:
    return np.cos(t) ** 2


#: The elementwise functions of The Matrix Cookbook (ch. 2) that a block may apply with
#: `v.act(name, u)`: each with f', f'' in SymPy and NumPy. They are not activations (a
#: block's σ, `--activation`): log and sqrt are defined for t > 0 only, tan has poles at
#: π/2 + kπ, and exp, sin, cos are not what a network's σ is. `domain` says where each is
#: defined; a block applying log or sqrt to x declares `x_domain=POSITIVE` (symres.numeric).
COOKBOOK: dict[str, Activation] = {
    f.name: f
    for f in [
        Activation(
            "exp",
            "exponential e^t",
            r"\exp",
            sp.exp,
            sp.exp,
            np.exp,
            np.exp,
            numpy_deriv2=np.exp,
            sympy_deriv2=sp.exp,
        ),
        Activation(
            "log",
            "natural logarithm log t, defined for t > 0",
            r"\log",
            sp.log,
            lambda t: 1 / t,
            np.log,
            lambda t: 1.0 / t,
            numpy_deriv2=lambda t: -1.0 / (t * t),
            sympy_deriv2=lambda t: -1 / t**2,
            extra={"domain": "t > 0"},
        ),
        Activation(
            "sin",
            "sine",
            r"\sin",
            sp.sin,
            sp.cos,
            np.sin,
            np.cos,
            numpy_deriv2=lambda t: -np.sin(t),
            sympy_deriv2=lambda t: -sp.sin(t),
        ),
        Activation(
            "cos",
            "cosine",
            r"\cos",
            sp.cos,
            lambda t: -sp.sin(t),
            np.cos,
            lambda t: -np.sin(t),
            numpy_deriv2=lambda t: -np.cos(t),
            sympy_deriv2=lambda t: -sp.cos(t),
        ),
        Activation(
            "tan",
            "tangent, with poles at t = π/2 + kπ",
            r"\tan",
            sp.tan,
            lambda t: 1 + sp.tan(t) ** 2,
            np.tan,
            lambda t: 1.0 / _cos2(t),
            numpy_deriv2=lambda t: 2.0 * np.tan(t) / _cos2(t),
            sympy_deriv2=lambda t: 2 * sp.tan(t) * (1 + sp.tan(t) ** 2),
            pole_gap=lambda t: np.abs(np.cos(t)),
            extra={"domain": "t ≠ π/2 + kπ"},
        ),
        Activation(
            "sqrt",
            "square root √t, defined for t > 0 (differentiable there)",
            r"\operatorname{sqrt}",
            sp.sqrt,
            lambda t: 1 / (2 * sp.sqrt(t)),
            np.sqrt,
            lambda t: 0.5 / np.sqrt(t),
            numpy_deriv2=lambda t: -0.25 / (t * np.sqrt(t)),
            sympy_deriv2=lambda t: -1 / (4 * t * sp.sqrt(t)),
            extra={"domain": "t > 0"},
        ),
    ]
}
FUNCTIONS.update(COOKBOOK)


def power(p: int | str | sp.Rational) -> Activation:
    """The power t^p (p an integer or a rational such as "3/2") as a catalogue function
    named `pow{p}`, registered in FUNCTIONS on first use: f' = p t^{p-1}, f'' = p(p-1) t^{p-2}.
    A non-integer p is defined for t > 0; a negative integer p has a pole at t = 0."""
    try:
        q = sp.Rational(p)
    except (TypeError, ValueError):
        raise SymresError(f"v.pow(u, {p!r}): the exponent must be an integer or a rational such as 3/2") from None
    name = f"pow{q}"
    if name in FUNCTIONS:
        return FUNCTIONS[name]
    if q in (0, 1):
        raise SymresError(f"v.pow(u, {q}): a constant or u itself; write 1 or u")
    fq = float(q)
    extra: dict[str, str] = {}
    if not q.is_integer:
        extra["domain"] = "t > 0"
    elif q < 0:
        extra["domain"] = "t ≠ 0"
    ql, qm = (sp.latex(e).replace("{", "{{").replace("}", "}}") for e in (q, q - 1))
    tq, tm = (str(e) if e.is_integer and e > 0 else f"({e})" for e in (q, q - 1))
    coeff, lcoeff = ("-", "-") if q == -1 else (f"{q} ", f"{ql} ")
    entry = Activation(
        name,
        f"the power t^{q}" + (f", defined for {extra['domain']}" if extra else ""),
        rf"\operatorname{{pow}}_{{{ql}}}",
        lambda t: t**q,
        lambda t: q * t ** (q - 1),
        lambda t: np.power(t, fq),
        lambda t: fq * np.power(t, fq - 1.0),
        numpy_deriv2=lambda t: fq * (fq - 1.0) * np.power(t, fq - 2.0),
        sympy_deriv2=lambda t: q * (q - 1) * t ** (q - 2),
        extra=extra,
        notation=(
            rf"\left({{arg}}\right)^{{{{{ql}}}}}",
            rf"{lcoeff}\left({{arg}}\right)^{{{{{qm}}}}}" if q != 2 else r"2 {arg}",
            f"({{arg}})^{tq}",
            f"{coeff}({{arg}})^{tm}" if q != 2 else "2 {arg}",
        ),
        pole_gap=(lambda t: np.abs(t)) if (q.is_integer and q < 0) else None,
    )
    FUNCTIONS[name] = entry
    return entry


def get_elementwise(name: str) -> Activation:
    """What `v.act(name, u)` may apply: an activation or a Cookbook function (never an
    internal one such as rsqrt); a SymresError listing the choices otherwise."""
    if name in COOKBOOK:
        return COOKBOOK[name]
    if name in ACTIVATIONS:
        return ACTIVATIONS[name]
    raise SymresError(
        f"unknown activation {name!r}; choose one of: {', '.join(ACTIVATIONS)} "
        f"(or an elementwise function: {', '.join(COOKBOOK)})"
    )


def get_function(name: str) -> Activation:
    """An activation or a scalar function of the catalogue (`FUNCTIONS`), by name."""
    if name in FUNCTIONS:
        return FUNCTIONS[name]
    if name.startswith("pow") and len(name) > 3:
        return power(name[3:])
    return get_activation(name)


def get_activation(name: str) -> Activation:
    """The catalogue entry called name; a SymresError listing the choices otherwise."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise SymresError(f"unknown activation {name!r}; choose one of: {', '.join(ACTIVATIONS)}") from None
