"""Trust (issue 10, the install side): an upload never writes, deletes or replaces anything
outside its own package, and a failed or killed install never loses what was there.

Built as an attacker would: for each place where a wheel's content becomes a path or a decision
in the installer (member names, RECORD rows, `.data/<scheme>/` keys, entry-point names, a second
.dist-info, bootstrap's own journal names, files of another installed distribution, an overlay
or conda-pack folder), a hostile wheel tries to abuse it. Every test snapshots the whole test
folder (outside the work folder) before and after and asserts that nothing outside the allowed
places changed, and that the report names exactly what happened (its problem code).

    TestGate            names that would leave the destination or use bootstrap's state names
    TestWheelRules      one .dist-info, Wheel-Version, METADATA version, unreadable RECORDs,
                        sha384/sha512 RECORDs (installed exactly as pip installs them)
    TestOwnership       file-conflict; uninstall removes RECORD paths only, prunes folders
    TestReplacement     a failed upgrade (hash, full disk, failed commit) keeps the old version
    TestKilledUpgrade   SIGKILL-like exits at every step of an upgrade and of a rolled-back
                        upgrade, then a rerun: exactly one version, whole; import and pip agree
    TestModes           overlays only in empty or bootstrap-made folders; reset; conda-pack
    TestHostile         hypothesis: hostile wheels and arguments
    TestMemory          a member that compresses a thousandfold is inflated a block at a
                        time: the install's peak memory stays far below the member's size
"""

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import installkit as kit  # noqa: E402
from installkit import (  # noqa: E402
    BOOTSTRAP_DIR, STAGING_DIR, clean_env, diff_trees, installed_versions, run, snapshot,
    strictly_complete)
from wheelmaker import make_wheel as write_wheel  # noqa: E402

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


# -- helpers --------------------------------------------------------------------------------------


def cli(*args, env=None):
    return kit.bootstrap(sys.executable, *args, env=env)


def assert_clean(result):
    assert result.report is not None, result
    assert "Traceback" not in result.stdout + result.stderr, result


def tree(root, skip=("__pycache__",)):
    return snapshot(str(root), skip=skip)


def unchanged(before, root, skip=("__pycache__",)):
    after = tree(root, skip)
    return diff_trees(before, after, "before", "after")


def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (name, digest, len(data))


def raw_wheel(folder, filename, members, record=True, record_extra=()):
    """A wheel written member by member ({name: bytes}), with a RECORD of sha256 rows for
    every member (unless ``record`` is False) plus ``record_extra`` lines."""
    os.makedirs(str(folder), exist_ok=True)
    path = os.path.join(str(folder), filename)
    stem = "-".join(filename.split("-")[:2])
    dist_info = stem + ".dist-info"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        lines = []
        for name, data in members.items():
            archive.writestr(name, data)
            lines.append(record_line(name, data))
        if record:
            lines.extend(record_extra)
            lines.append("%s/RECORD,," % dist_info)
            archive.writestr(dist_info + "/RECORD", "\n".join(lines) + "\n")
    return path


def basic_members(name="evil", version="1.0", extra=None, wheel_version="1.0"):
    dist_info = "%s-%s.dist-info" % (name, version)
    members = {
        "%s/__init__.py" % name: b"V = 1\n",
        dist_info + "/METADATA": ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n\n"
                                  % (name, version)).encode(),
        dist_info + "/WHEEL": ("Wheel-Version: %s\nGenerator: test\nRoot-Is-Purelib: true\n"
                               "Tag: py3-none-any\n\n" % wheel_version).encode(),
    }
    members.update(extra or {})
    return members


class Scene(object):
    """A test folder: bundle folders, a --target destination, a work folder; snapshots of
    everything but the work folder."""

    def __init__(self, tmp_path):
        self.root = tmp_path
        self.target = tmp_path / "site"
        self.work = tmp_path / "work"
        self.outside = tmp_path / "outside"
        self.outside.mkdir()
        (self.outside / "precious.txt").write_text("keep me\n")

    def folder(self, name):
        path = self.root / name
        path.mkdir(exist_ok=True)
        return path

    def install(self, *args):
        result = cli("install", *[str(a) for a in args], "--target", str(self.target),
                     "--no-verify", "--work-dir", str(self.work))
        assert_clean(result)
        return result

    def snapshot(self):
        return {k: v for k, v in tree(self.root).items()
                if not k.startswith("work") and not k.endswith("-activate.pth")}

    def changes(self, before, allowed=()):
        """Differences since ``before`` outside the ``allowed`` top-level folders."""
        after = self.snapshot()
        keep = lambda snap: {k: v for k, v in snap.items()  # noqa: E731
                             if k.split(os.sep)[0] not in allowed}
        return diff_trees(keep(before), keep(after), "before", "after")


@pytest.fixture
def scene(tmp_path):
    return Scene(tmp_path)


def codes(result):
    return result.codes()


def install_refused(scene, bundle, code):
    """The result of installing ``bundle`` into the scene's target, which must be refused
    with the one problem ``code``, leaving everything outside as it was and nothing
    installed."""
    before = scene.snapshot()
    result = scene.install(bundle)
    assert codes(result) == [code], result
    assert scene.changes(before, allowed=("site",)) == []
    assert installed_versions(str(scene.target)) == {}
    return result


def only_problem(result, code):
    """The one problem of a failed run (exit code 1), which must have ``code``."""
    assert codes(result) == [code], result
    assert result.returncode == 1
    return result.report["problems"][0]


# -- 1. the gate --------------------------------------------------------------------------------


class TestGate:
    def test_entry_point_name_with_parents_is_refused(self, scene):
        bundle = scene.folder("w")
        write_wheel(bundle, "evil", "1.0", entry_points={
            "console_scripts": {"../../outside/x": "evil:main"}})
        result = install_refused(scene, bundle, "unsafe-archive-member")
        assert result.returncode == 2
        assert "entry point name" in result.report["problems"][0]["message"]

    @pytest.mark.parametrize("name", ["/tmp/evil-abs", "sub/x", "..", ".bootstrap-staging"])
    def test_other_entry_point_names_are_refused(self, scene, name):
        bundle = scene.folder("w")
        write_wheel(bundle, "evil", "1.0", entry_points={"gui_scripts": {name: "evil:main"}})
        before = scene.snapshot()
        result = scene.install(bundle)
        assert codes(result) == ["unsafe-archive-member"], result
        assert scene.changes(before, allowed=("site",)) == []
        assert not os.path.exists("/tmp/evil-abs")

    @pytest.mark.parametrize("value", ["os; import evil:main", "evil:main()", "evil:"])
    def test_entry_point_values_that_are_not_dotted_names_are_refused(self, scene, value):
        bundle = scene.folder("w")
        write_wheel(bundle, "evil", "1.0", entry_points="[console_scripts]\ntool = %s\n"
                    % value)
        install_refused(scene, bundle, "invalid-wheel")

    def test_a_wheel_shipping_a_journal_is_refused_and_never_replayed(self, scene):
        bundle = scene.folder("w")
        journal = {key: str(scene.outside) for key in ("purelib", "platlib", "headers",
                                                          "scripts", "data")}
        write_wheel(bundle, "evil", "1.0", files={
            "evil/__init__.py": "",
            ".bootstrap-staging/x-1.0/READY": json.dumps(journal),
            ".bootstrap-staging/x-1.0/purelib/precious.txt": "overwritten\n"})
        other = scene.folder("other")
        write_wheel(other, "omega", "1.0")
        before = scene.snapshot()
        result = scene.install(bundle)
        assert codes(result) == ["unsafe-archive-member"], result
        assert result.returncode == 2
        assert ".bootstrap-staging" in result.report["problems"][0]["message"]
        result = scene.install(other)
        assert result.returncode == 0, result
        assert not any("finished" in n for n in result.report.get("notes", ())), result
        assert scene.changes(before, allowed=("site",)) == []
        assert installed_versions(str(scene.target)) == {"omega": "1.0"}

    @pytest.mark.parametrize("name", [".bootstrap.lock", ".sandbox-bootstrap-overlay",
                                      "pkg/.bootstrap-staging/READY"])
    def test_other_reserved_names_are_refused(self, scene, name):
        bundle = scene.folder("w")
        write_wheel(bundle, "evil", "1.0", files={"evil/__init__.py": "", name: "x"})
        before = scene.snapshot()
        result = scene.install(bundle)
        assert codes(result) == ["unsafe-archive-member"], result
        assert scene.changes(before, allowed=("site",)) == []

    def test_a_forged_journal_in_the_destination_is_left_alone(self, scene):
        """However a journal got there, recovery trusts only one that names this
        destination's folders and paths inside them that its staged RECORD lists."""
        bundle = scene.folder("w")
        write_wheel(bundle, "omega", "1.0")
        assert scene.install(bundle).returncode == 0
        site = str(scene.target)
        forged = [
            # other folders than the destination's
            ("a-1.0", {"purelib": str(scene.outside), "platlib": str(scene.outside),
                       "headers": site, "scripts": site, "data": site},
             [["purelib", "precious.txt"]], []),
            # the right folders, an entry leaving them
            ("b-1.0", None, [["purelib", "../outside/precious.txt"]], []),
            # the right folders, an aside entry that is not in the RECORD's package
            ("c-1.0", None, [["purelib", "c-1.0.dist-info/RECORD"]],
             [["purelib", "../outside/precious.txt"]]),
            # the right folders, a new file its staged RECORD does not list
            ("d-1.0", None, [["purelib", "d-1.0.dist-info/RECORD"], ["purelib", "omega/x"]],
             []),
        ]
        for entry, scheme, files, aside in forged:
            staging = os.path.join(site, STAGING_DIR, entry)
            os.makedirs(os.path.join(staging, "purelib", entry + ".dist-info"))
            with open(os.path.join(staging, "purelib", entry + ".dist-info", "RECORD"),
                      "w") as f:
                f.write("%s.dist-info/RECORD,,\n" % entry)
            journal = dict(scheme or {k: (os.path.join(site, "include", "python", entry[0])
                                          if k == "headers" else os.path.join(site, "bin")
                                          if k == "scripts" else site)
                                      for k in ("purelib", "platlib", "headers", "scripts",
                                                "data")})
            journal.update(name=entry[0], dist_info=entry + ".dist-info", files=files,
                           aside=aside, phase="ready", replaces=None)
            with open(os.path.join(staging, "READY"), "w") as f:
                json.dump(journal, f)
        before = scene.snapshot()
        result = scene.install(bundle)
        assert result.returncode == 0, result
        left = [n for n in result.report["notes"] if n.startswith("left ")]
        assert len(left) == 4, result.report["notes"]
        assert scene.changes(before) == []

    @pytest.mark.parametrize("row", ["../outside/precious.txt,,", "/etc/passwd,,",
                                     "evil/../../x,,"])
    def test_record_rows_leaving_the_wheel_are_refused(self, scene, row):
        bundle = scene.folder("w")
        raw_wheel(bundle, "evil-1.0-py3-none-any.whl", basic_members(), record_extra=[row])
        result = install_refused(scene, bundle, "unsafe-archive-member")
        assert "RECORD entry" in result.report["problems"][0]["message"]

    @pytest.mark.parametrize("member,code", [
        ("evil-1.0.data/../../outside/precious.txt", "unsafe-archive-member"),
        ("evil-1.0.data/scripts/../../../outside/x", "unsafe-archive-member"),
        ("evil-1.0.data/unknown/x", "invalid-wheel"),
        ("evil-1.0.data/purelib", "invalid-wheel"),
        ("/abs/evil.py", "unsafe-archive-member"),
        ("evil\\..\\..\\x.py", "unsafe-archive-member"),
    ])
    def test_data_keys_and_members_leaving_the_destination_are_refused(self, scene, member,
                                                                        code):
        bundle = scene.folder("w")
        raw_wheel(bundle, "evil-1.0-py3-none-any.whl",
                  basic_members(extra={member: b"overwritten\n"}))
        result = install_refused(scene, bundle, code)
        assert result.returncode == 2


# -- 2. what a wheel must be ----------------------------------------------------------------------


class TestWheelRules:
    def test_a_second_dist_info_is_refused(self, scene):
        """A second .dist-info (another project's, its RECORD naming paths outside) would make
        a later --upgrade of that project delete them: pip refuses such a wheel, so does
        bootstrap, and nothing of it lands."""
        bundle = scene.folder("w")
        raw_wheel(bundle, "evil-1.0-py3-none-any.whl", basic_members(extra={
            "victim-9.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: victim\n"
                                             b"Version: 9.0\n\n",
            "victim-9.0.dist-info/RECORD": b"../outside/precious.txt,,\n"}))
        result = install_refused(scene, bundle, "invalid-wheel")
        assert ".dist-info" in result.report["problems"][0]["message"]

    def test_dist_info_of_another_version_is_refused(self, scene):
        bundle = scene.folder("w")
        members = basic_members(version="1.0")
        raw_wheel(bundle, "evil-2.0-py3-none-any.whl", members)
        result = scene.install(bundle)
        assert codes(result) == ["invalid-wheel"], result
        assert installed_versions(str(scene.target)) == {}

    def test_metadata_version_differing_from_the_file_name_is_refused(self, scene):
        bundle = scene.folder("w")
        wheel = write_wheel(bundle, "pkg", "2.0", files={
            "pkg/__init__.py": "",
            "pkg-2.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n\n"})
        result = scene.install(wheel)
        assert codes(result) == ["invalid-wheel"], result
        message = result.report["problems"][0]["message"]
        assert "1.0" in message and "2.0" in message, message
        assert result.installed() == {}
        assert installed_versions(str(scene.target)) == {}
        checked = cli("check", str(wheel), "--work-dir", str(scene.work))
        assert checked.codes() == ["invalid-wheel"], checked

    def test_newer_major_wheel_version_is_refused(self, scene):
        bundle = scene.folder("w")
        raw_wheel(bundle, "pkg-1.0-py3-none-any.whl",
                  basic_members("pkg", wheel_version="2.0"))
        result = scene.install(bundle)
        assert codes(result) == ["invalid-wheel"], result
        assert "Wheel-Version 2.0" in result.report["problems"][0]["message"]
        assert installed_versions(str(scene.target)) == {}

    def test_newer_minor_wheel_version_installs_with_a_note(self, scene):
        bundle = scene.folder("w")
        raw_wheel(bundle, "pkg-1.0-py3-none-any.whl",
                  basic_members("pkg", wheel_version="1.9"))
        result = scene.install(bundle)
        assert result.returncode == 0, result
        assert installed_versions(str(scene.target)) == {"pkg": "1.0"}
        assert any("Wheel-Version 1.9" in n for n in result.report["notes"]), result.report

    @pytest.mark.parametrize("record,code", [
        (b"pkg/__init__.py,sha256=\0abc,6\n", "invalid-wheel"),  # csv: line contains NUL
        (b"pkg/__init__.py,sha256=" + b"A" * 140000 + b",6\n", "invalid-wheel"),  # > 128 KB
        (b"\"pkg/__init__.py,sha256=abc,6\n\"\"x\n", "hash-mismatch"),  # one odd row
    ])
    def test_unreadable_record_is_a_problem_not_a_traceback(self, scene, record, code):
        bundle = scene.folder("w")
        members = basic_members("pkg")
        members["pkg-1.0.dist-info/RECORD"] = record
        raw_wheel(bundle, "pkg-1.0-py3-none-any.whl", members, record=False)
        result = install_refused(scene, bundle, code)
        assert result.returncode == 2

    @pytest.mark.parametrize("algorithm", ["sha384", "sha512"])
    def test_sha384_and_sha512_records_install_exactly_as_pip_installs_them(
            self, tmp_path, algorithm):
        """A legitimate wheel whose RECORD uses a stronger hash, with a member over 1 MB (it is
        streamed): installed, and the tree equals pip's (INSTALLER aside)."""
        blob = os.urandom(1536 * 1024)
        files = {"strong/__init__.py": b"V = 1\n", "strong/blob.bin": blob,
                 "strong/small.txt": b"small\n"}
        members = basic_members("strong", extra=files)
        del members["strong/__init__.py"]
        members["strong/__init__.py"] = b"V = 1\n"
        bundle = tmp_path / "w"
        bundle.mkdir()
        path = os.path.join(str(bundle), "strong-1.0-py3-none-any.whl")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            lines = []
            for name, data in members.items():
                archive.writestr(name, data)
                digest = base64.urlsafe_b64encode(hashlib.new(algorithm, data).digest())
                lines.append("%s,%s=%s,%d" % (name, algorithm, digest.rstrip(b"=").decode(),
                                              len(data)))
            lines.append("strong-1.0.dist-info/RECORD,,")
            archive.writestr("strong-1.0.dist-info/RECORD", "\n".join(lines) + "\n")
        ours, theirs = tmp_path / "ours", tmp_path / "pips"
        result = cli("install", path, "--target", str(ours), "--no-verify")
        assert_clean(result)
        assert result.returncode == 0, result
        assert strictly_complete(str(ours)) == []
        pip = kit.bundled_pip(sys.executable)
        if pip is None:
            pytest.skip("this interpreter carries no pip wheel")
        run([sys.executable, os.path.join(pip, "pip"), "install", "--no-deps", "--no-compile",
             "--no-index", "--no-cache-dir", "--target", str(theirs), path], check=True)

        def files(root):
            found = {}
            for relative, (kind, mode, content) in tree(root).items():
                if relative.endswith(("INSTALLER", "RECORD", "direct_url.json")):
                    continue
                found[relative] = (kind, mode, content)
            return found
        assert diff_trees(files(theirs), files(ours), "pip", "bootstrap") == []

    def test_a_weak_record_hash_is_a_mismatch(self, scene):
        bundle = scene.folder("w")
        members = basic_members("pkg")
        lines = ["%s,md5=%s,%d" % (n, base64.urlsafe_b64encode(hashlib.md5(d).digest())
                                   .rstrip(b"=").decode(), len(d)) for n, d in members.items()]
        members["pkg-1.0.dist-info/RECORD"] = ("\n".join(lines) + "\npkg-1.0.dist-info/RECORD,,"
                                               "\n").encode()
        raw_wheel(bundle, "pkg-1.0-py3-none-any.whl", members, record=False)
        result = scene.install(bundle)
        assert codes(result) == ["hash-mismatch"], result
        assert installed_versions(str(scene.target)) == {}


# -- 3. ownership ---------------------------------------------------------------------------------


def import_version(target, module):
    """(version, file) of ``module`` imported in a fresh interpreter from ``target``."""
    proc = run([sys.executable, "-I", "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                "import %s as m; print(m.__version__); print(m.__file__)" % module,
                str(target)])
    if proc.returncode != 0:
        return None, proc.stderr.strip().splitlines()[-1:]
    version, path = proc.stdout.split()
    return version, path


_PIP_COPY = []


def pip_check(target):
    """pip check over a --target folder alone: this interpreter's pip package copied to a
    folder of its own (so no other distribution is on the path), run with -S."""
    if not _PIP_COPY:
        import tempfile
        try:
            import pip
        except ImportError:
            pytest.skip("no pip in this interpreter")
        folder = tempfile.mkdtemp(prefix="pip-copy-")
        shutil.copytree(os.path.dirname(pip.__file__), os.path.join(folder, "pip"))
        _PIP_COPY.append(folder)
    code = ("import sys; sys.path[:0] = sys.argv[1:3]; from pip._internal.cli.main import main; "
            "sys.exit(main(['check']))")
    return run([sys.executable, "-S", "-c", code, _PIP_COPY[0], str(target)])


@pytest.fixture(scope="module", autouse=True)
def _remove_pip_copy():
    yield
    for folder in _PIP_COPY:
        shutil.rmtree(folder, ignore_errors=True)


class TestOwnership:
    def test_a_file_of_another_distribution_is_a_file_conflict(self, scene):
        """opencv-python-headless over opencv-python: both ship cv2/. Refused, naming both,
        and opencv-python stays whole."""
        first, second = scene.folder("a"), scene.folder("b")
        write_wheel(first, "opencv-python", "4.9.0", files={
            "cv2/__init__.py": "__version__ = 'full'\n", "cv2/cv2.so": b"\x7fELF full"})
        write_wheel(second, "opencv-python-headless", "4.9.0", files={
            "cv2/__init__.py": "__version__ = 'headless'\n", "cv2/cv2.so": b"\x7fELF headless",
            "cv2/headless_only.py": ""})
        assert scene.install(first).returncode == 0
        before = scene.snapshot()
        result = scene.install(second)
        problem = only_problem(result, "file-conflict")
        assert "opencv_python" in problem["message"] or "opencv-python" in problem["message"]
        assert "opencv-python-headless" in problem["message"], problem
        assert problem["owner"].replace("_", "-") == "opencv-python", problem
        assert problem["files"] == ["cv2/__init__.py", "cv2/cv2.so"], problem
        assert "pip uninstall" in problem["fix"]["command"], problem
        assert scene.changes(before) == []
        assert strictly_complete(str(scene.target)) == []
        assert import_version(scene.target, "cv2")[0] == "full"

    def test_an_identical_file_of_another_distribution_is_shared(self, scene):
        first, second = scene.folder("a"), scene.folder("b")
        write_wheel(first, "nsa", "1.0", files={"ns/__init__.py": "# shared\n",
                                                 "ns/a.py": ""})
        write_wheel(second, "nsb", "1.0", files={"ns/__init__.py": "# shared\n",
                                                  "ns/b.py": ""})
        assert scene.install(first).returncode == 0
        result = scene.install(second)
        assert result.returncode == 0, result
        assert installed_versions(str(scene.target)) == {"nsa": "1.0", "nsb": "1.0"}

    def test_an_unowned_file_is_replaced_as_pip_does(self, scene):
        bundle = scene.folder("w")
        write_wheel(bundle, "pkg", "1.0", files={"pkg/__init__.py": "__version__ = '1.0'\n"})
        os.makedirs(str(scene.target / "pkg"))
        (scene.target / "pkg" / "__init__.py").write_text("stray\n")
        result = scene.install(bundle)
        assert result.returncode == 0, result
        assert import_version(scene.target, "pkg")[0] == "1.0"
        assert strictly_complete(str(scene.target)) == []

    def test_upgrade_removes_only_record_paths_and_prunes_emptied_folders(self, scene):
        """v1 has pkg/old/ and a namespace folder; v2 has neither: after the upgrade both are
        gone (an empty folder would still import as a namespace package), and files that no
        RECORD names (the user's) stay."""
        v1, v2 = scene.folder("v1"), scene.folder("v2")
        write_wheel(v1, "pkg", "1.0", files={
            "pkg/__init__.py": "__version__ = '1.0'\n", "pkg/old/__init__.py": "",
            "pkg/old/deep/mod.py": "", "nsonly/part/mod.py": ""},
            data={"scripts": {"pkg-old-tool": "#!/bin/sh\n"}})
        write_wheel(v2, "pkg", "2.0", files={"pkg/__init__.py": "__version__ = '2.0'\n"})
        assert scene.install(v1).returncode == 0
        (scene.target / "pkg" / "users-notes.txt").write_text("mine\n")
        proc = run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                    "import pkg.old.deep.mod", str(scene.target)])
        assert proc.returncode == 0, proc
        assert (scene.target / "pkg" / "old" / "deep" / "__pycache__").is_dir()
        result = scene.install(v2, "--upgrade")
        assert result.returncode == 0, result
        assert result.report["installed"][0]["replaced"] == "1.0"
        assert installed_versions(str(scene.target)) == {"pkg": "2.0"}
        assert not (scene.target / "pkg" / "old").exists()
        assert not (scene.target / "nsonly").exists()
        assert not (scene.target / "bin").exists()  # emptied: pruned, as any folder
        assert (scene.target / "pkg" / "users-notes.txt").read_text() == "mine\n"
        assert strictly_complete(str(scene.target), before={
            str(scene.target / "pkg" / "users-notes.txt")}) == []
        assert not (scene.target / STAGING_DIR).exists()

    def test_uninstall_never_follows_record_paths_outside_the_scheme(self, scene):
        """An installed RECORD (written by another tool) that names files outside the
        destination: the upgrade leaves those files alone."""
        v1, v2 = scene.folder("v1"), scene.folder("v2")
        write_wheel(v1, "pkg", "1.0", files={"pkg/__init__.py": "__version__ = '1.0'\n"})
        write_wheel(v2, "pkg", "2.0", files={"pkg/__init__.py": "__version__ = '2.0'\n"})
        assert scene.install(v1).returncode == 0
        record = scene.target / "pkg-1.0.dist-info" / "RECORD"
        with open(str(record), "a") as f:
            f.write("../outside/precious.txt,,\n%s,,\n" % (scene.outside / "precious.txt"))
        before = scene.snapshot()
        result = scene.install(v2, "--upgrade")
        assert result.returncode == 0, result
        assert scene.changes(before, allowed=("site",)) == []
        assert installed_versions(str(scene.target)) == {"pkg": "2.0"}


# -- 4. replacement: a failed upgrade keeps the old version --------------------------------------


def upgrade_bundles(scene):
    """pkg 1.0 (with dep 1.0 beside it) and pkg 2.0: packages, a module that goes away, a new
    one, a console script, a data file and a header that change names."""
    v1, v2 = scene.folder("v1"), scene.folder("v2")
    write_wheel(v1, "dep", "1.0")
    write_wheel(v1, "pkg", "1.0", requires=["dep"], files={
        "pkg/__init__.py": "__version__ = '1.0'\n", "pkg/a.py": "A = 1\n",
        "pkg/gone.py": "", "pkg/sub/__init__.py": "", "pkg/sub/old_only.py": ""},
        data={"data": {"share/pkg/v1.txt": "1\n"}, "headers": {"pkg1.h": "#define V 1\n"}},
        entry_points={"console_scripts": {"pkg-cli": "pkg:main"}})
    write_wheel(v2, "pkg", "2.0", requires=["dep>=1"], files={
        "pkg/__init__.py": "__version__ = '2.0'\n", "pkg/a.py": "A = 2\n",
        "pkg/new.py": "", "pkg/sub/__init__.py": ""},
        data={"data": {"share/pkg/v2.txt": "2\n"}, "headers": {"pkg2.h": "#define V 2\n"}},
        entry_points={"console_scripts": {"pkg-cli": "pkg:main", "pkg-new": "pkg:main"}})
    return v1, v2


def assert_one_whole_version(target, label, allowed=("1.0", "2.0"), pip=True):
    """Exactly one pkg, whole (every file its RECORD names, nothing else), and import and
    (unless ``pip`` is False: it takes a second or two) pip check agree. Returns its version."""
    problems = strictly_complete(str(target))
    assert problems == [], "%s:\n%s" % (label, "\n".join(problems))
    pkgs = [d for d in kit.dist_info_dirs(str(target))
            if os.path.basename(d).startswith("pkg-")]
    assert len(pkgs) == 1, (label, pkgs)
    version = installed_versions(str(target))["pkg"]
    assert version in allowed, (label, version)
    assert import_version(target, "pkg")[0] == version, label
    if pip:
        checked = pip_check(target)
        assert checked.returncode == 0, (label, checked.stdout, checked.stderr)
    return version


class TestReplacement:
    def test_hash_mismatch_in_the_new_version_keeps_the_old(self, scene):
        v1, _ = upgrade_bundles(scene)
        bad = scene.folder("bad")
        write_wheel(bad, "pkg", "2.0", requires=["dep"], bad_hash=True, files={
            "pkg/__init__.py": "__version__ = '2.0'\n"})
        assert scene.install(v1).returncode == 0
        before = scene.snapshot()
        result = scene.install(bad, "--upgrade")
        assert codes(result) == ["hash-mismatch"], result
        message = result.report["problems"][0]["message"]
        assert "pkg 1.0 is still installed" in message, message
        assert scene.changes(before) == []
        assert assert_one_whole_version(scene.target, "hash") == "1.0"

    def test_full_disk_during_an_upgrade_keeps_the_old(self, scene, tmp_path):
        if not IS_ROOT or shutil.which("mount") is None:
            pytest.skip("mounting a small tmpfs needs root")
        os.makedirs(str(scene.target))
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2M", "tmpfs",
                           str(scene.target)]).returncode != 0:
            pytest.skip("cannot mount a tmpfs here")
        try:
            v1, _ = upgrade_bundles(scene)
            big = scene.folder("big")
            write_wheel(big, "pkg", "2.0", requires=["dep"], files={
                "pkg/__init__.py": "__version__ = '2.0'\n", "pkg/blob.bin": os.urandom(3 << 20)})
            assert scene.install(v1).returncode == 0
            before = scene.snapshot()
            result = scene.install(big, "--upgrade")
            assert codes(result) == ["not-writable"], result
            message = result.report["problems"][0]["message"]
            assert "space" in message and "pkg 1.0 is still installed" in message, message
            assert result.returncode == 1
            assert scene.changes(before) == []
            assert assert_one_whole_version(scene.target, "full disk") == "1.0"
        finally:
            subprocess.run(["umount", str(scene.target)])

    def test_a_commit_that_fails_on_a_read_only_folder_rolls_back(self, scene):
        """The new version also writes into share/, a read-only folder inside the
        destination: the commit fails half-way (old files aside, some new ones in) and is
        rolled back; the report says the old version is still installed."""
        if not IS_ROOT or shutil.which("mount") is None:
            pytest.skip("a read-only bind mount needs root")
        v1, v2 = upgrade_bundles(scene)
        assert scene.install(v1).returncode == 0
        readonly = scene.target / "share" / "ro"
        readonly.mkdir()
        ro_wheel = scene.folder("ro")
        write_wheel(ro_wheel, "pkg", "2.0", requires=["dep"], files={
            "pkg/__init__.py": "__version__ = '2.0'\n", "pkg/new.py": ""},
            data={"data": {"share/ro/x.txt": "x\n"}})
        if subprocess.run(["mount", "--bind", str(readonly), str(readonly)]).returncode != 0:
            pytest.skip("cannot bind-mount here")
        try:
            if subprocess.run(["mount", "-o", "remount,ro,bind", str(readonly)]).returncode:
                pytest.skip("cannot remount read-only here")
            before = scene.snapshot()
            result = scene.install(ro_wheel, "--upgrade")
            assert codes(result) == ["not-writable"], result
            message = result.report["problems"][0]["message"]
            assert "pkg 1.0 is still installed" in message, message
            assert scene.changes(before) == []
            assert not (scene.target / STAGING_DIR).exists()
        finally:
            subprocess.run(["umount", str(readonly)])
        readonly.rmdir()
        assert assert_one_whole_version(scene.target, "read-only") == "1.0"

    def test_preinstalled_package_still_imports_after_a_failed_upgrade(self, scene, tmp_path):
        """The promise for a venv: pip installed xpkg 1.0; bootstrap --upgrade with a broken
        2.0 fails, and the venv is as it was (1.0 imports, pip check is happy)."""
        env = kit.Venv(tmp_path / "venv", sys.executable)
        v1 = scene.folder("x1")
        write_wheel(v1, "xpkg", "1.0", files={"xpkg/__init__.py": "__version__ = '1.0'\n",
                                               "xpkg/util.py": ""},
                    entry_points={"console_scripts": {"xtool": "xpkg:main"}})
        env.pip_install_offline(v1, "xpkg", check=True)
        bad = scene.folder("x2")
        write_wheel(bad, "xpkg", "2.0", bad_hash=True, files={
            "xpkg/__init__.py": "__version__ = '2.0'\n"})
        before = snapshot(env.root)
        result = kit.bootstrap(env.python, "install", str(bad), "--upgrade")
        assert_clean(result)
        assert codes(result) == ["hash-mismatch"], result
        assert "xpkg 1.0 is still installed" in result.report["problems"][0]["message"]
        assert diff_trees(before, snapshot(env.root)) == []
        proc = run([env.python, "-c", "import xpkg; print(xpkg.__version__)"])
        assert proc.stdout.strip() == "1.0", proc
        assert pip_check(env.site_packages).returncode == 0


# -- 5. killed upgrades -----------------------------------------------------------------------


def run_hooked(bundle, target, **hooks):
    return kit.run_hooked_install(bundle, target, "--upgrade", **hooks)


class TestKilledUpgrade:
    @pytest.fixture
    def setup(self, scene):
        v1, v2 = upgrade_bundles(scene)
        base = scene.root / "base"
        assert cli("install", str(v1), "--target", str(base), "--no-verify").returncode == 0
        other = scene.folder("other")
        write_wheel(other, "omega", "1.0")
        return scene, v2, base, other

    def _fresh(self, scene, base, label):
        target = scene.root / ("t-" + label)
        shutil.copytree(str(base), str(target), symlinks=True)
        return target

    def _rerun_and_check(self, target, other, label, allowed=("1.0", "2.0"), pip=False):
        """A run with another bundle (omega) recovers; then exactly one pkg, whole."""
        result = cli("install", str(other), "--target", str(target), "--no-verify")
        assert_clean(result)
        assert result.returncode == 0, (label, result)
        assert result.installed() == {"omega": "1.0"}, (label, result)
        return assert_one_whole_version(target, label, allowed, pip)

    def test_killed_at_every_step_of_an_upgrade(self, setup):
        scene, v2, base, other = setup
        target = self._fresh(scene, base, "count")
        proc, counts = run_hooked(v2, target)
        assert proc.returncode == 0, proc
        assert counts["ready"] == 1 and counts["phase"] == 2 and counts["move"] >= 10, counts
        assert_one_whole_version(target, "count", ("2.0",))
        seen = set()
        points = [(step, n) for step in ("move", "ready", "phase", "rmtree")
                  for n in range(1, counts[step] + 1)]
        for index, (step, n) in enumerate(points):
            label = "%s-%d" % (step, n)
            target = self._fresh(scene, base, label)
            proc, _ = run_hooked(v2, target, KILL_AT="%s:%d" % (step, n))
            assert proc.returncode == 77, (label, proc.stderr)
            # READY is the point of no return: before it the old version, after it the new
            forward = step != "ready"
            version = self._rerun_and_check(target, other, label,
                                            ("2.0",) if forward else ("1.0",),
                                            pip=index % 8 == 0 or step == "ready")
            seen.add(version)
        assert seen == {"1.0", "2.0"}

    @pytest.mark.parametrize("errno_name", ["EROFS", "ENOSPC"])
    def test_killed_at_every_step_of_a_rolled_back_upgrade(self, setup, errno_name):
        """The commit fails (a read-only folder, a full disk) in the middle of moving the new
        files in, and is rolled back; killed at each step of that rollback (EROFS; the steps
        are the same for ENOSPC), the next run finishes it: one version, whole (the old one
        once the rollback is journaled)."""
        scene, v2, base, other = setup
        target = self._fresh(scene, base, "count-" + errno_name)
        _, counts = run_hooked(v2, target)
        fail_at = counts["move"] - 2  # new files in, the .dist-info not yet
        target = self._fresh(scene, base, "failed-" + errno_name)
        proc, failed = run_hooked(v2, target, FAIL_AT="move:%d" % fail_at,
                                  FAIL_ERRNO=errno_name)
        assert proc.returncode == 1, proc
        report = json.loads(proc.stdout)
        assert [p["code"] for p in report["problems"]] == ["not-writable"], report
        assert "pkg 1.0 is still installed" in report["problems"][0]["message"]
        assert_one_whole_version(target, "failed", ("1.0",))
        assert failed["move"] > fail_at and failed["phase"] == 4, failed
        if errno_name != "EROFS":
            return
        points = [("move", n) for n in range(fail_at + 1, failed["move"] + 1)] + [
            ("phase", n) for n in range(2, failed["phase"] + 1)] + [("rmtree", 1)]
        for index, (step, n) in enumerate(points):
            label = "%s-%s-%d" % (errno_name, step, n)
            target = self._fresh(scene, base, label)
            proc, _ = run_hooked(v2, target, KILL_AT="%s:%d" % (step, n),
                                 FAIL_AT="move:%d" % fail_at, FAIL_ERRNO=errno_name)
            assert proc.returncode == 77, (label, proc.stderr)
            # killed before the rollback is journaled (phase 2 writes it): forwards is right too
            allowed = ("1.0", "2.0") if (step, n) == ("phase", 2) else ("1.0",)
            self._rerun_and_check(target, other, label, allowed, pip=index % 6 == 0)

    def test_a_failure_while_moving_the_old_files_aside_rolls_back(self, setup):
        scene, v2, base, other = setup
        target = self._fresh(scene, base, "aside")
        proc, _ = run_hooked(v2, target, FAIL_AT="move:3")
        assert proc.returncode == 1, proc
        assert "pkg 1.0 is still installed" in proc.stdout
        assert_one_whole_version(target, "aside", ("1.0",))
        assert snapshot(str(target), skip=("__pycache__",)) == snapshot(
            str(base), skip=("__pycache__",))


# -- 6. overlays and conda-pack archives ---------------------------------------------------------


class TestModes:
    def test_an_overlay_is_never_made_over_a_folder_with_files(self, scene):
        """Its fix is the same install into an overlay beside it, every option kept; run
        verbatim, it installs there."""
        bundle = scene.folder("w")
        write_wheel(bundle, "pkg", "1.0")
        before = scene.snapshot()
        result = cli("install", str(bundle), "--overlay", str(scene.outside), "--no-verify",
                     "--work-dir", str(scene.work))
        assert_clean(result)
        problem = only_problem(result, "not-writable")
        assert "precious.txt" in problem["message"], problem
        beside = str(scene.outside) + "-overlay"
        assert problem["fix"] == {"where": "sandbox", "command": "python bootstrap.py install "
                                  "%s --work-dir %s --no-verify --overlay %s" % (
                                      bundle, scene.work, beside)}, problem
        assert scene.changes(before) == []
        shutil.copy(kit.BOOTSTRAP_PY, str(scene.root / "bootstrap.py"))
        done = kit.run_step(problem["fix"]["command"], scene.root)
        assert done.returncode == 0, done
        assert installed_versions(beside) == {"pkg": "1.0"}
        assert scene.changes(before, allowed=(os.path.basename(beside), "bootstrap.py")) == []

    def test_reset_removes_only_what_bootstrap_put_there(self, scene):
        bundle = scene.folder("w")
        write_wheel(bundle, "pkg", "1.0", files={"pkg/__init__.py": "", "pkg/sub/m.py": ""},
                    data={"scripts": {"pkg-tool": "#!/bin/sh\n"}})
        overlay = scene.root / "overlay"
        result = cli("install", str(bundle), "--overlay", str(overlay), "--work-dir",
                     str(scene.work))
        assert result.returncode == 0, result
        (overlay / "users-results.csv").write_text("1,2\n")
        (overlay / "pkg" / "users-notes.txt").write_text("mine\n")
        with open(str(overlay / "pkg-1.0.dist-info" / "RECORD"), "a") as f:  # another tool's
            f.write("../outside/precious.txt,,\n%s,,\n" % (scene.outside / "precious.txt"))
        before = {k: v for k, v in scene.snapshot().items() if not k.startswith("overlay")}
        proc = run([sys.executable, kit.BOOTSTRAP_PY, "overlay", "--reset", str(overlay),
                    "--json"])
        assert proc.returncode == 0, proc
        report = json.loads(proc.stdout)
        assert report["kept"] == [os.path.join("pkg", "users-notes.txt"), "users-results.csv"]
        left = {k for k in tree(overlay)}
        assert left == {"pkg", os.path.join("pkg", "users-notes.txt"), "users-results.csv"}
        assert (overlay / "users-results.csv").read_text() == "1,2\n"
        assert scene.changes(before, allowed=("overlay",)) == []
        # what is left is no longer an overlay: a second reset refuses it
        again = run([sys.executable, kit.BOOTSTRAP_PY, "overlay", "--reset", str(overlay)])
        assert again.returncode == 2 and "Traceback" not in again.stderr, again
        assert {k for k in tree(overlay)} == left

    def test_an_overlay_in_an_empty_folder_is_made_and_reset_whole(self, scene):
        bundle = scene.folder("w")
        write_wheel(bundle, "pkg", "1.0")
        overlay = scene.root / "empty"
        overlay.mkdir()
        result = cli("install", str(bundle), "--overlay", str(overlay), "--no-verify")
        assert result.returncode == 0, result
        proc = run([sys.executable, kit.BOOTSTRAP_PY, "overlay", "--reset", str(overlay)])
        assert proc.returncode == 0, proc
        assert not overlay.exists()

    def test_a_conda_pack_archive_is_never_unpacked_over_an_existing_folder(self, scene):
        prefix = scene.folder("prefix")
        for name, text in (("conda-meta/history", ""), ("bin/conda-unpack", "#!/bin/sh\n"),
                           ("bin/python", "#!/bin/sh\n"), ("precious.txt", "from the archive\n")):
            os.makedirs(str(prefix / os.path.dirname(name)), exist_ok=True)
            (prefix / name).write_text(text)
        archive = scene.root / "env.tar.gz"
        run(["tar", "-czf", str(archive), "-C", str(prefix), "."], check=True)
        before = scene.snapshot()
        result = cli("install", str(archive), "--target", str(scene.outside))
        assert_clean(result)
        problem = only_problem(result, "environment-failed")
        assert "already exists" in problem["message"], problem
        assert problem["fix"] == {
            "where": "sandbox", "before": "move %s away (or remove it)" % scene.outside,
            "command": "python bootstrap.py install %s --target %s" % (archive, scene.outside)}
        assert scene.changes(before) == []

    @pytest.mark.parametrize("kind,name,code", [
        ("tar.gz", "condaenv-1.0-py3-none-any.whl", "corrupt-archive"),
        ("zip", "condaenv-1.0-py3-none-any.whl", "invalid-wheel"),
        ("tar.gz", "condaenv-1.0-py3-none-any (1).whl", "corrupt-archive"),
    ])
    def test_a_file_named_whl_is_a_wheel_never_an_environment(self, scene, kind, name, code):
        """A conda-pack archive renamed *.whl is installed as a wheel (and refused as one):
        nothing is unpacked, neither into the target nor anywhere else."""
        prefix = scene.folder("prefix")
        for member, text in (("conda-meta/history", ""), ("bin/conda-unpack", "#!/bin/sh\n"),
                             ("bin/python", "#!/bin/sh\n")):
            os.makedirs(str(prefix / os.path.dirname(member)), exist_ok=True)
            (prefix / member).write_text(text)
        upload = scene.folder("uploads") / name
        if kind == "zip":
            run(["zip", "-qr", str(upload), "."], cwd=str(prefix), check=True)
        else:
            run(["tar", "-czf", str(upload), "-C", str(prefix), "."], check=True)
        result = install_refused(scene, upload, code)
        assert result.returncode == 2, result  # the upload is unreadable as what it says
        problem = result.report["problems"][0]
        assert problem["subject"] == "condaenv-1.0-py3-none-any.whl", problem
        assert "environments" not in result.report, result
        assert sorted(tree(scene.target)) == [], "nothing unpacked into the target"


class TestArguments:
    """Hostile arguments: a one-line usage error or a report, never a traceback."""

    @pytest.mark.parametrize("jobs", ["-1", "0"])
    def test_bad_jobs_are_one_line(self, scene, jobs):
        bundle = scene.folder("w")
        write_wheel(bundle, "pkg", "1.0")
        before = scene.snapshot()
        proc = run([sys.executable, kit.BOOTSTRAP_PY, "install", str(bundle), "--target",
                    str(scene.target), "--json", "--jobs", jobs])
        assert proc.returncode == 2, proc
        assert proc.stderr.startswith("bootstrap.py: error: --jobs"), proc.stderr
        assert len(proc.stderr.splitlines()) == 1, proc.stderr
        assert scene.changes(before, allowed=("site",)) == []
        assert installed_versions(str(scene.target)) == {}

    def test_a_work_dir_naming_a_file_is_not_writable(self, scene):
        bundle = scene.folder("w")
        write_wheel(bundle, "pkg", "1.0")
        (scene.root / "FILE").write_text("a file\n")
        before = scene.snapshot()
        result = cli("install", str(bundle), "--target", str(scene.target), "--work-dir",
                     str(scene.root / "FILE"))
        assert_clean(result)
        assert codes(result) == ["not-writable"], result
        assert result.returncode == 1
        assert scene.changes(before, allowed=("site",)) == []
        assert installed_versions(str(scene.target)) == {}

    def test_a_deleted_current_folder_is_no_traceback(self, scene):
        bundle = scene.folder("w")
        write_wheel(bundle, "pkg", "1.0")
        gone = scene.folder("gone")
        proc = subprocess.run(
            "cd %s && rmdir %s && exec %s %s install %s --target %s --no-verify --json" % (
                gone, gone, sys.executable, kit.BOOTSTRAP_PY, bundle, scene.target),
            shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True, env=clean_env())
        assert "Traceback" not in proc.stderr, proc.stderr
        assert proc.returncode == 0, proc
        assert installed_versions(str(scene.target)) == {"pkg": "1.0"}


# -- 7. hypothesis: hostile wheels and arguments --------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PARTS = st.sampled_from(["..", ".", "", "a", "pkg", "x" * 300, "C:", "\\..", "/",
                         ".bootstrap-staging", ".bootstrap.lock", ".sandbox-bootstrap-overlay",
                         "READY", "pkg-1.0.data", "scripts", "purelib", "data", "unknown",
                         "pkg-1.0.dist-info", "other-9.0.dist-info", "RECORD", "bin"])
NAMES = st.lists(PARTS, min_size=1, max_size=5).map("/".join)
CONTENT = st.one_of(st.binary(max_size=64), st.just(b"\0" * (1100 * 1024)))
RECORDS = st.sampled_from(["sha256", "sha512", "md5", "none", "garbage", "huge", "outside"])
ARGUMENTS = st.one_of(st.just([]), st.just(["--upgrade"]),
                      st.integers(-3, 2).map(lambda n: ["--jobs", str(n)]),
                      st.sampled_from(["-1", "0", "nan", "1e308"]).map(
                          lambda b: ["--budget", b]))
HOSTILE = settings(max_examples=30, deadline=None, derandomize=True,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                          HealthCheck.function_scoped_fixture])


def hostile_wheel(path, members, record, entry_points, wheel_version, metadata_version):
    dist_info = "pkg-1.0.dist-info"
    files = dict(basic_members("pkg", wheel_version=wheel_version))
    files[dist_info + "/METADATA"] = ("Metadata-Version: 2.1\nName: pkg\nVersion: %s\n\n"
                                      % metadata_version).encode()
    if entry_points:
        files[dist_info + "/entry_points.txt"] = ("[console_scripts]\n" + "".join(
            "%s = pkg:main\n" % name for name in entry_points)).encode()
    for name, data in members:
        files.setdefault(name, data)
    lines = []
    for name, data in files.items():
        algorithm = record if record in ("sha256", "sha512", "md5") else "sha256"
        digest = base64.urlsafe_b64encode(hashlib.new(algorithm, data).digest()).rstrip(b"=")
        lines.append("%s,%s=%s,%d" % (name, algorithm, digest.decode(), len(data)))
    text = "\n".join(lines) + "\n%s/RECORD,,\n" % dist_info
    if record == "none":
        text = ""
    elif record == "garbage":
        text = "\0\"," * 7
    elif record == "huge":
        text += "pkg/x.py,sha256=%s,1\n" % ("A" * 200000)
    elif record == "outside":
        text += "../../../../outside.txt,,\n"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr(dist_info + "/RECORD", text)


class TestHostile:
    @HOSTILE
    @given(members=st.lists(st.tuples(NAMES, CONTENT), max_size=4), record=RECORDS,
           entry_points=st.lists(NAMES, max_size=2),
           wheel_version=st.sampled_from(["1.0", "1.9", "2.0", "x"]),
           metadata_version=st.sampled_from(["1.0", "1.0", "2.0"]), arguments=ARGUMENTS)
    def test_hostile_wheels_and_arguments(self, tmp_path_factory, members, record,
                                          entry_points, wheel_version, metadata_version,
                                          arguments):
        base = tmp_path_factory.mktemp("hostile")
        area = base.joinpath("l1", "l2", "l3", "l4", "l5", "l6")
        uploads, site, work = area / "uploads", area / "site", area / "work"
        uploads.mkdir(parents=True)
        (base / "outside.txt").write_text("keep\n")
        hostile_wheel(str(uploads / "pkg-1.0-py3-none-any.whl"), members, record,
                      entry_points, wheel_version, metadata_version)

        def outside():
            return {k: v for k, v in snapshot(str(base)).items()
                    if not k.startswith((os.path.relpath(str(site), str(base)),
                                         os.path.relpath(str(work), str(base))))
                    and not k.endswith("site-activate.pth")}
        before = outside()
        proc = run([sys.executable, kit.BOOTSTRAP_PY, "install", str(uploads), "--target",
                    str(site), "--work-dir", str(work), "--no-verify", "--json"] + arguments)
        assert proc.returncode in (0, 1, 2), proc
        assert "Traceback" not in proc.stderr, proc.stderr
        if proc.stderr.startswith("bootstrap.py: error:"):  # a usage error: one line
            assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
        else:
            report = json.loads(proc.stdout)
            assert all(p["code"] in kit_codes() for p in report["problems"]), report
            assert (proc.returncode == 0) == (report["status"] == "ok"), report
        assert diff_trees(before, outside()) == []
        if site.exists():
            assert strictly_complete(str(site)) == []
        shutil.rmtree(str(base), ignore_errors=True)


def kit_codes():
    sys.path.insert(0, BOOTSTRAP_DIR)
    import bootstrap
    return bootstrap.PROBLEM_CODES


# -- Memory: what a member's compressed size lets it take ---------------------------------------
#: Runs an install in a fresh interpreter; with "workers", through extraction workers (forced:
#: the wheel has one member). The parent measures the peak RSS of it and its children.
MEMORY_DRIVER = r'''
import sys
sys.path.insert(0, sys.argv[1])
import bootstrap
outcomes, plain_outcome = [], bootstrap._worker_outcome
def outcome(value):  # what came back over a worker's pipe
    outcomes.append(value[0])
    return plain_outcome(value)
bootstrap._worker_outcome = outcome
if sys.argv[4] == "workers":
    bootstrap._WORKER_MEMBERS = 0
report = bootstrap.install([sys.argv[2]], target=sys.argv[3], verify=False, jobs=2,
                           progress=lambda *a: None)
assert report["status"] == "ok", report["problems"]
assert ("done" in outcomes) is (sys.argv[4] == "workers"), outcomes  # the path it names
'''


class TestMemory:
    """A deflated member is inflated a block at a time, however well it compresses: 1 MB of
    zeros read from the wheel is a gigabyte inflated. A 160 MB member of zeros (a 160 KB
    wheel) is installed whole, and no process of the install holds it in memory."""

    @pytest.mark.parametrize("mode", ["threads", "workers"])
    def test_a_member_that_compresses_well_is_inflated_in_blocks(self, tmp_path, mode):
        size = 160 * 1024 * 1024
        wheel = write_wheel(tmp_path / "wheels", "zeros", "1.0",
                            files={"zeros/__init__.py": "", "zeros/big.bin": b"\0" * size})
        assert os.path.getsize(str(wheel)) < 1024 * 1024
        target = tmp_path / "target"
        # Measured by a small launcher: a child forked from this process (which held the
        # 160 MB while making the wheel) would report this process's peak as its own.
        out = subprocess.run(
            [sys.executable, "-c", MEASURE, sys.executable, "-c", MEMORY_DRIVER,
             os.path.dirname(kit.BOOTSTRAP_PY), str(wheel), str(target), mode],
            env=kit.clean_env(), stdout=subprocess.PIPE, check=True, universal_newlines=True)
        status, peak_kb = json.loads(out.stdout)
        assert status == 0
        assert os.path.getsize(str(target / "zeros" / "big.bin")) == size
        assert peak_kb < 100 * 1024, peak_kb  # far below the 160 MB member


#: Runs argv[1:] and prints [exit status, peak RSS in KB of it and the children it waited for].
MEASURE = r'''
import json, os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(proc.pid, 0)
print(json.dumps([os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode")
                  else status >> 8, usage.ru_maxrss]))
'''
