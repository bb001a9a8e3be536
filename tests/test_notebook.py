"""Notebook entry points (SPEC 2.1, issue 5), in a REAL ipykernel driven through jupyter_client.

    TestExecWithoutBundle   exec(open('bootstrap.py').read()) with nothing uploaded: the
                            interpreter summary, the target, sandbox-profile.json in the cwd,
                            how to build a bundle; exactly one new name (`bootstrap`); the
                            kernel's sys.argv ignored; running it twice is harmless
    TestExecWithBundle      a bundle in the cwd: installed, the report displayed, the package
                            imports in the next cell without a restart, progress as one
                            display updated in place (never stderr)
    TestExecNotebookFolder  the bundle next to the notebook (JPY_SESSION_NAME), not in the cwd
    TestExecFailing         a missing dependency and a corrupt upload: problem and fix shown,
                            no SystemExit, no traceback, nothing half-installed, kernel alive
    TestRun                 %run bootstrap.py check/install: the CLI's report, displayed, its
                            next step phrased for the notebook; never SystemExit (exit code 1
                            results, usage errors, unreadable input)
    TestUsages              the usages promised word for word (issue 12): `%run bootstrap.py
                            bundle.tar.gz`, bare `%run bootstrap.py`, `%run bootstrap.py install
                            bundle.tar.gz`, `%run -i`, the exec cell: each installs, leaves one new
                            name (`bootstrap`), keeps the user's values, no SystemExit;
                            `python bootstrap.py bundle.tar.gz` and bare `python bootstrap.py`
    TestRendered            check and install, ok and failed, executed by nbclient and exported
                            by nbconvert: heading with command and coloured status, the bundle
                            line, fixes as code blocks, next rows that do not repeat them (the
                            HTML of docs/notebook-reports.png, see tests/notebook_screenshot.py)
    TestApi                 import bootstrap; check()/inspect()/install() return plain,
                            JSON-serialisable mappings with .ok that render as tables
    TestProgress            the CLI with a terminal on stderr: progress there, never on stdout,
                            none with --json

The kernel runs on a throwaway venv of this module (tests/hostkit.py: make_kernel_venv) that
imports ipykernel from the cached .cache/venv-hosts; what bootstrap installs from the kernel
lands in that throwaway venv. Each class starts one kernel with its own upload folder as cwd,
and an environment with no PIP_* settings. Without the hosts venv (no network to set it up) the
kernel tests skip with the reason.
"""

import json
import os
import re
import subprocess
import sys

import pytest

import hostkit
from hostkit import BOOTSTRAP_DIR, BOOTSTRAP_PY, exec_cell
from wheelmaker import make_wheel

# On a machine with /mnt/data (the product's target platform) the kernels and the CLI run in a
# mount namespace that hides it (hostkit.without_mnt_data): bootstrap would otherwise look for
# uploads and write the profile there, outside the test's folders.


# -- set-up ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hosts():
    return hostkit.require_hosts()


@pytest.fixture(scope="module")
def kernel_python(hosts, tmp_path_factory):
    """The python of this module's throwaway kernel venv."""
    return hostkit.make_kernel_venv(str(tmp_path_factory.mktemp("kernel") / "venv"), hosts)


@pytest.fixture(scope="module")
def kernel_profile(kernel_python, tmp_path_factory):
    """The profile of the kernel's interpreter, from the CLI (its `target` is the one-liner)."""
    proc = cli(kernel_python, "inspect", "--json", cwd=tmp_path_factory.mktemp("inspect"))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def cli(python, *args, cwd=None):
    hide = hostkit.without_mnt_data()
    return subprocess.run(hide + [python, BOOTSTRAP_PY] + [str(a) for a in args], cwd=str(cwd),
                          env=hostkit.clean_env(), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=hostkit.TIMEOUT)


def start_kernel(hosts, python, factory, name, env=None, cwd=None):
    """A KernelSession whose cwd is a fresh upload folder (or ``cwd``)."""
    cwd = cwd or factory.mktemp(name + "-uploads")
    return hostkit.KernelSession(hosts, python, cwd, factory.mktemp(name + "-jupyter"),
                                 env=env), cwd


def bundle(folder, filename, wheels_dir, specs):
    """Pack real wheels, made from ``specs`` [(name, version, options)], into a .tar.gz."""
    wheels = [make_wheel(wheels_dir, name, version, **options) for name, version, options in specs]
    return hostkit.pack_bundle(os.path.join(str(folder), filename), wheels)


def good_specs(prefix):
    """A root that needs one dependency: two wheels, VALUE = 42 in the root's module."""
    return [
        ("zz-%spkg" % prefix, "1.0", {"files": {"zz_%spkg/__init__.py" % prefix: "VALUE = 42\n"},
                                       "requires": ["zz-%sdep>=1" % prefix]}),
        ("zz-%sdep" % prefix, "1.2", {"files": {"zz_%sdep/__init__.py" % prefix: "X = 1\n"}}),
    ]


def broken_specs(prefix):
    """A root whose dependency is not in the bundle."""
    return [("zz-%sbroken" % prefix, "1.0", {
        "files": {"zz_%sbroken/__init__.py" % prefix: "VALUE = 1\n"},
        "requires": ["zz-%sabsent>=2.0" % prefix]})]


def assert_clean(cell):
    """The cell ran to the end: no error output, no SystemExit, no traceback anywhere."""
    assert cell.status == "ok", cell
    assert cell.errors == [], cell
    assert "SystemExit" not in cell.text, cell
    assert "Traceback" not in cell.text, cell


def rich(cell):
    """The text/markdown and text/html of every display and result of a cell, joined."""
    return "\n".join(d.get(mime, "") for d in cell.displays + cell.results
                     for mime in ("text/markdown", "text/html"))


def plain(cell):
    return "\n".join(d.get("text/plain", "") for d in cell.displays + cell.results)


def printed_json(cell):
    """The last stdout line of a cell that prints one JSON document."""
    assert_clean(cell)
    return json.loads(cell.stdout.strip().splitlines()[-1])


def site_packages_holds(python, module):
    return os.path.exists(os.path.join(hostkit.purelib_of(python), module))


#: A cell that reports what the namespace looks like against the snapshot __nb_before,
#: without binding any name of its own.
NAMESPACE_REPORT = """print(__import__("json").dumps({
    "new": sorted(set(globals()) - set(__nb_before)),
    "removed": sorted(set(__nb_before) - set(globals())),
    "changed": sorted(k for k in __nb_before
                      if k in globals() and globals()[k] is not __nb_before[k]),
    "argv_same": __import__("sys").argv == __nb_argv,
}))"""

#: Names a user may well have bound before running bootstrap, all of which bootstrap's own
#: module code also binds (imports and functions).
USER_NAMES = """check = "mine"
json = 5
os = "my-os"
sys = "my-sys"
main = "my-main"
install = "my-install"
inspect = "my-inspect"
Report = "my-report"
__nb_argv = list(__import__("sys").argv)
__nb_before = {}
__nb_before.update(globals())"""

FORGET_BOOTSTRAP = 'globals().pop("bootstrap", None)'


def namespace_change(report):
    """(new names, removed names, rebound names), IPython's history bookkeeping left out."""
    def ours(names):
        return [n for n in names if not hostkit.IPYTHON_BOOKKEEPING.match(n)]
    return ours(report["new"]), ours(report["removed"]), ours(report["changed"])


# -- exec(open('bootstrap.py').read()) with nothing uploaded ---------------------------------------


class TestExecWithoutBundle:
    @pytest.fixture(scope="class")
    @classmethod
    def nb(cls, hosts, kernel_python, tmp_path_factory):
        session, cwd = start_kernel(hosts, kernel_python, tmp_path_factory, "no-bundle")
        session.cwd = str(cwd)
        yield session
        session.close()

    @pytest.fixture(scope="class")
    @classmethod
    def first_run(cls, nb):
        return nb.execute(exec_cell())

    def test_runs_without_error(self, first_run):
        assert_clean(first_run)

    def test_shows_the_target(self, first_run, kernel_profile):
        assert kernel_profile["target"] in first_run.text

    def test_shows_the_interpreter_summary(self, first_run, kernel_profile):
        version = kernel_profile["marker_environment"]["python_full_version"]
        assert version in first_run.text
        assert kernel_profile["target"] in rich(first_run), "no rendered summary was displayed"

    def test_says_how_to_build_a_bundle(self, first_run):
        assert "tools/bundle.py" in first_run.text
        assert "sandbox-profile.json" in first_run.text

    def test_writes_the_profile_in_the_cwd(self, first_run, nb, kernel_profile):
        path = os.path.join(nb.cwd, "sandbox-profile.json")
        assert os.path.isfile(path), os.listdir(nb.cwd)
        with open(path) as f:
            profile = json.load(f)
        assert profile["schema"] == "sandbox-bootstrap.profile/1"
        assert profile["target"] == kernel_profile["target"]
        assert profile["compatible_tags"] == kernel_profile["compatible_tags"]

    def test_kernel_is_alive_afterwards(self, first_run, nb):
        assert nb.alive()

    def test_leaves_only_bootstrap_in_the_namespace(self, nb):
        assert_clean(nb.execute(FORGET_BOOTSTRAP))
        assert_clean(nb.execute(USER_NAMES))
        assert_clean(nb.execute(exec_cell()))
        new, removed, changed = namespace_change(printed_json(nb.execute(NAMESPACE_REPORT)))
        assert new == ["bootstrap"]
        assert removed == []
        assert changed == []

    def test_user_values_are_unchanged(self, nb):
        assert_clean(nb.execute(FORGET_BOOTSTRAP))
        assert_clean(nb.execute(USER_NAMES))
        assert_clean(nb.execute(exec_cell()))
        values = printed_json(nb.execute(
            'print(__import__("json").dumps([check, json, os, sys, main, install, inspect, '
            'Report]))'))
        assert values == ["mine", 5, "my-os", "my-sys", "my-main", "my-install", "my-inspect",
                          "my-report"]

    def test_bootstrap_is_the_api_module(self, nb):
        assert_clean(nb.execute(exec_cell()))
        facts = printed_json(nb.execute(
            'print(__import__("json").dumps({"api": [callable(getattr(bootstrap, n, None)) '
            'for n in ("inspect", "check", "install")], "registered": '
            '__import__("sys").modules.get("bootstrap") is bootstrap, '
            '"ok": bootstrap.inspect().ok}))'))
        assert facts == {"api": [True, True, True], "registered": True, "ok": True}

    def test_ignores_the_kernel_argv(self, nb, kernel_profile):
        """sys.argv is the kernel launcher's: even a CLI-looking one must not be obeyed."""
        assert_clean(nb.execute(
            'import sys as _s; _nb_argv = _s.argv; '
            '_s.argv = [_s.argv[0], "install", "--target", "/nonexistent/x", "--frobnicate"]'))
        try:
            cell = nb.execute(exec_cell())
            assert_clean(cell)
            assert kernel_profile["target"] in cell.text
            assert "usage:" not in cell.text.lower()  # argparse's usage line
            assert not os.path.exists("/nonexistent/x")
        finally:
            nb.execute("_s.argv = _nb_argv")

    def test_running_it_twice_is_harmless(self, nb, kernel_profile):
        assert_clean(nb.execute(exec_cell()))
        assert_clean(nb.execute(USER_NAMES))
        second = nb.execute(exec_cell())
        assert_clean(second)
        assert kernel_profile["target"] in second.text
        new, removed, changed = namespace_change(printed_json(nb.execute(NAMESPACE_REPORT)))
        # `bootstrap` may be rebound to the fresh module; nothing else moves
        assert new == [] and removed == [] and set(changed) <= {"bootstrap"}
        assert nb.alive()


# -- exec(...) with a bundle in the upload folder --------------------------------------------------


class TestExecWithBundle:
    @pytest.fixture(scope="class")
    @classmethod
    def nb(cls, hosts, kernel_python, tmp_path_factory):
        session, cwd = start_kernel(hosts, kernel_python, tmp_path_factory, "bundle")
        bundle(cwd, "bundle.tar.gz", tmp_path_factory.mktemp("nb-wheels"), good_specs("nb"))
        # what a user does first: the import fails (and import caches remember the miss)
        missing = session.execute("import zz_nbpkg")
        assert [e["ename"] for e in missing.errors] == ["ModuleNotFoundError"], missing
        yield session
        session.close()

    @pytest.fixture(scope="class")
    @classmethod
    def first_run(cls, nb):
        return nb.execute(exec_cell())

    def test_runs_without_error(self, first_run):
        assert_clean(first_run)

    def test_displays_the_report(self, first_run):
        assert "install: OK" in plain(first_run) + first_run.stdout, first_run
        table = rich(first_run)
        assert "zz-nbpkg" in table and "zz-nbdep" in table, first_run

    def test_package_imports_in_the_next_cell(self, first_run, nb):
        facts = printed_json(nb.execute(
            "import zz_nbpkg, zz_nbdep\n"
            'print(__import__("json").dumps([zz_nbpkg.VALUE == 42, zz_nbpkg.__file__]))'))
        assert facts[0] is True

    def test_installed_into_the_kernel_venv_only(self, first_run, nb, kernel_python, hosts):
        facts = printed_json(nb.execute(
            'import zz_nbpkg; print(__import__("json").dumps(zz_nbpkg.__file__))'))
        assert facts.startswith(hostkit.purelib_of(kernel_python) + os.sep)
        assert not site_packages_holds(hosts, "zz_nbpkg")

    def test_progress_is_one_display_updated_in_place(self, first_run):
        """Not stderr (notebooks show it as error boxes): one display, created at the first
        package and updated under the same display_id until the last."""
        assert "installing" not in first_run.stderr + first_run.stdout, first_run
        progress = [o for o in first_run.outputs
                    if o["type"] in ("display_data", "update_display_data")
                    and (o["content"].get("data") or {}).get("text/plain", "").startswith(
                        "installing ")]
        assert [o["type"] for o in progress] == ["display_data"] + ["update_display_data"] * (
            len(progress) - 1), progress
        ids = set(o["content"]["transient"]["display_id"] for o in progress)
        assert len(ids) == 1, progress
        assert re.match(r"installing 1 of 2: zz-nb(pkg|dep) ", progress[0]["content"]["data"][
            "text/plain"]), progress
        last = progress[-1]["content"]["data"]
        assert len(progress) == 2, progress  # the last package is always shown
        assert re.match(r"installing 2 of 2: zz-nb(pkg|dep) ", last["text/plain"]), progress
        assert "<progress value='2' max='2'>" in last["text/html"]

    def test_running_it_again_finds_it_satisfied(self, first_run, nb):
        again = nb.execute(exec_cell())
        assert_clean(again)
        assert "install: OK" in plain(again) + again.stdout, again
        assert "satisfied" in (plain(again) + rich(again)).lower(), again
        facts = printed_json(nb.execute(
            'import zz_nbpkg; print(__import__("json").dumps(zz_nbpkg.VALUE))'))
        assert facts == 42
        assert nb.alive()


class TestExecNotebookFolder:
    """The upload sits next to the notebook (JPY_SESSION_NAME), not in the kernel's cwd."""

    @pytest.fixture(scope="class")
    @classmethod
    def nb(cls, hosts, kernel_python, tmp_path_factory):
        notebooks = tmp_path_factory.mktemp("notebooks")
        bundle(notebooks, "bundle.tar.gz", tmp_path_factory.mktemp("session-wheels"),
               good_specs("session"))
        session, _ = start_kernel(hosts, kernel_python, tmp_path_factory, "session", env={
            "JPY_SESSION_NAME": str(notebooks / "analysis.ipynb")})
        yield session
        session.close()

    def test_installs_the_bundle_next_to_the_notebook(self, nb):
        cell = nb.execute(exec_cell())
        assert_clean(cell)
        assert "install: OK" in plain(cell) + cell.stdout, cell
        facts = printed_json(nb.execute(
            'import zz_sessionpkg; print(__import__("json").dumps(zz_sessionpkg.VALUE))'))
        assert facts == 42


# -- exec(...) when something is wrong -------------------------------------------------------------


class TestExecFailing:
    @pytest.fixture(scope="class")
    @classmethod
    def nb(cls, hosts, kernel_python, tmp_path_factory):
        session, cwd = start_kernel(hosts, kernel_python, tmp_path_factory, "failing")
        bundle(cwd, "bundle.tar.gz", tmp_path_factory.mktemp("broken-wheels"),
               broken_specs("nb"))
        session.cwd = str(cwd)
        yield session
        session.close()

    @pytest.fixture(scope="class")
    @classmethod
    def first_run(cls, nb):
        return nb.execute(exec_cell())

    def test_no_system_exit_no_traceback(self, first_run):
        assert_clean(first_run)

    def test_report_names_the_problem(self, first_run):
        everything = plain(first_run) + rich(first_run) + first_run.stdout
        assert "install: FAILED" in everything, first_run
        assert "missing-dependency" in everything
        assert "zz-nbabsent" in everything

    def test_report_shows_the_fix(self, first_run):
        table = rich(first_run)
        assert "tools/bundle.py" in table, first_run
        assert "online" in table

    def test_next_step_is_phrased_for_the_cell(self, first_run, nb):
        """The cell found the uploads itself: re-running it takes the fix bundle too; the
        explicit call names both uploads. Never the command line."""
        (html,) = [d["text/html"] for d in first_run.displays
                   if "sandbox-bootstrap-report" in d.get("text/html", "")]
        nexts = re.findall(r"<th[^>]*>next</th><td[^>]*>(.*?)</td>", html, re.S)
        upload = os.path.join(nb.cwd, "bundle.tar.gz")
        fix = os.path.join(nb.cwd, "bundle-fix.tar.gz")
        assert nexts == ["Upload bundle-fix.tar.gz next to the bundle, then re-run this cell "
                         "(it takes every upload it finds) or run install again with both "
                         "bundles: <code>bootstrap.install([%r, %r])</code>" % (upload, fix)]

    def test_nothing_half_installed(self, first_run, nb, kernel_python):
        cell = nb.execute("try:\n    import zz_nbbroken\nexcept ImportError:\n"
                          "    print('absent')\nelse:\n    print('present')")
        assert cell.stdout.strip() == "absent"
        assert not site_packages_holds(kernel_python, "zz_nbbroken")

    def test_kernel_is_alive(self, first_run, nb):
        assert nb.alive()

    def test_corrupt_upload_is_reported_not_raised(self, first_run, nb, tmp_path_factory):
        folder = tmp_path_factory.mktemp("corrupt-uploads")
        (folder / "zz_nbcorrupt-1.0-py3-none-any.whl").write_bytes(b"PK\x03\x04 not a zip")
        assert_clean(nb.execute("import os as _os; _os.chdir(%r)" % str(folder)))
        try:
            cell = nb.execute(exec_cell())
        finally:
            nb.execute("_os.chdir(%r)" % nb.cwd)
        assert_clean(cell)
        assert "corrupt-archive" in plain(cell) + rich(cell) + cell.stdout, cell
        assert nb.alive()


# -- %run bootstrap.py ARGS ------------------------------------------------------------------------


class TestRun:
    @pytest.fixture(scope="class")
    @classmethod
    def nb(cls, hosts, kernel_python, tmp_path_factory):
        session, cwd = start_kernel(hosts, kernel_python, tmp_path_factory, "run")
        session.cwd = str(cwd)
        yield session
        session.close()

    @pytest.fixture(scope="class")
    @classmethod
    def bundles(cls, tmp_path_factory):
        folder = tmp_path_factory.mktemp("run-bundles")
        wheels = tmp_path_factory.mktemp("run-wheels")
        return {"good": bundle(folder, "good.tar.gz", wheels, good_specs("run")),
                "broken": bundle(folder, "broken.tar.gz", wheels, broken_specs("run")),
                "json": bundle(folder, "json.tar.gz", wheels, good_specs("runjson"))}

    def run_cell(self, nb, *args):
        return nb.execute("%%run %s %s" % (BOOTSTRAP_PY, " ".join(str(a) for a in args)))

    def test_check_displays_the_report(self, nb, bundles, kernel_python):
        """The CLI's report, displayed (rendered in a notebook); its next step phrased for
        the notebook: a call of the `bootstrap` that %run leaves behind."""
        cell = self.run_cell(nb, "check", bundles["good"])
        assert_clean(cell)
        proc = cli(kernel_python, "check", bundles["good"], cwd=nb.cwd)
        assert proc.returncode == 0, proc.stderr
        text = plain(cell)
        assert text.startswith("check: OK")
        cli_lines = proc.stdout.splitlines()
        assert text.splitlines()[:-1] == cli_lines[:-1]  # all but the phrased next step
        assert cli_lines[-1] == "Next: Everything fits: python bootstrap.py install %s" % (
            bundles["good"])
        assert text.splitlines()[-1] == "Next: Everything fits: bootstrap.install([%r])" % (
            bundles["good"])
        assert cell.stdout == ""
        assert "<h3" in rich(cell)

    def test_something_missing_gives_no_system_exit(self, nb, bundles, kernel_python):
        proc = cli(kernel_python, "check", bundles["broken"], cwd=nb.cwd)
        assert proc.returncode == 1, "the CLI's exit code for this case changed: %r" % (proc,)
        cell = self.run_cell(nb, "check", bundles["broken"])
        assert_clean(cell)
        problems = [line for line in proc.stdout.splitlines() if line.startswith("  [")]
        assert problems and [line for line in plain(cell).splitlines()
                             if line.startswith("  [")] == problems
        assert "missing-dependency" in plain(cell)
        assert nb.alive()

    @pytest.mark.parametrize("args", [
        ["check"],  # no bundle
        ["frobnicate"],  # no such command
        ["check", "--no-such-option", "x.tar.gz"],
        ["check", "/nonexistent/bundle.tar.gz"],  # unreadable input
    ], ids=["no-bundle", "unknown-command", "unknown-option", "missing-file"])
    def test_usage_error_gives_no_system_exit(self, nb, args, kernel_python):
        proc = cli(kernel_python, *args, cwd=nb.cwd)
        assert proc.returncode == 2, proc
        cell = self.run_cell(nb, *args)
        assert_clean(cell)
        assert "error" in cell.stderr, cell
        assert cell.stderr.strip().splitlines()[-1] == proc.stderr.strip().splitlines()[-1]
        assert nb.alive()

    def test_install_then_import_in_the_next_cell(self, nb, bundles):
        cell = self.run_cell(nb, "install", bundles["good"])
        assert_clean(cell)
        assert plain(cell).startswith("installing "), cell  # the progress display comes first
        assert "\ninstall: OK" in plain(cell), cell
        assert "installing" not in cell.stdout + cell.stderr
        facts = printed_json(nb.execute(
            'import zz_runpkg; print(__import__("json").dumps(zz_runpkg.VALUE))'))
        assert facts == 42

    def test_install_with_something_missing_gives_no_system_exit(self, nb, bundles):
        cell = self.run_cell(nb, "install", bundles["broken"])
        assert_clean(cell)
        assert plain(cell).startswith("install: FAILED"), cell
        assert "missing-dependency" in plain(cell)
        assert nb.alive()

    def test_install_json(self, nb, bundles, tmp_path):
        cell = self.run_cell(nb, "install", bundles["json"], "--target", tmp_path / "t", "--json")
        assert_clean(cell)
        report = json.loads(cell.stdout)
        assert report["schema"] == "sandbox-bootstrap.report/1"
        assert report["status"] == "ok"
        assert "installing" not in cell.stderr


# -- the usages the product promises, word for word (issue 12) ------------------------------------


class TestUsages:
    """Each usage installs the upload, never raises SystemExit, and leaves exactly one new
    name, `bootstrap`, in the user's namespace, whose own values (check, json, os, sys, main,
    install, inspect, Report) survive. One kernel; each usage has its own package and its
    own upload folder, made the kernel's cwd without binding a name."""

    USAGES = {
        "run-upload": "%%run %(script)s %(bundle)s",
        "run-bare": "%%run %(script)s",
        "run-install": "%%run %(script)s install %(bundle)s",
        "run-interactive": "%%run -i %(script)s %(bundle)s",  # in the user's own namespace
        "exec-cell": "exec(open(%(script)r).read())",
    }

    @pytest.fixture(scope="class")
    @classmethod
    def nb(cls, hosts, kernel_python, tmp_path_factory):
        session, cwd = start_kernel(hosts, kernel_python, tmp_path_factory, "usages")
        yield session
        session.close()

    def upload(self, factory, key):
        """An upload folder holding one bundle of zz-u<key>pkg (VALUE = 42) and its dep."""
        prefix = "u" + key.replace("-", "")
        folder = factory.mktemp(key + "-upload")
        path = bundle(folder, "bundle.tar.gz", factory.mktemp(key + "-wheels"),
                      good_specs(prefix))
        return str(folder), path, "zz_%spkg" % prefix

    @pytest.mark.parametrize("key", sorted(USAGES))
    def test_installs_and_leaves_only_bootstrap(self, nb, key, tmp_path_factory,
                                                kernel_python):
        folder, path, module = self.upload(tmp_path_factory, key)
        assert_clean(nb.execute("__import__('os').chdir(%r)" % folder))
        assert_clean(nb.execute(FORGET_BOOTSTRAP))
        assert_clean(nb.execute(USER_NAMES))
        cell = nb.execute(self.USAGES[key] % {"script": BOOTSTRAP_PY, "bundle": path})
        assert_clean(cell)
        assert "\ninstall: OK" in "\n" + plain(cell), cell
        new, removed, changed = namespace_change(printed_json(nb.execute(NAMESPACE_REPORT)))
        if key == "run-interactive":  # IPython's own: %run -i sets __file__ and leaves it
            new = [name for name in new if name != "__file__"]
        assert (new, removed, changed) == (["bootstrap"], [], [])
        values = printed_json(nb.execute(
            'print(__import__("json").dumps([check, json, os, sys, main, install, inspect, '
            'Report, bootstrap.__name__, type(bootstrap).__name__]))'))
        assert values == ["mine", 5, "my-os", "my-sys", "my-main", "my-install", "my-inspect",
                          "my-report", "bootstrap", "module"]
        imported = printed_json(nb.execute(
            "print(__import__('json').dumps([__import__(%r).VALUE, __import__(%r).__file__]))"
            % (module, module)))
        assert imported[0] == 42
        assert imported[1].startswith(hostkit.purelib_of(kernel_python) + os.sep)

    def test_bootstrap_left_by_run_is_the_api(self, nb, tmp_path_factory):
        """`bootstrap` after %run is a real module that outlives the next %run."""
        folder, path, _ = self.upload(tmp_path_factory, "api-after-run")
        assert_clean(nb.execute("%%run %s check %s" % (BOOTSTRAP_PY, path)))
        assert_clean(nb.execute("__nb_first = bootstrap"))
        assert_clean(nb.execute("%%run %s --version" % BOOTSTRAP_PY))
        facts = printed_json(nb.execute(
            'print(__import__("json").dumps([__nb_first.check([%r]).ok, '
            'bootstrap.inspect().ok, __import__("sys").modules["bootstrap"] is bootstrap]))'
            % path))
        assert facts == [True, True, True]

    @pytest.mark.parametrize("args", [["--help"], ["--version"]])
    def test_help_and_version_give_no_system_exit(self, nb, args):
        cell = nb.execute("%%run %s %s" % (BOOTSTRAP_PY, " ".join(args)))
        assert_clean(cell)
        assert "bootstrap.py" in cell.stdout + cell.stderr

    @pytest.mark.parametrize("bare", [False, True], ids=["upload-argument", "no-argument"])
    def test_python_bootstrap_py_installs_the_upload(self, bare, tmp_path_factory,
                                                     kernel_python, nb):
        """`python bootstrap.py bundle.tar.gz` (and, in the upload folder, `python
        bootstrap.py`): install, exit 0; the package then imports in the running kernel."""
        folder, path, module = self.upload(tmp_path_factory, "cli-bare" if bare else "cli")
        proc = cli(kernel_python, *([] if bare else [path]), cwd=folder)
        assert proc.returncode == 0, (proc.stdout, proc.stderr)
        assert proc.stdout.startswith("install: OK"), proc.stdout
        assert "Traceback" not in proc.stdout + proc.stderr
        assert not os.path.exists(os.path.join(folder, "sandbox-profile.json"))
        assert printed_json(nb.execute(
            "print(__import__('json').dumps(__import__(%r).VALUE))" % module)) == 42


# -- what a notebook shows: nbclient, nbconvert's HTML, a screenshot -----------------------------


#: The notebook of docs/notebook-reports.png: check and install, ok and with problems.
REPORT_CELLS = ["%run bootstrap.py check good.tar.gz",
                "%run bootstrap.py check broken.tar.gz",
                "%run bootstrap.py install good.tar.gz",
                "%run bootstrap.py install broken.tar.gz"]


def render_reports(hosts, kernel_python, folder, html_path):
    """Execute REPORT_CELLS with nbclient in ``folder`` (which gets bootstrap.py and the two
    bundles) and write nbconvert's HTML to ``html_path``; returns the executed notebook."""
    import shutil
    folder = str(folder)
    os.makedirs(folder, exist_ok=True)
    shutil.copy(BOOTSTRAP_PY, os.path.join(folder, "bootstrap.py"))
    wheels = os.path.join(folder, ".wheels")
    bundle(folder, "good.tar.gz", wheels, good_specs("show"))
    bundle(folder, "broken.tar.gz", wheels, broken_specs("show"))
    shutil.rmtree(wheels)
    return hostkit.render_notebook(hosts, kernel_python, REPORT_CELLS, folder,
                                   os.path.join(folder, ".jupyter"), html_path)


class TestRendered:
    """The four reports of REPORT_CELLS, executed by nbclient in a real kernel and exported
    by nbconvert: what a person sees (docs/notebook-reports.png is this HTML in Chromium)."""

    @pytest.fixture(scope="class")
    @classmethod
    def rendered(cls, hosts, kernel_python, tmp_path_factory):
        folder = tmp_path_factory.mktemp("rendered")
        html_path = folder / "reports.html"
        notebook = render_reports(hosts, kernel_python, folder / "nb", html_path)
        return notebook, html_path.read_text(encoding="utf-8")

    def outputs(self, rendered, index):
        notebook, _ = rendered
        return notebook["cells"][index]["outputs"]

    def html_of(self, rendered, index):
        (data,) = [o["data"] for o in self.outputs(rendered, index)
                   if o.get("output_type") == "display_data"
                   and "sandbox-bootstrap-report" in o["data"].get("text/html", "")]
        return data["text/html"]

    @pytest.mark.parametrize("index,command,status", [
        (0, "check", "OK"), (1, "check", "FAILED"), (2, "install", "OK"),
        (3, "install", "FAILED")])
    def test_heading_with_command_and_coloured_status(self, rendered, index, command, status):
        html = self.html_of(rendered, index)
        colour = {"OK": "#1a7f37", "FAILED": "#cf222e"}[status]
        assert re.search(r"<h3[^>]*>%s <span class='sandbox-bootstrap-status' style='"
                         r"background:%s;[^']*'>%s</span></h3>" % (command, colour, status),
                         html), html
        assert "<p>Bundle: " in html

    def test_fix_commands_are_code_blocks(self, rendered):
        html = self.html_of(rendered, 1)
        blocks = re.findall(r"<pre[^>]*><code>(.*?)</code></pre>", html, re.S)
        assert len(blocks) == 2, html  # the one online command and its pip alternative
        assert blocks[0].startswith("python tools/bundle.py ")
        assert blocks[1].startswith("pip download ")

    def test_next_rows_do_not_repeat_the_fixes(self, rendered):
        html = self.html_of(rendered, 1)
        nexts = re.findall(r"<th[^>]*>next</th><td[^>]*>(.*?)</td>", html, re.S)
        assert nexts, html
        blocks = re.findall(r"<pre[^>]*><code>(.*?)</code></pre>", html, re.S)
        for step in nexts:
            assert not any(block in step for block in blocks), step
        assert any("bootstrap.check([" in step for step in nexts), nexts
        assert not any("python bootstrap.py" in step for step in nexts), nexts

    def test_ok_check_says_how_to_install_from_the_notebook(self, rendered):
        html = self.html_of(rendered, 0)
        assert "<code>bootstrap.install([&#x27;good.tar.gz&#x27;])</code>" in html or \
            "<code>bootstrap.install([&#39;good.tar.gz&#39;])</code>" in html or \
            "<code>bootstrap.install(['good.tar.gz'])</code>" in html, html

    def test_no_stderr_anywhere(self, rendered):
        notebook, _ = rendered
        for cell in notebook["cells"]:
            for output in cell["outputs"]:
                assert output.get("name") != "stderr", output
                assert output.get("output_type") != "error", output

    def test_nbconvert_html_holds_the_reports(self, rendered):
        _, html = rendered
        assert html.count("sandbox-bootstrap-report") == 4
        for command, status in (("check", "OK"), ("check", "FAILED"), ("install", "OK"),
                                ("install", "FAILED")):
            assert "%s <span class='sandbox-bootstrap-status'" % command in html or \
                '%s <span class="sandbox-bootstrap-status"' % command in html, command
        assert len(re.findall(r"<pre[^>]*><code>", html)) >= 4  # the fixes of both failed reports
        assert "sandbox-bootstrap-progress" in html  # the install's progress display


# -- the Python API in a kernel --------------------------------------------------------------------


class TestApi:
    @pytest.fixture(scope="class")
    @classmethod
    def nb(cls, hosts, kernel_python, tmp_path_factory):
        session, cwd = start_kernel(hosts, kernel_python, tmp_path_factory, "api")
        session.cwd = str(cwd)
        assert_clean(session.execute(
            "import sys, json\nsys.path.insert(0, %r)\nimport bootstrap" % BOOTSTRAP_DIR))
        yield session
        session.close()

    @pytest.fixture(scope="class")
    @classmethod
    def bundles(cls, tmp_path_factory):
        folder = tmp_path_factory.mktemp("api-bundles")
        wheels = tmp_path_factory.mktemp("api-wheels")
        return {"good": bundle(folder, "good.tar.gz", wheels, good_specs("api")),
                "broken": bundle(folder, "broken.tar.gz", wheels, broken_specs("api"))}

    def facts(self, nb, setup, expression):
        assert_clean(nb.execute(setup))
        return printed_json(nb.execute("print(json.dumps(%s))" % expression))

    def test_check_returns_a_plain_mapping(self, nb, bundles):
        facts = self.facts(nb, "r = bootstrap.check([%r])" % bundles["good"], """{
            "ok": r.ok, "dict": isinstance(r, dict),
            "roundtrip": json.loads(json.dumps(r)) == r,
            "schema": r["schema"], "status": r["status"],
            "would_install": sorted(i["name"] for i in r["would_install"])}""")
        assert facts == {"ok": True, "dict": True, "roundtrip": True,
                         "schema": "sandbox-bootstrap.report/1", "status": "ok",
                         "would_install": ["zz-apidep", "zz-apipkg"]}

    def test_check_has_the_schema_of_the_cli_json(self, nb, bundles, kernel_python):
        api = self.facts(nb, "r = bootstrap.check([%r])" % bundles["good"], "r")
        proc = cli(kernel_python, "check", bundles["good"], "--json", cwd=nb.cwd)
        assert proc.returncode == 0, proc.stderr
        assert api == json.loads(proc.stdout)

    def test_failed_check_has_problems_with_a_fix(self, nb, bundles):
        facts = self.facts(nb, "r = bootstrap.check([%r])" % bundles["broken"], """{
            "ok": r.ok, "status": r["status"],
            "problems": [[p["code"], p["subject"], p["fix"]["where"]] for p in r["problems"]],
            "markdown": r._repr_markdown_()}""")
        assert facts["ok"] is False
        assert facts["status"] == "failed"
        assert [code for code, _, _ in facts["problems"]] == ["missing-dependency"]
        assert "zz-apiabsent" in facts["problems"][0][1]
        assert facts["problems"][0][2] == "online"
        assert "missing-dependency" in facts["markdown"]

    def test_require_and_profile_keywords(self, nb, bundles, kernel_python, tmp_path):
        profile = tmp_path / "profile.json"
        assert cli(kernel_python, "inspect", "-o", profile, cwd=nb.cwd).returncode == 0
        facts = self.facts(nb, "r = bootstrap.check(bundles=[%r], require=['zz-apidep'], "
                               "profile=%r)" % (bundles["good"], str(profile)),
                           '[r.ok, [i["name"] for i in r["would_install"]]]')
        assert facts == [True, ["zz-apidep"]]

    def test_markdown_and_html_are_tables(self, nb, bundles):
        facts = self.facts(nb, "r = bootstrap.check([%r])" % bundles["good"],
                           "[r._repr_markdown_(), r._repr_html_(), str(r)]")
        markdown, html, text = facts
        assert re.search(r"^\|.*\|\s*$", markdown, re.M) and re.search(r"^\|\s*-+", markdown,
                                                                        re.M), markdown
        assert "zz-apipkg" in markdown
        assert "<table" in html and "zz-apipkg" in html
        assert text.startswith("check: OK")
        assert len(text.splitlines()) <= 25

    def test_display_renders_rich_and_short_text(self, nb, bundles):
        assert_clean(nb.execute("r = bootstrap.check([%r])" % bundles["good"]))
        cell = nb.execute("r")
        assert_clean(cell)
        (data,) = cell.results
        assert "text/html" in data or "text/markdown" in data, data
        assert data["text/plain"].startswith("check: OK"), data  # short text, not a dict repr
        shown = nb.execute("from IPython.display import display; display(r)")
        assert_clean(shown)
        assert any("text/html" in d or "text/markdown" in d for d in shown.displays), shown

    def test_inspect_returns_a_plain_mapping(self, nb, kernel_profile):
        facts = self.facts(nb, "p = bootstrap.inspect()", """{
            "ok": p.ok, "dict": isinstance(p, dict), "target": p["target"],
            "roundtrip": json.loads(json.dumps(p)) == p, "markdown": p._repr_markdown_()}""")
        assert facts["ok"] is True and facts["dict"] is True and facts["roundtrip"] is True
        assert facts["target"] == kernel_profile["target"]
        assert kernel_profile["target"] in facts["markdown"]

    def test_install_into_a_target_imports_at_once(self, nb, bundles, tmp_path):
        target = tmp_path / "target"
        facts = self.facts(nb, "r = bootstrap.install([%r], target=%r)" % (
            bundles["good"], str(target)), """{
            "ok": r.ok, "roundtrip": json.loads(json.dumps(r)) == r,
            "installed": sorted(i["name"] for i in r["installed"])}""")
        assert facts == {"ok": True, "roundtrip": True, "installed": ["zz-apidep", "zz-apipkg"]}
        assert (target / "zz_apipkg" / "__init__.py").is_file()
        value = printed_json(nb.execute(
            "import zz_apipkg; print(json.dumps([zz_apipkg.VALUE, zz_apipkg.__file__]))"))
        assert value == [42, str(target / "zz_apipkg" / "__init__.py")]


# -- progress --------------------------------------------------------------------------------------


class TestProgress:
    """The CLI with stderr on a pseudo-terminal and stdout on a pipe."""

    @pytest.fixture
    def three(self, tmp_path):
        wheels = tmp_path / "wheels"
        specs = [("zz-prog%s" % c, "1.0", {"files": {"zz_prog%s/__init__.py" % c: "X = 1\n"}})
                 for c in "abc"]
        return bundle(tmp_path, "three.tar.gz", wheels, specs)

    def test_progress_on_a_terminal_goes_to_stderr(self, three, tmp_path):
        rc, out, tty = hostkit.run_with_tty_stderr(
            [sys.executable, BOOTSTRAP_PY, "install", three, "--target", tmp_path / "t"],
            cwd=tmp_path)
        assert rc == 0, (out, tty)
        assert re.search(r"installing 3 of 3: zz-prog[abc] \([\d.]+ MB\) [\d.]+s", tty), tty
        assert "installing" not in out
        assert out.startswith("install: OK")

    def test_quiet_with_json(self, three, tmp_path):
        rc, out, tty = hostkit.run_with_tty_stderr(
            [sys.executable, BOOTSTRAP_PY, "install", three, "--target", tmp_path / "t",
             "--json"], cwd=tmp_path)
        assert rc == 0, (out, tty)
        assert "installing" not in tty + out
        assert json.loads(out)["status"] == "ok"
