"""`python -m symres` runs the command line."""

from symres.cli import main

raise SystemExit(main())
