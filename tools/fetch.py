"""Fetching files for a target with pip: one pinned or ranged requirement at a time, no deps.

Dependencies are never left to pip: it evaluates markers for the machine it runs on, not for
the target. The builder resolves with bootstrap's resolver and the target's markers, and asks
pip only for single files.
"""

import os
import subprocess
import sys


class FetchError(Exception):
    """pip could not download a requirement; ``output`` has pip's last lines."""

    def __init__(self, requirement, output):
        Exception.__init__(self, "pip could not download %s" % requirement)
        self.requirement = requirement
        self.output = output


def target_flags(profile):
    """pip's --platform/--python-version/--implementation/--abi flags for a profile."""
    import bootstrap  # the single-file tool: its flags are the ones its fix commands print
    return bootstrap.pip_target_flags(profile)


def _run_pip(arguments):
    command = [sys.executable, "-m", "pip", "download", "--no-deps",
               "--disable-pip-version-check", "--no-input", "--progress-bar", "off"] + arguments
    return subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)


def _new_files(dest, run):
    before = set(os.listdir(dest))
    proc = run()
    after = set(os.listdir(dest))
    return proc, sorted(after - before)


def download_wheel(requirement, profile, dest):
    """Download the best wheel of ``requirement`` for the profile into ``dest``: its path, or
    None when the project has no wheel for this target (pip's 'no matching distribution')."""
    os.makedirs(dest, exist_ok=True)
    proc, new = _new_files(dest, lambda: _run_pip(
        ["--only-binary=:all:"] + target_flags(profile) + ["-d", dest, requirement]))
    wheels = [name for name in new if name.endswith(".whl")]
    if proc.returncode == 0 and wheels:
        return os.path.join(dest, wheels[0])
    if proc.returncode == 0:
        existing = _already_there(proc.stdout, dest)
        if existing:
            return existing
    if "No matching distribution" in proc.stdout or "Could not find a version" in proc.stdout:
        return None
    raise FetchError(requirement, "\n".join(proc.stdout.splitlines()[-5:]))


def download_sdist(requirement, dest):
    """Download the sdist of ``requirement`` into ``dest``: its path, or None if there is none."""
    from packaging.requirements import Requirement

    os.makedirs(dest, exist_ok=True)
    name = Requirement(requirement).name  # only this project from source: its build
    proc, new = _new_files(dest, lambda: _run_pip(  # dependencies may come as wheels
        ["--no-binary", name, "-d", dest, requirement]))
    archives = [name for name in new if name.endswith((".tar.gz", ".zip", ".tar.bz2"))]
    if proc.returncode == 0 and archives:
        return os.path.join(dest, archives[0])
    if proc.returncode == 0:
        return _already_there(proc.stdout, dest)
    if "No matching distribution" in proc.stdout or "Could not find a version" in proc.stdout:
        return None
    raise FetchError(requirement, "\n".join(proc.stdout.splitlines()[-5:]))


def _already_there(output, dest):
    """pip says 'File was already downloaded <path>' when the file is in dest already."""
    for line in output.splitlines():
        if "already downloaded" in line:
            path = line.rsplit(" ", 1)[-1].strip()
            if os.path.isfile(path):
                return path
            candidate = os.path.join(dest, os.path.basename(path))
            if os.path.isfile(candidate):
                return candidate
    return None
