"""The packaged programs, built once per session (tests/packaging/bundles.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.packaging.bundles import packaged_dist


@pytest.fixture(scope="session")
def packaged() -> Path:
    return packaged_dist()
