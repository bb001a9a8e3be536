"""CLI: ``bootstrap.py inspect`` end to end, the profile format, and the acceptance matrix.

Everything here runs bootstrap.py the way a user does, as a script in a subprocess
(``python -I bootstrap/bootstrap.py inspect --json``), with pip's machine-wide configuration
switched off as it is in a user's sandbox. The acceptance matrix runs it in a pip-less venv of
every CPython 3.8-3.13 on this machine inside a network-less namespace (``unshare -rn``); the
refusal tests run it under 2.7, 3.6 and 3.7. Interpreters that are missing are skipped by name.
"""

import io
import json
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile

import pytest

import bootstrap
import installkit  # noqa: E402  (pyenv root / PATH discovery of the interpreters)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOTSTRAP_PY = os.path.join(ROOT, "bootstrap", "bootstrap.py")
SCHEMA = "sandbox-bootstrap.profile/1"
PROFILE_KEYS = ("schema", "marker_environment", "compatible_tags", "python", "implementation",
                "libc", "paths", "pip", "installed", "sandbox")
MARKER_KEYS = ("implementation_name", "implementation_version", "os_name", "platform_machine",
               "platform_release", "platform_system", "platform_version", "python_full_version",
               "platform_python_implementation", "python_version", "sys_platform")
SUPPORTED = ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13")
TOO_OLD = ("2.7", "3.6", "3.7")
TIMEOUT = 180


# -- helpers -------------------------------------------------------------------------------------


def sandbox_env(**extra):
    """The environment of a user's sandbox: none of this machine's pip configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"):
        env.pop(name, None)
    env["PIP_CONFIG_FILE"] = os.devnull
    env.update(extra)
    return env


def run(cmd, cwd=None, env=None, timeout=TIMEOUT):
    return subprocess.run(
        [str(part) for part in cmd], cwd=str(cwd or ROOT), env=env or sandbox_env(),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True, timeout=timeout,
    )


def inspect(*args, python=None, cwd=None, prefix=(), env=None, script=BOOTSTRAP_PY):
    """Run ``PYTHON -I bootstrap.py inspect ARGS`` (under PREFIX, e.g. unshare -rn)."""
    return run(list(prefix) + [python or sys.executable, "-I", script, "inspect"] + list(args),
               cwd=cwd, env=env)


def assert_one_line_error(proc):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr


def pip_version(value):
    """The pip version a profile reports (None for "no pip"), whatever shape the value has."""
    if value in (None, "no pip", False):
        return None
    if isinstance(value, dict):
        return value.get("version")
    return str(value)


def best_named_tag(tags):
    """The target a profile names: its best tag that is not a native linux_* or -any one
    (packaging 26.3 puts linux_* first, but it names no libc)."""
    named = [t for t in tags if not t.split("-")[2].startswith("linux_")
             and not t.endswith("-any")]
    return (named or tags)[0]


def installed_names(data):
    return {bootstrap.canonicalize_name(entry["name"]): entry for entry in data["installed"]}


_PROBE = "import sys; print('%d.%d %s' % (sys.version_info[0], sys.version_info[1], " \
         "sys.executable))"
_found = {}


def _candidates(version):
    paths = []
    roots = [installkit.pyenv_root()]
    pattern = re.compile(r"^%s\.(\d+)$" % re.escape(version))
    for root in [r for r in roots if r and os.path.isdir(os.path.join(r, "versions"))]:
        names = sorted((int(m.group(1)), name) for name in os.listdir(os.path.join(root, "versions"))
                       for m in [pattern.match(name)] if m)
        for _, name in reversed(names):
            paths.append(os.path.join(root, "versions", name, "bin", "python" + version))
    paths.append(shutil.which("python" + version) or "")
    paths += ["/usr/local/bin/python" + version, "/usr/bin/python" + version]
    return [p for i, p in enumerate(paths) if p and os.path.exists(p) and p not in paths[:i]]


def find_python(version):
    """A working CPython VERSION (pyenv's versions, or pythonX.Y on PATH), or None."""
    if version not in _found:
        _found[version] = None
        for path in _candidates(version):
            try:
                proc = run([path, "-c", _PROBE], timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if proc.returncode == 0 and proc.stdout.split()[:1] == [version]:
                _found[version] = path
                break
    return _found[version]


def require_python(version):
    python = find_python(version)
    if python is None:
        pytest.skip("Python %s not found on this machine" % version)
    return python


def unshare_works():
    if not shutil.which("unshare"):
        return False
    try:
        return run(["unshare", "-rn", "true"], timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


# -- inspect --json on this interpreter ----------------------------------------------------------


@pytest.fixture(scope="module")
def profile_run():
    return inspect("--json")


@pytest.fixture(scope="module")
def profile(profile_run):
    assert profile_run.returncode == 0, profile_run.stderr
    return json.loads(profile_run.stdout)


@pytest.fixture(scope="module")
def summary_run():
    return inspect()


class TestInspectJson:
    def test_exits_zero_with_json_and_nothing_on_stderr(self, profile_run):
        assert profile_run.returncode == 0, profile_run.stderr
        json.loads(profile_run.stdout)
        assert "Traceback" not in profile_run.stderr

    def test_schema(self, profile):
        assert profile["schema"] == SCHEMA

    @pytest.mark.parametrize("key", PROFILE_KEYS)
    def test_has_key(self, profile, key):
        assert key in profile

    def test_marker_environment_equals_packaging(self, profile):
        markers = pytest.importorskip("packaging.markers")
        assert profile["marker_environment"] == markers.default_environment()

    def test_marker_environment_has_every_pep508_key(self, profile):
        assert sorted(profile["marker_environment"]) == sorted(MARKER_KEYS)

    def test_compatible_tags_equal_packaging(self, profile):
        tags = pytest.importorskip("packaging.tags")
        assert profile["compatible_tags"] == [str(t) for t in tags.sys_tags()]

    def test_python_names_this_version(self, profile):
        assert platform.python_version() in json.dumps(profile["python"])

    def test_implementation_names_this_implementation(self, profile):
        assert sys.implementation.name in json.dumps(profile["implementation"]).lower()

    def test_libc_names_glibc_version(self, profile):
        manylinux = pytest.importorskip("packaging._manylinux")
        glibc = manylinux._get_glibc_version()
        if glibc[0] < 0:
            pytest.skip("not a glibc system")
        text = json.dumps(profile["libc"])
        assert "glibc" in text
        assert "%d.%d" % tuple(glibc) in text

    def test_paths_say_whether_writable(self, profile):
        assert isinstance(profile["paths"].get("writable"), bool), profile["paths"]

    def test_paths_writable_where_this_user_can_write(self, profile):
        purelib = sysconfig.get_paths()["purelib"]
        if not os.access(purelib, os.W_OK):
            pytest.skip("%s is not writable here" % purelib)
        assert profile["paths"]["writable"] is True

    def test_pip_version_is_the_installed_one(self, profile):
        try:
            from importlib import metadata
        except ImportError:  # Python < 3.8 never gets here
            pytest.skip("no importlib.metadata")
        try:
            expected = metadata.version("pip")
        except metadata.PackageNotFoundError:
            expected = None
        assert pip_version(profile["pip"]) == expected

    def test_installed_lists_distributions_with_requires(self, profile):
        packaging = pytest.importorskip("packaging")
        names = installed_names(profile)
        assert "packaging" in names and "pytest" in names
        assert names["packaging"]["version"] == packaging.__version__
        for entry in profile["installed"]:
            assert {"name", "version", "requires"} <= set(entry), entry
            assert isinstance(entry["requires"], list)
        assert any("pluggy" in req for req in names["pytest"]["requires"])

    def test_sandbox_is_an_object(self, profile):
        assert isinstance(profile["sandbox"], dict)

    def test_json_is_deterministic(self, profile):
        again = inspect("--json")
        assert again.returncode == 0
        assert json.loads(again.stdout) == profile


class TestInspectOutputFile:
    def test_json_and_file_are_the_same(self, tmp_path):
        target = tmp_path / "profile.json"
        proc = inspect("--json", "-o", target)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(target.read_text()) == json.loads(proc.stdout)

    def test_file_without_json_flag_holds_the_profile(self, tmp_path, profile):
        target = tmp_path / "profile.json"
        proc = inspect("-o", target)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(target.read_text()) == profile
        assert "Traceback" not in proc.stderr

    def test_file_is_read_back_by_profile_from_file(self, tmp_path, profile):
        target = tmp_path / "profile.json"
        assert inspect("-o", target).returncode == 0
        loaded = bootstrap.Profile.from_file(str(target))
        assert [str(t) for t in loaded.tags] == profile["compatible_tags"]
        assert loaded.marker_environment == profile["marker_environment"]
        assert loaded.target_tag == best_named_tag(profile["compatible_tags"])


class TestTarget:
    """The target names the best tag, passing over native linux_* tags (packaging 26.3 puts
    them first, but they name no libc: a bundle is built for the manylinux one after them)."""

    ENV = dict.fromkeys(bootstrap.MARKER_VARIABLES, "")

    @pytest.mark.parametrize("tags, target", [
        (["cp311-cp311-linux_x86_64", "cp311-cp311-manylinux_2_36_x86_64", "py3-none-any"],
         "cp311-cp311-manylinux_2_36_x86_64"),
        (["cp312-cp312-manylinux_2_17_aarch64", "cp312-cp312-linux_aarch64"],
         "cp312-cp312-manylinux_2_17_aarch64"),
        (["cp310-cp310-linux_x86_64", "py3-none-any"], "cp310-cp310-linux_x86_64"),
        (["cp312-cp312-pyodide_2024_0_wasm32", "py3-none-any"],
         "cp312-cp312-pyodide_2024_0_wasm32"),
        (["py3-none-any"], "py3-none-any"),
    ])
    def test_target(self, tags, target):
        profile = bootstrap.Profile(self.ENV, [bootstrap.Tag(*t.split("-")) for t in tags])
        assert profile.target_tag == target


class TestInspectSummary:
    def test_exits_zero(self, summary_run):
        assert summary_run.returncode == 0, summary_run.stderr
        assert "Traceback" not in summary_run.stderr

    def test_names_python_version(self, summary_run):
        assert platform.python_version() in summary_run.stdout

    def test_names_implementation(self, summary_run):
        assert platform.python_implementation().lower() in summary_run.stdout.lower()

    def test_names_platform(self, summary_run, profile):
        env = profile["marker_environment"]
        assert env["platform_system"] in summary_run.stdout
        assert env["platform_machine"] in summary_run.stdout

    def test_names_libc(self, summary_run, profile):
        libc = profile["libc"]
        if not (isinstance(libc, dict) and libc.get("version")):
            pytest.skip("no libc version on this machine")
        assert libc["version"] in summary_run.stdout
        assert str(libc.get("kind")) in summary_run.stdout

    def test_names_tag_count(self, summary_run, profile):
        count = str(len(profile["compatible_tags"]))
        assert re.search(r"\b%s\b" % count, summary_run.stdout), summary_run.stdout

    def test_names_install_location_and_writable(self, summary_run, profile):
        paths = profile["paths"]
        places = [p for p in (paths.get("install"), paths.get("purelib")) if p]
        assert any(place in summary_run.stdout for place in places), summary_run.stdout
        text = summary_run.stdout.lower()
        assert "writable" in text
        assert ("not writable" in text) == (not paths["writable"])

    def test_names_pip_version(self, summary_run, profile):
        version = pip_version(profile["pip"])
        assert (version or "no pip") in summary_run.stdout

    def test_names_target_string(self, summary_run, profile):
        target = best_named_tag(profile["compatible_tags"])
        assert re.search(r"(^|\s)%s(\s|$)" % re.escape(target), summary_run.stdout, re.M)

    def test_is_short(self, summary_run):
        assert len(summary_run.stdout.splitlines()) <= 25


# -- Profile.from_json ---------------------------------------------------------------------------


class TestProfileFromJson:
    def test_round_trips_text(self, profile):
        loaded = bootstrap.Profile.from_json(json.dumps(profile))
        assert json.loads(json.dumps(loaded.to_json())) == profile

    def test_round_trips_mapping(self, profile):
        loaded = bootstrap.Profile.from_json(profile)
        assert json.loads(json.dumps(loaded.to_json())) == profile
        assert loaded.target_tag == best_named_tag(profile["compatible_tags"])
        assert [str(t) for t in loaded.tags] == profile["compatible_tags"]

    def test_current_round_trips(self):
        data = json.loads(json.dumps(bootstrap.Profile.current().to_json()))
        assert json.loads(json.dumps(bootstrap.Profile.from_json(data).to_json())) == data

    @pytest.mark.parametrize(
        "text, named",
        [
            ("{not json", "JSON"),
            ("", "JSON"),
            ("[1, 2]", "object"),
        ],
        ids=["broken", "empty", "array"],
    )
    def test_rejects_broken_json(self, text, named):
        with pytest.raises(bootstrap.InvalidProfile) as caught:
            bootstrap.Profile.from_json(text)
        assert named.lower() in str(caught.value).lower()

    def test_rejects_foreign_schema(self, profile):
        foreign = dict(profile, schema="sandbox-bootstrap.report/1")
        with pytest.raises(bootstrap.InvalidProfile) as caught:
            bootstrap.Profile.from_json(json.dumps(foreign))
        assert "sandbox-bootstrap.report/1" in str(caught.value)

    @pytest.mark.parametrize("key", ["marker_environment", "compatible_tags"])
    def test_rejects_missing_key(self, profile, key):
        broken = {k: v for k, v in profile.items() if k != key}
        with pytest.raises(bootstrap.InvalidProfile) as caught:
            bootstrap.Profile.from_json(json.dumps(broken))
        assert key in str(caught.value)

    def test_rejects_missing_marker_variable(self, profile):
        env = {k: v for k, v in profile["marker_environment"].items() if k != "python_version"}
        with pytest.raises(bootstrap.InvalidProfile) as caught:
            bootstrap.Profile.from_json(dict(profile, marker_environment=env))
        assert "python_version" in str(caught.value)

    def test_invalid_profile_is_a_bootstrap_error_and_value_error(self):
        with pytest.raises(bootstrap.InvalidProfile) as caught:
            bootstrap.Profile.from_json("{")
        assert isinstance(caught.value, bootstrap.BootstrapError)
        assert isinstance(caught.value, ValueError)
        assert isinstance(caught.value.code, str) and caught.value.code

    def test_from_file_names_a_missing_file(self, tmp_path):
        missing = str(tmp_path / "no-such-profile.json")
        with pytest.raises(bootstrap.InvalidProfile) as caught:
            bootstrap.Profile.from_file(missing)
        assert missing in str(caught.value)

    def test_from_file_names_a_broken_file(self, tmp_path):
        broken = tmp_path / "broken.json"
        broken.write_text('{"schema": "sandbox-bootstrap.profile/1",')
        with pytest.raises(bootstrap.InvalidProfile) as caught:
            bootstrap.Profile.from_file(str(broken))
        assert str(broken) in str(caught.value)


# -- bad input on the command line ---------------------------------------------------------------


class TestCliErrors:
    def test_output_in_missing_folder(self, tmp_path):
        target = tmp_path / "no" / "such" / "folder" / "profile.json"
        proc = inspect("-o", target)
        assert_one_line_error(proc)
        assert str(target) in proc.stderr

    def test_output_is_a_folder(self, tmp_path):
        proc = inspect("--json", "-o", tmp_path)
        assert_one_line_error(proc)
        assert str(tmp_path) in proc.stderr

    @pytest.mark.parametrize(
        "argv",
        [["inspect", "--bogus"], ["no-such-command"], ["inspect", "-o"]],
        ids=["unknown-option", "unknown-command", "output-without-file"],
    )
    def test_usage_errors_exit_2_without_traceback(self, argv):
        proc = run([sys.executable, "-I", BOOTSTRAP_PY] + argv)
        assert proc.returncode == 2, (proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr + proc.stdout
        assert proc.stderr.strip()

    def test_no_argument_does_what_the_exec_cell_does(self, tmp_path):
        """No argument at all (SPEC 2.1): with nothing uploaded in the current folder, the
        interpreter's summary, its profile written there, and how to build a bundle."""
        before = sorted(os.listdir(str(tmp_path)))
        proc = run([sys.executable, "-I", BOOTSTRAP_PY], cwd=tmp_path)
        assert proc.returncode == 0, (proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr + proc.stdout
        profile = json.loads((tmp_path / "sandbox-profile.json").read_text())
        assert profile["schema"] == SCHEMA
        assert sorted(os.listdir(str(tmp_path))) == sorted(before + ["sandbox-profile.json"])
        assert "Target: %s" % profile["target"] in proc.stdout
        assert "No bundle found in %s" % tmp_path in proc.stdout
        assert "tools/bundle.py" in proc.stdout

    def test_no_argument_outside_a_notebook_says_to_run_the_command_again(self, tmp_path):
        """In a shell there is no cell to re-run: the last step names the command itself."""
        proc = run([sys.executable, "-I", BOOTSTRAP_PY], cwd=tmp_path)
        assert proc.returncode == 0, (proc.stdout, proc.stderr)
        last = proc.stdout.strip().splitlines()[-1]
        assert "cell" not in last, last
        assert last.endswith("then upload bundle.tar.gz here and run python bootstrap.py "
                             "again."), last
        assert ": python tools/bundle.py REQUIREMENT... --profile sandbox-profile.json -o "\
               "bundle.tar.gz;" in last, last

    @pytest.mark.parametrize("flag", ["--help", "--version"])
    def test_help_and_version_return_0_from_main(self, flag, capsys):
        """main() answers them and returns 0 (no SystemExit: %run in IPython calls it)."""
        assert bootstrap.main([flag]) == 0
        assert capsys.readouterr().out.strip()

    def test_main_returns_2_for_bad_output(self, tmp_path, capsys):
        target = str(tmp_path / "missing" / "profile.json")
        assert bootstrap.main(["inspect", "-o", target]) == 2
        err = capsys.readouterr().err
        assert target in err and "Traceback" not in err

    def test_main_returns_0_and_writes_json(self):
        out = io.StringIO()
        assert bootstrap.main(["inspect", "--json"], out=out) == 0
        assert json.loads(out.getvalue())["schema"] == SCHEMA


# -- the acceptance matrix: every CPython 3.8-3.13, no pip, no network ---------------------------


class TestAcceptanceMatrix:
    @pytest.mark.parametrize("version", SUPPORTED)
    def test_inspect_in_pipless_venv_without_network(self, version, tmp_path):
        python = require_python(version)
        if not unshare_works():
            pytest.skip("`unshare -rn true` does not work here (no user namespaces)")
        venv = tmp_path / "venv"
        made = run([python, "-m", "venv", "--without-pip", venv])
        assert made.returncode == 0, made.stderr
        venv_python = venv / "bin" / "python"
        proc = inspect("--json", python=venv_python, cwd=tmp_path, prefix=["unshare", "-rn"])
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
        data = json.loads(proc.stdout)
        assert data["schema"] == SCHEMA
        assert pip_version(data["pip"]) is None
        assert "pip" not in installed_names(data)
        assert data["compatible_tags"]
        assert all(len(tag.split("-")) == 3 for tag in data["compatible_tags"])
        assert data["marker_environment"]["python_version"] == version
        assert data["compatible_tags"][0].startswith("cp" + version.replace(".", ""))
        assert bootstrap.Profile.from_json(proc.stdout).target_tag == best_named_tag(
            data["compatible_tags"])

    @pytest.mark.parametrize("version", SUPPORTED)
    def test_summary_in_pipless_venv_says_no_pip(self, version, tmp_path):
        python = require_python(version)
        if not unshare_works():
            pytest.skip("`unshare -rn true` does not work here (no user namespaces)")
        venv = tmp_path / "venv"
        assert run([python, "-m", "venv", "--without-pip", venv]).returncode == 0
        proc = inspect(python=venv / "bin" / "python", cwd=tmp_path, prefix=["unshare", "-rn"])
        assert proc.returncode == 0, proc.stderr
        assert "no pip" in proc.stdout
        assert "Traceback" not in proc.stderr


class TestRefusesOldPython:
    @pytest.mark.parametrize("version", TOO_OLD)
    def test_one_sentence_and_exit_2(self, version, tmp_path):
        python = require_python(version)
        proc = run([python, BOOTSTRAP_PY, "inspect"], cwd=tmp_path)
        assert proc.returncode == 2, (proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr and "SyntaxError" not in proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert "3.8" in lines[0]
        assert proc.stdout == ""

    @pytest.mark.parametrize("version", TOO_OLD)
    def test_json_flag_is_refused_the_same_way(self, version, tmp_path):
        python = require_python(version)
        proc = run([python, BOOTSTRAP_PY, "inspect", "--json"], cwd=tmp_path)
        assert proc.returncode == 2
        assert "Traceback" not in proc.stderr and "SyntaxError" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1


# -- another user: the interpreter's site-packages is not theirs ---------------------------------


@pytest.fixture
def world_readable_copy():
    """bootstrap.py copied into a folder every user can read (the checkout may not be)."""
    folder = tempfile.mkdtemp(prefix="sandbox-bootstrap-nobody-")
    try:
        os.chmod(folder, 0o755)
        script = os.path.join(folder, "bootstrap.py")
        shutil.copyfile(BOOTSTRAP_PY, script)
        os.chmod(script, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
        yield folder, script
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_WHERE = ("import json, sys, sysconfig; print(json.dumps([sys.version_info[:2], sys.prefix, "
          "sysconfig.get_paths()['purelib']]))")


class TestOtherUser:
    SETPRIV = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

    def _python_for_nobody(self, folder, env):
        """(python, purelib): an interpreter that user nobody runs exactly as root does."""
        candidates = [sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"]
        candidates += [find_python(v) for v in SUPPORTED]
        reasons = []
        for python in [c for c in candidates if c and os.path.exists(c)]:
            as_root = run([python, "-I", "-c", _WHERE], cwd=folder, env=env)
            as_nobody = run(self.SETPRIV + [python, "-I", "-c", _WHERE], cwd=folder, env=env)
            if as_nobody.returncode != 0 or as_root.stdout != as_nobody.stdout:
                reasons.append("%s: %s" % (python, (as_nobody.stderr.strip() or "its prefix "
                                                    "differs for nobody")[-200:]))
                continue
            version, _, purelib = json.loads(as_root.stdout)
            if tuple(version) >= (3, 8):
                return python, purelib
        pytest.skip("no interpreter that user nobody can run as root does: %s" % reasons)

    def test_site_packages_not_writable_for_nobody(self, world_readable_copy):
        if not hasattr(os, "geteuid") or os.geteuid() != 0:
            pytest.skip("needs root to switch to user nobody")
        if not shutil.which("setpriv"):
            pytest.skip("setpriv is missing")
        folder, script = world_readable_copy
        env = sandbox_env(HOME="/nonexistent")
        python, purelib = self._python_for_nobody(folder, env)
        proc = inspect("--json", python=python, cwd=folder, prefix=self.SETPRIV, env=env,
                       script=script)
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        assert data["paths"]["writable"] is False, data["paths"]
        assert data["paths"].get("purelib") == purelib
        summary = inspect(python=python, cwd=folder, prefix=self.SETPRIV, env=env, script=script)
        assert summary.returncode == 0, summary.stderr
        assert "not writable" in summary.stdout.lower()
        assert purelib in summary.stdout

    def test_site_packages_writable_for_its_owner(self, world_readable_copy):
        folder, script = world_readable_copy
        purelib = sysconfig.get_paths()["purelib"]
        if not os.access(purelib, os.W_OK):
            pytest.skip("%s is not writable by this user" % purelib)
        proc = inspect("--json", cwd=folder, script=script)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["paths"]["writable"] is True
