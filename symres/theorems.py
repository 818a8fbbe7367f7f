"""A library of checked theorems about residual stacks, kept as data.

Each `Theorem` is a list of `TheoremStep`s whose statements are written in the
`symres check` language (see `symres.grammar`), so every step is settled by
`symres.claims.check`: ``proved`` symbolically or ``holds`` numerically (never both
called the same). `check_theorem` returns a `symres.proof.Proof` (the one model of
evidence): a Step per line, whose Check (`claim_check`) carries the claims verdict's
numbers (trials, seed, worst margin, the theorems applied, a counterexample).

Conventions (DESIGN.md): numerator layout; a stack h_ℓ = h_{ℓ-1} + F_ℓ(h_{ℓ-1}) has
∂h_L/∂h_0 = (I + J_L)⋯(I + J_1), written ``prod(l=1..L, I + J_l)`` (later blocks on the
left), with J_ℓ = ∂F_ℓ/∂h_{ℓ-1}; ‖·‖ is the spectral norm.

>>> [t.name for t in THEOREMS][:2]
['eig_shift', 'stack_bounds']
"""

from __future__ import annotations

from dataclasses import dataclass

from symres.claims import Verdict, check
from symres.errors import SymresError
from symres.proof import Check, Proof, Step

__all__ = ["Theorem", "TheoremStep", "THEOREMS", "get_theorem", "check_theorem", "claim_check"]


@dataclass(frozen=True)
class TheoremStep:
    """One checkable line: ``statement`` in the `symres check` grammar, and why it is true."""

    statement: str
    reason: str


@dataclass(frozen=True)
class Theorem:
    name: str
    title: str
    assumptions: list[str]
    steps: list[TheoremStep]
    conclusion: str


_STACK = "prod(l=1..L, I + J_l)"
_BOUND = "norm(J_l) <= c, 0 <= c < 1"

THEOREMS: list[Theorem] = [
    Theorem(
        name="eig_shift",
        title="The eigenvalues of a residual Jacobian are those of J shifted by one",
        assumptions=["J = ∂F/∂x is a real d×d matrix", "the block is y = x + α F(x) (α = 1: plain residual)"],
        steps=[
            TheoremStep(
                "eig(I + J) = 1 + eig(J)",
                "(I + J)v = (1 + λ)v exactly when Jv = λv: the same eigenvectors, eigenvalues shifted by 1",
            ),
            TheoremStep(
                "eig(I + alpha J) = 1 + alpha eig(J)",
                "the same argument for the gated block: (I + αJ)v = (1 + αλ)v",
            ),
            TheoremStep(
                "abs(eig(I + J)) <= 1 + norm(J)",
                "|1 + λ| ≤ 1 + |λ| and every |λ| ≤ ‖J‖ (spectral radius ≤ spectral norm)",
            ),
        ],
        conclusion=(
            "eig(I + J) = 1 + eig(J). The singular values do NOT shift: svals(I + J) = 1 + svals(J) is "
            "false (J = -I: svals(0) = 0 but 1 + svals(-I) = 2)."
        ),
    ),
    Theorem(
        name="stack_bounds",
        title="Singular values of a residual stack with ‖J_ℓ‖ ≤ c < 1",
        assumptions=["‖J_ℓ‖₂ ≤ c for ℓ = 1..L", "0 ≤ c < 1", "∂h_L/∂h_0 = (I + J_L)⋯(I + J_1)"],
        steps=[
            TheoremStep(
                f"smin(I + J_l) >= 1 - norm(J_l) where {_BOUND}",
                "Weyl: σ_min(I + J) ≥ σ_min(I) - ‖J‖ = 1 - ‖J‖",
            ),
            TheoremStep(
                f"norm(I + J_l) <= 1 + norm(J_l) where {_BOUND}",
                "triangle inequality, ‖I‖ = 1",
            ),
            TheoremStep(
                f"smin({_STACK}) >= prod(l=1..L, smin(I + J_l)) where {_BOUND}",
                "σ_min(AB) ≥ σ_min(A) σ_min(B), applied L - 1 times",
            ),
            TheoremStep(
                f"norm({_STACK}) <= prod(l=1..L, norm(I + J_l)) where {_BOUND}",
                "‖AB‖ ≤ ‖A‖ ‖B‖, applied L - 1 times",
            ),
            TheoremStep(
                f"(1 - c)^L <= smin({_STACK}) <= norm({_STACK}) <= (1 + c)^L where {_BOUND}",
                "the four lines above; σ_min ≤ σ_max = ‖·‖",
            ),
            TheoremStep(
                f"smin({_STACK}) = (1 - c)^L where J_l = -c I, 0 <= c < 1",
                "the lower end is attained: J_ℓ = -cI makes every factor (1 - c)I",
            ),
            TheoremStep(
                f"norm({_STACK}) = (1 + c)^L where J_l = c I, 0 <= c < 1",
                "the upper end is attained: J_ℓ = cI makes every factor (1 + c)I",
            ),
        ],
        conclusion=(
            "(1 - c)^L ≤ σ_min(∏(I + J_ℓ)) ≤ ‖∏(I + J_ℓ)‖ ≤ (1 + c)^L, both ends attained (J_ℓ = ∓cI). "
            "The gradient cannot vanish faster than (1 - c)^L, but it can shrink: c = 0.1, L = 100 "
            "allows 0.9^100 ≈ 2.7e-5, so ‖∂h_L/∂h_0‖ ≥ 1 is false."
        ),
    ),
    Theorem(
        name="plain_stack",
        title="A plain (non-residual) stack: the norm of the product is at most the product of norms",
        assumptions=["∂h_L/∂h_0 = J_L⋯J_1", "‖J_ℓ‖₂ ≤ c for ℓ = 1..L, c ≥ 0"],
        steps=[
            TheoremStep(
                "norm(prod(l=1..L, J_l)) <= prod(l=1..L, norm(J_l))",
                "‖AB‖ ≤ ‖A‖ ‖B‖ (submultiplicativity of the spectral norm), applied L - 1 times",
            ),
            TheoremStep(
                "norm(prod(l=1..L, J_l)) <= c^L where norm(J_l) <= c, c >= 0",
                "each factor contributes at most c",
            ),
            TheoremStep(
                "norm(prod(l=1..L, J_l)) = c^L where J_l = c I, c >= 0",
                "attained by J_ℓ = cI",
            ),
        ],
        conclusion="‖J_L⋯J_1‖ ≤ ∏‖J_ℓ‖ ≤ c^L: with c < 1 the plain stack's gradient decays geometrically.",
    ),
    Theorem(
        name="identity_at_init",
        title="Identity at initialisation",
        assumptions=["F ≡ 0 (so J = ∂F/∂x = 0), or the gate α = 0 in y = x + α F(x)"],
        steps=[
            TheoremStep("I + J = I where J = 0", "F ≡ 0 has Jacobian J = 0"),
            TheoremStep("svals(I + J) = 1 where J = 0", "every singular value of I is 1"),
            TheoremStep("I + alpha J = I where alpha = 0", "a zero gate removes the branch (ReZero)"),
            TheoremStep("svals(I + alpha J) = 1 where alpha = 0", "every singular value of I is 1"),
            TheoremStep(
                "prod(l=1..L, I + alpha J_l) = I where alpha = 0",
                "every block of the stack is the identity, so is their product, at any depth",
            ),
            TheoremStep(
                "svals(prod(l=1..L, I + alpha J_l)) = 1 where alpha = 0",
                "the whole stack is an isometry at initialisation",
            ),
        ],
        conclusion="With F ≡ 0 or α = 0 every block's Jacobian is I, and so is the stack's: all singular values are 1.",
    ),
    Theorem(
        name="euler_step",
        title="A residual block is a forward-Euler step of dh/dt = F(h)",
        assumptions=[
            "h_{t+1} = h_t + ε F(h_t) with step ε ≥ 0; J = ∂F/∂h at h_t",
            "for the link to the ODE, F(h) = J h is linear, so its time-ε flow is h ↦ exp(εJ) h",
        ],
        steps=[
            TheoremStep(
                "I + eps J = I + J where eps = 1",
                "the Jacobian of h + εF(h) is I + εJ; ε = 1 is the residual block y = x + F(x)",
            ),
            TheoremStep("eig(I + eps J) = 1 + eps eig(J)", "the eigenvalues move by ε λ"),
            TheoremStep("norm(eps J) = eps norm(J) where eps >= 0", "the branch changes the Jacobian by ε‖J‖ at most"),
            TheoremStep(
                "norm(exp(eps J) - (I + eps J)) <= exp(eps norm(J)) - 1 - eps norm(J) where eps >= 0",
                "exp(εJ) - (I + εJ) = Σ_{k≥2} (εJ)^k/k!: the Euler step agrees with the flow to first order in ε",
            ),
            TheoremStep(
                "norm((I + J/L)^L - exp(J)) <= norm(J)^2 exp(norm(J)) / (2 L)",
                "L Euler steps of size 1/L converge to the time-1 flow at rate O(1/L) (coefficientwise, 1/k! - C(L,k)/L^k ≥ 0)",
            ),
        ],
        conclusion=(
            "h + εF(h) has Jacobian I + εJ; it is one forward-Euler step of dh/dt = F(h), exact to first "
            "order in ε, and L steps of size 1/L converge to the flow exp(J) as L grows."
        ),
    ),
    Theorem(
        name="path_bound",
        title="One gradient path of length k",
        assumptions=[
            "expanding ∏(I + J_ℓ), a path picks J at k blocks s_1 < … < s_k and I elsewhere",
            "‖J_ℓ‖₂ ≤ c for every ℓ, c ≥ 0; the k chosen Jacobians are renamed J_1..J_k",
        ],
        steps=[
            TheoremStep(
                "norm(prod(i=1..k, J_i)) <= prod(i=1..k, norm(J_i))",
                "submultiplicativity of the spectral norm",
            ),
            TheoremStep(
                "norm(prod(i=1..k, J_i)) <= c^k where norm(J_i) <= c, c >= 0",
                "each of the k factors contributes at most c",
            ),
            TheoremStep(
                "norm(prod(i=1..k, J_i)) = c^k where J_i = c I, c >= 0",
                "attained by J_i = cI",
            ),
        ],
        conclusion="‖J_{s_k}⋯J_{s_1}‖ ≤ c^k: a path through k branches is damped by c^k, whatever the depth L.",
    ),
]


def get_theorem(name: str) -> Theorem:
    """The theorem called ``name``; `SymresError` lists the known names otherwise."""
    for t in THEOREMS:
        if t.name == name:
            return t
    raise SymresError(f"unknown theorem {name!r}; known: {', '.join(t.name for t in THEOREMS)}")


def claim_check(verdict: Verdict) -> Check:
    """A claims `Verdict` as a `Check` of the one evidence model (`Verdict.as_check`)."""
    return verdict.as_check()


def check_theorem(theorem: Theorem | str, *, trials: int = 200, seed: int = 0, dim: int | None = None) -> Proof:
    """Check every step of a theorem with `symres.claims.check`: a `Proof` with the
    theorem's title, assumptions and conclusion, one prose Step per line (the statement in
    the `symres check` grammar, its reason) whose Check is `claim_check` of its verdict;
    ``meta["theorem"]`` is the theorem's name. Its `Proof.verdict` is ``proved`` when every
    step is, ``holds`` when some step holds only numerically."""
    thm = get_theorem(theorem) if isinstance(theorem, str) else theorem
    steps = tuple(
        Step.claim(s.statement, s.reason, claim_check(check(s.statement, trials=trials, seed=seed, dim=dim))) for s in thm.steps
    )
    return Proof(
        title=thm.title,
        assumptions=tuple(thm.assumptions),
        steps=steps,
        conclusion=thm.conclusion,
        meta={"theorem": thm.name},
        conclusion_prose=True,
    )
