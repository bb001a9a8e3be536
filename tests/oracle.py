"""The reference the parity tests hold bootstrap.py against: the newest packaging release.

bootstrap.py follows the newest packaging release that supports the running Python: 26.2 on
3.8 (26.3 dropped 3.8), 26.3 on 3.9 (26.4 dropped 3.9), 26.4 from 3.10 on. The parity venvs
install the newest release rather than a pin (pip picks the newest one whose Requires-Python
admits the interpreter), so that a new packaging release that changes behaviour makes the
parity tests fail until bootstrap follows it.

Each parity module starts with ``packaging = oracle.require()``: without packaging (or
hypothesis, for the generated cases), or with a packaging older than the one bootstrap mirrors
on this Python, the module is skipped with a reason that says so.
"""

import sys

import pytest

#: The packaging release bootstrap.py mirrors on each Python (the newest that supports it).
ORACLE_BY_PYTHON = ((3, 10), "26.4"), ((3, 9), "26.3"), ((3, 8), "26.2")


def oracle_version(version_info=None):
    """The packaging release bootstrap.py mirrors on this Python (e.g. "26.4")."""
    version_info = tuple((version_info or sys.version_info)[:2])
    return next(mirrored for python, mirrored in ORACLE_BY_PYTHON if version_info >= python)


def release(text):
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


def require(hypothesis=True):
    """The packaging module, at least the release bootstrap mirrors; skips the module otherwise.

    On 3.8 it must be exactly 26.2 (the last release for 3.8); elsewhere a newer release than
    the mirrored one is accepted and tested against: that is how the next change is noticed.
    """
    wanted = oracle_version()
    packaging = pytest.importorskip(
        "packaging", reason="the oracle packaging>=%s is not installed" % wanted)
    found = packaging.__version__
    if release(found) < release(wanted):
        pytest.skip("parity tests need packaging>=%s as the oracle on Python %d.%d, found "
                    "packaging==%s" % ((wanted,) + sys.version_info[:2] + (found,)),
                    allow_module_level=True)
    if hypothesis:
        pytest.importorskip("hypothesis",
                            reason="hypothesis is needed for the generated parity cases")
    return packaging
