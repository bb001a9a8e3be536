#!/usr/bin/env python3
"""The test command of sandbox-bootstrap.

    python3 tools/run_tests.py [--no-parity] [--jobs N] [PYTEST-ARGS...]

1. Creates (or reuses) the virtual environment .cache/venv-main for the python3 running this
   script and installs the project into it with ``pip install -e .[test]``. It reinstalls only
   when pyproject.toml or the interpreter changed (a hash is kept in a stamp file).
2. Runs the whole pytest suite in it (or the PYTEST-ARGS given, e.g. ``tests/test_tags.py -x``).
3. Runs the parity modules (tests/test_tags.py, test_versions.py, ..., and intake, resolution
   and a small install: test_intake.py, test_resolve.py, test_smoke.py) under every *other*
   CPython 3.8-3.14 found on this machine (pyenv's versions folder, or python3.X on PATH),
   each in its own venv .cache/venv-3.X holding the newest packaging that supports it (the
   oracle: 26.2 on 3.8, 26.3 on 3.9, 26.4 and later on 3.10+; upgraded on every run when the
   index is reachable, so a new release that changes behaviour shows), pytest and hypothesis.
   With --no-main, test-module arguments choose among the parity modules. A missing
   interpreter is reported with a visible "SKIP: ..." line.
4. Prints one summary line per interpreter and, last, the totals as ``N passed, N failed,
   N skipped (why)``. The exit code is 0 only when every run passed; a run that collected no
   test (pytest's exit code 5), timed out, crashed or could not set up its venv counts as
   failed. A test skipped for lack of a download (its reason says network, download, not
   cached, ...) counts as failed when the network is reachable; offline the last line says
   how many skipped for that reason and how many for others.

Standard library only; runs with no stdin; every child gets a timeout.

Why not nox (the convention of pip, packaging and installer): this command must run from a
fresh clone with nothing but python3, and what it adds to a matrix of venvs is what nox does
not do: per-run time limits that kill whole process groups, counts from junit XML, a run that
collects nothing counted as failed, and skips judged by their reason (a missing download is a
failure when the network is up). A noxfile would still need this logic, and nox itself would
have to be installed first; the matrix part here is ~150 lines.
"""

import argparse
import dataclasses
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ElementTree
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, ".cache")
PYPROJECT = os.path.join(ROOT, "pyproject.toml")

#: The modules run under every other interpreter: the parity modules (each holds bootstrap.py
#: against packaging on the running interpreter), then intake, resolution, a small install and
#: the pre-3.11 sdist reader (tests/test_smoke.py), whose code paths differ between versions.
PARITY_MODULES = (
    "tests/test_tags.py",
    "tests/test_versions.py",
    "tests/test_specifiers.py",
    "tests/test_markers.py",
    "tests/test_requirements.py",
    "tests/test_names.py",
    "tests/test_intake.py",
    "tests/test_resolve.py",
    "tests/test_smoke.py",
)
#: What the parity venvs hold: the newest packaging, pytest and hypothesis that pip finds for
#: that Python (pip honours Requires-Python: packaging 26.2 is the last for 3.8).
PARITY_REQUIREMENTS = ("packaging", "pytest", "hypothesis")
#: The oldest packaging each Python must hold: the release bootstrap.py mirrors there.
PACKAGING_ORACLE = (((3, 10), "26.4"), ((3, 9), "26.3"), ((3, 8), "26.2"))
SUPPORTED = ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14")

VENV_TIMEOUT = 300  # seconds, creating one venv
PIP_TIMEOUT = 900  # seconds, one pip install
MAIN_TIMEOUT = 40 * 60  # seconds, the full suite
PARITY_TIMEOUT = 15 * 60  # seconds, the parity modules under one interpreter
PROBE_TIMEOUT = 30  # seconds, asking an interpreter what it is

STAMP_NAME = ".run_tests-stamp.json"

_PROBE = (
    "import json, sys, sysconfig\n"
    "try:\n"
    "    import ensurepip, venv\n"
    "    ok = True\n"
    "except ImportError:\n"
    "    ok = False\n"
    "print(json.dumps({'version': '%d.%d' % sys.version_info[:2],\n"
    "    'full': '%d.%d.%d' % sys.version_info[:3],\n"
    "    'implementation': sys.implementation.name, 'venv': ok,\n"
    "    'gil_disabled': bool(sysconfig.get_config_var('Py_GIL_DISABLED')),\n"
    "    'executable': sys.executable}))\n"
)

_active = set()  # process groups of running children, killed on Ctrl-C
_active_lock = threading.Lock()
_print_lock = threading.Lock()


def say(*lines):
    """Print whole lines at once, so that threads never interleave inside a line."""
    with _print_lock:
        for line in lines:
            sys.stdout.write(line + "\n")
        sys.stdout.flush()


def _child_env():
    env = dict(os.environ)
    for name in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "VIRTUAL_ENV"):
        env.pop(name, None)
    env["PIP_NO_INPUT"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _kill(proc, flag=None):
    if flag is not None:
        flag.set()
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run(cmd, timeout, stream=False, prefix=""):
    """Run CMD in ROOT with no stdin. Returns (exit code or None on timeout, output text).

    With STREAM the output is also printed line by line as it comes.
    """
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=_child_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        return 127, "cannot run %s: %s\n" % (cmd[0], exc)
    with _active_lock:
        _active.add(proc)
    timed_out = threading.Event()
    timer = threading.Timer(timeout, _kill, (proc, timed_out))
    timer.daemon = True
    timer.start()
    chunks = []
    try:
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace")
            chunks.append(line)
            if stream:
                say(prefix + line.rstrip("\n"))
        proc.stdout.close()
        code = proc.wait()
    finally:
        timer.cancel()
        with _active_lock:
            _active.discard(proc)
    if timed_out.is_set():
        chunks.append("\n*** timed out after %d s ***\n" % timeout)
        return None, "".join(chunks)
    return code, "".join(chunks)


def _bin(venv, name):
    if os.name == "nt":
        return os.path.join(venv, "Scripts", name + ".exe")
    return os.path.join(venv, "bin", name)


def _sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        digest.update(stream.read())
    return digest.hexdigest()


def _read_stamp(venv):
    try:
        with open(os.path.join(venv, STAMP_NAME)) as stream:
            return json.load(stream)
    except (OSError, ValueError):
        return None


def _write_stamp(venv, payload):
    path = os.path.join(venv, STAMP_NAME)
    with open(path + ".tmp", "w") as stream:
        json.dump(payload, stream, indent=1, sort_keys=True)
    os.replace(path + ".tmp", path)


def _venv_python_works(venv, full_version):
    python = _bin(venv, "python")
    if not os.path.exists(python):
        return False
    code, out = run([python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"], 60)
    return code == 0 and out.strip() == full_version


class SetupError(Exception):
    """A venv could not be made ready; the message says why, with pip's output."""


def ensure_venv(base_python, full_version, venv, install_args, identity, log):
    """Make VENV a working venv of BASE_PYTHON holding INSTALL_ARGS; return its python.

    IDENTITY (a dict) is stored in the venv's stamp; the install runs again only when it
    changed. A venv that is broken or made by another interpreter is recreated with --clear.
    """
    stamp = _read_stamp(venv)
    healthy = _venv_python_works(venv, full_version)
    if healthy and stamp == identity:
        log("reusing %s" % os.path.relpath(venv, ROOT))
        return _bin(venv, "python")
    same_base = stamp is not None and stamp.get("base") == identity.get("base")
    for attempt in (1, 2):
        if not (healthy and same_base) or attempt == 2:
            log("creating %s" % os.path.relpath(venv, ROOT))
            code, out = run([base_python, "-m", "venv", "--clear", venv], VENV_TIMEOUT)
            if code != 0:
                raise SetupError("could not create %s:\n%s" % (venv, out))
        log("installing %s" % " ".join(install_args))
        python = _bin(venv, "python")
        cmd = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-input"]
        code, out = run(cmd + list(install_args), PIP_TIMEOUT)
        if code == 0:
            _write_stamp(venv, identity)
            return python
        if attempt == 2:
            raise SetupError("pip install failed in %s (exit %s):\n%s" % (venv, code, out))
        log("pip install failed (exit %s); recreating the venv and trying once more" % code)
    raise AssertionError("unreachable")


def _check_tools(python):
    """The venv must hold pytest, hypothesis and the newest packaging, or no run means much."""
    code, out = run([python, "-m", "pip", "install", "-q", "--upgrade", "--retries", "0",
                     "--timeout", "10", "packaging"], 120)
    if code != 0:  # offline: test against what the venv holds, and say so
        say("note: could not look for a newer packaging for %s (offline?)" % python)
    code, out = run([python, "-c", "import sys, pytest, hypothesis, packaging; "
                     "print('%d.%d' % sys.version_info[:2], packaging.__version__)"], 120)
    if code != 0:
        raise SetupError("the test tools are missing in %s:\n%s" % (os.path.dirname(python), out))
    found = (out.strip().splitlines()[-1:] or [""])[0].split()
    release = lambda text: tuple(int(p) for p in text.split(".")[:2] if p.isdigit())
    wanted = next((v for py, v in PACKAGING_ORACLE if release(found[0]) >= py), "26.2")
    if len(found) != 2 or release(found[1]) < release(wanted):
        raise SetupError("%s holds packaging %s, older than %s (the release bootstrap mirrors "
                         "there)" % (python, found[-1:], wanted))


# -- interpreters -----------------------------------------------------------------------------


def _pyenv_root():
    """What `pyenv root` says (it honours PYENV_ROOT), or None without pyenv on PATH."""
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return None
    code, out = run([pyenv, "root"], PROBE_TIMEOUT)
    return out.strip().splitlines()[-1] if code == 0 and out.strip() else None


def _pyenv_roots():
    roots = []
    for root in (_pyenv_root(), os.environ.get("PYENV_ROOT")):
        if root and os.path.isdir(os.path.join(root, "versions")) and root not in roots:
            roots.append(root)
    return roots


def _candidates(version):
    found = []
    pattern = re.compile(r"^%s\.(\d+)$" % re.escape(version))
    for root in _pyenv_roots():
        names = []
        for name in os.listdir(os.path.join(root, "versions")):
            match = pattern.match(name)
            if match:
                names.append((int(match.group(1)), name))
        for _, name in sorted(names, reverse=True):
            found.append(os.path.join(root, "versions", name, "bin", "python" + version))
    on_path = shutil.which("python" + version)
    if on_path:
        found.append(on_path)
    for folder in ("/usr/local/bin", "/usr/bin"):
        found.append(os.path.join(folder, "python" + version))
    unique = []
    for path in found:
        if os.path.exists(path) and path not in unique:
            unique.append(path)
    return unique


def probe(python):
    """What PYTHON is (a dict), or None when it does not run (a pyenv shim that is off, say)."""
    code, out = run([python, "-I", "-c", _PROBE], PROBE_TIMEOUT)
    if code != 0:
        return None
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def find_interpreter(version):
    """(python, info) for a working CPython VERSION that can make venvs, or (None, reason)."""
    reason = "not found on this machine"
    for path in _candidates(version):
        info = probe(path)
        if info is None or info["version"] != version or info["implementation"] != "cpython":
            continue
        if info["gil_disabled"]:
            continue
        if not info["venv"]:
            reason = "found at %s but it cannot create venvs (no ensurepip)" % path
            continue
        return path, info
    return None, reason


# -- pytest runs ------------------------------------------------------------------------------


@dataclasses.dataclass
class Result:
    """One pytest run (or a SKIP line): its counts, whether it passed, and its output."""
    label: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    ok: bool = False
    note: str = ""
    seconds: float = 0.0
    output: str = ""
    skip_reasons: list = dataclasses.field(default_factory=list)

    def line(self):
        if self.note.startswith("SKIP"):
            return "%-34s %s" % (self.label, self.note)
        status = "OK" if self.ok else "FAILED"
        text = "%-34s %d passed, %d failed, %d skipped  %s  (%.0f s)" % (
            self.label, self.passed, self.failed, self.skipped, status, self.seconds)
        if self.note:
            text += "  -- " + self.note
        return text


def _junit_counts(path):
    """(passed, failed, skipped) from a pytest junit XML file, or None."""
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    tests = failures = skipped = 0
    for suite in suites:
        tests += int(suite.get("tests", 0))
        failures += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return tests - failures - skipped, failures, skipped


def _junit_skip_reasons(path):
    """The message of every skipped test in a pytest junit XML file ([] when unreadable)."""
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError):
        return []
    return [(skip.get("message") or "").strip() for skip in root.iter("skipped")]


#: A skip that says a download was missing: a failure when the network is reachable.
DOWNLOAD_SKIP = re.compile(r"network unavailable|no network\?|not cached|could not be "
                           r"installed|cannot fetch|realwheels\.py --fetch", re.IGNORECASE)


def network_reachable(timeout=15):
    """Whether the files the tests download can be had: a HEAD request for the first pinned
    file of tests/real_wheels.json (through the proxy settings, as pip would)."""
    import urllib.request
    try:
        with open(os.path.join(ROOT, "tests", "real_wheels.json")) as stream:
            pins = json.load(stream)
        url = next(e["url"] for name in sorted(pins["sets"]) for e in pins["sets"][name])
        request = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status < 400
    except Exception:  # noqa: BLE001 (any failure means: not reachable from here)
        return False


def judge_skips(results, reachable=network_reachable):
    """(extra failures, the words of the summary line about skips) for the runs' skips."""
    reasons = [reason for r in results for reason in r.skip_reasons]
    downloads = [reason for reason in reasons if DOWNLOAD_SKIP.search(reason)]
    others = len(reasons) - len(downloads)
    if not reasons:
        return 0, ""
    if downloads and reachable():
        for reason in sorted(set(downloads)):
            say("FAIL: skipped for lack of a download although the network is reachable: "
                + reason[:300])
        return len(downloads), " (%d skipped for lack of a download with the network up: " \
            "counted as failed; %d for other reasons)" % (len(downloads), others)
    if downloads:
        return 0, " (%d for lack of a download: no network; %d for other reasons)" % (
            len(downloads), others)
    return 0, " (%d for other reasons: %s)" % (others, "; ".join(
        sorted(set(r[:80] for r in reasons))[:3]))


def _text_counts(output):
    """(passed, failed, skipped) from pytest's closing line, as a fallback."""
    counts = {}
    for line in reversed(output.splitlines()):
        found = re.findall(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)", line)
        if found:
            for number, word in found:
                counts[word.rstrip("s") if word.startswith("error") else word] = int(number)
            break
    failed = counts.get("failed", 0) + counts.get("error", 0)
    skipped = counts.get("skipped", 0) + counts.get("xfailed", 0)
    return counts.get("passed", 0) + counts.get("xpassed", 0), failed, skipped


_EXIT_MEANING = {
    1: "some tests failed",
    2: "pytest was interrupted",
    3: "pytest had an internal error",
    4: "pytest usage error",
    5: "no tests were collected (pytest exit 5)",
}


def run_pytest(label, python, args, timeout, stream):
    """Run pytest ARGS under PYTHON and return a Result."""
    started = time.monotonic()
    handle, xml_path = tempfile.mkstemp(prefix="run_tests-", suffix=".xml")
    os.close(handle)
    os.unlink(xml_path)
    cmd = [python, "-m", "pytest", "-rfEs", "--junitxml", xml_path, "-o", "junit_family=xunit2"]
    cmd += list(args)
    try:
        code, output = run(cmd, timeout, stream=stream)
        counts = _junit_counts(xml_path)
        skip_reasons = _junit_skip_reasons(xml_path)
    finally:
        if os.path.exists(xml_path):
            os.unlink(xml_path)
    if counts is None:
        counts = _text_counts(output)
    result = Result(label, *counts, seconds=time.monotonic() - started)
    result.output = output
    result.skip_reasons = skip_reasons
    if code is None:
        result.note = "timed out after %d s" % timeout
    elif code != 0:
        result.note = _EXIT_MEANING.get(code, "pytest exited with %d" % code)
    result.ok = code == 0 and result.failed == 0 and result.passed > 0
    if code == 0 and result.passed == 0:
        result.note = "no test passed"
    if not result.ok and result.failed == 0:
        result.failed = 1  # a run that broke down counts as one failure in the totals
    return result


def main_run(pytest_args):
    version = "%d.%d.%d" % sys.version_info[:3]
    label = "Python %s (main, %s)" % (version, "given args" if pytest_args else "full suite")
    started = time.monotonic()
    if not os.path.exists(PYPROJECT):
        return Result(label, failed=1, note="pyproject.toml is missing")
    identity = {
        "base": os.path.realpath(sys.executable),
        "version": version,
        "pyproject": _sha256_file(PYPROJECT),
        "install": "-e .[test]",
    }
    venv = os.path.join(CACHE, "venv-main")
    try:
        python = ensure_venv(
            sys.executable, version, venv, ["-e", ".[test]"], identity,
            lambda text: say("[main] " + text))
        _check_tools(python)
    except SetupError as exc:
        say("[main] " + str(exc))
        return Result(label, failed=1, note="venv setup failed",
                      seconds=time.monotonic() - started)
    say("[main] running pytest %s" % " ".join(pytest_args or ["tests"]), "")
    result = run_pytest(label, python, ["-q"] + list(pytest_args or ["tests"]), MAIN_TIMEOUT,
                        stream=True)
    result.seconds = time.monotonic() - started
    return result


def prepare_parity(version, python, info):
    """Set up .cache/venv-X.Y for PYTHON; returns its python (raises SetupError)."""
    venv = os.path.join(CACHE, "venv-" + version)
    identity = {
        "base": os.path.realpath(python),
        "version": info["full"],
        "install": list(PARITY_REQUIREMENTS),
    }
    logs = []
    try:
        vpython = ensure_venv(python, info["full"], venv, PARITY_REQUIREMENTS, identity,
                              logs.append)
        _check_tools(vpython)
    finally:
        if logs:
            say("[%s] %s" % (version, "; ".join(logs)))
    return vpython


def parity_run(version, info, prepared, modules):
    plural = "" if len(modules) == 1 else "s"
    label = "Python %s (parity, %d module%s)" % (info["full"], len(modules), plural)
    started = time.monotonic()
    try:
        vpython = prepared.result()
    except SetupError as exc:
        say("[%s] %s" % (version, exc))
        return Result(label, failed=1, note="venv setup failed",
                      seconds=time.monotonic() - started)
    result = run_pytest(label, vpython, ["-q", "-p", "no:cacheprovider"] + list(modules),
                        PARITY_TIMEOUT, stream=False)
    say("", "---- Python %s: parity modules ----" % info["full"])
    say(*_tail(result.output, 60 if not result.ok else 6))
    result.seconds = time.monotonic() - started
    return result


def _tail(output, count):
    lines = output.rstrip("\n").splitlines()
    if len(lines) > count:
        return ["  ... (%d lines above)" % (len(lines) - count)] + lines[-count:]
    return lines


def _parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python3 tools/run_tests.py",
        description="Run the sandbox-bootstrap test suite (see the module docstring).")
    parser.add_argument("--no-parity", action="store_true",
                        help="run only the main suite, not the parity modules elsewhere")
    parser.add_argument("--no-main", action="store_true",
                        help="run only the parity modules under the other interpreters")
    parser.add_argument("--jobs", type=int, default=2,
                        help="parity runs at once (default 2)")
    return parser.parse_known_args(argv)


def main(argv=None):
    options, pytest_args = _parse_args(sys.argv[1:] if argv is None else argv)
    if pytest_args[:1] == ["--"]:
        pytest_args = pytest_args[1:]
    if sys.version_info < (3, 8):
        sys.stderr.write("run_tests.py needs Python 3.8 or newer\n")
        return 2
    started = time.monotonic()
    os.makedirs(CACHE, exist_ok=True)
    current = "%d.%d" % sys.version_info[:2]
    results = []
    skips = []

    parity = []
    modules = [m for m in PARITY_MODULES if os.path.exists(os.path.join(ROOT, m))]
    if options.no_main and [m for m in pytest_args if m in modules]:
        modules = [m for m in pytest_args if m in modules]
    if not options.no_parity:
        for version in SUPPORTED:
            if version == current and not options.no_main:
                continue
            python, info = find_interpreter(version)
            if python is None:
                line = "SKIP: Python %s %s" % (version, info)
                skips.append(line)
                say(line)
            else:
                say("[%s] using %s" % (version, python))
                parity.append((version, python, info))
        if not modules:
            say("no parity modules exist yet (%s)" % ", ".join(PARITY_MODULES))
            parity = []

    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        # venvs of the other interpreters are made while the main suite runs
        prepared = [(v, info, pool.submit(prepare_parity, v, p, info)) for v, p, info in parity]
        if not options.no_main:
            results.append(main_run(pytest_args))
        runs = [pool.submit(parity_run, v, info, fut, modules) for v, info, fut in prepared]
        results.extend(run.result() for run in runs)

    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results)
    skipped = sum(r.skipped for r in results)
    say("", "==== run_tests summary (%.0f s) ====" % (time.monotonic() - started))
    for result in results:
        say(result.line())
    for line in skips:
        say(line)
    if not results:
        say("nothing ran")
        failed += 1
    download_failures, why = judge_skips(results)
    failed += download_failures
    ok = failed == 0 and all(r.ok for r in results)
    say("%d passed, %d failed, %d skipped%s" % (passed, failed, skipped, why))
    return 0 if ok else 1


def _interrupt(signum, frame):
    with _active_lock:
        for proc in list(_active):
            _kill(proc)
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        with _active_lock:
            for proc in list(_active):
                _kill(proc)
        sys.stderr.write("interrupted\n")
        sys.exit(130)
