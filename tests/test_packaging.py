"""The project as an installed package (issue 13, acceptance).

    TestWheel       the project's own wheel, built from a copy of the checkout with setuptools
                    (no build isolation: offline), prints no warning, holds `bootstrap` and the
                    package `sandbox_bundle` (every builder module of tools/, its presets), a
                    LICENSE with a PEP 639 expression, and no development script, no `tools`
    TestInstalled   the wheel installed into a fresh venv, offline, from the pinned
                    builder-deps set: nothing named `tools` lands in site-packages;
                    `sandbox-bootstrap --help` and `inspect` name the console scripts;
                    `sandbox-bundle` writes a real bundle from a local index (tests/indexkit.py)
                    that bootstrap's check accepts, with bootstrap.py found where it is installed
    TestCheckout    `python tools/bundle.py` on a Python without packaging: one line, exit 2
"""
import glob
import json
import os
import re
import shutil
import sys
import zipfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import indexkit  # noqa: E402
import realwheels  # noqa: E402
from installkit import Venv, clean_env, run  # noqa: E402

ROOT = indexkit.ROOT
DEV_SCRIPTS = ("run_tests.py", "bench.py", "sections.py")
BUILDER_MODULES = sorted(name for name in os.listdir(os.path.join(ROOT, "tools"))
                         if name.endswith(".py") and name not in DEV_SCRIPTS)

import setuptools  # noqa: E402,F401  (>=77, in the [test] extra: the backend the build uses)


def _copy_checkout(dest):
    """What a source distribution or a fresh clone holds: no .cache, no build/ or egg-info."""
    os.makedirs(dest)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(os.path.join(ROOT, name), dest)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for folder in ("bootstrap", "tools"):
        shutil.copytree(os.path.join(ROOT, folder), os.path.join(dest, folder), ignore=ignore)
    return dest


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(wheel path, the build's output) of the project's wheel, built with setuptools' PEP 517
    backend in a copy of the checkout (the checkout itself is never written)."""
    work = tmp_path_factory.mktemp("wheel-build")
    source = _copy_checkout(str(work / "src"))
    out = str(work / "dist")
    env = clean_env()  # no PYTHONDONTWRITEBYTECODE, no PIP_*: a user's shell
    proc = run([sys.executable, "-W", "default", "-c",
                "import sys; from setuptools import build_meta; "
                "print('BUILT', build_meta.build_wheel(sys.argv[1]))", out],
               cwd=source, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    name = re.search(r"^BUILT (\S+)$", proc.stdout, re.M).group(1)
    return os.path.join(out, name), proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def members(built):
    with zipfile.ZipFile(built[0]) as archive:
        return archive.namelist()


class TestWheel:
    def test_the_build_prints_no_warning(self, built):
        warnings = [line for line in built[1].splitlines()
                    if re.search(r"warn|deprecat|!!", line, re.I)]
        assert warnings == [], built[1]

    def test_top_level_is_bootstrap_and_sandbox_bundle_only(self, members):
        top = sorted(set(name.split("/")[0] for name in members))
        assert top == ["bootstrap.py", "sandbox_bootstrap-0.1.0.dist-info", "sandbox_bundle"]

    def test_every_builder_module_and_preset_and_no_development_script(self, members):
        shipped = sorted(n.split("/", 1)[1] for n in members if n.startswith("sandbox_bundle/")
                         and n.count("/") == 1)
        assert shipped == BUILDER_MODULES
        presets = sorted(os.path.basename(p) for p in glob.glob(
            os.path.join(ROOT, "tools", "presets", "*.json")))
        assert sorted(n.rsplit("/", 1)[1] for n in members
                      if n.startswith("sandbox_bundle/presets/")) == presets
        assert not [n for n in members if os.path.basename(n) in DEV_SCRIPTS]

    def test_license_file_and_expression(self, built, members):
        assert "sandbox_bootstrap-0.1.0.dist-info/licenses/LICENSE" in members
        with zipfile.ZipFile(built[0]) as archive:
            metadata = archive.read("sandbox_bootstrap-0.1.0.dist-info/METADATA").decode()
            license_text = archive.read("sandbox_bootstrap-0.1.0.dist-info/licenses/LICENSE")
        assert re.search(r"^License-Expression: MIT$", metadata, re.M), metadata
        assert re.search(r"^License-File: LICENSE$", metadata, re.M), metadata
        assert not re.search(r"^License: ", metadata, re.M)
        with open(os.path.join(ROOT, "LICENSE"), "rb") as f:
            assert license_text == f.read()
        assert license_text.startswith(b"MIT License")

    def test_entry_points_are_the_two_console_scripts(self, built):
        with zipfile.ZipFile(built[0]) as archive:
            text = archive.read("sandbox_bootstrap-0.1.0.dist-info/entry_points.txt").decode()
        lines = sorted(line.strip() for line in text.splitlines() if "=" in line)
        assert lines == ["sandbox-bootstrap = bootstrap:main",
                         "sandbox-bundle = sandbox_bundle.bundle:main"]


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory):
    """A fresh venv with the wheel installed offline (dependencies from the pinned set)."""
    deps = realwheels.require_set("builder-deps")
    venv = Venv(tmp_path_factory.mktemp("installed") / "venv", sys.executable, with_pip=True)
    before = set(os.listdir(venv.site_packages))
    proc = venv.pip("install", "--no-index", "--find-links", deps, built[0])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return venv, before


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    folder = realwheels.require_set("six-delta")
    root = str(tmp_path_factory.mktemp("index"))
    indexkit.build_index(root, [os.path.join(folder, n) for n in sorted(os.listdir(folder))])
    with indexkit.LocalIndex(root) as served:
        yield served


class TestInstalled:
    def test_site_packages_gains_no_tools(self, installed):
        venv, before = installed
        added = set(os.listdir(venv.site_packages)) - before
        assert "tools" not in added and not os.path.exists(
            os.path.join(venv.site_packages, "tools"))
        ours = sorted(a for a in added if a.startswith(("bootstrap", "sandbox")))
        assert ours == ["bootstrap.py", "sandbox_bootstrap-0.1.0.dist-info", "sandbox_bundle"]

    def test_sandbox_bootstrap_names_itself_and_suggests_sandbox_bundle(self, installed,
                                                                          tmp_path):
        venv, _ = installed
        script = os.path.join(venv.bin, "sandbox-bootstrap")
        helped = run([script, "--help"], cwd=str(tmp_path), env=clean_env())
        assert helped.returncode == 0 and helped.stdout.startswith("usage: sandbox-bootstrap "), (
            helped.stdout + helped.stderr)
        inspected = run([script, "inspect"], cwd=str(tmp_path), env=clean_env())
        assert inspected.returncode == 0, inspected.stderr
        assert re.search(r"^  sandbox-bundle REQUIREMENT\.\.\. --profile \S+ -o bundle\.tar\.gz$",
                         inspected.stdout, re.M), inspected.stdout
        assert "tools/bundle.py" not in inspected.stdout

    def test_sandbox_bootstrap_without_argument_names_the_console_scripts(self, installed,
                                                                           tmp_path):
        """No argument and no upload: the profile is written and the way on names
        `sandbox-bundle` and `sandbox-bootstrap`, the commands this install has."""
        venv, _ = installed
        proc = run([os.path.join(venv.bin, "sandbox-bootstrap")], cwd=str(tmp_path),
                   env=clean_env())
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert os.listdir(str(tmp_path)) == ["sandbox-profile.json"]
        last = proc.stdout.strip().splitlines()[-1]
        assert ": sandbox-bundle REQUIREMENT... --profile sandbox-profile.json -o "\
               "bundle.tar.gz;" in last, last
        assert last.endswith("here and run sandbox-bootstrap again."), last
        assert "tools/bundle.py" not in proc.stdout

    def test_sandbox_bootstrap_next_steps_name_sandbox_bootstrap(self, installed, make_wheel,
                                                                  tmp_path):
        """The next step of a check run by the console script is a command this install has."""
        venv, _ = installed
        make_wheel("zz-needy", "1.0", requires=["zz-absent>=1"])
        proc = run([os.path.join(venv.bin, "sandbox-bootstrap"), "check",
                    str(tmp_path / "wheels")], cwd=str(tmp_path), env=clean_env())
        assert proc.returncode == 1, proc.stdout + proc.stderr
        steps = [line for line in proc.stdout.splitlines() if line.startswith("Next:")]
        assert len(steps) == 1 and ": sandbox-bootstrap check " in steps[0], proc.stdout
        assert "bootstrap.py" not in steps[0], steps

    def test_sandbox_bundle_writes_a_real_bundle_from_a_local_index(self, installed, index,
                                                                     tmp_path):
        venv, _ = installed
        profile = str(tmp_path / "profile.json")
        proc = run([os.path.join(venv.bin, "sandbox-bootstrap"), "inspect", "-o", profile],
                   cwd=str(tmp_path), env=clean_env())
        assert proc.returncode == 0, proc.stderr
        output = str(tmp_path / "b.tar.gz")
        proc = run([os.path.join(venv.bin, "sandbox-bundle"), "six==1.16.0", "--profile",
                    profile, "-o", output], cwd=str(tmp_path), env=indexkit.tool_env(index.url))
        assert proc.returncode == 0, indexkit.output_of(proc)
        assert "Traceback" not in proc.stderr
        bundle = indexkit.read_bundle(output)  # the manifest is validated by the schema hook
        assert bundle.wheel_files == ["six-1.16.0-py2.py3-none-any.whl"]
        with open(os.path.join(venv.site_packages, "bootstrap.py"), "rb") as f:
            assert bundle.members["bootstrap.py"] == f.read()
        checked = run([os.path.join(venv.bin, "sandbox-bootstrap"), "check", output, "--json"],
                      cwd=str(tmp_path), env=clean_env())
        report = json.loads(checked.stdout)
        assert checked.returncode == 0 and report["would_install"][0]["name"] == "six", report

    def test_sandbox_bundle_prints_its_own_command_and_it_runs_as_printed(self, installed,
                                                                          index, tmp_path):
        """In a shell with the venv active, a bundle the check refuses (six 9.9 does not exist)
        is not written; the command to write it anyway is `sandbox-bundle` with this run's
        options and --force, and run as printed it writes that bundle."""
        import shlex
        venv, _ = installed
        env = indexkit.tool_env("http://127.0.0.1:9/simple/")  # only -i finds anything
        env["PATH"] = venv.bin + os.pathsep + env.get("PATH", "")
        args = ["six==9.9", "--profile", "cp311-cp311-manylinux_2_36_x86_64", "-o", "b.tar.gz",
                "-i", index.url]
        first = run([os.path.join(venv.bin, "sandbox-bundle")] + args, cwd=str(tmp_path),
                    env=env)
        assert first.returncode == 1, indexkit.output_of(first)
        [command] = [line.split(" run: ", 1)[1] for line in first.stderr.splitlines()
                     if "to write it anyway, run: " in line]
        assert shlex.split(command) == ["sandbox-bundle"] + args + ["--force"], command
        assert os.listdir(str(tmp_path)) == []
        forced = run(shlex.split(command), cwd=str(tmp_path), env=env)
        assert forced.returncode == 0, indexkit.output_of(forced)
        bundle = indexkit.read_bundle(str(tmp_path / "b.tar.gz"))
        assert bundle.manifest["roots"] == ["six==9.9"] and bundle.wheel_files == []


class TestCheckout:
    def test_bundle_py_without_packaging_says_what_to_install(self, tmp_path):
        venv = Venv(tmp_path / "bare", sys.executable)
        proc = run([venv.python, os.path.join(ROOT, "tools", "bundle.py"), "six", "--profile",
                    "chatgpt-code-interpreter", "-o", str(tmp_path / "b.tar.gz")],
                   cwd=str(tmp_path), env=clean_env())
        assert proc.returncode == 2, proc.stdout + proc.stderr
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and "pip install" in lines[0] and "packaging" in lines[0], lines
        assert proc.stdout == "" and not os.path.exists(str(tmp_path / "b.tar.gz"))

    @pytest.mark.parametrize("with_pip", [False, True], ids=["without-pip", "with-pip"])
    def test_the_install_command_run_as_printed_lets_the_builder_run(self, with_pip,
                                                                      tmp_path):
        """The command the one line gives, run as printed by a POSIX shell (the venv at a
        path with a space; without pip it gets pip first) against an index of the pinned
        builder-deps wheels, installs what the builder needs: it then runs."""
        deps = realwheels.require_set("builder-deps")
        root = str(tmp_path / "index")
        indexkit.build_index(root, [os.path.join(deps, n) for n in sorted(os.listdir(deps))])
        venv = Venv(tmp_path / "my venv", sys.executable, with_pip=with_pip)
        bundle_py = os.path.join(ROOT, "tools", "bundle.py")
        with indexkit.LocalIndex(root) as served:
            env = indexkit.tool_env(served.url)
            first = run([venv.python, bundle_py, "--help"], cwd=str(tmp_path), env=env)
            assert first.returncode == 2, first.stdout + first.stderr
            command = first.stderr.strip().split("install them with: ", 1)[1]
            installed = run(["sh", "-c", command], cwd=str(tmp_path), env=env)
            assert installed.returncode == 0, command + installed.stdout + installed.stderr
        again = run([venv.python, bundle_py, "--help"], cwd=str(tmp_path), env=env)
        assert again.returncode == 0 and "--profile" in again.stdout, again.stderr
