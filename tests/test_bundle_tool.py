"""tools/bundle.py, the online half (SPEC 3 and 4, issue 6), against a local PEP 503 index.

Every bundle here is built by ``python tools/bundle.py`` in a subprocess whose pip sees nothing
but ``PIP_INDEX_URL`` = a simple index served on 127.0.0.1 by this module (real PyPI files from
tests/real_wheels.json: markdown 3.5 and its 3.8 dependencies, click and colorama, the jieba and
crcmod sdists, setuptools/wheel/packaging, python-dateutil and two six versions, one macOS-only
wheel). No test reaches the network beyond the pinned download step of tests/realwheels.py.

What the bundles are then tried on are sandbox-like venvs (CPython 3.8 and 3.11) whose commands
run under ``unshare -rn`` with pip's configuration neutralised, with bootstrap.py "uploaded"
beside the bundle, as a user would.
"""
import fcntl
import glob
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import indexkit  # noqa: E402
import installkit  # noqa: E402
import realwheels  # noqa: E402
from indexkit import ROOT, LocalIndex, Sandbox, output_of, read_bundle, run_bundle  # noqa: E402
from schemakit import validate_document  # noqa: E402

sys.path.insert(0, ROOT)
import bootstrap  # noqa: E402  (never a skip: a broken import is a failure)
from tools import profiles  # noqa: E402

PYTHON38 = installkit.find_python("3.8")
PYTHON311 = sys.executable if sys.version_info[:2] == (3, 11) else shutil.which("python3.11")
INDEX_SETS = ("markdown-py38-complete", "markdown-py38", "click-windows", "jieba-sdist",
              "crcmod-build", "six-delta")
MACOS_ONLY = "frozenlist-1.5.0-cp38-cp38-macosx_11_0_arm64.whl"  # from the aiohttp-macos set
TARGET38 = "cp38-cp38-manylinux_2_31_x86_64"
TARGET311 = "cp311-cp311-manylinux_2_36_x86_64"
FIX_NAME = "bundle-fix.tar.gz"
NO_INDEX = "http://127.0.0.1:9/simple/"  # for runs that must stop before fetching anything

needs_unshare = pytest.mark.skipif(not indexkit.have_unshare(),
                                   reason="unshare -rn is not available: no network-less sandbox")
needs_py38 = pytest.mark.skipif(PYTHON38 is None,
                                reason="no CPython 3.8 (pyenv root, or python3.8 on PATH)")
needs_py311 = pytest.mark.skipif(PYTHON311 is None, reason="no CPython 3.11 on this machine")


# -- fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def index(tmp_path_factory):
    """The local index, serving every file of INDEX_SETS plus one macOS-only wheel."""
    folders = [realwheels.require_set(name) for name in INDEX_SETS]
    macos = realwheels.require_set("aiohttp-macos")
    root = str(tmp_path_factory.mktemp("index"))
    paths = [os.path.join(f, n) for f in folders for n in sorted(os.listdir(f))]
    indexkit.build_index(root, paths + [os.path.join(macos, MACOS_ONLY)])
    with LocalIndex(root) as served:
        yield served


@pytest.fixture(scope="module")
def built(index, tmp_path_factory):
    """build(name, *args) -> (process, output path): each distinct bundle is built once."""
    cache = {}
    out = tmp_path_factory.mktemp("bundles")

    def build(name, *args):
        if name not in cache:
            path = str(out / name)
            with open(indexkit.BOOTSTRAP_PY, "rb") as f:
                BOOTSTRAP_COPIED[path] = f.read()  # what the bundle's copy must equal
            cache[name] = (run_bundle(list(args) + ["-o", path], index.url), path)
        return cache[name]
    return build


BOOTSTRAP_COPIED = {}  # bundle path -> bootstrap.py as it was when the bundle was built


def _built_ok(built, name, *args):
    proc, path = built(name, *args)
    assert proc.returncode == 0, output_of(proc)
    return path


@pytest.fixture(scope="module")
def markdown38(built):
    """markdown==3.5 for CPython 3.8 on manylinux_2_31, built on this (3.11) machine."""
    return _built_ok(built, "markdown38.tar.gz", "markdown==3.5", "--profile", TARGET38)


# -- resolution for the target's markers ------------------------------------------------------

class TestTargetMarkers:
    def test_markdown_for_py38_gets_importlib_metadata_and_zipp(self, markdown38, index):
        bundle = read_bundle(markdown38)
        assert bundle.projects == ["importlib-metadata", "markdown", "zipp"], bundle.wheel_files
        # the files came from the local index: the builder honours PIP_INDEX_URL
        assert set(bundle.wheel_files) <= set(index.files_served())

    def test_pip_download_alone_leaves_importlib_metadata_out(self, index, tmp_path):
        """The contrast (SPEC 1): pip evaluates markers for this 3.11 host, not the target."""
        proc = indexkit.run(
            [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--platform",
             "manylinux2014_x86_64", "--python-version", "3.8", "--implementation", "cp",
             "--abi", "cp38", "-d", str(tmp_path / "dl"), "markdown==3.5"],
            env=indexkit.tool_env(index.url))
        assert proc.returncode == 0, output_of(proc)
        assert sorted(os.listdir(str(tmp_path / "dl"))) == ["Markdown-3.5-py3-none-any.whl"]

    @needs_py38
    @needs_unshare
    def test_markdown_bundle_installs_on_python38_offline(self, markdown38, tmp_path):
        sandbox = Sandbox(tmp_path, PYTHON38)
        upload = sandbox.upload(markdown38)
        proc, report = sandbox.bootstrap_json("install", upload)
        assert proc.returncode == 0 and report["status"] == "ok", output_of(proc)
        assert {"markdown", "importlib-metadata", "zipp"} <= set(sandbox.installed())
        imported = sandbox.imports("markdown")
        assert imported.returncode == 0, output_of(imported)
        rendered = sandbox.run(["-c", "import markdown; print(markdown.markdown('*hi*'))"])
        assert rendered.stdout.strip() == "<p><em>hi</em></p>", output_of(rendered)

    @pytest.mark.parametrize("target, expected", [
        ("cp311-cp311-win_amd64", ["click", "colorama"]),
        ("cp311-cp311-manylinux_2_36_x86_64", ["click"]),
    ])
    def test_click_gets_colorama_only_on_windows(self, built, target, expected):
        path = _built_ok(built, "click-%s.tar.gz" % target, "click==8.1.7", "--profile", target)
        bundle = read_bundle(path)
        assert bundle.projects == expected, bundle.wheel_files
        assert bundle.manifest["target"] == target


# -- sdists -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def crcmod_case(index, tmp_path_factory):
    """A 3.11 venv with pip but no setuptools (so the backend must ship), its inspect -o
    profile (compiler and headers), and the crcmod bundle built for that profile."""
    if PYTHON311 is None or not indexkit.have_unshare():
        pytest.skip("needs CPython 3.11 and unshare -rn")
    root = tmp_path_factory.mktemp("crcmod")
    sandbox = Sandbox(root / "sandbox", PYTHON311, with_pip=True)
    removed = sandbox.run(["-m", "pip", "uninstall", "-y", "setuptools"])
    assert removed.returncode == 0, output_of(removed)
    profile = sandbox.inspect(os.path.join(sandbox.data, "profile.json"))
    with open(profile) as f:
        hints = json.load(f).get("sandbox") or {}
    if not (hints.get("compiler") and hints.get("python_headers")):
        pytest.skip("this machine has no C compiler or Python headers: inspect says %r" % hints)
    output = str(root / "crcmod.tar.gz")
    proc = run_bundle(["crcmod==1.7", "--profile", profile, "-o", output], index.url)
    return sandbox, profile, proc, output


class TestSdists:
    def test_pure_sdist_becomes_a_wheel(self, built):
        path = _built_ok(built, "jieba.tar.gz", "jieba==0.42.1", "--profile", TARGET311)
        bundle = read_bundle(path)
        assert bundle.wheel_files == ["jieba-0.42.1-py3-none-any.whl"]
        [entry] = bundle.manifest["files"]
        assert entry["kind"] == "wheel" and entry["path"] == "wheels/" + bundle.wheel_files[0]

    def test_compiled_sdist_ships_with_its_build_backend(self, crcmod_case):
        _, _, proc, output = crcmod_case
        assert proc.returncode == 0, output_of(proc)
        bundle = read_bundle(output)
        files = bundle.wheel_files
        assert "crcmod-1.7.tar.gz" in files
        assert not [f for f in files if f.startswith("crcmod-") and f.endswith(".whl")], files
        assert {"setuptools", "wheel"} <= set(bundle.projects), files
        kinds = dict((os.path.basename(e["path"]), e["kind"]) for e in bundle.manifest["files"])
        assert kinds["crcmod-1.7.tar.gz"] == "sdist"
        assert [k for f, k in kinds.items() if f.startswith("setuptools-")] == ["build-backend"]

    def test_compiled_sdist_builds_and_installs_offline(self, crcmod_case):
        sandbox, _, proc, output = crcmod_case
        assert proc.returncode == 0, output_of(proc)
        upload = sandbox.upload(output)
        installed, report = sandbox.bootstrap_json("install", upload)
        assert installed.returncode == 0 and report["status"] == "ok", output_of(installed)
        imported = sandbox.run(["-c", "import crcmod, crcmod._crcfunext; "
                                      "print(crcmod.mkCrcFun(0x11021, 0, False)(b'abc'))"])
        assert imported.returncode == 0, output_of(imported)  # with its compiled extension
        assert imported.stdout.split() == [str(0x9DD6)], output_of(imported)  # CRC-16/XMODEM

    def test_compiled_sdist_without_compiler_hint_stops(self, built):
        proc, path = built("crcmod-target.tar.gz", "crcmod==1.7", "--profile", TARGET311)
        assert proc.returncode == 1, output_of(proc)
        assert "crcmod" in proc.stderr
        assert re.search(r"machine matching|matching machine", proc.stderr), output_of(proc)
        assert not glob.glob(path + "*"), os.listdir(os.path.dirname(path))


# -- delta bundles ----------------------------------------------------------------------------

@pytest.fixture
def six_sandbox(tmp_path):
    """A 3.11 venv with six 1.16.0 preinstalled, and its inspect -o profile."""
    if PYTHON311 is None or not indexkit.have_unshare():
        pytest.skip("needs CPython 3.11 and unshare -rn")
    wheel = os.path.join(realwheels.require_set("six-delta"), "six-1.16.0-py2.py3-none-any.whl")
    sandbox = Sandbox(tmp_path, PYTHON311)
    proc = sandbox.bootstrap("install", sandbox.upload(wheel))
    assert proc.returncode == 0, output_of(proc)
    assert sandbox.installed().get("six") == "1.16.0"
    return sandbox, sandbox.inspect(os.path.join(sandbox.data, "profile.json"))


class TestDelta:
    def test_preinstalled_six_is_left_out_and_kept(self, six_sandbox, index, tmp_path):
        sandbox, profile = six_sandbox
        output = str(tmp_path / "dateutil.tar.gz")
        proc = run_bundle(["python-dateutil==2.9.0.post0", "--profile", profile, "-o", output],
                          index.url)
        assert proc.returncode == 0, output_of(proc)
        bundle = read_bundle(output)
        assert bundle.projects == ["python-dateutil"], bundle.wheel_files
        installed, report = sandbox.bootstrap_json("install", sandbox.upload(output))
        assert installed.returncode == 0 and report["status"] == "ok", output_of(installed)
        versions = sandbox.installed()
        assert versions["six"] == "1.16.0" and versions["python-dateutil"] == "2.9.0.post0"
        assert sandbox.imports("dateutil.parser").returncode == 0

    def test_unavoidable_upgrade_is_stated(self, six_sandbox, index, tmp_path):
        """six>=1.17 cannot keep the preinstalled 1.16.0: the bundle ships six 1.17.0, and the
        output and the manifest's notes say that installing it needs --upgrade and that it
        replaces 1.16.0."""
        _, profile = six_sandbox
        output = str(tmp_path / "six.tar.gz")
        proc = run_bundle(["six>=1.17", "--profile", profile, "-o", output], index.url)
        assert proc.returncode == 0, output_of(proc)
        stated = [line for line in proc.stderr.splitlines() if "--upgrade" in line
                  and "six" in line and "1.16.0" in line and "1.17.0" in line]
        assert stated, output_of(proc)
        bundle = read_bundle(output)
        assert bundle.wheel_files == ["six-1.17.0-py2.py3-none-any.whl"]
        assert [n for n in bundle.manifest["notes"] if "--upgrade" in n and "1.16.0" in n]

    def test_newest_that_fits_what_is_installed(self, six_sandbox, index, tmp_path):
        """six<1.17 with six 1.16.0 preinstalled: nothing to ship for six, nothing replaced."""
        _, profile = six_sandbox
        output = str(tmp_path / "kept.tar.gz")
        proc = run_bundle(["python-dateutil", "six", "--profile", profile, "-o", output],
                          index.url)
        assert proc.returncode == 0, output_of(proc)
        assert read_bundle(output).projects == ["python-dateutil"]
        assert "--upgrade" not in proc.stderr, output_of(proc)
        sandbox = six_sandbox[0]  # and the bundle installs there, with six kept as it is
        installed, report = sandbox.bootstrap_json("install", sandbox.upload(output))
        assert installed.returncode == 0 and report["status"] == "ok", output_of(installed)
        assert [(i["name"], i["version"]) for i in report["satisfied"]] == [("six", "1.16.0")]
        assert [i["name"] for i in report["installed"]] == ["python-dateutil"]
        versions = sandbox.installed()
        assert versions["six"] == "1.16.0" and versions["python-dateutil"] == "2.9.0.post0"


# -- nothing to ship --------------------------------------------------------------------------
# When the target already has every requirement (installed, or among Pyodide's own packages),
# the builder says so, exits 0 and writes a bundle that holds no file: its manifest names the
# roots and the target, and the sandbox's install of it reports them already satisfied, and
# changes nothing; where they are not there after all, the install fails on those roots.

def _trees(sandbox):
    return {"venv": installkit.snapshot(sandbox.venv), "data": installkit.snapshot(sandbox.data)}


def _changed(before, after):
    return [line for name in sorted(before)
            for line in installkit.diff_trees(before[name], after[name], "before", "after")]


def _problems(report):
    return sorted((p["code"], p["subject"]) for p in report["problems"])


def _told_nothing_ships(proc, output):
    """The builder's run said "nothing to ship" (and not "not written"), exit 0, and wrote
    ``output`` alone: a bundle that holds no file. Returns its manifest."""
    assert proc.returncode == 0, output_of(proc)
    assert proc.stdout.splitlines() == [output], output_of(proc)
    assert "nothing to ship" in proc.stderr and "not written" not in proc.stderr, output_of(proc)
    bundle = read_bundle(output)
    assert bundle.wheel_files == [] and bundle.manifest["files"] == [], bundle.members.keys()
    assert sorted(bundle.members) == ["bootstrap.py", "manifest.json", "pylock.toml"]
    validate_document(bundle.manifest)
    tomllib = pytest.importorskip("tomllib", reason="reading TOML needs Python 3.11")
    from packaging import pylock
    lock = pylock.Pylock.from_dict(tomllib.loads(bundle.pylock))
    assert lock.packages == [], bundle.pylock
    return bundle.manifest


def _lite_profile(folder, installed=()):
    """The jupyterlite preset as a file, with ``installed`` ((name, version): what micropip
    loaded in the sandbox since) listed as installed distributions."""
    with open(os.path.join(profiles.PRESETS, "jupyterlite.json")) as f:
        data = json.load(f)
    for name, version in installed:
        data["installed"].append({"name": name, "version": version, "requires": [],
                                  "location": data["paths"]["purelib"]})
    path = os.path.join(str(folder), "lite-%d.json" % len(installed))
    with open(path, "w") as f:
        json.dump(data, f)
    return path


def _check_for(bundle, profile):
    """(process, JSON report) of ``bootstrap.py check BUNDLE --profile PROFILE`` (what the
    sandbox of that profile would say; only reads)."""
    proc = indexkit.run([sys.executable, indexkit.BOOTSTRAP_PY, "check", bundle, "--profile",
                         profile, "--json"], env=indexkit.clean_env())
    try:
        return proc, json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("no JSON report:\n%s" % output_of(proc))


class TestNothingToShip:
    def test_a_sandbox_that_has_everything_gets_an_empty_bundle_that_installs(
            self, six_sandbox, index, tmp_path):
        """six with the profile of a venv that has six 1.16.0: exit 0, nothing ships, and the
        install in that venv (offline) says six 1.16.0 is already satisfied, installs nothing
        and changes nothing in the venv or beside the upload."""
        sandbox, profile = six_sandbox
        output = str(tmp_path / "six.tar.gz")
        proc = run_bundle(["six", "--profile", profile, "-o", output], index.url)
        manifest = _told_nothing_ships(proc, output)
        assert "six 1.16.0" in proc.stderr, output_of(proc)
        assert manifest["roots"] == ["six"]
        assert [n for n in manifest["notes"] if n.startswith("nothing to ship")], manifest
        upload = sandbox.upload(output)
        before = _trees(sandbox)
        for command in ("check", "install"):
            done, report = sandbox.bootstrap_json(command, upload)
            assert done.returncode == 0 and report["status"] == "ok", output_of(done)
            assert report["problems"] == [], output_of(done)
            assert [(i["name"], i["version"]) for i in report["satisfied"]] == [
                ("six", "1.16.0")], output_of(done)
            assert report["would_install"] == [], output_of(done)
        assert _changed(before, _trees(sandbox)) == []
        assert sandbox.installed().get("six") == "1.16.0"

    @needs_py311
    @needs_unshare
    def test_the_empty_bundle_fails_where_the_root_is_missing(self, index, tmp_path):
        """The same kind of bundle (built with --installed six==1.16.0) in a venv without six:
        the install fails on six, the one root (not on an empty upload), installs nothing."""
        output = str(tmp_path / "six.tar.gz")
        proc = run_bundle(["six", "--profile", TARGET311, "--installed", "six==1.16.0", "-o",
                           output], index.url)
        _told_nothing_ships(proc, output)
        sandbox = Sandbox(tmp_path / "bare", PYTHON311)
        upload = sandbox.upload(output)
        before = _trees(sandbox)
        done, report = sandbox.bootstrap_json("install", upload)
        assert done.returncode == 1 and report["status"] == "failed", output_of(done)
        assert _problems(report) == [("missing-dependency", "six")], output_of(done)
        # the one file a failed install writes: the profile its fix command names
        assert _changed(before, _trees(sandbox)) == ["only in after: sandbox-profile.json"]
        assert "sandbox-profile.json" in report["problems"][0]["fix"]["command"]
        assert "six" not in sandbox.installed()

    @pytest.mark.parametrize("manifest", [None, []], ids=["no-manifest", "no-roots"])
    def test_an_upload_that_holds_nothing_and_asks_nothing_is_still_refused(self, tmp_path,
                                                                            manifest):
        """What the empty bundle is not: GNU tar of an empty wheels/ folder, without a
        manifest, or with one that names no roots (and no file)."""
        os.makedirs(str(tmp_path / "up" / "wheels"))
        if manifest is not None:
            with open(str(tmp_path / "up" / "manifest.json"), "w") as f:
                json.dump({"schema": "sandbox-bootstrap.bundle/1", "created_by": "a test",
                           "target": TARGET311, "roots": manifest, "python_version": "3.11",
                           "files": [], "notes": []}, f)
        archive = str(tmp_path / "empty.tar.gz")
        tar = indexkit.run(["tar", "-czf", archive, "-C", str(tmp_path / "up")]
                           + sorted(os.listdir(str(tmp_path / "up"))))
        assert tar.returncode == 0, output_of(tar)
        proc = indexkit.run([sys.executable, indexkit.BOOTSTRAP_PY, "check", archive, "--json"],
                            env=indexkit.clean_env())
        report = json.loads(proc.stdout)
        assert proc.returncode == 1 and report["status"] == "failed", output_of(proc)
        assert _problems(report) == [("missing-dependency", "wheels")], output_of(proc)
        assert "hold no wheel and no sdist" in report["problems"][0]["message"]

    def test_pyodide_packages_alone_give_an_empty_bundle_with_the_micropip_line(
            self, index, tmp_path):
        """crcmod for JupyterLite: Pyodide ships crcmod 1.7, so nothing ships; the bundle's
        notes carry the micropip line; checked for the preset, crcmod is reported available
        from Pyodide (nothing else); for the sandbox after micropip loaded it, satisfied."""
        output = str(tmp_path / "crcmod.tar.gz")
        proc = run_bundle(["crcmod", "--profile", "jupyterlite", "-o", output], index.url)
        manifest = _told_nothing_ships(proc, output)
        assert "crcmod 1.7 (from Pyodide's own packages)" in proc.stderr, output_of(proc)
        assert [n for n in manifest["notes"] if 'micropip.install(["crcmod"])' in n], manifest
        preset = _lite_profile(tmp_path)
        done, report = _check_for(output, preset)
        assert done.returncode == 1, output_of(done)
        assert _problems(report) == [("missing-dependency", "crcmod")], output_of(done)
        assert report["problems"][0]["available_from"] == "pyodide", output_of(done)
        loaded = _lite_profile(tmp_path, [("crcmod", "1.7")])
        done, report = _check_for(output, loaded)
        assert done.returncode == 0 and report["status"] == "ok", output_of(done)
        assert [(i["name"], i["version"]) for i in report["satisfied"]] == [("crcmod", "1.7")]
        assert report["would_install"] == [], output_of(done)

    def test_mixed_pyodide_ships_only_what_pyodide_lacks(self, index, tmp_path):
        """crcmod (Pyodide's) and markdown 3.5 (not Pyodide's, pure): only markdown ships, and
        for the sandbox after micropip loaded crcmod, the bundle would install markdown."""
        output = str(tmp_path / "mixed.tar.gz")
        proc = run_bundle(["crcmod", "markdown==3.5", "--profile", "jupyterlite", "-o", output],
                          index.url)
        assert proc.returncode == 0, output_of(proc)
        assert "nothing to ship" not in proc.stderr, output_of(proc)
        bundle = read_bundle(output)
        assert bundle.wheel_files == ["Markdown-3.5-py3-none-any.whl"], bundle.wheel_files
        assert [n for n in bundle.manifest["notes"] if 'micropip.install(["crcmod"])' in n]
        done, report = _check_for(output, _lite_profile(tmp_path, [("crcmod", "1.7")]))
        assert done.returncode == 0 and report["status"] == "ok", output_of(done)
        assert [(i["name"], i["version"]) for i in report["would_install"]] == [
            ("markdown", "3.5")], output_of(done)


# -- split bundles ----------------------------------------------------------------------------

PART_SIZE = 40 * 1024


@pytest.fixture(scope="module")
def split_bundle(built):
    proc, path = built("split.tar.gz", "click==8.1.7", "--profile", TARGET311,
                       "--max-part-size", "40K")
    assert proc.returncode == 0, output_of(proc)
    return proc, path


class TestSplit:
    def test_parts_are_named_and_sized(self, split_bundle):
        proc, path = split_bundle
        parts = proc.stdout.split()
        assert len(parts) >= 2, output_of(proc)
        assert parts == ["%s.part-%03d" % (path, n) for n in range(1, len(parts) + 1)]
        assert not os.path.exists(path)
        assert all(os.path.getsize(p) <= PART_SIZE for p in parts)
        assert sorted(glob.glob(path + "*")) == parts

    def test_joined_parts_match_the_manifest(self, split_bundle):
        proc, path = split_bundle
        bundle = read_bundle(*proc.stdout.split())
        _assert_manifest_matches(bundle, path)

    @pytest.mark.parametrize("given", ["first part", "base name"])
    def test_check_and_install_round_trip(self, split_bundle, given, tmp_path):
        if PYTHON311 is None or not indexkit.have_unshare():
            pytest.skip("needs CPython 3.11 and unshare -rn")
        proc, path = split_bundle
        sandbox = Sandbox(tmp_path, PYTHON311)
        for part in proc.stdout.split():
            sandbox.upload(part)
        name = os.path.basename(path) + (".part-001" if given == "first part" else "")
        checked, report = sandbox.bootstrap_json("check", name)
        assert checked.returncode == 0 and report["status"] == "ok", output_of(checked)
        installed, report = sandbox.bootstrap_json("install", name)
        assert installed.returncode == 0 and report["status"] == "ok", output_of(installed)
        assert sandbox.installed().get("click") == "8.1.7"
        assert sandbox.imports("click").returncode == 0

    def test_a_corrupted_part_is_refused(self, split_bundle, tmp_path):
        """The manifest's sha256 is checked: a part with one flipped byte installs nothing."""
        if PYTHON311 is None or not indexkit.have_unshare():
            pytest.skip("needs CPython 3.11 and unshare -rn")
        proc, path = split_bundle
        sandbox = Sandbox(tmp_path, PYTHON311)
        parts = [sandbox.upload(p) for p in proc.stdout.split()]
        _flip_byte_in_member(parts, "wheels/click-8.1.7-py3-none-any.whl")
        installed, report = sandbox.bootstrap_json("install", os.path.basename(parts[0]))
        assert installed.returncode != 0, output_of(installed)
        codes = [(p["code"], p["subject"]) for p in report["problems"]]
        assert ("hash-mismatch", "click-8.1.7-py3-none-any.whl") in [
            (c, os.path.basename(s)) for c, s in codes], codes
        assert "click" not in sandbox.installed()


def _flip_byte_in_member(parts, member):
    """Rewrite the joined archive with one byte of ``member`` changed, split the same way."""
    data = b"".join(open(p, "rb").read() for p in parts)
    source = tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as target:
        for info in source:
            content = source.extractfile(info).read() if info.isfile() else None
            if info.name.lstrip("./") == member:
                content = content[:1000] + bytes([content[1000] ^ 0xFF]) + content[1001:]
            target.addfile(info, io.BytesIO(content) if content is not None else None)
    data = out.getvalue()
    size = (len(data) + len(parts) - 1) // len(parts)
    for number, part in enumerate(parts):
        with open(part, "wb") as f:
            f.write(data[number * size:(number + 1) * size])


# -- manifest.json and pylock.toml ------------------------------------------------------------

def _assert_manifest_matches(bundle, path):
    manifest = bundle.manifest
    assert manifest["schema"] == "sandbox-bootstrap.bundle/1"
    assert manifest["roots"] and manifest["target"]
    listed = dict((e["path"], e) for e in manifest["files"])
    members = dict((n, d) for n, d in bundle.members.items() if n.startswith("wheels/"))
    assert sorted(listed) == sorted(members)
    for member, data in members.items():
        assert listed[member]["sha256"] == hashlib.sha256(data).hexdigest(), member
        assert listed[member]["size"] == len(data), member
    assert bundle.members["bootstrap.py"] == BOOTSTRAP_COPIED[path]


def _pylock_files(text):
    tomllib = pytest.importorskip("tomllib")
    lock = tomllib.loads(text)
    assert lock["lock-version"] == "1.0"
    files = {}
    for package in lock["packages"]:
        entries = list(package.get("wheels", []))
        if "sdist" in package:
            entries.append(package["sdist"])
        for entry in entries:
            files[entry["path"] if "path" in entry else entry["name"]] = (
                package["name"], package["version"], entry["hashes"]["sha256"], entry["size"])
    return files


class TestBundleFiles:
    def test_manifest_has_roots_target_and_every_file(self, markdown38):
        bundle = read_bundle(markdown38)
        _assert_manifest_matches(bundle, markdown38)
        assert bundle.manifest["roots"] == ["markdown==3.5"]
        assert bundle.manifest["target"] == TARGET38

    @pytest.mark.parametrize("case", ["markdown38", "crcmod"])
    def test_pylock_lists_every_file_with_its_hash(self, case, request):
        if case == "crcmod":
            _, _, proc, path = request.getfixturevalue("crcmod_case")
            assert proc.returncode == 0, output_of(proc)
        else:
            path = request.getfixturevalue("markdown38")
        bundle = read_bundle(path)
        locked = _pylock_files(bundle.pylock)
        expected = dict((e["path"], (e["name"], e["version"], e["sha256"], e["size"]))
                        for e in bundle.manifest["files"])
        assert locked == expected
        for member, (_, _, sha256, size) in locked.items():  # and they are the real files
            data = bundle.members[member]
            assert (hashlib.sha256(data).hexdigest(), len(data)) == (sha256, size), member


# -- verifying before writing -----------------------------------------------------------------

class TestCheckBeforeWriting:
    def test_unsatisfiable_for_the_target_writes_nothing(self, index, tmp_path):
        """frozenlist 1.5.0 has only a macOS wheel on the index: nothing for Linux 3.8."""
        output = str(tmp_path / "out" / "frozen.tar.gz")
        os.makedirs(os.path.dirname(output))
        proc = run_bundle(["frozenlist==1.5.0", "--profile", TARGET38, "-o", output], index.url)
        assert proc.returncode == 1, output_of(proc)
        assert "frozenlist" in proc.stderr and "missing-dependency" in proc.stderr
        assert os.listdir(os.path.dirname(output)) == []

    def test_force_writes_it_anyway(self, index, tmp_path):
        output = str(tmp_path / "frozen.tar.gz")
        proc = run_bundle(["frozenlist==1.5.0", "--profile", TARGET38, "-o", output, "--force"],
                          index.url)
        assert proc.returncode == 0, output_of(proc)
        assert "frozenlist" in proc.stderr
        bundle = read_bundle(output)
        assert bundle.manifest["roots"] == ["frozenlist==1.5.0"]


# -- what the builder tells its user to run, followed word for word ---------------------------
# Every command the builder prints runs verbatim in the folder it ran in and keeps every option
# of the run that printed it; only what the step changes differs. The user's shell here: this
# interpreter's venv active (``python`` and ``pip`` are its own), pip configured with an index
# that answers nothing, so only the index options the commands carry can find a file.

def _user_env():
    folder = os.path.dirname(sys.executable)
    if not os.path.isfile(os.path.join(folder, "pip")):
        pytest.skip("%s has no pip beside it: not an active venv's shell" % sys.executable)
    env = indexkit.tool_env(NO_INDEX)
    env["PATH"] = folder + os.pathsep + env.get("PATH", "")
    return env


def _told(stderr, what):
    """The one command that a line of ``stderr`` with ``what`` in it says to run."""
    commands = [line.split(" run: ", 1)[1] for line in stderr.splitlines()
                if what in line and " run: " in line]
    assert len(commands) == 1, stderr
    return commands[0]


def _follow(command, cwd, env):
    """The printed command, as printed (shlex.split: what a POSIX shell runs)."""
    return indexkit.run(shlex.split(command), cwd=cwd, env=env)


class TestFollowedVerbatim:
    def test_a_bundle_that_fails_the_check_is_written_by_the_force_command(self, index,
                                                                           tmp_path):
        """frozenlist 1.5.0 has only a macOS wheel: the check fails; the printed command is this
        run with --force (same index, profile and output), and it writes that bundle."""
        env, cwd = _user_env(), str(tmp_path)
        os.makedirs(os.path.join(cwd, "out"))
        args = ["frozenlist==1.5.0", "--profile", TARGET38, "-o", "out/frozen.tar.gz",
                "-i", index.url]
        first = indexkit.run([sys.executable, indexkit.BUNDLE_PY] + args, cwd=cwd, env=env)
        assert first.returncode == 1, output_of(first)
        assert os.listdir(os.path.join(cwd, "out")) == []
        command = _told(first.stderr, "to write it anyway")
        # the check's own fix (for a sandbox: this tool without -i and -o, or pip download
        # without -i) is not shown: the one command is this run's, changed
        commands = [line for line in first.stderr.splitlines()
                    if "bundle.py frozenlist" in line or "pip download" in line]
        assert commands == ["%s: not written: the bundle would not install as it is; to write "
                            "it anyway, run: %s" % ("bundle.py", command)], output_of(first)
        assert shlex.split(command) == ["python", indexkit.BUNDLE_PY] + args + ["--force"]
        before = installkit.snapshot(cwd)
        forced = _follow(command, cwd, env)
        assert forced.returncode == 0, output_of(forced)
        changed = installkit.diff_trees(before, installkit.snapshot(cwd), "before", "after")
        assert changed == ["only in after: out/frozen.tar.gz"], changed
        bundle = read_bundle(os.path.join(cwd, "out", "frozen.tar.gz"))
        assert bundle.manifest["target"] == TARGET38
        assert bundle.manifest["roots"] == ["frozenlist==1.5.0"]

    @needs_py311
    @needs_unshare
    def test_a_compiled_sdist_is_completed_by_the_printed_commands(self, index, tmp_path):
        """crcmod 1.7 (an sdist with a C extension) for a target that says nothing of a
        compiler: the build stops. Followed word for word, pip wheel on a matching machine
        (this one) and the run repeated with --find-links to its folder give a bundle that
        installs and imports offline; the run repeated with --can-compile ships the sdist with
        its build backend. Every command keeps -i, --trusted-host, --profile and -o."""
        if sys.version_info[:2] != (3, 11) or os.uname().machine != "x86_64":
            pytest.skip("this machine does not match %s" % TARGET311)
        env, cwd = _user_env(), str(tmp_path / "work")
        os.makedirs(cwd)
        args = ["crcmod==1.7", "--profile", TARGET311, "-o", "crcmod.tar.gz", "-i", index.url,
                "--trusted-host", "127.0.0.1"]
        first = indexkit.run([sys.executable, indexkit.BUNDLE_PY] + args, cwd=cwd, env=env)
        assert first.returncode == 1, output_of(first)
        assert os.listdir(cwd) == []
        pip = shlex.split(_told(first.stderr, "on a machine matching %s" % TARGET311))
        folder = pip[pip.index("-w") + 1]
        assert pip == ["pip", "wheel", "--no-deps", "-w", folder, "--index-url", index.url,
                       "--trusted-host", "127.0.0.1", "crcmod==1.7"], pip
        rerun = _told(first.stderr, "then copy its folder")
        assert shlex.split(rerun) == ["python", indexkit.BUNDLE_PY] + args + [
            "--find-links", folder]
        compile_ = _told(first.stderr, "C compiler")
        assert shlex.split(compile_) == ["python", indexkit.BUNDLE_PY] + args + [
            "--can-compile"]

        built = _follow(" ".join(shlex.quote(word) for word in pip), cwd, env)
        assert built.returncode == 0, output_of(built)
        [wheel] = os.listdir(os.path.join(cwd, folder))
        assert wheel.startswith("crcmod-1.7-cp311-cp311-") and wheel.endswith(".whl"), wheel
        completed = _follow(rerun, cwd, env)
        assert completed.returncode == 0, output_of(completed)
        bundle = read_bundle(os.path.join(cwd, "crcmod.tar.gz"))
        assert bundle.wheel_files == [wheel]
        assert bundle.members["wheels/" + wheel] == open(
            os.path.join(cwd, folder, wheel), "rb").read()
        assert (bundle.manifest["target"], bundle.manifest["roots"]) == (TARGET311,
                                                                         ["crcmod==1.7"])
        sandbox = Sandbox(tmp_path / "sandbox", PYTHON311)
        installed, report = sandbox.bootstrap_json(
            "install", sandbox.upload(os.path.join(cwd, "crcmod.tar.gz")))
        assert installed.returncode == 0 and report["status"] == "ok", output_of(installed)
        imported = sandbox.imports("crcmod._crcfunext")
        assert imported.returncode == 0, output_of(imported)

        os.remove(os.path.join(cwd, "crcmod.tar.gz"))
        compiled = _follow(compile_, cwd, env)
        assert compiled.returncode == 0, output_of(compiled)
        bundle = read_bundle(os.path.join(cwd, "crcmod.tar.gz"))
        kinds = dict((os.path.basename(e["path"]), e["kind"]) for e in bundle.manifest["files"])
        assert kinds["crcmod-1.7.tar.gz"] == "sdist", kinds
        assert [k for f, k in kinds.items() if f.startswith("setuptools-")] == ["build-backend"]
        assert bundle.manifest["target"] == TARGET311

    def test_a_compiled_sdist_for_pyodide_is_completed_by_the_printed_command(self, index,
                                                                              tmp_path):
        """For Pyodide (no processes, no pip wheel for it) the step names Pyodide's toolchain
        and no pip command; its command is this run with --find-links to the folder named, and
        with a wheel for the target there (made here: the toolchain's output), it completes
        the bundle with every option kept. crcmod is taken out of the preset's Pyodide packages
        so that it must ship."""
        from wheelmaker import make_wheel
        env, cwd = _user_env(), str(tmp_path)
        with open(os.path.join(profiles.PRESETS, "jupyterlite.json")) as f:
            data = json.load(f)
        del data["sandbox"]["pyodide"]["packages"]["crcmod"]
        with open(os.path.join(cwd, "lite.json"), "w") as f:
            json.dump(data, f)
        args = ["crcmod==1.7", "--profile", "lite.json", "-o", "crcmod.tar.gz", "-i", index.url]
        first = indexkit.run([sys.executable, indexkit.BUNDLE_PY] + args, cwd=cwd, env=env)
        assert first.returncode == 1, output_of(first)
        assert "pip wheel" not in first.stderr and "--can-compile" not in first.stderr
        rerun = _told(first.stderr, "Pyodide's toolchain")
        words = shlex.split(rerun)
        folder = words[-1]
        assert words == ["python", indexkit.BUNDLE_PY] + args + ["--find-links", folder]
        assert folder in first.stderr.split(" then run: ")[0], output_of(first)
        wheel = make_wheel(os.path.join(cwd, folder), "crcmod", "1.7",
                           tag="-".join(data["target"].split("-")))
        completed = _follow(rerun, cwd, env)
        assert completed.returncode == 0, output_of(completed)
        bundle = read_bundle(os.path.join(cwd, "crcmod.tar.gz"))
        assert bundle.wheel_files == [wheel.name]
        assert bundle.manifest["target"] == data["target"]

    @needs_py311
    def test_a_compiled_sdist_in_hash_checking_mode(self, index, tmp_path):
        """The requirements file pins crcmod's sdist by --hash: the step after pip wheel says
        the wheel's hash must be added (as pip's hash-checking mode needs); with it added, the
        command runs as printed, keeps -r, and ships the wheel; the --can-compile one ships the
        sdist whose hash was given."""
        if sys.version_info[:2] != (3, 11) or os.uname().machine != "x86_64":
            pytest.skip("this machine does not match %s" % TARGET311)
        env, cwd = _user_env(), str(tmp_path)
        sdist = os.path.join(realwheels.require_set("crcmod-build"), "crcmod-1.7.tar.gz")
        line = "crcmod==1.7 --hash=sha256:%s" % indexkit.sha256_of(sdist)
        with open(os.path.join(cwd, "requirements.txt"), "w") as f:
            f.write(line + "\n")
        args = ["-r", "requirements.txt", "--profile", TARGET311, "-o", "crcmod.tar.gz",
                "-i", index.url]
        first = indexkit.run([sys.executable, indexkit.BUNDLE_PY] + args, cwd=cwd, env=env)
        assert first.returncode == 1, output_of(first)
        pip = _told(first.stderr, "on a machine matching")
        rerun = _told(first.stderr, "--hash=sha256:... to its requirement's line")
        folder = shlex.split(rerun)[-1]
        assert shlex.split(rerun) == ["python", indexkit.BUNDLE_PY] + args + [
            "--find-links", folder]
        built = _follow(pip, cwd, env)
        assert built.returncode == 0, output_of(built)
        [wheel] = os.listdir(os.path.join(cwd, folder))
        with open(os.path.join(cwd, "requirements.txt"), "w") as f:
            f.write("%s --hash=sha256:%s\n" % (line, indexkit.sha256_of(
                os.path.join(cwd, folder, wheel))))
        completed = _follow(rerun, cwd, env)
        assert completed.returncode == 0, output_of(completed)
        assert read_bundle(os.path.join(cwd, "crcmod.tar.gz")).wheel_files == [wheel]
        os.remove(os.path.join(cwd, "crcmod.tar.gz"))
        compiled = _follow(_told(first.stderr, "C compiler"), cwd, env)
        assert compiled.returncode == 0, output_of(compiled)
        files = read_bundle(os.path.join(cwd, "crcmod.tar.gz")).wheel_files
        assert "crcmod-1.7.tar.gz" in files, files

    @needs_py311
    def test_pip_wheel_keeps_a_file_index_url_that_drops_the_configured_extra_index(
            self, index, tmp_path):
        """The requirements file's --index-url (a private index with crcmod and its build
        backend) drops the extra index pip.conf configures, for every pip the builder runs; the
        printed pip wheel keeps that too: run as printed, it builds from the private index and
        never asks the configured one."""
        if sys.version_info[:2] != (3, 11) or os.uname().machine != "x86_64":
            pytest.skip("this machine does not match %s" % TARGET311)
        backend = realwheels.require_set("crcmod-build")
        root = str(tmp_path / "private")
        indexkit.build_index(root, [os.path.join(backend, n) for n in sorted(os.listdir(backend))])
        cwd = str(tmp_path / "work")
        os.makedirs(cwd)
        config = os.path.join(cwd, "pip.conf")
        with open(config, "w") as f:
            f.write("[global]\nextra-index-url = %s\n" % index.url)
        env = dict(_user_env(), PIP_CONFIG_FILE=config)
        asked = len(index.requests)
        with LocalIndex(root) as private:
            with open(os.path.join(cwd, "requirements.txt"), "w") as f:
                f.write("--index-url %s\ncrcmod==1.7\n" % private.url)
            args = ["-r", "requirements.txt", "--profile", TARGET311, "-o", "crcmod.tar.gz"]
            first = indexkit.run([sys.executable, indexkit.BUNDLE_PY] + args, cwd=cwd, env=env)
            assert first.returncode == 1, output_of(first)
            pip = shlex.split(_told(first.stderr, "on a machine matching"))
            assert pip[:3] == ["env", "PIP_EXTRA_INDEX_URL= ", "pip"], pip
            assert pip[-3:] == ["--index-url", private.url, "crcmod==1.7"], pip
            built = _follow(" ".join(shlex.quote(word) for word in pip), cwd, env)
            assert built.returncode == 0, output_of(built)
            assert private.files_served(), private.requests
        assert [w for w in os.listdir(os.path.join(cwd, pip[pip.index("-w") + 1]))
                if w.startswith("crcmod-1.7-")], os.listdir(cwd)
        assert index.requests[asked:] == [], "the configured extra index was asked"


# -- how the builder gets there: pip in its own process, kept downloads, the archive ----------

def _target_config(tmp_path):
    """A pip_target.py configuration for this interpreter's own tags (nothing installed)."""
    from tools import fetch
    profile = bootstrap.Profile.from_json(profiles.profile_from_target(TARGET311))
    return fetch.TargetPip(profile, str(tmp_path / "pip"), lambda message: None)


IN_PROCESS = """
import json, locale, os, sys
sys.path[:0] = [%(root)r]
from tools import pip_target
before = (dict(os.environ), locale.setlocale(locale.LC_ALL))
code, output = pip_target.run_in_process(%(config)r, %(args)r, {"PIP_EXTRA_INDEX_URL": " "})
after = (dict(os.environ), locale.setlocale(locale.LC_ALL))
try:
    pip_target.run_in_process(%(config)r, %(args)r)
    again = "ran"
except RuntimeError as error:
    again = str(error)
print(json.dumps({"code": code, "output": output, "same": before == after, "again": again}))
"""


class TestHowItRuns:
    def test_in_process_pip_answers_as_its_own_process(self, tmp_path):
        """The builder's first pip run is in its own process: same exit code and output as
        ``python tools/pip_target.py`` in a process of its own; the environment and locale
        are as before, and the output goes back to the real stdout; a second run refuses."""
        config = _target_config(tmp_path).config
        args = ["install", "--dry-run", "--no-index", "--quiet", "--disable-pip-version-check",
                "no-such-project-here"]
        alone = indexkit.run([sys.executable, os.path.join(ROOT, "tools", "pip_target.py"),
                              config] + args, env=indexkit.clean_env())
        proc = indexkit.run([sys.executable, "-c", IN_PROCESS % {
            "root": ROOT, "config": config, "args": args}], env=indexkit.clean_env())
        assert proc.returncode == 0, output_of(proc)
        result = json.loads(proc.stdout)  # printed after the run: stdout is the real one again
        assert alone.returncode == 1 and "no-such-project-here" in alone.stderr, output_of(alone)
        assert (result["code"], result["output"]) == (alone.returncode,
                                                      alone.stdout + alone.stderr)
        assert result["same"] is True
        assert result["again"] == "pip ran in this process already"

    def _item(self, filename, sha256):
        from tools import fetch
        return fetch.Item({"metadata": {"name": filename.split("-")[0], "version": "1.0"},
                           "download_info": {"url": "http://127.0.0.1:9/files/" + filename,
                                             "archive_info": {"hashes": {"sha256": sha256}}}})

    def _keep(self, target, filename, data):
        os.makedirs(target.kept, exist_ok=True)
        with open(os.path.join(target.kept, filename), "wb") as f:
            f.write(data)

    def _pip_asked(self, target, monkeypatch):
        asked = []

        def pip(arguments):
            asked.append(arguments)
            return subprocess.CompletedProcess(arguments, 1, "no network here")

        monkeypatch.setattr(target, "pip", pip)
        return asked

    def test_a_kept_file_with_the_index_sha256_is_shipped_without_pip(self, tmp_path,
                                                                      monkeypatch):
        target = _target_config(tmp_path)
        data = b"the real wheel"
        self._keep(target, "alpha-1.0-py3-none-any.whl", data)
        asked = self._pip_asked(target, monkeypatch)
        paths = target.download([self._item("alpha-1.0-py3-none-any.whl",
                                            hashlib.sha256(data).hexdigest())],
                                str(tmp_path / "downloads"))
        assert asked == []
        with open(paths["alpha"], "rb") as f:
            assert f.read() == data

    def test_a_kept_file_with_other_bytes_is_downloaded_again(self, tmp_path, monkeypatch):
        """A kept file whose bytes are not the index's sha256 is not shipped: pip is asked
        to download the wheel, by its URL and that sha256."""
        target = _target_config(tmp_path)
        wanted = hashlib.sha256(b"the real wheel").hexdigest()
        self._keep(target, "alpha-1.0-py3-none-any.whl", b"something else")
        asked = self._pip_asked(target, monkeypatch)
        from tools import fetch
        with pytest.raises(fetch.FetchError):
            target.download([self._item("alpha-1.0-py3-none-any.whl", wanted)],
                            str(tmp_path / "downloads"))
        assert len(asked) == 1 and asked[0][:1] == ["download"]
        assert "http://127.0.0.1:9/files/alpha-1.0-py3-none-any.whl#sha256=" + wanted in asked[0]
        assert not os.path.exists(str(tmp_path / "downloads" / "alpha-1.0-py3-none-any.whl"))

    def test_gnu_tar_reads_the_archive_back(self, tmp_path):
        """Wheels are stored in blocks of their own (several for one over 64 KiB, none for an
        empty one), text deflated: GNU gzip and tar read back every byte."""
        from tools import write
        folder = tmp_path / "staging"
        (folder / "wheels").mkdir(parents=True)
        contents = {"bootstrap.py": b"print('hi')\n" * 5000, "manifest.json": b"{}\n",
                    "wheels/big-1.0-py3-none-any.whl": os.urandom(200000),
                    "wheels/edge-1.0-py3-none-any.whl": os.urandom(65535),
                    "wheels/empty-1.0-py3-none-any.whl": b"",
                    "wheels/zeros-1.0-py3-none-any.whl": b"\0" * 300000,
                    "wheels/pkg-1.0.tar.gz": os.urandom(70000)}
        for name, data in contents.items():
            (folder / name).write_bytes(data)
        output = str(tmp_path / "bundle.tar.gz")
        write._write_tar_gz(str(folder), output)
        tested = indexkit.run(["gzip", "-t", output])
        assert tested.returncode == 0, output_of(tested)
        unpacked = tmp_path / "unpacked"
        unpacked.mkdir()
        extracted = indexkit.run(["tar", "-xzf", output, "-C", str(unpacked)])
        assert extracted.returncode == 0, output_of(extracted)
        found = {}
        for base, _, names in os.walk(str(unpacked)):
            for name in names:
                path = os.path.join(base, name)
                with open(path, "rb") as f:
                    found[os.path.relpath(path, str(unpacked))] = f.read()
        assert found == contents
        stored = sum(len(d) for n, d in contents.items() if n.startswith("wheels/"))
        # The zeros wheel deflates a thousandfold: only wheels stored as they are keep it whole
        assert os.path.getsize(output) > stored
        assert os.path.getsize(output) < stored + 20000  # bootstrap.py's 60 KB is deflated


# -- what pip kept while it resolved ----------------------------------------------------------

KEPT_ROOTS = ["python-dateutil", "markdown==3.5", "click==8.1.7", "importlib-metadata==8.5.0"]

#: ``python -c DRIVE_BUILDER SETUP.json``: tools/bundle.py's main(), as its command line runs it,
#: with two spies on tools/fetch.py: the first TargetPip.download (pip's in-process resolution
#: has just kept its files) records the kept folder as pip left it, then, when SETUP names a
#: file ("flip": a name's start), changes one byte of it; _sha256_ok names each file read.
DRIVE_BUILDER = r"""
import json, os, sys
sys.path[:0] = [%(root)r, %(bootstrap)r, %(tests)r]
from indexkit import sha256_of
from tools import bundle, fetch
with open(sys.argv[1]) as f:
    setup = json.load(f)
seen = {"kept": None, "hashed": []}

def flip(path):
    with open(path, "r+b") as f:
        f.seek(os.path.getsize(path) // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))

original_download, original_sha256_ok = fetch.TargetPip.download, fetch._sha256_ok

def download(self, items, dest):
    if seen["kept"] is None:
        names = sorted(os.listdir(self.kept))
        seen["kept"] = dict((n, sha256_of(os.path.join(self.kept, n))) for n in names)
        for name in names:
            if setup.get("flip") and name.lower().startswith(setup["flip"]):
                flip(os.path.join(self.kept, name))
    return original_download(self, items, dest)

def sha256_ok(path, sha256):
    seen["hashed"].append(os.path.basename(path))
    return original_sha256_ok(path, sha256)

fetch.TargetPip.download, fetch._sha256_ok = download, sha256_ok
seen["code"] = bundle.main(setup["args"])
with open(setup["out"], "w") as f:
    json.dump(seen, f)
"""


def _drive_builder(index, tmp_path, name, flip=None):
    """tools/bundle.py for KEPT_ROOTS on TARGET311 (this interpreter, so that plain pip is the
    oracle), driven by DRIVE_BUILDER in a process of its own, with its temporary folders in
    ``world/tmp``, which it must leave as it found it. Returns (process, what the spies saw,
    bundle path)."""
    world, out = tmp_path / "world", tmp_path / "out"
    (world / "tmp").mkdir(parents=True)
    out.mkdir()
    bundle_path = str(out / name)
    setup = str(out / "setup.json")
    with open(setup, "w") as f:
        json.dump({"flip": flip, "out": str(out / "seen.json"), "args": KEPT_ROOTS + [
            "--profile", TARGET311, "-o", bundle_path]}, f)
    env = indexkit.tool_env(index.url)
    env["TMPDIR"] = str(world / "tmp")
    before = installkit.snapshot(str(world))
    proc = indexkit.run([sys.executable, "-c", DRIVE_BUILDER % {
        "root": ROOT, "bootstrap": os.path.join(ROOT, "bootstrap"),
        "tests": os.path.join(ROOT, "tests")}, setup], env=env)
    after = installkit.snapshot(str(world))
    assert proc.returncode == 0, output_of(proc)
    with open(str(out / "seen.json")) as f:
        seen = json.load(f)
    assert seen["code"] == 0, output_of(proc)
    # nothing outside the builder's work folder was written, and that folder is gone
    assert installkit.diff_trees(before, after, "before", "after") == []
    return proc, seen, bundle_path


@pytest.fixture(scope="module")
def pip_oracle(index):
    """pip's own ``install --dry-run --ignore-installed --report`` (indexkit.pip_dry_run) for
    KEPT_ROOTS on this interpreter, against the same index: {file name: (URL, sha256)}."""
    named = {}
    for entry in indexkit.pip_dry_run(KEPT_ROOTS, indexkit.tool_env(index.url)):
        url = entry["download_info"]["url"]
        named[url.rsplit("/", 1)[-1]] = (url, entry["download_info"]["archive_info"]["hashes"][
            "sha256"])
    return named


@pytest.fixture(scope="module")
def kept_clean(index, tmp_path_factory):
    return _drive_builder(index, tmp_path_factory.mktemp("kept-clean"), "clean.tar.gz")


@pytest.fixture(scope="module")
def kept_flipped(index, tmp_path_factory):
    """One byte of six's kept wheel changed after pip kept it."""
    return _drive_builder(index, tmp_path_factory.mktemp("kept-flip"), "flip.tar.gz",
                          flip="six-")


def _assert_ships_the_index_files(index, bundle_path, oracle):
    """The bundle holds exactly the files pip's oracle names, byte for byte the index's, with
    their sha256 in the manifest."""
    bundle = read_bundle(bundle_path)
    assert bundle.wheel_files == sorted(oracle)
    for name in bundle.wheel_files:
        data = bundle.members["wheels/" + name]
        assert hashlib.sha256(data).hexdigest() == oracle[name][1] == indexkit.sha256_of(
            os.path.join(index.root, "files", name)), name
    listed = dict((os.path.basename(e["path"]), e["sha256"]) for e in bundle.manifest["files"])
    assert listed == dict((name, oracle[name][1]) for name in oracle)


class TestKeptByPip:
    """What real pip keeps (tools/pip_target.py, pip in the builder's process) while the real
    builder resolves against the local index; pip's own --dry-run --report, run apart, is the
    oracle. Each builder run is checked by _drive_builder to leave the world outside its work
    folder as it was."""

    def test_pip_keeps_what_it_installs_and_nothing_is_downloaded_twice(
            self, kept_clean, index, pip_oracle):
        proc, seen, bundle_path = kept_clean
        # kept as pip left them: the oracle's files, with the index's sha256
        assert seen["kept"] == dict((name, oracle[1]) for name, oracle in pip_oracle.items())
        # each read once before it is shipped; no second pip download
        assert sorted(seen["hashed"]) == sorted(pip_oracle)
        assert "downloading" not in proc.stderr, output_of(proc)
        _assert_ships_the_index_files(index, bundle_path, pip_oracle)

    def test_a_kept_file_changed_after_pip_kept_it_is_downloaded_again(
            self, kept_flipped, index, pip_oracle):
        proc, seen, bundle_path = kept_flipped
        assert [n for n in seen["hashed"] if n.startswith("six-")], seen["hashed"]
        assert re.findall(r"downloading (\d+) wheels", proc.stderr) == ["1"], output_of(proc)
        _assert_ships_the_index_files(index, bundle_path, pip_oracle)

    @needs_py311
    @needs_unshare
    def test_the_bundle_passes_bootstraps_check(self, kept_flipped, tmp_path):
        sandbox = Sandbox(tmp_path, PYTHON311)
        upload = sandbox.upload(kept_flipped[2])
        checked, report = sandbox.bootstrap_json("check", upload)
        assert checked.returncode == 0 and report["status"] == "ok", output_of(checked)


# -- profiles ---------------------------------------------------------------------------------

def _expected_tags(target, monkeypatch):
    """packaging.tags for a target, computed with packaging's own platform generators (glibc or
    musl version pinned), cpython_tags/generic_tags and compatible_tags."""
    from packaging import _manylinux, _musllinux
    from packaging.tags import compatible_tags, cpython_tags, generic_tags, mac_platforms
    match = re.match(r"^(cp|pp)(\d)(\d+)-([a-z0-9_]+)-(.+)$", target)
    impl, major, minor, abi, platform = (match.group(1), int(match.group(2)),
                                         int(match.group(3)), match.group(4), match.group(5))
    monkeypatch.setitem(sys.modules, "_manylinux", None)  # no PEP 600 override module
    monkeypatch.setattr(_manylinux, "_have_compatible_abi", lambda *a: True)
    linux = re.match(r"^(manylinux|musllinux)_(\d+)_(\d+)_(.+)$", platform)
    legacy = re.match(r"^manylinux(2014|2010|1)_(.+)$", platform)
    mac = re.match(r"^macosx_(\d+)_(\d+)_(.+)$", platform)
    if linux or legacy:
        if legacy:
            kind, glibc, arch = "manylinux", {"2014": (2, 17), "2010": (2, 12), "1": (2, 5)}[
                legacy.group(1)], legacy.group(2)
        else:
            kind, arch = linux.group(1), linux.group(4)
            glibc = (int(linux.group(2)), int(linux.group(3)))
        if kind == "manylinux":
            monkeypatch.setattr(_manylinux, "_get_glibc_version", lambda: glibc)
            monkeypatch.setattr(_musllinux, "_get_musl_version", lambda exe: None)
        else:
            monkeypatch.setattr(_manylinux, "_get_glibc_version", lambda: (-1, -1))
            monkeypatch.setattr(_musllinux, "_get_musl_version",
                                lambda exe: _musllinux._MuslVersion(*glibc))
        platforms = (list(_manylinux.platform_tags([arch])) +
                     list(_musllinux.platform_tags([arch])))
        # the newest packaging for the target's Python: 26.3+ (3.9+) puts linux_* first
        if (major, minor) >= (3, 9):
            platforms.insert(0, "linux_" + arch)
        else:
            platforms.append("linux_" + arch)
    elif mac:
        platforms = list(mac_platforms((int(mac.group(1)), int(mac.group(2))), mac.group(3)))
    else:
        platforms = [platform]
    if impl == "cp":
        tags = list(cpython_tags((major, minor), [abi], platforms))
        tags += list(compatible_tags((major, minor), "cp%d%d" % (major, minor), platforms))
    else:
        tags = list(generic_tags("pp%d%d" % (major, minor), [abi], platforms))
        tags += list(compatible_tags((major, minor), "pp3", platforms))
    return [str(t) for t in tags]


TARGETS = [
    ("cp38-cp38-manylinux_2_31_x86_64", "3.8", "linux"),
    ("cp311-cp311-manylinux_2_36_x86_64", "3.11", "linux"),
    ("cp311-cp311-manylinux2014_x86_64", "3.11", "linux"),
    ("cp312-cp312-manylinux_2_28_aarch64", "3.12", "linux"),
    ("cp310-cp310-musllinux_1_2_x86_64", "3.10", "linux"),
    ("cp311-cp311-win_amd64", "3.11", "win32"),
    ("cp39-cp39-macosx_11_0_arm64", "3.9", "darwin"),
    ("cp312-cp312-macosx_10_9_x86_64", "3.12", "darwin"),
    ("pp310-pypy310_pp73-manylinux_2_17_x86_64", "3.10", "linux"),
    ("cp312-cp312-pyodide_2024_0_wasm32", "3.12", "emscripten"),
    ("cp314-cp314-pyemscripten_2026_0_wasm32", "3.14", "emscripten"),
]


class TestProfiles:
    @pytest.mark.parametrize("target, python_version, sys_platform", TARGETS)
    def test_target_string_expands_to_packaging_tags(self, target, python_version,
                                                     sys_platform, monkeypatch):
        data, _ = profiles.load_profile(target)
        expected = _expected_tags(target, monkeypatch)
        assert data["compatible_tags"] == expected
        assert data["marker_environment"]["python_version"] == python_version
        assert data["marker_environment"]["sys_platform"] == sys_platform
        profile = bootstrap.Profile.from_json(data, source=target)
        assert [str(t) for t in profile.tags] == expected

    @pytest.mark.parametrize("name", profiles.preset_names())
    def test_presets_load(self, name):
        data, _ = profiles.load_profile(name)
        profile = bootstrap.Profile.from_json(data, source=name)
        assert profile.tags and profile.marker_environment["python_version"]
        assert data.get("source"), "a preset notes its source"

    def test_there_are_presets(self):
        assert len(profiles.preset_names()) >= 3

    @pytest.mark.parametrize("content", [
        None,                                    # not a file, preset or target string
        "{not json",
        "[1, 2]",
        "",
        '{"schema": "sandbox-bootstrap.profile/1"}',
        '{"compatible_tags": "cp311-cp311-linux_x86_64", "marker_environment": 3}',
        '{"compatible_tags": ["not a tag"], "marker_environment": {}}',
    ])
    def test_broken_profile_exits_2_with_one_line(self, content, tmp_path):
        value = "no-such-profile-or-target"
        if content is not None:
            value = str(tmp_path / "profile.json")
            with open(value, "w") as f:
                f.write(content)
        output = str(tmp_path / "out.tar.gz")
        proc = run_bundle(["six", "--profile", value, "-o", output], NO_INDEX)
        assert proc.returncode == 2, output_of(proc)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr, output_of(proc)
        assert not os.path.exists(output)

    def test_unknown_platform_in_target_exits_2(self, tmp_path):
        proc = run_bundle(["six", "--profile", "cp311-cp311-solaris_2_11_sparc", "-o",
                           str(tmp_path / "o.tar.gz")], NO_INDEX)
        assert proc.returncode == 2, output_of(proc)
        assert len(proc.stderr.strip().splitlines()) == 1, output_of(proc)

    @needs_py311
    def test_inspect_profile_gives_the_same_tags_as_its_target_string(self, tmp_path):
        sandbox = Sandbox(tmp_path, PYTHON311)
        proc = sandbox.bootstrap("inspect", "-o", "profile.json", offline=False)
        assert proc.returncode == 0, output_of(proc)
        file_data, _ = profiles.load_profile(os.path.join(sandbox.data, "profile.json"))
        if file_data["target"] != TARGET311:
            pytest.skip("this machine is %s, not %s" % (file_data["target"], TARGET311))
        target_data, _ = profiles.load_profile(TARGET311)
        assert file_data["compatible_tags"] == target_data["compatible_tags"]
        assert "--profile %s" % TARGET311 in proc.stdout


# -- the closed loop --------------------------------------------------------------------------

@pytest.fixture
def repo_fix_output():
    """The fix command writes bundle-fix.tar.gz into the repository root (its cwd): one test
    at a time, never over a file that was there, and nothing left behind."""
    lock_path = os.path.join(ROOT, ".cache", "bundle-fix.lock")
    os.makedirs(os.path.dirname(lock_path), exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        target = os.path.join(ROOT, FIX_NAME)
        if glob.glob(target + "*"):
            pytest.skip("%s already exists in the repository root; move it away" % FIX_NAME)
        try:
            yield target
        finally:
            for path in glob.glob(target + "*"):
                os.remove(path)


@needs_py38
@needs_unshare
class TestClosedLoop:
    def test_report_fix_command_completes_the_bundle_in_one_round(self, index, repo_fix_output,
                                                                   tmp_path):
        # the incomplete bundle: what plain pip download --platform ... made on this 3.11 host
        incomplete = tmp_path / "incomplete"
        proc = indexkit.run(
            [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--platform",
             "manylinux2014_x86_64", "--python-version", "3.8", "--implementation", "cp",
             "--abi", "cp38", "-d", str(incomplete), "markdown==3.5"],
            env=indexkit.tool_env(index.url))
        assert proc.returncode == 0, output_of(proc)
        archive = str(tmp_path / "bundle.tar.gz")
        with tarfile.open(archive, "w:gz") as tar:
            for name in sorted(os.listdir(str(incomplete))):
                tar.add(str(incomplete / name), arcname=name)

        sandbox = Sandbox(tmp_path / "sandbox", PYTHON38)
        sandbox.upload(archive)
        checked, check_report = sandbox.bootstrap_json("check", "bundle.tar.gz")
        assert checked.returncode == 1, output_of(checked)
        installed, report = sandbox.bootstrap_json("install", "bundle.tar.gz")
        assert installed.returncode == 1 and report["status"] != "ok", output_of(installed)
        assert "importlib-metadata" in json.dumps(report["problems"])
        assert report["fix"]["where"] == "online"
        command = report["fix"]["command"]
        assert check_report["fix"]["command"] == command

        fixed = indexkit.run_shell_command(command, index.url, cwd=ROOT)
        assert fixed.returncode == 0, "%s\n%s" % (command, output_of(fixed))
        assert os.path.isfile(repo_fix_output), (command, os.listdir(ROOT))
        sandbox.upload(repo_fix_output)

        done, report = sandbox.bootstrap_json("install", "bundle.tar.gz", FIX_NAME)
        assert done.returncode == 0 and report["status"] == "ok", output_of(done)
        assert {"markdown", "importlib-metadata", "zipp"} <= set(sandbox.installed())
        imported = sandbox.imports("markdown", "importlib_metadata", "zipp")
        assert imported.returncode == 0, output_of(imported)
