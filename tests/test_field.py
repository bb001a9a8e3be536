"""Uploads as everyday tools make them, and the usages the README promises, word for word.

Every archive here is made by the real tool (GNU tar, zip, ...), never by our own code, and
every install runs bootstrap.py as a user does: a script in a pip-less venv, pip's machine-wide
configuration switched off, with the result checked by importing the package in that venv.
"""

import json
import os
import shutil
import struct
import subprocess
import sys
import zipfile

import pytest

from installkit import Venv, clean_env, diff_trees, find_python, run, snapshot
from wheelmaker import make_wheel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOTSTRAP_PY = os.path.join(ROOT, "bootstrap", "bootstrap.py")


def _tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.skip("%s is not installed on this machine" % name)
    return path


@pytest.fixture
def venv(tmp_path):
    return Venv(str(tmp_path / "venv"), find_python("3.11"))


@pytest.fixture
def wheels(tmp_path):
    folder = tmp_path / "wheels"
    folder.mkdir()
    make_wheel(str(folder), "fieldpkg", "1.0", files={"fieldpkg/__init__.py": b"VALUE = 42\n"})
    return folder


def _imports(venv, module="fieldpkg"):
    proc = run([venv.python, "-c", "import %s; print(%s.VALUE)" % (module, module)])
    return proc.returncode == 0 and proc.stdout.strip() == "42"


class TestTarOfAFolder:
    def test_gnu_tar_of_dot_installs(self, tmp_path, venv, wheels):
        """`tar czf b.tgz -C dir .` has a `./` member: the archive's own folder."""
        tar = _tool("tar")
        bundle = tmp_path / "bundle.tar.gz"
        subprocess.run([tar, "czf", str(bundle), "-C", str(wheels), "."], check=True)
        listing = subprocess.run([tar, "tzf", str(bundle)], check=True, stdout=subprocess.PIPE,
                                 universal_newlines=True).stdout.split()
        assert "./" in listing
        proc = run([venv.python, BOOTSTRAP_PY, "install", str(bundle)], cwd=str(tmp_path))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert _imports(venv)


class TestImpliedInstall:
    def test_first_argument_that_is_an_upload_means_install(self, tmp_path, venv, wheels):
        bundle = tmp_path / "bundle.tar.gz"
        subprocess.run([_tool("tar"), "czf", str(bundle), "-C", str(wheels), "."], check=True)
        proc = run([venv.python, BOOTSTRAP_PY, "bundle.tar.gz"], cwd=str(tmp_path))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert proc.stdout.startswith("install: OK")
        assert _imports(venv)

    def test_a_missing_upload_is_a_one_line_error(self, tmp_path, venv):
        proc = run([venv.python, BOOTSTRAP_PY, "nothing-here.tar.gz"], cwd=str(tmp_path))
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr

    def test_no_argument_installs_the_uploads_in_the_current_folder(self, tmp_path, venv, wheels):
        """`python bootstrap.py` alone does what the exec cell does: it finds the uploads."""
        bundle = tmp_path / "bundle.tar.gz"
        subprocess.run([_tool("tar"), "czf", str(bundle), "-C", str(wheels), "."], check=True)
        shutil.rmtree(str(wheels))  # only the upload is left in the folder
        proc = run([venv.python, BOOTSTRAP_PY], cwd=str(tmp_path))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert _imports(venv)

    def test_no_argument_and_no_upload_describes_the_interpreter(self, tmp_path, venv):
        proc = run([venv.python, BOOTSTRAP_PY], cwd=str(tmp_path))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "No bundle found" in proc.stdout
        assert (tmp_path / "sandbox-profile.json").is_file()


# -- the field corpus: one pip-less venv, one project per case, each upload made by a real tool --

# An AppleDouble file as macOS writes beside every file on a foreign file system (and into
# __MACOSX/ of a Finder zip): magic 0x00051607, version 2, "Mac OS X" filler, two entries
# (Finder info at 50, 32 bytes; an empty resource fork at 82).
APPLEDOUBLE = (b"\x00\x05\x16\x07\x00\x02\x00\x00" + b"Mac OS X        " + b"\x00\x02"
               + struct.pack(">III", 9, 50, 32) + struct.pack(">III", 2, 82, 0) + b"\0" * 32)
DS_STORE = b"\x00\x00\x00\x01Bud1" + b"\0" * 2038


@pytest.fixture(scope="module")
def field_venv(tmp_path_factory):
    return Venv(str(tmp_path_factory.mktemp("field") / "venv"), find_python("3.11"))


class Case(object):
    """One case: a project of its own (so every case installs into the same venv), its wheel
    in ``folder/wheels``, and the uploads folder the user's files go to."""

    def __init__(self, root, name):
        self.root = root
        self.module = "field_" + name.replace("-", "_")
        self.wheels = root / "wheels"
        self.uploads = root / "uploads"
        self.uploads.mkdir()
        self.wheel = make_wheel(str(self.wheels), self.module, "1.0",
                                files={self.module + "/__init__.py": b"VALUE = 42\n",
                                       self.module + "/blob.bin": os.urandom(3000)})

    def install(self, venv, *uploads, implied=False):
        """`python bootstrap.py [install] UPLOAD... --json` run in the uploads folder."""
        args = ([] if implied else ["install"]) + [str(u) for u in uploads] + ["--json"]
        proc = run([venv.python, BOOTSTRAP_PY] + args, cwd=str(self.uploads))
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc, json.loads(proc.stdout)

    def assert_installed(self, venv, proc, report):
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert [i["name"] for i in report["installed"]] == [self.module.replace("_", "-")]
        assert _imports(venv, self.module)


@pytest.fixture
def case(tmp_path, request):
    return Case(tmp_path, request.node.name.split("[")[0][5:] + "_" + str(abs(hash(
        request.node.name)) % 10 ** 6))


def _appledouble_beside(folder):
    """What macOS leaves in a folder copied to a foreign disk: ._NAME and .DS_Store."""
    for name in os.listdir(str(folder)):
        (folder / ("._" + name)).write_bytes(APPLEDOUBLE)
    (folder / ".DS_Store").write_bytes(DS_STORE)


class TestArchivesByTools:
    @pytest.mark.parametrize("flags,suffix", [("czf", ".tar.gz"), ("cjf", ".tar.bz2"),
                                              ("cJf", ".tar.xz"), ("cf", ".tar")])
    def test_gnu_tar_of_a_folder(self, case, field_venv, flags, suffix):
        upload = case.uploads / ("bundle" + suffix)
        subprocess.run([_tool("tar"), flags, str(upload), "-C", str(case.wheels), "."],
                       check=True)
        case.assert_installed(field_venv, *case.install(field_venv, upload.name))

    @pytest.mark.parametrize("appledouble", [False, True], ids=["plain", "appledouble"])
    def test_bsdtar(self, case, field_venv, appledouble):
        """bsdtar (libarchive, macOS's tar), with the ._* files macOS keeps beside each file."""
        if appledouble:
            _appledouble_beside(case.wheels)
        upload = case.uploads / "bundle.tar.gz"
        subprocess.run([_tool("bsdtar"), "-czf", str(upload), "-C", str(case.wheels), "."],
                       check=True)
        proc, report = case.install(field_venv, upload.name, implied=True)
        case.assert_installed(field_venv, proc, report)
        assert any("macOS metadata" in note for note in report["notes"]) == appledouble, \
            report["notes"]

    @pytest.mark.parametrize("inside", [".", "wheels"])
    def test_zip_r(self, case, field_venv, inside):
        upload = case.uploads / "bundle.zip"
        subprocess.run([_tool("zip"), "-qr", str(upload), inside],
                       cwd=str(case.wheels if inside == "." else case.root), check=True)
        case.assert_installed(field_venv, *case.install(field_venv, upload.name))

    @pytest.mark.parametrize("kind", ["zip", "gztar", "bztar", "xztar", "tar"])
    def test_shutil_make_archive(self, case, field_venv, kind):
        upload = shutil.make_archive(str(case.uploads / "bundle"), kind, str(case.wheels))
        case.assert_installed(field_venv, *case.install(field_venv, os.path.basename(upload)))

    def test_finder_zip(self, case, field_venv):
        """Compress in Finder: folder entries, the wheel, its AppleDouble under __MACOSX/, and
        the folder's .DS_Store."""
        upload = case.uploads / "wheels.zip"
        name = case.wheel.name
        with zipfile.ZipFile(str(upload), "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("wheels/", b"")
            archive.write(str(case.wheel), "wheels/" + name)
            archive.writestr("wheels/.DS_Store", DS_STORE)
            archive.writestr("__MACOSX/", b"")
            archive.writestr("__MACOSX/wheels/", b"")
            archive.writestr("__MACOSX/wheels/._" + name, APPLEDOUBLE)
            archive.writestr("__MACOSX/wheels/._.DS_Store", APPLEDOUBLE)
        proc, report = case.install(field_venv, upload.name)
        case.assert_installed(field_venv, proc, report)
        note = [n for n in report["notes"] if "macOS metadata" in n]
        assert len(note) == 1 and "ignored 5" in note[0], report["notes"]

    def test_folder_copied_from_a_mac(self, case, field_venv):
        _appledouble_beside(case.wheels)
        shutil.copytree(str(case.wheels), str(case.uploads / "wheels"))
        case.assert_installed(field_venv, *case.install(field_venv, "wheels"))


def _gnu_tar_gz(case):
    upload = case.root / "bundle.tar.gz"
    subprocess.run([_tool("tar"), "czf", str(upload), "-C", str(case.wheels), "."], check=True)
    assert upload.stat().st_size > 600  # several parts of 200 bytes
    return upload


class TestSplitUploads:
    @pytest.mark.parametrize("options,prefix,first", [
        ([], None, "xaa"),                                      # split -b
        (["-d"], None, "x00"),                                  # split -d
        (["-a", "3"], None, "xaaa"),                            # split -a 3
        (["-d", "-a", "3"], None, "x000"),
        ([], "bundle.tar.gz.part-", "bundle.tar.gz.part-aa"),   # split with a prefix
        ([], "bundle.tar.gz.", "bundle.tar.gz.aa"),
        (["-d"], "bundle.tar.gz.", "bundle.tar.gz.00"),
        (["-d", "-a", "3", "--numeric-suffixes=1"], "bundle.tar.gz.part-",
         "bundle.tar.gz.part-001"),
    ])
    def test_split(self, case, field_venv, options, prefix, first):
        bundle = _gnu_tar_gz(case)
        subprocess.run([_tool("split"), "-b", "200"] + options + [str(bundle)]
                       + ([prefix] if prefix else []), cwd=str(case.uploads), check=True)
        parts = sorted(os.listdir(str(case.uploads)))
        assert parts[0] == first and len(parts) >= 3, parts
        case.assert_installed(field_venv, *case.install(field_venv, *parts))

    def test_first_part_alone_names_the_join(self, case, field_venv):
        bundle = _gnu_tar_gz(case)
        subprocess.run([_tool("split"), "-b", "200", str(bundle), "bundle.tar.gz.part-"],
                       cwd=str(case.root), check=True)
        shutil.copy(str(case.root / "bundle.tar.gz.part-aa"), str(case.uploads))
        proc, report = case.install(field_venv, "bundle.tar.gz.part-aa", implied=True)
        assert proc.returncode == 2, proc.stdout
        [problem] = report["problems"]
        assert problem["code"] == "corrupt-archive"
        assert "looks like one part of a split upload" in problem["message"]
        assert "bundle.tar.gz.part-ab" in problem["fix"]["command"]
        assert "cat bundle.tar.gz.part-* > bundle.tar.gz" in problem["fix"]["command"]
        for part in sorted(os.listdir(str(case.root))):  # the fix: upload every part
            if ".part-" in part:
                shutil.copy(str(case.root / part), str(case.uploads))
        case.assert_installed(field_venv, *case.install(field_venv, "bundle.tar.gz.part-aa"))

    def test_joining_as_the_fix_says(self, case, field_venv):
        bundle = _gnu_tar_gz(case)
        subprocess.run([_tool("split"), "-b", "200", str(bundle)], cwd=str(case.uploads),
                       check=True)
        os.unlink(str(case.uploads / "xab"))
        proc, report = case.install(field_venv, "xaa")
        assert proc.returncode == 2, proc.stdout
        [problem] = report["problems"]
        assert "xab is missing" in problem["message"], problem
        assert problem["fix"]["command"].startswith("upload xab")
        subprocess.run([_tool("split"), "-b", "200", str(bundle)], cwd=str(case.uploads),
                       check=True)  # the missing part, uploaded
        case.assert_installed(field_venv, *case.install(field_venv, "xaa"))

    @pytest.mark.parametrize("kind,suffix", [("zip", ".zip"), ("tar", ".tar")])
    def test_7zip_volumes(self, case, field_venv, kind, suffix):
        seven = shutil.which("7z") or shutil.which("7za")
        if seven is None:
            pytest.skip("7-Zip (p7zip-full) is not installed on this machine")
        subprocess.run([seven, "a", "-t" + kind, "-v1k", str(case.uploads / ("bundle" + suffix)),
                        case.wheel.name], cwd=str(case.wheels), check=True,
                       stdout=subprocess.DEVNULL)
        parts = sorted(os.listdir(str(case.uploads)))
        assert parts[0] == "bundle%s.001" % suffix and len(parts) >= 2, parts
        case.assert_installed(field_venv, *case.install(field_venv, parts[0], implied=True))

    def test_7zip_volume_missing_is_named(self, case, field_venv):
        seven = shutil.which("7z") or shutil.which("7za")
        if seven is None:
            pytest.skip("7-Zip (p7zip-full) is not installed on this machine")
        subprocess.run([seven, "a", "-tzip", "-v1k", str(case.root / "bundle.zip"),
                        case.wheel.name], cwd=str(case.wheels), check=True,
                       stdout=subprocess.DEVNULL)
        parts = sorted(p for p in os.listdir(str(case.root)) if p.startswith("bundle.zip."))
        for part in parts[:1] + parts[2:]:
            shutil.copy(str(case.root / part), str(case.uploads))
        proc, report = case.install(field_venv, parts[0])
        assert proc.returncode == 2
        assert [p["code"] for p in report["problems"]] == ["corrupt-archive"]
        assert "bundle.zip.002 is missing" in report["problems"][0]["message"]
        shutil.copy(str(case.root / parts[1]), str(case.uploads))
        case.assert_installed(field_venv, *case.install(field_venv, parts[0]))


class TestBrowserCopies:
    def test_wheel_saved_twice(self, case, field_venv):
        name = case.wheel.name[:-len(".whl")] + " (1).whl"
        shutil.copy(str(case.wheel), str(case.uploads / name))
        before = snapshot(str(case.uploads))
        proc, report = case.install(field_venv, name, implied=True)
        case.assert_installed(field_venv, proc, report)
        assert [(w["file"], w["compatible"]) for w in report["wheels"]] == [
            (case.wheel.name, True)]  # judged by its real name, not as "built for any (1)"
        assert any("(1)" in note and "browser" in note for note in report["notes"])
        assert diff_trees(before, snapshot(str(case.uploads))) == []

    def test_bundle_saved_twice(self, case, field_venv):
        subprocess.run([_tool("tar"), "czf", str(case.uploads / "bundle (2).tar.gz"), "-C",
                        str(case.wheels), "."], check=True)
        case.assert_installed(field_venv, *case.install(field_venv, "bundle (2).tar.gz"))

    def test_a_wheel_saved_twice_inside_a_bundle(self, case, field_venv):
        copy = case.wheels / (case.wheel.name[:-len(".whl")] + "(1).whl")
        case.wheel.rename(copy)
        upload = case.uploads / "bundle.zip"
        subprocess.run([_tool("zip"), "-qr", str(upload), "."], cwd=str(case.wheels), check=True)
        case.assert_installed(field_venv, *case.install(field_venv, upload.name))
