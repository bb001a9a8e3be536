"""The reference the parity tests hold bootstrap.py against: packaging, pinned to one version.

Each parity module starts with ``packaging = oracle.require()``: without the pinned packaging
(or hypothesis, for the generated cases) the module is skipped with a reason that says so.
"""

import pytest

PACKAGING_PIN = "26.2"


def require(hypothesis=True):
    """The packaging module at the pinned version; skips the calling module otherwise."""
    packaging = pytest.importorskip(
        "packaging", reason="the oracle packaging==%s is not installed" % PACKAGING_PIN)
    if packaging.__version__ != PACKAGING_PIN:
        pytest.skip("parity tests need packaging==%s as the oracle, found packaging==%s"
                    % (PACKAGING_PIN, packaging.__version__), allow_module_level=True)
    if hypothesis:
        pytest.importorskip("hypothesis",
                            reason="hypothesis is needed for the generated parity cases")
    return packaging
