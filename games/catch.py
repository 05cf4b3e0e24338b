#!/usr/bin/env python
"""Play the book's catch game (E8.1) with the arrow keys: ``python games/catch.py [--balls 100]``."""

import os
import sys

# Runnable from a source checkout without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from arena.games.catch import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
