"""Bundle intake: what users upload, and a corpus of hostile and broken archives.

Every archive here is built in the test with tarfile/zipfile. Each hostile or broken upload
must be refused with the right problem code, naming the upload, with nothing written outside
the work folder (a snapshot of the whole test folder, work folder excluded, is taken before
and compared after) and nothing installed. Good uploads in every accepted shape (formats,
content sniffing, nested archives, split parts, folders, several bundles) must be read.

The layout of each test::

    tmp_path/uploads/...        what the user uploaded
    tmp_path/sandbox/work/      the work folder given to bootstrap (check() makes its own
                                temporary folder inside it and removes it afterwards)

Escaping members aim at ``tmp_path`` (watched by the snapshot) and at its parent (checked by
name), never at system folders.
"""
import bz2
import gzip
import io
import lzma
import os
import stat
import tarfile
import zipfile

import pytest

import bootstrap
from checkkit import (problem_codes, site_packages_snapshot, tar_bytes, tar_info, tree,
                      write_tar, write_zip, zip_info)

UNSAFE = "unsafe-archive-member"
CORRUPT = "corrupt-archive"
HTML = b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body>gone</body></html>\n"
ESCAPE = "PWNED"  # the name every escaping member tries to create
SMALL = bootstrap.IntakeLimits(max_total=64 * 1024, max_ratio=10, ratio_floor=4 * 1024)


class Area(object):
    """The folders of one test, and the snapshot that proves nothing escaped."""

    def __init__(self, root):
        self.root = root
        self.uploads = root / "uploads"
        self.work = root / "sandbox" / "work"
        self.uploads.mkdir()
        self.work.mkdir(parents=True)
        self._before = None
        self._site = None

    def path(self, name):
        return self.uploads / name

    def write(self, name, data):
        path = self.path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def start(self):
        self._before = tree(self.root, exclude=[self.work])
        self._site = site_packages_snapshot()

    def assert_nothing_escaped(self):
        assert tree(self.root, exclude=[self.work]) == self._before
        for folder in (self.root, self.root.parent, self.uploads):
            for name in os.listdir(str(folder)):
                assert not name.startswith(ESCAPE), os.path.join(str(folder), name)
        assert site_packages_snapshot() == self._site


@pytest.fixture
def area(tmp_path):
    return Area(tmp_path)


@pytest.fixture
def wheels(make_wheel):
    """Three small real wheels: alpha (needs beta), beta, gamma."""
    return [
        make_wheel("zz-alpha", "1.0", requires=["zz-beta>=1"]),
        make_wheel("zz-beta", "1.2"),
        make_wheel("zz-gamma", "2.0"),
    ]


def names_of(report):
    return sorted(item["name"] for item in report["would_install"])


def wheels_with_entries(folder, wheels):
    """Copy ``wheels`` into FOLDER/wheels; their manifest "files" entries (path, size, sha256)."""
    import hashlib
    (folder / "wheels").mkdir(parents=True)
    entries = []
    for wheel in wheels:
        data = wheel.read_bytes()
        (folder / "wheels" / wheel.name).write_bytes(data)
        entries.append({"path": "wheels/" + wheel.name, "size": len(data),
                        "sha256": hashlib.sha256(data).hexdigest()})
    return entries


def wheel_files(paths):
    return dict((path.name, path) for path in paths)


def ups(levels):
    return "../" * levels


# -- the corpus --------------------------------------------------------------------------------
# Each builder makes one upload in area.uploads and returns its path. The tables say which
# problem code each one must get.


def _tar(area, name, members, mode="w:gz"):
    return write_tar(area.path(name), members, mode)


def _zip(area, name, members, compression=zipfile.ZIP_DEFLATED):
    return write_zip(area.path(name), members, compression)


UNSAFE_TARS = {
    "absolute-path": lambda a: [tar_info(str(a.root / ESCAPE), b"owned")],
    "dotdot-1": lambda a: [tar_info(ups(1) + ESCAPE, b"owned")],
    "dotdot-3": lambda a: [tar_info(ups(3) + ESCAPE, b"owned")],
    "dotdot-4": lambda a: [tar_info(ups(4) + ESCAPE, b"owned")],
    "dotdot-5": lambda a: [tar_info(ups(5) + ESCAPE, b"owned")],
    "dotdot-inside-path": lambda a: [tar_info("wheels/" + ups(5) + ESCAPE, b"owned")],
    "dotdot-after-good-member": lambda a: [tar_info("wheels/ok.txt", b"ok"),
                                           tar_info(ups(4) + ESCAPE, b"owned")],
    "symlink-absolute": lambda a: [tar_info("link", kind=tarfile.SYMTYPE,
                                            linkname=str(a.root))],
    "symlink-relative-out": lambda a: [tar_info("sub/link", kind=tarfile.SYMTYPE,
                                                linkname=ups(6))],
    "symlink-to-system-file": lambda a: [tar_info("passwd", kind=tarfile.SYMTYPE,
                                                  linkname="/etc/passwd")],
    "hardlink-out": lambda a: [tar_info("link", kind=tarfile.LNKTYPE,
                                        linkname=ups(4) + "uploads/x")],
    "hardlink-absolute": lambda a: [tar_info("link", kind=tarfile.LNKTYPE,
                                             linkname="/etc/passwd")],
    "write-through-symlink": lambda a: [
        tar_info("escape", kind=tarfile.SYMTYPE, linkname=str(a.root)),
        tar_info("escape/" + ESCAPE, b"owned")],
    "write-through-relative-symlink": lambda a: [
        tar_info("escape", kind=tarfile.SYMTYPE, linkname=ups(4)),
        tar_info("escape/" + ESCAPE, b"owned")],
    "character-device": lambda a: [tar_info("dev/null", kind=tarfile.CHRTYPE)],
    "block-device": lambda a: [tar_info("dev/sda", kind=tarfile.BLKTYPE)],
    "fifo": lambda a: [tar_info("pipe", kind=tarfile.FIFOTYPE)],
    "duplicate-member": lambda a: [tar_info("wheels/a.txt", b"first"),
                                   tar_info("wheels/a.txt", b"second")],
    "duplicate-spelled-differently": lambda a: [tar_info("wheels/a.txt", b"first"),
                                                tar_info("./wheels//a.txt", b"second")],
    "directory-overwrites-file": lambda a: [tar_info("wheels/a", b"a file"),
                                            tar_info("wheels/a/b.txt", b"under it")],
    "file-overwrites-directory": lambda a: [tar_info("wheels/a/", kind=tarfile.DIRTYPE),
                                            tar_info("wheels/a", b"a file")],
    "file-overwrites-implied-directory": lambda a: [tar_info("wheels/a/b.txt", b"under a"),
                                                    tar_info("wheels/a", b"a file")],
}

UNSAFE_ZIPS = {
    "absolute-path": lambda a: [(str(a.root / ESCAPE), b"owned")],
    "dotdot-1": lambda a: [(ups(1) + ESCAPE, b"owned")],
    "dotdot-4": lambda a: [(ups(4) + ESCAPE, b"owned")],
    "dotdot-backslashes": lambda a: [("..\\..\\..\\..\\" + ESCAPE, b"owned")],
    "drive-letter": lambda a: [("C:/" + ESCAPE, b"owned")],
    "drive-relative": lambda a: [("C:" + ESCAPE, b"owned")],
    "symlink-out": lambda a: [(zip_info("link", stat.S_IFLNK | 0o777),
                               str(a.root).encode())],
    "symlink-relative-out": lambda a: [(zip_info("link", stat.S_IFLNK | 0o777),
                                        ups(6).encode())],
    "write-through-symlink": lambda a: [
        (zip_info("escape", stat.S_IFLNK | 0o777), str(a.root).encode()),
        ("escape/" + ESCAPE, b"owned")],
    "character-device": lambda a: [(zip_info("dev/null", stat.S_IFCHR | 0o644), b"")],
    "fifo": lambda a: [(zip_info("pipe", stat.S_IFIFO | 0o644), b"")],
    "duplicate-member": lambda a: [("wheels/a.txt", b"first"), ("wheels/a.txt", b"second")],
    "directory-overwrites-file": lambda a: [("wheels/a", b"a file"),
                                            ("wheels/a/b.txt", b"under it")],
    "file-overwrites-implied-directory": lambda a: [("wheels/a/b.txt", b"under a"),
                                                    ("wheels/a", b"a file")],
}


def _truncated(data, keep):
    return data[:keep]


def _tar_gz_of_wheels(make_wheel):
    """A tar.gz of three incompressible wheels, and the member offsets of its plain tar."""
    files = {}
    for name in ("zz-one", "zz-two", "zz-three"):
        path = make_wheel(name, "1.0", files={name.replace("-", "_") + "/blob.bin":
                                              os.urandom(16 * 1024)})
        files["wheels/" + path.name] = path
    return files


def _tar_member_boundary(files):
    """A plain tar cut exactly where its second member starts (whole members lost)."""
    data = tar_bytes(files, mode="w")
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        offsets = [member.offset for member in archive]
    return data[:offsets[1]]


def _zip_of(files, compression):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name in sorted(files):
            info = zip_info(name)
            info.compress_type = compression
            archive.writestr(info, files[name].read_bytes())
    return buffer.getvalue()


BROKEN = {
    # name: (file name, builder(files) -> bytes, what the message must say)
    "tar.gz-cut-in-half": ("bundle.tar.gz", lambda f: _truncated(tar_bytes(f), len(tar_bytes(f)) // 2),
                           "truncated"),
    "tar.gz-without-gzip-trailer": ("bundle.tar.gz", lambda f: tar_bytes(f)[:-8], ""),
    "tar-cut-at-member-boundary": ("bundle.tar", _tar_member_boundary, ""),
    "tar.bz2-cut": ("bundle.tar.bz2", lambda f: tar_bytes(f, "w:bz2")[:-200], ""),
    "tar.xz-cut": ("bundle.tar.xz", lambda f: tar_bytes(f, "w:xz")[:-200], ""),
    "zip-cut-in-half": ("bundle.zip", lambda f: _zip_of(f, zipfile.ZIP_DEFLATED)[:20000], ""),
    "zip-without-directory-end": ("bundle.zip", lambda f: _zip_of(f, zipfile.ZIP_DEFLATED)[:-30],
                                  ""),
    "stored-zip-without-directory-end": ("bundle.zip",
                                         lambda f: _zip_of(f, zipfile.ZIP_STORED)[:-30], ""),
    "html-named-tar.gz": ("bundle.tar.gz", lambda f: HTML, "HTML"),
    "html-named-zip": ("bundle.zip", lambda f: HTML, "HTML"),
    "html-named-whl": ("zz_one-1.0-py3-none-any.whl", lambda f: HTML, "HTML"),
    "empty-tar.gz": ("bundle.tar.gz", lambda f: b"", "empty"),
    "empty-zip": ("bundle.zip", lambda f: b"", "empty"),
    "empty-whl": ("zz_one-1.0-py3-none-any.whl", lambda f: b"", "empty"),
    "cut-whl": ("zz_one-1.0-py3-none-any.whl",
                lambda f: f["wheels/zz_one-1.0-py3-none-any.whl"].read_bytes()[:5000], ""),
    "gzip-of-text": ("bundle.tar.gz", lambda f: gzip.compress(b"not a tar\n" * 200), ""),
    "bz2-of-text": ("bundle.tar.bz2", lambda f: bz2.compress(b"not a tar\n" * 200), ""),
    "xz-of-text": ("bundle.tar.xz", lambda f: lzma.compress(b"not a tar\n" * 200), ""),
    "random-bytes": ("bundle.tar.gz", lambda f: bytes(range(256)) * 8, ""),
}


def _only_problem_names_upload(report, code, upload):
    matching = [p for p in report["problems"] if p["code"] == code]
    assert matching, report["problems"]
    assert any(os.path.basename(str(upload)) in p["subject"] + p["message"] for p in matching), \
        matching
    for problem in matching:
        assert problem["fix"]["command"], problem


def _assert_refused_by_check(area, upload, code, words=""):
    area.start()
    report = bootstrap.check([str(upload)], work_dir=str(area.work))
    assert code in problem_codes(report), report["problems"]
    _only_problem_names_upload(report, code, upload)
    if words:
        assert any(words.lower() in p["message"].lower() for p in report["problems"]), \
            report["problems"]
    assert report["status"] == "failed"
    assert report.exit_code == 2
    assert report["installed"] == []
    assert report["would_install"] == []
    area.assert_nothing_escaped()
    assert os.listdir(str(area.work)) == []  # check's temporary folder is gone
    return report


# -- hostile archives ----------------------------------------------------------------------------


class TestHostileTar:
    @pytest.mark.parametrize("mode,suffix", [("w:gz", ".tar.gz"), ("w", ".tar")])
    @pytest.mark.parametrize("case", sorted(UNSAFE_TARS))
    def test_check_refuses(self, area, case, mode, suffix):
        upload = _tar(area, "evil_" + case.replace("-", "_") + suffix, UNSAFE_TARS[case](area), mode)
        _assert_refused_by_check(area, upload, UNSAFE)

    @pytest.mark.parametrize("case", sorted(UNSAFE_TARS))
    def test_extract_archive_raises_unsafe_member(self, area, case):
        upload = _tar(area, "evil.tar.gz", UNSAFE_TARS[case](area))
        area.start()
        with pytest.raises(bootstrap.UnsafeMemberError) as caught:
            bootstrap.extract_archive(str(upload), str(area.work / "out"))
        assert caught.value.code == UNSAFE
        assert "evil.tar.gz" in str(caught.value)
        area.assert_nothing_escaped()

    @pytest.mark.parametrize("case", sorted(UNSAFE_TARS))
    def test_open_bundle_collects_the_problem(self, area, case):
        upload = _tar(area, "evil.tar.gz", UNSAFE_TARS[case](area))
        area.start()
        bundle = bootstrap.open_bundle([str(upload)], str(area.work))
        assert [p.code for p in bundle.problems] == [UNSAFE]
        assert bundle.wheels == []
        area.assert_nothing_escaped()

    def test_refusal_names_the_member(self, area):
        upload = _tar(area, "evil.tar.gz", [tar_info(ups(3) + "PWNED-member", b"x")])
        report = bootstrap.check([str(upload)], work_dir=str(area.work))
        assert "PWNED-member" in report["problems"][0]["message"]

    def test_hostile_member_after_wheels_still_refuses_whole_upload(self, area, wheels):
        members = [tar_info("wheels/" + w.name, w.read_bytes()) for w in wheels]
        members.append(tar_info(ups(4) + ESCAPE, b"owned"))
        upload = _tar(area, "bundle.tar.gz", members)
        _assert_refused_by_check(area, upload, UNSAFE)


class TestHostileZip:
    @pytest.mark.parametrize("case", sorted(UNSAFE_ZIPS))
    def test_check_refuses(self, area, case):
        upload = _zip(area, "evil_" + case.replace("-", "_") + ".zip", UNSAFE_ZIPS[case](area))
        _assert_refused_by_check(area, upload, UNSAFE)

    @pytest.mark.parametrize("case", sorted(UNSAFE_ZIPS))
    def test_extract_archive_raises_unsafe_member(self, area, case):
        upload = _zip(area, "evil.zip", UNSAFE_ZIPS[case](area))
        area.start()
        with pytest.raises(bootstrap.UnsafeMemberError) as caught:
            bootstrap.extract_archive(str(upload), str(area.work / "out"))
        assert caught.value.code == UNSAFE
        area.assert_nothing_escaped()


class TestLinks:
    def test_link_inside_the_folder_is_skipped_and_noted(self, area, wheels):
        upload = _tar(area, "bundle.tar.gz", [
            tar_info("wheels/" + wheels[1].name, wheels[1].read_bytes()),
            tar_info("wheels/latest.whl", kind=tarfile.SYMTYPE, linkname=wheels[1].name)])
        area.start()
        notes = bootstrap.extract_archive(str(upload), str(area.work / "out"))
        assert any("latest.whl" in note for note in notes), notes
        for directory, subdirs, files in os.walk(str(area.work)):
            for name in subdirs + files:
                assert not os.path.islink(os.path.join(directory, name)), name
        area.assert_nothing_escaped()

    def test_many_links_make_one_note(self, area, wheels):
        links = [tar_info("wheels/link-%d.whl" % i, kind=tarfile.SYMTYPE,
                          linkname=wheels[1].name) for i in range(40)]
        upload = _tar(area, "bundle.tar.gz", [
            tar_info("wheels/" + wheels[1].name, wheels[1].read_bytes())] + links)
        notes = bootstrap.extract_archive(str(upload), str(area.work / "out"))
        assert len(notes) == 6, notes
        assert notes[-1].startswith("skipped 35 more links in ")

    def test_no_symlink_is_ever_created(self, area):
        upload = _tar(area, "bundle.tar.gz", [
            tar_info("sub/", kind=tarfile.DIRTYPE),
            tar_info("alias", kind=tarfile.SYMTYPE, linkname="sub"),
            tar_info("alias/file.txt", b"data")])
        area.start()
        try:
            bootstrap.extract_archive(str(upload), str(area.work / "out"))
        except bootstrap.UnsafeMemberError:
            pass  # refusing a write through a link is also right
        for directory, subdirs, files in os.walk(str(area.work)):
            for name in subdirs + files:
                assert not os.path.islink(os.path.join(directory, name)), name
        area.assert_nothing_escaped()


# -- decompression bombs ---------------------------------------------------------------------------


class _Zeros(io.RawIOBase):
    """A readable stream of ``size`` zero bytes, never held in memory at once."""

    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        count = min(len(buffer), self.left)
        buffer[:count] = b"\0" * count
        self.left -= count
        return count


def zeros_tar_gz(path, size):
    with tarfile.open(str(path), "w:gz", format=tarfile.GNU_FORMAT) as archive:
        info = tarfile.TarInfo("wheels/zeros.bin")
        info.size = size
        archive.addfile(info, io.BufferedReader(_Zeros(size)))
    return path


def zeros_zip(path, size):
    with zipfile.ZipFile(str(path), "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open(zip_info("wheels/zeros.bin"), "w", force_zip64=True) as out:
            block = b"\0" * (1 << 20)
            left = size
            while left:
                out.write(block[:min(left, len(block))])
                left -= min(left, len(block))
    return path


DEFAULT_BOMB_SIZE = 72 * 1024 * 1024  # past the 64 MB floor, ~1000x its compressed size


class TestBombs:
    @pytest.mark.parametrize("builder", [zeros_tar_gz, zeros_zip], ids=["tar.gz", "zip"])
    def test_ratio_limit(self, area, builder):
        upload = builder(area.path("bomb" + (".zip" if builder is zeros_zip else ".tar.gz")),
                         SMALL.ratio_floor * 3)
        area.start()
        with pytest.raises(bootstrap.UnsafeMemberError) as caught:
            bootstrap.extract_archive(str(upload), str(area.work / "out"), limits=SMALL)
        assert caught.value.code == UNSAFE
        assert "bomb" in str(caught.value)
        area.assert_nothing_escaped()

    @pytest.mark.parametrize("builder", [zeros_tar_gz, zeros_zip], ids=["tar.gz", "zip"])
    def test_total_limit(self, area, builder):
        limits = bootstrap.IntakeLimits(max_total=32 * 1024, max_ratio=10 ** 9, ratio_floor=0)
        upload = builder(area.path("big" + (".zip" if builder is zeros_zip else ".tar.gz")),
                         40 * 1024)
        area.start()
        with pytest.raises(bootstrap.UnsafeMemberError) as caught:
            bootstrap.extract_archive(str(upload), str(area.work / "out"), limits=limits)
        assert "bomb" in str(caught.value)
        area.assert_nothing_escaped()

    def test_total_limit_counts_every_member(self, area):
        limits = bootstrap.IntakeLimits(max_total=32 * 1024, max_ratio=10 ** 9, ratio_floor=0)
        members = [tar_info("part-%d.bin" % i, os.urandom(8 * 1024)) for i in range(6)]
        upload = _tar(area, "many.tar.gz", members)
        area.start()
        with pytest.raises(bootstrap.UnsafeMemberError):
            bootstrap.extract_archive(str(upload), str(area.work / "out"), limits=limits)
        area.assert_nothing_escaped()

    def test_zip_bomb_refused_before_writing(self, area):
        upload = zeros_zip(area.path("bomb.zip"), SMALL.ratio_floor * 3)
        with pytest.raises(bootstrap.UnsafeMemberError):
            bootstrap.extract_archive(str(upload), str(area.work / "out"), limits=SMALL)
        assert not (area.work / "out" / "wheels" / "zeros.bin").exists()

    def test_open_bundle_with_limits_reports_bomb(self, area):
        upload = zeros_tar_gz(area.path("bomb.tar.gz"), SMALL.ratio_floor * 3)
        area.start()
        bundle = bootstrap.open_bundle([str(upload)], str(area.work), limits=SMALL)
        assert [p.code for p in bundle.problems] == [UNSAFE]
        area.assert_nothing_escaped()

    def test_archive_within_limits_is_read(self, area, wheels):
        upload = area.write("bundle.tar.gz", tar_bytes(wheel_files(wheels)))
        limits = bootstrap.IntakeLimits(max_total=10 * 1024 * 1024, max_ratio=10,
                                        ratio_floor=1024 * 1024)
        bootstrap.extract_archive(str(upload), str(area.work / "out"), limits=limits)
        assert sorted(os.listdir(str(area.work / "out"))) == sorted(w.name for w in wheels)

    @pytest.mark.parametrize("builder", [zeros_tar_gz, zeros_zip], ids=["tar.gz", "zip"])
    def test_default_ratio_limit_in_check(self, area, builder):
        upload = builder(area.path("bomb" + (".zip" if builder is zeros_zip else ".tar.gz")),
                         DEFAULT_BOMB_SIZE)
        report = _assert_refused_by_check(area, upload, UNSAFE, "bomb")
        ratio = str(bootstrap.DEFAULT_LIMITS.max_ratio)
        assert ratio in report["problems"][0]["message"]  # the ratio that was exceeded

    def test_free_space_is_checked_before_extracting(self, area, wheels, monkeypatch):
        upload = area.write("bundle.zip", _zip_of(wheel_files(wheels), zipfile.ZIP_DEFLATED))

        class Full(object):
            f_bavail = 1
            f_frsize = 512

        monkeypatch.setattr(bootstrap.os, "statvfs", lambda path: Full())
        area.start()
        bundle = bootstrap.open_bundle([str(upload)], str(area.work))
        monkeypatch.undo()
        assert len(bundle.problems) == 1
        assert "free" in bundle.problems[0].message
        assert bundle.wheels == []
        for directory, subdirs, files in os.walk(str(area.work)):
            assert not [f for f in files if f.endswith(".whl")], files
        area.assert_nothing_escaped()


# -- broken uploads ---------------------------------------------------------------------------------


class TestBroken:
    @pytest.mark.parametrize("case", sorted(BROKEN))
    def test_check_reports_corrupt_archive(self, area, make_wheel, case):
        name, builder, words = BROKEN[case]
        upload = area.write(name, builder(_tar_gz_of_wheels(make_wheel)))
        _assert_refused_by_check(area, upload, CORRUPT, words)

    @pytest.mark.parametrize("case", sorted(c for c in BROKEN if not BROKEN[c][0].endswith(".whl")))
    def test_extract_archive_raises_archive_error(self, area, make_wheel, case):
        name, builder, words = BROKEN[case]
        upload = area.write(name, builder(_tar_gz_of_wheels(make_wheel)))
        area.start()
        with pytest.raises(bootstrap.ArchiveError) as caught:
            bootstrap.extract_archive(str(upload), str(area.work / "out"))
        assert caught.value.code == CORRUPT
        assert name in str(caught.value)
        area.assert_nothing_escaped()

    def test_broken_upload_next_to_good_one_names_only_the_broken(self, area, wheels):
        good = area.write("good.tar.gz", tar_bytes(wheel_files(wheels)))
        bad = area.write("bad.tar.gz", tar_bytes(wheel_files(wheels))[:300])
        report = bootstrap.check([str(good), str(bad)], work_dir=str(area.work))
        corrupt = [p for p in report["problems"] if p["code"] == CORRUPT]
        assert len(corrupt) == 1
        assert "bad.tar.gz" in corrupt[0]["subject"]
        assert "good.tar.gz" not in corrupt[0]["message"]
        assert report.exit_code == 2

    def test_fix_says_to_upload_the_file_again(self, area):
        upload = area.write("bundle.tar.gz", HTML)
        report = bootstrap.check([str(upload)], work_dir=str(area.work))
        fix = report["problems"][0]["fix"]
        assert fix["where"] == "online"
        assert "bundle.tar.gz" in fix["command"]

    def test_manifest_hash_mismatch(self, area, wheels):
        import json
        folder = area.uploads / "bundle"
        entries = wheels_with_entries(folder, wheels)
        tampered = folder / "wheels" / wheels[2].name
        data = bytearray(tampered.read_bytes())
        data[100] ^= 0xFF
        tampered.write_bytes(bytes(data))
        (folder / "manifest.json").write_text(json.dumps(
            {"schema": "sandbox-bootstrap.bundle/1", "roots": ["zz-alpha", "zz-gamma"],
             "files": entries}))
        report = bootstrap.check([str(folder)], work_dir=str(area.work))
        mismatch = [p for p in report["problems"] if p["code"] == "hash-mismatch"]
        assert [p["subject"] for p in mismatch] == ["wheels/" + wheels[2].name]
        assert names_of(report) == ["zz-alpha", "zz-beta"]
        assert report.exit_code == 2

    def test_manifest_lists_a_missing_file(self, area, wheels):
        import json
        folder = area.uploads / "bundle"
        folder.mkdir()
        (folder / wheels[0].name).write_bytes(wheels[0].read_bytes())
        (folder / "manifest.json").write_text(json.dumps(
            {"schema": "sandbox-bootstrap.bundle/1", "roots": ["zz-alpha"],
             "files": [{"path": wheels[0].name}, {"path": wheels[1].name}]}))
        report = bootstrap.check([str(folder)], work_dir=str(area.work))
        assert any(p["code"] == CORRUPT and wheels[1].name in p["subject"]
                   for p in report["problems"]), report["problems"]


# -- what users upload, in every accepted shape ------------------------------------------------


FORMATS = {
    ".tar.gz": lambda f: tar_bytes(f, "w:gz"),
    ".tgz": lambda f: tar_bytes(f, "w:gz"),
    ".tar.bz2": lambda f: tar_bytes(f, "w:bz2"),
    ".tar.xz": lambda f: tar_bytes(f, "w:xz"),
    ".tar": lambda f: tar_bytes(f, "w"),
    ".zip": lambda f: _zip_of(f, zipfile.ZIP_DEFLATED),
}


class TestAccepted:
    @pytest.mark.parametrize("suffix", sorted(FORMATS))
    def test_every_archive_format(self, area, wheels, suffix):
        upload = area.write("bundle" + suffix, FORMATS[suffix](wheel_files(wheels)))
        report = bootstrap.check([str(upload)], work_dir=str(area.work))
        assert report["problems"] == []
        assert names_of(report) == ["zz-alpha", "zz-beta", "zz-gamma"]
        assert report.exit_code == 0

    @pytest.mark.parametrize("name,suffix", [("bundle.tar.gz", ".zip"), ("bundle.zip", ".tar.gz"),
                                             ("bundle.tgz", ".tar.bz2"), ("upload", ".tar.gz"),
                                             ("file-abc123", ".zip")])
    def test_content_decides_not_the_name(self, area, wheels, name, suffix):
        upload = area.write(name, FORMATS[suffix](wheel_files(wheels)))
        report = bootstrap.check([str(upload)], work_dir=str(area.work))
        assert report["problems"] == []
        assert names_of(report) == ["zz-alpha", "zz-beta", "zz-gamma"]

    def test_single_wheel(self, area, wheels):
        report = bootstrap.check([str(wheels[2])], work_dir=str(area.work))
        assert names_of(report) == ["zz-gamma"]
        assert report.ok

    def test_folder(self, area, wheels):
        folder = area.uploads / "pip-download"
        (folder / "nested").mkdir(parents=True)
        (folder / wheels[0].name).write_bytes(wheels[0].read_bytes())
        (folder / "nested" / wheels[1].name).write_bytes(wheels[1].read_bytes())
        (folder / "README.txt").write_text("not a wheel")
        report = bootstrap.check([str(folder)], work_dir=str(area.work))
        assert report["problems"] == []
        assert names_of(report) == ["zz-alpha", "zz-beta"]

    def test_folder_upload_is_left_untouched(self, area, wheels):
        folder = area.uploads / "pip-download"
        folder.mkdir()
        (folder / "inner.tar.gz").write_bytes(tar_bytes(wheel_files(wheels)))
        before = tree(area.root, exclude=[area.work])
        report = bootstrap.check([str(folder)], work_dir=str(area.work))
        assert names_of(report) == ["zz-alpha", "zz-beta", "zz-gamma"]
        assert tree(area.root, exclude=[area.work]) == before

    def test_zip_holding_tar_gz_of_wheels(self, area, wheels):
        inner = tar_bytes(dict(("wheels/" + w.name, w) for w in wheels))
        upload = area.write("download.zip", b"")
        write_zip(upload, [("bundle/bundle.tar.gz", inner), ("bundle/README.txt", b"hi")])
        report = bootstrap.check([str(upload)], work_dir=str(area.work))
        assert report["problems"] == []
        assert names_of(report) == ["zz-alpha", "zz-beta", "zz-gamma"]

    def test_zip_from_python_writestr_is_read(self, area, wheels):
        """zipfile.writestr(name, data) stores mode 0o600 with no file-type bits: a plain file."""
        upload = area.path("download.zip")
        with zipfile.ZipFile(str(upload), "w") as archive:
            for wheel in wheels:
                archive.writestr("wheels/" + wheel.name, wheel.read_bytes())
        report = bootstrap.check([str(upload)], work_dir=str(area.work))
        assert report["problems"] == []
        assert names_of(report) == ["zz-alpha", "zz-beta", "zz-gamma"]

    def test_zip_without_unix_modes_is_read(self, area, wheels):
        upload = area.path("windows.zip")
        with zipfile.ZipFile(str(upload), "w") as archive:
            for wheel in wheels:
                info = zipfile.ZipInfo("wheels/" + wheel.name, date_time=(2020, 1, 1, 0, 0, 0))
                info.create_system = 0
                info.external_attr = 0x20  # MS-DOS "archive" attribute
                archive.writestr(info, wheel.read_bytes())
        report = bootstrap.check([str(upload)], work_dir=str(area.work))
        assert report["problems"] == []
        assert names_of(report) == ["zz-alpha", "zz-beta", "zz-gamma"]

    def test_three_levels_of_nesting(self, area, wheels):
        level1 = tar_bytes(wheel_files(wheels))
        level2 = tar_bytes({"inner.tar.gz": level1})
        upload = area.write("outer.zip", b"")
        write_zip(upload, [("middle.tar.gz", level2)])
        report = bootstrap.check([str(upload)], work_dir=str(area.work))
        assert report["problems"] == []
        assert names_of(report) == ["zz-alpha", "zz-beta", "zz-gamma"]

    def test_nesting_too_deep_is_refused(self, area, wheels):
        data = tar_bytes(wheel_files(wheels))
        for level in range(8):
            data = tar_bytes({"level-%d.tar.gz" % level: data})
        upload = area.write("deep.tar.gz", data)
        area.start()
        report = bootstrap.check([str(upload)], work_dir=str(area.work))
        assert UNSAFE in problem_codes(report)
        assert report["would_install"] == []
        area.assert_nothing_escaped()

    def test_several_bundles_at_once(self, area, make_wheel, wheels):
        extra = make_wheel("zz-delta", "0.5")
        folder = area.uploads / "folder"
        folder.mkdir()
        (folder / extra.name).write_bytes(extra.read_bytes())
        archive = area.write("ab.tar.gz", tar_bytes(wheel_files(wheels[:2])))
        zipped = area.write("c.zip", _zip_of(wheel_files(wheels[2:]), zipfile.ZIP_DEFLATED))
        report = bootstrap.check([str(archive), str(zipped), str(folder)],
                                 work_dir=str(area.work))
        assert report["problems"] == []
        assert names_of(report) == ["zz-alpha", "zz-beta", "zz-delta", "zz-gamma"]

    def test_same_wheel_in_two_bundles(self, area, wheels):
        first = area.write("one.tar.gz", tar_bytes(wheel_files(wheels)))
        second = area.write("two.zip", _zip_of(wheel_files(wheels), zipfile.ZIP_DEFLATED))
        report = bootstrap.check([str(first), str(second)], work_dir=str(area.work))
        assert report["problems"] == []
        assert names_of(report) == ["zz-alpha", "zz-beta", "zz-gamma"]

    def test_open_bundle_lists_wheels(self, area, wheels):
        upload = area.write("bundle.tar.gz", tar_bytes(wheel_files(wheels)))
        bundle = bootstrap.open_bundle([str(upload)], str(area.work))
        assert bundle.problems == []
        assert sorted(os.path.basename(f.path) for f in bundle.wheels) == \
            sorted(w.name for w in wheels)
        for item in bundle.wheels:
            assert os.path.realpath(item.path).startswith(os.path.realpath(str(area.work)))
            assert item.origin == str(upload)

    def test_extraction_keeps_contents(self, area, wheels):
        upload = area.write("bundle.tar.gz", tar_bytes(wheel_files(wheels)))
        bootstrap.extract_archive(str(upload), str(area.work / "out"))
        for wheel in wheels:
            assert (area.work / "out" / wheel.name).read_bytes() == wheel.read_bytes()

    def test_check_removes_its_work_folder(self, area, wheels):
        upload = area.write("bundle.tar.gz", tar_bytes(wheel_files(wheels)))
        bootstrap.check([str(upload)], work_dir=str(area.work))
        assert os.listdir(str(area.work)) == []


# -- split uploads ----------------------------------------------------------------------------------


def split(area, data, name="bundle.tar.gz", parts=3, folder="parts"):
    directory = area.uploads / folder
    directory.mkdir()
    size = len(data) // parts + 1
    paths = []
    for index in range(parts):
        path = directory / ("%s.part-%03d" % (name, index + 1))
        path.write_bytes(data[index * size:(index + 1) * size])
        paths.append(path)
    return directory, paths


class TestSplitUploads:
    @pytest.mark.parametrize("given", ["first", "base", "all", "middle", "folder"])
    def test_parts_are_joined_in_order(self, area, wheels, given):
        directory, paths = split(area, tar_bytes(wheel_files(wheels)))
        uploads = {"first": [paths[0]], "base": [directory / "bundle.tar.gz"], "all": paths,
                   "middle": [paths[1]], "folder": [directory]}[given]
        report = bootstrap.check([str(p) for p in uploads], work_dir=str(area.work))
        assert report["problems"] == []
        assert names_of(report) == ["zz-alpha", "zz-beta", "zz-gamma"]

    def test_parts_given_out_of_order(self, area, wheels):
        directory, paths = split(area, tar_bytes(wheel_files(wheels)))
        report = bootstrap.check([str(p) for p in reversed(paths)], work_dir=str(area.work))
        assert report["problems"] == []
        assert names_of(report) == ["zz-alpha", "zz-beta", "zz-gamma"]

    def test_zip_in_parts(self, area, wheels):
        directory, paths = split(area, _zip_of(wheel_files(wheels), zipfile.ZIP_DEFLATED),
                                 name="bundle.zip")
        report = bootstrap.check([str(paths[0])], work_dir=str(area.work))
        assert names_of(report) == ["zz-alpha", "zz-beta", "zz-gamma"]

    @pytest.mark.parametrize("missing", [1, 2, 3])
    def test_missing_part_is_named(self, area, wheels, missing):
        directory, paths = split(area, tar_bytes(wheel_files(wheels)), parts=4)
        paths[missing].unlink()  # part-004, the last, leaves no gap: it is caught as truncated
        present = [p for p in paths if p.exists()]
        area.start()
        report = bootstrap.check([str(present[0])], work_dir=str(area.work))
        assert report["problems"], report
        assert CORRUPT in problem_codes(report)
        if missing < 3:
            assert any("part-%03d" % (missing + 1) in p["message"] for p in report["problems"]), \
                report["problems"]
        assert report["would_install"] == []
        area.assert_nothing_escaped()

    def test_missing_first_part_is_named(self, area, wheels):
        directory, paths = split(area, tar_bytes(wheel_files(wheels)))
        paths[0].unlink()
        report = bootstrap.check([str(paths[1])], work_dir=str(area.work))
        assert CORRUPT in problem_codes(report)
        assert any("part-001" in p["message"] for p in report["problems"]), report["problems"]

    def test_parts_leave_the_uploads_untouched(self, area, wheels):
        directory, paths = split(area, tar_bytes(wheel_files(wheels)))
        area.start()
        bootstrap.check([str(paths[0])], work_dir=str(area.work))
        area.assert_nothing_escaped()


class TestFreeSpace:
    """An upload that would not fit where it is extracted is refused before anything is
    written: not-writable (the disk, not the upload, is the problem), and the fix is the same
    check with another --work-dir, on a disk with room: run verbatim, it succeeds."""

    def test_zip_larger_than_the_free_space_is_refused_up_front(self, tmp_path, wheels,
                                                                monkeypatch):
        if os.geteuid() != 0:
            pytest.skip("mounting a small tmpfs needs root")
        if os.path.isdir("/mnt/data"):  # the fix would name /mnt/data/bootstrap-work first
            pytest.skip("this machine has a /mnt/data of its own")
        small = tmp_path / "small"
        small.mkdir()
        here = tmp_path / "here"  # the current folder: bootstrap.py is there, as uploaded
        here.mkdir()
        os.symlink(bootstrap.__file__, str(here / "bootstrap.py"))
        monkeypatch.chdir(str(here))
        import subprocess
        import sys
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1M", "tmpfs", str(small)]
                          ).returncode != 0:
            pytest.skip("cannot mount a tmpfs here")
        try:
            upload = tmp_path / "big.zip"
            with zipfile.ZipFile(str(upload), "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr("wheels/blob.bin", b"\0" * (4 * 1024 * 1024))
                archive.write(wheels[1], "wheels/" + os.path.basename(wheels[1]))
            report = bootstrap.check([str(upload)], work_dir=str(small))
            assert problem_codes(report) == ["not-writable"], report["problems"]
            problem = report["problems"][0]
            assert "MB free" in problem["message"] and "big.zip" in problem["message"]
            assert problem["remedy"] == "space", problem
            assert report.exit_code == 1
            assert os.listdir(str(small)) == []
        finally:
            subprocess.run(["umount", str(small)])
        work = str(here / "bootstrap-work")  # the first folder that can be written
        assert problem["fix"] == {"where": "sandbox", "command": "python bootstrap.py check "
                                  "%s --work-dir %s" % (upload, work)}, problem
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith("PIP_"))
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        done = subprocess.run(problem["fix"]["command"], shell=True, cwd=str(here), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=120)
        assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
        assert "zz-beta" in done.stdout, done.stdout
        assert os.listdir(work) == []


class TestSplitNames:
    """Which names are parts of a split upload, and of what (the file the parts join into)."""

    @pytest.mark.parametrize("name,base,token", [
        ("bundle.tar.gz.part-001", "bundle.tar.gz", "001"),
        ("bundle.tar.gz.part1", "bundle.tar.gz", "1"),
        ("bundle.tar.gz.part-aa", "bundle.tar.gz", "aa"),
        ("bundle.tar.gz.001", "bundle.tar.gz", "001"),     # 7-Zip
        ("bundle.zip.002", "bundle.zip", "002"),
        ("bundle.tar.gz.aa", "bundle.tar.gz", "aa"),       # split b.tar.gz b.tar.gz.
        ("bundle.tar.gz.00", "bundle.tar.gz", "00"),       # split -d b.tar.gz b.tar.gz.
        ("xaa", "x", "aa"), ("xab", "x", "ab"), ("xaaa", "x", "aaa"),  # split, split -a 3
        ("x00", "x", "00"), ("x001", "x", "001"),          # split -d
        ("bundle.tar.gz.part-1700000000000", "bundle.tar.gz", "1700000000000"),
    ])
    def test_parts(self, name, base, token):
        part = bootstrap._split_part(name)
        assert (part.base, part.token) == (base, token)

    @pytest.mark.parametrize("name", [
        "bundle.tar.gz", "bundle.tar.xz", "bundle.tar", "bundle.zip", "bundle.tgz",
        "six-1.17.0-py2.py3-none-any.whl", "manifest.json", "bootstrap.py", "notes.txt",
        "libfoo.so.10", "report.2024", "bundle.tar.gz.part"])
    def test_not_parts(self, name):
        assert bootstrap._split_part(name) is None

    def test_implicit_names_need_their_first_part_in_a_folder(self, area, wheels):
        """A folder upload holding a bundle and files that merely look like parts (`xml`,
        `data.tar.gz.bak`): only the bundle is read, nothing is reported missing."""
        folder = area.uploads / "upload"
        folder.mkdir()
        (folder / "bundle.tar.gz").write_bytes(tar_bytes(wheel_files(wheels)))
        (folder / "xml").write_text("<x/>")
        (folder / "data.tar.gz.bak").write_text("old")
        report = bootstrap.check([str(folder)], work_dir=str(area.work))
        assert report["problems"] == []
        assert names_of(report) == ["zz-alpha", "zz-beta", "zz-gamma"]

    def test_split_without_prefix_in_a_folder(self, area, wheels):
        data = tar_bytes(wheel_files(wheels))
        folder = area.uploads / "upload"
        folder.mkdir()
        size = len(data) // 3 + 1
        for index, suffix in enumerate(["aa", "ab", "ac"]):
            (folder / ("x" + suffix)).write_bytes(data[index * size:(index + 1) * size])
        area.start()
        report = bootstrap.check([str(folder)], work_dir=str(area.work))
        assert report["problems"] == []
        assert names_of(report) == ["zz-alpha", "zz-beta", "zz-gamma"]
        area.assert_nothing_escaped()

    def test_a_later_part_named_alone_names_the_first(self, area, wheels):
        data = tar_bytes(wheel_files(wheels))
        upload = area.write("xab", data[len(data) // 2:])
        report = bootstrap.check([str(upload)], work_dir=str(area.work))
        assert problem_codes(report) == [CORRUPT]
        assert "xaa is missing" in report["problems"][0]["message"]
        assert report["problems"][0]["fix"]["command"].startswith("upload xaa")

    def test_an_archive_named_like_a_part_is_read_as_itself(self, area, wheels):
        upload = area.write("xyz", tar_bytes(wheel_files(wheels)))
        report = bootstrap.check([str(upload)], work_dir=str(area.work))
        assert report["problems"] == []
        assert names_of(report) == ["zz-alpha", "zz-beta", "zz-gamma"]


class TestBrowserNames:
    @pytest.mark.parametrize("name,real", [
        ("six-1.17.0-py2.py3-none-any (1).whl", "six-1.17.0-py2.py3-none-any.whl"),
        ("bundle (2).tar.gz", "bundle.tar.gz"), ("bundle(3).zip", "bundle.zip"),
        ("manifest (1).json", "manifest.json"), ("bundle (12).tgz", "bundle.tgz"),
        ("bundle (1)", "bundle (1)"), ("notes (1).txt", "notes (1).txt"),
        ("six-1.17.0-py2.py3-none-any.whl", "six-1.17.0-py2.py3-none-any.whl")])
    def test_the_copy_number_is_dropped(self, name, real):
        assert bootstrap._browser_name(name) == real

    def test_a_manifest_saved_twice_still_checks_its_folder(self, area, wheels):
        import json
        folder = area.uploads / "bundle"
        files = wheels_with_entries(folder, wheels)
        (folder / "manifest (1).json").write_text(json.dumps({
            "schema": bootstrap.BUNDLE_SCHEMA, "roots": ["zz-alpha"], "files": files}))
        area.start()
        report = bootstrap.check([str(folder)], work_dir=str(area.work))
        assert report["problems"] == []
        assert report["roots"] == ["zz-alpha"]
        assert any("manifest (1).json" in note for note in report["notes"]), report["notes"]
        area.assert_nothing_escaped()


# -- sdists as GNU tar and Info-ZIP pack them: legacy names, broken archives, bootstrap's bugs --

SETUP_PY = b"from setuptools import setup\nsetup()\n"


def packed_sdist(tmp_path, folder, base, suffix=".tar.gz", files=None):
    """folder/BASE+SUFFIX: BASE/ holding ``files`` ({name: bytes}; a PKG-INFO and setup.py
    by default), packed by GNU tar (.tar.gz, .tar.bz2) or Info-ZIP's zip (.zip)."""
    import subprocess
    source = tmp_path / "sources"
    root = source / base
    root.mkdir(parents=True)
    name, version = base.rsplit("-", 1)
    files = files or {"PKG-INFO": ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n"
                                   % (name, version)).encode(), "setup.py": SETUP_PY}
    for member, data in files.items():
        (root / member).write_bytes(data)
    out = folder / (base + suffix)
    if suffix == ".zip":
        command = ["zip", "-qrX", str(out), base]
    else:
        command = ["tar", "--sort=name", "--owner=0", "--group=0",
                   {".tar.gz": "-z", ".tar.bz2": "-j"}[suffix], "-cf", str(out), base]
    subprocess.run(command, cwd=str(source), check=True)
    return out


def noise(count):
    """``count`` members of incompressible text, 4 KB each: a stream long enough to cut."""
    return {"data%03d.txt" % i: os.urandom(2048).hex().encode() for i in range(count)}


class TestSdistUploads:
    def test_legacy_tar_bz2_name_is_an_sdist(self, area, tmp_path):
        """Twisted's sdists were .tar.bz2 before PEP 527; pip download saves them so."""
        upload = packed_sdist(tmp_path, area.uploads, "zz_twisted-12.0.0", ".tar.bz2")
        area.start()
        report = bootstrap.check([str(upload)], work_dir=str(area.work))
        assert [s["file"] for s in report["sdists"]] == ["zz_twisted-12.0.0.tar.bz2"]
        assert CORRUPT not in problem_codes(report)
        # Where this interpreter cannot build it (no setuptools: the 3.8 parity venv), the
        # fix for the online side writes its profile beside the upload, and nothing else.
        profile_file = (report["fix"] or {}).get("profile_file")
        if profile_file:
            assert profile_file == str(area.uploads / "sandbox-profile.json")
            os.remove(profile_file)
        area.assert_nothing_escaped()

    @pytest.mark.parametrize("members,words", [
        (3, "truncated or corrupt"),            # intake's first look reads to the cut
        (100, "cannot be read as an sdist"),    # the first 64 members read: read_sdist cuts
    ])
    def test_truncated_tar_gz(self, area, tmp_path, members, words):
        files = dict(noise(members), **{"PKG-INFO": b"Metadata-Version: 2.1\nName: zz-cut\n"
                                        b"Version: 1.0\n", "setup.py": SETUP_PY})
        upload = packed_sdist(tmp_path, area.uploads, "zz_cut-1.0", files=files)
        data = upload.read_bytes()
        upload.write_bytes(data[:len(data) * 3 // 4])
        report = _assert_refused_by_check(area, upload, CORRUPT, words)
        assert problem_codes(report) == [CORRUPT]

    def test_zip_whose_central_directory_is_cut(self, area, tmp_path):
        upload = packed_sdist(tmp_path, area.uploads, "zz_cut-1.0", ".zip")
        data = upload.read_bytes()
        directory = data.rindex(b"PK\x01\x02")  # the central directory's last entry
        upload.write_bytes(data[:directory + 20])
        report = _assert_refused_by_check(area, upload, CORRUPT, "zip directory is missing")
        assert problem_codes(report) == [CORRUPT]

    def test_pkg_info_in_latin_1_is_read(self, area, tmp_path):
        """Old sdists wrote PKG-INFO in Latin-1: no corrupt-archive, its fields still read."""
        pkg_info = (u"Metadata-Version: 1.1\nName: zz-latin\nVersion: 2.0\n"
                    u"Author: Gerhard H\u00e4ring\nRequires-Dist: zz-dep>=1\n").encode("latin-1")
        upload = packed_sdist(tmp_path, area.uploads, "zz_latin-2.0",
                              files={"PKG-INFO": pkg_info, "setup.py": SETUP_PY})
        area.start()
        report = bootstrap.check([str(upload)], work_dir=str(area.work))
        assert [s["file"] for s in report["sdists"]] == ["zz_latin-2.0.tar.gz"]
        assert CORRUPT not in problem_codes(report)
        sdist = bootstrap.read_sdist(str(upload))
        assert (sdist.name, str(sdist.version)) == ("zz-latin", "2.0")
        assert [str(r) for r in sdist.metadata.requires_dist] == ["zz-dep>=1"]
        after = tree(area.root, exclude=[area.work])  # the fix's profile, for the online side
        assert after.pop("uploads/sandbox-profile.json")[0] == "file"
        assert after == area._before


# A bug of bootstrap's own, injected where intake reads an archive, must stay a bug: never
# reported as the upload's fault, but as internal-error with its traceback in the JSON report.
_INJECT = """
import importlib, importlib.util, sys
spec = importlib.util.spec_from_file_location("bootstrap", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["bootstrap"] = module
spec.loader.exec_module(module)
owner, _, name = sys.argv[2].rpartition(".")
head, _, rest = owner.partition(".")
owner = importlib.import_module(head)
for part in rest.split(".") if rest else ():
    owner = getattr(owner, part)
def bug(*args, **kwargs):
    raise TypeError("a bug injected into " + sys.argv[2])
setattr(owner, name, bug)
sys.exit(module.main(sys.argv[3:]))
"""


class TestBugsAreNotCorruptArchives:
    @pytest.mark.parametrize("where,command", [
        ("bootstrap._tar_member_names", "check"),   # _looks_like_bundle's first look
        ("tarfile.TarFile.extractfile", "check"),   # read_sdist
        ("bootstrap._tar_member_names", "install"),  # _is_conda_pack's first look
    ])
    def test_injected_bug_is_not_the_uploads_fault(self, area, tmp_path, make_wheel, where,
                                                   command):
        import sys
        from installkit import BOOTSTRAP_PY, Result, run
        if command == "check":
            upload = packed_sdist(tmp_path, area.uploads, "zz_sdist-1.0")
            args = ["check", str(upload), "--work-dir", str(area.work)]
        else:
            upload = area.write("bundle.tar.gz", tar_bytes(
                {"zz_app-1.0-py3-none-any.whl": make_wheel("zz-app", "1.0").read_bytes()}))
            args = ["install", str(upload), "--target", str(tmp_path / "site"),
                    "--work-dir", str(area.work), "--no-verify"]
        result = Result(run([sys.executable, "-c", _INJECT, BOOTSTRAP_PY, where] + args
                            + ["--json"], cwd=str(tmp_path)))
        assert result.returncode == 1, result
        assert result.codes() == ["internal-error"], result
        problem = result.report["problems"][0]
        assert "TypeError: a bug injected into " + where in problem["traceback"], result
