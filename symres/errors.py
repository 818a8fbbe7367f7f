"""The one exception type of symres."""

from __future__ import annotations


class SymresError(Exception):
    """Bad input or an unsupported expression.

    The message is a single line that names what is wrong and what is accepted;
    the command line prints exactly that line on stderr and exits with status 2.
    """
