"""bootstrap.py inside Pyodide (Python compiled to WebAssembly, as JupyterLite runs it).

Each Pyodide version is the npm ``pyodide`` package, downloaded once into
``.cache/npm-pyodide-X/`` (``npm install --prefix .cache/npm-pyodide-X pyodide@X``) and run
under Node, offline: the interpreter loads from the package's own files (indexURL is that local
folder), ``fetch`` is replaced by one that fails, and every file is written into Pyodide's
in-memory file system. Without Node, or without the package and no way to download it, the
module skips and says why.

One Node process per version runs every scenario in one interpreter, in order (the oldest and
newest of 0.27.x and 314.x): ``inspect``, ``check`` and ``install`` of a bundle of pure wheels
and of a synthesized wheel tagged for that Pyodide, through the API, the CLI entry
(``main([...])``) and the exec cell; an sdist refused up front; a package that Pyodide itself
provides reported with the micropip line; a package micropip installed seen as installed; an
import that fails verification without leaving modules behind. Afterwards everything imports
in the same interpreter. The tag list must accept every binary wheel in that version's
pyodide-lock.json.
"""
import collections
import json
import os
import shutil
import subprocess
import sys

import pytest

from packaging.utils import parse_wheel_filename
from schemakit import validate_document
from wheelmaker import make_wheel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, ".cache")
BOOTSTRAP_PY = os.path.join(ROOT, "bootstrap", "bootstrap.py")
VERSIONS = ("0.27.0", "0.27.8", "314.0.0", "314.0.7")  # oldest and newest of 0.27.x, 314.x
NODE_TIMEOUT = 240

RUNNER_JS = r"""
const path = require('path');
const fs = require('fs');
const [indexURL, jobPath] = process.argv.slice(2);
// Offline: nothing may be fetched; Pyodide reads its files from indexURL with fs.
globalThis.fetch = async (url) => { throw new Error('network access attempted: ' + url); };
const { loadPyodide } = require(path.join(indexURL, 'pyodide.js'));
(async () => {
  const job = JSON.parse(fs.readFileSync(jobPath, 'utf8'));
  const py = await loadPyodide({ indexURL: indexURL + path.sep });
  for (const [dest, src] of Object.entries(job.files)) {
    py.FS.mkdirTree(path.posix.dirname(dest));
    py.FS.writeFile(dest, fs.readFileSync(src));
  }
  const result = await py.runPythonAsync(job.code);
  process.stdout.write('\n@@RESULT@@' + result + '\n');
})().catch((e) => { console.error(String((e && e.stack) || e)); process.exit(3); });
"""

# Runs inside Pyodide; returns one JSON document with everything the tests look at.
SCENARIO_PY = r"""
import contextlib, importlib, io, json, os, sys
job = json.load(open("/work/job.json"))
out = {}
sys.path.insert(0, "/work")
import bootstrap

def cli(*args):
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        code = bootstrap.main(list(args), out=stdout, err=stderr)
    except BaseException as error:  # recorded, so that the test shows it
        code = "raised %s: %s" % (type(error).__name__, error)
    return {"code": code, "out": stdout.getvalue(), "err": stderr.getvalue()}

def api(function, *args, **kwargs):
    try:
        return json.loads(json.dumps(function(*args, **kwargs)))
    except BaseException as error:
        return {"raised": "%s: %s" % (type(error).__name__, error)}

out["inspect"] = api(bootstrap.inspect)
out["api_check"] = api(bootstrap.check, ["/work/api-bundle.tar.gz"])
out["api_install"] = api(bootstrap.install, ["/work/api-bundle.tar.gz"])
out["cli_inspect"] = cli("inspect", "--json")
out["cli_check"] = cli("check", "/work/cli-bundle.tar.gz", "--json")
out["cli_install"] = cli("install", "/work/cli-bundle.tar.gz", "--json")
scripts = bootstrap.Profile.current().paths["scripts"]
with open(os.path.join(scripts, "gamma-cli")) as f:
    out["script_head"] = f.readline()
out["sdist_check"] = cli("check", "/work/sdist-bundle", "--json")
out["sdist_install"] = cli("install", "/work/sdist-bundle", "--json")
out["platform_check"] = cli("check", "/work/api-bundle.tar.gz", "--require",
                            job["platform_package"], "--json")

# What micropip leaves behind when it installs a wheel: a .dist-info with INSTALLER micropip.
site = bootstrap.Profile.current().paths["purelib"]
info = os.path.join(site, "viamicropip-1.5.dist-info")
os.makedirs(info)
with open(os.path.join(info, "METADATA"), "w") as f:
    f.write("Metadata-Version: 2.1\nName: viamicropip\nVersion: 1.5\n")
with open(os.path.join(info, "INSTALLER"), "w") as f:
    f.write("micropip\n")
with open(os.path.join(site, "viamicropip.py"), "w") as f:
    f.write("VALUE = 'micropip'\n")
out["micropip_inspect"] = api(bootstrap.inspect)
out["micropip_check"] = cli("check", "/work/micropip-bundle", "--json")
out["micropip_install"] = api(bootstrap.install, ["/work/micropip-bundle"])

before = set(sys.modules)
out["broken_install"] = api(bootstrap.install, ["/work/broken-bundle"])
out["left_behind"] = sorted(m for m in set(sys.modules) - before
                            if m.split(".")[0] == "broken")
out["helper_ran"] = os.environ.get("BROKEN_HELPER_RAN")

os.chdir("/work/cell")
namespace = {"__name__": "__main__"}
printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    exec(open("/work/bootstrap.py").read(), namespace)
out["cell_names"] = sorted(n for n in namespace if n != "__builtins__")
out["cell_printed"] = printed.getvalue()

imports = {}
for name in job["modules"]:
    try:
        imports[name] = getattr(importlib.import_module(name), "VALUE", None)
    except BaseException as error:
        imports[name] = "failed: %s: %s" % (type(error).__name__, error)
out["imports"] = imports
out["threads_used"] = [t.name for t in __import__("threading").enumerate()]
json.dumps(out)
"""

PURE = {"alpha": "api", "beta": "api", "gamma": "cli", "epsilon": "cell", "consumer": "micropip"}
BINARY = {"delta": "cli", "zeta": "cell"}


def _node():
    return shutil.which("node")


def _pyodide_dir(version):
    """The npm package folder of this Pyodide version, downloaded once; skip when impossible."""
    if _node() is None:
        pytest.skip("Node.js is not installed: the Pyodide tests need `node` on PATH")
    prefix = os.path.join(CACHE, "npm-pyodide-" + version)
    folder = os.path.join(prefix, "node_modules", "pyodide")
    if not os.path.isfile(os.path.join(folder, "pyodide.asm.wasm")):
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("pyodide@%s is not in %s and npm is not installed to fetch it"
                        % (version, prefix))
        proc = subprocess.run([npm, "install", "--prefix", prefix, "--no-audit", "--no-fund",
                               "pyodide@" + version], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=600)
        if proc.returncode != 0 or not os.path.isfile(os.path.join(folder, "pyodide.asm.wasm")):
            pytest.skip("could not download pyodide@%s with npm (offline?): %s"
                        % (version, proc.stdout.strip().splitlines()[-1:]))
    return folder


def _lock(folder):
    with open(os.path.join(folder, "pyodide-lock.json")) as stream:
        return json.load(stream)


def _binary_tag(lock):
    """The tag of most of this Pyodide's own binary wheels, e.g. cp312-cp312-pyodide_2024_0_wasm32."""
    counts = collections.Counter()
    for entry in lock["packages"].values():
        name = entry["file_name"]
        if name.endswith(".whl"):
            tag = "-".join(name[:-4].split("-")[-3:])
            if tag.startswith("cp") and "-cp" in tag:
                counts[tag] += 1
    return counts.most_common(1)[0][0]


def _tar(folder, archive):
    subprocess.run(["tar", "-czf", str(archive), "-C", str(folder), "."], check=True)


def _bundles(base, binary_tag):
    """Every upload the scenarios use, as {path in Pyodide: path here}."""
    files = {"/work/bootstrap.py": BOOTSTRAP_PY}
    folders = {}
    for name in ("api", "cli", "cell", "sdist", "micropip", "broken"):
        folders[name] = base / name
        folders[name].mkdir()
    make_wheel(folders["api"], "alpha", "1.0", requires=["beta>=2"],
               files={"alpha/__init__.py": "VALUE = 'alpha'\nimport beta\n"})
    make_wheel(folders["api"], "beta", "2.1", files={"beta.py": "VALUE = 'beta'\n"})
    make_wheel(folders["cli"], "gamma", "0.3", requires=["delta"],
               files={"gamma/__init__.py": "VALUE = 'gamma'\ndef main():\n    return 0\n"},
               entry_points={"console_scripts": {"gamma-cli": "gamma:main"}})
    make_wheel(folders["cli"], "delta", "1.2", tag=binary_tag,
               files={"delta/__init__.py": "VALUE = 'delta'\n"})
    make_wheel(folders["cell"], "epsilon", "4.0", requires=["zeta"],
               files={"epsilon.py": "VALUE = 'epsilon'\n"})
    make_wheel(folders["cell"], "zeta", "0.9", tag=binary_tag,
               files={"zeta/__init__.py": "VALUE = 'zeta'\n"})
    make_wheel(folders["micropip"], "consumer", "1.0", requires=["viamicropip>=1"],
               files={"consumer.py": "VALUE = 'consumer'\nimport viamicropip\n"})
    make_wheel(folders["broken"], "broken", "1.0", files={
        "broken/__init__.py": "from . import _helper\nraise ImportError('broken on purpose')\n",
        "broken/_helper.py": "import os\nos.environ['BROKEN_HELPER_RAN'] = '1'\n"})
    sdist = folders["sdist"] / "needsbuild-1.0.tar.gz"
    source = base / "needsbuild-1.0"
    source.mkdir()
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n')
    (source / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: needsbuild\nVersion: 1.0\n")
    subprocess.run(["tar", "-czf", str(sdist), "-C", str(base), "needsbuild-1.0"], check=True)
    for name in ("api", "cli"):
        _tar(folders[name], base / ("%s-bundle.tar.gz" % name))
        files["/work/%s-bundle.tar.gz" % name] = str(base / ("%s-bundle.tar.gz" % name))
    _tar(folders["cell"], base / "cell-bundle.tar.gz")
    files["/work/cell/bundle.tar.gz"] = str(base / "cell-bundle.tar.gz")
    for name in ("sdist", "micropip", "broken"):
        for entry in os.listdir(folders[name]):
            files["/work/%s-bundle/%s" % (name, entry)] = str(folders[name] / entry)
    return files


@pytest.fixture(scope="module", params=VERSIONS)
def run(request, tmp_path_factory):
    """(version, lock, binary tag, results) of all scenarios in one Pyodide interpreter."""
    version = request.param
    folder = _pyodide_dir(version)
    lock = _lock(folder)
    binary_tag = _binary_tag(lock)
    base = tmp_path_factory.mktemp("pyodide-" + version)
    platform_package = "numpy" if "numpy" in lock["packages"] else sorted(lock["packages"])[0]
    files = _bundles(base, binary_tag)
    job = {"files": files, "platform_package": platform_package,
           "modules": sorted(list(PURE) + list(BINARY) + ["viamicropip"]), "code": SCENARIO_PY}
    job_path = base / "job.json"
    job["files"]["/work/job.json"] = str(job_path)
    job_path.write_text(json.dumps(job))
    runner = base / "runner.js"
    runner.write_text(RUNNER_JS)
    env = dict(os.environ, NODE_OPTIONS="")
    proc = subprocess.run([_node(), str(runner), folder, str(job_path)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=NODE_TIMEOUT,
                          env=env, cwd=str(base))
    marker = "@@RESULT@@"
    assert proc.returncode == 0 and marker in proc.stdout, (proc.stdout[-3000:],
                                                            proc.stderr[-3000:])
    results = json.loads(proc.stdout.split(marker, 1)[1])
    for value in results.values():  # every profile and report the API returned, as documented
        validate_document(value)
    return version, lock, binary_tag, platform_package, results


def _report(result):
    assert result["code"] == 0, (result["code"], result["out"][-2000:], result["err"][-2000:])
    assert "Traceback" not in result["err"]
    return json.loads(result["out"])


def _codes(report):
    return sorted(p["code"] for p in report.get("problems", []))


class TestProfile:
    def test_profile_says_pyodide_with_version_and_abi(self, run):
        version, lock, _, _, results = run
        sandbox = results["inspect"]["sandbox"]
        assert sandbox["kind"] == "pyodide"
        assert sandbox["pyodide"]["version"] == version
        assert sandbox["pyodide"]["abi"] == lock["info"]["abi_version"]
        assert sandbox["threads"] is False and sandbox["processes"] is False
        assert sandbox["compiler"] is None

    def test_paths_have_one_leading_slash(self, run):
        paths = run[4]["inspect"]["paths"]
        assert paths["purelib"].startswith("/lib/python3.")
        assert not [key for key, value in paths.items() if str(value).startswith("//")]

    def test_lock_packages_are_known_to_the_profile(self, run):
        _, lock, _, _, results = run
        packages = results["inspect"]["sandbox"]["pyodide"]["packages"]
        expected = {parse_wheel_filename(e["file_name"])[0]: e["version"]
                    for e in lock["packages"].values() if e["file_name"].endswith(".whl")}
        assert expected and all(packages.get(name) == v for name, v in expected.items())

    def test_cli_inspect_equals_api(self, run):
        results = run[4]
        cli = _report(results["cli_inspect"])
        assert cli["compatible_tags"] == results["inspect"]["compatible_tags"]
        assert cli["sandbox"]["kind"] == "pyodide"


class TestTags:
    def test_every_binary_wheel_of_the_lock_is_accepted(self, run):
        _, lock, _, _, results = run
        tags = set(results["inspect"]["compatible_tags"])
        binary = [e["file_name"] for e in lock["packages"].values()
                  if e["file_name"].endswith(".whl") and not e["file_name"].endswith("-any.whl")]
        assert len(binary) > 100
        rejected = [name for name in binary
                    if not {str(t) for t in parse_wheel_filename(name)[3]} & tags]
        assert rejected == []

    def test_pyodide_platform_comes_before_the_generic_emscripten_one(self, run):
        _, lock, _, _, results = run
        tags = results["inspect"]["compatible_tags"]
        interpreter = tags[0].split("-")[0]
        first = [t.split("-")[2] for t in tags if t.startswith(interpreter + "-" + interpreter)]
        pyodide = "pyodide_%s_wasm32" % lock["info"]["abi_version"]
        generic = "%s_%s" % (lock["info"]["platform"], lock["info"]["arch"])
        assert pyodide in first and generic in first
        assert first.index(pyodide) < first.index(generic)


class TestApi:
    def test_check_then_install_pure_wheels(self, run):
        results = run[4]
        check, install = results["api_check"], results["api_install"]
        assert check.get("status") == "ok", check
        assert sorted(i["name"] for i in check["would_install"]) == ["alpha", "beta"]
        assert install.get("status") == "ok", install
        assert sorted(i["name"] for i in install["installed"]) == ["alpha", "beta"]
        assert install["location"].startswith("/lib/python3.")


class TestCli:
    def test_check_and_install_with_a_pyodide_binary_wheel(self, run):
        _, _, binary_tag, _, results = run
        check = _report(results["cli_check"])
        assert check["status"] == "ok"
        fitting = {w["file"] for w in check["wheels"] if w["compatible"]}
        assert "delta-1.2-%s.whl" % binary_tag in fitting
        install = _report(results["cli_install"])
        assert install["status"] == "ok", install["problems"]
        assert sorted(i["name"] for i in install["installed"]) == ["delta", "gamma"]
        # the console script names "python", not the host's JavaScript file
        assert results["script_head"] == "#!python\n"

    def test_sdist_is_refused_up_front_with_a_fix(self, run):
        results = run[4]
        for key in ("sdist_check", "sdist_install"):
            result = results[key]
            assert result["code"] == 1 and "Traceback" not in result["err"] + result["out"]
            report = json.loads(result["out"])
            assert _codes(report) == ["sdist-needs-build"]
            problem = report["problems"][0]
            assert "a wheel built for" in problem["message"]
            assert problem["fix"]["where"] == "online"
            assert "needsbuild==1.0" in problem["fix"]["command"]
        assert json.loads(results["sdist_install"]["out"])["installed"] == []

    def test_platform_package_is_available_not_missing(self, run):
        _, lock, _, package, results = run
        result = results["platform_check"]
        assert result["code"] == 1
        report = json.loads(result["out"])
        problems = [p for p in report["problems"] if p["subject"].startswith(package)]
        assert len(problems) == 1
        problem = problems[0]
        assert problem["available_from"] == "pyodide"
        assert problem["available_version"] == lock["packages"][package]["version"]
        assert problem["fix"] == {
            "where": "sandbox",
            "command": 'import micropip; await micropip.install(["%s"])' % package,
            "alt": 'await pyodide.loadPackage(["%s"])' % package}


class TestMicropipInstalled:
    def test_micropip_installs_are_seen_as_installed(self, run):
        results = run[4]
        installed = {d["name"]: d["version"] for d in results["micropip_inspect"]["installed"]}
        assert installed.get("viamicropip") == "1.5"
        check = _report(results["micropip_check"])
        assert [s["name"] for s in check["satisfied"]] == ["viamicropip"]
        assert results["micropip_install"]["status"] == "ok"


class TestVerificationInProcess:
    def test_failed_import_is_reported_and_leaves_nothing_behind(self, run):
        results = run[4]
        report = results["broken_install"]
        assert "raised" not in report, report
        assert _codes(report) == ["import-failed"]
        assert "broken on purpose" in report["problems"][0]["message"]
        assert results["helper_ran"] == "1"  # verified here, in this interpreter
        assert results["left_behind"] == []


class TestExecCell:
    def test_cell_installs_the_upload_and_leaves_only_bootstrap(self, run):
        results = run[4]
        assert results["cell_names"] == ["__name__", "bootstrap"]
        printed = results["cell_printed"]
        assert "install: OK" in printed, printed
        assert "Traceback" not in printed


class TestAfterwards:
    def test_everything_imports_in_the_same_interpreter(self, run):
        results = run[4]
        expected = dict((name, name) for name in list(PURE) + list(BINARY))
        expected["viamicropip"] = "micropip"
        assert results["imports"] == expected

    def test_no_thread_was_started(self, run):
        assert run[4]["threads_used"] == ["MainThread"]


def jupyterlite_bundle(tmp_path, paths):
    """(the builder's process, the bundle) of `tools/bundle.py purepkg --profile jupyterlite`
    against a local index of the wheels at ``paths``."""
    import indexkit
    from indexkit import LocalIndex, output_of, read_bundle, run_bundle
    indexkit.build_index(str(tmp_path / "index"), [str(p) for p in paths])
    output = tmp_path / "bundle.tar.gz"
    with LocalIndex(str(tmp_path / "index")) as index:
        proc = run_bundle(["purepkg", "--profile", "jupyterlite", "-o", str(output)],
                          index.url)
    assert proc.returncode == 0, output_of(proc)
    return proc, read_bundle(str(output))


class TestBundleForJupyterLite:
    """tools/bundle.py --profile jupyterlite (the preset of the current JupyterLite: Pyodide
    314.0.6) ships pure wheels and the wheel of the right Pyodide tag from an index; what
    Pyodide itself provides (numpy) is left to micropip, with the line that installs it."""

    def test_preset_says_pyodide(self):
        from tools import profiles
        preset, _ = profiles.load_profile("jupyterlite")
        assert preset["sandbox"]["kind"] == "pyodide"
        assert preset["sandbox"]["pyodide"]["version"] == "314.0.6"
        assert preset["target"] == preset["compatible_tags"][0]

    def test_bundle_has_pure_and_pyodide_wheels_only(self, tmp_path):
        files = tmp_path / "files"
        files.mkdir()
        paths = [
            make_wheel(files, "purepkg", "1.0", requires=["wasmpkg>=2", "numpy>=1"]),
            make_wheel(files, "wasmpkg", "2.0", tag="cp314-cp314-pyodide_2026_0_wasm32"),
            make_wheel(files, "wasmpkg", "2.0", tag="cp314-cp314-manylinux_2_17_x86_64"),
            make_wheel(files, "wasmpkg", "2.0", tag="cp312-cp312-pyodide_2024_0_wasm32"),
        ]
        proc, contents = jupyterlite_bundle(tmp_path, paths)
        assert 'import micropip; await micropip.install(["numpy"])' in proc.stderr
        wheels = sorted(os.path.basename(n) for n in contents.members if n.endswith(".whl"))
        assert wheels == ["purepkg-1.0-py3-none-any.whl",
                          "wasmpkg-2.0-cp314-cp314-pyodide_2026_0_wasm32.whl"]
        from tools import profiles
        preset, _ = profiles.load_profile("jupyterlite")
        numpy = preset["sandbox"]["pyodide"]["packages"]["numpy"]
        line = ('import micropip; await micropip.install(["numpy"]) (or, from JavaScript: '
                'await pyodide.loadPackage(["numpy"]))')
        provided = [n for n in contents.manifest["notes"] if "provided by Pyodide" in n]
        assert provided == ["not shipped, provided by Pyodide itself: numpy %s; in the sandbox, "
                            "first run: %s" % (numpy, line)]
        assert provided[0] in proc.stderr

    def test_a_pyodide_package_is_not_downloaded_even_when_the_index_has_it(self, tmp_path):
        """The lock's version is the platform's: an index's numpy (any version, even a pure
        wheel) is neither shipped nor allowed to replace it."""
        from indexkit import LocalIndex, output_of, run_bundle
        files = tmp_path / "files"
        files.mkdir()
        paths = [make_wheel(files, "purepkg", "1.0", requires=["numpy"]),
                 make_wheel(files, "numpy", "1.0"), make_wheel(files, "numpy", "999.0")]
        proc, contents = jupyterlite_bundle(tmp_path, paths)
        assert sorted(os.path.basename(n) for n in contents.members if n.endswith(".whl")) == [
            "purepkg-1.0-py3-none-any.whl"]
        assert 'await micropip.install(["numpy"])' in "\n".join(contents.manifest["notes"])
        # a requirement Pyodide's numpy cannot meet: refused, saying why
        with LocalIndex(str(tmp_path / "index")) as index:
            proc = run_bundle(["numpy<2", "--profile", "jupyterlite", "-o",
                               str(tmp_path / "refused.tar.gz")], index.url)
        assert proc.returncode == 1, output_of(proc)
        assert "numpy<2 (Pyodide provides numpy " in proc.stderr
        assert not (tmp_path / "refused.tar.gz").exists()


class TestCapabilitiesOnThisInterpreter:
    """The same fallbacks on CPython when a start fails (a container's thread or process
    limit): detected from the failed start, never a traceback."""

    def test_install_when_no_thread_and_no_process_can_start(self, tmp_path, monkeypatch):
        import threading
        import bootstrap
        wheels = tmp_path / "wheels"
        wheels.mkdir()
        make_wheel(wheels, "capmain", "1.0", requires=["capdep"],
                   files={"capmain/__init__.py": "import capdep\nVALUE = 'main'\n"})
        make_wheel(wheels, "capdep", "2.0", files={"capdep.py": "VALUE = 'dep'\n"})
        make_wheel(wheels, "capbroken", "1.0", files={
            "capbroken/__init__.py": "from . import part\nraise ImportError('no')\n",
            "capbroken/part.py": "VALUE = 1\n"})
        started = []

        def no_thread(self):
            started.append(self)
            raise RuntimeError("can't start new thread")

        def no_process(*args, **kwargs):
            raise OSError(138, "this platform does not support processes")

        monkeypatch.setattr(threading.Thread, "start", no_thread)
        monkeypatch.setattr(subprocess, "Popen", no_process)
        before = set(sys.modules)
        target = tmp_path / "target"
        try:
            report = bootstrap.install([str(wheels)], target=str(target), jobs=4,
                                       progress=lambda *args: None)
            loaded = set(sys.modules) - before
        finally:
            for name in list(sys.modules):
                if name.split(".")[0] in ("capmain", "capdep", "capbroken"):
                    del sys.modules[name]
        assert started  # a start was tried, failed, and was not fatal
        assert sorted(i["name"] for i in report["installed"]) == ["capbroken", "capdep",
                                                                   "capmain"]
        assert [(p["code"], p["subject"]) for p in report["problems"]] == [
            ("import-failed", "capbroken")]
        # verified in this process: the good ones stay imported, the failed one left nothing
        assert {"capmain", "capdep"} <= loaded
        assert not [m for m in loaded if m.split(".")[0] == "capbroken"]
        assert (target / "capmain" / "__init__.py").is_file()
