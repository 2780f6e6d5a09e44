"""The read-only reference material of ../shared (specs, request sets). A user's fresh
clone has no ../shared: tests that need it skip and say so."""

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


def require(path: Path) -> Path:
    """`path`, or a skip naming what is missing and where it comes from."""
    if not path.exists():
        pytest.skip(f"{path} is not here: it comes with ../shared beside the checkout (the reference material).")
    return path
