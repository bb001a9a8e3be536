"""Source distributions: build a wheel when the result is pure Python; otherwise ship the
sdist with the wheels of its build backend (when the target can compile), or stop and say
that it must be built on a matching machine."""

import os
import subprocess
import sys

from packaging.utils import parse_wheel_filename


class BuildError(Exception):
    """An sdist that cannot be shipped for this target, with what to do instead."""


def build_wheel(sdist, dest):
    """Build a wheel from an sdist here (with build isolation: this side is online)."""
    os.makedirs(dest, exist_ok=True)
    before = set(os.listdir(dest))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--disable-pip-version-check", "--no-input", "-w", dest, sdist],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    built = sorted(set(os.listdir(dest)) - before)
    wheels = [name for name in built if name.endswith(".whl")]
    if proc.returncode != 0 or not wheels:
        raise BuildError("building %s failed:\n%s" % (
            os.path.basename(sdist), "\n".join(proc.stdout.splitlines()[-8:])))
    return os.path.join(dest, wheels[0])


def is_pure(wheel_path):
    """Whether a wheel runs anywhere (py*-none-any tags only)."""
    _, _, _, tags = parse_wheel_filename(os.path.basename(wheel_path))
    return all(tag.abi == "none" and tag.platform == "any" for tag in tags)


def can_compile(profile):
    """Whether the target likely has a compiler and Python headers (the profile says so)."""
    sandbox = profile.sandbox or {}
    return bool(sandbox.get("compiler")) and bool(sandbox.get("python_headers"))
