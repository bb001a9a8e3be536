"""Helpers of tests/test_install.py: interpreters, venvs, running bootstrap and pip, and reading
installed trees (files, modes, RECORD) to compare them or to prove that no package is half there.

Everything runs in subprocesses with this machine's pip configuration switched off
(PIP_CONFIG_FILE=/dev/null, no PIP_* variables, --no-cache-dir), as it is in a user's sandbox.
Venvs are made without pip (fast); pip, where a test needs it, runs inside the venv from the
pip wheel that the interpreter's ensurepip bundles, so it can only ever install into that venv.
Standard library only.
"""

import base64
import csv
import glob
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOTSTRAP_DIR = os.path.join(ROOT, "bootstrap")
BOOTSTRAP_PY = os.path.join(BOOTSTRAP_DIR, "bootstrap.py")
STAGING_DIR = ".bootstrap-staging"
LOCK_FILE = ".bootstrap.lock"
TIMEOUT = 300


# -- interpreters and environments ----------------------------------------------------------------


_PYENV_ROOT = []


def pyenv_root():
    """What ``pyenv root`` says (it honours PYENV_ROOT), or None without pyenv on PATH."""
    if not _PYENV_ROOT:
        root = None
        pyenv = shutil.which("pyenv")
        if pyenv is not None:
            try:
                proc = subprocess.run([pyenv, "root"], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      universal_newlines=True, timeout=60)
                root = proc.stdout.strip() if proc.returncode == 0 else None
            except (OSError, subprocess.TimeoutExpired):
                root = None
        _PYENV_ROOT.append(root if root and os.path.isdir(root) else None)
    return _PYENV_ROOT[0]


def find_python(minor="3.11"):
    """A CPython of this minor version (pyenv's newest patch release first, then PATH), or
    None."""
    root = pyenv_root()
    if root:
        found = glob.glob(os.path.join(root, "versions", minor + ".*", "bin", "python" + minor))
        found = [path for path in found if re.match(r"^\d+$", path.split(os.sep)[-3].split(
            ".", 2)[-1])]  # 3.8.18, not 3.8-dev or 3.13.0t
        if found:
            return max(found, key=lambda path: int(path.split(os.sep)[-3].split(".")[2]))
    return shutil.which("python" + minor)


def clean_env(**extra):
    """The environment of a user's sandbox: none of this machine's pip or Python settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env.pop("VIRTUAL_ENV", None)
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run(cmd, cwd=None, env=None, timeout=TIMEOUT, check=False):
    """Run a command with no stdin; text output; raise with its output when ``check`` fails."""
    proc = subprocess.run([str(part) for part in cmd], cwd=str(cwd) if cwd else None,
                          env=env or clean_env(), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (%d)\n--- stdout\n%s\n--- stderr\n%s" % (
            " ".join(str(c) for c in cmd), proc.returncode, proc.stdout, proc.stderr))
    return proc


def run_step(command, cwd, python=None, timeout=TIMEOUT):
    """A report's step or fix command, verbatim, in a shell in ``cwd`` (which holds
    bootstrap.py), as a user types it: ``python`` (default: this interpreter) is the
    `python` first on PATH; none of this machine's pip or Python settings."""
    env = clean_env()
    env["PATH"] = os.path.dirname(str(python or sys.executable)) + os.pathsep + env.get(
        "PATH", "")
    return subprocess.run(command, shell=True, cwd=str(cwd), env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=timeout)


def bundled_pip(python):
    """The pip wheel that ``python``'s ensurepip carries (runnable as ``python WHEEL/pip``)."""
    proc = run([python, "-c", "import ensurepip, os; print(os.path.dirname(ensurepip.__file__))"])
    if proc.returncode != 0:
        return None
    wheels = sorted(glob.glob(os.path.join(proc.stdout.strip(), "_bundled", "pip-*.whl")))
    return wheels[-1] if wheels else None


class Venv(object):
    """A virtual environment made by ``python -m venv`` (``with_pip`` adds pip and setuptools)."""

    def __init__(self, path, python, with_pip=False):
        self.root = str(path)
        self.base_python = python
        cmd = [python, "-m", "venv"] + ([] if with_pip else ["--without-pip"]) + [self.root]
        run(cmd, check=True)
        self.python = os.path.join(self.root, "bin", "python")
        self.bin = os.path.join(self.root, "bin")
        self.site_packages = run([self.python, "-c", "import sysconfig; "
                                  "print(sysconfig.get_paths()['purelib'])"],
                                 check=True).stdout.strip()
        self.with_pip = with_pip

    def pip(self, *args, **kwargs):
        """Run pip inside this venv (its own, or the bundled wheel), offline-configured."""
        if self.with_pip:
            cmd = [self.python, "-m", "pip"]
        else:
            wheel = bundled_pip(self.base_python)
            if wheel is None:
                raise AssertionError("%s has no bundled pip wheel" % self.base_python)
            cmd = [self.python, os.path.join(wheel, "pip")]
        return run(cmd + list(args) + ["--no-cache-dir"] * (args[0] in ("install", "wheel",
                                                                           "download")),
                   **kwargs)

    def pip_install_offline(self, find_links, *requirements, **kwargs):
        """``pip install --no-deps --no-compile --no-index --find-links DIR REQ...``."""
        return self.pip("install", "--no-deps", "--no-compile", "--no-index", "--find-links",
                        str(find_links), *requirements, **kwargs)

    def distributions(self):
        """{canonical name: version} of what is installed in this venv's site-packages."""
        return installed_versions(self.site_packages)


# -- running bootstrap ----------------------------------------------------------------------------


class Result(object):
    """A finished bootstrap command: the process and its JSON report (None if unreadable)."""

    def __init__(self, proc):
        self.proc = proc
        self.returncode = proc.returncode
        self.stdout, self.stderr = proc.stdout, proc.stderr
        try:
            self.report = json.loads(proc.stdout)
        except ValueError:
            self.report = None

    def codes(self):
        return sorted(p["code"] for p in (self.report or {}).get("problems", ()))

    def problems(self, code):
        return [p for p in (self.report or {}).get("problems", ()) if p["code"] == code]

    def installed(self):
        return {i["name"]: i["version"] for i in (self.report or {}).get("installed", ())}

    def __repr__(self):
        return "<exit %s>\n--- stdout\n%s\n--- stderr\n%s" % (self.returncode, self.stdout,
                                                            self.stderr)


def bootstrap(python, *args, prefix=(), cwd=None, env=None, timeout=TIMEOUT):
    """Run ``PREFIX PYTHON bootstrap.py ARGS --json`` and return a Result."""
    cmd = list(prefix) + [python, BOOTSTRAP_PY] + [str(a) for a in args] + ["--json"]
    return Result(run(cmd, cwd=cwd, env=env, timeout=timeout))


# -- trees, RECORD, distributions -----------------------------------------------------------------


def record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(
        hashlib.sha256(data).digest()).decode("ascii").rstrip("=")


def file_hash(path):
    with open(path, "rb") as f:
        return record_hash(f.read())


def read_record(dist_info):
    """The rows of a .dist-info's RECORD, as (path, hash, size) tuples."""
    with open(os.path.join(dist_info, "RECORD"), newline="") as f:
        return [tuple((row + ["", ""])[:3]) for row in csv.reader(f) if row]


def dist_info_dirs(lib_dir):
    """The .dist-info folders directly in lib_dir, sorted."""
    if not os.path.isdir(lib_dir):
        return []
    return sorted(os.path.join(lib_dir, e) for e in os.listdir(lib_dir)
                  if e.endswith(".dist-info") and os.path.isdir(os.path.join(lib_dir, e)))


def _canonical(name):
    import re
    return re.sub(r"[-_.]+", "-", name).lower()


def read_metadata_field(dist_info, field):
    with open(os.path.join(dist_info, "METADATA"), encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                break
            key, _, value = line.partition(":")
            if key.strip().lower() == field.lower():
                return value.strip()
    return None


def installed_versions(lib_dir):
    """{canonical name: version} from the METADATA of every .dist-info in lib_dir."""
    return {_canonical(read_metadata_field(d, "Name")): read_metadata_field(d, "Version")
            for d in dist_info_dirs(lib_dir)}


def find_dist_info(lib_dir, name):
    for d in dist_info_dirs(lib_dir):
        if _canonical(read_metadata_field(d, "Name")) == _canonical(name):
            return d
    return None


def record_problems(lib_dir, dist_info):
    """What is wrong with an installed distribution: RECORD files missing or changed."""
    problems = []
    for path, digest, size in read_record(dist_info):
        full = os.path.normpath(os.path.join(lib_dir, path))
        if not os.path.isfile(full):
            problems.append("%s: %s is in RECORD but not on disk" % (
                os.path.basename(dist_info), path))
        elif digest and file_hash(full) != digest:
            problems.append("%s: %s differs from its RECORD hash" % (
                os.path.basename(dist_info), path))
        elif size and os.path.getsize(full) != int(size):
            problems.append("%s: %s differs from its RECORD size" % (
                os.path.basename(dist_info), path))
    return problems


def record_paths(lib_dir, dist_info):
    """The absolute, normalised paths a .dist-info's RECORD names."""
    return {os.path.normpath(os.path.join(lib_dir, path)) for path, _, _ in read_record(dist_info)}


def files_under(root, skip=(STAGING_DIR, LOCK_FILE, "__pycache__")):
    """Every file (or link) under root, as absolute paths, leaving out the ``skip`` names."""
    found = set()
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in skip]
        for name in files:
            if name not in skip:
                found.add(os.path.join(folder, name))
        for name in dirs:
            if os.path.islink(os.path.join(folder, name)):
                found.add(os.path.join(folder, name))
    return found


def snapshot(root, skip=("__pycache__",), normalise=None):
    """{relative path: (kind, mode, content)} of everything under root (content for files)."""
    tree = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in skip)
        for name in dirs + sorted(files):
            if name in skip:
                continue
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, root)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                tree[relative] = ("link", None, os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                tree[relative] = ("dir", stat.S_IMODE(info.st_mode), None)
            else:
                with open(path, "rb") as f:
                    content = f.read()
                if normalise is not None:
                    content = normalise(relative, content)
                tree[relative] = ("file", stat.S_IMODE(info.st_mode), content)
    return tree


def diff_trees(left, right, left_name="left", right_name="right", limit=40):
    """Readable differences between two snapshots (empty list when equal)."""
    out = []
    for path in sorted(set(left) | set(right)):
        a, b = left.get(path), right.get(path)
        if a == b:
            continue
        if a is None:
            out.append("only in %s: %s" % (right_name, path))
        elif b is None:
            out.append("only in %s: %s" % (left_name, path))
        elif a[0] != b[0]:
            out.append("%s: %s in %s, %s in %s" % (path, a[0], left_name, b[0], right_name))
        elif a[1] != b[1]:
            out.append("%s: mode %o in %s, %o in %s" % (path, a[1], left_name, b[1],
                                                          right_name))
        else:
            out.append("%s: content differs\n  %s: %r\n  %s: %r" % (
                path, left_name, a[2][:300], right_name, b[2][:300]))
    if len(out) > limit:
        out = out[:limit] + ["... and %d more" % (len(out) - limit)]
    return out


# -- the journal invariant ------------------------------------------------------------------------


def _staged_packages(lib_dir):
    """[(staging folder, READY destinations or None, staged RECORD rows or None)]."""
    root = os.path.join(lib_dir, STAGING_DIR)
    staged = []
    if not os.path.isdir(root):
        return staged
    for entry in sorted(os.listdir(root)):
        folder = os.path.join(root, entry)
        ready_path = os.path.join(folder, "READY")
        ready = None
        if os.path.isfile(ready_path):
            with open(ready_path) as f:
                ready = json.load(f)
        staged.append((folder, ready, entry))
    return staged


def journaled(lib_dir):
    """The staged packages (name-version) whose READY journal entry says: commit me."""
    return {entry for _, ready, entry in _staged_packages(lib_dir) if ready is not None}


def half_installed(lib_dir, before=frozenset()):
    """Why the tree under ``lib_dir`` (a --target folder) holds a half-installed package.

    Allowed: files that were there ``before``; files of a complete .dist-info (its RECORD
    files all on disk with their hashes); files of a package staged with a READY journal entry
    (the rerun commits it: they are either still in the staging folder or already at the place
    its staged or installed RECORD names). Anything else on disk, a .dist-info whose RECORD
    names a file that is missing or changed, or a package staged without READY with any file
    outside the staging folder, is a half-installed package. Returns a list of messages.
    """
    problems = []
    owned = set()
    complete = set()
    for dist_info in dist_info_dirs(lib_dir):
        problems.extend(record_problems(lib_dir, dist_info))
        owned |= record_paths(lib_dir, dist_info)
        complete.add(os.path.basename(dist_info)[:-len(".dist-info")])
    for folder, ready, entry in _staged_packages(lib_dir):
        if ready is None:
            continue
        staged = [(ready[key], os.path.join(folder, key, entry + ".dist-info"))
                  for key in ("purelib", "platlib")
                  if os.path.isdir(os.path.join(folder, key, entry + ".dist-info"))]
        for base, staged_dist_info in staged:
            owned |= record_paths(base, staged_dist_info)
        if not staged and entry not in complete:
            problems.append("staged %s has READY but neither a staged nor an installed "
                            ".dist-info" % entry)
    for path in sorted(files_under(lib_dir) - owned - set(before)):
        problems.append("%s is on disk but belongs to no complete or journaled package"
                        % os.path.relpath(path, lib_dir))
    return problems


def strictly_complete(lib_dir, before=frozenset()):
    """Like half_installed, with nothing staged allowed: every file new since ``before``
    belongs to a complete .dist-info, and the staging folder is gone."""
    problems = []
    owned = set()
    for dist_info in dist_info_dirs(lib_dir):
        problems.extend(record_problems(lib_dir, dist_info))
        owned |= record_paths(lib_dir, dist_info)
    if os.path.exists(os.path.join(lib_dir, STAGING_DIR)):
        problems.append("%s is still there: %s" % (STAGING_DIR, sorted(
            os.listdir(os.path.join(lib_dir, STAGING_DIR)))))
    for path in sorted(files_under(lib_dir) - owned - set(before)):
        problems.append("%s belongs to no complete .dist-info" % os.path.relpath(path, lib_dir))
    return problems


# -- small wheel helpers --------------------------------------------------------------------------


def set_member_mode(wheel_path, member, mode):
    """Rewrite a wheel so that ``member`` carries unix mode ``mode`` (RECORD is unaffected)."""
    import zipfile
    tmp = str(wheel_path) + ".tmp"
    with zipfile.ZipFile(str(wheel_path)) as source, zipfile.ZipFile(tmp, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == member:
                info.external_attr = (stat.S_IFREG | mode) << 16
                info.create_system = 3
            out.writestr(info, data)
    os.replace(tmp, str(wheel_path))
    return wheel_path


def python_tag():
    """This interpreter's cpXY tag."""
    return "cp%d%d" % sys.version_info[:2]


#: bootstrap's CLI with its commit steps hooked: KILL_AT=STEP:N ends the process at the N-th
#: call of STEP, after it prints WORKERS PID... on stderr (the extraction workers started so
#: far): os._exit(77), as abrupt as SIGKILL, or with KILL_BY=SIGKILL a real SIGKILL of itself
#: (its workers see their parent die). FAIL_AT=STEP:N raises OSError(errno FAIL_ERRNO) there
#: instead (a read-only folder, a full disk). STEP: move (_move_into: every rename of a commit
#: or rollback), ready (_mark_ready), phase (_set_phase: every journal rewrite), rmtree
#: (removing a journaled staging folder), frame (just after _write_frame sent a job to a
#: worker, counted once two workers run). Prints CALLS {...} on stderr.
KILL_DRIVER = r'''
import errno, json, os, shutil, signal, sys, threading
sys.path.insert(0, sys.argv[1])
import bootstrap
kill, n = os.environ.get("KILL_AT", "none:0").split(":")
fail, k = os.environ.get("FAIL_AT", "none:0").split(":")
n, k = int(n), int(k)
calls = {"move": 0, "ready": 0, "phase": 0, "rmtree": 0, "frame": 0}
started, lock = [], threading.Lock()

def end():
    sys.stderr.write("WORKERS %s\n" % " ".join(str(p.pid) for p in started if p))
    sys.stderr.flush()
    if os.environ.get("KILL_BY") == "SIGKILL":
        os.kill(os.getpid(), signal.SIGKILL)
    os._exit(77)

def reached(name):
    with lock:
        calls[name] += 1
        if kill == name and calls[name] == n:
            end()
        if fail == name and calls[name] == k:
            number = getattr(errno, os.environ.get("FAIL_ERRNO", "EROFS"))
            raise OSError(number, os.strerror(number))

def hooked(name, original):
    def wrapper(*args, **kwargs):
        reached(name)
        return original(*args, **kwargs)
    return wrapper

def start_worker(plain=bootstrap._start_worker):
    process = plain()
    started.append(process)
    return process

def write_frame(stream, value, plain=bootstrap._write_frame):
    plain(stream, value)
    if len([p for p in started if p]) == 2:
        reached("frame")

bootstrap._move_into = hooked("move", bootstrap._move_into)
bootstrap._mark_ready = hooked("ready", bootstrap._mark_ready)
bootstrap._set_phase = hooked("phase", bootstrap._set_phase)
bootstrap._start_worker, bootstrap._write_frame = start_worker, write_frame
_rmtree = shutil.rmtree
def rmtree(path, *args, **kwargs):
    if bootstrap.STAGING_DIR + os.sep in str(path) and os.path.isfile(
            os.path.join(str(path), "READY")):
        reached("rmtree")
    return _rmtree(path, *args, **kwargs)
shutil.rmtree = rmtree
code = bootstrap.main(sys.argv[2:])
sys.stderr.write("CALLS " + json.dumps(calls) + "\n")
sys.exit(code)
'''


def install_args(bundle, target, *args):
    """The CLI arguments of run_hooked_install: `install BUNDLE ARGS --target TARGET
    --no-verify --json --work-dir TARGET-work` (its rerun without the driver takes them too).
    A killed run cannot remove its work folder, so it is made next to the target, not in
    /tmp."""
    return (["install", str(bundle)] + [str(arg) for arg in args]
            + ["--target", str(target), "--no-verify", "--json", "--work-dir",
               str(target) + "-work"])


def run_hooked_install(bundle, target, *args, **hooks):
    """(process, {step: calls}) of install_args(BUNDLE, TARGET, ARGS) through KILL_DRIVER
    with ``hooks`` (KILL_AT=..., KILL_BY=..., FAIL_AT=...) in its environment."""
    proc = run([sys.executable, "-c", KILL_DRIVER, BOOTSTRAP_DIR]
               + install_args(bundle, target, *args), env=clean_env(**hooks))
    calls = [line for line in proc.stderr.splitlines() if line.startswith("CALLS ")]
    return proc, json.loads(calls[-1][len("CALLS "):]) if calls else None
