"""bootstrap's resolver held against pip's, on generated universes of real wheels.

Each universe is a few projects with a few versions each (finals and prereleases), whose
Requires-Dist carry specifiers, extras and python_version markers, some with a Requires-Python
this interpreter fails, some with a dependency nothing provides; one to three roots. The
wheels are real (tests/wheelmaker.py) and pip resolves them in a venv (the test venv, whose
pip the test extra keeps new: pip 26.3 is what issue 11 measured against):

    python -m pip install --dry-run --ignore-installed --report - --no-index --find-links DIR ROOTS

(PIP_CONFIG_FILE=/dev/null, no PIP_* variables: installkit.clean_env; pip's own main() forked
from a process that imported it once, see PipServer). For every universe:

* bootstrap solves it (no problem) exactly when pip does;
* every solution bootstrap returns satisfies every requirement, checked with the real
  `packaging` on the wheels' own METADATA (markers for the venv's environment, extras,
  Requires-Python), and holds nothing that no root needs;
* where pip's answer is the newest-first one (every project at its newest version), bootstrap's
  is the same set;
* where bootstrap finds no solution, each fetch it asks for is a range some version satisfies,
  and each conflict it names is a set of requirements that no available version satisfies
  together while every smaller set is satisfiable.

The universes come from a seed: BOOTSTRAP_ORACLE_SEED (default: the day number, so CI runs on
different days cover different universes) and BOOTSTRAP_ORACLE_UNIVERSES of them (default
200); BOOTSTRAP_ORACLE_ONLY=N replays universe N. The seed is printed, and every failure
names its seed and index.
"""
import concurrent.futures
import email.parser
import os
import queue
import random
import shutil
import sys
import tempfile
import time
import zipfile

import pytest

import bootstrap
import oracle

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import installkit  # noqa: E402
from wheelmaker import make_wheel  # noqa: E402

packaging = oracle.require(hypothesis=False)
from packaging.markers import Marker  # noqa: E402
from packaging.requirements import Requirement  # noqa: E402
from packaging.specifiers import SpecifierSet  # noqa: E402
from packaging.utils import canonicalize_name  # noqa: E402
from packaging.version import Version  # noqa: E402

SEED = int(os.environ.get("BOOTSTRAP_ORACLE_SEED") or int(time.time() // 86400))
COUNT = int(os.environ.get("BOOTSTRAP_ORACLE_UNIVERSES") or 200)
ONLY = os.environ.get("BOOTSTRAP_ORACLE_ONLY")

NAMES = ["oa", "ob", "oc", "od", "oe"]
FINALS = ["0.9", "1.0", "1.1", "1.5", "2.0", "2.1", "3.0"]
PRERELEASES = ["2.0b1", "3.0rc1", "1.5a2"]
MAC = "cp311-cp311-macosx_11_0_arm64"
MARKERS = ['python_version < "3.10"', 'python_version >= "3.10"', 'python_version >= "3.13"',
           'os_name == "posix"']
#: every version a specifier of these universes can name: a range that holds none is empty
PROBES = sorted(set(FINALS + PRERELEASES + ["%d.%d" % (a, b) for a in range(5)
                                             for b in range(10)]
                    + ["%d.%d.1" % (a, b) for a in range(5) for b in range(10)]), key=Version)


# -- the universes ---------------------------------------------------------------------------


def _specifier(rng, versions):
    version = rng.choice(versions) if rng.random() < 0.85 else rng.choice(FINALS + ["2.5"])
    kind = rng.choice(["", "", ">=", ">=", "<", "<", "==", "!=", "~=", "range"])
    if kind == "range":
        low, high = sorted(rng.sample(FINALS, 2), key=Version)
        return ">=%s,<%s" % (low, high)
    if kind == "~=" and version.count(".") < 1:
        kind = ">="
    return kind + version if kind else ""


def _dependency(rng, name, projects):
    others = [n for n in projects if n != name]
    target = "ozz-missing" if rng.random() < 0.02 or not others else rng.choice(others)
    text = target
    if target in projects and rng.random() < 0.15:
        text += "[x]"
    text += _specifier(rng, projects.get(target, FINALS))
    if rng.random() < 0.15:
        text += "; " + rng.choice(MARKERS)
    return text


def generate(index):
    """(dists, roots) of universe ``index``: dists are (name, version, requires, extras,
    requires_python, tag or None for py3-none-any)."""
    rng = random.Random("%d-%d" % (SEED, index))
    names = NAMES[:rng.randint(2, len(NAMES))]
    projects = {}
    for name in names:
        versions = rng.sample(FINALS, rng.randint(1, 4))
        if rng.random() < 0.15:
            versions.append(rng.choice(PRERELEASES))
        projects[name] = sorted(set(versions), key=Version)
    dists = []
    for name in names:
        for version in projects[name]:
            requires = [_dependency(rng, name, projects)
                        for _ in range(rng.choice([0, 0, 1, 1, 1, 2, 2, 3]))]
            extras = {"x": [_dependency(rng, name, projects)]} if rng.random() < 0.25 else {}
            requires_python = rng.choice([None] * 14 + [">=3.12", ">=3.8", "<3.9"])
            tag = MAC if rng.random() < 0.04 else None  # a wheel neither resolver may use
            dists.append((name, version, requires, extras, requires_python, tag))
    roots = []
    for name in rng.sample(names, rng.randint(1, min(3, len(names)))):
        root = name + ("[x]" if rng.random() < 0.15 else "")
        if rng.random() < 0.25:
            root += _specifier(rng, projects[name]) or ""
        roots.append(root)
    return dists, roots


def _dist(name, version, requires=(), extras=None):
    return (name, version, list(requires), extras or {}, None, None)


def write(dists, folder):
    for name, version, requires, extras, requires_python, tag in dists:
        make_wheel(folder, name, version, requires=requires, extras=extras,
                   requires_python=requires_python, tag=tag or "py3-none-any")


# -- the oracle and its checks ---------------------------------------------------------------


# pip takes ~0.5 s to start, most of it imports: this server, run by the venv's python,
# imports pip's install command once, then forks one child per request, which runs pip's
# own main() (exactly what `python -m pip ARGS` runs) with its stdout and stderr in files.
PIP_SERVER = """
import json, os, sys
from pip._internal.cli.main import main
from pip._internal.commands import create_command
create_command("install")
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        with open(request["out"], "wb") as out, open(request["err"], "wb") as err:
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
        try:
            code = main(request["args"])
        except SystemExit as stop:
            code = stop.code
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 3
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) else 1)
    _, status = os.waitpid(pid, 0)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
    sys.stdout.write(json.dumps({"rc": code}) + "\\n")
    sys.stdout.flush()
"""


class PipServer(object):
    """`python -m pip ARGS` in the venv, without paying pip's start-up every time."""

    def __init__(self, python, folder):
        import subprocess
        import threading
        self.folder = folder
        script = os.path.join(folder, "pip_server.py")
        with open(script, "w") as f:
            f.write(PIP_SERVER)
        self.proc = subprocess.Popen([python, script], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=installkit.clean_env(),
                                     universal_newlines=True)
        self.lock = threading.Lock()
        self.count = 0

    def pip(self, args):
        """(exit code, stdout, stderr) of one pip command."""
        import json
        with self.lock:
            self.count += 1
            out = os.path.join(self.folder, "out-%d" % self.count)
            err = os.path.join(self.folder, "err-%d" % self.count)
            self.proc.stdin.write(json.dumps({"args": args, "out": out, "err": err}) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
            assert line, "the pip server stopped"
            code = json.loads(line)["rc"]
            with open(out) as f_out, open(err) as f_err:
                result = code, f_out.read(), f_err.read()
            os.remove(out)
            os.remove(err)
            return result

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def pip_resolve(server, folder, roots):
    """(solved, {name: version}) from pip's dry run, or an AssertionError for anything but a
    clean answer or a resolution failure."""
    code, out, err = server.pip(["install", "--dry-run", "--ignore-installed", "--report", "-",
                                 "--no-index", "--find-links", folder, "-q", "--no-cache-dir"]
                                + roots)
    if code == 2 and "ERROR: Exception:" in err and "RecursionError" in err:
        return None, {}  # pip 23's resolver can recurse without end on cyclic extras
    if code != 0:
        assert code == 1 and "Traceback" not in err and "ERROR" in err, (code, err)
        return False, {}
    import json
    report = json.loads(out)
    return True, dict((canonicalize_name(item["metadata"]["name"]), item["metadata"]["version"])
                      for item in report["install"])


def read_metadata(folder):
    """{(name, version): (Requires-Dist, Requires-Python)} of every wheel this interpreter
    can use (the universes' others are macOS builds), read from the wheel's own METADATA."""
    found = {}
    for filename in os.listdir(folder):
        if not filename.endswith("-py3-none-any.whl"):
            continue
        with zipfile.ZipFile(os.path.join(folder, filename)) as archive:
            member = [m for m in archive.namelist() if m.endswith(".dist-info/METADATA")][0]
            message = email.parser.Parser().parsestr(archive.read(member).decode("utf-8"))
        found[(canonicalize_name(message["Name"]), message["Version"])] = (
            message.get_all("Requires-Dist") or [], message.get("Requires-Python"))
    return found


def solution_problems(chosen, roots, metadata, environment):
    """What is wrong with ``chosen`` ({name: version}) as an answer for ``roots``: [] when
    every requirement in force holds and nothing is there that no root needs."""
    wrong, reached, extras = [], set(), {}
    pending = [(Requirement(r), "root") for r in roots]
    python = environment["python_full_version"]
    while pending:
        requirement, parent = pending.pop()
        name = canonicalize_name(requirement.name)
        if name not in chosen:
            wrong.append("%s (from %s) is not in the answer" % (requirement, parent))
            continue
        if not requirement.specifier.contains(chosen[name], prereleases=True):
            wrong.append("%s==%s does not satisfy %s (from %s)" % (
                name, chosen[name], requirement, parent))
        wanted = set(canonicalize_name(e) for e in requirement.extras)
        if name in reached and wanted <= extras[name]:
            continue
        reached.add(name)
        extras[name] = extras.get(name, set()) | wanted
        requires, requires_python = metadata[(name, chosen[name])]
        if requires_python and not SpecifierSet(requires_python).contains(python):
            wrong.append("%s==%s needs Python %s" % (name, chosen[name], requires_python))
        for text in requires:
            dependency = Requirement(text)
            if dependency.marker is None or any(
                    dependency.marker.evaluate(dict(environment, extra=extra))
                    for extra in [""] + sorted(extras[name])):
                pending.append((dependency, "%s==%s" % (name, chosen[name])))
    for name in sorted(set(chosen) - reached):
        wrong.append("%s is in the answer but no root needs it" % name)
    return wrong


def newest_first(chosen, metadata, environment):
    """True when every project of ``chosen`` is at its newest installable version (finals
    before prereleases, as pip prefers)."""
    python = environment["python_full_version"]
    for name, version in chosen.items():
        versions = [Version(v) for (n, v), (_, rp) in metadata.items()
                    if n == name and (not rp or SpecifierSet(rp).contains(python))]
        finals = [v for v in versions if not v.is_prerelease]
        if Version(version) != max(finals or versions):
            return False
    return True


def failure_problems(plan, metadata, environment):
    """What is wrong with the problems of a plan that found no solution."""
    wrong = []
    python = environment["python_full_version"]
    for text in plan.fetch:
        requirement = Requirement(text)
        if not any(requirement.specifier.contains(v, prereleases=True) for v in PROBES):
            wrong.append("fetch %s is an empty range" % text)
    for name, conflict in plan.conflicts.items():
        if conflict["kind"] not in ("range", "available"):
            continue  # every requirement on it is listed: nothing smaller to check
        kind, conflict = conflict["kind"], conflict["requirements"]
        available = [v for (n, v), (_, rp) in metadata.items()
                     if n == name and (not rp or SpecifierSet(rp).contains(python))]
        specifiers = [Requirement(item["requirement"]).specifier for item in conflict]

        def satisfiable(subset):
            probes = available if kind == "available" else PROBES
            return any(all(s.contains(v, prereleases=True) for s in subset) for v in probes)
        if satisfiable(specifiers):
            wrong.append("conflict on %s is satisfiable: %s" % (name, conflict))
        for i in range(len(specifiers)):
            if len(specifiers) > 1 and not satisfiable(specifiers[:i] + specifiers[i + 1:]):
                wrong.append("conflict on %s is not the smallest: %s" % (name, conflict))
                break
    return wrong


#: The first pip whose resolver (resolvelib 1.1 and later) no longer gives up on universes
#: that have a solution; the test extra of pyproject.toml asks for it. An older pip's "no"
#: is not an oracle: there, a solution bootstrap finds where pip found none only has to be
#: valid (which proves pip wrong), and the run says how often that happened.
EXACT_PIP = (26, 3)


class Oracle(object):
    """A venv with pip (the test venv itself, where pip is new enough; else a fresh one), and
    the bootstrap Profile of its interpreter, with nothing installed (pip ignores it too)."""

    def __init__(self, folder):
        python = sys.executable
        if sys.prefix == getattr(sys, "base_prefix", sys.prefix) or self._pip(python) is None:
            python = installkit.Venv(os.path.join(folder, "venv"),
                                     installkit.find_python("3.11") or sys.executable,
                                     with_pip=True).python
        self.python = python
        self.pip_version = self._pip(python)
        self.exact = self.pip_version >= EXACT_PIP
        proc = installkit.run([python, installkit.BOOTSTRAP_PY, "inspect", "--json"],
                              check=True)
        import json
        data = json.loads(proc.stdout)
        data["installed"] = []  # pip runs with --ignore-installed
        self.profile = bootstrap.Profile.from_json(data)
        self.environment = dict(data["marker_environment"])
        self.servers = [PipServer(python, tempfile.mkdtemp(dir=folder)) for _ in range(2)]
        self.free = queue.Queue()
        for server in self.servers:
            self.free.put(server)

    @staticmethod
    def _pip(python):
        """The version of ``python -m pip`` as a tuple, or None without pip."""
        proc = installkit.run([python, "-m", "pip", "--version"])
        if proc.returncode != 0:
            return None
        return tuple(int(p) for p in proc.stdout.split()[1].split(".")[:2] if p.isdigit())

    def close(self):
        for server in self.servers:
            server.close()

    def compare(self, index, dists, roots, folder):
        """The differences between bootstrap and pip on one universe (empty when none), and
        (pip solved, pip's answer is newest-first)."""
        write(dists, folder)
        server = self.free.get()
        try:
            solved, pip_answer = pip_resolve(server, folder, roots)
        finally:
            self.free.put(server)
        paths = sorted(os.path.join(folder, f) for f in os.listdir(folder))
        wheels = [bootstrap.Wheel(p, bootstrap.WheelName.parse(p)) for p in paths]
        plan = bootstrap.resolve(self.profile, wheels, (), [bootstrap.Requirement(r)
                                                             for r in roots])
        ours = dict((c.name, str(c.version)) for c in plan.install)
        metadata = read_metadata(folder)
        wrong = []
        pip_gave_up = solved is False and not plan.problems and not self.exact
        if solved is not None and (not plan.problems) != solved and not pip_gave_up:
            wrong.append("pip %s, bootstrap %s: %s" % (
                "solved it (%s)" % sorted(pip_answer.items()) if solved else "found no solution",
                "solved it (%s)" % sorted(ours.items()) if not plan.problems else
                "found no solution: %s" % "; ".join(p.message for p in plan.problems),
                sorted(ours.items())))
        newest = solved and newest_first(pip_answer, metadata, self.environment)
        if not plan.problems:
            wrong += solution_problems(ours, roots, metadata, self.environment)
            if plan.satisfied:
                wrong.append("nothing is installed, yet %s is satisfied" % plan.satisfied)
            if newest and ours != pip_answer:
                wrong.append("pip's newest-first answer %s, bootstrap's %s" % (
                    sorted(pip_answer.items()), sorted(ours.items())))
        else:
            wrong += failure_problems(plan, metadata, self.environment)
        if wrong:
            wrong.insert(0, "universe %d of seed %d (BOOTSTRAP_ORACLE_SEED=%d "
                         "BOOTSTRAP_ORACLE_ONLY=%d): roots %s, wheels %s" % (
                             index, SEED, SEED, index, roots, dists))
        return wrong, ("gave up" if pip_gave_up else solved), newest


@pytest.fixture(scope="module")
def pip_oracle(tmp_path_factory):
    found = Oracle(str(tmp_path_factory.mktemp("oracle")))
    yield found
    found.close()


def _one(pip_oracle, index, dists, roots):
    folder = tempfile.mkdtemp(prefix="universe-")
    try:
        return pip_oracle.compare(index, dists, roots, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class TestAgainstPip:
    def test_generated_universes(self, pip_oracle):
        indexes = [int(ONLY)] if ONLY else list(range(COUNT))
        print("\nBOOTSTRAP_ORACLE_SEED=%d, %d universes" % (SEED, len(indexes)))
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda i: _one(pip_oracle, i, *generate(i)), indexes))
        failures = [wrong for wrong, _, _ in results if wrong]
        unsolvable = sum(1 for _, solved, _ in results if solved is False)
        gave_up = sum(1 for _, solved, _ in results if solved == "gave up")
        crashed = sum(1 for _, solved, _ in results if solved is None)
        backtracked = sum(1 for _, solved, newest in results if solved is True and not newest)
        print("pip %s: %d unsolvable, %d solved only below the newest versions, %d crashed "
              "(no verdict), %d given up where bootstrap found a valid solution; %d differ" % (
                  ".".join(map(str, pip_oracle.pip_version)), unsolvable, backtracked, crashed,
                  gave_up, len(failures)))
        assert not failures, "\n\n".join("\n  ".join(w) for w in failures[:8])
        if not ONLY and COUNT >= 100:  # the generator must keep producing both kinds
            assert unsolvable >= 5 and backtracked >= 5, (unsolvable, backtracked)

    # The universes of issue 11, held against pip too.
    NAMED = [
        ("backtracking", [_dist("oa", "2.0", ["oc<2"]), _dist("oa", "1.0"),
                          _dist("ob", "1.0", ["oc>=2"]), _dist("oc", "1.0"), _dist("oc", "2.0")],
         ["oa", "ob"]),
        ("stale-requirement", [_dist("oa", "1.0", ["ob!=2.0"]), _dist("ob", "2.0", ["oc<2"]),
                               _dist("ob", "1.0"), _dist("oc", "2.0")], ["oa", "ob"]),
        ("unsolvable", [_dist("oa", "1.0", ["oc<2"]), _dist("ob", "1.0", ["oc>=2"]),
                        _dist("oc", "1.0"), _dist("oc", "2.0")], ["oa", "ob"]),
        ("extra-backtracking", [_dist("oa", "2.0", extras={"x": ["oc<2"]}),
                                _dist("oa", "1.0", extras={"x": ["oc"]}),
                                _dist("ob", "1.0", ["oc>=2"]), _dist("oc", "1.0"),
                                _dist("oc", "2.0")], ["oa[x]", "ob"]),
    ]

    @pytest.mark.parametrize("label,dists,roots", NAMED, ids=[n[0] for n in NAMED])
    def test_named_universe(self, pip_oracle, tmp_path, label, dists, roots):
        wrong, solved, _ = pip_oracle.compare(-1, dists, roots, str(tmp_path))
        assert not wrong, "\n".join(wrong)
        assert solved is (label != "unsolvable")
