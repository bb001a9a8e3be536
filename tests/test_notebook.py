"""Notebook entry points (SPEC 2.1, issue 5), in a REAL ipykernel driven through jupyter_client.

    TestExecWithoutBundle   exec(open('bootstrap.py').read()) with nothing uploaded: the
                            interpreter summary, the target, sandbox-profile.json in the cwd,
                            how to build a bundle; exactly one new name (`bootstrap`); the
                            kernel's sys.argv ignored; running it twice is harmless
    TestExecWithBundle      a bundle in the cwd: installed, the report displayed, the package
                            imports in the next cell without a restart, progress on stderr
    TestExecNotebookFolder  the bundle next to the notebook (JPY_SESSION_NAME), not in the cwd
    TestExecFailing         a missing dependency and a corrupt upload: problem and fix shown,
                            no SystemExit, no traceback, nothing half-installed, kernel alive
    TestRun                 %run bootstrap.py check/install: the CLI's text report, never
                            SystemExit (exit code 1 results, usage errors, unreadable input)
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
            assert "usage" not in cell.text.lower()
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

    def test_progress_goes_to_stderr(self, first_run):
        assert re.search(r"installing \d+ of 2", first_run.stderr), first_run
        assert "installing" not in first_run.stdout

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

    def test_check_prints_the_cli_report(self, nb, bundles, kernel_python):
        cell = self.run_cell(nb, "check", bundles["good"])
        assert_clean(cell)
        proc = cli(kernel_python, "check", bundles["good"], cwd=nb.cwd)
        assert proc.returncode == 0, proc.stderr
        assert cell.stdout == proc.stdout
        assert cell.stdout.startswith("check: OK")

    def test_something_missing_gives_no_system_exit(self, nb, bundles, kernel_python):
        proc = cli(kernel_python, "check", bundles["broken"], cwd=nb.cwd)
        assert proc.returncode == 1, "the CLI's exit code for this case changed: %r" % (proc,)
        cell = self.run_cell(nb, "check", bundles["broken"])
        assert_clean(cell)
        assert cell.stdout == proc.stdout
        assert "missing-dependency" in cell.stdout
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
        assert cell.stdout.startswith("install: OK"), cell
        assert "installing" not in cell.stdout  # progress is for stderr
        facts = printed_json(nb.execute(
            'import zz_runpkg; print(__import__("json").dumps(zz_runpkg.VALUE))'))
        assert facts == 42

    def test_install_with_something_missing_gives_no_system_exit(self, nb, bundles):
        cell = self.run_cell(nb, "install", bundles["broken"])
        assert_clean(cell)
        assert cell.stdout.startswith("install: FAILED"), cell
        assert "missing-dependency" in cell.stdout
        assert nb.alive()

    def test_install_json(self, nb, bundles, tmp_path):
        cell = self.run_cell(nb, "install", bundles["json"], "--target", tmp_path / "t", "--json")
        assert_clean(cell)
        report = json.loads(cell.stdout)
        assert report["schema"] == "sandbox-bootstrap.report/1"
        assert report["status"] == "ok"
        assert "installing" not in cell.stderr


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
