"""Installs that the sandbox stops, not the wheel (bootstrap.py sections 6, 11 and 13): the
bootstrap CLI runs in a child process under a real resource limit (setrlimit in preexec_fn),
never a mock, through extraction threads and through extraction workers.

    TestFileSizeLimit   RLIMIT_FSIZE below a member's size: CPython ignores SIGXFSZ, so the
                        write fails with EFBIG (in a worker, the OSError crosses the pipe
                        pickled, errno and path kept)
    TestOpenFileLimit   RLIMIT_NOFILE from the lowest value at which bootstrap runs up to the
                        first at which the install succeeds: every failure on the way is the
                        sandbox's (EMFILE), never the upload's; its fix, raising the limit or
                        --jobs 1 where it cannot be raised, is run and works
    TestFileSizeLimitAndBytecode
                        every file fits under RLIMIT_FSIZE but a module's .pyc does not: no
                        bytecode is written (CPython would leave it cut short), the first
                        import works
    TestProcessLimit    RLIMIT_NPROC reached as an sdist's build starts (EAGAIN), as user
                        nobody: the limit is named, and the fix, run once it allows, installs
    TestPathTooLong     a --target so deep that a staged member's path passes PATH_MAX
                        (ENAMETOOLONG)
    TestMemoryLimit     RLIMIT_AS (`ulimit -v`): a root whose import needs more memory than
                        the limit leaves is import-failed as the sandbox's, never a wheel to
                        rebuild, and raising the limit (the fix, run verbatim) verifies it; a
                        scan of limits from where the interpreter cannot start to where the
                        install succeeds, through workers: every run ends (CPython's
                        Thread.start waits without end where a new thread cannot allocate its
                        start: none is started without room), and every failure is memory
                        with a fix made here, never a bug, a corrupt member or an upload
    TestInflateOutOfMemory
                        RLIMIT_AS reached as zlib allocates its window to inflate a member
                        (Z_MEM_ERROR, "Error -4"): memory, never a corrupt member; and where
                        the sandbox stays full, main() reports the next OSError (ENOMEM,
                        outside the installer) as the sandbox's too; each fix, run verbatim
                        where no interpreter starts, installs
    TestReportOutOfMemory
                        RLIMIT_AS reached as bootstrap encodes its JSON (the --json report,
                        the profile file): the indented encoding runs out of memory, and the
                        compact one, made once the failed attempt has let go of what it held,
                        is the same JSON (read back: equal to the run without the limit)
    TestIntake          the sandbox stops intake: EMFILE while it reads the uploads (a folder
                        of wheels, a .tar.gz), EFBIG while it extracts a .tar.gz (a limit that
                        can be raised, and one that cannot), a --work-dir on a full disk
                        (refused up front, and ENOSPC while extracting): not-writable, never
                        corrupt-archive, and the fix, run verbatim, installs

For each: the problem's code (not-writable), a message that names the cause (the errno, the
limit and its value, or the path's length), a fix made in the sandbox that never says to upload
again and whose command is bootstrap's own command line (after a `ulimit` at most: what only
the user can do is said apart, in `before`), exit code 1 (a failure of the sandbox, not of the
input: 2 is for input problems), the target tree exactly as it was, no staging folder left. The
fix is then run verbatim in a shell (`python bootstrap.py` being this interpreter and this
bootstrap.py, in the folder where the failing command ran), under the same limit (or, where
`before` asks for a larger one, without it), and the install must then equal pip's --target
tree. The worker path is proved taken by a driver that records, in the child, every worker
started and every outcome a worker sent back.
"""

import json
import os
import resource
import shutil
import subprocess
import sys

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from installkit import (  # noqa: E402
    BOOTSTRAP_DIR, BOOTSTRAP_PY, STAGING_DIR, clean_env, diff_trees, installed_versions,
    snapshot, strictly_complete)
import realwheels  # noqa: E402
from wheelmaker import make_wheel  # noqa: E402
from workerkit import pip_target, target_tree  # noqa: E402

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="resource limits as Linux sets them")

#: Runs bootstrap's main() as the CLI does, recording in this child which extraction workers
#: started and what each sent back ("done", "coded": a BootstrapError's fields, "raised": an
#: exception pickled), then prints them on stderr as one SPY line.
DRIVER = r'''
import json, sys
sys.dont_write_bytecode = True  # under a file-size limit, a .pyc would be cut short
sys.path.insert(0, sys.argv[1])
import bootstrap
started, outcomes = [], []
plain_start, plain_outcome = bootstrap._start_worker, bootstrap._worker_outcome


def start():
    process = plain_start()
    started.append(process is not None)
    return process


def outcome(value):
    outcomes.append(value[0])
    return plain_outcome(value)


bootstrap._start_worker, bootstrap._worker_outcome = start, outcome
code = bootstrap.main(sys.argv[2:])
sys.stderr.write("SPY %s\n" % json.dumps({"started": started, "outcomes": outcomes}))
sys.exit(code)
'''

BIG = 300 * 1024  # the largest member of bigpkg
JOBS = "2"  # two extraction threads, or two workers for a bundle past _WORKER_MEMBERS


def _limited(kind, soft, hard=None):
    """A preexec_fn setting resource limit ``kind`` to ``soft`` (``hard``: the hard limit too;
    default: left as it is, so that a fix may raise the soft one)."""
    def apply():
        current = resource.getrlimit(kind)
        resource.setrlimit(kind, (soft, current[1] if hard is None else hard))
    return apply


def _wheel(folder, name, count, big=True):
    files = dict(("%s/m%04d.py" % (name, i), "v = %d\n" % i) for i in range(count))
    if big:
        files[name + "/blob.bin"] = os.urandom(BIG)
    files[name + "/__init__.py"] = "def main():\n    return 0\n"
    return make_wheel(folder, name, "1.0", files=files, entry_points={
        "console_scripts": {name + "-cli": name + ":main"}})


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """threads: bigpkg (a 300 KB member, 20 modules, a console script), under
    _WORKER_MEMBERS; workers: manypkg, the same past it (2100 modules); several: three
    packages of 40 modules (for the open-file limit: threads writing at once); already: a
    package the target holds before each test."""
    import bootstrap
    base = tmp_path_factory.mktemp("limits")
    made = {"threads": base / "threads", "workers": base / "workers",
            "several": base / "several", "already": base / "already"}
    _wheel(made["threads"], "bigpkg", 20)
    _wheel(made["workers"], "manypkg", max(2100, bootstrap._WORKER_MEMBERS + 50))
    for name in ("alpha", "beta", "gamma"):
        _wheel(made["several"], name, 40, big=False)
    make_wheel(made["already"], "already", "1.0")
    return dict((key, str(value)) for key, value in made.items())


class Scene(object):
    """A sandbox's folders: cwd (bootstrap.py uploaded there), TMPDIR, and a --target that
    already holds a package and a file of the user's."""

    def __init__(self, root, bundles, target=None, preinstall=True):
        self.root = str(root)
        self.cwd = os.path.join(self.root, "cwd")
        self.tmp = os.path.join(self.root, "tmp")
        for folder in (self.cwd, self.tmp):
            os.makedirs(folder)
        os.symlink(BOOTSTRAP_PY, os.path.join(self.cwd, "bootstrap.py"))
        self.target = target or os.path.join(self.root, "target")
        os.makedirs(self.target, exist_ok=True)
        with open(os.path.join(self.target, "notes.txt"), "w") as f:
            f.write("the user's own file\n")
        if preinstall:
            proc = self.run([sys.executable, BOOTSTRAP_PY, "install", bundles["already"],
                             "--target", self.target, "--no-verify", "--json"])
            assert proc.returncode == 0, proc.stdout + proc.stderr
        self.before = snapshot(self.target)

    def env(self):
        env = clean_env(TMPDIR=self.tmp)
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        return env

    def run(self, cmd, limit=None, shell=False):
        return subprocess.run(cmd, cwd=self.cwd, env=self.env(), preexec_fn=limit, shell=shell,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=300)

    def install(self, bundle, limit, *args):
        """The install CLI through DRIVER, under ``limit``: (process, report or None, spy or
        None: no SPY line, the interpreter stopped before bootstrap ran)."""
        proc = self.run([sys.executable, "-c", DRIVER, BOOTSTRAP_DIR, "install", bundle,
                         "--target", self.target, "--no-verify", "--jobs", JOBS, "--json"]
                        + list(args), limit)
        spies = [line[4:] for line in proc.stderr.splitlines() if line.startswith("SPY ")]
        try:
            report = json.loads(proc.stdout)
        except ValueError:
            report = None
        return proc, report, json.loads(spies[0]) if spies else None

    def run_fix(self, fix, limit):
        """The fix's command, verbatim, in a shell in the same folder under the same limit."""
        assert fix["where"] == "sandbox", fix
        proc = self.run(fix["command"], limit, shell=True)
        assert proc.returncode == 0, (fix, proc.stdout[-3000:], proc.stderr[-3000:])
        return proc

    def assert_unchanged(self):
        after = snapshot(self.target)
        assert after == self.before, sorted(set(after) ^ set(self.before)) or [
            path for path in after if after[path] != self.before.get(path)]
        assert not os.path.exists(os.path.join(self.target, STAGING_DIR))

    def assert_only(self, names):
        """What the target held is as it was, each of ``names`` (what the report says it
        installed) is there whole, and nothing of any other package, nor a staging folder."""
        after = snapshot(self.target)
        assert [p for p in self.before if after.get(p) != self.before[p]] == []
        assert strictly_complete(self.target, before=set(
            os.path.join(self.target, p) for p in self.before)) == []
        tops = set(p.split("/")[0] for p in after if p not in self.before) - {"bin"}
        assert tops == set(n for name in names for n in (name, name + "-1.0.dist-info")), (
            sorted(tops), names)

    def assert_pip_tree(self, bundle, names, target=None):
        """``target`` (default: this scene's) holds what it held, as it was, and ``names``
        exactly as pip --target installs them from ``bundle``."""
        target = target or self.target
        after = snapshot(target)
        assert [p for p in self.before if after.get(p) != self.before[p]] == []
        oracle = os.path.join(self.root, "pip-target")
        pip_target(bundle, names, oracle)
        tree = dict((p, e) for p, e in target_tree(target).items() if p not in self.before)
        differences = diff_trees(target_tree(oracle), tree, "pip", "bootstrap")
        assert differences == [], "\n".join(differences)
        assert strictly_complete(target, before=set(
            os.path.join(target, p) for p in self.before)) == []


def _bootstrap_traceback(proc):
    """Whether a traceback went through bootstrap.py (at the lowest open-file limits, hashlib
    logs its own, importing _hashlib: the interpreter's, not bootstrap's)."""
    return 'bootstrap.py", line' in proc.stdout + proc.stderr


def _not_compiled(proc):
    """Whether CPython stopped compiling bootstrap.py, before running any of it: at a memory
    limit its tokenizer says SyntaxError (or MemoryError) with no traceback of frames (the
    file compiles: the same scan installs at a higher limit)."""
    lines = proc.stderr.strip().splitlines()
    return ("Traceback (most recent call last)" not in proc.stderr and bool(lines)
            and lines[-1].startswith(("SyntaxError", "MemoryError")))


def assert_refused(proc, report, wheel, words, errno):
    """One not-writable problem for ``wheel`` that names its cause (``words``, the errno's
    name); a fix in the sandbox that never says upload; exit code 1; nothing installed."""
    assert report is not None, proc.stderr[-3000:]
    assert not _bootstrap_traceback(proc), proc.stderr[-3000:]
    problems = report["problems"]
    assert [(p["code"], p["subject"]) for p in problems] == [("not-writable", wheel)], problems
    problem = problems[0]
    for word in words + [errno]:
        assert word in problem["message"], (word, problem)
    assert problem["errno"] == errno, problem
    assert problem["remedy"] == {"EFBIG": "file-size", "ENAMETOOLONG": "path-length"}[errno]
    assert "nothing of it was installed" in problem["message"], problem
    assert problem["fix"]["where"] == "sandbox", problem
    assert "upload" not in problem["fix"]["command"].lower(), problem
    assert report["installed"] == [], report
    assert proc.returncode == 1, (proc.returncode, problems)
    return problem


def _wheel_name(bundle):
    return sorted(os.listdir(bundle))[0]


class TestFileSizeLimit:
    @pytest.mark.parametrize("path", ["threads", "workers"])
    def test_efbig_is_the_limit_and_raising_it_installs(self, tmp_path, bundles, path):
        scene = Scene(tmp_path, bundles)
        limit = _limited(resource.RLIMIT_FSIZE, BIG // 2)
        proc, report, spy = scene.install(bundles[path], limit)
        problem = assert_refused(proc, report, _wheel_name(bundles[path]), [
            "RLIMIT_FSIZE", "ulimit -f", "%d bytes" % (BIG // 2), "blob.bin"], "EFBIG")
        if path == "workers":  # a worker wrote it, and sent the OSError back pickled
            assert spy["started"] and all(spy["started"]), spy
            assert "raised" in spy["outcomes"], spy
        else:
            assert spy["started"] == [], spy
        scene.assert_unchanged()
        assert problem["fix"]["command"].startswith("ulimit -f unlimited && python bootstrap.py "
                                                    "install "), problem
        scene.run_fix(problem["fix"], limit)
        scene.assert_pip_tree(bundles[path], ["bigpkg" if path == "threads" else "manypkg"])

    def test_a_hard_limit_says_so_and_never_upload(self, tmp_path, bundles):
        scene = Scene(tmp_path, bundles)
        proc, report, _ = scene.install(bundles["threads"], _limited(
            resource.RLIMIT_FSIZE, BIG // 2, BIG // 2))
        problem = assert_refused(proc, report, _wheel_name(bundles["threads"]),
                                 ["RLIMIT_FSIZE"], "EFBIG")
        fix = problem["fix"]
        assert fix["before"].startswith("ask for a sandbox with a larger file-size limit"), fix
        assert report["next_steps"] == ["In the sandbox: %s, then run: %s" % (
            fix["before"], fix["command"])], report["next_steps"]
        scene.assert_unchanged()
        scene.run_fix(fix, None)  # once the sandbox's limit allows it, the command installs
        scene.assert_pip_tree(bundles["threads"], ["bigpkg"])


#: A module whose bytecode is far larger than its source: 120 different string constants of
#: 4 KB each, folded by the compiler (~490 KB of .pyc from ~3 KB of source).
FOLDED = "".join('C%d = "%04d" * 1024\n' % (i, i) for i in range(120))


class TestFileSizeLimitAndBytecode:
    """Every file of the wheels fits under the limit, but one module's .pyc does not: CPython
    writes a .pyc cut short there (it does not check the write), and each later import of
    the module fails. With verification (and, past _WORKER_MEMBERS, the warming) on, the
    install writes no bytecode and says why; the user's first import, under the same limit,
    works (the oracle: a real import)."""

    @pytest.mark.parametrize("path", ["threads", "workers"])
    def test_no_bytecode_is_cut_short_and_the_first_import_works(self, tmp_path, bundles,
                                                                 path):
        bundle = tmp_path / "bundle"
        shutil.copytree(bundles[path], str(bundle))
        make_wheel(str(bundle), "folded", "1.0", files={"folded/__init__.py": FOLDED})
        scene = Scene(tmp_path / "scene", bundles)
        limit = _limited(resource.RLIMIT_FSIZE, 400 * 1024)  # > blob.bin (300 KB), < the .pyc
        proc = scene.run([sys.executable, "-c", DRIVER, BOOTSTRAP_DIR, "install", str(bundle),
                          "--target", scene.target, "--jobs", JOBS, "--json"], limit)
        report = json.loads(proc.stdout)
        assert proc.returncode == 0 and report["status"] == "ok", (proc.stderr[-3000:], report)
        spy = json.loads([line[4:] for line in proc.stderr.splitlines()
                          if line.startswith("SPY ")][0])
        assert bool(spy["started"]) is (path == "workers"), spy
        assert any("ulimit -f" in note and "PYTHONDONTWRITEBYTECODE" in note
                   for note in report["notes"]), report["notes"]
        assert [p for p in snapshot(scene.target, skip=()) if p.endswith(".pyc")] == []
        env = dict(scene.env(), PYTHONPATH=scene.target)  # no other PYTHON*: bytecode on
        imported = subprocess.run(
            [sys.executable, "-c", "import folded; print(len(folded.C119))"], env=env,
            preexec_fn=limit, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True)
        assert imported.returncode == 0 and imported.stdout.strip() == "4096", imported.stderr


class TestProcessLimit:
    """RLIMIT_NPROC reached as an sdist's build starts its process (EAGAIN). Root is not held
    to that limit, so the install runs as user nobody, with a venv of the system's Python (one
    nobody can run) that has the build backend (setuptools, wheel); the real jieba sdist.
    Processes can start here: the problem is build-failed, says which limit, and its fix is
    made in the sandbox (never another bundle); its command, run verbatim as nobody once the
    limit allows, installs jieba whole."""

    NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

    @pytest.fixture
    def place(self):
        if not hasattr(os, "geteuid") or os.geteuid() != 0:
            pytest.skip("needs root to run the install as user nobody")
        for tool in ("setpriv", "prlimit", "/usr/bin/python3"):
            if not shutil.which(tool):
                pytest.skip("%s is missing" % tool)
        import tempfile
        folder = tempfile.mkdtemp(prefix="sandbox-bootstrap-nproc-")
        try:
            os.chmod(folder, 0o777)
            venv = os.path.join(folder, "venv")
            made = subprocess.run(["/usr/bin/python3", "-m", "venv", venv],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if made.returncode != 0:
                pytest.skip("the system's Python makes no venv with pip: %s" % made.stdout[-200:])
            backend = realwheels.require_set("crcmod-build")
            subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pip", "install", "-q",
                            "--no-index", "--find-links", backend, "wheel"], check=True,
                           env=clean_env())
            sdist = os.path.join(realwheels.require_set("jieba-sdist"), "jieba-0.42.1.tar.gz")
            for source in (BOOTSTRAP_PY, sdist):
                shutil.copy(source, folder)
            subprocess.run(["chmod", "-R", "a+rwX", folder], check=True)
            yield folder, venv
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _as_nobody(self, place, command, nproc=None):
        folder, venv = place
        limit = []
        if nproc is not None:
            hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
            limit = ["prlimit", "--nproc=%d:%s" % (nproc, "unlimited" if hard ==
                                                   resource.RLIM_INFINITY else hard)]
        env = ["env", "-i", "HOME=" + folder,
               "PATH=%s:/usr/bin:/bin" % os.path.join(venv, "bin")]
        return subprocess.run(limit + self.NOBODY + env + command, cwd=folder,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=300)

    def test_the_limit_is_named_and_the_fix_installs(self, place):
        folder, venv = place
        target = os.path.join(folder, "target")
        python = os.path.join(venv, "bin", "python")
        alone = self._as_nobody(place, [python, "-c", "pass"], nproc=1)
        if alone.returncode != 0:  # nobody already runs processes on this machine
            pytest.skip("no interpreter starts as nobody at one process: %s"
                        % alone.stderr[-300:])
        proc = self._as_nobody(place, [python, "bootstrap.py", "install", "jieba-0.42.1.tar.gz",
                                       "--target", target, "--no-verify", "--json"], nproc=1)
        report = json.loads(proc.stdout)
        assert proc.returncode == 1, (proc.stderr[-2000:], report)
        [problem] = report["problems"]
        assert problem["code"] == "build-failed", problem
        for said in ("RLIMIT_NPROC", "ulimit -u", "EAGAIN", "jieba-0.42.1.tar.gz"):
            assert said in problem["message"], (said, problem)
        fix = problem["fix"]
        assert fix["where"] == "sandbox" and "upload" not in fix["command"], fix
        assert "RLIMIT_NPROC" in fix["before"], fix
        assert report["next_steps"] == ["In the sandbox: %s, then run: %s" % (
            fix["before"], fix["command"])], report["next_steps"]
        assert not os.path.isdir(target) or installed_versions(target) == {}
        done = self._as_nobody(place, ["sh", "-c", fix["command"]])
        assert done.returncode == 0, (fix, done.stdout[-2000:], done.stderr[-2000:])
        assert installed_versions(target) == {"jieba": "0.42.1"}
        assert strictly_complete(target) == []


class TestOpenFileLimit:
    def _scan(self, tmp_path, bundles, path, hard=False):
        """Install ``path``'s bundle under RLIMIT_NOFILE = n, from the least n at which
        bootstrap runs until one succeeds: [(n, report, spy)] of the failures."""
        failures = []
        for n in range(4, 64):
            scene = Scene(tmp_path / ("n%d" % n), bundles, preinstall=False)
            limit = _limited(resource.RLIMIT_NOFILE, n, n if hard else None)
            proc, report, spy = scene.install(bundles[path], limit)
            scene.spy = spy
            if spy is None:  # main() never returned: the interpreter could not start or
                # import bootstrap, or its C runtime aborted (3.8: "libgcc_s.so.1 must be
                # installed for pthread_exit to work", when a thread exits at the limit)
                assert report is None and not _bootstrap_traceback(proc), proc.stderr[-2000:]
                continue
            assert report is not None and not _bootstrap_traceback(proc), proc.stderr[-3000:]
            if proc.returncode == 0:
                assert report["status"] == "ok" and report["problems"] == [], report
                assert strictly_complete(scene.target, before={
                    os.path.join(scene.target, "notes.txt")}) == []
                return failures, scene
            assert proc.returncode == 1, (n, proc.returncode, report["problems"])
            installed = [item["name"] for item in report["installed"]]
            for problem in report["problems"]:
                assert problem["code"] == "not-writable", (n, problem)
                assert "EMFILE" in problem["message"], (n, problem)
                assert "RLIMIT_NOFILE" in problem["message"], (n, problem)
                assert "is %d" % n in problem["message"], (n, problem)
                assert_runnable(problem["fix"])
            scene.assert_only(installed)
            failures.append((n, report, spy, scene, limit))
        raise AssertionError("no RLIMIT_NOFILE below 64 let the install succeed")

    def test_every_failure_is_the_limit_and_raising_it_installs(self, tmp_path, bundles):
        path = "several"
        failures, _ = self._scan(tmp_path, bundles, path)
        installing = [f for f in failures if any(
            "could not be installed" in p["message"] for p in f[1]["problems"])]
        assert installing, [f[1]["problems"] for f in failures]
        n, report, spy, scene, limit = installing[-1]
        assert spy["started"] == [], spy
        problem = [p for p in report["problems"] if "could not be installed" in p["message"]][0]
        assert problem["fix"]["command"].startswith("ulimit -n %d && python bootstrap.py "
                                                    % resource.getrlimit(
                                                        resource.RLIMIT_NOFILE)[1]), problem
        scene.run_fix(problem["fix"], limit)
        scene.assert_pip_tree(bundles[path], sorted(
            name.split("-")[0] for name in os.listdir(bundles[path])))

    def test_workers_every_failure_is_the_limit(self, tmp_path, bundles):
        """A bundle past _WORKER_MEMBERS: below the open-file limit at which the install runs
        through workers, each value fails as the sandbox's (EMFILE) or installs in threads
        (a worker that cannot start leaves its thread to extract)."""
        failures, scene = self._scan(tmp_path, bundles, "workers")
        assert failures, "the least limit at which bootstrap runs must fail"
        # the install that succeeded took the worker path: it tried to start workers
        assert scene.spy["started"], scene.spy
        scene.assert_pip_tree(bundles["workers"], ["manypkg"])

    def test_where_the_limit_cannot_be_raised_jobs_1_installs(self, tmp_path, bundles):
        failures, _ = self._scan(tmp_path, bundles, "several", hard=True)
        installing = [f for f in failures if any(
            "could not be installed" in p["message"] for p in f[1]["problems"])]
        assert installing, [f[1]["problems"] for f in failures]
        n, report, spy, scene, limit = installing[-1]
        problem = [p for p in report["problems"] if "could not be installed" in p["message"]][0]
        assert problem["fix"]["command"].startswith("python bootstrap.py install "), problem
        assert problem["fix"]["command"].endswith(" --jobs 1"), problem
        scene.run_fix(problem["fix"], limit)
        assert strictly_complete(scene.target, before={
            os.path.join(scene.target, "notes.txt")}) == []
        assert sorted(d for d in os.listdir(scene.target) if d.endswith(".dist-info")) == [
            "alpha-1.0.dist-info", "beta-1.0.dist-info", "gamma-1.0.dist-info"]
        scene.assert_pip_tree(bundles["several"], ["alpha", "beta", "gamma"])


#: What importing hungry allocates: more than TIGHT leaves, as a large library's import does.
HUNGRY_BYTES = 256 * 1024 * 1024
#: An address-space limit at which bootstrap itself runs (without threads: too little room).
TIGHT = 160 * 1024 * 1024


@pytest.fixture(scope="module")
def hungry(tmp_path_factory):
    """hungry (its import allocates HUNGRY_BYTES) and calm, a plain package."""
    folder = tmp_path_factory.mktemp("hungry")
    make_wheel(folder, "hungry", "1.0", files={
        "hungry/__init__.py": "BUFFER = bytearray(%d)\n" % HUNGRY_BYTES})
    make_wheel(folder, "calm", "1.0")
    return str(folder)


class TestMemoryLimit:
    def _install(self, scene, bundle, limit, *requires):
        words = [word for name in requires for word in ("--require", name)]
        proc = scene.run([sys.executable, "bootstrap.py", "install", bundle, "--target",
                          scene.target, "--json"] + words, limit)
        try:
            return proc, json.loads(proc.stdout)
        except ValueError:
            return proc, None

    def _import_hungry(self, scene, limit):
        """``import hungry`` from the target, in a fresh interpreter under ``limit``."""
        return subprocess.run([sys.executable, "-c", "import hungry"], env=dict(
            scene.env(), PYTHONPATH=scene.target), preexec_fn=limit, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, universal_newlines=True, timeout=120)

    def _assert_memory_problem(self, proc, report):
        assert report is not None and not _bootstrap_traceback(proc), proc.stderr[-3000:]
        assert proc.returncode == 1, (proc.returncode, report["problems"])
        assert report["status"] == "partial", report
        assert sorted(i["name"] for i in report["installed"]) == ["calm", "hungry"], report
        problems = report["problems"]
        assert [(p["code"], p["subject"]) for p in problems] == [
            ("import-failed", "hungry")], problems
        problem = problems[0]
        assert problem["remedy"] == "memory", problem
        assert "MemoryError" in problem["message"], problem
        assert "needs more memory than this sandbox gives" in problem["message"], problem
        assert "upload" not in json.dumps(problem["fix"]).lower(), problem
        assert_runnable(problem["fix"])
        return problem

    def test_an_import_past_the_limit_is_the_sandboxs_and_raising_it_verifies(
            self, tmp_path, hungry):
        scene = Scene(tmp_path, {}, preinstall=False)
        limit = _limited(resource.RLIMIT_AS, TIGHT)
        proc, report = self._install(scene, hungry, limit, "hungry", "calm")
        problem = self._assert_memory_problem(proc, report)
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        raised = "unlimited" if hard == resource.RLIM_INFINITY else str(hard // 1024)
        assert problem["fix"]["command"].startswith(
            "ulimit -v %s && python bootstrap.py install " % raised), problem
        # the oracle: the limit, not the wheel, stops the import
        under = self._import_hungry(scene, limit)
        assert under.returncode != 0 and "MemoryError" in under.stderr, under.stderr
        assert self._import_hungry(scene, None).returncode == 0
        fixed = scene.run_fix(problem["fix"], limit)
        assert fixed.stdout.startswith("install: OK"), fixed.stdout[-3000:]

    def test_a_hard_limit_says_so_and_the_same_install_verifies_once_it_allows(
            self, tmp_path, hungry):
        scene = Scene(tmp_path, {}, preinstall=False)
        limit = _limited(resource.RLIMIT_AS, TIGHT, TIGHT)
        proc, report = self._install(scene, hungry, limit, "hungry", "calm")
        problem = self._assert_memory_problem(proc, report)
        assert "more memory" in problem["fix"]["before"], problem
        assert problem["fix"]["command"].startswith("python bootstrap.py install "), problem
        fixed = scene.run_fix(problem["fix"], None)
        assert fixed.stdout.startswith("install: OK"), fixed.stdout[-3000:]

    def test_a_scan_of_limits_through_workers_ends_and_blames_only_memory(
            self, tmp_path, bundles):
        outcomes = []
        for megabytes in range(30, 200, 10):
            scene = Scene(tmp_path / ("as%d" % megabytes), bundles, preinstall=False)
            limit = _limited(resource.RLIMIT_AS, megabytes * 1024 * 1024)
            proc, report = self._install(scene, bundles["workers"], limit)  # ends, or raises
            if report is None:  # the interpreter could not start, or compile bootstrap.py
                assert proc.returncode != 0, (megabytes, proc.stderr[-3000:])
                assert not _bootstrap_traceback(proc) or _not_compiled(proc), (
                    megabytes, proc.stderr[-3000:])
                outcomes.append((megabytes, "no-interpreter"))
                continue
            assert not _bootstrap_traceback(proc), (megabytes, proc.stderr[-3000:])
            if proc.returncode == 0:
                assert report["status"] == "ok" and report["problems"] == [], report
                scene.assert_pip_tree(bundles["workers"], ["manypkg"])
                outcomes.append((megabytes, "ok"))
                continue
            assert proc.returncode == 1, (megabytes, proc.returncode, report["problems"])
            for problem in report["problems"]:
                assert problem.get("remedy") == "memory", (megabytes, problem)
                assert "upload" not in json.dumps(problem["fix"]).lower(), problem
                assert_runnable(problem["fix"])
            installed = [item["name"] for item in report["installed"]]
            if report["problems"][0]["code"] == "not-writable":
                scene.assert_only(installed)
            outcomes.append((megabytes, "memory"))
        kinds = [kind for _, kind in outcomes]
        assert "memory" in kinds and kinds[-1] == "ok", outcomes


def _deep_folder(base, length):
    """A folder made under ``base`` whose path is ``length`` characters long."""
    path = str(base)
    while length - len(path) > 250:
        path = os.path.join(path, "d" * 200)
    path = os.path.join(path, "e" * (length - len(path) - 1))
    assert len(path) == length, len(path)
    os.makedirs(path)
    return path


class TestPathTooLong:
    @pytest.mark.parametrize("path", ["threads", "workers"])
    def test_enametoolong_is_the_path_and_a_shorter_target_installs(self, tmp_path, bundles,
                                                                     path):
        name = "bigpkg" if path == "threads" else "manypkg"
        path_max = os.pathconf(str(tmp_path), "PC_PATH_MAX")
        staging = len("/%s/%s-1.0/purelib" % (STAGING_DIR, name))
        # the staging folder and its purelib fit; purelib/NAME does not
        target = _deep_folder(tmp_path / "deep", path_max - staging - 2)
        scene = Scene(tmp_path, bundles, target=target, preinstall=False)
        proc, report, spy = scene.install(bundles[path], None)
        problem = assert_refused(proc, report, _wheel_name(bundles[path]), [
            "PATH_MAX", "%d (PATH_MAX)" % path_max, "characters"], "ENAMETOOLONG")
        if path == "workers":
            assert spy["started"] and all(spy["started"]), spy
            assert "raised" in spy["outcomes"], spy
        else:
            assert spy["started"] == [], spy
        scene.assert_unchanged()
        command = problem["fix"]["command"]
        assert command.startswith("python bootstrap.py install ") and target not in command, \
            problem
        scene.run_fix(problem["fix"], None)
        short = command.split("--target ")[1].split(" ")[0]
        assert short.startswith(str(tmp_path)), command  # TMPDIR or the cwd: never elsewhere
        scene.before = {}
        scene.assert_pip_tree(bundles[path], [name], target=short)


def _tar_gz(tmp_path, folder):
    """A .tar.gz of ``folder`` made by GNU tar, in ``tmp_path``."""
    upload = str(tmp_path / (os.path.basename(folder) + ".tar.gz"))
    subprocess.run(["tar", "-czf", upload, "-C", os.path.dirname(folder),
                    os.path.basename(folder)], check=True)
    return upload


def assert_runnable(fix):
    """A sandbox fix whose command a shell runs as it is: bootstrap's own command line, after
    a `ulimit` at most; what only the user can do is said apart, in ``before``."""
    import shlex

    import bootstrap
    assert fix["where"] == "sandbox", fix
    words = shlex.split(fix["command"])
    if words[0] == "ulimit":
        assert words[1] in ("-n", "-f", "-v") and words[3] == "&&", fix
        words = words[4:]
    assert words[:2] == ["python", "bootstrap.py"], fix
    bootstrap._build_parser(words[2]).parse_args(words[2:])  # bootstrap's own command line


class TestIntake:
    """The sandbox stops intake (reading the uploads, extracting an archive into the work
    folder): not-writable, and a fix that is the same install changed so that it works (the
    limit raised first, another --work-dir), run verbatim under the same limit."""

    @pytest.mark.parametrize("form", ["folder", "tar.gz"])
    def test_emfile_reading_the_uploads_is_not_a_corrupt_archive(self, tmp_path, bundles,
                                                                  form):
        """The least RLIMIT_NOFILE at which bootstrap runs fails while it reads the uploads;
        with a bundle of three wheels, each one at every value up to success. The fix of the
        first and of the last value that failed reading, run verbatim, installs."""
        upload = bundles["several"]
        if form == "tar.gz":
            upload = _tar_gz(tmp_path, bundles["several"])
        reading = []
        for n in range(4, 64):
            scene = Scene(tmp_path / ("n%d" % n), bundles, preinstall=False)
            proc, report, spy = scene.install(upload, _limited(resource.RLIMIT_NOFILE, n))
            if spy is None:
                continue
            assert report is not None and not _bootstrap_traceback(proc), proc.stderr[-3000:]
            codes = set(p["code"] for p in report["problems"])
            assert codes <= {"not-writable"}, (n, report["problems"])
            if proc.returncode == 0:
                break
            assert proc.returncode == 1, (n, report["problems"])
            for problem in report["problems"]:
                assert_runnable(problem["fix"])
            reading.extend((p, scene, n) for p in report["problems"]
                           if " while reading " in p["message"]
                           or " while extracting " in p["message"])
            scene.assert_only([item["name"] for item in report["installed"]])
        else:
            raise AssertionError("no RLIMIT_NOFILE below 64 let the install succeed")
        assert reading, "no RLIMIT_NOFILE failed while reading the uploads"
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        for problem, _, _ in reading:
            assert "RLIMIT_NOFILE" in problem["message"] and "EMFILE" in problem["message"]
            assert (problem["errno"], problem["remedy"]) == ("EMFILE", "open-files"), problem
            assert problem["fix"]["command"].startswith(
                "ulimit -n %d && python bootstrap.py install " % hard), problem
        for problem, scene, n in [reading[0]] + [r for r in reading[-1:] if r[2] != reading[0][2]]:
            scene.run_fix(problem["fix"], _limited(resource.RLIMIT_NOFILE, n))
            scene.assert_pip_tree(bundles["several"], ["alpha", "beta", "gamma"])

    @pytest.mark.parametrize("hard", [False, True], ids=["soft", "hard"])
    def test_efbig_extracting_an_archive_and_its_fix_installs(self, tmp_path, bundles, hard):
        """A .tar.gz whose wheel is larger than RLIMIT_FSIZE: extracting it into the work
        folder fails (EFBIG). Its fix raises the limit first (run verbatim under the same
        limit), or, where the hard limit is that low, says so in ``before`` and is the same
        install (run once the limit allows it)."""
        upload = _tar_gz(tmp_path, bundles["threads"])
        scene = Scene(tmp_path / "scene", bundles)
        limit = _limited(resource.RLIMIT_FSIZE, BIG // 2, BIG // 2 if hard else None)
        proc, report, _ = scene.install(upload, limit)
        assert proc.returncode == 1 and not _bootstrap_traceback(proc), proc.stderr[-3000:]
        [problem] = report["problems"]
        assert problem["code"] == "not-writable", problem
        for said in ("while extracting", "RLIMIT_FSIZE", "%d bytes" % (BIG // 2), "EFBIG"):
            assert said in problem["message"], (said, problem)
        fix = problem["fix"]
        assert_runnable(fix)
        scene.assert_unchanged()
        if hard:
            assert fix["before"].startswith("ask for a sandbox with a larger file-size limit")
            assert fix["command"].startswith("python bootstrap.py install "), fix
            limit = None
        else:
            assert "before" not in fix, fix
            assert fix["command"].startswith("ulimit -f unlimited && python bootstrap.py "
                                             "install "), fix
        scene.run_fix(fix, limit)
        scene.assert_pip_tree(bundles["threads"], ["bigpkg"])

    @pytest.mark.parametrize("padding", ["random", "zeros"])
    def test_a_full_work_folder_and_another_work_dir_installs(self, tmp_path, bundles,
                                                               padding):
        """--work-dir on a disk too small for the extracted upload (a 1 MB tmpfs): not-writable
        (space), refused up front where the .tar.gz itself is larger than the free space
        (random padding), met while extracting where it is not (zeros: ENOSPC). Its fix is the
        same install with another --work-dir, on another disk, where the work folder is made
        and removed again; run verbatim, it installs."""
        if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("mount"):
            pytest.skip("mounting a small tmpfs needs root")
        if os.path.isdir("/mnt/data"):  # the fix would name /mnt/data/bootstrap-work first
            pytest.skip("this machine has a /mnt/data of its own")
        small = tmp_path / "small"
        small.mkdir()
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1M", "tmpfs", str(small)]
                          ).returncode != 0:
            pytest.skip("cannot mount a tmpfs here")
        try:
            folder = tmp_path / "uploads" / "bundle"
            shutil.copytree(bundles["threads"], str(folder))
            with open(str(folder / "padding.bin"), "wb") as f:  # 2 MB more to extract
                f.write(os.urandom(2 << 20) if padding == "random" else b"\0" * (2 << 20))
            upload = _tar_gz(tmp_path, str(folder))
            scene = Scene(tmp_path / "scene", bundles)
            proc, report, _ = scene.install(upload, None, "--work-dir", str(small))
            assert proc.returncode == 1 and not _bootstrap_traceback(proc), proc.stderr[-3000:]
            [problem] = report["problems"]
            assert problem["code"] == "not-writable" and problem["remedy"] == "space", problem
            assert ("MB free" if padding == "random" else "ENOSPC") in problem["message"], \
                problem
            fix = problem["fix"]
            assert_runnable(fix)
            assert "before" not in fix, fix
            assert os.listdir(str(small)) == []
            scene.assert_unchanged()
        finally:
            subprocess.run(["umount", str(small)])
        work = fix["command"].split("--work-dir ")[1].split(" ")[0]
        assert work == os.path.join(scene.cwd, "bootstrap-work"), fix  # the first writable
        scene.run_fix(fix, None)
        scene.assert_pip_tree(bundles["threads"], ["bigpkg"])
        assert os.listdir(work) == []


class TestRerun:
    """A fix repeats the command it fixes: the same uploads and options, with only what the
    fix changes (--target, --jobs, --work-dir, an intake limit): an install's, a check's, and
    main's own command line (its argv). Oracle: bootstrap's own command-line parser."""

    ARGS = ["install", "bundle.tar.gz", "my uploads/extra.whl", "--require", "a>=1",
            "--require", "b; python_version > '3'", "--target", "/t", "--budget", "30",
            "--work-dir", "/w w", "--jobs", "3", "--upgrade", "--no-verify",
            "--max-members", "99", "--max-nesting", "2", "--max-upload-size", "1000"]
    CHECK = ["check", "bundle.tar.gz", "my uploads/extra.whl", "--require", "a>=1",
             "--profile", "sandbox profile.json", "--work-dir", "/w w", "--upgrade",
             "--max-members", "99", "--max-nesting", "2", "--max-upload-size", "1000"]
    CHANGES = [{}, {"jobs": 1}, {"target": "/x y/python-packages"},
               {"work_dir": "/x y/bootstrap-work"}, {"limit": ("--max-members", "400")},
               {"limit": ("--max-upload-size", "1.5G")}]
    IDS = ["same", "jobs", "target", "work_dir", "members", "size"]

    @staticmethod
    def _parse(words):
        import bootstrap
        return vars(bootstrap._build_parser(words[0]).parse_args(words))

    def _assert_repeats(self, command, args, changes):
        import shlex
        words = shlex.split(command)
        assert words[:2] == ["python", "bootstrap.py"], words
        limit = list(changes.get("limit", ()))  # the option as the user would add it
        changes = dict((key, value) for key, value in changes.items() if key != "limit")
        assert self._parse(words[2:]) == dict(self._parse(args + limit), **changes)

    @pytest.mark.parametrize("changes", CHANGES, ids=IDS)
    def test_the_fix_repeats_every_option(self, changes):
        import bootstrap
        args = bootstrap._build_parser("install").parse_args(self.ARGS)
        rerun = bootstrap._install_rerun(args.bundles, bootstrap._install_options(
            args.require, args.target, args.overlay, args.upgrade, args.budget, args.work_dir,
            not args.no_verify, args.jobs, bootstrap._limits_of(args)))
        self._assert_repeats(rerun(**changes), self.ARGS, changes)

    @pytest.mark.parametrize("changes", [{}, {"work_dir": "/x y/bootstrap-work"},
                                         {"limit": ("--max-nesting", "8")}],
                             ids=["same", "work_dir", "nesting"])
    def test_a_checks_fix_repeats_the_check(self, changes):
        import bootstrap
        args = bootstrap._build_parser("check").parse_args(self.CHECK)
        rerun = bootstrap._check_rerun(args.bundles, args.require, args.profile, args.upgrade,
                                       args.work_dir, bootstrap._limits_of(args))
        self._assert_repeats(rerun(**changes), self.CHECK, changes)

    @pytest.mark.parametrize("changes", CHANGES, ids=IDS)
    def test_mains_fix_repeats_its_argv(self, changes):
        """What main() saw, options written `--flag=value` too (_limit_problem's fix)."""
        import bootstrap
        argv = ["install", "--target=/t", "--jobs=3", "bundle.tar.gz", "--work-dir=/w w",
                "--json"]
        self._assert_repeats(bootstrap._rerun_command(argv)(**changes), argv, changes)

    def test_a_notebook_reads_the_work_dir_of_a_fix(self):
        """Where the user is in a notebook, a fix's --work-dir is the call's work_dir."""
        import bootstrap
        command = bootstrap._check_rerun(["b.tar.gz"], None, None, False, None, None)(
            work_dir="/x y/bootstrap-work")
        assert bootstrap._phrase_command(command[len("python bootstrap.py "):], "notebook") \
            == "bootstrap.check(['b.tar.gz'], work_dir='/x y/bootstrap-work')"


#: DRIVER's twin for a memory limit met inside zlib: runs main() as the CLI does and, at the
#: first zlib inflater made for a member being extracted (_extract_members is on the stack),
#: sets RLIMIT_AS (soft) to the address space this process has, then takes every block of the
#: heap that would hold zlib's 32 KB window (bytes of 32 KB less a little, until MemoryError):
#: the inflater's first decompress must allocate its window and cannot, a real ENOMEM inside
#: zlib (Z_MEM_ERROR, "Error -4"). Nothing of bootstrap is replaced: the inflater is wrapped
#: only to record zlib's own error. sys.argv[2]: "release" lets go of the blocks as zlib fails
#: (the failing step's memory comes back as it unwinds), "hold" keeps them to the end (the
#: sandbox stays full: whatever bootstrap does next meets the limit too). Prints
#: SPY {"armed": 0|1, "zlib": [zlib's errors]} on stderr.
ZLIB_DRIVER = r'''
import json, os, resource, sys, zlib
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
import bootstrap
mode, plain, held = sys.argv[2], zlib.decompressobj, []
seen = {"armed": 0, "zlib": []}


class Inflater(object):
    def __init__(self, real):
        self.real = real

    def decompress(self, *args):
        try:
            return self.real.decompress(*args)
        except zlib.error as error:
            seen["zlib"].append(str(error))
            if mode == "release":
                del held[:]
            raise

    def flush(self, *args):
        return self.real.flush(*args)

    @property
    def unconsumed_tail(self):
        return self.real.unconsumed_tail


def extracting():
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_name != "_extract_members":
        frame = frame.f_back
    return frame is not None


def decompressobj(*args):
    real = plain(*args)
    if seen["armed"] or not extracting():
        return real
    seen["armed"] = 1
    with open("/proc/self/statm") as f:
        size = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (size, resource.getrlimit(resource.RLIMIT_AS)[1]))
    try:
        while True:
            held.append(bytes(32 * 1024 - 64))
    except MemoryError:
        pass
    return Inflater(real)


zlib.decompressobj = decompressobj
code = bootstrap.main(sys.argv[3:])
sys.stderr.write("SPY %s\n" % json.dumps(seen))
sys.exit(code)
'''

#: A soft RLIMIT_AS under which no CPython starts (the fix's `ulimit -v` must raise it first).
STARVED = 30 * 1024 * 1024


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """small: a package of a few small deflated modules (each read whole, not streamed)."""
    folder = tmp_path_factory.mktemp("small")
    files = dict(("small/m%02d.py" % i, "v = %d\n" % i * 40) for i in range(5))
    files["small/__init__.py"] = "X = 1\n" * 50
    make_wheel(folder, "small", "1.0", files=files)
    return str(folder)


class TestInflateOutOfMemory:
    """zlib cannot allocate its window while bootstrap inflates a wheel's member, under a real
    RLIMIT_AS (ZLIB_DRIVER): its Z_MEM_ERROR ("Error -4 while decompressing data") is the
    sandbox's memory, never a corrupt member nor a bug. The fix raises the limit (`ulimit -v`)
    and, run verbatim under a limit at which no interpreter starts, installs what pip
    installs."""

    def _install(self, scene, bundle, mode):
        proc = scene.run([sys.executable, "-c", ZLIB_DRIVER, BOOTSTRAP_DIR, mode, "install",
                          bundle, "--target", scene.target, "--no-verify", "--jobs", "1",
                          "--json"])
        spies = [line[4:] for line in proc.stderr.splitlines() if line.startswith("SPY ")]
        assert spies, proc.stderr[-3000:]
        spy = json.loads(spies[0])
        assert spy["armed"] == 1 and spy["zlib"] == ["Error -4 while decompressing data"], spy
        assert proc.returncode == 1 and not _bootstrap_traceback(proc), proc.stderr[-3000:]
        return json.loads(proc.stdout)  # valid JSON, even where the process stayed full

    def _fix_installs(self, scene, fix, bundle):
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        raised = "unlimited" if hard == resource.RLIM_INFINITY else str(hard // 1024)
        prefix = "ulimit -v %s && " % raised
        assert fix["command"].startswith(prefix + "python bootstrap.py install "), fix
        assert_runnable(fix)
        starved = _limited(resource.RLIMIT_AS, STARVED)
        # the oracle: without raising the limit, the same command cannot even start
        alone = scene.run(fix["command"][len(prefix):], starved, shell=True)
        assert alone.returncode != 0 and not _bootstrap_traceback(alone), alone.stdout[-2000:]
        scene.run_fix(fix, starved)
        scene.assert_pip_tree(bundle, ["small"])
        # nothing left behind: no work folder in TMPDIR, nothing in the cwd but bootstrap.py,
        # beside the target only its activation file (and pip's tree, the oracle's)
        assert os.listdir(scene.tmp) == [] and os.listdir(scene.cwd) == ["bootstrap.py"]
        assert sorted(os.listdir(scene.root)) == ["cwd", "pip-target", "target",
                                                  "target-activate.pth", "tmp"]

    def test_the_installer_reports_memory_and_raising_the_limit_installs(self, tmp_path,
                                                                         small):
        scene = Scene(tmp_path, {}, preinstall=False)
        report = self._install(scene, small, "release")
        [problem] = report["problems"]
        assert (problem["code"], problem["subject"]) == (
            "not-writable", "small-1.0-py3-none-any.whl"), problem
        assert problem["remedy"] == "memory", problem
        for said in ("could not be installed", "ran out of memory", "ulimit -v",
                     "nothing of it was installed"):
            assert said in problem["message"], (said, problem)
        assert "upload" not in json.dumps(problem).lower(), problem
        assert report["installed"] == [], report
        scene.assert_unchanged()
        self._fix_installs(scene, problem["fix"], small)

    def test_where_the_sandbox_stays_full_main_reports_it_and_the_fix_installs(self, tmp_path,
                                                                             small):
        """The blocks are held to the end: after zlib's failure, what the install does next
        meets the limit too, outside the installer (listing the target to activate it: ENOMEM,
        an OSError). main() reports it as the sandbox's (_limit_problem), never a bug: valid
        JSON, not-writable (memory, ENOMEM), and a fix that, run verbatim where no interpreter
        starts, installs what pip installs and leaves no staging folder."""
        scene = Scene(tmp_path, {}, preinstall=False)
        report = self._install(scene, small, "hold")
        [problem] = report["problems"]
        assert problem["code"] == "not-writable", problem
        assert (problem["remedy"], problem["errno"]) == ("memory", "ENOMEM"), problem
        for said in ("ran out of memory", "ENOMEM", "while running bootstrap.py"):
            assert said in problem["message"], (said, problem)
        assert "upload" not in json.dumps(problem).lower(), problem
        assert report["installed"] == [], report
        # nothing installed: at most the staging folder the next run clears
        after = snapshot(scene.target)
        assert dict((p, e) for p, e in after.items()
                    if p.split(os.sep)[0] != STAGING_DIR) == scene.before, sorted(after)
        self._fix_installs(scene, problem["fix"], small)
        assert not os.path.exists(os.path.join(scene.target, STAGING_DIR))


#: Runs main() as the CLI does and, at the first indented json.dumps made inside the function
#: named by sys.argv[2] (_emit_report: the --json output; write_profile_file: the profile file
#: a check writes next to the uploads), sets RLIMIT_AS (soft) to the address space this
#: process has and takes every free block of the heap and of CPython's small-object pools
#: (bytes of each size, until MemoryError) into a local of the frame that calls json: the
#: indented encoding then runs out of memory with that memory held by a frame of the failed
#: call, as at a real limit where ''.join of its chunks fails (JSONEncoder.encode's frame holds
#: them all): the memory goes when the frames do. Nothing of bootstrap is replaced: json.dumps
#: is wrapped to arm the limit and to record the kind of each call (preallocated: nothing to
#: allocate where nothing can be). Prints SPY ["indented" | "compact", ...] on stderr.
DUMP_DRIVER = r'''
import json, os, resource, sys
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
import bootstrap
where, plain, seen, count = sys.argv[2], json.dumps, [None] * 16, [0]
#: bytes of exactly each size of a malloc block, then of each pool size class (48 to 512)
SIZES = [32768 - 33, 4096 - 33, 1024 - 33] + [size - 33 for size in range(512, 47, -16)]


def fill(slots):
    with open("/proc/self/statm") as f:
        size = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (size, resource.getrlimit(resource.RLIMIT_AS)[1]))
    i = k = 0
    while k < len(SIZES):
        try:
            while i < len(slots):
                slots[i] = bytes(SIZES[k])
                i += 1
        except MemoryError:
            pass
        k += 1


def within():
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_name != where:
        frame = frame.f_back
    return frame is not None


def dumps(data, **options):
    if not within() or count[0] > 12:
        return plain(data, **options)
    seen[count[0]] = "indented" if options.get("indent") else "compact"
    count[0] += 1
    if count[0] == 1 and options.get("indent"):
        held = [None] * (1 << 20)  # made before the limit: nothing grows under it
        fill(held)
    return plain(data, **options)


json.dumps = dumps
code = bootstrap.main(sys.argv[3:])
sys.stderr.write("SPY %s\n" % plain(seen[:count[0]]))
sys.exit(code)
'''


class TestReportOutOfMemory:
    """The JSON that bootstrap writes (the --json report; the profile file next to the
    uploads) meets a real RLIMIT_AS as it is encoded (DUMP_DRIVER): the indented encoding runs
    out of memory, and the compact one, made once the failed attempt has let go of what it
    held, is written instead. Oracle: the same check without the limit; the JSON read back is
    equal, and it is the check's own report (its problem), never a report of the limit."""

    MISSING = ["missing%02d" % i for i in range(10)]

    def _check(self, scene, bundle, driver):
        """(stdout, the profile file, SPY or None) of `check BUNDLE --require small --require
        MISSING... --json`, through DUMP_DRIVER armed in ``driver`` (None: the plain CLI)."""
        words = [word for name in ["small"] + self.MISSING for word in ("--require", name)]
        command = [sys.executable] + (["-c", DUMP_DRIVER, BOOTSTRAP_DIR, driver] if driver else
                                      ["bootstrap.py"]) + ["check", bundle] + words + ["--json"]
        proc = scene.run(command)
        spies = [line[4:] for line in proc.stderr.splitlines() if line.startswith("SPY ")]
        assert proc.returncode == 1 and not _bootstrap_traceback(proc), proc.stderr[-3000:]
        with open(os.path.join(os.path.dirname(bundle), "sandbox-profile.json")) as f:
            return proc.stdout, f.read(), json.loads(spies[0]) if spies else None

    @pytest.mark.parametrize("where", ["_emit_report", "write_profile_file"])
    def test_out_of_memory_the_json_is_compact_and_the_same(self, tmp_path, small, where):
        bundle = str(tmp_path / "uploads")
        shutil.copytree(small, bundle)
        scene = Scene(tmp_path / "scene", {}, preinstall=False)
        before = snapshot(str(tmp_path))
        stdout, profile, _ = self._check(scene, bundle, None)
        expected = json.loads(stdout)
        assert sorted((p["code"], p["subject"]) for p in expected["problems"]) == [
            ("missing-dependency", name) for name in self.MISSING], expected["problems"]
        out, written, spy = self._check(scene, bundle, where)
        assert spy == ["indented", "compact"], spy  # the indented one failed: compact made
        limited = out if where == "_emit_report" else written
        assert limited.endswith("\n") and "\n" not in limited[:-1], limited[:300]  # compact
        assert json.loads(out) == expected
        assert json.loads(written) == json.loads(profile)
        after = snapshot(str(tmp_path))  # the profile file by the uploads, and nothing else
        assert sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p)) \
            == ["sandbox-profile.json"]
