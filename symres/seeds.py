"""The seed documents the derivation library answers, cited by title.

The derivation modules name a seed by its file name (e.g. "001_3a3f3c0e152939cc.txt");
printed text (the booklet's chapters, derivations/README.md) cites it by the title the
document carries.
"""

from __future__ import annotations

__all__ = ["SEED_TITLES", "seed_title"]

#: file name of a seed document → its title, as the document states it
SEED_TITLES = {
    "000_bcba4f1ec0440903.txt": "Residual Connections",
    "001_3a3f3c0e152939cc.txt": "17-05 — Residual Connections",
    "002_279a00ab0ffe42de.txt": "Skip connections and residual learning",
    "003_0d182175b4a812a1.txt": "Residual connection",
    "004_45cbc370968e375a.txt": "Residual Connections (Conceptual)",
}


def seed_title(seed: str) -> str:
    """The title of a seed document, given its file name (the file name if unknown)."""
    return SEED_TITLES.get(seed, seed)
