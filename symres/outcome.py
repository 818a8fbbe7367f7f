"""The one set of verdicts shared by the claim checker and the derivation library.

``proved``
    shown symbolically, by named theorems, or by certified arithmetic;
``holds``
    numeric evidence only (seeded trials and a counterexample search), not a proof;
``refuted``
    a counterexample re-verified in certified arithmetic, its constraints included;
``undecided``
    too close to call at the precision available, or out of time: never a yes or no.

Exit status (DESIGN.md): 0 proved/holds, 1 refuted, 2 bad input, 3 undecided.
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
        """0 for proved and holds, 1 for refuted, 3 for undecided."""
        return {"proved": 0, "holds": 0, "refuted": 1, "undecided": 3}[self.value]
