"""Environment modes (issue 7): layered venvs, overlays, baked runtimes, conda-pack archives.

Everything here runs in real interpreters made for the test under tmp_path (venvs of this
machine's CPython; nothing is installed into its own site-packages), and bootstrap.py runs in
them as a CLI or through its API in a subprocess, so that sys.path and sys.modules of the test
process are never touched. Bases are compared byte for byte (every file hashed, __pycache__
included) before and after. The conda-pack archives are made by the real ``conda-pack`` from
PyPI (see tests/modekit.py for how the conda-style prefix is built and why).
"""

import json
import os
import shlex
import shutil
import sys
import sysconfig
import tarfile

import pytest

import hostkit
from installkit import (Venv, bootstrap, clean_env, diff_trees, find_dist_info, find_python,
                        installed_versions, record_problems, run, snapshot)
from modekit import (BOOTSTRAP_PY, conda_pack, fingerprint, fingerprint_diff,
                     install_with_pip, layer_over, make_conda_prefix, require_conda_pack,
                     rewrite_tar, run_script)

OVERLAY_MARKER = ".sandbox-bootstrap-overlay"


def _this_python():
    """The CPython this suite runs on (the base of its venv): the venvs here are made from it."""
    python = find_python("%d.%d" % sys.version_info[:2])
    if python is None:
        pytest.skip("no CPython %d.%d found to make venvs from" % sys.version_info[:2])
    return python


def _same(a, b):
    return os.path.realpath(a) == os.path.realpath(b)


def _pkg(version):
    """The module of a test package: its version and where it was imported from."""
    return '__version__ = "%s"\n' % version


# -- layered venvs -----------------------------------------------------------------------------------


@pytest.fixture
def layered(tmp_path, make_wheel):
    """A base venv (basepkg 1.0, basedep 1.0, installed by pip with bytecode) and a kernel venv
    joined to it by a .pth line; a bundle folder with basepkg 2.0 and newpkg 1.0 (which needs
    basedep>=1, only in the base)."""
    python = _this_python()
    base_wheels = tmp_path / "base-wheels"
    make_wheel("basepkg", "1.0")
    make_wheel("basedep", "1.0")
    os.rename(str(tmp_path / "wheels"), str(base_wheels))
    base = Venv(tmp_path / "base", python)
    install_with_pip(base, base_wheels, "basepkg", "basedep")
    kernel = Venv(tmp_path / "kernel", python)
    pth = layer_over(kernel, base)
    make_wheel("basepkg", "2.0")
    make_wheel("newpkg", "1.0", requires=["basedep>=1"])
    bundle = tmp_path / "wheels"

    class Layered(object):
        pass
    env = Layered()
    env.base, env.kernel, env.pth, env.bundle, env.tmp = base, kernel, pth, bundle, tmp_path
    env.base_before = fingerprint(base.root)
    return env


def _import_version(python, module, env=None):
    """(version, file) of ``module`` imported by ``python`` in a fresh process."""
    proc = run([python, "-c", "import json, %s as m; print(json.dumps([m.__version__, "
                "m.__file__]))" % module], env=env, check=True)
    return tuple(json.loads(proc.stdout))


class TestLayeredVenv:
    def test_inspect_reports_the_base(self, layered):
        result = run([layered.kernel.python, BOOTSTRAP_PY, "inspect", "--json"], check=True)
        profile = json.loads(result.stdout)
        assert profile["sandbox"]["layered_over"] is not None, profile["sandbox"]
        assert _same(profile["sandbox"]["layered_over"], layered.base.site_packages)
        installed = {d["name"]: d for d in profile["installed"]}
        assert installed["basepkg"]["version"] == "1.0"
        assert _same(installed["basepkg"]["location"], layered.base.site_packages)
        text = run([layered.kernel.python, BOOTSTRAP_PY, "inspect"], check=True).stdout
        lines = [line for line in text.splitlines() if line.startswith("Layered over base ")]
        assert len(lines) == 1, text
        assert layered.base.site_packages in lines[0]

    def test_inspect_of_a_plain_venv_is_not_layered(self, layered):
        profile = json.loads(run([layered.base.python, BOOTSTRAP_PY, "inspect", "--json"],
                                 check=True).stdout)
        assert profile["sandbox"]["layered_over"] is None
        text = run([layered.base.python, BOOTSTRAP_PY, "inspect"], check=True).stdout
        assert "Layered over" not in text

    def test_install_goes_into_the_layer_and_base_packages_count(self, layered):
        result = bootstrap(layered.kernel.python, "install", layered.bundle)
        assert result.report is not None, result
        # newpkg lands in the layer; its dependency is satisfied by the base
        assert result.installed() == {"newpkg": "1.0"}, result
        item = result.report["installed"][0]
        assert _same(item["location"], layered.kernel.site_packages)
        assert set(installed_versions(layered.kernel.site_packages)) == {"newpkg"}
        satisfied = {s["name"]: s["version"] for s in result.report["satisfied"]}
        assert satisfied.get("basedep") == "1.0", result
        # basepkg 2.0 would shadow the base: not without --upgrade. The root `basepkg` (a
        # project of the upload, unpinned) is satisfied by the base's 1.0: kept, no problem
        assert satisfied.get("basepkg") == "1.0", result
        assert result.report["problems"] == [], result
        assert not result.report.get("shadowed"), result
        assert result.returncode == 0 and result.report["status"] == "ok", result
        assert fingerprint_diff(layered.base_before, fingerprint(layered.base.root)) == []
        assert _import_version(layered.kernel.python, "basepkg")[0] == "1.0"
        assert _import_version(layered.kernel.python, "newpkg")[0] == "1.0"

    def test_a_newer_base_package_without_upgrade_is_a_conflict(self, layered):
        result = bootstrap(layered.kernel.python, "install", layered.bundle,
                           "--require", "basepkg==2.0")
        assert result.returncode == 1, result
        assert "version-conflict" in result.codes(), result
        assert result.installed() == {}, result
        assert installed_versions(layered.kernel.site_packages) == {}
        assert fingerprint_diff(layered.base_before, fingerprint(layered.base.root)) == []

    def test_upgrade_shadows_in_the_layer_and_records_it(self, layered):
        result = bootstrap(layered.kernel.python, "install", layered.bundle, "--upgrade")
        assert result.returncode == 0, result
        assert result.installed() == {"newpkg": "1.0", "basepkg": "2.0"}, result
        for item in result.report["installed"]:
            assert _same(item["location"], layered.kernel.site_packages), item
        assert installed_versions(layered.kernel.site_packages) == {
            "newpkg": "1.0", "basepkg": "2.0"}
        dist_info = find_dist_info(layered.kernel.site_packages, "basepkg")
        assert record_problems(layered.kernel.site_packages, dist_info) == []
        shadowed = result.report["shadowed"]
        assert len(shadowed) == 1, shadowed
        assert {k: shadowed[0][k] for k in ("name", "version", "by")} == {
            "name": "basepkg", "version": "1.0", "by": "2.0"}
        assert _same(shadowed[0]["location"], layered.base.site_packages)
        assert fingerprint_diff(layered.base_before, fingerprint(layered.base.root)) == []
        # the layer wins in the kernel; the base itself still has its own version
        version, where = _import_version(layered.kernel.python, "basepkg")
        assert version == "2.0" and where.startswith(layered.kernel.site_packages)
        version, where = _import_version(layered.base.python, "basepkg")
        assert version == "1.0" and where.startswith(layered.base.site_packages)

    def test_overlay_install_and_reset_leave_base_and_layer_as_they_were(self, layered):
        layer_before = fingerprint(layered.kernel.root)
        overlay = layered.tmp / "overlay"
        result = bootstrap(layered.kernel.python, "install", layered.bundle, "--overlay",
                           overlay, "--upgrade")
        assert result.returncode == 0, result
        assert result.installed() == {"newpkg": "1.0", "basepkg": "2.0"}, result
        assert installed_versions(str(overlay)) == {"newpkg": "1.0", "basepkg": "2.0"}
        assert os.path.isfile(str(overlay / OVERLAY_MARKER))
        assert [s["name"] for s in result.report["shadowed"]] == ["basepkg"]
        assert fingerprint_diff(layer_before, fingerprint(layered.kernel.root)) == []
        assert fingerprint_diff(layered.base_before, fingerprint(layered.base.root)) == []
        reset = run([layered.kernel.python, BOOTSTRAP_PY, "overlay", "--reset", str(overlay)])
        assert reset.returncode == 0, reset.stderr
        assert not os.path.exists(str(overlay))
        assert fingerprint_diff(layer_before, fingerprint(layered.kernel.root)) == []
        assert fingerprint_diff(layered.base_before, fingerprint(layered.base.root)) == []
        assert _import_version(layered.kernel.python, "basepkg")[0] == "1.0"


# -- overlays ----------------------------------------------------------------------------------------


@pytest.fixture
def overlay_env(tmp_path, make_wheel):
    """A venv holding basepkg 1.0 (by pip) and a bundle folder with basepkg 2.0 and newpkg."""
    python = _this_python()
    make_wheel("basepkg", "1.0")
    base_wheels = tmp_path / "base-wheels"
    os.rename(str(tmp_path / "wheels"), str(base_wheels))
    venv = Venv(tmp_path / "venv", python)
    install_with_pip(venv, base_wheels, "basepkg")
    make_wheel("basepkg", "2.0")
    make_wheel("newpkg", "1.0")
    return venv, tmp_path / "wheels", tmp_path / "overlay"


_OVERLAY_SCRIPT = r"""
import importlib
BUNDLE, OVERLAY, UPGRADE = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
out = {}
import basepkg
out["before"] = [basepkg.__version__, basepkg.__file__]
path_before = list(sys.path)
report = bootstrap.install([BUNDLE], overlay=OVERLAY, upgrade=UPGRADE)
out["report"] = dict(report)
out["path_after_install"] = list(sys.path)
del sys.modules["basepkg"]
import basepkg
out["after_install"] = [basepkg.__version__, basepkg.__file__]
import newpkg
out["newpkg"] = [newpkg.__version__, newpkg.__file__]
out["marker"] = os.path.isfile(os.path.join(OVERLAY, ".sandbox-bootstrap-overlay"))
reset = bootstrap.reset_overlay(OVERLAY)
out["reset"] = dict(reset)
out["loaded_after_reset"] = sorted(n for n in ("basepkg", "newpkg") if n in sys.modules)
out["path_after_reset"] = list(sys.path)
out["path_before"] = path_before
out["overlay_exists"] = os.path.exists(OVERLAY)
sys.modules.pop("basepkg", None)
import basepkg
out["after_reset"] = [basepkg.__version__, basepkg.__file__]
try:
    import newpkg
    out["newpkg_after_reset"] = newpkg.__file__
except ImportError:
    out["newpkg_after_reset"] = None
print(json.dumps(out))
"""


def _run_overlay(venv, bundle, overlay, upgrade):
    return run_script(venv.python, "sys.argv[1:] = %r\n" % [str(bundle), str(overlay),
                                                            "1" if upgrade else "0"]
                      + _OVERLAY_SCRIPT, env=clean_env())


class TestOverlay:
    def test_overlay_wins_until_reset(self, overlay_env):
        venv, bundle, overlay = overlay_env
        site_before = fingerprint(venv.root)
        out = _run_overlay(venv, bundle, overlay, upgrade=True)
        overlay = str(overlay)
        assert out["before"][0] == "1.0"
        report = out["report"]
        installed = {i["name"]: i for i in report["installed"]}
        assert set(installed) == {"basepkg", "newpkg"}, report
        assert all(_same(i["location"], overlay) for i in installed.values()), report
        assert [(s["name"], s["version"], s["by"]) for s in report["shadowed"]] == [
            ("basepkg", "1.0", "2.0")], report
        assert _same(report["shadowed"][0]["location"], venv.site_packages)
        assert out["marker"]
        # first on sys.path of the running interpreter, and the re-import takes the overlay's
        assert _same(out["path_after_install"][0], overlay), out["path_after_install"][:3]
        assert out["after_install"][0] == "2.0"
        assert out["after_install"][1].startswith(overlay + os.sep)
        assert out["newpkg"][1].startswith(overlay + os.sep)
        # reset: unloaded, off sys.path, deleted; the base's version is back
        assert out["loaded_after_reset"] == []
        assert set(out["reset"]["unloaded"]) >= {"basepkg", "newpkg"}, out["reset"]
        assert not any(_same(p, overlay) for p in out["path_after_reset"] if p)
        assert out["path_after_reset"] == out["path_before"]
        assert out["overlay_exists"] is False
        assert out["after_reset"][0] == "1.0"
        assert out["after_reset"][1].startswith(venv.site_packages + os.sep)
        assert out["newpkg_after_reset"] is None
        assert fingerprint_diff(site_before, fingerprint(venv.root)) == []

    def test_shadowing_the_base_needs_upgrade(self, overlay_env):
        venv, bundle, overlay = overlay_env
        site_before = fingerprint(venv.root)
        out = _run_overlay(venv, bundle, overlay, upgrade=False)
        report = out["report"]
        assert [i["name"] for i in report["installed"]] == ["newpkg"], report
        assert not report.get("shadowed"), report
        assert out["after_install"][0] == "1.0"
        assert out["after_install"][1].startswith(venv.site_packages + os.sep)
        assert out["newpkg"][1].startswith(str(overlay) + os.sep)
        assert out["overlay_exists"] is False
        assert fingerprint_diff(site_before, fingerprint(venv.root)) == []

    def test_reset_refuses_a_folder_it_did_not_make(self, tmp_path):
        folder = tmp_path / "not-an-overlay"
        folder.mkdir()
        (folder / "precious.txt").write_text("keep me")
        proc = run([sys.executable, BOOTSTRAP_PY, "overlay", "--reset", str(folder)])
        assert proc.returncode == 2, proc
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        assert str(folder) in proc.stderr
        assert (folder / "precious.txt").read_text() == "keep me"

    def test_reset_api_raises_usage_error(self, tmp_path):
        import bootstrap as bootstrap_module
        folder = tmp_path / "plain"
        folder.mkdir()
        path_before = list(sys.path)
        with pytest.raises(bootstrap_module.UsageError):
            bootstrap_module.reset_overlay(str(folder))
        assert folder.is_dir()
        assert sys.path == path_before


# -- baked runtimes ----------------------------------------------------------------------------------


@pytest.fixture
def baked(tmp_path, make_wheel):
    """A bundle archive (app 1.0 with a console script and .data scripts/data/headers, and its
    dependency appdep 1.0), and a builder venv that already has appdep 1.0 installed."""
    python = _this_python()
    make_wheel("appdep", "1.0")
    preinstalled = tmp_path / "preinstalled"
    os.rename(str(tmp_path / "wheels"), str(preinstalled))
    builder = Venv(tmp_path / "builder", python)
    install_with_pip(builder, preinstalled, "appdep")
    wheels = [
        make_wheel("appdep", "1.0"),
        make_wheel("app", "1.0", requires=["appdep>=1"],
                   files={"app/__init__.py": _pkg("1.0") + "def main():\n    print('app-cli ok')\n",
                          "app/data.txt": "payload\n"},
                   entry_points={"console_scripts": {"app-cli": "app:main"}},
                   data={"scripts": {"app-tool": "#!python\nprint('app-tool ok')\n"},
                         "data": {"share/app/app.txt": "shared data\n"},
                         "headers": {"app.h": "#define APP 1\n"}}),
    ]
    bundle = tmp_path / "bundle.tar.gz"
    with tarfile.open(str(bundle), "w:gz") as archive:
        for wheel in wheels:
            archive.add(str(wheel), arcname="wheels/" + wheel.name)
    return builder, bundle, tmp_path


_TARGET_SCRIPT = r"""
BUNDLE, FOLDER = sys.argv[1], sys.argv[2]
out = {"path_before": list(sys.path)}
report = bootstrap.install([BUNDLE], target=FOLDER)
out["status"] = report["status"]
out["pythonpath"] = report["activation"]["pythonpath"]
out["path_after"] = list(sys.path)
import appdep
out["appdep"] = [appdep.__version__, appdep.__file__]
print(json.dumps(out))
"""


def _activation_env(pythonpath_assignment):
    """The environment a fresh process gets from the printed ``PYTHONPATH=...`` line."""
    words = shlex.split(pythonpath_assignment)
    assert len(words) == 1 and words[0].startswith("PYTHONPATH="), pythonpath_assignment
    return clean_env(PYTHONPATH=words[0][len("PYTHONPATH="):])


class TestBakedRuntime:
    def test_target_is_self_contained_and_reproducible(self, baked):
        builder, bundle, tmp = baked
        first, second = tmp / "runtime-a" / "site", tmp / "runtime-b" / "site"
        a = bootstrap(builder.python, "install", bundle, "--target", first)
        b = bootstrap(builder.python, "install", bundle, "--target", second, "--jobs", "1")
        for result in (a, b):
            assert result.returncode == 0, result
            assert result.report["status"] == "ok", result
            # only what the folder holds counts: appdep is installed again, not "satisfied"
            assert result.installed() == {"app": "1.0", "appdep": "1.0"}, result
        assert installed_versions(str(first)) == {"app": "1.0", "appdep": "1.0"}
        for name in ("bin/app-cli", "bin/app-tool", "share/app/app.txt",
                     "include/python/app/app.h", "app/data.txt"):
            assert (first / name).is_file(), name
        assert diff_trees(snapshot(str(first)), snapshot(str(second)), "a", "b") == []
        # the activation file sits beside the folder, holding its absolute path
        for folder, result in ((first, a), (second, b)):
            activation = result.report["activation"]
            pth = str(folder) + "-activate.pth"
            assert activation["pth_file"] == pth
            assert open(pth).read() == activation["pth_line"] + "\n"
            assert str(folder) in activation["pth_line"]
            assert activation["pythonpath"] == "PYTHONPATH=" + shlex.quote(str(folder))
            assert sorted(os.listdir(os.path.dirname(pth))) == sorted(
                [os.path.basename(str(folder)), os.path.basename(pth)])
        assert not any(name.endswith(".pth") for name in os.listdir(str(first)))
        # the builder's own environment is untouched
        assert installed_versions(builder.site_packages) == {"appdep": "1.0"}

    def test_a_fresh_process_imports_with_only_the_printed_activation(self, baked):
        builder, bundle, tmp = baked
        target = tmp / "runtime" / "site"
        result = bootstrap(builder.python, "install", bundle, "--target", target)
        assert result.returncode == 0, result
        activation = result.report["activation"]
        fresh = Venv(tmp / "fresh", _this_python())
        code = ("import json, app, appdep; print(json.dumps([app.__version__, app.__file__, "
                "appdep.__file__]))")
        assert run([fresh.python, "-c", "import app"]).returncode != 0
        env = _activation_env(activation["pythonpath"])
        version, app_file, dep_file = json.loads(
            run([fresh.python, "-c", code], env=env, check=True).stdout)
        assert version == "1.0"
        assert app_file.startswith(str(target) + os.sep)
        assert dep_file.startswith(str(target) + os.sep)
        # the console script and the .data script run in that runtime
        cli = run([fresh.python, str(target / "bin" / "app-cli")], env=env, check=True)
        assert cli.stdout.strip() == "app-cli ok"
        tool = run([fresh.python, str(target / "bin" / "app-tool")], env=env, check=True)
        assert tool.stdout.strip() == "app-tool ok"
        # or: the .pth file copied into the runtime's site-packages
        shutil.copy(activation["pth_file"], fresh.site_packages)
        version, app_file, _ = json.loads(run([fresh.python, "-c", code], check=True).stdout)
        assert version == "1.0" and app_file.startswith(str(target) + os.sep)
        # the text report prints the same activation
        text = run([builder.python, BOOTSTRAP_PY, "install", str(bundle), "--target",
                    str(tmp / "again")], check=True).stdout
        assert "PYTHONPATH=" + shlex.quote(str(tmp / "again")) in text, text

    def test_in_this_process_the_target_is_what_imports(self, baked, make_wheel):
        """Installed from a notebook (the API) into --target, while the base holds an older
        appdep: the running interpreter imports the target's appdep 2.0, as the verifying
        interpreter did and as the printed activation (PYTHONPATH) does; never the base's
        1.0 beside the target's app, silently mixed."""
        builder, _, tmp = baked
        folder = tmp / "newer"
        bundle = tmp / "newer-wheels"
        os.makedirs(str(bundle))
        shutil.copy(str(make_wheel("appdep", "2.0", files={"appdep/__init__.py": _pkg("2.0")})),
                    str(bundle))
        out = run_script(builder.python, "sys.argv[1:] = %r\n" % [str(bundle), str(folder)]
                         + _TARGET_SCRIPT, env=clean_env())
        assert out["status"] == "ok", out
        assert out["appdep"][0] == "2.0" and out["appdep"][1].startswith(str(folder) + os.sep)
        fresh = run([builder.python, "-c", "import appdep; print(appdep.__version__)"],
                    env=_activation_env(out["pythonpath"]), check=True)
        assert fresh.stdout.strip() == "2.0"
        # only the folder was added to the path, and the base still has its own appdep
        assert [p for p in out["path_after"] if p not in out["path_before"]] == [str(folder)]
        assert installed_versions(builder.site_packages) == {"appdep": "1.0"}

    def test_the_pth_file_puts_the_folder_before_the_runtimes_packages(self, baked, make_wheel):
        """The .pth activation copied into a runtime whose site-packages holds an older appdep:
        the folder's appdep 2.0 is what imports, and sys.path is the one the PYTHONPATH
        activation gives (the verifying interpreter's), for a path with a quote, a space and
        a non-ASCII letter, in a C locale."""
        builder, _, tmp = baked
        bundle = tmp / "newer-wheels"
        os.makedirs(str(bundle))
        shutil.copy(str(make_wheel("appdep", "2.0", files={"appdep/__init__.py": _pkg("2.0")})),
                    str(bundle))
        folder = tmp / "run time" / "it's-f\u00f6lder"
        result = bootstrap(builder.python, "install", bundle, "--target", folder)
        assert result.returncode == 0, result
        activation = result.report["activation"]
        code = "import json, sys, appdep; print(json.dumps([appdep.__version__, sys.path]))"
        by_env = json.loads(run([builder.python, "-c", code], env=_activation_env(
            activation["pythonpath"]), check=True).stdout)
        assert by_env[0] == "2.0"
        assert installed_versions(builder.site_packages) == {"appdep": "1.0"}
        shutil.copy(activation["pth_file"], builder.site_packages)
        by_pth = json.loads(run([builder.python, "-c", code], env=clean_env(LC_ALL="C"),
                                check=True).stdout)
        assert by_pth == by_env
        assert by_pth[1].count(str(folder)) == 1

    def test_json_build_fails_on_a_problem(self, baked, make_wheel):
        builder, bundle, tmp = baked
        broken = tmp / "broken"
        make_wheel("needy", "1.0", requires=["nothere>=1"])
        shutil.copytree(str(tmp / "wheels"), str(broken))
        os.remove(str(broken / "app-1.0-py3-none-any.whl"))
        os.remove(str(broken / "appdep-1.0-py3-none-any.whl"))
        result = bootstrap(builder.python, "install", broken, "--require", "needy",
                           "--target", tmp / "runtime-broken")
        assert result.returncode == 1, result  # something missing: 1 (2 is unreadable input)
        assert result.report is not None, result
        assert result.report["status"] != "ok"
        assert "missing-dependency" in result.codes(), result
        assert not find_dist_info(str(tmp / "runtime-broken"), "needy")
        corrupt = tmp / "corrupt.tar.gz"
        corrupt.write_bytes(bundle.read_bytes()[:200])
        result = bootstrap(builder.python, "install", corrupt, "--target", tmp / "runtime-c")
        assert result.returncode == 2, result


# -- conda-pack archives -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def conda_archives(tmp_path_factory):
    """Real conda-pack archives of conda-style prefixes: one made from this CPython (3.11) and
    one from CPython 3.12 (None when not on this machine). Each holds condapkg 2.0 (whose module
    records the prefix it was installed at) and shared 2.0."""
    script = require_conda_pack()
    from wheelmaker import make_wheel
    root = tmp_path_factory.mktemp("conda")
    archives = {}
    for key, python in (("same", _this_python()), ("other", find_python("3.12"))):
        if python is None:
            archives[key] = None
            continue
        prefix = str(root / ("prefix-" + key))
        wheels = [make_wheel(str(root / ("wheels-" + key)), "condapkg", "2.0",
                             files={"condapkg/__init__.py": _pkg("2.0") + "PREFIX = %r\n"
                                    % prefix}),
                  make_wheel(str(root / ("wheels-" + key)), "shared", "2.0")]
        info = make_conda_prefix(prefix, python, wheels)
        info["archive"] = conda_pack(script, prefix, root / ("env-%s.tar.gz" % key))
        archives[key] = info
    return archives


_CONDA_SCRIPT = r"""
ARCHIVE, FOLDER = sys.argv[1], sys.argv[2]
out = {}
import shared
shared_before = shared
out["path_before"] = list(sys.path)
report = bootstrap.install([ARCHIVE], target=FOLDER)
out["report"] = dict(report)
out["path_after"] = list(sys.path)
import shared
out["shared"] = [shared.__version__, shared.__file__, shared is shared_before]
try:
    import condapkg
    out["condapkg"] = [condapkg.__version__, condapkg.__file__, condapkg.PREFIX]
except ImportError as error:
    out["condapkg"] = None
print(json.dumps(out))
"""


@pytest.fixture
def host_venv(tmp_path, make_wheel):
    """The interpreter bootstrap runs in: a 3.11 venv that already has shared 1.0."""
    make_wheel("shared", "1.0")
    venv = Venv(tmp_path / "host", _this_python())
    install_with_pip(venv, tmp_path / "wheels", "shared")
    return venv


def _run_conda(venv, archive, folder, cwd=None):
    return run_script(venv.python, "sys.argv[1:] = %r\n" % [str(archive), str(folder)]
                      + _CONDA_SCRIPT, env=clean_env(), cwd=cwd)


class TestCondaPack:
    def test_same_python_is_unpacked_fixed_up_and_importable(self, conda_archives, host_venv,
                                                              tmp_path):
        packed = conda_archives["same"]
        folder = str(tmp_path / "unpacked")
        out = _run_conda(host_venv, packed["archive"], folder)
        report = out["report"]
        assert report["status"] == "ok", report
        assert report["problems"] == [], report
        assert len(report["environments"]) == 1, report
        env = report["environments"][0]
        site = os.path.join(folder, "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
        assert env["archive"] == os.path.basename(packed["archive"])
        assert _same(env["path"], folder)
        assert env["python"].startswith(folder + os.sep) and os.access(env["python"], os.X_OK)
        assert env["version"] == packed["version"]
        assert env["abi"] == sysconfig.get_config_var("SOABI")
        assert env["platform"] == sysconfig.get_platform()
        assert _same(env["site_packages"], site)
        assert env["matches_this_interpreter"] is True
        assert env["importable_here"] is True
        assert env["python"] in env["run_with"]
        # appended after the current paths: what was importable before still wins
        assert out["path_after"][:len(out["path_before"])] == out["path_before"]
        assert _same(out["path_after"][-1], site)
        assert out["condapkg"] is not None, out
        assert out["condapkg"][0] == "2.0"
        assert out["condapkg"][1].startswith(site + os.sep)
        assert out["shared"][0] == "1.0" and out["shared"][2] is True, out["shared"]
        assert out["shared"][1].startswith(host_venv.site_packages + os.sep)
        # conda-unpack ran: the old prefix in the package was rewritten to the new folder
        assert out["condapkg"][2] == folder
        # links that stay inside are kept, executable bits too
        assert os.readlink(os.path.join(folder, "bin", "python")) == (
            "python%d.%d" % sys.version_info[:2])
        assert os.path.islink(os.path.join(folder, "bin", "python3"))
        assert os.access(os.path.join(folder, "bin", "conda-unpack"), os.X_OK)
        assert os.path.isdir(os.path.join(folder, "conda-meta"))
        # and the unpacked interpreter runs its own packages
        proc = run([os.path.join(folder, "bin", "python"), "-c",
                    "import condapkg, shared; print(condapkg.PREFIX, shared.__version__)"],
                   check=True)
        assert proc.stdout.split() == [folder, "2.0"]

    def test_cli_unpacks_next_to_the_current_folder(self, conda_archives, host_venv, tmp_path):
        packed = conda_archives["same"]
        work = tmp_path / "cwd"
        work.mkdir()
        # with /mnt/data the default folder would be there: it is hidden for this run
        result = bootstrap(host_venv.python, "install", packed["archive"], cwd=work,
                           prefix=hostkit.without_mnt_data())
        assert result.returncode == 0, result
        env = result.report["environments"][0]
        stem = os.path.basename(packed["archive"])[:-len(".tar.gz")]
        assert _same(env["path"], str(work / stem))
        assert (work / stem / "conda-meta").is_dir()
        text = run([host_venv.python, BOOTSTRAP_PY, "install", packed["archive"],
                    "--target", str(tmp_path / "text")], check=True).stdout
        assert "importable here" in text, text

    def test_other_python_is_not_added_and_runs_with_its_own(self, conda_archives, host_venv,
                                                              tmp_path):
        packed = conda_archives["other"]
        if packed is None:
            pytest.skip("no CPython 3.12 on this machine to make the other environment from")
        folder = str(tmp_path / "unpacked-312")
        out = _run_conda(host_venv, packed["archive"], folder)
        report = out["report"]
        env = report["environments"][0]
        assert env["version"].startswith("3.12."), env
        assert env["matches_this_interpreter"] is False
        assert env["importable_here"] is False
        assert out["path_after"] == out["path_before"]
        assert out["condapkg"] is None
        assert out["shared"][0] == "1.0"
        # run_with names the unpacked interpreter, which runs and imports the package
        interpreter = shlex.split(env["run_with"])[0]
        assert interpreter.startswith(folder + os.sep), env["run_with"]
        proc = run([interpreter, "-c", "import sys, condapkg; print('%d.%d' % "
                    "sys.version_info[:2], condapkg.__version__, condapkg.PREFIX)"], check=True)
        assert proc.stdout.split() == ["3.12", "2.0", folder]
        text = run([host_venv.python, BOOTSTRAP_PY, "install", packed["archive"], "--target",
                    str(tmp_path / "text")], check=True).stdout
        assert interpreter.replace(folder, str(tmp_path / "text")) in text, text

    def test_a_link_leaving_the_folder_is_refused(self, conda_archives, host_venv, tmp_path):
        packed = conda_archives["same"]
        outside = tmp_path / "outside"
        outside.mkdir()

        def add_escape(info, data):
            items = [(info, data)]
            if info.name == "conda-meta/history":
                link = tarfile.TarInfo("lib/escape")
                link.type = tarfile.SYMTYPE
                link.linkname = "../../outside"
                items.append((link, None))
            return items
        hostile = rewrite_tar(packed["archive"], tmp_path / "hostile.tar.gz", add_escape)
        folder = tmp_path / "unpacked"
        result = bootstrap(host_venv.python, "install", hostile, "--target", folder)
        assert result.returncode != 0, result
        assert "unsafe-archive-member" in result.codes(), result
        assert not os.path.lexists(str(folder / "lib" / "escape"))
        assert list(outside.iterdir()) == []
        assert not any(e.get("importable_here") for e in result.report.get("environments", []))

    def test_a_failing_conda_unpack_is_environment_failed(self, conda_archives, host_venv,
                                                          tmp_path):
        packed = conda_archives["same"]

        def break_unpack(info, data):
            if info.name == "bin/conda-unpack":
                return [(info, b"#!/usr/bin/env python\nimport sys\nsys.exit('boom')\n")]
            return [(info, data)]
        broken = rewrite_tar(packed["archive"], tmp_path / "broken.tar.gz", break_unpack)
        result = bootstrap(host_venv.python, "install", broken, "--target", tmp_path / "env")
        assert result.returncode == 1, result
        assert result.codes() == ["environment-failed"], result
        assert "boom" in result.report["problems"][0]["message"]
        assert not result.report.get("environments")
