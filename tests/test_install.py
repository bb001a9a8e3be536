"""install: bootstrap's own wheel installer against pip, and what SPEC 2.3 asks of it.

Every test installs into a folder of its own under tmp_path: a fresh venv (``python -m venv``),
a ``--target`` folder, a small tmpfs, or a read-only bind mount. Nothing is installed into this
machine's interpreters. pip, where a test uses it, runs inside the venv it installs into, with
the machine's pip configuration switched off (PIP_CONFIG_FILE=/dev/null, --no-cache-dir).

    TestPipParity          the same real wheels installed by pip and by bootstrap: equal trees
    TestWheelInstaller     schemes, .data/, RECORD, INSTALLER, REQUESTED, entry points, modes,
                           RECORD hashes checked while unpacking
    TestDestination        --target layout, a venv's site-packages, the user site, not-writable
    TestAtomicity          killed at every commit step and at random moments; a full disk
    TestBudget, TestLock   --budget stops between packages; two installs at once
    TestPreinstalled       never changed without --upgrade; never when it breaks another package
    TestSdists             html2notion with crcmod-1.7.tar.gz, built offline; old setuptools
    TestNeverOnline        unshare -rn, and an audit hook on socket events in every process
    TestUsableAtOnce       import right after install in the same process; restart-needed
    TestVerification       import-failed with the error's last line; the caller survives

Interpreters, mounts, a non-root user and the network are used when present; a test that
cannot have one is skipped with the reason.
"""

import glob
import io
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time

import pytest

import bootstrap

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import installkit as kit  # noqa: E402
from installkit import (  # noqa: E402
    BOOTSTRAP_DIR, BOOTSTRAP_PY, STAGING_DIR, Venv, clean_env, find_python, half_installed,
    installed_versions, read_record, run, snapshot, strictly_complete)
import realwheels  # noqa: E402
from wheelmaker import make_wheel as write_wheel  # noqa: E402

PY311 = find_python("3.11")
DEBIAN_PYTHON = "/usr/bin/python3"
PARITY_NAMES = ("greenlet", "jaraco.functools", "jsonpointer", "markupsafe", "notebook_shim",
                "pyflakes", "six")
#: requirements of the parity wheels that pip --no-deps leaves out: stubs, in both venvs
PARITY_STUBS = (("more-itertools", "10.0.0"), ("jupyter-server", "2.0.0"))

needs_py311 = pytest.mark.skipif(PY311 is None, reason="no CPython 3.11 on this machine "
                                 "(the real wheels of the parity set are cp311)")


def _can(cmd):
    try:
        return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


HAVE_UNSHARE = shutil.which("unshare") is not None and _can(["unshare", "-rn", "true"])
needs_unshare = pytest.mark.skipif(not HAVE_UNSHARE, reason="unshare -rn (no-network "
                                   "namespace) is not available here")
OFFLINE = ("unshare", "-rn")
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


# -- shared helpers -------------------------------------------------------------------------------


def cli(*args, python=None, prefix=(), cwd=None, env=None):
    """bootstrap.py install/check ... --json with the given interpreter (default: this one)."""
    return kit.bootstrap(python or sys.executable, *args, prefix=prefix, cwd=cwd, env=env)


def wheel_dir(tmp_path, name):
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def venv(tmp_path, name="venv", python=None, with_pip=False):
    python = python or PY311
    if python is None:
        pytest.skip("no CPython 3.11 to make a venv with")
    return Venv(tmp_path / name, python, with_pip=with_pip)


@pytest.fixture
def mounts():
    """Mount helpers that always unmount: mounts.tmpfs(dir, size), mounts.read_only(dir)."""
    made = []

    class Mounts(object):
        def tmpfs(self, path, size="2M"):
            os.makedirs(str(path), exist_ok=True)
            self._mount(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", str(path)],
                        path)

        def read_only(self, path):
            self._mount(["mount", "--bind", str(path), str(path)], path)
            proc = subprocess.run(["mount", "-o", "remount,ro,bind", str(path)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  universal_newlines=True)
            if proc.returncode != 0:
                pytest.skip("cannot remount read-only here: %s" % proc.stdout.strip())

        def _mount(self, cmd, path):
            if not IS_ROOT or shutil.which("mount") is None:
                pytest.skip("mounting needs root and mount(8)")
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  universal_newlines=True)
            if proc.returncode != 0:
                pytest.skip("cannot mount here (%s): %s" % (" ".join(cmd), proc.stdout.strip()))
            made.append(str(path))

    yield Mounts()
    for path in reversed(made):
        if subprocess.run(["umount", path]).returncode != 0:
            subprocess.run(["umount", "-l", path])


def assert_clean(result):
    """A report came back as JSON and nothing crashed."""
    assert result.report is not None, result
    assert "Traceback" not in result.stdout + result.stderr, result


# -- 1. parity with pip ---------------------------------------------------------------------------


def _normalise(relative, content):
    """INSTALLER differs by design; RECORD row order is free (and the INSTALLER row's hash)."""
    if relative.endswith(".dist-info/INSTALLER"):
        return b"<installer>"
    if relative.endswith(".dist-info/RECORD"):
        rows = sorted(line for line in content.decode("utf-8").splitlines()
                      if line and not line.split(",")[0].endswith(".dist-info/INSTALLER"))
        return ("\n".join(rows) + "\n").encode("utf-8")
    return content


def _venv_tree(root):
    return snapshot(root, skip=("__pycache__", "direct_url.json"), normalise=_normalise)


@pytest.fixture(scope="module")
def parity(tmp_path_factory):
    """The parity set installed by pip and by bootstrap into a venv at the same path, one after
    the other (so shebangs and RECORD paths are comparable byte for byte)."""
    if PY311 is None:
        pytest.skip("no CPython 3.11 on this machine (the parity wheels are cp311)")
    folder = realwheels.require_set("install-parity")
    base = tmp_path_factory.mktemp("parity")
    stubs = base / "stubs"
    for name, version in PARITY_STUBS:
        write_wheel(stubs, name, version)
    path = base / "venv"

    def fresh():
        if path.exists():
            shutil.rmtree(str(path))
        env = Venv(path, PY311)
        env.pip_install_offline(stubs, *[n for n, _ in PARITY_STUBS], check=True)
        return env

    env = fresh()
    env.pip_install_offline(folder, *PARITY_NAMES, check=True)
    pip_tree = _venv_tree(env.root)
    pip_records = {os.path.basename(d): read_record(d)
                   for d in kit.dist_info_dirs(env.site_packages)}

    env = fresh()
    requires = [arg for name in PARITY_NAMES for arg in ("--require", name)]
    result = cli("install", folder, *requires, "--no-verify", python=env.python)
    bootstrap_tree = _venv_tree(env.root)
    bootstrap_records = {os.path.basename(d): read_record(d)
                         for d in kit.dist_info_dirs(env.site_packages)}
    return {"pip": pip_tree, "bootstrap": bootstrap_tree, "result": result, "venv": env,
            "pip_records": pip_records, "bootstrap_records": bootstrap_records,
            "site": os.path.relpath(env.site_packages, env.root)}


def _dist_info_of(records, name):
    wanted = bootstrap.canonicalize_name(name)
    for folder in records:
        if bootstrap.canonicalize_name(folder[:-len(".dist-info")].rpartition("-")[0]) == wanted:
            return folder
    raise AssertionError("no .dist-info for %s among %s" % (name, sorted(records)))


@needs_py311
class TestPipParity:
    def test_bootstrap_installs_the_parity_set(self, parity):
        result = parity["result"]
        assert_clean(result)
        assert result.returncode == 0, result
        assert sorted(result.installed()) == sorted(
            bootstrap.canonicalize_name(n) for n in PARITY_NAMES)

    @pytest.mark.parametrize("name", PARITY_NAMES)
    def test_files_of_each_wheel_equal_pips(self, parity, name):
        """Every file pip installed for the wheel (its RECORD, scripts and .data/ included),
        with bootstrap: same path, same bytes (shebangs too), same mode bits."""
        dist_info = _dist_info_of(parity["pip_records"], name)
        site = parity["site"]
        paths = sorted(os.path.normpath(os.path.join(site, row[0]))
                       for row in parity["pip_records"][dist_info])
        assert paths, dist_info
        pip_part = {p: parity["pip"].get(p) for p in paths}
        bootstrap_part = {p: parity["bootstrap"].get(p) for p in paths}
        differences = kit.diff_trees(pip_part, bootstrap_part, "pip", "bootstrap")
        assert not differences, "\n".join(differences)

    def test_whole_venv_equals_pips(self, parity):
        """Nothing more, nothing less: no staging folder, lock file or stray directory left."""
        differences = kit.diff_trees(parity["pip"], parity["bootstrap"], "pip", "bootstrap")
        assert not differences, "\n".join(differences)

    @pytest.mark.parametrize("name", PARITY_NAMES)
    def test_record_rows_equal_pips(self, parity, name):
        """RECORD: the same paths with the same hashes and sizes (INSTALLER, REQUESTED and
        RECORD's own row aside), every row true of the file on disk."""
        def rows(records):
            folder = _dist_info_of(records, name)
            return folder, {row for row in records[folder] if not row[0].endswith(
                ("/INSTALLER", "/REQUESTED", "/RECORD"))}

        pip_folder, pip_rows = rows(parity["pip_records"])
        bootstrap_folder, bootstrap_rows = rows(parity["bootstrap_records"])
        assert pip_folder == bootstrap_folder
        assert sorted(bootstrap_rows ^ pip_rows) == []
        site = parity["venv"].site_packages
        assert kit.record_problems(site, os.path.join(site, bootstrap_folder)) == []

    def test_console_and_data_scripts_run(self, parity):
        env = parity["venv"]
        proc = run([os.path.join(env.bin, "pyflakes"), "--version"])
        assert proc.returncode == 0 and "4.1.0" in proc.stdout, proc
        proc = run([os.path.join(env.bin, "jsonpointer"), "--help"])
        assert proc.returncode == 0, proc


# -- 2. the wheel installer (make_wheel) ----------------------------------------------------------

EXT_SUFFIX = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
PLATFORM_TAG = sysconfig.get_platform().replace("-", "_").replace(".", "_")

CLI_MODULE = '''\
import sys

def main():
    print("demo-cli says hello", sys.argv[1:])
    return 0

def gui():
    print("demo-gui says hello")
    return 0
'''


def demo_wheel(directory, name="demopkg", version="1.0", requires=(), **options):
    """A wheel using every part of PEP 427: root files, every .data/ scheme, console and gui
    entry points, a #!python script, a shell script and an executable root file."""
    module = name.replace("-", "_")
    files = {
        "%s/__init__.py" % module: '__version__ = "%s"\n' % version,
        "%s/cli.py" % module: CLI_MODULE,
        "%s/tool.sh" % module: "#!/bin/sh\necho tool\n",
        "%s/data/table.csv" % module: "a,b\n1,2\n",
    }
    data = {
        "purelib": {"%s_pure_extra.py" % module: "PURE = True\n"},
        "platlib": {"%s_plat_extra.py" % module: "PLAT = True\n"},
        "scripts": {"%s-shell" % name: "#!/bin/sh\necho shell-script-ran\n",
                    "%s-py" % name: "#!python\nimport sys\nprint('py-script-ran', "
                                    "sys.executable)\n"},
        "headers": {"%s.h" % module: "#define DEMO 1\n"},
        "data": {"share/%s/readme.txt" % name: "shared data\n"},
    }
    entry_points = {"console_scripts": {"%s-cli" % name: "%s.cli:main" % module},
                    "gui_scripts": {"%s-gui" % name: "%s.cli:gui" % module}}
    path = write_wheel(directory, name, version, files=options.pop("files", files),
                       data=options.pop("data", data), requires=list(requires),
                       entry_points=options.pop("entry_points", entry_points), **options)
    kit.set_member_mode(path, "%s/tool.sh" % module, 0o755)
    return path


def _wheel(path):
    return bootstrap.Wheel(str(path), bootstrap.WheelName.parse(os.path.basename(str(path))))


class TestWheelInstaller:
    @pytest.mark.parametrize("tag,lib_key", [("py3-none-any", "purelib"),
                                              ("py3-none-" + PLATFORM_TAG, "platlib")])
    def test_every_scheme_lands_in_its_folder(self, tmp_path, tag, lib_key):
        """Root-Is-Purelib picks purelib or platlib; each .data/ folder goes to its scheme."""
        path = demo_wheel(wheel_dir(tmp_path, "w"), tag=tag)
        dirs = {key: tmp_path / "scheme" / key for key in bootstrap.SCHEME_KEYS}
        scheme = bootstrap.Scheme(**{k: str(v) for k, v in dirs.items()})
        bootstrap._WheelInstall(_wheel(path), scheme, requested=True,
                                executable="/opt/python/bin/python3").run()
        lib = dirs[lib_key]
        other = dirs["platlib" if lib_key == "purelib" else "purelib"]
        assert (lib / "demopkg" / "__init__.py").is_file()
        assert (lib / "demopkg" / "data" / "table.csv").is_file()
        assert (lib / "demopkg-1.0.dist-info" / "METADATA").is_file()
        assert (dirs["purelib"] / "demopkg_pure_extra.py").read_text() == "PURE = True\n"
        assert (dirs["platlib"] / "demopkg_plat_extra.py").read_text() == "PLAT = True\n"
        assert not (other / "demopkg").exists()
        assert (dirs["headers"] / "demopkg.h").read_text() == "#define DEMO 1\n"
        assert (dirs["data"] / "share" / "demopkg" / "readme.txt").is_file()
        for script in ("demopkg-py", "demopkg-cli", "demopkg-gui"):
            first = (dirs["scripts"] / script).read_text().splitlines()[0]
            assert first == "#!/opt/python/bin/python3", (script, first)
        assert (dirs["scripts"] / "demopkg-shell").read_text().startswith("#!/bin/sh\n")
        assert not any(p.name.endswith(".data") for p in lib.iterdir())

    def test_record_is_rewritten_with_installed_paths_and_true_hashes(self, tmp_path):
        path = demo_wheel(wheel_dir(tmp_path, "w"))
        dirs = {key: tmp_path / "scheme" / key for key in bootstrap.SCHEME_KEYS}
        scheme = bootstrap.Scheme(**{k: str(v) for k, v in dirs.items()})
        bootstrap._WheelInstall(_wheel(path), scheme, requested=False,
                                executable="/opt/python/bin/python3").run()
        lib = str(dirs["purelib"])
        dist_info = os.path.join(lib, "demopkg-1.0.dist-info")
        rows = read_record(dist_info)
        paths = [r[0] for r in rows]
        assert len(paths) == len(set(paths))
        assert kit.record_problems(lib, dist_info) == []
        for path_, digest, size in rows:
            if path_ == "demopkg-1.0.dist-info/RECORD":
                assert (digest, size) == ("", "")
            else:
                assert digest.startswith("sha256=") and size.isdigit(), (path_, digest, size)
            assert ".data/" not in path_, path_
        installed = {os.path.normpath(os.path.join(lib, p)) for p in paths}
        on_disk = set()
        for root in dirs.values():
            on_disk |= kit.files_under(str(root))
        assert installed == on_disk
        expected = {"../scripts/demopkg-cli", "../scripts/demopkg-gui", "../scripts/demopkg-py",
                    "../scripts/demopkg-shell", "../headers/demopkg.h",
                    "../data/share/demopkg/readme.txt", "../platlib/demopkg_plat_extra.py",
                    "demopkg_pure_extra.py", "demopkg-1.0.dist-info/INSTALLER",
                    "demopkg/tool.sh"}
        assert expected <= set(paths)
        assert "demopkg-1.0.dist-info/REQUESTED" not in paths  # requested=False
        with open(os.path.join(dist_info, "INSTALLER")) as f:
            assert f.read().strip() == bootstrap.INSTALLER_NAME

    def test_record_rows_with_commas_and_quotes_read_back_as_written(self, tmp_path):
        """Names csv must quote (a comma, a quote, a leading quote) read back whole with the
        csv module that pip reads RECORD with; the plain rows beside them too."""
        names = ["odd/a,b.py", 'odd/say "hi".txt', '"quoted.txt', "odd/plain.py", "odd,top.py"]
        path = write_wheel(wheel_dir(tmp_path, "w"), "oddnames", "1.0",
                           files=dict((name, "x = %d\n" % i) for i, name in enumerate(names)))
        dirs = {key: tmp_path / "scheme" / key for key in bootstrap.SCHEME_KEYS}
        scheme = bootstrap.Scheme(**{k: str(v) for k, v in dirs.items()})
        bootstrap._WheelInstall(_wheel(path), scheme, requested=False).run()
        lib = str(dirs["purelib"])
        dist_info = os.path.join(lib, "oddnames-1.0.dist-info")
        rows = read_record(dist_info)
        assert all(len(row) == 3 for row in rows), rows
        assert set(names) <= {row[0] for row in rows}, rows
        assert kit.record_problems(lib, dist_info) == []
        assert {os.path.normpath(os.path.join(lib, row[0])) for row in rows} == \
            kit.files_under(lib)

    def test_venv_install_scripts_modes_requested(self, tmp_path):
        """In a venv: entry points and #!python scripts get the venv's interpreter, scripts and
        executable members are executable, other files are not, REQUESTED only for roots."""
        folder = wheel_dir(tmp_path, "w")
        demo_wheel(folder, requires=["demodep"])
        write_wheel(folder, "demodep", "1.0")
        env = venv(tmp_path)
        result = cli("install", folder, "--require", "demopkg", python=env.python)
        assert_clean(result)
        assert result.returncode == 0, result
        assert result.installed() == {"demopkg": "1.0", "demodep": "1.0"}
        site = env.site_packages
        assert os.path.isfile(os.path.join(site, "demopkg-1.0.dist-info", "REQUESTED"))
        assert not os.path.exists(os.path.join(site, "demodep-1.0.dist-info", "REQUESTED"))
        for name in ("demopkg-1.0.dist-info", "demodep-1.0.dist-info"):
            assert kit.record_problems(site, os.path.join(site, name)) == []
        shebang = "#!%s\n" % env.python
        for script in ("demopkg-cli", "demopkg-gui", "demopkg-py"):
            with open(os.path.join(env.bin, script)) as f:
                assert f.readline() == shebang, script
        with open(os.path.join(env.bin, "demopkg-shell")) as f:
            assert f.read() == "#!/bin/sh\necho shell-script-ran\n"
        for script in ("demopkg-cli", "demopkg-gui", "demopkg-py", "demopkg-shell"):
            assert os.stat(os.path.join(env.bin, script)).st_mode & 0o111 == 0o111, script
        assert os.stat(os.path.join(site, "demopkg", "tool.sh")).st_mode & 0o111 == 0o111
        for plain in ("demopkg/__init__.py", "demopkg/cli.py", "demopkg-1.0.dist-info/METADATA",
                      "demopkg-1.0.dist-info/RECORD"):
            assert os.stat(os.path.join(site, plain)).st_mode & 0o111 == 0, plain
        proc = run([os.path.join(env.bin, "demopkg-cli"), "x", "y"])
        assert proc.returncode == 0 and proc.stdout == "demo-cli says hello ['x', 'y']\n", proc
        proc = run([os.path.join(env.bin, "demopkg-gui")])
        assert proc.returncode == 0 and proc.stdout == "demo-gui says hello\n", proc
        proc = run([os.path.join(env.bin, "demopkg-py")])
        assert proc.stdout == "py-script-ran %s\n" % env.python, proc
        proc = run([os.path.join(env.bin, "demopkg-shell")])
        assert proc.stdout == "shell-script-ran\n", proc
        headers = glob.glob(os.path.join(env.root, "include", "site", "python3.*", "demopkg",
                                         "demopkg.h"))
        assert len(headers) == 1, headers
        assert os.path.isfile(os.path.join(env.root, "share", "demopkg", "readme.txt"))

    def test_hash_mismatch_installs_nothing_of_that_wheel(self, tmp_path):
        folder = wheel_dir(tmp_path, "w")
        demo_wheel(folder, name="tampered", bad_hash=True)
        write_wheel(folder, "independent", "1.0")
        target = tmp_path / "target"
        result = cli("install", folder, "--target", target)
        assert_clean(result)
        problems = result.problems("hash-mismatch")
        assert len(problems) == 1, result
        assert "tampered" in problems[0]["subject"]
        assert problems[0]["fix"] and problems[0]["fix"]["command"]
        assert result.installed() == {"independent": "1.0"}
        assert result.returncode != 0
        leftovers = [p for p in kit.files_under(str(target), skip=())
                     if "tampered" in os.path.relpath(p, str(target))]
        assert leftovers == []
        assert not (target / STAGING_DIR).exists()
        assert strictly_complete(str(target)) == []
        assert installed_versions(str(target)) == {"independent": "1.0"}


# -- 3. destinations ------------------------------------------------------------------------------


class TestDestination:
    def test_target_layout_equals_pip_target(self, tmp_path):
        """--target DIR: DIR/pkg, DIR/bin, DIR/include/python/NAME, data under DIR; the same
        files as ``pip install --target``, and a RECORD that is true of them."""
        if PY311 is None:
            pytest.skip("no CPython 3.11 to compare with its pip")
        folder = wheel_dir(tmp_path, "w")
        demo_wheel(folder)
        pip_target, our_target = tmp_path / "pip-target", tmp_path / "our-target"
        # the interpreter itself, not a venv: pip puts headers under include/site/python3.X
        # in a venv and under include/python outside one; --target keeps its site-packages
        # untouched either way
        run([PY311, "-m", "pip", "install", "--no-deps", "--no-compile", "--no-index",
             "--no-cache-dir", "--find-links", folder, "--target", pip_target, "demopkg"],
            check=True)
        result = cli("install", folder, "--target", our_target, python=PY311)
        assert_clean(result)
        assert result.returncode == 0, result
        assert result.report["location"] == str(our_target)
        for relative in ("demopkg/__init__.py", "demopkg_pure_extra.py", "demopkg_plat_extra.py",
                         "bin/demopkg-cli", "bin/demopkg-py", "bin/demopkg-shell",
                         "include/python/demopkg/demopkg.h", "share/demopkg/readme.txt",
                         "demopkg-1.0.dist-info/METADATA"):
            assert (our_target / relative).is_file(), relative

        def tree(root):
            return snapshot(str(root), skip=("__pycache__", "RECORD", "INSTALLER",
                                             "direct_url.json"))
        differences = kit.diff_trees(tree(pip_target), tree(our_target), "pip", "bootstrap")
        assert not differences, "\n".join(differences)
        assert strictly_complete(str(our_target)) == []

    def test_target_writes_nothing_outside_it(self, tmp_path):
        """pip --target writes into DIR only; bootstrap also writes the one activation file
        of a baked runtime (issue 7), DIR-activate.pth beside DIR, and nothing else."""
        folder = wheel_dir(tmp_path / "bundle", "w")
        demo_wheel(folder)
        parent = tmp_path / "parent"
        parent.mkdir()
        (parent / "unrelated.txt").write_text("mine\n")
        result = cli("install", folder, "--target", parent / "target",
                     "--work-dir", tmp_path / "work")
        assert result.returncode == 0, result
        assert sorted(os.listdir(str(parent))) == ["target", "target-activate.pth",
                                                   "unrelated.txt"]
        assert (parent / "unrelated.txt").read_text() == "mine\n"
        assert (parent / "target-activate.pth").read_text() == (
            result.report["activation"]["pth_line"] + "\n")
        assert result.report["activation"]["pth_file"] == str(parent / "target-activate.pth")

    def test_venv_site_packages_when_writable(self, tmp_path):
        folder = wheel_dir(tmp_path, "w")
        write_wheel(folder, "sitepkg", "1.0")
        env = venv(tmp_path)
        result = cli("install", folder, python=env.python)
        assert result.returncode == 0, result
        assert result.report["location"] == env.site_packages
        assert installed_versions(env.site_packages) == {"sitepkg": "1.0"}
        proc = run([env.python, "-c", "import sitepkg; print(sitepkg.__version__)"])
        assert proc.stdout.strip() == "1.0", proc

    def _run_fix(self, fix, python, bundle, cwd, prefix=(), env=None, script=BOOTSTRAP_PY):
        """Run a fix command as a user would: `python bootstrap.py` is this interpreter and
        this bootstrap.py; a BUNDLE placeholder, if any, is the bundle."""
        words = shlex.split(fix["command"])
        assert words[:3] == ["python", "bootstrap.py", "install"], fix
        words = [python, script] + [bundle if w == "BUNDLE" else w for w in words[2:]]
        return kit.Result(run(list(prefix) + words + ["--json"], cwd=cwd, env=env))

    def test_read_only_site_packages_is_not_writable_with_a_working_fix(self, tmp_path, mounts):
        folder = wheel_dir(tmp_path, "w")
        write_wheel(folder, "ropkg", "1.0")
        env = venv(tmp_path)
        before = snapshot(env.site_packages)
        work = tmp_path / "cwd"
        work.mkdir()
        mounts.read_only(env.site_packages)
        asked = ["install", str(folder), "--require", "ropkg", "--jobs", "1", "--no-verify"]
        result = cli(*asked, python=env.python, cwd=work)
        assert_clean(result)
        problems = result.problems("not-writable")
        assert len(problems) == 1 and result.returncode == 1, result
        problem = problems[0]
        assert problem["subject"] == env.site_packages
        assert problem["fix"]["where"] == "sandbox"
        words = shlex.split(problem["fix"]["command"])  # the same install, into a --target
        target = words[words.index("--target") + 1]
        parse = bootstrap._build_parser("install").parse_args
        assert vars(parse(words[2:])) == vars(parse(asked + ["--target", target])), words
        fixed = self._run_fix(problem["fix"], env.python, str(folder), work)
        assert fixed.returncode == 0, fixed
        location = fixed.report["location"]
        assert installed_versions(location) == {"ropkg": "1.0"}
        proc = run([env.python, "-c", "import ropkg; print(ropkg.__file__)"],
                   env=clean_env(PYTHONPATH=location))
        assert proc.stdout.startswith(location), proc
        assert snapshot(env.site_packages) == before
        assert "BUNDLE" not in problem["fix"]["command"], (
            "the fix is not the exact command: it holds a BUNDLE placeholder instead of the "
            "bundle given (%s)" % problem["fix"]["command"])

    def _nobody(self, tmp_path):
        if not IS_ROOT or shutil.which("setpriv") is None:
            pytest.skip("needs root and setpriv to run as another user")
        if not os.access(DEBIAN_PYTHON, os.X_OK):
            pytest.skip("%s (readable by a non-root user) is missing" % DEBIAN_PYTHON)
        shared = tempfile.mkdtemp(prefix="bootstrap-nobody-", dir="/tmp")
        os.chmod(shared, 0o777)
        shutil.copy(BOOTSTRAP_PY, os.path.join(shared, "bootstrap.py"))  # readable by nobody
        return shared

    def _as_nobody(self, cmd, home, cwd):
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        return run(prefix + [str(c) for c in cmd], cwd=cwd, env=clean_env(HOME=home))

    def test_non_root_user_gets_the_user_site(self, tmp_path):
        shared = self._nobody(tmp_path)
        try:
            write_wheel(os.path.join(shared, "w"), "usersitepkg", "1.0")
            home = os.path.join(shared, "home")
            os.makedirs(home)
            os.chmod(home, 0o777)
            proc = self._as_nobody([DEBIAN_PYTHON, os.path.join(shared, "bootstrap.py"),
                                    "install", os.path.join(shared, "w"), "--json"], home,
                                   shared)
            result = kit.Result(proc)
            assert_clean(result)
            assert result.returncode == 0, result
            location = result.report["location"]
            assert location.startswith(home + os.sep), location
            assert installed_versions(location) == {"usersitepkg": "1.0"}
            proc = self._as_nobody([DEBIAN_PYTHON, "-c", "import usersitepkg; "
                                    "print(usersitepkg.__file__)"], home, shared)
            assert proc.stdout.startswith(location), proc
        finally:
            shutil.rmtree(shared, ignore_errors=True)

    def test_non_root_user_without_home_gets_not_writable_and_a_working_fix(self, tmp_path):
        shared = self._nobody(tmp_path)
        try:
            write_wheel(os.path.join(shared, "w"), "nobodypkg", "1.0")
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            env = clean_env(HOME="/nonexistent")
            script = os.path.join(shared, "bootstrap.py")
            result = kit.Result(run(prefix + [DEBIAN_PYTHON, script, "install",
                                              os.path.join(shared, "w"), "--json"],
                                    cwd=shared, env=env))
            assert_clean(result)
            problems = result.problems("not-writable")
            assert len(problems) == 1 and result.returncode == 1, result
            fixed = self._run_fix(problems[0]["fix"], DEBIAN_PYTHON, os.path.join(shared, "w"),
                                  shared, prefix=prefix, env=env, script=script)
            assert fixed.returncode == 0, fixed
            location = fixed.report["location"]
            assert installed_versions(location) == {"nobodypkg": "1.0"}
            proc = run(prefix + [DEBIAN_PYTHON, "-c", "import nobodypkg"], cwd=shared,
                       env=clean_env(HOME="/nonexistent", PYTHONPATH=location))
            assert proc.returncode == 0, proc
        finally:
            shutil.rmtree(shared, ignore_errors=True)


# -- 4. atomicity ---------------------------------------------------------------------------------

def atomic_bundle(folder):
    """Four wheels whose commits need many renames: packages, modules, scripts, headers, data
    merged into one share/ folder, and a namespace package two of them share."""
    write_wheel(folder, "alpha", "1.0", files={
        "alpha/__init__.py": "A = 1\n", "alpha/core.py": "x = 1\n" * 400,
        "alpha/sub/__init__.py": "", "alpha_extra.py": "E = 1\n"},
        data={"scripts": {"alpha-tool": "#!python\nprint('alpha')\n"},
              "headers": {"alpha.h": "#define A 1\n"},
              "data": {"share/atomic/alpha.txt": "alpha\n"}},
        entry_points={"console_scripts": {"alpha-cli": "alpha:main"}})
    write_wheel(folder, "beta", "1.0", files={
        "beta/__init__.py": "B = 1\n" * 300, "beta_helpers.py": "H = 1\n"},
        data={"data": {"share/atomic/beta.txt": "beta\n"},
              "scripts": {"beta-tool": "#!/bin/sh\necho beta\n"}})
    write_wheel(folder, "gamma", "1.0", files={
        "nsatomic/gamma/__init__.py": "G = 1\n" * 200, "nsatomic/gamma/more.py": "m = 1\n"})
    write_wheel(folder, "delta", "1.0", requires=["gamma"], files={
        "nsatomic/delta/__init__.py": "D = 1\n" * 100, "delta_mod.py": "d = 1\n"})
    return {"alpha": "1.0", "beta": "1.0", "gamma": "1.0", "delta": "1.0"}


def run_killed(step, n, bundle, target):
    """The process of an install killed at the N-th call of ``step`` (installkit's
    KILL_DRIVER: move, ready, phase, rmtree)."""
    return kit.run_hooked_install(bundle, target, KILL_AT="%s:%d" % (step, n))[0]


class TestAtomicity:
    def _counts(self, tmp_path, bundle):
        target = tmp_path / "count-target"
        proc, counts = kit.run_hooked_install(bundle, target)
        assert proc.returncode == 0, proc
        shutil.rmtree(str(target))
        return counts

    def _check_killed_then_rerun(self, bundle, target, expected, label, other=None):
        """After a kill: no half package. Then, with ``other`` (a bundle holding only omega),
        first a run with that unrelated bundle, which must commit what the journal says is
        ready and discard the rest, leaving only complete packages. Last, the same command as
        the killed one finishes the job."""
        problems = half_installed(str(target))
        assert problems == [], "%s: after the kill:\n%s" % (label, "\n".join(problems))
        if other is not None:
            journaled = kit.journaled(str(target))
            result = cli("install", other, "--target", target, "--no-verify")
            assert_clean(result)
            assert result.returncode == 0, (label, result)
            problems = strictly_complete(str(target))
            assert problems == [], "%s: after a run with another bundle:\n%s" % (
                label, "\n".join(problems))
            present = {os.path.basename(d)[:-len(".dist-info")]
                       for d in kit.dist_info_dirs(str(target))}
            assert journaled <= present, "%s: journaled %s, installed %s" % (
                label, sorted(journaled), sorted(present))
            expected = dict(expected, omega="1.0")
        result = cli("install", bundle, "--target", target, "--no-verify")
        assert_clean(result)
        assert result.returncode == 0, (label, result)
        problems = strictly_complete(str(target))
        assert problems == [], "%s: after the rerun:\n%s" % (label, "\n".join(problems))
        assert installed_versions(str(target)) == expected, label

    @pytest.fixture
    def other(self, tmp_path):
        folder = wheel_dir(tmp_path, "other")
        write_wheel(folder, "omega", "1.0")
        return folder

    def test_killed_at_every_commit_step_then_rerun_finishes(self, tmp_path, other):
        bundle = wheel_dir(tmp_path, "w")
        expected = atomic_bundle(bundle)
        counts = self._counts(tmp_path, bundle)
        assert counts["ready"] == 4 and counts["move"] >= 4, counts
        points = ([("move", n) for n in range(1, counts["move"] + 1)]
                  + [("ready", n) for n in range(1, counts["ready"] + 1)]
                  + [("rmtree", n) for n in range(1, counts["rmtree"] + 1)])
        for index, (step, n) in enumerate(points):
            target = tmp_path / ("t-%s-%d" % (step, n))
            proc = run_killed(step, n, bundle, target)
            assert proc.returncode == 77, (step, n, proc.stdout, proc.stderr)
            self._check_killed_then_rerun(bundle, target, expected, "%s:%d" % (step, n),
                                          other if index % 2 else None)

    def test_killed_again_while_the_rerun_recovers(self, tmp_path, other):
        bundle = wheel_dir(tmp_path, "w")
        expected = atomic_bundle(bundle)
        counts = self._counts(tmp_path, bundle)
        for n in sorted({2, counts["move"] // 2, counts["move"] - 1}):
            target = tmp_path / ("t-%d" % n)
            assert run_killed("move", n, bundle, target).returncode == 77
            assert run_killed("move", 1, bundle, target).returncode == 77
            self._check_killed_then_rerun(bundle, target, expected, "move:%d twice" % n,
                                          other)

    def test_sigkill_at_random_moments_then_rerun_finishes(self, tmp_path, other):
        bundle = wheel_dir(tmp_path, "w")
        expected = {}
        for i in range(6):
            name = "bulk%d" % i
            files = {"%s/m%03d.py" % (name, j): ("v = %d\n" % j) * 50 for j in range(150)}
            files["%s/__init__.py" % name] = ""
            files["%s_top.py" % name] = "T = 1\n"
            write_wheel(bundle, name, "1.0", files=files,
                        data={"data": {"share/bulk/%s.txt" % name: "x\n"}})
            expected[name] = "1.0"
        for index, delay in enumerate((0, 0.001, 0.003, 0.01, 0.02, 0.05, 0.1, 0.2)):
            target = tmp_path / ("t-%s" % delay)
            proc = subprocess.Popen([sys.executable, BOOTSTRAP_PY, "install", str(bundle),
                                     "--target", str(target), "--no-verify", "--json",
                                     "--work-dir", str(target) + "-work"],
                                    env=clean_env(), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            try:
                staging = target / STAGING_DIR
                deadline = time.monotonic() + 60
                while not staging.exists() and proc.poll() is None and \
                        time.monotonic() < deadline:
                    time.sleep(0.0005)
                time.sleep(delay)
                proc.send_signal(signal.SIGKILL)
            finally:
                proc.wait()
            self._check_killed_then_rerun(bundle, target, expected, "SIGKILL after %ss" % delay,
                                          other if index % 2 else None)

    @pytest.mark.parametrize("tamper,finished", [("PHASE.tmp", True), ("PHASE", False),
                                                  ("READY", False)])
    def test_the_phase_is_read_from_its_own_file(self, tmp_path, tamper, finished):
        """Killed before the second phase of the first commit (committed): PHASE says
        aside-done. A temporary file a kill left beside it is not a phase (the commit goes on
        from aside-done); a phase that is none of the phases, in PHASE or (without PHASE) in
        READY, leaves the journal alone."""
        bundle = wheel_dir(tmp_path, "w")
        expected = atomic_bundle(bundle)
        target = tmp_path / "t"
        assert run_killed("phase", 2, bundle, target).returncode == 77
        [staging] = [os.path.join(str(target), STAGING_DIR, entry) for entry in
                     kit.journaled(str(target))]
        with open(os.path.join(staging, "PHASE")) as f:
            assert f.read() == "aside-done"
        if tamper == "READY":
            os.remove(os.path.join(staging, "PHASE"))
            with open(os.path.join(staging, "READY")) as f:
                journal = json.load(f)
            assert journal["phase"] == "ready", journal
            journal["phase"] = "bogus"
            with open(os.path.join(staging, "READY"), "w") as f:
                json.dump(journal, f)
        else:
            with open(os.path.join(staging, tamper), "w") as f:
                f.write("commit" if finished else "bogus")
        result = cli("install", bundle, "--target", target, "--no-verify")
        assert_clean(result)
        assert result.returncode == 0, result
        if finished:
            assert strictly_complete(str(target)) == []
            assert installed_versions(str(target)) == expected
        else:
            assert any(note.startswith("left ") and "bogus" in note
                       for note in result.report["notes"]), result.report["notes"]
            assert os.path.isdir(staging)

    def test_full_disk_leaves_the_target_as_it_was(self, tmp_path, mounts):
        target = tmp_path / "small-disk"
        mounts.tmpfs(target, "2M")
        first = wheel_dir(tmp_path, "first")
        write_wheel(first, "already", "1.0")
        assert cli("install", first, "--target", target, "--no-verify").returncode == 0
        before = snapshot(str(target))
        big = wheel_dir(tmp_path, "big")
        write_wheel(big, "bigpkg", "1.0", files={
            "bigpkg/__init__.py": "", "bigpkg/small.py": "s = 1\n",
            "bigpkg/blob.bin": os.urandom(3 * 1024 * 1024)})
        result = cli("install", big, "--target", target, "--no-verify")
        assert_clean(result)
        assert result.installed() == {}
        problems = [p for p in result.report["problems"] if "bigpkg" in p["subject"]]
        assert len(problems) == 1, result
        problem = problems[0]
        assert "space" in problem["message"].lower(), problem
        assert snapshot(str(target)) == before
        assert not (target / STAGING_DIR).exists()
        # a full disk is neither unreadable input (exit 2) nor a damaged upload
        assert result.returncode == 1, (problem, result.returncode)
        assert "upload" not in (problem["fix"] or {}).get("command", ""), problem


class TestRecordAsPipReadsIt:
    """RECORD rows whose paths need csv quoting (a comma, a double quote, a space, non-ASCII
    letters): pip, which reads RECORD with csv, is the oracle. Its own install of the same
    wheel writes the same RECORD text (INSTALLER's row aside), and its uninstall of what
    bootstrap installed removes every file, leaving site-packages as it was."""

    FILES = {"oddnames/__init__.py": "", "oddnames/a,b.py": "AB = 1\n",
             'oddnames/say "hi".txt': "hi\n", "oddnames/sp ace.txt": "", "oddnames/\u00fcn\u00ef.txt": "u\n",
             "odd,top.py": "TOP = 1\n"}

    @staticmethod
    def _record(site):
        """RECORD's lines, INSTALLER's aside, without their ends (pip's csv writes "\\r\\n",
        bootstrap "\\n", as installer and uv do: csv reads both)."""
        dist_info = kit.find_dist_info(site, "oddnames")
        with open(os.path.join(dist_info, "RECORD"), encoding="utf-8", newline="") as f:
            return [line for line in f.read().splitlines() if "/INSTALLER," not in line]

    def test_pip_writes_the_same_record_and_uninstalls_every_file(self, tmp_path):
        folder = wheel_dir(tmp_path, "w")
        write_wheel(folder, "oddnames", "1.0", files=self.FILES)
        ours = venv(tmp_path, "ours", with_pip=True)
        before = snapshot(ours.site_packages, skip=())  # bytecode too: pip removes it
        result = cli("install", folder, python=ours.python, prefix=OFFLINE)
        assert_clean(result)
        assert result.returncode == 0 and result.report["problems"] == [], result
        pips = venv(tmp_path, "pips", with_pip=True)
        pips.pip_install_offline(folder, "oddnames", check=True)
        record = self._record(ours.site_packages)
        assert any(line.startswith('"odd,top.py",') for line in record), record
        assert any(line.startswith('"oddnames/say ""hi"".txt",') for line in record), record
        assert record == self._record(pips.site_packages)
        proc = ours.pip("uninstall", "-y", "oddnames")
        assert proc.returncode == 0, proc
        assert snapshot(ours.site_packages, skip=()) == before


# -- 5. budget, 6. lock ---------------------------------------------------------------------------


def many_wheels(folder, count=6, files=40):
    expected = {}
    for i in range(count):
        name = "many%d" % i
        contents = {"%s/f%02d.py" % (name, j): "x = %d\n" % j for j in range(files)}
        contents["%s/__init__.py" % name] = ""
        write_wheel(folder, name, "1.%d" % i, files=contents,
                    data={"scripts": {"%s-run" % name: "#!python\nprint(1)\n"}})
        expected[name] = "1.%d" % i
    return expected


class TestBudget:
    def test_the_budget_stops_between_packages_and_a_rerun_continues(self, tmp_path,
                                                                      monkeypatch):
        """The first package is prepared, then its preparation outlasts the budget: exactly
        that package is installed, whole, and the rest are left for the rerun (a budget that
        installed nothing could not show that it stops *between* packages)."""
        budget = 2.0
        bundle = wheel_dir(tmp_path, "w")
        expected = many_wheels(bundle)
        target = tmp_path / "target"
        prepare, prepared = bootstrap._WheelInstall.prepare, []

        def slow_first(installation):
            result = prepare(installation)
            prepared.append(installation)
            if len(prepared) == 1:
                time.sleep(budget + 0.5)
            return result
        monkeypatch.setattr(bootstrap._WheelInstall, "prepare", slow_first)
        report = bootstrap.install([str(bundle)], target=str(target), budget=budget)
        monkeypatch.undo()
        assert len(prepared) == 1, prepared
        first = dict((i["name"], i["version"]) for i in report["installed"])
        assert len(first) == 1 and set(first.items()) <= set(expected.items()), report
        assert [p["code"] for p in report["problems"]] == ["budget-exhausted"], report
        assert report["status"] == "partial" and report.exit_code == 1
        assert installed_versions(str(target)) == first
        assert strictly_complete(str(target)) == []
        rerun = cli("install", bundle, "--target", target)
        assert rerun.returncode == 0, rerun
        assert rerun.installed() == dict(
            (name, version) for name, version in expected.items() if name not in first)
        assert installed_versions(str(target)) == expected

    @pytest.mark.parametrize("jobs", [1, 2])
    def test_the_budget_runs_out_while_unpacking(self, tmp_path, monkeypatch, jobs):
        """Every package is prepared at once, then unpacked: a budget that runs out while the
        first is being unpacked leaves out every package not begun by then (their staging
        folders removed), and the fix, run verbatim, installs them. (Before, a budget was
        only read while preparing: every package was unpacked however long it took.)"""
        budget = 2.0
        bundle = wheel_dir(tmp_path, "w")
        expected = many_wheels(bundle)
        target = tmp_path / "target"
        extract, begun = bootstrap._WheelInstall.extract, []

        def slow_first(installation, members, **keywords):
            if installation.wheel.name not in begun:
                begun.append(installation.wheel.name)
                if len(begun) <= jobs:  # the first on each thread outlasts the budget
                    time.sleep(budget + 0.5)
            return extract(installation, members, **keywords)
        monkeypatch.setattr(bootstrap._WheelInstall, "extract", slow_first)
        report = bootstrap.install([str(bundle)], target=str(target), budget=budget,
                                   jobs=jobs, verify=False, progress=lambda *a: None)
        monkeypatch.undo()
        first = dict((i["name"], i["version"]) for i in report["installed"])
        assert len(first) == jobs and set(first.items()) <= set(expected.items()), report
        assert [p["code"] for p in report["problems"]] == ["budget-exhausted"], report
        assert installed_versions(str(target)) == first
        assert strictly_complete(str(target)) == []
        assert bootstrap.STAGING_DIR not in os.listdir(str(target))
        (problem,) = report["problems"]
        shutil.copy(kit.BOOTSTRAP_PY, str(tmp_path / "bootstrap.py"))
        rerun = kit.run_step(problem["fix"]["command"], tmp_path)
        assert rerun.returncode == 0, rerun
        assert installed_versions(str(target)) == expected

    def test_a_root_whose_dependency_the_budget_left_out_is_verified_by_the_rerun(
            self, tmp_path, monkeypatch):
        """The root is unpacked first (the largest), its dependency is not begun before the
        budget runs out: the root is not imported yet (its import would fail for want of
        what the same command installs next, and the report would send the user online for a
        package the bundle has); the rerun installs the dependency and imports the root."""
        budget = 1.0
        bundle = wheel_dir(tmp_path, "w")
        write_wheel(bundle, "app", "1.0", requires=["dep"], files={
            "app/__init__.py": "import dep\n", "app/big.py": "x = 1\n" * 200000})
        write_wheel(bundle, "dep", "1.0")
        target = tmp_path / "target"
        extract = bootstrap._WheelInstall.extract

        def slow_app(installation, members, **keywords):
            if installation.wheel.name == "app":
                time.sleep(budget + 0.5)
            return extract(installation, members, **keywords)
        monkeypatch.setattr(bootstrap._WheelInstall, "extract", slow_app)
        report = bootstrap.install([str(bundle)], target=str(target), budget=budget, jobs=1,
                                   progress=lambda *a: None)
        monkeypatch.undo()
        assert [p["code"] for p in report["problems"]] == ["budget-exhausted"], report
        assert installed_versions(str(target)) == {"app": "1.0"}
        assert report["fix"] is None and bootstrap._BUDGET_UNVERIFIED_NOTE in report["notes"]
        shutil.copy(kit.BOOTSTRAP_PY, str(tmp_path / "bootstrap.py"))
        (problem,) = report["problems"]
        rerun = kit.run_step(problem["fix"]["command"] + " --json", tmp_path)
        assert rerun.returncode == 0, rerun
        assert json.loads(rerun.stdout)["problems"] == []
        assert installed_versions(str(target)) == {"app": "1.0", "dep": "1.0"}

    def test_tiny_budget_stops_cleanly_and_a_rerun_continues(self, tmp_path):
        bundle = wheel_dir(tmp_path, "w")
        expected = many_wheels(bundle)
        target = tmp_path / "target"
        shutil.copy(kit.BOOTSTRAP_PY, str(tmp_path / "bootstrap.py"))
        result = cli("install", "w", "--target", "target", "--budget", "0.0001", "--jobs", "1",
                     cwd=tmp_path)
        assert_clean(result)
        problems = result.problems("budget-exhausted")
        assert len(problems) == 1, result
        assert problems[0]["fix"] == {"where": "sandbox", "command": "python bootstrap.py "
                                      "install w --target target --budget 0.0001 --jobs 1"}
        assert result.returncode == 1
        assert result.report["status"] != "ok"
        assert strictly_complete(str(target)) == []
        assert len(result.installed()) < len(expected)
        assert installed_versions(str(target)) == result.installed()
        for _ in expected:  # the fix, verbatim, again: each run places one package at least
            done = len(installed_versions(str(target)))
            rerun = kit.run_step(problems[0]["fix"]["command"], tmp_path)
            assert strictly_complete(str(target)) == []
            if len(installed_versions(str(target))) == len(expected):
                break
            assert rerun.returncode == 1 and len(installed_versions(str(target))) > done, rerun
        assert rerun.returncode == 0, rerun
        assert installed_versions(str(target)) == expected
        assert strictly_complete(str(target)) == []


class TestLock:
    @pytest.mark.parametrize("same", [True, False], ids=["same-bundle", "two-bundles"])
    def test_two_installs_at_once(self, tmp_path, same):
        first, second = wheel_dir(tmp_path, "a"), wheel_dir(tmp_path, "b")
        expected = many_wheels(first, count=5, files=150)
        if same:
            second = first
        else:
            for i in range(5):
                name = "other%d" % i
                write_wheel(second, name, "2.0", files={"%s/__init__.py" % name: "o = 1\n",
                                                        "%s/big.py" % name: "y = 2\n" * 4000})
                expected[name] = "2.0"
        target = tmp_path / "target"
        target.mkdir()
        procs = [subprocess.Popen([sys.executable, BOOTSTRAP_PY, "install", str(bundle),
                                   "--target", str(target), "--json"], env=clean_env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  universal_newlines=True)
                 for bundle in (first, second)]
        outputs = [p.communicate(timeout=300) for p in procs]
        for proc, (out, err) in zip(procs, outputs):
            assert proc.returncode == 0, (out, err)
            assert json.loads(out)["status"] == "ok", out
        assert installed_versions(str(target)) == expected
        assert strictly_complete(str(target)) == []
        assert len(kit.dist_info_dirs(str(target))) == len(expected)


# -- 7. preinstalled packages ---------------------------------------------------------------------


@pytest.fixture
def xpkg(tmp_path):
    """Folders holding xpkg 0.5, 1.0 and 2.0 (2.0 lacks old_only.py and adds new_only.py) and
    ypkg 1.0, which requires xpkg<2."""
    folders = {}
    for version, extra in (("0.5", "old_only"), ("1.0", "old_only"), ("2.0", "new_only")):
        folders[version] = wheel_dir(tmp_path, "xpkg-" + version)
        write_wheel(folders[version], "xpkg", version, files={
            "xpkg/__init__.py": 'V = "%s"\n' % version, "xpkg/%s.py" % extra: ""},
            entry_points={"console_scripts": {"xpkg-%s" % extra: "xpkg:V"}})
    folders["ypkg"] = wheel_dir(tmp_path, "ypkg")
    write_wheel(folders["ypkg"], "ypkg", "1.0", requires=["xpkg<2"])
    return folders


@pytest.mark.skipif(PY311 is None, reason="no CPython 3.11 to make venvs with")
class TestPreinstalled:
    def _venv_with_x1(self, tmp_path, xpkg, also_y=False):
        env = venv(tmp_path)
        env.pip_install_offline(xpkg["1.0"], "xpkg", check=True)
        if also_y:
            env.pip_install_offline(xpkg["ypkg"], "ypkg", check=True)
        return env

    def _tree(self, env):
        return snapshot(env.root, skip=("__pycache__",))

    @pytest.mark.parametrize("args", [["--require", "xpkg>=2"], ["--require", "xpkg==2.0"]])
    def test_newer_required_without_upgrade_is_a_conflict(self, tmp_path, xpkg, args):
        env = self._venv_with_x1(tmp_path, xpkg)
        before = self._tree(env)
        result = cli("install", xpkg["2.0"], *args, python=env.python)
        assert_clean(result)
        assert result.codes() == ["version-conflict"], result
        assert result.returncode == 1
        assert result.installed() == {}
        assert self._tree(env) == before

    def test_plain_root_keeps_the_preinstalled_version(self, tmp_path, xpkg):
        env = self._venv_with_x1(tmp_path, xpkg)
        before = self._tree(env)
        result = cli("install", xpkg["2.0"], python=env.python)
        assert_clean(result)
        assert result.returncode == 0, result
        assert {s["name"]: s["version"] for s in result.report["satisfied"]} == {"xpkg": "1.0"}
        assert self._tree(env) == before

    def test_upgrade_replaces_the_old_files(self, tmp_path, xpkg):
        env = self._venv_with_x1(tmp_path, xpkg)
        result = cli("install", xpkg["2.0"], "--upgrade", python=env.python)
        assert_clean(result)
        assert result.returncode == 0, result
        assert result.report["installed"][0]["replaced"] == "1.0"
        site = env.site_packages
        assert installed_versions(site) == {"xpkg": "2.0"}
        assert [os.path.basename(d) for d in kit.dist_info_dirs(site)] == ["xpkg-2.0.dist-info"]
        assert not os.path.exists(os.path.join(site, "xpkg", "old_only.py"))
        assert os.path.exists(os.path.join(site, "xpkg", "new_only.py"))
        assert not os.path.exists(os.path.join(env.bin, "xpkg-old_only"))
        assert os.path.exists(os.path.join(env.bin, "xpkg-new_only"))
        assert kit.record_problems(site, os.path.join(site, "xpkg-2.0.dist-info")) == []
        proc = run([env.python, "-c", "import xpkg; print(xpkg.V)"])
        assert proc.stdout.strip() == "2.0", proc

    @pytest.mark.parametrize("args", [["--upgrade"], ["--upgrade", "--require", "xpkg>=2"]])
    def test_upgrade_that_breaks_another_package_is_refused(self, tmp_path, xpkg, args):
        env = self._venv_with_x1(tmp_path, xpkg, also_y=True)
        before = self._tree(env)
        result = cli("install", xpkg["2.0"], *args, python=env.python)
        assert_clean(result)
        problems = result.problems("version-conflict")
        assert len(problems) == 1, result
        assert "ypkg" in problems[0]["message"], problems
        assert result.installed() == {}
        assert self._tree(env) == before

    @pytest.mark.parametrize("args", [[], ["--upgrade"]])
    def test_an_older_bundle_never_downgrades(self, tmp_path, xpkg, args):
        env = self._venv_with_x1(tmp_path, xpkg)
        before = self._tree(env)
        result = cli("install", xpkg["0.5"], *args, python=env.python)
        assert_clean(result)
        assert result.installed() == {}
        assert self._tree(env) == before

    def test_an_older_requirement_without_upgrade_is_a_conflict(self, tmp_path, xpkg):
        env = self._venv_with_x1(tmp_path, xpkg)
        before = self._tree(env)
        result = cli("install", xpkg["0.5"], "--require", "xpkg<1", python=env.python)
        assert_clean(result)
        assert result.codes() == ["version-conflict"], result
        assert self._tree(env) == before


# -- 8. sdists ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def new_setuptools(tmp_path_factory):
    """A folder with a setuptools>=70.1 wheel from PyPI (fetched once; skipped offline)."""
    if PY311 is None:
        pytest.skip("no CPython 3.11 on this machine")
    folder = tmp_path_factory.mktemp("setuptools")
    proc = run([PY311, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                "--no-cache-dir", "-d", str(folder), "setuptools>=70.1"], timeout=120)
    if proc.returncode != 0 or not list(folder.glob("setuptools-*.whl")):
        pytest.skip("cannot fetch setuptools>=70.1 from PyPI (no network?): %s"
                    % proc.stderr.strip()[-300:])
    return folder


def _top_level_modules(lib, dist_info):
    """Importable top-level names of an installed distribution, from its RECORD."""
    modules = set()
    for path, _, _ in read_record(dist_info):
        parts = path.split("/")
        if parts[0].startswith("..") or parts[0].endswith((".dist-info", ".data")) or \
                parts[0] == "__pycache__":
            continue
        if len(parts) == 1:
            stem = parts[0].split(".")[0]
            if parts[0].endswith((".py", ".so")) and stem.isidentifier():
                modules.add(stem)
        elif parts[0].isidentifier():
            if parts[1] == "__init__.py":
                modules.add(parts[0])
            elif not os.path.isfile(os.path.join(lib, parts[0], "__init__.py")) and \
                    parts[1].isidentifier() and len(parts) > 2 and parts[2] == "__init__.py":
                modules.add(parts[0] + "." + parts[1])
    return sorted(modules)


@needs_unshare
@pytest.mark.skipif(PY311 is None, reason="no CPython 3.11 (html2notion's wheels are cp311)")
class TestSdists:
    def _venv_with_new_setuptools(self, tmp_path, name, new_setuptools):
        env = venv(tmp_path, name, with_pip=True)
        env.pip("install", "--no-index", "--find-links", str(new_setuptools), "-U",
                "setuptools>=70.1", check=True)
        return env

    def test_html2notion_installs_offline_where_pip_fails(self, tmp_path, new_setuptools):
        bundle = realwheels.require_set("html2notion")
        assert any(f.endswith(".tar.gz") for f in os.listdir(bundle))
        env = self._venv_with_new_setuptools(tmp_path, "ours", new_setuptools)
        result = cli("install", bundle, python=env.python, prefix=OFFLINE)
        assert_clean(result)
        assert result.returncode == 0, result
        assert result.report["problems"] == []
        installed = result.installed()
        assert "html2notion" in installed and installed.get("crcmod") == "1.7", installed
        wheels = {bootstrap.canonicalize_name(f.split("-")[0]) for f in os.listdir(bundle)}
        assert wheels <= set(installed_versions(env.site_packages)), wheels
        site = env.site_packages
        modules = []
        for name in installed:
            dist_info = kit.find_dist_info(site, name)
            assert kit.record_problems(site, dist_info) == [], name
            modules.extend(_top_level_modules(site, dist_info))
        assert "crcmod" in modules and "html2notion" in modules, modules
        code = ("import importlib, sys\nbad = []\nfor m in sys.argv[1:]:\n    try:\n"
                "        importlib.import_module(m)\n    except Exception as e:\n"
                "        bad.append('%s: %r' % (m, e))\nprint(bad)\n")
        proc = run(list(OFFLINE) + [env.python, "-c", code] + modules)
        assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc

        pip_env = self._venv_with_new_setuptools(tmp_path, "pips", new_setuptools)
        proc = run(list(OFFLINE) + [pip_env.python, "-m", "pip", "install", "--no-index",
                                    "--find-links", bundle, "--no-cache-dir", "html2notion"])
        assert proc.returncode != 0, proc
        assert "html2notion" not in installed_versions(pip_env.site_packages)

    def test_old_setuptools_without_wheel_is_sdist_needs_build(self, tmp_path):
        bundle = realwheels.require_set("html2notion")
        env = venv(tmp_path, "old", with_pip=True)
        versions = installed_versions(env.site_packages)
        if not versions.get("setuptools", "").startswith("65.") or "wheel" in versions:
            pytest.skip("this Python's venv does not come with setuptools 65 and no wheel: %s"
                        % versions)
        result = cli("install", bundle, python=env.python, prefix=OFFLINE)
        assert_clean(result)
        problems = result.problems("sdist-needs-build")
        assert len(problems) == 1, result
        problem = problems[0]
        assert "crcmod" in problem["subject"], problem
        assert "wheel" in problem["message"] and "65" in problem["message"], problem
        assert problem["fix"]["command"], problem
        assert result.returncode == 1
        after = installed_versions(env.site_packages)
        assert "crcmod" not in after and "html2notion" not in after, after
        for name, version in after.items():  # what it did install is whole
            if versions.get(name) != version:
                dist_info = kit.find_dist_info(env.site_packages, name)
                assert kit.record_problems(env.site_packages, dist_info) == [], name
        assert {k: v for k, v in versions.items()} == {
            k: v for k, v in after.items() if k in versions}


# -- 9. never online ------------------------------------------------------------------------------

AUDIT_SITECUSTOMIZE = r'''
import os, sys
_log = os.environ.get("AUDIT_LOG")
# socket.bind is left out: pip's vendored urllib3 binds a socket to ('::1', 0) when it is
# imported, to learn whether IPv6 exists; that reaches no network
_WATCH = ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname",
          "socket.gethostbyname_ex", "socket.gethostbyaddr", "socket.sendto", "socket.sendmsg",
          "urllib.Request", "http.client.connect", "ftplib.connect", "smtplib.connect")
def _hook(event, args):
    if event in _WATCH and _log:
        with open(_log, "a") as f:
            f.write("%d %s %r\n" % (os.getpid(), event, args[1:] if event.startswith(
                "socket.") else args))
if _log:
    sys.addaudithook(_hook)
'''


def tiny_sdist(folder, name="tinysdist", version="1.0"):
    """A setuptools sdist (setup.py, PKG-INFO, no pyproject.toml: the legacy backend)."""
    path = os.path.join(str(folder), "%s-%s.tar.gz" % (name, version))
    members = {
        "PKG-INFO": "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version),
        "setup.py": "from setuptools import setup\nsetup(name=%r, version=%r, py_modules=[%r])\n"
                    % (name, version, name),
        "%s.py" % name: "VALUE = 'built'\n",
    }
    with tarfile.open(path, "w:gz") as archive:
        for member, text in sorted(members.items()):
            data = text.encode("utf-8")
            info = tarfile.TarInfo("%s-%s/%s" % (name, version, member))
            info.size, info.mode, info.mtime = len(data), 0o644, 315532800
            archive.addfile(info, io.BytesIO(data))
    return path


def _can_build_sdists(python):
    code = ("import setuptools, sys\ntry:\n    import wheel\nexcept ImportError:\n"
            "    v = tuple(int(x) for x in setuptools.__version__.split('.')[:2])\n"
            "    sys.exit(0 if v >= (70, 1) else 1)\n")
    return run([python, "-c", code]).returncode == 0 and run(
        [python, "-m", "pip", "--version"]).returncode == 0


class TestNeverOnline:
    @needs_unshare
    def test_install_works_in_a_network_less_namespace(self, tmp_path):
        folder = wheel_dir(tmp_path, "w")
        demo_wheel(folder)
        target = tmp_path / "target"
        result = cli("install", folder, "--target", target, prefix=OFFLINE)
        assert_clean(result)
        assert result.returncode == 0, result
        assert installed_versions(str(target)) == {"demopkg": "1.0"}

    def _audited(self, tmp_path, code):
        hooks = tmp_path / "hooks"
        hooks.mkdir(exist_ok=True)
        (hooks / "sitecustomize.py").write_text(AUDIT_SITECUSTOMIZE)
        log = tmp_path / ("audit-%d.log" % len(list(tmp_path.glob("audit-*.log"))))
        log.write_text("")
        proc = run([sys.executable, "-c", code], env=clean_env(
            PYTHONPATH=os.pathsep.join([str(hooks), BOOTSTRAP_DIR]), AUDIT_LOG=log))
        return proc, log.read_text()

    def test_the_audit_hook_sees_connections_in_every_process(self, tmp_path):
        """The control: the hook is active in the process and in the children it starts."""
        code = ("import socket, subprocess, sys\n"
                "try:\n    socket.create_connection(('127.0.0.1', 9), timeout=1)\n"
                "except OSError:\n    pass\n"
                "subprocess.run([sys.executable, '-c', 'import socket\\ntry:\\n"
                "    socket.getaddrinfo(\"localhost\", 80)\\nexcept OSError:\\n    pass'])\n")
        proc, log = self._audited(tmp_path, code)
        assert proc.returncode == 0, proc
        assert "socket.connect" in log, log
        assert "socket.getaddrinfo" in log, log
        assert len({line.split()[0] for line in log.splitlines()}) == 2, log

    def test_install_makes_no_network_call(self, tmp_path):
        folder = wheel_dir(tmp_path, "w")
        demo_wheel(folder, requires=["plain"])
        write_wheel(folder, "plain", "1.0")
        building = _can_build_sdists(sys.executable)
        if building:
            tiny_sdist(folder)
        target = tmp_path / "target"
        code = ("import json, bootstrap\n"
                "r = bootstrap.install([%r], target=%r, progress=lambda *a: None)\n"
                "print(json.dumps(r))\n" % (str(folder), str(target)))
        proc, log = self._audited(tmp_path, code)
        assert proc.returncode == 0, proc
        assert log == "", log
        report = json.loads(proc.stdout.splitlines()[-1])
        assert report["status"] == "ok", json.dumps(report["problems"], indent=1)
        names = {i["name"] for i in report["installed"]}
        assert {"demopkg", "plain"} <= names
        if building:  # the sdist was built through pip, and pip did not go online either
            assert "tinysdist" in names


# -- 10. usable at once ---------------------------------------------------------------------------

USABLE_CODE = r'''
import json, sys
sys.path.insert(0, sys.argv[1])
import bootstrap
kwargs = json.loads(sys.argv[3])
kwargs["progress"] = lambda *a: None
preimport = kwargs.pop("preimport", None)
if preimport:
    __import__(preimport)
for name in kwargs.pop("missing_before", ()):  # a notebook tries first, then installs
    try:
        __import__(name)
        raise SystemExit("%s was importable before the install" % name)
    except ImportError:
        pass
report = bootstrap.install([sys.argv[2]], **kwargs)
out = {"status": report["status"], "codes": [p["code"] for p in report["problems"]],
       "problems": report["problems"], "imports": {}}
for name in json.loads(sys.argv[4]):
    try:
        module = __import__(name)
        out["imports"][name] = getattr(module, "VALUE", "ok")
    except Exception as error:
        out["imports"][name] = "FAILED %s: %s" % (type(error).__name__, error)
print(json.dumps(out))
'''


def pth_wheel(folder):
    return write_wheel(folder, "pthdemo", "1.0", files={
        "pthdemo/__init__.py": "VALUE = 'pthdemo'\n",
        "pthdemo.pth": "pthdemo_extra\n",
        "pthdemo_extra/pthmod.py": "VALUE = 'pthmod'\n"})


def run_usable(python, bundle, kwargs, check):
    proc = run([python, "-c", USABLE_CODE, BOOTSTRAP_DIR, str(bundle), json.dumps(kwargs),
                json.dumps(check)])
    assert proc.returncode == 0, proc
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.mark.skipif(PY311 is None, reason="no CPython 3.11 to make venvs with")
class TestUsableAtOnce:
    def test_new_package_imports_in_the_same_process(self, tmp_path):
        folder = wheel_dir(tmp_path, "w")
        write_wheel(folder, "freshpkg", "1.0", files={"freshpkg/__init__.py": "VALUE = 'fresh'\n"})
        env = venv(tmp_path)
        out = run_usable(env.python, folder, {"verify": False, "missing_before": ["freshpkg"]},
                         ["freshpkg"])
        assert out["status"] == "ok", out
        assert out["imports"] == {"freshpkg": "fresh"}

    def test_pth_file_is_processed_in_site_packages(self, tmp_path):
        """site-packages is on sys.path already: the new .pth file must still be read."""
        pth_wheel(wheel_dir(tmp_path, "w"))
        env = venv(tmp_path)
        out = run_usable(env.python, tmp_path / "w",
                         {"verify": False, "missing_before": ["pthdemo", "pthmod"]},
                         ["pthdemo", "pthmod"])
        assert out["status"] == "ok", out
        assert out["imports"] == {"pthdemo": "pthdemo", "pthmod": "pthmod"}

    def test_pth_file_is_processed_in_a_target(self, tmp_path):
        pth_wheel(wheel_dir(tmp_path, "w"))
        env = venv(tmp_path)
        out = run_usable(env.python, tmp_path / "w",
                         {"verify": False, "target": str(tmp_path / "target")},
                         ["pthdemo", "pthmod"])
        assert out["status"] == "ok", out
        assert out["imports"] == {"pthdemo": "pthdemo", "pthmod": "pthmod"}

    def test_upgrading_an_imported_package_is_restart_needed(self, tmp_path, xpkg):
        env = venv(tmp_path)
        env.pip_install_offline(xpkg["1.0"], "xpkg", check=True)
        out = run_usable(env.python, xpkg["2.0"],
                         {"verify": False, "upgrade": True, "preimport": "xpkg"}, [])
        assert out["codes"] == ["restart-needed"], out
        problem = out["problems"][0]
        assert problem["subject"] == "xpkg" and problem["fix"]["command"], problem
        assert installed_versions(env.site_packages) == {"xpkg": "2.0"}

    def test_upgrading_a_package_not_imported_needs_no_restart(self, tmp_path, xpkg):
        env = venv(tmp_path)
        env.pip_install_offline(xpkg["1.0"], "xpkg", check=True)
        out = run_usable(env.python, xpkg["2.0"], {"verify": False, "upgrade": True}, [])
        assert out["status"] == "ok" and out["codes"] == [], out


# -- 11. verification -----------------------------------------------------------------------------


class TestVerification:
    # With workers (forced: these wheels are few), one of them also walks and compiles what
    # the roots' imports run while the verifier imports them: the outcome must not change.
    @pytest.mark.parametrize("workers", [False, True], ids=["threads", "workers-warming"])
    def test_import_failures_are_reported_and_the_caller_survives(self, tmp_path, monkeypatch,
                                                                  workers):
        walks = []
        if workers:
            plain = bootstrap._ExtractionWorkers.warm
            monkeypatch.setattr(bootstrap, "_WORKER_MEMBERS", 0)
            monkeypatch.setattr(bootstrap._ExtractionWorkers, "warm", lambda self, *args: (
                walks.append(args) or plain(self, *args)))
        folder = wheel_dir(tmp_path, "w")
        write_wheel(folder, "verifyok", "1.0")
        write_wheel(folder, "verifymissing", "1.0", files={
            "verifymissing/__init__.py": "import _does_not_exist_lib\n"})
        write_wheel(folder, "verifylib", "1.0", files={
            "verifylib/__init__.py": "raise ImportError('loading the extension failed\\n"
                                     "libmissing.so.1: cannot open shared object file: No "
                                     "such file or directory')\n"})
        write_wheel(folder, "verifyext", "1.0", tag="py3-none-" + PLATFORM_TAG, files={
            "verifyext%s" % EXT_SUFFIX: b"\x7fELF but not really an extension module"})
        write_wheel(folder, "verifycrash", "1.0", files={
            "verifycrash.py": "import os\nos.abort()\n"})
        monkeypatch.setattr(sys, "path", list(sys.path))
        report = bootstrap.install([str(folder)], target=str(tmp_path / "target"),
                                   progress=lambda *a: None, jobs=2)
        assert len(walks) == (1 if workers else 0)  # the warming ran beside the verifier
        assert isinstance(report, dict) and report["schema"] == "sandbox-bootstrap.report/1"
        assert sorted(i["name"] for i in report["installed"]) == [
            "verifycrash", "verifyext", "verifylib", "verifymissing", "verifyok"]
        failed = {p["subject"]: p for p in report["problems"] if p["code"] == "import-failed"}
        assert sorted(failed) == ["verifycrash", "verifyext", "verifylib", "verifymissing"], \
            report["problems"]
        assert "No module named '_does_not_exist_lib'" in failed["verifymissing"]["message"]
        message = failed["verifylib"]["message"]
        assert "libmissing.so.1: cannot open shared object file" in message
        assert "loading the extension failed" not in message  # the last line only
        assert "ImportError" in failed["verifyext"]["message"]
        # every fix is a step that can change the outcome: a bundle for this sandbox of what
        # is missing (the dependency, or a wheel of the package built for this interpreter)
        wanted = {"verifymissing": "does-not-exist-lib", "verifylib": "verifylib==1.0",
                  "verifyext": "verifyext==1.0", "verifycrash": "verifycrash==1.0"}
        # everything missing is fetched by ONE builder command: each problem's fix is that
        # builder, and every wanted requirement is among its requirement arguments (the words
        # before its first option)
        for name, problem in failed.items():
            fix = problem["fix"]
            assert fix["where"] == "online", problem
            words = shlex.split(fix["command"])
            assert words[:2] == ["python", "tools/bundle.py"], problem
            options = [i for i, word in enumerate(words) if word.startswith("-")]
            assert options and "--profile" in words[options[0]:], problem
            assert wanted[name] in words[2:options[0]], problem
            assert "import %s" % name not in json.dumps(fix), problem
        assert len(set(p["fix"]["command"] for p in failed.values())) == 1, failed
        # a broken build's own reinstall is the fix: the builder is told to ship it again
        # although it is installed (never that it is installed at that version)
        words = shlex.split(report["fix"]["command"])
        again = [words[i + 1] for i, word in enumerate(words) if word == "--reinstall"]
        assert again == ["verifycrash", "verifyext", "verifylib"], words
        pinned = [words[i + 1] for i, word in enumerate(words) if word == "--installed"]
        assert not [p for p in pinned if p.split("==")[0] in again], words
        assert "library" in failed["verifylib"]["fix"]["hint"], failed["verifylib"]
        assert report["notes"] == [], report["notes"]
        assert report["status"] in ("partial", "failed") and report.exit_code == 1
        for name in ("verifymissing", "verifylib", "verifyext", "verifycrash"):
            assert name not in sys.modules  # verified in a subprocess, not here

    @pytest.mark.parametrize("flag", ["-E", "-I"])
    def test_under_E_the_verifier_reads_no_python_variable_either(self, tmp_path, flag):
        """``python -E bootstrap.py`` ignores PYTHONPATH and PYTHONWARNINGS; so does its
        verifying interpreter: a PYTHONPATH json.py that shadows the standard library, and
        warnings made errors, break neither the root's import there nor here (the oracle:
        this interpreter with the same flag and environment imports the root from the
        target)."""
        folder = wheel_dir(tmp_path, "w")
        write_wheel(folder, "flagroot", "1.0", files={
            "flagroot/__init__.py": "import json, warnings\n"
                                    "warnings.warn('old', DeprecationWarning)\n"})
        junk = tmp_path / "junk"
        junk.mkdir()
        (junk / "json.py").write_text("raise ImportError('the PYTHONPATH json')\n")
        target = tmp_path / "target"
        env = kit.clean_env(PYTHONPATH=str(junk), PYTHONWARNINGS="error")
        result = kit.Result(kit.run([sys.executable, flag, BOOTSTRAP_PY, "install", str(folder),
                                     "--target", str(target), "--json"], env=env))
        assert result.returncode == 0 and result.codes() == [], result
        assert result.installed() == {"flagroot": "1.0"}, result
        oracle = kit.run([sys.executable, flag, "-c", "import sys; sys.path.insert(0, %r); "
                          "import flagroot" % str(target)], env=env)
        assert oracle.returncode == 0, oracle.stderr
        # the same environment without the flag is what the verifier used to see: it fails
        plain = kit.run([sys.executable, "-c", "import flagroot"], env=dict(
            env, PYTHONPATH=os.pathsep.join([str(target), str(junk)])))
        assert plain.returncode != 0 and "PYTHONPATH json" in plain.stderr, plain.stderr

    @pytest.mark.parametrize("flag", ["-s", "-I", None], ids=["s", "I", "none"])
    def test_under_s_the_verifier_reads_no_user_site_either(self, tmp_path, flag):
        """``python -s bootstrap.py`` (and -I) does not read the user's site-packages; nor does
        its verifying interpreter. A real user site (~/.local, HOME in tmp_path, a pyenv
        CPython: a venv reads none) holds a broken usersroot and a .pth that puts that
        folder first, so an interpreter that reads it imports the user's usersroot, not the
        target's. The verifier's verdict is what this interpreter, with the same flag and
        environment, imports with the target first (the oracle): under -s and -I it works,
        without a flag it fails (the user site is read there, and is read by the verifier)."""
        python = kit.find_python("%d.%d" % sys.version_info[:2])
        if python is None:
            pytest.skip("no CPython %d.%d from pyenv or PATH" % sys.version_info[:2])
        folder = wheel_dir(tmp_path, "w")
        write_wheel(folder, "usersroot", "1.0", files={"usersroot/__init__.py": "OK = 1\n"})
        home = tmp_path / "home"  # not PYTHONUSERBASE: under -I, the verifier reads no PYTHON*
        home.mkdir()
        env = kit.clean_env(HOME=home)
        user_site = kit.run([python, "-c", "import site; print(site.getusersitepackages())"],
                            env=env, check=True).stdout.strip()
        assert user_site.startswith(str(home)), user_site
        os.makedirs(os.path.join(user_site, "usersroot"))
        with open(os.path.join(user_site, "usersroot", "__init__.py"), "w") as f:
            f.write("raise ImportError('the user site usersroot')\n")
        with open(os.path.join(user_site, "first.pth"), "w") as f:
            f.write("import sys; sys.path.insert(0, %r)\n" % user_site)
        cwd, target = tmp_path / "cwd", tmp_path / "target"
        cwd.mkdir()
        before = kit.snapshot(str(tmp_path))
        flags = [flag] if flag else []
        result = kit.Result(kit.run([python] + flags + [BOOTSTRAP_PY, "install", str(folder),
                                                       "--target", str(target), "--json"],
                                    cwd=cwd, env=env))
        assert result.installed() == {"usersroot": "1.0"}, result
        # the oracle: this interpreter, the same flag and environment, the target first
        # (PYTHONPATH, as the report says; under -I, which ignores it, in sys.path)
        probe = "import sys; sys.path.insert(0, %r); import usersroot" % str(target)
        oracle = kit.run([python] + flags + ["-c", probe] if flag == "-I" else
                         [python] + flags + ["-c", "import usersroot"],
                         env=dict(env, PYTHONPATH=str(target)))
        if flag is None:
            assert "the user site usersroot" in oracle.stderr, oracle.stderr
            assert result.returncode == 1 and result.codes() == ["import-failed"], result
            assert "the user site usersroot" in result.problems("import-failed")[0][
                "message"], result
        else:
            assert oracle.returncode == 0, oracle.stderr
            assert result.returncode == 0 and result.codes() == [], result
        # nothing changed but the target, its activation file, and (where a root failed)
        # the profile its online fix names
        after = kit.snapshot(str(tmp_path))
        made = ["target-activate.pth"] + ["sandbox-profile.json"] * (flag is None)
        assert [p for p in set(before) | set(after) if before.get(p) != after.get(p)
                and p.split(os.sep)[0] not in ["target"] + made] == [], sorted(
            set(after) ^ set(before))
        assert sorted(p for p in set(after) - set(before) if os.sep not in p) == sorted(
            ["target"] + made)

    def test_a_rerun_verifies_the_roots_already_installed(self, tmp_path):
        """The same install run again over a root that does not import: the root is already
        satisfied, and still import-failed (the first run's fix said to run it again once
        something changed: it must not say OK when nothing did); a root that imports stays ok,
        and its import ran again (it counts its imports in a file)."""
        folder = wheel_dir(tmp_path, "w")
        count = tmp_path / "imports.txt"
        write_wheel(folder, "rerunbroken", "1.0", files={
            "rerunbroken/__init__.py": "raise ImportError('libgone.so.1: cannot open shared "
                                       "object file')\n"})
        write_wheel(folder, "rerunfine", "1.0", files={
            "rerunfine/__init__.py": "with open(%r, 'a') as f:\n    f.write('x')\n" % str(count)})
        target = tmp_path / "target"
        for run in ("first", "again"):
            result = cli("install", folder, "--target", target, "--require", "rerunbroken",
                         "--require", "rerunfine")
            assert result.returncode == 1, (run, result)
            failed = [(p["code"], p["subject"]) for p in result.report["problems"]]
            assert failed == [("import-failed", "rerunbroken")], (run, failed)
            names = "installed" if run == "first" else "satisfied"
            assert sorted(i["name"] for i in result.report[names]) == [
                "rerunbroken", "rerunfine"], (run, result.report)
        assert count.read_text() == "xx"
        result = cli("install", folder, "--target", target, "--require", "rerunfine")
        assert result.returncode == 0 and result.report["status"] == "ok", result
        assert count.read_text() == "xxx"

    def test_a_checks_everything_fits_step_installs_what_was_checked(self, tmp_path):
        """check --require fitroot --work-dir W: 'Everything fits: <command>', run word for
        word in a venv, installs fitroot and its dependency, not the bundle's other root (it
        named the uploads alone, which installs every root of the bundle)."""
        folder = wheel_dir(tmp_path, "w")
        write_wheel(folder, "fitroot", "1.0", requires=["fitdep"])
        write_wheel(folder, "fitdep", "1.0")
        write_wheel(folder, "fitother", "1.0")
        work = tmp_path / "work"
        work.mkdir()
        env = venv(tmp_path)
        result = cli("check", folder, "--require", "fitroot", "--work-dir", work,
                     python=env.python)
        assert result.returncode == 0 and result.report["status"] == "ok", result
        (step,) = result.report["next_steps"]
        lead, command = step.split(": ", 1)
        assert lead == "Everything fits", step
        words = shlex.split(command)
        assert words[:3] == ["python", "bootstrap.py", "install"], step
        proc = kit.run([env.python, BOOTSTRAP_PY] + words[2:])
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert installed_versions(env.site_packages) == {"fitroot": "1.0", "fitdep": "1.0"}

    def test_no_verify_skips_the_imports(self, tmp_path):
        folder = wheel_dir(tmp_path, "w")
        write_wheel(folder, "verifymissing", "1.0", files={
            "verifymissing/__init__.py": "import _does_not_exist_lib\n"})
        result = cli("install", folder, "--target", tmp_path / "t", "--no-verify")
        assert result.returncode == 0 and result.codes() == [], result

    def test_a_module_needing_an_absent_extra_is_a_note(self, tmp_path):
        """black for 3.8: black imports, blackd needs black[d] (aiohttp): ok, with a note."""
        folder = wheel_dir(tmp_path, "w")
        write_wheel(folder, "blacklike", "1.0", extras={"d": ["aiohttplike>=3"]}, files={
            "blacklike/__init__.py": "VALUE = 'black'\n",
            "blacklikd.py": "try:\n    import aiohttplike\nexcept ImportError as error:\n"
                            "    raise ImportError('aiohttp dependency is not installed: %s. "
                            "Reinstall with the [d] extra' % error) from None\n",
            "_blacklike_version.py": "version = '1.0'\n"})
        result = cli("install", folder, "--target", tmp_path / "t")
        assert result.returncode == 0 and result.report["status"] == "ok", result
        assert result.codes() == [], result.report["problems"]
        notes = [n for n in result.report["notes"] if "blacklikd" in n]
        assert len(notes) == 1, result.report["notes"]
        assert "aiohttplike" in notes[0] and "blacklike[d]" in notes[0], notes

    def test_a_root_that_needs_its_own_extra_still_fails(self, tmp_path):
        """The same missing extra in the root's own module breaks the root: import-failed."""
        folder = wheel_dir(tmp_path, "w")
        write_wheel(folder, "blacklike", "1.0", extras={"d": ["aiohttplike>=3"]}, files={
            "blacklike/__init__.py": "import aiohttplike\n"})
        result = cli("install", folder, "--target", tmp_path / "t")
        assert result.returncode == 1 and result.codes() == ["import-failed"], result
        problem = result.report["problems"][0]
        assert problem["subject"] == "blacklike" and "aiohttplike" in problem["message"]
        assert problem["fix"]["command"].startswith("python tools/bundle.py aiohttplike ")

    def test_a_package_beside_the_roots_is_not_imported(self, tmp_path):
        """jupyterlab: matplotlib_inline imports matplotlib without declaring it, but the root
        does not import it: only the roots are verified, so the install is ok with no note,
        and nothing of the other package was imported (no bytecode written for it)."""
        folder = wheel_dir(tmp_path, "w")
        write_wheel(folder, "lablike", "1.0", requires=["inline-like"], files={
            "lablike/__init__.py": "VALUE = 'lab'\n"})
        write_wheel(folder, "inline-like", "1.0", files={
            "inline_like/__init__.py": "from . import backend\n",
            "inline_like/backend.py": "import plotlike\n"})
        result = cli("install", folder, "--target", tmp_path / "t")  # the root: lablike
        assert result.report["roots"] == ["lablike"], result.report["roots"]
        assert result.returncode == 0 and result.report["status"] == "ok", result
        assert sorted(result.installed()) == ["inline-like", "lablike"]
        assert result.report["notes"] == [] and result.codes() == [], result.report
        assert os.path.isfile(_cached(tmp_path / "t", "lablike/__init__.py"))
        assert not os.path.exists(tmp_path / "t" / "inline_like" / "__pycache__")

    def test_a_root_waits_for_a_dependency_placed_after_it(self, tmp_path):
        """Verification starts before the packages are in place: the root (the largest wheel,
        placed first) imports a dependency placed after it, and that import waits for it."""
        folder = wheel_dir(tmp_path, "w")
        write_wheel(folder, "bigroot", "1.0", requires=["smalldep"], files={
            "bigroot/__init__.py": "import smalldep\nVALUE = smalldep.VALUE\n",
            "bigroot/blob.bin": os.urandom(3 << 20)})
        write_wheel(folder, "smalldep", "1.0", files={"smalldep.py": "VALUE = 1\n"})
        result = cli("install", folder, "--require", "bigroot", "--target", tmp_path / "t")
        assert result.returncode == 0 and result.report["status"] == "ok", result
        assert result.codes() == [] and result.report["notes"] == [], result.report
        assert [i["name"] for i in result.report["installed"]] == ["bigroot", "smalldep"]
        assert os.path.isfile(_cached(tmp_path / "t", "smalldep.py"))  # imported, after it

    def test_an_import_of_a_held_name_waits_until_it_is_placed(self, tmp_path):
        """The verifying interpreter is inside the root's import (a flag file says so) before
        the dependency exists: the import waits for the dependency's line, then succeeds."""
        target = tmp_path / "t"
        target.mkdir()
        inside = tmp_path / "inside"
        verifier = bootstrap._Verifier(str(target))
        verifier.start(["bigroot", "smalldep"])
        try:
            (target / "bigroot").mkdir()
            (target / "bigroot" / "__init__.py").write_text(
                "open(%r, 'w').close()\nimport smalldep\n" % str(inside))
            verifier.placed(["bigroot"], ["bigroot"])
            deadline = time.monotonic() + 60
            while not inside.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            assert inside.exists()
            (target / "smalldep.py").write_text("VALUE = 1\n")
            verifier.placed(["smalldep"])
            assert verifier.results(["bigroot"]) == {"bigroot": None}
        finally:
            verifier.stop()

    def test_an_importer_that_gives_text_only_fits_the_seam(self):
        """Where no process can be started an in-process importer stands in: its text-only
        results are read the same way (no subprocess is run here)."""
        calls = []

        def importer(modules, extra_path):
            calls.append(list(modules))
            return {"blacklike": None, "blacklikd": "ImportError: aiohttp dependency is not "
                    "installed: No module named 'aiohttplike'", "lablike": "ImportError: boom"}

        problems, notes = bootstrap.verify_imports(
            {"blacklike": ["blacklike", "blacklikd"], "lablike": ["lablike"]},
            roots=["blacklike", "lablike"], importer=importer,
            requires={"blacklike": ['aiohttplike>=3; extra == "d"']})
        assert calls == [["blacklike", "blacklikd", "lablike"]]  # the roots' modules, once
        assert [(p.code, p.subject) for p in problems] == [("import-failed", "lablike")]
        assert len(notes) == 1 and "blacklike[d]" in notes[0] and "blacklikd" in notes[0]


# -- 12. bytecode ---------------------------------------------------------------------------------


def bytecode_wheel(folder):
    return write_wheel(folder, "bytepkg", "1.0", files={
        "bytepkg/__init__.py": "from . import core\nVALUE = core.VALUE\n",
        "bytepkg/core.py": "VALUE = 'bytes'\n",
        "bytepkg/sub/__init__.py": "",
        "bytepkg/sub/deep.py": "DEEP = 1\n",
        "bytepkg/tests/__init__.py": "",
        "bytepkg/tests/test_core.py": "def test():\n    pass\n",
        "bytemod.py": "X = 1\n",
        "bytepkg/py2only.py": "print 'old'\n"})


def _cached(target, relative):
    import importlib.util
    return importlib.util.cache_from_source(os.path.join(str(target), relative))


class TestBytecode:
    """The bytecode written is that of the roots' import (what verification imports, the
    user's first import); the rest compiles on first use."""
    COMPILED = ("bytepkg/__init__.py", "bytepkg/core.py", "bytemod.py")

    def test_bytecode_is_written_and_used_as_it_is(self, tmp_path):
        bytecode_wheel(wheel_dir(tmp_path, "w"))
        target = tmp_path / "t"  # the user's own PYTHONDONTWRITEBYTECODE is not inherited
        result = cli("install", tmp_path / "w", "--target", target,
                     env=clean_env(PYTHONDONTWRITEBYTECODE="1"))
        assert result.returncode == 0 and result.report["status"] == "ok", result
        for relative in self.COMPILED:
            assert os.path.isfile(_cached(target, relative)), relative
        for relative in ("bytepkg/sub/__init__.py", "bytepkg/sub/deep.py",
                         "bytepkg/tests/test_core.py", "bytepkg/tests/__init__.py",
                         "bytepkg/py2only.py"):  # not imported by the roots: on first use
            assert not os.path.exists(_cached(target, relative)), relative
        before = snapshot(target, skip=())
        stamps = {p: os.stat(_cached(target, p)).st_mtime_ns for p in self.COMPILED}
        proc = run([sys.executable, "-c", "import sys; assert not sys.dont_write_bytecode; "
                    "import bytepkg, bytemod; print(bytepkg.VALUE)"],
                   env=clean_env(PYTHONPATH=str(target)))
        assert proc.returncode == 0 and proc.stdout.strip() == "bytes", proc
        assert kit.diff_trees(before, snapshot(target, skip=())) == []  # nothing rewritten
        assert stamps == {p: os.stat(_cached(target, p)).st_mtime_ns for p in self.COMPILED}

    def test_tree_and_record_without_pycache_equal_the_unpack_only_install(self, tmp_path):
        """Bytecode is the only difference: not in RECORD, as pip --no-compile leaves it."""
        bytecode_wheel(wheel_dir(tmp_path, "w"))
        default = cli("install", tmp_path / "w", "--target", tmp_path / "a")
        plain = cli("install", tmp_path / "w", "--target", tmp_path / "b", "--no-verify")
        assert default.returncode == 0 and plain.returncode == 0, (default, plain)
        tree = snapshot(tmp_path / "a")
        assert not os.path.exists(tmp_path / "b" / "bytepkg" / "__pycache__")
        assert kit.diff_trees(tree, snapshot(tmp_path / "b"), "default", "--no-verify") == []
        assert snapshot(tmp_path / "a", skip=()) != tree  # the default did write bytecode
