"""Helpers of the tests of bootstrap's extraction workers and warming (tests/test_workers.py,
test_warming.py, test_sandbox_limits.py): spying on the worker path in this process, the child
processes it leaves, and pip's --target tree as bootstrap lays its --target out.

* ``Spy(monkeypatch)``: forces the worker path (``_WORKER_MEMBERS = 0``; ``workers=False``: the
  thread path) and records every ``_start_worker`` result, the members written here, the
  members a worker wrote, the jobs sent to each worker and the kind of each outcome.
* ``children()`` / ``children_of(pid)``: child processes from /proc, zombies included;
  ``assert_all_waited(spy, before)``: every worker reaped, no new child left.
* ``exits_at_once()`` / ``behind(executable)``: a ``_start_worker`` whose worker is gone before
  its first job, or that starts another interpreter behind sys.executable.
* ``pip_target(bundle, names, target)``: ``pip install --no-deps --target`` from the bundle
  only, offline, with the pip wheel this interpreter's ensurepip bundles;
  ``target_tree(root)``: a --target tree normalised (INSTALLER, RECORD rows in --target terms,
  pip's header folder where --target puts it) to hold one against the other.

Runs in the test process: it patches the imported ``bootstrap`` module through pytest's
monkeypatch.
"""

import csv
import io
import os
import subprocess
import sys
import threading

import pytest

import bootstrap
from installkit import bundled_pip, run, snapshot

#: pip in a venv puts headers under include/site/python3.X/NAME; --target, as bootstrap does
#: it, under include/python/NAME (tests/test_install.py TestDestination)
PIP_HEADERS = "include/site/python%d.%d" % sys.version_info[:2]
OUR_HEADERS = "include/python"


# -- what the extraction path did -----------------------------------------------------------------


#: What turns a worker's outcome into its result here (or raises its error again).
_OUTCOME = "_worker_outcome"


class Spy(object):
    """Records, in this process: every _start_worker result (a Popen, or None), the members
    written here (_extract_members: the thread path, and a thread whose worker is gone), and
    the members a worker wrote (the outcomes this process received). ``workers`` False: the
    thread path (the threshold out of reach)."""

    def __init__(self, patch, workers=True, start=None):
        self.started = []
        self.here = 0
        self.by_workers = 0
        self.jobs = {}  # worker pid -> job frames sent to it
        self.outcomes = []  # the kind of each outcome a worker sent: done, coded, raised
        self.lock = threading.Lock()
        plain_start = start or bootstrap._start_worker
        plain_extract = bootstrap._extract_members
        plain_outcome = getattr(bootstrap, _OUTCOME)
        plain_frame = bootstrap._write_frame

        def start_worker():
            process = plain_start()
            with self.lock:
                self.started.append(process)
            return process

        def extract_members(path, staging, members, shebang):
            with self.lock:
                self.here += len(members)
            return plain_extract(path, staging, members, shebang)

        def worker_outcome(outcome):
            with self.lock:
                self.outcomes.append(outcome[0])
            result = plain_outcome(outcome)
            if isinstance(result, tuple):  # an extraction's (installed, mismatches), not a
                with self.lock:            # warming's count
                    self.by_workers += len(result[0])
            return result

        def write_frame(stream, value):
            with self.lock:
                for process in self.processes:
                    if process.stdin is stream:
                        self.jobs[process.pid] = self.jobs.get(process.pid, 0) + 1
            return plain_frame(stream, value)

        patch.setattr(bootstrap, "_WORKER_MEMBERS", 0 if workers else 10 ** 9)
        patch.setattr(bootstrap, "_start_worker", start_worker)
        patch.setattr(bootstrap, "_extract_members", extract_members)
        patch.setattr(bootstrap, _OUTCOME, worker_outcome)
        patch.setattr(bootstrap, "_write_frame", write_frame)

    @property
    def processes(self):
        return [process for process in self.started if process is not None]


def children():
    """{pid: state} of this process's child processes, zombies included (from /proc)."""
    return children_of(os.getpid())


def children_of(parent):
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                text = f.read()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if int(fields[1]) == parent:
            found[int(entry)] = fields[0]
    return found


def assert_all_waited(spy, before):
    """No child process left: every worker reaped (waited, its pipes closed), no new child of
    this process, zombie or running."""
    for process in spy.processes:
        assert process.returncode is not None, "worker %d was never waited for" % process.pid
        assert process.stdin.closed and process.stdout.closed, process
        with pytest.raises(ChildProcessError):
            os.waitpid(process.pid, os.WNOHANG)
    left = {pid: state for pid, state in children().items() if pid not in before}
    assert left == {}, "child processes left behind (pid: state): %s" % left


# -- workers that are gone ------------------------------------------------------------------------


def exits_at_once():
    """A 'worker' that exits with 1 before reading anything, with the pipes a worker has:
    gone before its first job is sent (which meets a broken pipe)."""
    process = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(1)"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
    process.wait()
    return process


def behind(executable):
    """_start_worker with ``executable`` as sys.executable while it starts the process (the
    rest of the install, shebangs included, keeps the real one)."""
    lock = threading.Lock()
    real = sys.executable
    plain = bootstrap._start_worker

    def start():
        with lock:
            sys.executable = executable
            try:
                return plain()
            finally:
                sys.executable = real
    return start


# -- pip's tree as bootstrap's --target lays it out --------------------------------------------


def pip_target(bundle, names, target):
    """``pip install --no-deps --target TARGET NAMES`` from ``bundle`` only, offline."""
    pip = bundled_pip(sys.executable)
    if pip is None:
        pytest.skip("%s has no bundled pip wheel (ensurepip)" % sys.executable)
    run([sys.executable, os.path.join(pip, "pip"), "install", "--no-deps", "--no-compile",
         "--no-index", "--no-cache-dir", "--find-links", str(bundle), "--target", str(target)]
        + list(names), check=True)


def _target_path(path):
    """A path as --target lays it out: pip's RECORD writes ../../bin/x (relative to its
    temporary lib/python) and headers under include/site/python3.X."""
    if path.startswith("../../"):
        path = path[len("../../"):]
    if path == PIP_HEADERS or path.startswith(PIP_HEADERS + "/"):
        path = OUR_HEADERS + path[len(PIP_HEADERS):]
    return path


def _normalise(relative, content):
    """INSTALLER differs by design; RECORD: its rows (INSTALLER's aside) in --target terms,
    sorted, whatever the line ends."""
    if relative.endswith(".dist-info/INSTALLER"):
        return b"<installer>"
    if relative.endswith(".dist-info/RECORD"):
        rows = sorted(tuple([_target_path(row[0])] + row[1:])
                      for row in csv.reader(io.StringIO(content.decode("utf-8")))
                      if row and not row[0].endswith(".dist-info/INSTALLER"))
        return repr(rows).encode("utf-8")
    return content


def target_tree(root):
    """A --target tree to hold against pip's: normalised contents, pip's header folder moved
    where --target puts it (the same bytes and modes)."""
    tree = {}
    for relative, entry in snapshot(str(root), normalise=_normalise).items():
        if relative in ("include/site", ".bootstrap.lock"):
            continue  # pip's venv-only folder level; bootstrap's lock file (empty)
        tree[_target_path(relative)] = entry
    return tree
