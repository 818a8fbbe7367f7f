"""The one set of verdicts shared by the claim checker and the derivation library.

``proved``
    shown symbolically, by named theorems, or by certified arithmetic;
``holds``
    numeric evidence only (seeded trials and a counterexample search), not a proof;
``refuted``
    a counterexample re-verified in certified arithmetic, its constraints included;
``undecided``
    too close to call at the precision available, or out of time: never a yes or no.

Two more are the verdicts of an *experiment* (a statement about what training does, decided
by recorded, seeded runs; see `Outcome.of_seeds`):

``observed``
    the statement held in every one of n seeded runs: evidence from experiment, weaker
    than ``holds`` (the runs sample one setup, they check no identity), never a proof;
``contradicted``
    the statement failed in every one of n seeded runs: refuted by experiment, each seed a
    counterexample anyone can re-run, but not a certified one (a counterexample of
    ``refuted`` is re-verified exactly; a training run is only reproducible).

A split (the statement held in k of n seeds, 0 < k < n) decides nothing: ``undecided``.

Exit status (DESIGN.md): 0 proved/holds/observed, 1 refuted/contradicted, 2 bad input,
3 undecided.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["Outcome"]


class Outcome(str, Enum):
    """A verdict; compares equal to its name (``Outcome.PROVED == "proved"``)."""

    PROVED = "proved"
    HOLDS = "holds"
    REFUTED = "refuted"
    UNDECIDED = "undecided"
    OBSERVED = "observed"
    CONTRADICTED = "contradicted"

    def __str__(self) -> str:
        return self.value

    @property
    def label(self) -> str:
        """The verdict in words, as tables and summaries show it ("holds numerically")."""
        return "holds numerically" if self is Outcome.HOLDS else self.value

    @classmethod
    def label_of(cls, verdict: str) -> str:
        """The words for a verdict given by name; a name outside the enum (the derivation
        library's ``failed``, ``error``) stands for itself."""
        return cls(verdict).label if verdict in cls._value2member_map_ else verdict

    @property
    def exit_status(self) -> int:
        """0 for proved, holds and observed; 1 for refuted and contradicted; 3 for undecided."""
        return {"proved": 0, "holds": 0, "observed": 0, "refuted": 1, "contradicted": 1, "undecided": 3}[self.value]

    @property
    def experimental(self) -> bool:
        """True for the verdicts of an experiment (observed, contradicted)."""
        return self in (Outcome.OBSERVED, Outcome.CONTRADICTED)

    @classmethod
    def of_seeds(cls, held: int, seeds: int) -> Outcome:
        """The verdict of an experiment whose statement held in ``held`` of ``seeds`` runs:
        observed (all), contradicted (none), undecided (a split).

        >>> Outcome.of_seeds(3, 3), Outcome.of_seeds(0, 3), Outcome.of_seeds(1, 3)
        (<Outcome.OBSERVED: 'observed'>, <Outcome.CONTRADICTED: 'contradicted'>, <Outcome.UNDECIDED: 'undecided'>)
        """
        if seeds < 1 or not 0 <= held <= seeds:
            raise ValueError(f"held in {held} of {seeds} seeds is not a tally")
        if held == seeds:
            return cls.OBSERVED
        return cls.CONTRADICTED if held == 0 else cls.UNDECIDED
