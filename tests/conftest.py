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


# -- every report, profile and manifest the suite produces is held against docs/schemas/ -------
# docs/formats.md promises these formats. The hook validates (1) what the API returns
# (bootstrap.inspect/check/install/overlay_reset), and (2) every JSON object that test code
# parses (json.loads/json.load called from a file under tests/) whose "schema" names one of the
# formats: CLI --json output, --report files, MCP tool results, bundle manifests. Inputs that
# tests craft on purpose are dicts they build, never parsed from bootstrap's output, so they
# are not judged. Without jsonschema (the parity venvs) the hook is off; tests/test_docs.py
# needs it in the main venv.
import json as _json  # noqa: E402

from schemakit import SchemaViolation, validate_document  # noqa: E402,F401

_TESTS_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_plain_loads, _plain_load = _json.loads, _json.load


def _from_tests(depth=2):
    return sys._getframe(depth).f_code.co_filename.startswith(_TESTS_DIR)


def _checked_loads(*args, **kwargs):
    data = _plain_loads(*args, **kwargs)
    if _from_tests():
        validate_document(data)
    return data


def _checked_load(*args, **kwargs):
    data = _plain_load(*args, **kwargs)
    if _from_tests():
        validate_document(data)
    return data


def _checked_api(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        result = function(*args, **kwargs)
        validate_document(result)
        return result
    wrapper.__wrapped_by_schema_hook__ = True
    return wrapper


def pytest_configure(config):
    import schemakit
    if not schemakit.available():
        return
    _json.loads, _json.load = _checked_loads, _checked_load
    import bootstrap as _bootstrap
    for name in ("inspect", "check", "install", "reset_overlay"):
        function = getattr(_bootstrap, name, None)
        if function is not None and not getattr(function, "__wrapped_by_schema_hook__", False):
            setattr(_bootstrap, name, _checked_api(function))


def pytest_unconfigure(config):
    _json.loads, _json.load = _plain_loads, _plain_load


# -- no test leaves a file in the checkout --------------------------------------------------------
# Commands run without a cwd inherit the checkout's root; one that writes where it runs (the
# profile of `python bootstrap.py` with no upload, a bundle, a report) would litter the repo.
# What .gitignore names (.cache/, .hypothesis/, build/ ...) may appear; nothing else may.
_IGNORED_AT_ROOT = (".cache", ".hypothesis", ".pytest_cache", "build", "dist", "__pycache__")


def _root_entries():
    return set(name for name in os.listdir(ROOT) if name not in _IGNORED_AT_ROOT
               and not name.endswith(".egg-info"))


@pytest.fixture(autouse=True)
def _checkout_left_alone():
    before = _root_entries()
    yield
    added = sorted(_root_entries() - before)
    assert not added, "this test wrote %s into the checkout %s; run it in tmp_path" % (
        added, ROOT)
