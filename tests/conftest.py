"""Shared test set-up: import bootstrap.py from the source tree, never from site-packages."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOTSTRAP_DIR = os.path.join(ROOT, "bootstrap")
BOOTSTRAP_PY = os.path.join(BOOTSTRAP_DIR, "bootstrap.py")

if BOOTSTRAP_DIR not in sys.path:
    sys.path.insert(0, BOOTSTRAP_DIR)


@pytest.fixture(scope="session")
def bootstrap_py():
    """Path of the single-file bootstrap.py under test."""
    return BOOTSTRAP_PY
