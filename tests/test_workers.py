"""Extraction workers (bootstrap.py section 11: _ExtractionWorkers, _start_worker,
_serve_extraction; section 13: _Installer._install_all): a large install writes its members
from child interpreters fed this module's code object over a pipe.

    TestSameTree        the install-parity wheels (console scripts, a #!python script, .data/
                        data and headers, executable members, a 1.4 MB member that is streamed)
                        through workers: pip's --target tree, and the threads' tree, exactly;
                        a made wheel of bzip2 and lzma members (zipfile streams them)
    TestWhenWorkers     one job, or no processes here: threads, however many members
    TestDeadWorkers     a worker that exits at once, one SIGKILLed in its second job after
                        writing a wrong file, no interpreter behind sys.executable, another
                        Python version behind it: the install is OK, pip's tree, and every
                        child process has been waited for
    TestErrorsAsData    a RECORD hash mismatch, a decompression bomb (read and streamed), a
                        bad CRC without a RECORD hash, a full disk, a read-only staging folder:
                        the same Problem as the thread path, nothing of that wheel installed,
                        nothing outside the target changed
    TestExecEntry       a notebook cell's exec(open(path).read()): the workers run the code
                        object compiled from "<string>"
    TestParentKilled    the installing process SIGKILLed while its workers write, or ended
                        once they wait for a job: they all exit (a broken pipe, the end of
                        their stdin), nothing is half installed, a rerun gives pip's tree
    TestWarming         with verification, one worker compiles what the roots' imports run
                        (tests/test_smoke.py holds the walk against a real import); the report
                        is the one without it

The worker path is forced in this process with ``_WORKER_MEMBERS = 0`` and proved taken: every
``_start_worker`` result is recorded, and so is every member extracted here rather than in a
worker (``_extract_members`` in this module only ever runs in this process). The oracle is
``pip install --no-deps --target`` with the pip wheel that this interpreter's ensurepip bundles
(the one tests/test_install.py holds bootstrap against), run by this same interpreter, so that
shebangs compare byte for byte.
"""

import functools
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import zipfile

import pytest

import bootstrap

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import installkit as kit  # noqa: E402
from installkit import (  # noqa: E402
    BOOTSTRAP_PY, STAGING_DIR, clean_env, diff_trees, find_python, half_installed,
    installed_versions, run, snapshot, strictly_complete)
import realwheels  # noqa: E402
from test_install import mounts  # noqa: E402,F401  (the fixture: tmpfs that always unmounts)
from test_install import PARITY_NAMES, PARITY_STUBS  # noqa: E402  (the same real wheels)
from wheelmaker import make_wheel as write_wheel  # noqa: E402
from workerkit import (  # noqa: E402
    OUR_HEADERS, Spy, assert_all_waited, behind, children, exits_at_once, pip_target,
    target_tree)

#: a made wheel whose members zipfile must read (bzip2, lzma: not what _RawZip reads), one of
#: them larger than a chunk, and a stored executable one
ODD_COMPRESSION = "oddzip"
ALL_NAMES = PARITY_NAMES + tuple(name for name, _ in PARITY_STUBS) + (ODD_COMPRESSION,)

needs_cp311 = pytest.mark.skipif(
    sys.version_info[:2] != (3, 11), reason="the install-parity wheels are cp311; this "
    "interpreter is %d.%d" % sys.version_info[:2])


# -- installing in this process (tests/workerkit.py spies on it) ---------------------------------


def install(bundle, target, require=(), **kwargs):
    """bootstrap.install of ``bundle`` into --target ``target`` in this process, 2 jobs, no
    verifying interpreter (its process is not what is under test), a work folder beside it.
    Which of these modules an earlier test left imported in this process (restart-needed, of
    TestUsableAtOnce in test_install.py) is not judged here."""
    work = str(target) + "-work"
    os.makedirs(work, exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bootstrap, "_restart_needed", lambda results, modules: [])
        return bootstrap.install([str(bundle)], require=list(require) or None,
                                 target=str(target), jobs=2, verify=False, work_dir=work,
                                 progress=lambda *args: None, **kwargs)


def member_count(folder):
    """Members a bootstrap install extracts from the wheels in ``folder`` (files, not
    folders, every one but RECORD)."""
    count = 0
    for name in sorted(os.listdir(str(folder))):
        with zipfile.ZipFile(os.path.join(str(folder), name)) as archive:
            count += sum(1 for info in archive.infolist() if not info.filename.endswith("/")
                         and not info.filename.endswith(".dist-info/RECORD"))
    return count


def assert_pip_tree(target, pip_tree, label):
    """``target`` is pip's tree (tests/workerkit.py target_tree), complete, every RECORD
    row true."""
    differences = diff_trees(pip_tree, target_tree(target), "pip", label)
    assert not differences, "\n".join(differences)
    assert strictly_complete(str(target)) == []
    for dist_info in kit.dist_info_dirs(str(target)):
        assert kit.record_problems(str(target), dist_info) == [], dist_info


def odd_compression_wheel(folder):
    """oddzip: members compressed with bzip2 and lzma (zipfile streams them, in the worker),
    one of 1.5 MB, and a stored member with mode 755."""
    import random
    words = random.Random(7).choices(["alpha", "beta", "gamma", "delta", "\n"], k=300000)
    path = write_wheel(folder, ODD_COMPRESSION, "1.0", files={
        "oddzip/__init__.py": "", "oddzip/notes.txt": "lzma-compressed notes\n" * 500,
        "oddzip/words.txt": (" ".join(words) * 2)[:1536 * 1024], "oddzip/tool.sh": "#!/bin/sh\n"})
    methods = {"oddzip/notes.txt": zipfile.ZIP_LZMA, "oddzip/words.txt": zipfile.ZIP_BZIP2,
               "oddzip/tool.sh": zipfile.ZIP_STORED}
    with zipfile.ZipFile(str(path)) as source:
        items = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(str(path), "w") as out:
        for info, data in items:
            info.compress_type = methods.get(info.filename, zipfile.ZIP_DEFLATED)
            out.writestr(info, data)
    kit.set_member_mode(path, "oddzip/tool.sh", 0o755)
    with zipfile.ZipFile(str(path)) as check:
        assert dict((name, check.getinfo(name).compress_type) for name in methods) == methods
        assert check.getinfo("oddzip/words.txt").file_size > bootstrap._CHUNK
    return path


@pytest.fixture(scope="module")
def parity(tmp_path_factory):
    """The install-parity wheels with two stubs and oddzip in one bundle, pip's --target tree
    of them, and the number of members bootstrap extracts."""
    if sys.version_info[:2] != (3, 11):
        pytest.skip("the install-parity wheels are cp311")
    folder = realwheels.require_set("install-parity")
    base = tmp_path_factory.mktemp("parity")
    bundle = base / "bundle"
    bundle.mkdir()
    for name in sorted(os.listdir(folder)):
        shutil.copy(os.path.join(folder, name), str(bundle))
    for name, version in PARITY_STUBS:
        write_wheel(bundle, name, version)
    odd_compression_wheel(bundle)
    pip_target(bundle, ALL_NAMES, base / "pip")
    tree = target_tree(base / "pip")
    assert any(path.startswith("bin/") for path in tree)  # the cases the set is chosen for
    assert any(path.startswith(OUR_HEADERS + "/") for path in tree)
    return {"bundle": bundle, "pip": tree, "members": member_count(bundle)}


# -- 1. the same tree -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def through_workers(parity, tmp_path_factory):
    """The parity bundle installed through workers and through threads."""
    base = tmp_path_factory.mktemp("same")
    out = {}
    for mode in ("workers", "threads"):
        area = base / mode
        area.mkdir()
        before = children()
        with pytest.MonkeyPatch.context() as patch:
            spy = Spy(patch, workers=mode == "workers")
            report = install(parity["bundle"], area / "target", require=ALL_NAMES)
        out[mode] = {"report": report, "spy": spy, "target": area / "target",
                     "children_before": before}
    return out


@needs_cp311
class TestSameTree:
    def test_workers_really_extract_every_member(self, through_workers, parity):
        spy = through_workers["workers"]["spy"]
        assert len(spy.started) == 2 and len(spy.processes) == 2, spy.started
        assert [p.returncode for p in spy.processes] == [0, 0]
        assert spy.here == 0 and spy.by_workers == parity["members"]
        assert_all_waited(spy, through_workers["workers"]["children_before"])
        threads = through_workers["threads"]["spy"]
        assert threads.started == [] and threads.here == parity["members"]

    def test_the_report_is_ok_and_names_every_package(self, through_workers):
        for mode in ("workers", "threads"):
            report = through_workers[mode]["report"]
            assert report["problems"] == [], (mode, report["problems"])
            assert sorted(item["name"] for item in report["installed"]) == sorted(
                bootstrap.canonicalize_name(name) for name in ALL_NAMES), mode

    def test_tree_equals_pips(self, through_workers, parity):
        """Files, bytes (shebangs too), modes (executable members and scripts), RECORD rows
        (hash and size of every file, in --target terms)."""
        assert_pip_tree(through_workers["workers"]["target"], parity["pip"], "workers")

    def test_tree_equals_the_thread_paths_byte_for_byte(self, through_workers):
        workers = snapshot(str(through_workers["workers"]["target"]))
        threads = snapshot(str(through_workers["threads"]["target"]))
        differences = diff_trees(threads, workers, "threads", "workers")
        assert not differences, "\n".join(differences)

    def test_members_zipfile_reads_are_whole(self, through_workers):
        """bzip2 and lzma members (one larger than a chunk), and a stored executable one."""
        target = through_workers["workers"]["target"] / "oddzip"
        assert (target / "notes.txt").read_text() == "lzma-compressed notes\n" * 500
        assert (target / "words.txt").stat().st_size == 1536 * 1024
        assert (target / "tool.sh").stat().st_mode & 0o777 == 0o755

    def test_the_streamed_member_is_whole_and_executable(self, through_workers):
        """greenlet's extension (1.4 MB) is larger than one chunk: raw.stream() in a worker."""
        target = through_workers["workers"]["target"]
        found = [name for name in os.listdir(str(target / "greenlet"))
                 if name.startswith("_greenlet.") and name.endswith(".so")]
        assert len(found) == 1, found
        path = target / "greenlet" / found[0]
        assert path.stat().st_size > bootstrap._CHUNK
        assert path.stat().st_mode & 0o777 == 0o755


class TestWhenWorkers:
    """Workers only where they can help: never for one job, never where no process starts."""

    @pytest.mark.parametrize("jobs,processes", [(1, True), (2, False)],
                             ids=["one-job", "no-processes"])
    def test_threads_extract_instead(self, tmp_path, make_wheel, monkeypatch, jobs,
                                     processes):
        make_wheel("small", "1.0", files=dict(("small/m%d.py" % i, "m = %d\n" % i)
                                              for i in range(10)))
        spy = Spy(monkeypatch)
        monkeypatch.setattr(bootstrap, "_can_start_processes", lambda: processes)
        report = bootstrap.install([str(tmp_path / "wheels")], target=str(tmp_path / "t"),
                                   jobs=jobs, verify=False, work_dir=str(tmp_path / "work"),
                                   progress=lambda *args: None)
        assert report["problems"] == [] and len(report["installed"]) == 1, report
        assert spy.started == [] and spy.here == member_count(tmp_path / "wheels")
        assert strictly_complete(str(tmp_path / "t")) == []

    @pytest.mark.parametrize("above", [0, 1], ids=["at-the-threshold", "one-below"])
    def test_workers_from_the_threshold_on(self, tmp_path, make_wheel, monkeypatch, above):
        """_WORKER_MEMBERS files or more across the plan: workers; one fewer: threads."""
        make_wheel("small", "1.0", files=dict(("small/m%d.py" % i, "m = %d\n" % i)
                                              for i in range(10)))
        spy = Spy(monkeypatch)
        members = member_count(tmp_path / "wheels")
        monkeypatch.setattr(bootstrap, "_WORKER_MEMBERS", members + above)
        report = bootstrap.install([str(tmp_path / "wheels")], target=str(tmp_path / "t"),
                                   jobs=2, verify=False, work_dir=str(tmp_path / "work"),
                                   progress=lambda *args: None)
        assert report["problems"] == [] and len(report["installed"]) == 1, report
        if above:
            assert spy.started == [] and spy.here == members
        else:
            assert spy.processes and spy.here == 0 and spy.by_workers == members


# -- 2. workers that die --------------------------------------------------------------------------

#: Appended to the worker's module code: in its second job, the worker writes its first
#: member's file with the wrong bytes (far more of them than the member has), then SIGKILLs
#: itself: a worker that dies mid-job, leaving a wrong file that the rerun must truncate.
DIES_IN_ITS_SECOND_JOB = r'''
import signal as _test_signal
_test_jobs = []
_test_extract = _extract_members


def _extract_members(path, staging, members, shebang):
    _test_jobs.append(len(members))
    if len(_test_jobs) == 2:
        first = members[0]
        _write_new_file(_staged_path(staging, first.key, first.relative, set()),
                        b"left by a worker killed mid-job\n" * 50000, first.executable)
        os.kill(os.getpid(), _test_signal.SIGKILL)
    return _test_extract(path, staging, members, shebang)
'''


@needs_cp311
class TestDeadWorkers:
    def _install(self, parity, tmp_path, monkeypatch, start=None):
        before = children()
        spy = Spy(monkeypatch, start=start)
        report = install(parity["bundle"], tmp_path / "target", require=ALL_NAMES)
        assert report["problems"] == [], report["problems"]
        assert len(report["installed"]) == len(ALL_NAMES)
        assert_pip_tree(tmp_path / "target", parity["pip"], "bootstrap")
        assert_all_waited(spy, before)
        assert len(spy.started) == 2, spy.started  # one per extraction thread, never again
        assert spy.here + spy.by_workers == parity["members"]
        return spy

    def test_a_worker_thatexits_at_once(self, parity, tmp_path, monkeypatch):
        spy = self._install(parity, tmp_path, monkeypatch, start=exits_at_once)
        assert [p.returncode for p in spy.processes] == [1, 1]
        assert spy.by_workers == 0 and spy.here == parity["members"]

    def test_a_worker_killed_in_its_second_job(self, parity, tmp_path, monkeypatch):
        with open(BOOTSTRAP_PY) as f:
            code = compile(f.read() + DIES_IN_ITS_SECOND_JOB, "<string>", "exec")
        monkeypatch.setattr(bootstrap, "_MODULE_CODE", code)
        spy = self._install(parity, tmp_path, monkeypatch)
        assert len(spy.processes) == 2
        for process in spy.processes:
            jobs = spy.jobs[process.pid]
            assert jobs in (1, 2), spy.jobs  # never a job after it died
            assert process.returncode == (-signal.SIGKILL if jobs == 2 else 0), (
                process.returncode, jobs)
        assert 2 in spy.jobs.values(), spy.jobs  # 9+ jobs on 2 threads: one sent a second
        assert 0 < spy.by_workers and 0 < spy.here

    def test_no_interpreter_behind_sys_executable(self, parity, tmp_path, monkeypatch):
        spy = self._install(parity, tmp_path, monkeypatch,
                            start=behind(str(tmp_path / "no-such-python")))
        assert spy.started == [None, None]
        assert spy.by_workers == 0 and spy.here == parity["members"]

    def test_this_module_cannot_be_marshalled_for_it(self, parity, tmp_path, monkeypatch):
        """At a memory limit (`ulimit -v`), marshal.dumps of this module fails as CPython 3.11
        does when its table cannot grow: ValueError("unmarshallable object"). The worker is
        ended and its thread extracts here: never "the wheel cannot be installed"."""
        import marshal

        def dumps(value, *args):
            raise ValueError("unmarshallable object")
        monkeypatch.setattr(marshal, "dumps", dumps)
        spy = self._install(parity, tmp_path, monkeypatch)
        assert spy.started == [None, None]
        assert spy.by_workers == 0 and spy.here == parity["members"]

    def test_another_python_version_behind_sys_executable(self, parity, tmp_path,
                                                          monkeypatch):
        other = find_python("3.10") or find_python("3.12")
        if other is None:
            pytest.skip("no CPython 3.10 or 3.12 on this machine to stand behind "
                        "sys.executable")
        spy = self._install(parity, tmp_path, monkeypatch, start=behind(other))
        assert spy.started == [None, None]  # it exits (3) on the version check: ended, None
        assert spy.by_workers == 0 and spy.here == parity["members"]


# -- 3. errors come back as data ------------------------------------------------------------------


def _lie_about_size(wheel, member, declared):
    """Patch ``member``'s uncompressed size to ``declared`` in its local header and in the
    central directory of a zip written by zipfile (the data stays what it was)."""
    data = bytearray(wheel.read_bytes())
    with zipfile.ZipFile(str(wheel)) as archive:
        info = archive.getinfo(member)
    struct.pack_into("<I", data, info.header_offset + 22, declared)
    name = member.encode("utf-8")
    assert info.compress_type == zipfile.ZIP_DEFLATED, info
    at = data.find(b"PK\x01\x02")
    while at != -1:
        length = struct.unpack_from("<H", data, at + 28)[0]
        if bytes(data[at + 46:at + 46 + length]) == name:
            struct.pack_into("<I", data, at + 24, declared)
            break
        at = data.find(b"PK\x01\x02", at + 4)
    else:
        raise AssertionError("no central directory entry for %s" % member)
    wheel.write_bytes(bytes(data))
    with zipfile.ZipFile(str(wheel)) as archive:
        assert archive.getinfo(member).file_size == declared


def _bad_crc_without_hash(wheel, member):
    """RECORD's row of ``member`` without a hash, and its CRC-32 wrong in both headers."""
    with zipfile.ZipFile(str(wheel)) as archive:
        items = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(str(wheel), "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in items:
            if info.filename.endswith(".dist-info/RECORD"):
                data = b"".join(member.encode("utf-8") + b",,\r\n" if line.startswith(
                    member.encode("utf-8") + b",") else line
                    for line in data.splitlines(True))
            out.writestr(info, data)
    raw = wheel.read_bytes()
    with zipfile.ZipFile(str(wheel)) as archive:
        crc = archive.getinfo(member).CRC
    good, bad = struct.pack("<I", crc), struct.pack("<I", crc ^ 0x5A5A5A5A)
    assert raw.count(good) == 2, "the CRC must be found in both headers, only there"
    wheel.write_bytes(raw.replace(good, bad))


def _problems(report, target):
    """The report's problems with the target's path made neutral (two runs, two targets)."""
    return repr(report["problems"]).replace(str(target), "TARGET")


class TestErrorsAsData:
    """Each bundle is installed through workers and through threads; both must report the
    same Problem (code, subject, message, fix), leave nothing of that wheel, install the
    rest, and change nothing outside the target."""

    def _both(self, bundle, tmp_path, before_install=None, at_first_job=None):
        """``at_first_job(target)`` runs as the first extraction job is handed out (to a
        worker, or to _extract_members in this process)."""
        out = {}
        for mode in ("workers", "threads"):
            area = tmp_path / mode
            target = area / "target"
            target.mkdir(parents=True)
            (area / "target-work").mkdir()
            if before_install is not None:
                before_install(target)
            (area / "own.txt").write_text("the user's own file\n")
            outside = snapshot(str(area), skip=("target", "__pycache__"))
            inside = snapshot(str(target))
            before = children()
            with pytest.MonkeyPatch.context() as patch:
                spy = Spy(patch, workers=mode == "workers")
                if at_first_job is not None:
                    self._first_job(patch, mode, functools.partial(at_first_job, target))
                report = install(bundle, target)
            after = snapshot(str(area), skip=("target", "__pycache__"))
            activation = after.pop("target-activate.pth", None)
            assert activation == outside.pop("target-activate.pth", activation)
            assert diff_trees(outside, after, "before", "after") == [], mode
            assert_all_waited(spy, before)
            if mode == "workers":
                # a worker per thread that got a chunk; every member written by one
                assert spy.processes and None not in spy.started, spy.started
                assert spy.here == 0, spy.here
            else:
                assert spy.started == []
            out[mode] = {"report": report, "target": target, "inside": inside, "spy": spy}
        assert _problems(out["workers"]["report"], out["workers"]["target"]) == _problems(
            out["threads"]["report"], out["threads"]["target"])
        return out["workers"]

    @staticmethod
    def _first_job(patch, mode, action):
        name = "_write_frame" if mode == "workers" else "_extract_members"
        plain, done = getattr(bootstrap, name), []

        def first(*args):
            if not done:
                done.append(action())
            return plain(*args)
        patch.setattr(bootstrap, name, first)

    def _nothing_of(self, run, name, others):
        target = str(run["target"])
        assert installed_versions(target) == others
        assert [p for p in kit.files_under(target, skip=())
                if name in os.path.relpath(p, target)] == []
        assert not os.path.exists(os.path.join(target, STAGING_DIR))
        assert strictly_complete(target) == []

    def test_record_hash_mismatch(self, tmp_path, make_wheel):
        make_wheel("tampered", "1.0", bad_hash=True, files={
            "tampered/%03d.py" % i: "x = %d\n" % i for i in range(20)})
        make_wheel("independent", "1.0")
        run = self._both(tmp_path / "wheels", tmp_path)
        problems = run["report"]["problems"]
        assert [(p["code"], p["subject"]) for p in problems] == [
            ("hash-mismatch", "tampered-1.0-py3-none-any.whl")], problems
        assert sorted(set(run["spy"].outcomes)) == ["done"]  # mismatches are data already
        self._nothing_of(run, "tampered", {"independent": "1.0"})

    @pytest.mark.parametrize("declared", [1000, bootstrap._CHUNK + 4096],
                             ids=["read", "streamed"])
    def test_decompression_bomb_member(self, tmp_path, make_wheel, declared):
        """A deflated member of 3 MB of zeros whose headers say ``declared`` bytes."""
        wheel = make_wheel("bomb", "1.0", files={"bomb/__init__.py": "",
                                                 "bomb/blob.bin": b"\0" * (3 * 1024 * 1024)})
        _lie_about_size(wheel, "bomb/blob.bin", declared)
        make_wheel("independent", "1.0")
        run = self._both(tmp_path / "wheels", tmp_path)
        problems = run["report"]["problems"]
        assert [(p["code"], p["subject"]) for p in problems] == [
            ("unsafe-archive-member", wheel.name)], problems
        assert "'bomb/blob.bin' inflates to more than the %d bytes it declares" % declared in \
            problems[0]["message"], problems
        assert "coded" in run["spy"].outcomes  # the worker sent the BootstrapError's fields
        self._nothing_of(run, "bomb", {"independent": "1.0"})

    def test_bad_crc_without_a_record_hash(self, tmp_path, make_wheel):
        """No RECORD hash to check, so the CRC-32 is: the wheel is corrupt, and said so."""
        wheel = make_wheel("crcpkg", "1.0", files={"crcpkg/__init__.py": "",
                                                   "crcpkg/data.txt": "payload\n" * 100})
        _bad_crc_without_hash(wheel, "crcpkg/data.txt")
        make_wheel("independent", "1.0")
        run = self._both(tmp_path / "wheels", tmp_path)
        problems = run["report"]["problems"]
        assert [(p["code"], p["subject"]) for p in problems] == [
            ("corrupt-archive", wheel.name)], problems
        assert "bad CRC-32 for crcpkg/data.txt" in problems[0]["message"], problems
        assert "upload it again" in problems[0]["message"], problems
        # made an ArchiveError where the member is read, so it travels as its fields
        assert "coded" in run["spy"].outcomes
        self._nothing_of(run, "crcpkg", {"independent": "1.0"})

    def test_full_disk_while_a_worker_writes(self, tmp_path, make_wheel, mounts):
        """A 1 MB tmpfs target that already holds a package; a wheel of 3 MB (a streamed
        member, and small ones): ENOSPC in the worker, the target exactly as it was."""
        make_wheel("already", "1.0")
        first = tmp_path / "wheels"
        big = tmp_path / "big"
        write_wheel(big, "bigpkg", "1.0", files=dict(
            [("bigpkg/__init__.py", ""), ("bigpkg/blob.bin", os.urandom(3 * 1024 * 1024))]
            + [("bigpkg/m%02d.py" % i, "v = %d\n" % i) for i in range(20)]))

        def mount_and_fill(target):
            mounts.tmpfs(target, "1m")
            report = install(first, target)
            assert report["problems"] == [] and len(report["installed"]) == 1, report

        run = self._both(big, tmp_path, before_install=mount_and_fill)
        _refused_as_not_writable(run, "bigpkg-1.0-py3-none-any.whl", "no space left")
        assert snapshot(str(run["target"])) == run["inside"]

    def test_read_only_staging_folder(self, tmp_path, make_wheel, mounts):
        """The target's file system turns read-only once the staging folder is made: EROFS
        in the worker, as in a thread."""
        make_wheel("ropkg", "1.0", files=dict(("ropkg/m%02d.py" % i, "v = %d\n" % i)
                                              for i in range(20)))

        def read_only(target):
            proc = subprocess.run(["mount", "-o", "remount,ro", str(target)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  universal_newlines=True)
            assert proc.returncode == 0, proc.stdout

        run = self._both(tmp_path / "wheels", tmp_path,
                         before_install=lambda target: mounts.tmpfs(target, "4m"),
                         at_first_job=read_only)
        _refused_as_not_writable(run, "ropkg-1.0-py3-none-any.whl", "no permission to write")
        after = snapshot(str(run["target"]))
        added = dict((path, after[path]) for path in set(after) - set(run["inside"]))
        # what prepare() made before the file system turned read-only: the empty staging
        # folder, which nothing can remove now
        assert sorted(added) == [STAGING_DIR, STAGING_DIR + "/ropkg-1.0"], added
        assert all(entry[0] == "dir" for entry in added.values()), added
        assert dict((path, after[path]) for path in run["inside"]) == run["inside"]


def _refused_as_not_writable(run, wheel, words):
    """The one problem of ``run``: ``wheel`` not writable (``words`` say why), from the OSError
    a worker sent back pickled with its errno; nothing installed."""
    problems = run["report"]["problems"]
    assert [(p["code"], p["subject"]) for p in problems] == [("not-writable", wheel)], problems
    assert words in problems[0]["message"], problems
    assert "raised" in run["spy"].outcomes
    assert run["report"]["installed"] == []


# -- 4. the exec() entry of a notebook cell -------------------------------------------------------

#: A fresh interpreter runs what a notebook cell runs, exec(open(path).read()) in a namespace
#: whose __name__ is __main__, then installs through workers with the module it is left with.
EXEC_DRIVER = r'''
import json, sys
namespace = {"__name__": "__main__"}
exec(open(sys.argv[1]).read(), namespace)
bootstrap = namespace["bootstrap"]
bootstrap._WORKER_MEMBERS = 0
started, here = [], []
plain_start, plain_extract = bootstrap._start_worker, bootstrap._extract_members


def start():
    process = plain_start()
    started.append(process)
    return process


def extract(path, staging, members, shebang):
    here.append(len(members))
    return plain_extract(path, staging, members, shebang)


bootstrap._start_worker, bootstrap._extract_members = start, extract
report = bootstrap.install([sys.argv[2]], require=sys.argv[5:], target=sys.argv[3], jobs=2,
                           verify=False, work_dir=sys.argv[4], progress=lambda *args: None)
print("RESULT " + json.dumps({
    "problems": report["problems"], "installed": len(report["installed"]),
    "code": bootstrap._MODULE_CODE.co_filename, "file": getattr(bootstrap, "__file__", None),
    "workers": [None if p is None else p.returncode for p in started], "here": sum(here)}))
'''


@needs_cp311
class TestExecEntry:
    def test_workers_run_the_code_of_an_exec_cell(self, parity, tmp_path):
        cwd = tmp_path / "notebook"
        cwd.mkdir()
        target, work = tmp_path / "target", tmp_path / "work"
        proc = run([sys.executable, "-c", EXEC_DRIVER, BOOTSTRAP_PY, parity["bundle"], target,
                    work] + list(ALL_NAMES), cwd=cwd, env=clean_env())
        assert proc.returncode == 0, proc.stderr
        lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
        assert len(lines) == 1, proc.stdout
        result = json.loads(lines[0][len("RESULT "):])
        assert result["code"] == "<string>" and result["file"] is None, result
        assert result["problems"] == [] and result["installed"] == len(ALL_NAMES), result
        assert result["workers"] == [0, 0], result  # both started, both ended well
        assert result["here"] == 0, result  # every member written by a worker
        assert_pip_tree(target, parity["pip"], "exec")


# -- 5. the installing process killed while its workers extract -----------------------------------


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    """Ten made wheels of 300 small modules each (past _WORKER_MEMBERS, so a plain CLI
    install with 2 jobs extracts through workers) and pip's --target tree of them."""
    base = tmp_path_factory.mktemp("many")
    bundle = base / "bundle"
    names = []
    for i in range(10):
        name = "bulk%d" % i
        files = dict(("%s/m%03d.py" % (name, j), ("v = %d\n" % j) * 40) for j in range(300))
        files["%s/__init__.py" % name] = ""
        write_wheel(bundle, name, "1.0", files=files)
        names.append(name)
    members = member_count(bundle)
    assert members >= bootstrap._WORKER_MEMBERS, members
    pip_target(bundle, names, base / "pip")
    return {"bundle": bundle, "names": names, "pip": target_tree(base / "pip")}


def _state(pid):
    """The process's state letter, or None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            text = f.read()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()[0]


class TestParentKilled:
    """The installing process dies; its workers do not outlive it (busy ones meet a broken
    pipe, idle ones the end of their stdin). Nothing is half installed; a rerun finishes."""

    def _killed_then_rerun(self, many, tmp_path, kill_at):
        """The CLI with 2 jobs SIGKILLed at ``kill_at`` (installkit's KILL_DRIVER: frame, just
        after a job is sent to a worker once both workers run, so that one is writing members;
        ready, just before the journal marks a package ready), then the same command again."""
        target = tmp_path / "target"
        proc, _ = kit.run_hooked_install(many["bundle"], target, "--jobs", "2",
                                         KILL_AT=kill_at, KILL_BY="SIGKILL")
        assert proc.returncode == -signal.SIGKILL, proc
        lines = [line.split()[1:] for line in proc.stderr.splitlines()
                 if line.startswith("WORKERS")]
        assert len(lines) == 1, proc.stderr
        workers = [int(pid) for pid in lines[0]]
        deadline = time.monotonic() + 30  # they exit at once; this only bounds a hang
        while time.monotonic() < deadline and any(
                _state(pid) not in (None, "Z") for pid in workers):
            time.sleep(0.01)
        running = dict((pid, _state(pid)) for pid in workers
                       if _state(pid) not in (None, "Z"))
        assert running == {}, "workers still running after their parent died: %s" % running
        assert half_installed(str(target)) == []
        rerun = kit.Result(run([sys.executable, BOOTSTRAP_PY] + kit.install_args(
            many["bundle"], target, "--jobs", "2")))
        assert rerun.returncode == 0, rerun
        assert rerun.codes() == [], rerun
        assert installed_versions(str(target)) == dict((n, "1.0") for n in many["names"])
        assert_pip_tree(target, many["pip"], "rerun")
        return workers

    def test_killed_while_workers_write(self, many, tmp_path):
        """SIGKILLed just after a job went to a worker, the second job sent once both run
        (of ten jobs: more are to come)."""
        workers = self._killed_then_rerun(many, tmp_path, "frame:2")
        assert len(workers) == 2, workers

    def test_killed_once_every_member_is_written(self, many, tmp_path):
        """SIGKILLed as it is about to journal the last package ready: every job is done,
        both workers wait for the next one, and their stdin ends."""
        workers = self._killed_then_rerun(many, tmp_path, "ready:%d" % len(many["names"]))
        assert len(workers) == 2, workers


# -- 6. Warming: one worker compiles ahead of the verifying import -----------------------------
class TestWarming:
    """With verification, once every package is placed, one worker walks what the roots'
    imports run and compiles it (tests/test_smoke.py holds the walk itself against an
    interpreter's import on every Python); the report is the same as without it."""

    def _install(self, tmp_path, make_wheel, monkeypatch, warm=True):
        make_wheel("warmroot", "1.0", requires=["warmdep"], files={
            "warmroot/__init__.py": "from . import inner\nimport warmdep\n",
            "warmroot/inner.py": "import warmdep.sub\n"})
        make_wheel("warmdep", "1.0", files={"warmdep/__init__.py": "",
                                            "warmdep/sub.py": "VALUE = 1\n"})
        walks, from_workers = [], []
        plain, plain_outcome = bootstrap._ExtractionWorkers.warm, bootstrap._worker_outcome

        def warm_spy(workers, modules, folders, stop):
            walks.append((list(modules), list(folders), plain(workers, modules, folders, stop)))
            return walks[-1][2]

        def outcome_spy(outcome):  # what came back over a worker's pipe, not done here
            from_workers.append(plain_outcome(outcome))
            return from_workers[-1]
        monkeypatch.setattr(bootstrap, "_WORKER_MEMBERS", 0)
        # the install makes its target importable here (usable at once): not for later tests
        monkeypatch.setattr(sys, "path", list(sys.path))
        monkeypatch.setattr(bootstrap._ExtractionWorkers, "warm", warm_spy)
        monkeypatch.setattr(bootstrap, "_worker_outcome", outcome_spy)
        if not warm:
            monkeypatch.setattr(bootstrap._Installer, "_start_warming", lambda self: None)
        target = tmp_path / ("target-%s" % warm)
        report = bootstrap.install([str(tmp_path / "wheels")], require=["warmroot"],
                                   target=str(target), progress=lambda *a: None, jobs=2)
        return report, walks, target, from_workers

    def test_a_worker_walks_the_roots_imports_in_the_target(self, tmp_path, make_wheel,
                                                            monkeypatch):
        report, walks, target, from_workers = self._install(tmp_path, make_wheel, monkeypatch)
        assert report["status"] == "ok", report["problems"]
        assert len(walks) == 1
        modules, folders, count = walks[0]
        assert modules == ["warmroot"] and folders == [str(target)]
        # warmroot, warmroot.inner, warmdep, warmdep.sub: compiled by the walk, or found
        # compiled by the verifier that got there first (both count); walked in a worker,
        # whose only outcome that is a count is the walk's
        assert count == 4
        assert [r for r in from_workers if isinstance(r, int)] == [4]
        assert sorted(p.name.split(".")[0] for p in target.rglob("*.pyc")) == [
            "__init__", "__init__", "inner", "sub"]

    def test_the_report_is_the_one_without_warming(self, tmp_path, make_wheel, monkeypatch):
        with_warming, _, _, _ = self._install(tmp_path, make_wheel, monkeypatch)
        without, walks, _, _ = self._install(tmp_path, make_wheel, monkeypatch, warm=False)
        assert walks == []
        for report in (with_warming, without):
            assert report["status"] == "ok", report["problems"]
        assert with_warming["problems"] == without["problems"] == []
        assert with_warming["notes"] == without["notes"]
        assert [(i["name"], i["version"]) for i in with_warming["installed"]] == [
            (i["name"], i["version"]) for i in without["installed"]]

    def test_an_interrupt_while_unpacking_unpacks_nothing_more(self, tmp_path, make_wheel,
                                                               monkeypatch):
        """Ctrl-C while the packages are being unpacked (the first is being placed): the
        interrupt reaches the caller once the chunks the threads hold are done; those not
        begun are never unpacked (before, every queued chunk was unpacked first: the whole
        bundle, however long), nothing is placed, and the next run finds no staging left."""
        extract, begun = bootstrap._WheelInstall.extract, []

        def slow(installation, members, **keywords):
            begun.append(installation.wheel.name)
            time.sleep(0.2)
            return extract(installation, members, **keywords)

        def interrupted(installation, **keywords):
            raise KeyboardInterrupt
        for index in range(20):
            make_wheel("stop%02d" % index, "1.0")
        monkeypatch.setattr(bootstrap._WheelInstall, "extract", slow)
        monkeypatch.setattr(bootstrap._WheelInstall, "finish", interrupted)
        target = tmp_path / "target"
        with pytest.raises(KeyboardInterrupt):
            bootstrap.install([str(tmp_path / "wheels")], target=str(target), verify=False,
                              progress=lambda *a: None, jobs=2)
        monkeypatch.undo()
        assert 1 <= len(begun) <= 4, begun  # the two threads' chunks then, no more
        again = bootstrap.install([str(tmp_path / "wheels")], target=str(target),
                                  verify=False, progress=lambda *a: None)
        assert again["status"] == "ok" and len(again["installed"]) == 20, again["problems"]
        assert bootstrap.STAGING_DIR not in os.listdir(str(target))

    def test_an_interrupt_after_the_install_ends_every_child(self, tmp_path, make_wheel,
                                                             monkeypatch):
        """Ctrl-C in a notebook once the packages are placed (while they are made usable):
        the interrupt reaches the caller, and the verifying interpreter, the warming and the
        workers end with it; no child is left running in the kernel."""
        before = children()
        spy = Spy(monkeypatch)
        started = []
        plain_start = bootstrap._Verifier.start

        def start(verifier, held):
            plain_start(verifier, held)
            started.append(verifier.process)

        def interrupted(installer, profile):
            raise KeyboardInterrupt
        monkeypatch.setattr(bootstrap._Verifier, "start", start)
        monkeypatch.setattr(bootstrap, "_make_usable", interrupted)
        make_wheel("warmroot", "1.0", files={"warmroot/__init__.py": "import json\n"})
        with pytest.raises(KeyboardInterrupt):
            bootstrap.install([str(tmp_path / "wheels")], require=["warmroot"],
                              target=str(tmp_path / "target"), progress=lambda *a: None,
                              jobs=2)
        assert spy.processes and [p for p in started if p is not None], (spy.started, started)
        for verifier in started:
            assert verifier.returncode is not None, "the verifier was never waited for"
        assert_all_waited(spy, before)
