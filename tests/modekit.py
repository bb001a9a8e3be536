"""Helpers of tests/test_modes.py: the environments of issue 7, built for real.

* Layered venvs: a base venv whose packages pip installed (with bytecode, as a real base has
  it) and a kernel venv whose site-packages holds one .pth line pointing at the base's.
* Byte-level fingerprints of whole trees (every file hashed, modes and link targets kept), to
  prove that a base was left exactly as it was.
* conda-pack archives made by the real ``conda-pack`` from PyPI, pinned, installed once into
  the cached venv ``.cache/venv-condapack`` (for this set-up step only PyPI is asked; without
  it the tests skip and say so). conda-pack needs no conda: it packs any prefix holding
  ``conda-meta/*.json`` records. ``make_conda_prefix`` builds such a prefix the way a conda
  environment looks: a Python (``python -m venv --copies`` of a real CPython, with
  ``bin/python`` and ``bin/python3`` as relative links to ``bin/pythonX.Y``, as conda has
  them), a package in ``lib/pythonX.Y/site-packages`` whose module holds the prefix path (so
  that ``conda-unpack`` has a placeholder to rewrite), ``conda-meta/<name>-<ver>-<build>.json``
  records with ``files``/``paths_data``/``link`` for every file, and ``conda-meta/history``.
  The records' package cache does not exist (as after ``conda clean -p``): conda-pack then
  packs the files from the prefix itself and detects prefixes in them, which is its
  documented path for such environments.

Standard library only (the test process never imports conda_pack: it runs its CLI).
"""

import fcntl
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import zipfile

from installkit import clean_env, run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOTSTRAP_DIR = os.path.join(ROOT, "bootstrap")
BOOTSTRAP_PY = os.path.join(BOOTSTRAP_DIR, "bootstrap.py")
CACHE = os.path.join(ROOT, ".cache")
CONDAPACK_VENV = os.path.join(CACHE, "venv-condapack")
CONDAPACK_REQUIREMENT = "conda-pack==0.9.2"
STAMP_NAME = ".modekit-stamp.json"
SETUP_TIMEOUT = 600
BUILD = "h0_sandbox_bootstrap_test"


# -- trees -----------------------------------------------------------------------------------------


def fingerprint(root):
    """{relative path: (kind, mode, sha256 of the content or the link target)} of every file,
    folder and link under root, __pycache__ included: two equal fingerprints mean the same bytes."""
    tree = {}
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in dirs + sorted(files):
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, root)
            info = os.lstat(path)
            mode = stat.S_IMODE(info.st_mode)
            if stat.S_ISLNK(info.st_mode):
                tree[relative] = ("link", None, os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                tree[relative] = ("dir", mode, None)
            else:
                with open(path, "rb") as f:
                    tree[relative] = ("file", mode, hashlib.sha256(f.read()).hexdigest())
    return tree


def fingerprint_diff(before, after, limit=30):
    """What changed between two fingerprints, as readable lines (empty when identical)."""
    lines = []
    for path in sorted(set(before) | set(after)):
        if before.get(path) != after.get(path):
            lines.append("%s: %r -> %r" % (path, before.get(path), after.get(path)))
    return lines[:limit] + (["... %d more" % (len(lines) - limit)] if len(lines) > limit else [])


# -- running code in another interpreter ------------------------------------------------------------

#: Prepended to every script run by ``run_script``: bootstrap.py from the source tree.
SCRIPT_PRELUDE = ("import json, os, sys\n"
                  "sys.path.insert(0, %r)\n"
                  "import bootstrap\n" % BOOTSTRAP_DIR)


def run_script(python, code, cwd=None, env=None, timeout=300):
    """Run ``code`` (after SCRIPT_PRELUDE) under ``python``; it must print one JSON document as
    its last line. Returns that document; raises AssertionError with the output otherwise."""
    proc = run([python, "-c", SCRIPT_PRELUDE + code], cwd=cwd, env=env, timeout=timeout)
    lines = proc.stdout.strip().splitlines()
    try:
        if proc.returncode != 0:
            raise ValueError
        return json.loads(lines[-1])
    except (ValueError, IndexError):
        raise AssertionError("script under %s failed (exit %d)\n--- stdout\n%s\n--- stderr\n%s"
                             % (python, proc.returncode, proc.stdout, proc.stderr))


# -- layered venvs ---------------------------------------------------------------------------------


def install_with_pip(venv, find_links, *requirements):
    """pip install (offline, from ``find_links``, no deps, with bytecode) into ``venv``."""
    venv.pip("install", "--no-deps", "--no-index", "--find-links", str(find_links),
             *requirements, check=True)


def layer_over(kernel, base):
    """Join a kernel venv to a base venv with one .pth line; returns the .pth file's path."""
    pth = os.path.join(kernel.site_packages, "_kernel_base.pth")
    with open(pth, "w") as f:
        f.write(base.site_packages + "\n")
    return pth


# -- conda-pack ------------------------------------------------------------------------------------


def _setup_env():
    """This machine's environment for the one-time download: its pip configuration (local
    mirrors, constraints) left out, so that pip asks PyPI for exactly the pinned package."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PYTHON") and k not in (
               "PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL", "PIP_CONSTRAINT",
               "PIP_CONFIG_FILE", "VIRTUAL_ENV")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _stamp():
    return {"requirement": CONDAPACK_REQUIREMENT, "python": sys.version.split()[0]}


def _ensure_condapack():
    os.makedirs(CACHE, exist_ok=True)
    script = os.path.join(CONDAPACK_VENV, "bin", "conda-pack")
    with open(CONDAPACK_VENV + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(os.path.join(CONDAPACK_VENV, STAMP_NAME)) as f:
                if json.load(f) == _stamp() and os.path.exists(script):
                    return script
        except (OSError, ValueError):
            pass
        shutil.rmtree(CONDAPACK_VENV, ignore_errors=True)
        base = getattr(sys, "_base_executable", sys.executable)
        for cmd, what in (
                ([base, "-m", "venv", CONDAPACK_VENV], "creating the venv"),
                ([os.path.join(CONDAPACK_VENV, "bin", "python"), "-m", "pip", "install",
                  "--no-cache-dir", "--retries", "1", CONDAPACK_REQUIREMENT], "pip install")):
            try:
                proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, universal_newlines=True,
                                      env=_setup_env(), timeout=SETUP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc = None
            if proc is None or proc.returncode != 0:
                shutil.rmtree(CONDAPACK_VENV, ignore_errors=True)
                tail = (proc.stdout.strip().splitlines()[-1:] if proc else ["timed out"])
                raise RuntimeError("%s failed: %s" % (what, " ".join(tail) or "no output"))
        with open(os.path.join(CONDAPACK_VENV, STAMP_NAME), "w") as f:
            json.dump(_stamp(), f)
        return script


_CONDAPACK = {}


def require_conda_pack():
    """The conda-pack CLI of the cached venv, or pytest.skip with a plain reason."""
    if not _CONDAPACK:
        try:
            _CONDAPACK["script"] = _ensure_condapack()
        except Exception as error:  # no network, no venv module, ...
            _CONDAPACK["reason"] = str(error)
    if "script" not in _CONDAPACK:
        import pytest
        pytest.skip("%s could not be installed from PyPI into %s (%s): the conda-pack tests "
                    "need it once" % (CONDAPACK_REQUIREMENT, CONDAPACK_VENV,
                                      _CONDAPACK["reason"]))
    return _CONDAPACK["script"]


def _files_of(prefix):
    found = []
    for folder, dirs, files in os.walk(prefix):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            found.append(os.path.relpath(os.path.join(folder, name), prefix))
    return sorted(found)


def _write_record(prefix, name, version, files):
    record = {
        "name": name, "version": version, "build": BUILD, "build_number": 0,
        "channel": "https://conda.anaconda.org/local", "subdir": "linux-64",
        "url": "https://conda.anaconda.org/local/linux-64/%s-%s-%s.tar.bz2" % (
            name, version, BUILD),
        "fn": "%s-%s-%s.tar.bz2" % (name, version, BUILD),
        "files": files,
        "paths_data": {"paths_version": 1, "paths": [
            {"_path": f, "path_type": "softlink" if os.path.islink(os.path.join(prefix, f))
             else "hardlink"} for f in files]},
        "link": {"source": os.path.join(os.path.dirname(prefix), "pkgs-cleaned",
                                        "%s-%s-%s" % (name, version, BUILD)), "type": 1},
        "requested_spec": name,
    }
    path = os.path.join(prefix, "conda-meta", "%s-%s-%s.json" % (name, version, BUILD))
    with open(path, "w") as f:
        json.dump(record, f, indent=2)


def make_conda_prefix(prefix, python, wheels):
    """A conda-style environment at ``prefix`` made from the CPython ``python``, holding
    the given wheels (pure, unpacked into its site-packages, each with a conda-meta record).
    Returns {"prefix", "version", "site_packages"}."""
    prefix = os.path.abspath(str(prefix))
    run([python, "-m", "venv", "--copies", "--without-pip", prefix], check=True)
    version = run([os.path.join(prefix, "bin", "python"), "-c",
                   "import platform; print(platform.python_version())"],
                  check=True).stdout.strip()
    short = ".".join(version.split(".")[:2])
    bin_dir = os.path.join(prefix, "bin")
    for name in os.listdir(bin_dir):  # a conda env has no venv activate scripts
        if name.lower().startswith("activate"):
            os.remove(os.path.join(bin_dir, name))
    for name in ("python", "python3"):  # conda links these to pythonX.Y
        os.remove(os.path.join(bin_dir, name))
        os.symlink("python" + short, os.path.join(bin_dir, name))
    site = os.path.join(prefix, "lib", "python" + short, "site-packages")
    before = set(_files_of(prefix))
    owned = {}
    for wheel in wheels:
        with zipfile.ZipFile(str(wheel)) as archive:
            archive.extractall(site)
        name, wheel_version = os.path.basename(str(wheel)).split("-")[:2]
        now = set(_files_of(prefix))
        owned[(name, wheel_version)] = sorted(now - before)
        before = now
    os.makedirs(os.path.join(prefix, "conda-meta"))
    package_files = set(f for files in owned.values() for f in files)
    _write_record(prefix, "python", version, [f for f in _files_of(prefix)
                                              if f not in package_files])
    for (name, wheel_version), files in sorted(owned.items()):
        _write_record(prefix, name, wheel_version, files)
    with open(os.path.join(prefix, "conda-meta", "history"), "w") as f:
        f.write("==> 2024-01-01 00:00:00 <==\n# cmd: conda create -p %s python=%s\n"
                "+local::python-%s-%s\n" % (prefix, short, version, BUILD))
    return {"prefix": prefix, "version": version, "site_packages": site}


def conda_pack(script, prefix, output):
    """Pack ``prefix`` into ``output`` with the real conda-pack CLI; returns output."""
    proc = run([script, "-p", str(prefix), "-o", str(output), "--quiet"],
               env=clean_env(), timeout=SETUP_TIMEOUT)
    if proc.returncode != 0 or not os.path.isfile(str(output)):
        raise AssertionError("conda-pack failed (%d)\n%s\n%s" % (proc.returncode, proc.stdout,
                                                                 proc.stderr))
    return str(output)


def rewrite_tar(source, output, change):
    """Copy the .tar.gz ``source`` to ``output`` member by member; ``change(info, data)``
    returns a list of (TarInfo, bytes or None) to write instead (``[]`` drops the member)."""
    with tarfile.open(str(source), "r:gz") as src, tarfile.open(str(output), "w:gz") as out:
        for info in src.getmembers():
            data = src.extractfile(info).read() if info.isfile() else None
            for new_info, new_data in change(info, data):
                if new_data is not None:
                    new_info.size = len(new_data)
                    import io
                    out.addfile(new_info, io.BytesIO(new_data))
                else:
                    out.addfile(new_info)
    return str(output)
