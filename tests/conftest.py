"""Shared test set-up: import bootstrap.py from the source tree, never from site-packages."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOTSTRAP_DIR = os.path.join(ROOT, "bootstrap")
BOOTSTRAP_PY = os.path.join(BOOTSTRAP_DIR, "bootstrap.py")

for _path in (BOOTSTRAP_DIR, ROOT):  # bootstrap.py, and tools/ as the package `tools`
    if _path not in sys.path:
        sys.path.insert(0, _path)


@pytest.fixture(scope="session")
def bootstrap_py():
    """Path of the single-file bootstrap.py under test."""
    return BOOTSTRAP_PY


# -- make_wheel: real wheels with a correct RECORD (tests/wheelmaker.py) ------------------------
import functools  # noqa: E402

try:
    from wheelmaker import make_wheel as _make_wheel
except ImportError:  # tests/ is not on sys.path under this import mode
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from wheelmaker import make_wheel as _make_wheel


@pytest.fixture
def make_wheel(tmp_path):
    """make_wheel(name, version, **options) -> path of a real wheel under tmp_path/wheels."""
    directory = tmp_path / "wheels"
    directory.mkdir(exist_ok=True)
    return functools.partial(_make_wheel, directory)
