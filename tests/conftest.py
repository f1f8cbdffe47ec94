"""Shared test set-up: make tests/ importable (for the badinputs corpus)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
