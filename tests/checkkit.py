"""Shared helpers of the `check` tests (test_intake, test_resolve, test_report, test_fuzz).

* ``linux_profile(...)`` / ``windows_profile(...)``: profile dicts of *simulated* interpreters,
  built from bootstrap's own tag generators, so a test judges for Python 3.8 on Linux (or
  Windows) whatever interpreter runs it. Nothing in them depends on the host except the
  marker variables that no test looks at.
* ``tree(path, exclude=...)``: a snapshot of a directory tree (paths, kinds, sizes, link
  targets) to prove that nothing was written outside a work folder.
* ``site_packages_snapshot()``: the entries of this interpreter's site-packages, to prove that
  nothing was installed.
* ``run_cli(...)``: ``python -I bootstrap.py ARGS`` in a subprocess, with no pip configuration.
* small archive builders: ``tar_info``, ``write_tar``, ``write_zip``, ``zip_info``.

Standard library only, Python 3.8 syntax.
"""
import copy
import functools
import io
import os
import stat
import subprocess
import sys
import sysconfig
import tarfile
import zipfile

import bootstrap
import installkit  # pyenv root / PATH discovery of the interpreters

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOTSTRAP_PY = os.path.join(ROOT, "bootstrap", "bootstrap.py")
PYTHON38 = installkit.find_python("3.8") or "/nonexistent/python3.8 (no CPython 3.8 found)"
REPORT_SCHEMA = "sandbox-bootstrap.report/1"
REPORT_KEYS = ("schema", "command", "status", "target", "profile", "roots", "blocked_roots",
               "would_install", "installed", "satisfied", "wheels", "sdists", "skipped",
               "problems", "fix", "next_steps", "notes")
FIXED_DATE = (1980, 1, 1, 0, 0, 0)


# -- simulated interpreters ------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _host_profile():
    return bootstrap.Profile.current().to_json()


def manylinux_platforms(glibc=(2, 31), arch="x86_64"):
    """PEP 600 platforms from ``glibc`` down to 2.5, each legacy alias after its twin."""
    legacy = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
    platforms = []
    for minor in range(glibc[1], 4, -1):
        platforms.append("manylinux_2_%d_%s" % (minor, arch))
        if (2, minor) in legacy:
            platforms.append("%s_%s" % (legacy[(2, minor)], arch))
    platforms.append("linux_" + arch)
    return platforms


def _installed(installed):
    result = []
    for item in installed:
        if isinstance(item, dict):
            result.append(dict(item))
            continue
        name, version = item[0], item[1]
        requires = list(item[2]) if len(item) > 2 else []
        result.append({"name": name, "version": version, "requires": requires,
                       "location": "/simulated/site-packages"})
    return result


def _profile(python, platforms, environment, libc, installed, pip):
    major, minor = [int(part) for part in python.split(".")[:2]]
    full = python if python.count(".") == 2 else python + ".18"
    cp = "cp%d%d" % (major, minor)
    data = copy.deepcopy(_host_profile())
    env = data["marker_environment"]
    env.update(python_version="%d.%d" % (major, minor), python_full_version=full,
               implementation_name="cpython", implementation_version=full,
               platform_python_implementation="CPython")
    env.update(environment)
    tags = list(bootstrap.cpython_tags((major, minor), [cp], platforms))
    tags += list(bootstrap.compatible_tags((major, minor), cp, platforms))
    data["compatible_tags"] = [str(tag) for tag in tags]
    data["target"] = data["compatible_tags"][0]
    data["python"] = {"version": full, "executable": "/simulated/bin/python%d.%d" % (major, minor),
                      "bits": 64}
    data["implementation"] = {"name": "cpython", "version": full, "interpreter": cp, "abi": cp}
    data["libc"] = libc
    data["pip"] = {"version": "23.2.1", "location": "/simulated/site-packages"} if pip else None
    data["installed"] = _installed(installed)
    return data


def linux_profile(python="3.8", installed=(), glibc=(2, 31), arch="x86_64", pip=True):
    """A profile dict of CPython ``python`` on x86_64 Linux with glibc ``glibc``."""
    environment = {"os_name": "posix", "sys_platform": "linux", "platform_system": "Linux",
                   "platform_machine": arch}
    libc = {"kind": "glibc", "version": "%d.%d" % glibc}
    return _profile(python, manylinux_platforms(glibc, arch), environment, libc, installed, pip)


def windows_profile(python="3.11", installed=(), pip=True):
    """A profile dict of CPython ``python`` on 64-bit Windows."""
    environment = {"os_name": "nt", "sys_platform": "win32", "platform_system": "Windows",
                   "platform_machine": "AMD64", "platform_release": "10"}
    libc = {"kind": None, "version": None}
    return _profile(python, ["win_amd64"], environment, libc, installed, pip)


# -- snapshots --------------------------------------------------------------------------------


def tree(path, exclude=()):
    """{relative path: (kind, size or link target)} of everything under ``path``."""
    path = os.path.realpath(str(path))
    excluded = set(os.path.realpath(str(e)) for e in exclude)
    snapshot = {}
    for directory, subdirs, files in os.walk(path, followlinks=False):
        subdirs[:] = sorted(d for d in subdirs
                            if os.path.join(directory, d) not in excluded)
        for name in sorted(subdirs + files):
            full = os.path.join(directory, name)
            if full in excluded:
                continue
            relative = os.path.relpath(full, path)
            info = os.lstat(full)
            if stat.S_ISLNK(info.st_mode):
                snapshot[relative] = ("link", os.readlink(full))
            elif stat.S_ISDIR(info.st_mode):
                snapshot[relative] = ("dir", None)
            else:
                snapshot[relative] = ("file", info.st_size)
    return snapshot


def site_packages_snapshot():
    """The entries of this interpreter's site-packages folders (purelib, platlib)."""
    entries = {}
    for key in ("purelib", "platlib"):
        folder = sysconfig.get_paths()[key]
        try:
            entries[folder] = sorted(os.listdir(folder))
        except OSError:
            entries[folder] = None
    return entries


# -- running the script ------------------------------------------------------------------------


def sandbox_env():
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("PIP_"))
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"):
        env.pop(name, None)
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


def run_cli(args, python=None, cwd=None, timeout=180):
    """``PYTHON -I bootstrap.py ARGS``: a CompletedProcess with text stdout and stderr."""
    command = [python or sys.executable, "-I", BOOTSTRAP_PY] + [str(a) for a in args]
    return subprocess.run(command, cwd=str(cwd or ROOT), env=sandbox_env(),
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout)


# -- archive builders --------------------------------------------------------------------------


def tar_info(name, data=b"", kind=tarfile.REGTYPE, linkname=""):
    """(TarInfo, fileobj) of one member: a file with ``data``, or a dir/link/device/fifo."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mtime = 315532800
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    info.linkname = linkname
    if kind == tarfile.REGTYPE:
        info.size = len(data)
        return info, io.BytesIO(data)
    info.size = 0
    return info, None


def write_tar(path, members, mode="w:gz"):
    """Write ``members`` [(TarInfo, fileobj)] into a tar at ``path``; returns the path."""
    path = str(path)
    with tarfile.open(path, mode, format=tarfile.GNU_FORMAT) as archive:
        for info, fileobj in members:
            archive.addfile(info, fileobj)
    return path


def zip_info(name, mode=stat.S_IFREG | 0o644):
    info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
    info.create_system = 3
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def write_zip(path, members, compression=zipfile.ZIP_DEFLATED):
    """Write ``members`` [(name or ZipInfo, bytes)] into a zip at ``path``; returns the path."""
    path = str(path)
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members:
            if not isinstance(name, zipfile.ZipInfo):
                name = zip_info(name)
                name.compress_type = compression
            archive.writestr(name, data)
    return path


def tar_bytes(files, mode="w:gz"):
    """The bytes of a tar holding ``files`` {member name: path or bytes}."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode, format=tarfile.GNU_FORMAT) as archive:
        for name in sorted(files):
            content = files[name]
            if not isinstance(content, bytes):
                with open(str(content), "rb") as f:
                    content = f.read()
            info, fileobj = tar_info(name, content)
            archive.addfile(info, fileobj)
    return buffer.getvalue()


def problem_codes(report):
    return sorted(p["code"] for p in report["problems"])


def problems_with(report, code):
    return [p for p in report["problems"] if p["code"] == code]
