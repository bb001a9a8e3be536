"""Source distributions: build wheels here, keep the pure ones; the others ship as sdists with
the wheels of their build backend (when the target can compile), or stop with what to do.

All sdists of a round are built by ONE ``pip wheel --no-deps`` process (with build isolation:
this side is online); which ones built is read from the files that appeared, not from pip's
log. An sdist whose build cannot run on this interpreter (a setup.py that refuses it) simply
produces no wheel here: it ships as an sdist and the sandbox builds it.
"""

import os
import subprocess
import sys

from packaging.utils import canonicalize_name, parse_wheel_filename


class BuildError(Exception):
    """An sdist that cannot be shipped for this target, with what to do instead."""


def build_wheels(sdists, dest, index_options=(), index_env=None):
    """Build every sdist into ``dest`` in one pip process: {sdist path: wheel path or None}.
    ``index_options`` (pip's --index-url ... options) are where build isolation finds the
    build requirements (with ``index_env`` added to the environment)."""
    os.makedirs(dest, exist_ok=True)
    before = set(os.listdir(dest))
    if sdists:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                        "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
                        "--quiet", "-w", dest] + list(index_options) + list(sdists),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, stdin=subprocess.DEVNULL,
                       env=dict(os.environ, **(index_env or {})))
    built = {}
    for name in sorted(set(os.listdir(dest)) - before):
        if name.endswith(".whl"):
            project, version, _, _ = parse_wheel_filename(name)
            built[(canonicalize_name(project), str(version))] = os.path.join(dest, name)
    result = {}
    for sdist in sdists:
        import bootstrap
        info = bootstrap.read_sdist(sdist)
        result[sdist] = built.get((canonicalize_name(info.name), str(info.version)))
    return result


def build_wheel(sdist, dest):
    """Build one wheel from an sdist here; its path, or BuildError."""
    wheel = build_wheels([sdist], dest)[sdist]
    if wheel is None:
        raise BuildError("building %s failed on this interpreter" % os.path.basename(sdist))
    return wheel


def is_pure(wheel_path):
    """Whether a wheel runs anywhere (py*-none-any tags only)."""
    _, _, _, tags = parse_wheel_filename(os.path.basename(wheel_path))
    return all(tag.abi == "none" and tag.platform == "any" for tag in tags)


def can_compile(profile):
    """Whether the target likely has a compiler and Python headers (the profile says so)."""
    sandbox = profile.sandbox or {}
    return bool(sandbox.get("compiler")) and bool(sandbox.get("python_headers"))
