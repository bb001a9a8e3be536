"""Warming without its worker, and under the flags that choose the .pyc (bootstrap.py section
11: _warm_imports, _ExtractionWorkers.warm, _start_worker, _interpreter_flags; section 13:
_Installer._start_warming, close).

    TestWithoutAWorker  the warm job's worker exits at once, cannot start (no interpreter
                        behind sys.executable: for the workers, or for every child, when the
                        verifier imports in this process too), is SIGKILLed before the warming
                        or as it receives the warm job: the walk runs here instead, once,
                        whole; the report is the one without warming; every child is waited
                        for; nothing is compiled outside the install's folders. close() ends
                        that walk at its next module (the stop file), however long it is.
                        Under PYTHONDONTWRITEBYTECODE (this process writes no bytecode) the
                        walk here would compile for nothing: it does not run.
    TestFlags           `python -O` / `-OO` / `-OOO` / `-X pycache_prefix=DIR` / `-B`, and
                        PYTHONOPTIMIZE / PYTHONPYCACHEPREFIX / PYTHONDONTWRITEBYTECODE in the
                        caller's environment (and the first two under -E, which ignores them),
                        through workers (the threshold forced to 0), verifying, the walk whole:
                        a fresh interpreter with the same flags importing the roots and the
                        public submodule finds every .pyc it needs, and one that writes
                        bytecode (the same flags; without -B / PYTHONDONTWRITEBYTECODE, which
                        choose no .pyc) rewrites none; an -O run writes no plain .pyc, a
                        prefix run nothing beside the packages. -OO with a prefix on the
                        oldest and newest Python from `pyenv root`; under -B,
                        PYTHONDONTWRITEBYTECODE and -E the verifier alone (no warming) writes
                        the import's .pyc; bootstrap.py itself run with -O and a prefix on a
                        bundle of _WORKER_MEMBERS files; the pinned real web stack (bench-web:
                        fastapi, flask, httpx, requests, sqlalchemy) under -O.

The walk of the made bundle compiles five modules: warmroot, warmroot.inner, warmdep,
warmdep.sub (what `import warmroot` runs; the verifier compiles them too) and warmroot.extra
(a public submodule the import does not run: only the walk compiles it). warmroot also tries
`import warmoutside`, importable in this process from a folder that is not the target's.
"""

import json
import os
import signal
import sys
import tempfile
import threading
import time

import pytest

import bootstrap

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from installkit import BOOTSTRAP_PY, clean_env, find_python, run, snapshot  # noqa: E402
import realwheels  # noqa: E402
from workerkit import (  # noqa: E402
    Spy, assert_all_waited, behind, children, exits_at_once)

#: every module the full walk compiles, and the modules `import warmroot` runs
WALKED = ["warmdep", "warmdep.sub", "warmroot", "warmroot.extra", "warmroot.inner"]
IMPORTED = ["warmdep", "warmdep.sub", "warmroot", "warmroot.inner"]
WAIT = 120  # bounds a hang only: each wait below ends as soon as what it waits for happens


def make_bundle(make_wheel):
    make_wheel("warmroot", "1.0", requires=["warmdep"], files={
        "warmroot/__init__.py": "from . import inner\nimport warmdep\ntry:\n"
                                "    import warmoutside\nexcept ImportError:\n    pass\n",
        "warmroot/inner.py": "import warmdep.sub\n",
        "warmroot/extra.py": "VALUE = 2\n"})
    make_wheel("warmdep", "1.0", files={"warmdep/__init__.py": "",
                                        "warmdep/sub.py": "VALUE = 1\n"})


def pycs(root):
    """{path relative to root: (mtime_ns, inode, size)} of every .pyc under root."""
    found = {}
    for folder, _, files in os.walk(str(root)):
        for name in files:
            if name.endswith(".pyc"):
                path = os.path.join(folder, name)
                info = os.stat(path)
                found[os.path.relpath(path, str(root))] = (
                    info.st_mtime_ns, info.st_ino, info.st_size)
    return found


def module_of(relative):
    """warmroot/__pycache__/inner.cpython-311.pyc -> warmroot.inner"""
    parts = relative.replace(os.sep, "/").split("/")
    stem = parts[-1].split(".")[0]
    parts = [p for p in parts[:-1] if p != "__pycache__"]
    return ".".join(parts + ([] if stem == "__init__" else [stem]))


def same_report(report, target):
    """What a report says, with the target's path made neutral."""
    return json.loads(json.dumps({
        "status": report["status"], "problems": report["problems"], "notes": report["notes"],
        "installed": [(i["name"], i["version"]) for i in report["installed"]]}).replace(
            str(target), "TARGET"))


def in_work(stop, work):
    """The stop file is the install's, in its work folder (bootstrap-XXXX/warm-stop)."""
    return os.path.basename(stop) == "warm-stop" and os.path.dirname(
        os.path.dirname(stop)) == str(work)


# -- 1. the warm job's worker is gone -----------------------------------------------------------

#: Appended to the worker's module code: a worker SIGKILLs itself as it receives the warm job.
DIES_AS_IT_WARMS = r'''
import signal as _test_signal


def _test_warm(modules, folders, stop):
    os.kill(os.getpid(), _test_signal.SIGKILL)


_WORKER_JOBS["warm"] = _test_warm
'''


class Walks(object):
    """The warm jobs run in this process (a worker's fallback: _WORKER_JOBS["warm"] here; a
    worker runs its own copy of the module), and each warm result that came back from a
    worker. ``ended`` is set when the walk here returns."""

    def __init__(self, patch):
        self.here, self.from_workers, self.stops = [], [], []
        self.ended = threading.Event()
        plain_walk, plain_outcome = bootstrap._WORKER_JOBS["warm"], bootstrap._worker_outcome

        def walk(modules, folders, stop):
            self.stops.append(stop)
            try:
                count = plain_walk(modules, folders, stop)
                self.here.append((list(modules), list(folders), stop, count))
                return count
            finally:
                self.ended.set()

        def outcome(value):
            result = plain_outcome(value)
            if isinstance(result, int):
                self.from_workers.append(result)
            return result
        patch.setitem(bootstrap._WORKER_JOBS, "warm", walk)
        patch.setattr(bootstrap, "_worker_outcome", outcome)


class TestWithoutAWorker:
    @pytest.fixture(autouse=True)
    def _setting(self, monkeypatch, tmp_path):
        # this process writes bytecode (as a user's does; TestWarming in test_smoke.py too),
        # and has a module the walk must leave alone on its path
        monkeypatch.setattr(sys, "dont_write_bytecode", False)
        outside = tmp_path / "outside"
        outside.mkdir()
        (outside / "warmoutside.py").write_text("VALUE = 3\n")
        monkeypatch.syspath_prepend(str(outside))  # sys.path is restored after the test
        before = set(sys.modules)
        yield
        for name in set(sys.modules) - before:  # a verifier that imported here
            if name.startswith(("warmroot", "warmdep", "warmoutside")):
                del sys.modules[name]

    def _install(self, tmp_path, name):
        target, work = tmp_path / ("target-" + name), tmp_path / ("work-" + name)
        report = bootstrap.install([str(tmp_path / "wheels")], require=["warmroot"],
                                   target=str(target), jobs=2, work_dir=str(work),
                                   progress=lambda *a: None)
        return report, target, work

    def _baseline(self, tmp_path, monkeypatch):
        """The report of the same install through live workers, without warming (its target
        is taken off sys.path again: the next install's import here must not find it)."""
        with monkeypatch.context() as patch:
            patch.setattr(sys, "path", list(sys.path))
            patch.setattr(bootstrap, "_WORKER_MEMBERS", 0)
            patch.setattr(bootstrap._Installer, "_start_warming", lambda self: None)
            report, target, _ = self._install(tmp_path, "baseline")
        assert report["status"] == "ok", report["problems"]
        return same_report(report, target)

    def _close_after(self, monkeypatch, event):
        """close() of the installer waits for ``event`` first (once warming started)."""
        plain = bootstrap._Installer.close

        def close(installer):
            if installer.warm_stop is not None:
                assert event.wait(WAIT), "the walk in this process never got there"
            plain(installer)
        monkeypatch.setattr(bootstrap._Installer, "close", close)

    def _dead_worker(self, monkeypatch, how):
        """Spy's start of workers for each way the warm job's worker is gone."""
        if how == "exits-at-once":
            return exits_at_once
        if how == "no-interpreter":
            return behind(os.path.join(os.sep, "nonexistent", "python3"))
        if how == "no-interpreter-for-any-child":
            # the verifier imports in this process too: as its subprocess would, it does not
            # find warmoutside (which it would compile: it is the import, not the walk)
            monkeypatch.setattr(sys, "executable", os.path.join(os.sep, "nonexistent", "py"))
            monkeypatch.setattr(sys, "path", [p for p in sys.path if not p.endswith("outside")])
            return None
        if how == "killed-as-it-warms":
            with open(BOOTSTRAP_PY) as f:
                code = compile(f.read() + DIES_AS_IT_WARMS, "<string>", "exec")
            monkeypatch.setattr(bootstrap, "_MODULE_CODE", code)
            return None
        # killed-before-warming: every worker is SIGKILLed as the warming starts; one started
        # after that (a pool thread that had no job yet) exits at once
        killed = []
        plain_start, plain_warming = bootstrap._start_worker, bootstrap._Installer._start_warming

        def start():
            return exits_at_once() if killed else plain_start()

        def start_warming(installer):
            for process in installer.workers.started:
                os.kill(process.pid, signal.SIGKILL)
                killed.append(process.pid)
            assert killed, "no worker was started before the warming"
            plain_warming(installer)
        monkeypatch.setattr(bootstrap._Installer, "_start_warming", start_warming)
        return start

    @pytest.mark.parametrize("how", [
        "exits-at-once", "no-interpreter", "no-interpreter-for-any-child",
        "killed-before-warming", "killed-as-it-warms"])
    def test_the_walk_runs_here_whole_and_the_report_is_the_same(
            self, tmp_path, make_wheel, monkeypatch, how):
        make_bundle(make_wheel)
        baseline = self._baseline(tmp_path, monkeypatch)
        outside = snapshot(str(tmp_path / "outside"), skip=())
        before = children()
        spy = Spy(monkeypatch, start=self._dead_worker(monkeypatch, how))
        walks = Walks(monkeypatch)
        self._close_after(monkeypatch, walks.ended)  # the walk here runs to its end
        report, target, work = self._install(tmp_path, how)
        assert same_report(report, target) == baseline
        assert walks.from_workers == []
        assert walks.here == [(["warmroot"], [str(target)], walks.stops[0], 5)]
        assert in_work(walks.stops[0], work)
        # what the verifier compiled (the import's modules) and what only the walk did
        assert sorted(module_of(p) for p in pycs(target)) == WALKED
        assert all(".opt-" not in path for path in pycs(target))
        assert snapshot(str(tmp_path / "outside"), skip=()) == outside
        assert_all_waited(spy, before)
        assert spy.started, "no worker was asked for"
        if how == "killed-as-it-warms":  # the one that was sent the warm job; the others end
            codes = sorted(p.returncode for p in spy.processes)
            assert codes == [-signal.SIGKILL] + [0] * (len(codes) - 1), codes

    def test_close_ends_the_walk_here_at_its_next_module(self, tmp_path, make_wheel,
                                                         monkeypatch):
        """The walk here is held at its second module until the stop file exists: close()
        writes it before it waits for the pool, and the walk stops there."""
        make_wheel("warmroot", "1.0", files=dict(
            [("warmroot/__init__.py", "".join("from . import m%d\n" % i for i in range(300)))]
            + [("warmroot/m%d.py" % i, "VALUE = %d\n" % i) for i in range(300)]))
        before = children()
        spy = Spy(monkeypatch, start=behind(os.path.join(os.sep, "nonexistent", "python3")))
        walks = Walks(monkeypatch)
        looked, second = [], threading.Event()
        plain_find = bootstrap._find_module

        def find_module(name, folders, specs):
            looked.append(name)
            if len(looked) == 2:
                second.set()
                for _ in range(60 * 100):  # bounds a hang only
                    if os.path.exists(walks.stops[0]):
                        break
                    time.sleep(0.01)
                else:
                    raise AssertionError("close() never wrote the stop file")
            return plain_find(name, folders, specs)
        monkeypatch.setattr(bootstrap, "_find_module", find_module)
        self._close_after(monkeypatch, second)
        report, target, _ = self._install(tmp_path, "held")
        assert report["status"] == "ok", report["problems"]
        assert looked == ["warmroot", "warmroot.m0"]
        assert [count for _, _, _, count in walks.here] == [2]
        assert_all_waited(spy, before)

    def test_no_walk_here_where_this_process_writes_no_bytecode(self, tmp_path, make_wheel,
                                                                monkeypatch):
        """PYTHONDONTWRITEBYTECODE (or -B) in the installing process: a walk here would
        compile and write nothing. The verifier still writes the import's bytecode."""
        make_bundle(make_wheel)
        baseline = self._baseline(tmp_path, monkeypatch)
        monkeypatch.setattr(sys, "dont_write_bytecode", True)
        before = children()
        spy = Spy(monkeypatch, start=behind(os.path.join(os.sep, "nonexistent", "python3")))
        walks = Walks(monkeypatch)
        looked, plain_find = [], bootstrap._find_module
        monkeypatch.setattr(bootstrap, "_find_module",
                            lambda *args: looked.append(args[0]) or plain_find(*args))
        self._close_after(monkeypatch, walks.ended)
        report, target, work = self._install(tmp_path, "dont-write")
        assert same_report(report, target) == baseline
        assert walks.from_workers == []
        assert walks.here == [(["warmroot"], [str(target)], walks.stops[0], 0)]
        assert in_work(walks.stops[0], work)
        assert looked == []
        assert sorted(module_of(p) for p in pycs(target)) == IMPORTED
        assert_all_waited(spy, before)


# -- 2. the flags that choose the .pyc ---------------------------------------------------------

#: Runs bootstrap.py's main (its source executed as a module, so that no .pyc of it is written)
#: with workers from the first member on; prints to stderr each warm count a worker sent back.
#: With WAIT_FOR_WARMING=1, close() waits for the walk's end (it is whole); with NO_WARMING=1
#: there is none.
DRIVER = r'''
import os, sys, threading
path = sys.argv[1]
namespace = {"__name__": "bootstrap_driven", "__file__": path}
with open(path) as f:
    exec(compile(f.read(), path, "exec"), namespace)
namespace["_WORKER_MEMBERS"] = 0
workers, installer = namespace["_ExtractionWorkers"], namespace["_Installer"]
plain_warm, plain_close = workers.warm, installer.close
plain_outcome = namespace["_worker_outcome"]
ended = threading.Event()


def warm(self, *args):
    try:
        return plain_warm(self, *args)
    finally:
        ended.set()


def close(self):
    if self.warm_stop is not None and os.environ.get("WAIT_FOR_WARMING") == "1":
        if not ended.wait(120):
            sys.stderr.write("WARMING-NEVER-ENDED\n")
    plain_close(self)


def worker_outcome(outcome):
    result = plain_outcome(outcome)
    if isinstance(result, int):
        sys.stderr.write("WARMED-BY-WORKER %d\n" % result)
    return result


workers.warm, installer.close = warm, close
if os.environ.get("NO_WARMING") == "1":
    installer._start_warming = lambda self: None
namespace["_worker_outcome"] = worker_outcome
sys.exit(namespace["main"](sys.argv[2:]))
'''

#: A fresh interpreter imports the modules named, from the folder first on its path; prints
#: each module it ran from there with the .pyc its loader reads (cache_from_source: its flags).
#: Then the probe: it imports warmprobe from a folder of its own (last on its path), and prints
#: whether that module's .pyc was there before, and after (whether it writes bytecode).
ORACLE = r'''
import importlib, importlib.util, json, os, sys
sys.path.insert(0, sys.argv[1])
folder = os.path.realpath(sys.argv[1])
for name in sys.argv[3:]:
    importlib.import_module(name)
ran = {}
for name, module in sorted(sys.modules.items()):
    source = getattr(module, "__file__", None)
    if source and source.endswith(".py") and os.path.realpath(source).startswith(
            folder + os.sep):
        ran[name] = importlib.util.cache_from_source(source)
probe = importlib.util.cache_from_source(os.path.join(sys.argv[2], "warmprobe.py"))
had = os.path.exists(probe)
sys.path.append(sys.argv[2])
import warmprobe
print(json.dumps({"ran": ran, "probe": [had, os.path.exists(probe)]}))
'''

#: name: (command-line flags, environment), {prefix} standing for a pycache prefix folder
FLAGS = {
    "O": (["-O"], {}),
    "OO": (["-OO"], {}),
    "OOO": (["-OOO"], {}),  # .opt-3.pyc: not -OO's
    "PYTHONOPTIMIZE": ([], {"PYTHONOPTIMIZE": "1"}),
    "pycache-prefix": (["-X", "pycache_prefix={prefix}"], {}),
    "PYTHONPYCACHEPREFIX": ([], {"PYTHONPYCACHEPREFIX": "{prefix}"}),
    "OO-and-pycache-prefix": (["-OO", "-X", "pycache_prefix={prefix}"], {}),
    "B": (["-B"], {}),
    # -E: the interpreter does not read them; its children's .pyc are still the ones it reads
    "E-with-PYTHONOPTIMIZE-and-a-prefix": (
        ["-E"], {"PYTHONOPTIMIZE": "1", "PYTHONPYCACHEPREFIX": "{prefix}"}),
    "PYTHONDONTWRITEBYTECODE": ([], {"PYTHONDONTWRITEBYTECODE": "1"}),
}
#: the name a .pyc ends with under each, and whether it goes under the prefix
SUFFIX = {"O": ".opt-1.pyc", "PYTHONOPTIMIZE": ".opt-1.pyc", "OO": ".opt-2.pyc",
          "OOO": ".opt-3.pyc", "OO-and-pycache-prefix": ".opt-2.pyc"}
PREFIXED = ("pycache-prefix", "PYTHONPYCACHEPREFIX", "OO-and-pycache-prefix")


def flagged(name, prefix):
    flags, env = FLAGS[name]
    return ([flag.format(prefix=prefix) for flag in flags],
            clean_env(**dict((k, v.format(prefix=prefix)) for k, v in env.items())))


def install_with(python, flags, env, bundle, target, work, require, wait, warming=True):
    env = dict(env, WAIT_FOR_WARMING="1" if wait else "0", NO_WARMING="0" if warming else "1")
    proc = run([python] + flags + ["-c", DRIVER, BOOTSTRAP_PY, "install", str(bundle),
                                   "--target", str(target), "--jobs", "2", "--json",
                                   "--work-dir", str(work)]
               + ["--require=" + name for name in require], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["status"] == "ok", report["problems"]
    assert "WARMING-NEVER-ENDED" not in proc.stderr
    warmed = [int(line.split()[1]) for line in proc.stderr.splitlines()
              if line.startswith("WARMED-BY-WORKER ")]
    if not warming:
        assert warmed == [], proc.stderr
        return report, None
    assert len(warmed) == 1, proc.stderr  # the walk ran in a worker, once
    return report, warmed[0]


def import_fresh(python, flags, env, target, modules):
    """({module: its .pyc} of what a fresh interpreter with ``flags`` ran from ``target``,
    [whether a module with no .pyc had one before its import, and after]: the probe, a new
    folder beside the target holding warmprobe.py)."""
    probe = tempfile.mkdtemp(prefix="probe-", dir=os.path.dirname(str(target)))
    with open(os.path.join(probe, "warmprobe.py"), "w") as f:
        f.write("VALUE = 0\n")
    proc = run([python] + flags + ["-c", ORACLE, str(target), probe] + list(modules), env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    return out["ran"], out["probe"]


def writing(flags, env):
    """``flags`` and ``env`` without -B and PYTHONDONTWRITEBYTECODE: they choose no .pyc, only
    whether one is written, so the interpreter reads the same .pyc, and rewrites a stale one."""
    return ([flag for flag in flags if flag != "-B"],
            dict((k, v) for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"))


def assert_warm_for(python, flags, env, target, caches, modules):
    """A fresh interpreter with the same flags imports ``modules``: every .pyc it reads was
    there before. One that writes bytecode (the same flags; under -B or
    PYTHONDONTWRITEBYTECODE, without them: writing()) imports them too, and rewrites none (nor
    writes another) under ``caches``: had a .pyc been stale (its source's mtime or size not
    the one it records), it would have rewritten it. That it would is checked first: it wrote
    the .pyc of the probe, a module that had none."""
    before = pycs(caches)
    ran, probe = import_fresh(python, flags, env, target, modules)
    assert ran, "nothing ran from %s" % target
    missing = sorted(name for name, cache in ran.items()
                     if os.path.relpath(cache, str(caches)) not in before)
    assert missing == [], "not compiled ahead: %s" % missing
    assert pycs(caches) == before
    writer_flags, writer_env = writing(flags, env)
    if (writer_flags, writer_env) != (flags, env):
        writer_ran, probe = import_fresh(python, writer_flags, writer_env, target, modules)
        assert writer_ran == ran  # the same modules, the same .pyc
        assert pycs(caches) == before, "rewritten (stale) by an interpreter that writes .pyc"
    assert probe == [False, True], "the interpreter checked writes no bytecode: %s %s" % (
        flags, probe)
    return ran


def warm_under(python, name, tmp_path, make_wheel):
    """The made bundle installed by ``python`` under the flags ``name``, the walk whole, in a
    worker; then the oracle: a fresh interpreter with the same flags."""
    make_bundle(make_wheel)
    prefix, target = tmp_path / "prefix", tmp_path / "target"
    flags, env = flagged(name, prefix)
    _, warmed = install_with(python, flags, env, tmp_path / "wheels", target,
                             tmp_path / "work", ["warmroot"], wait=True)
    assert warmed == len(WALKED)
    # under a prefix, the target's .pyc mirror its path (the prefix holds the standard
    # library's too)
    caches = (prefix / str(target).lstrip(os.sep)) if name in PREFIXED else target
    found = pycs(caches)
    assert sorted(module_of(path) for path in found) == WALKED
    for path in found:
        if name in SUFFIX:
            assert path.endswith(SUFFIX[name]), path
        else:
            assert ".opt-" not in path, path
    if name in PREFIXED:
        assert not [d for d, _, _ in os.walk(str(target)) if "__pycache__" in d]
    else:
        assert not os.path.exists(str(prefix))
    ran = assert_warm_for(python, flags, env, target, caches, ["warmroot", "warmroot.extra"])
    assert sorted(ran) == WALKED


class TestFlags:
    @pytest.mark.parametrize("name", sorted(FLAGS))
    def test_a_fresh_interpreter_with_the_same_flags_finds_its_bytecode(
            self, tmp_path, make_wheel, name):
        warm_under(sys.executable, name, tmp_path, make_wheel)

    @pytest.mark.parametrize("name", ["B", "PYTHONDONTWRITEBYTECODE",
                                      "E-with-PYTHONOPTIMIZE-and-a-prefix"])
    def test_the_verifier_alone_writes_the_imports_bytecode(self, tmp_path, make_wheel, name):
        """README, "Working, not just present": where the caller writes no bytecode, the
        verifying interpreter still does (no warming here: what is written is its)."""
        make_bundle(make_wheel)
        prefix, target = tmp_path / "prefix", tmp_path / "target"
        flags, env = flagged(name, prefix)
        install_with(sys.executable, flags, env, tmp_path / "wheels", target,
                     tmp_path / "work", ["warmroot"], wait=False, warming=False)
        assert sorted(module_of(path) for path in pycs(target)) == IMPORTED
        assert all(".opt-" not in path for path in pycs(target))
        assert not os.path.exists(str(prefix))
        ran = assert_warm_for(sys.executable, flags, env, target, target, ["warmroot"])
        assert sorted(ran) == IMPORTED

    @pytest.mark.parametrize("minor", ["3.8", "3.13"])
    def test_the_oldest_and_newest_python_under_OO_and_a_prefix(self, tmp_path, make_wheel,
                                                               minor):
        python = find_python(minor)
        if python is None:
            pytest.skip("no CPython %s on this machine (pyenv root, PATH)" % minor)
        warm_under(python, "OO-and-pycache-prefix", tmp_path, make_wheel)

    def test_bootstrap_py_itself_under_O_and_a_prefix_on_a_bundle_for_workers(
            self, tmp_path, make_wheel):
        """`python -O -X pycache_prefix=DIR bootstrap.py install` as a user runs it, no driver:
        a bundle of _WORKER_MEMBERS data files and more takes the worker path (its threshold is
        tests/test_workers.py TestWhenWorkers'). Whether the walk got anywhere before the
        verifier ended is not known here; whatever was written is the flags' .pyc."""
        make_bundle(make_wheel)
        files = dict(("warmdata/data/f%04d.txt" % i, "%d\n" % i)
                     for i in range(bootstrap._WORKER_MEMBERS))
        make_wheel("warmdata", "1.0", files=dict(files, **{"warmdata/__init__.py": ""}))
        prefix, target = tmp_path / "prefix", tmp_path / "target"
        flags = ["-O", "-X", "pycache_prefix=%s" % prefix]
        proc = run([sys.executable] + flags + [
            BOOTSTRAP_PY, "install", str(tmp_path / "wheels"), "--target", str(target),
            "--jobs", "2", "--json", "--require=warmroot", "--require=warmdata"])
        assert proc.returncode == 0, proc.stdout + proc.stderr
        report = json.loads(proc.stdout)
        assert report["status"] == "ok", report["problems"]
        assert not [d for d, _, _ in os.walk(str(target)) if "__pycache__" in d]
        caches = prefix / str(target).lstrip(os.sep)
        found = pycs(caches)
        assert set(module_of(path) for path in found) >= set(IMPORTED)
        assert all(path.endswith(".opt-1.pyc") for path in found), sorted(found)
        ran = assert_warm_for(sys.executable, flags, clean_env(), target, caches,
                              ["warmroot", "warmdata"])
        assert sorted(ran) == sorted(IMPORTED + ["warmdata"])

    def test_a_real_web_stack_under_O(self, tmp_path):
        if sys.version_info[:2] != (3, 11):
            pytest.skip("the bench-web wheels are cp311; this interpreter is %d.%d"
                        % sys.version_info[:2])
        bundle = realwheels.require_set("bench-web")
        roots = ["fastapi", "flask", "httpx", "requests", "sqlalchemy"]
        target = tmp_path / "target"
        flags, env = flagged("O", None)
        install_with(sys.executable, flags, env, bundle, target, tmp_path / "work", roots,
                     wait=False)
        found = pycs(target)
        assert found and all(path.endswith(".opt-1.pyc") for path in found), sorted(
            path for path in found if not path.endswith(".opt-1.pyc"))[:10]
        ran = assert_warm_for(sys.executable, flags, env, target, target, roots)
        assert set(roots) <= set(ran)
