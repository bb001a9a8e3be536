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


# -- 1. the gate --------------------------------------------------------------------------------


class TestGate:
    def test_entry_point_name_with_parents_is_refused(self, scene):
        bundle = scene.folder("w")
        write_wheel(bundle, "evil", "1.0", entry_points={
            "console_scripts": {"../../outside/x": "evil:main"}})
        before = scene.snapshot()
        result = scene.install(bundle)
        assert codes(result) == ["unsafe-archive-member"], result
        assert result.returncode == 2
        assert "entry point name" in result.report["problems"][0]["message"]
        assert scene.changes(before, allowed=("site",)) == []
        assert installed_versions(str(scene.target)) == {}

    @pytest.mark.parametrize("name", ["/tmp/evil-abs", "sub/x", "..", ".bootstrap-staging"])
    def test_other_entry_point_names_are_refused(self, scene, name):
        bundle = scene.folder("w")
        write_wheel(bundle, "evil", "1.0", entry_points={"gui_scripts": {name: "evil:main"}})
        before = scene.snapshot()
        result = scene.install(bundle)
        assert codes(result) == ["unsafe-archive-member"], result
        assert scene.changes(before, allowed=("site",)) == []
        assert not os.path.exists("/tmp/evil-abs")

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
        before = scene.snapshot()
        result = scene.install(bundle)
        assert codes(result) == ["unsafe-archive-member"], result
        assert "RECORD entry" in result.report["problems"][0]["message"]
        assert scene.changes(before, allowed=("site",)) == []
        assert installed_versions(str(scene.target)) == {}

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
        before = scene.snapshot()
        result = scene.install(bundle)
        assert codes(result) == [code], result
        assert result.returncode == 2
        assert scene.changes(before, allowed=("site",)) == []
        assert installed_versions(str(scene.target)) == {}


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
        before = scene.snapshot()
        result = scene.install(bundle)
        assert codes(result) == ["invalid-wheel"], result
        assert ".dist-info" in result.report["problems"][0]["message"]
        assert scene.changes(before, allowed=("site",)) == []
        assert installed_versions(str(scene.target)) == {}

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
        before = scene.snapshot()
        result = scene.install(bundle)
        assert codes(result) == [code], result
        assert result.returncode == 2
        assert scene.changes(before, allowed=("site",)) == []
        assert installed_versions(str(scene.target)) == {}

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
