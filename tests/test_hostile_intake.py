"""Hostile uploads against intake's one budget per upload, run as a user runs bootstrap.py.

Each upload here is built as an attacker would build it, small on disk and huge (or many, or
deep, or long-named) once read: nested bombs whose every archive alone looks harmless, a zip
member whose header lies about its size, tens of thousands of empty folders, names longer
than a file system takes, a split part numbered 1700000000000, a --work-dir that is a file.

Every case runs `bootstrap.py check ... --json` in a subprocess of a real CPython with this
machine's pip and Python settings switched off, under an address-space limit (RLIMIT_AS),
so memory that is not bounded fails the test instead of the machine. Each asserts the exit
code the contract names, a JSON report with the problem code, no traceback (at most one line
on stderr), and that the folder outside the work folder is byte-identical before and after.
"""

import gzip
import io
import json
import os
import shlex
import struct
import sys
import tarfile
import zlib

import pytest

from installkit import (BOOTSTRAP_PY, bootstrap, clean_env, diff_trees, find_python, run,
                        run_step, snapshot)
from wheelmaker import make_wheel

PYTHON = find_python("3.11") or sys.executable
UNSAFE = "unsafe-archive-member"
CORRUPT = "corrupt-archive"
MEMORY_LIMIT = 1024 * 1024 ** 2  # address space of each run: far below any bomb here
MB = 1024 ** 2
_LIMITED = ("import os, resource, sys; resource.setrlimit(resource.RLIMIT_AS, (%d, %d)); "
            "os.execvp(sys.argv[1], sys.argv[1:])" % (MEMORY_LIMIT, MEMORY_LIMIT))


class Area(object):
    """tmp_path/outside (the uploads and a user's file: must not change) and tmp_path/work."""

    def __init__(self, root):
        self.outside = root / "outside"
        self.work = root / "work"
        self.outside.mkdir()
        self.work.mkdir()
        (self.outside / "notes.txt").write_text("the user's own file\n")
        self.before = None

    def path(self, name):
        return self.outside / name

    def check(self, *args, **kwargs):
        """``check ARGS --work-dir WORK --json`` under the memory limit; snapshots around it."""
        self.before = snapshot(str(self.outside))
        prefix = [sys.executable, "-c", _LIMITED] + list(kwargs.pop("prefix", ()))
        result = bootstrap(PYTHON, "check", *(list(args) + ["--work-dir", str(self.work)]),
                           prefix=prefix, cwd=kwargs.pop("cwd", str(self.outside)))
        assert diff_trees(self.before, snapshot(str(self.outside)), "before", "after") == []
        assert os.listdir(str(self.work)) == []  # check's own folder is gone
        return result


@pytest.fixture
def area(tmp_path):
    return Area(tmp_path)


def assert_refused(result, code, exit_code, *words, **options):
    """Exit code exactly, a JSON report with ``code``, no traceback, words in its message;
    nothing planned (unless ``planned``: the rest of a bundle may still be checked)."""
    assert result.returncode == exit_code, result
    assert result.report is not None and result.report["command"] == "check", result
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) <= 1, \
        result
    problems = result.problems(code)
    assert problems, result.report["problems"]
    for word in words:
        assert any(word in p["message"] for p in problems), (word, problems)
    if not options.get("planned"):
        assert result.report["would_install"] == []
    return problems[0]


# -- builders: compressed data without spending the CPU to compress gigabytes ---------------------


def deflate_zeros(prefix, megabytes, suffix=b""):
    """Raw deflate of prefix + megabytes MB of zeros + suffix, from one flushed 1 MB segment
    repeated (a full flush makes every segment independent and identical)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = packer.compress(prefix) + packer.flush(zlib.Z_FULL_FLUSH)
    segment = packer.compress(b"\0" * MB) + packer.flush(zlib.Z_FULL_FLUSH)
    return head + segment * megabytes + packer.compress(suffix) + packer.flush()


def gzip_of(deflated, crc=0, size=0):
    """A gzip member around raw deflate data (a bomb's trailer is never reached: zeros)."""
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + deflated
            + struct.pack("<II", crc, size & 0xFFFFFFFF))


def tar_header(name, size, kind=tarfile.REGTYPE):
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = kind
    return info.tobuf(tarfile.GNU_FORMAT)


def zeros_tar_gz(megabytes, name="zeros.bin", valid=False):
    """A tar.gz holding one member of ``megabytes`` MB of zeros (about 1 KB per MB); with
    ``valid``, its gzip trailer is right too (a whole read then succeeds)."""
    header = tar_header(name, megabytes * MB)
    crc = 0
    if valid:
        crc = zlib.crc32(header)
        for _ in range(megabytes):
            crc = zlib.crc32(b"\0" * MB, crc)
        crc = zlib.crc32(b"\0" * 1024, crc)
    return gzip_of(deflate_zeros(header, megabytes, b"\0" * 1024), crc,
                   len(header) + megabytes * MB + 1024)


def tar_gz(members):
    """A real tar.gz (tarfile) of {name: bytes}."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size = len(members[name])
            archive.addfile(info, io.BytesIO(members[name]))
    return buffer.getvalue()


def raw_zip(members, count=None):
    """Zip bytes written field by field: members are (name, data, method, declared size, crc),
    so a header may say what the data is not (``count``: what the directory's end says)."""
    local, central = [], []
    offset = 0
    for name, data, method, declared, crc in members:
        name = name.encode("utf-8")
        header = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, method, 0, 0, crc,
                             len(data), declared, len(name), 0) + name
        central.append(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, method, 0,
                                   0, crc, len(data), declared, len(name), 0, 0, 0, 0,
                                   0o644 << 16, offset) + name)
        local.append(header + data)
        offset += len(header) + len(data)
    directory = b"".join(central)
    count = min(len(members), 0xFFFF) if count is None else count
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, len(directory), offset,
                      0)
    return b"".join(local) + directory + end


def lying_wheel(folder, zeros_mb, honest=False):
    """A real wheel whose METADATA's headers declare its true size while its data inflates
    to that METADATA followed by ``zeros_mb`` MB of zeros (``honest``: the headers say so)."""
    import zipfile
    real = make_wheel(str(folder), "liar", "1.0")
    members = []
    with zipfile.ZipFile(str(real)) as archive:
        for info in archive.infolist():
            data = archive.read(info)
            if info.filename.endswith("/METADATA"):
                members.append((info.filename, deflate_zeros(data, zeros_mb), 8,
                                len(data) + honest * zeros_mb * MB, zlib.crc32(data)))
            else:
                members.append((info.filename, data, 0, len(data), zlib.crc32(data)))
    real.write_bytes(raw_zip(members))
    return real


# -- the budget is one per upload, across nesting -------------------------------------------------


class TestNestedBombs:
    def test_archives_inside_share_the_uploads_budget(self, area):
        """Six inner archives of 20 MB each: each alone is below the 64 MB floor, together
        they are not; with --max-upload-size the same upload is read."""
        inner = zeros_tar_gz(20, valid=True)
        upload = area.path("nested.tar.gz")
        upload.write_bytes(tar_gz(dict(("inner-%s.tar.gz" % i, inner) for i in "abcdef")))
        problem = assert_refused(area.check(upload), UNSAFE, 2, "nested.tar.gz",
                                 "--max-upload-size", "decompression bomb")
        assert problem["fix"]["where"] == "sandbox", problem
        assert "--max-upload-size" in problem["fix"]["command"]
        assert "again" not in problem["fix"]["command"]
        trusted = area.check(upload, "--max-upload-size", "1G")
        assert UNSAFE not in trusted.codes(), trusted.report["problems"]
        assert trusted.returncode == 1, trusted  # read whole: it simply holds no wheel

    def test_ten_kilobytes_to_gigabytes_stop_at_the_budget(self, area):
        """Three levels, 4 x 4 x 1.5 GB = 24 GB from an upload of a few KB."""
        inner = zeros_tar_gz(1536)
        middle = tar_gz(dict(("inner-%s.tar.gz" % i, inner) for i in "abcd"))
        upload = area.path("bomb.tar.gz")
        upload.write_bytes(tar_gz(dict(("middle-%s.tar.gz" % i, middle) for i in "abcd")))
        assert upload.stat().st_size < 64 * 1024
        result = area.check(upload)
        problem = assert_refused(result, UNSAFE, 2, "bomb.tar.gz", "64M", "200")
        assert problem["subject"].endswith("bomb.tar.gz")
        assert result.codes() == [UNSAFE]  # one upload, one budget, one problem

    def test_install_refuses_before_anything_is_installed(self, area, tmp_path):
        inner = zeros_tar_gz(1536)
        upload = area.path("bomb.tar.gz")
        upload.write_bytes(tar_gz(dict(("inner-%s.tar.gz" % i, inner) for i in "abcd")))
        target = tmp_path / "target"
        before = snapshot(str(area.outside))
        result = bootstrap(PYTHON, "install", upload, "--target", target, "--work-dir",
                           area.work, prefix=[sys.executable, "-c", _LIMITED],
                           cwd=str(area.outside))
        assert result.returncode == 2, result
        assert result.codes() == [UNSAFE], result.report["problems"]
        assert "Traceback" not in result.stderr
        assert result.report["installed"] == [] and os.listdir(str(target)) == []
        assert diff_trees(before, snapshot(str(area.outside)), "before", "after") == []
        assert os.listdir(str(area.work)) == []

    def test_nesting_deeper_than_the_limit_names_the_flag(self, area, tmp_path):
        wheel = make_wheel(str(tmp_path / "w"), "deep", "1.0")
        data = tar_gz({wheel.name: wheel.read_bytes()})
        for level in range(5):
            data = tar_gz({"level-%s.tar.gz" % "abcde"[level]: data})
        upload = area.path("deep.tar.gz")
        upload.write_bytes(data)
        assert_refused(area.check(upload), UNSAFE, 2, "nested more than 4 deep", "--max-nesting")
        allowed = area.check(upload, "--max-nesting", "8")
        assert allowed.returncode == 0, allowed
        assert [w["name"] for w in allowed.report["would_install"]] == ["deep"]


class TestLyingSizes:
    def test_wheel_member_is_never_inflated_past_its_declared_size(self, area):
        """1.5 GB behind a METADATA that says it is a few hundred bytes, read by check under
        a 1 GB address space: refused as a bomb, not a MemoryError."""
        wheel = lying_wheel(area.outside, 1536)
        assert wheel.stat().st_size < 2 * MB
        problem = assert_refused(area.check(wheel), UNSAFE, 2, "METADATA", "declares")
        assert problem["subject"] == wheel.name
        assert "again" not in problem["fix"]["command"]

    def test_metadata_that_says_it_is_gigabytes_is_not_read(self, area):
        wheel = lying_wheel(area.outside, 1536, honest=True)
        problem = assert_refused(area.check(wheel), UNSAFE, 2, "METADATA", "declares")
        assert problem["subject"] == wheel.name

    def test_the_same_wheel_told_truly_is_read_under_the_same_limit(self, area):
        wheel = make_wheel(str(area.outside), "liar", "1.0")
        result = area.check(wheel)
        assert result.returncode == 0, result
        assert [w["name"] for w in result.report["would_install"]] == ["liar"]

    def test_bundle_zip_member_is_read_only_to_its_declared_size(self, area):
        """100 bytes declared, 1.5 GB behind them: the 100 bytes are read, the rest never."""
        data = b"x" * 100
        upload = area.path("bundle.zip")
        upload.write_bytes(raw_zip([("wheels/blob.bin", deflate_zeros(data, 1536), 8, 100,
                                     zlib.crc32(data))]))
        result = area.check(upload)
        assert result.returncode == 1, result
        assert result.codes() == ["missing-dependency"], result.report  # no wheel in it
        assert "Traceback" not in result.stderr

    def test_pax_header_of_a_gigabyte_is_refused_without_reading_it(self, area):
        header = tar_header("././@PaxHeader", 1024 * MB, tarfile.XHDTYPE)
        upload = area.path("pax.tar.gz")
        upload.write_bytes(gzip_of(deflate_zeros(header, 1024)))
        assert_refused(area.check(upload), UNSAFE, 2, "pax.tar.gz", "header")


# -- members: folders and empty files count ------------------------------------------------------


def many_folders_tar_gz(count):
    """A tar.gz of ``count`` empty folders d/00000/ ...: one ustar header made by tarfile,
    copied with each name and checksum patched in (tarfile itself takes seconds for 40,000)."""
    info = tarfile.TarInfo("d/00000")
    info.type = tarfile.DIRTYPE
    template = bytearray(info.tobuf(tarfile.USTAR_FORMAT))
    template[148:156] = b" " * 8
    blocks = []
    for index in range(count):
        header = bytearray(template)
        header[0:7] = b"d/%05d" % index
        header[148:156] = b"%06o\0 " % sum(header)
        blocks.append(bytes(header))
    return gzip.compress(b"".join(blocks) + b"\0" * 1024, 1)


class TestMemberBudget:
    def test_forty_thousand_empty_folders(self, area):
        upload = area.path("folders.tar.gz")
        upload.write_bytes(many_folders_tar_gz(40000))
        problem = assert_refused(area.check(upload), UNSAFE, 2, "folders.tar.gz", "30000",
                                 "--max-members")
        assert "--max-members" in problem["fix"]["command"]

    def test_max_members_sets_the_budget(self, area):
        upload = area.path("folders.tar.gz")
        upload.write_bytes(many_folders_tar_gz(50))
        assert UNSAFE not in area.check(upload).codes()
        assert_refused(area.check(upload, "--max-members", "20"), UNSAFE, 2, "more than 20")
        allowed = area.check(upload, "--max-members", "51")
        assert allowed.codes() == ["missing-dependency"], allowed.report  # read: no wheel

    @pytest.mark.parametrize("count", [None, 1], ids=["told", "directory-end-lies"])
    def test_two_hundred_thousand_empty_files_in_a_zip(self, area, count):
        upload = area.path("files.zip")
        upload.write_bytes(raw_zip([("f/%06d" % i, b"", 0, 0, 0) for i in range(200000)],
                                   count))
        assert_refused(area.check(upload), UNSAFE, 2, "files.zip", "--max-members")

    def test_members_of_nested_archives_count_against_the_outer_upload(self, area):
        inner = many_folders_tar_gz(12000)
        upload = area.path("outer.tar.gz")
        upload.write_bytes(tar_gz(dict(("inner-%s.tar.gz" % i, inner) for i in "abc")))
        assert_refused(area.check(upload), UNSAFE, 2, "outer.tar.gz", "--max-members")


# -- names, numbers and arguments that used to end in a traceback ------------------------------


class TestNamesAndArguments:
    @pytest.mark.parametrize("kind", ["tar.gz", "zip"])
    @pytest.mark.parametrize("name,words", [
        ("a" * 300 + "/x.whl", "over-long"),                      # one part over NAME_MAX
        ("/".join(["b" * 250] * 20) + "/x.whl", "too long")])     # the path over PATH_MAX
    def test_member_names_too_long(self, area, kind, name, words):
        upload = area.path("long." + kind)
        if kind == "zip":
            upload.write_bytes(raw_zip([(name, b"x", 0, 1, zlib.crc32(b"x"))]))
        else:
            upload.write_bytes(tar_gz({name: b"x"}))
        problem = assert_refused(area.check(upload), UNSAFE, 2, "long." + kind, words)
        assert "again" not in problem["fix"]["command"]

    def test_part_numbered_1700000000000(self, area):
        upload = area.path("bundle.tar.gz.part-1700000000000")
        upload.write_bytes(b"\0" * 1024)
        problem = assert_refused(area.check(upload), CORRUPT, 2, "bundle.tar.gz.part-001")
        assert "bundle.tar.gz.part-001" in problem["fix"]["command"]
        assert "again" not in problem["fix"]["command"]

    def test_a_gap_before_a_huge_part_number_names_the_gap(self, area):
        area.path("bundle.tar.gz.part-001").write_bytes(b"\0" * 1024)
        area.path("bundle.tar.gz.part-1700000000000").write_bytes(b"\0" * 1024)
        assert_refused(area.check(area.path("bundle.tar.gz.part-001")), CORRUPT, 2,
                       "bundle.tar.gz.part-002 is missing")

    @pytest.mark.parametrize("listed", ["../notes.txt", "/etc/passwd", "a/../../notes.txt"])
    def test_manifest_entries_pass_the_gate(self, area, tmp_path, listed):
        """A manifest naming a file outside its bundle: refused, never read, its size untold."""
        import hashlib
        bundle = area.path("bundle")
        wheel = make_wheel(str(bundle / "wheels"), "fine", "1.0")
        data = wheel.read_bytes()
        files = [{"path": "wheels/" + wheel.name, "size": len(data),
                  "sha256": hashlib.sha256(data).hexdigest()},
                 {"path": listed, "size": 1, "sha256": "0" * 64}]
        (bundle / "manifest.json").write_text(json.dumps({
            "schema": "sandbox-bootstrap.bundle/1", "roots": ["fine"], "files": files}))
        result = area.check(bundle)
        problem = assert_refused(result, UNSAFE, 2, repr(listed), planned=True)
        assert "bytes" not in problem["message"] and result.codes() == [UNSAFE]

    @pytest.mark.parametrize("manifest", [{"files": [1, 2]}, {"files": "wheels/x.whl"},
                                          {"roots": [{"a": 1}]}, {"files": [{"path": 3}]}])
    def test_manifest_of_the_wrong_shape(self, area, manifest):
        bundle = area.path("bundle")
        bundle.mkdir()
        manifest["schema"] = "sandbox-bootstrap.bundle/1"
        (bundle / "manifest.json").write_text(json.dumps(manifest))
        assert_refused(area.check(bundle), CORRUPT, 2, "not a valid")

    def test_work_dir_that_is_a_file(self, area, tmp_path):
        wheel = make_wheel(str(area.outside), "fine", "1.0")
        before = snapshot(str(tmp_path))
        result = bootstrap(PYTHON, "check", wheel, "--work-dir", area.path("notes.txt"),
                           cwd=str(area.outside))
        assert result.returncode == 1, result
        assert result.codes() == ["not-writable"], result.report
        assert "Traceback" not in result.stderr
        [problem] = result.problems("not-writable")
        assert "is a file" in problem["message"]
        assert diff_trees(before, snapshot(str(tmp_path)), "before", "after") == []
        # the fix: the same check with a --work-dir that can be, run verbatim where
        # bootstrap.py is
        work = str(area.outside / "bootstrap-work")  # the first folder that can be written
        assert problem["fix"] == {"where": "sandbox", "command": "python bootstrap.py check "
                                  "%s --work-dir %s" % (wheel, work)}, problem
        here = tmp_path / "here"
        here.mkdir()
        os.symlink(BOOTSTRAP_PY, str(here / "bootstrap.py"))
        done = run(["sh", "-c", problem["fix"]["command"]], cwd=str(here), env=clean_env(
            PATH=os.path.dirname(PYTHON) + os.pathsep + os.environ.get("PATH", "")))
        assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
        assert os.listdir(work) == []

    def test_deleted_current_folder(self, area, tmp_path):
        wheel = make_wheel(str(area.outside), "fine", "1.0")
        gone = tmp_path / "gone"
        gone.mkdir()
        result = area.check(wheel, cwd=str(gone),
                            prefix=["sh", "-c", 'cd "$0" && rmdir "$0" && exec "$@"', str(gone)])
        assert not gone.exists()
        assert result.returncode == 0, result
        assert [w["name"] for w in result.report["would_install"]] == ["fine"]
        assert result.stderr == ""


class TestStepsOfAnUploadThatCannotBeRead:
    """An upload over an intake limit is refused with the command that met it, the limit raised
    and every other option kept, to run only if the upload is trusted; a cut upload is uploaded
    again, then the same command runs. Either comes first: until the upload is read, what is
    missing is unknown, and every command with it fails the same way. Followed word for word
    (a shell at the command line; the Python call a notebook shows; the tool call an agent
    gets) the steps install what the first command asked for, where it asked. The upload is
    the commonest tarball shape, made by GNU tar (`tar czf b.tgz -C dir .`): three wheels and a
    docs folder of 30 files, 35 members, against a --max-members of 20 the user gave."""

    @pytest.fixture
    def scene(self, tmp_path):
        content = tmp_path / "content"
        (content / "docs").mkdir(parents=True)
        for index in range(30):
            (content / "docs" / ("page%02d.txt" % index)).write_text("page %d\n" % index)
        make_wheel(content, "pkga", "1.0", requires=["pkgb"])
        make_wheel(content, "pkgb", "1.0")
        make_wheel(content, "pkgc", "1.0")  # a root without --require: must not be installed
        folder = tmp_path / "sandbox"
        folder.mkdir()
        run(["tar", "czf", str(folder / "b.tgz"), "-C", str(content), "."], check=True)
        members = run(["tar", "tzf", str(folder / "b.tgz")], check=True).stdout.split()
        assert "./" in members and len(members) == 35, members
        with open(BOOTSTRAP_PY) as source:
            (folder / "bootstrap.py").write_text(source.read())
        return folder

    @staticmethod
    def installed(target):
        return sorted(name for name in os.listdir(str(target)) if name.endswith(".dist-info"))

    def test_at_the_command_line(self, scene):
        target = scene / "packages dir"
        first = bootstrap(PYTHON, "install", "b.tgz", "--require", "pkga", "--target",
                          str(target), "--no-verify", "--max-members", "20", cwd=str(scene))
        assert first.returncode == 2, first
        problems = first.problems(UNSAFE)
        # pkga is in the refused upload: missing as far as this run can tell
        assert sorted(p["code"] for p in first.report["problems"]) == [
            "missing-dependency", UNSAFE], first.report
        assert problems[0]["fix"] == {
            "where": "sandbox", "before": "only if you trust b.tgz",
            "command": "python bootstrap.py install b.tgz --require pkga --target %s "
                       "--no-verify --max-members 80" % shlex.quote(str(target))}, problems[0]
        assert not target.exists() or self.installed(target) == []
        # the one step: what the problem says, before building anything online (what is
        # missing is known once the upload is read)
        assert first.report["next_steps"] == ["In the sandbox: only if you trust b.tgz, then "
                                              "run: " + problems[0]["fix"]["command"]]
        proc = run_step(problems[0]["fix"]["command"], scene, PYTHON)
        assert proc.returncode == 0, (proc.stdout, proc.stderr)
        assert self.installed(target) == ["pkga-1.0.dist-info", "pkgb-1.0.dist-info"]

    def test_in_a_notebook_and_as_a_tool_call(self, scene, monkeypatch):
        import bootstrap as module
        monkeypatch.chdir(str(scene))
        target = scene / "packages dir"
        report = module.install(["b.tgz"], require=["pkga"], target=str(target), verify=False,
                                max_members=20, progress=lambda *a: None)
        (fix,) = [p["fix"] for p in module._phrase_report(report, "notebook")["problems"]
                  if p["code"] == UNSAFE]
        assert fix["before"] == "only if you trust b.tgz", fix
        assert fix["command"] == ("bootstrap.install(['b.tgz'], require=['pkga'], target=%r, "
                                  "max_members=80, verify=False)" % str(target)), fix
        again = eval(fix["command"], {"bootstrap": module})
        assert again["status"] == "ok", again["problems"]
        assert self.installed(target) == ["pkga-1.0.dist-info", "pkgb-1.0.dist-info"]

        other = scene / "tool target"
        refused = module.call_tool("sandbox_install", {
            "bundles": ["b.tgz"], "require": ["pkga"], "target": str(other), "max_members": 20})
        (step,) = [p["fix"]["command"] for p in refused["problems"] if p["code"] == UNSAFE]
        assert refused["next_steps"] == ["In the sandbox: only if you trust b.tgz, then run: "
                                         + step], refused["next_steps"]
        name, _, arguments = step.partition(" with arguments ")
        assert name == "sandbox_install" and json.loads(arguments) == {
            "bundles": ["b.tgz"], "require": ["pkga"], "target": str(other),
            "max_members": 80}, step
        assert module.call_tool(name, json.loads(arguments))["status"] == "ok"
        assert self.installed(other) == ["pkga-1.0.dist-info", "pkgb-1.0.dist-info"]

    def test_a_cut_upload_is_uploaded_again_then_the_command_runs_again(self, scene):
        upload = scene / "b.tgz"
        whole = upload.read_bytes()
        run(["truncate", "-s", str(len(whole) // 2), str(upload)], check=True)  # a cut upload
        target = scene / "packages dir"
        first = bootstrap(PYTHON, "install", "b.tgz", "--require", "pkga", "--target",
                          str(target), "--no-verify", cwd=str(scene))
        assert first.returncode == 2 and first.problems(CORRUPT), first
        again = "python bootstrap.py install b.tgz --require pkga --target %s --no-verify" % (
            shlex.quote(str(target)))
        assert first.report["next_steps"] == [
            "On a machine with internet: upload b.tgz again (complete, unmodified)",
            "Then run install again: " + again], first.report["next_steps"]
        import bootstrap as module  # what people see: no online build of what is "missing"
        assert "Fix, online" not in module.render_report(first.report)
        assert [label for label, _, _ in module._report_fixes(first.report)] == [
            "for corrupt-archive b.tgz"]
        upload.write_bytes(whole)  # uploaded again
        proc = run_step(first.report["next_steps"][1].split(": ", 1)[1], scene, PYTHON)
        assert proc.returncode == 0, (proc.stdout, proc.stderr)
        assert self.installed(target) == ["pkga-1.0.dist-info", "pkgb-1.0.dist-info"]

    def test_a_bombs_size_fix_runs_verbatim(self, tmp_path):
        """120 MB of zeros tarred by GNU tar (117 KB) expands past 200 times its size and the
        64 MB floor: refused, with the same check at a larger --max-upload-size, which run
        verbatim reads it (and judges its wheel)."""
        content = tmp_path / "content"
        content.mkdir()
        make_wheel(content, "pkga", "1.0")
        with open(str(content / "zeros.bin"), "wb") as f:
            for _ in range(120):
                f.write(b"\0" * MB)
        folder = tmp_path / "sandbox"
        folder.mkdir()
        run(["tar", "czf", str(folder / "b.tgz"), "-C", str(content), "."], check=True)
        with open(BOOTSTRAP_PY) as source:
            (folder / "bootstrap.py").write_text(source.read())
        first = bootstrap(PYTHON, "check", "b.tgz", cwd=str(folder))
        problem = assert_refused(first, UNSAFE, 2, "decompression bomb")["fix"]
        assert problem["before"] == "only if you trust b.tgz", problem
        words = shlex.split(problem["command"])
        assert words[:4] == ["python", "bootstrap.py", "check", "b.tgz"], words
        assert words[4] == "--max-upload-size" and len(words) == 6, words
        done = run_step(problem["command"] + " --json", folder, PYTHON)
        report = json.loads(done.stdout)
        assert done.returncode == 0 and report["status"] == "ok", report["problems"]
        assert [w["file"] for w in report["wheels"]] == ["pkga-1.0-py3-none-any.whl"]

    @pytest.mark.parametrize("size,refused", [("1K", True), ("16G", False)])
    def test_a_calls_upload_size_is_a_size(self, scene, size, refused):
        """From Python the limit is a size as the command line takes it (bytes or 16G):
        1K refuses this 2 KB upload, 16G reads it; what is no size is a usage error."""
        import bootstrap as module
        upload = str(scene / "b.tgz")
        report = module.check([upload], require=["pkga"], max_upload_size=size)
        assert (UNSAFE in [p["code"] for p in report["problems"]]) is refused, report["problems"]
        with pytest.raises(module.UsageError):
            module.check([upload], max_upload_size="lots")
