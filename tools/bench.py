#!/usr/bin/env python3
"""The benchmark of sandbox-bootstrap (SPEC section 6). Run by hand; never a test.

    python3 tools/bench.py [--cases inspect,check,install] [--sets bench-web,...]
                           [--runs 21] [--repeat 3] [--tmpfs DIR] [--disk DIR] [--json FILE]

Cases
  inspect  median wall time of ``python -I bootstrap/bootstrap.py inspect --json`` over --runs
           runs for every CPython 3.8-3.13 on this machine, beside the median of
           ``python -I -c pass`` (the interpreter's own start-up) and of ``python -m bootstrap
           inspect --json`` (run in a folder holding a copy of bootstrap.py, whose bytecode
           Python caches), both for the base interpreter and inside a fresh ``--without-pip``
           venv of it.
  check    median of ``bootstrap.py check BUNDLE --json`` on a synthesized bundle of 200 small
           wheels with a dependency graph, beside the same resolution by ``pip install
           --dry-run`` and ``uv pip install --dry-run`` (fewer runs: they are references).
  builder  ``tools/bundle.py ROOTS --profile TARGET`` beside a plain ``pip download
           --only-binary=:all: --platform ... ROOTS`` of the same closure, both against a local
           index on loopback serving the bench-web set (tests/indexkit.py), each run with a
           fresh pip cache (shared by the rounds of one run); medians of --repeat runs.
  install  for each --sets set (pinned real wheels, fetched by tests/realwheels.py), into a
           tmpfs target and a disk target, one interleaved run of --repeat repetitions of:
           bootstrap.py install; pip install --no-index --find-links --no-deps --target (with
           and without bytecode compilation); uv pip install --offline --no-deps --target
           (uv's default is no compilation; a second row with --compile-bytecode); and the
           floor, a plain zipfile extraction of every wheel with 1 and with 2 threads.
           Each run is cold: a fresh empty target, a fresh uv cache and TMPDIR on the target's
           filesystem; on the disk target everything is synced before and after (not timed).
           Printed: the median, the number of files installed, the peak RSS (the process and
           the children it waited for), ``bootstrap / row`` (how many times longer bootstrap
           takes than that row) and ``row / unzip`` (how far the row is from the floor).

  working  time-to-working, the figure a user waits for: for bench-datasci and
           bench-jupyterlab (WORKING names their roots and the first import), into a tmpfs and
           a disk target, --repeat interleaved cold runs of: bootstrap install (default:
           bytecode and import verification; and --no-verify), uv pip install (no bytecode,
           its default) and pip install (bytecode, its default), each followed by the first
           import of the roots in a fresh interpreter that may write bytecode (pip, slow, in
           the first repetition only: a reference). Printed: the
           medians of install, import and their sum, the ratio to uv, the peak RSS of the
           install and the CPU time (user+sys) of every process involved.

Competitors run with pip's machine-wide configuration neutralised (PIP_CONFIG_FILE=/dev/null,
no PIP_*, UV_* or PYTHON* variables: PYTHONDONTWRITEBYTECODE would stop every import from
writing bytecode). pip (latest) and uv live in their own venv .cache/bench-venv, made on the
first run with the python running this script; bootstrap.py runs on that venv's python too.
A case whose bootstrap command does not exist yet is reported with a line and skipped.

Standard library only (plus what it installs into its own venv).
"""

import argparse
import base64
import contextlib
import glob
import hashlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOTSTRAP = os.path.join(ROOT, "bootstrap", "bootstrap.py")
CACHE = os.path.join(ROOT, ".cache")
BENCH_VENV = os.path.join(CACHE, "bench-venv")
DEFAULT_DISK = os.path.join(CACHE, "bench-disk")
DEFAULT_SETS = ("bench-web", "bench-datasci", "bench-jupyterlab")
SUPPORTED = ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13")
SCHEMA = "sandbox-bootstrap.bench/1"

sys.path.insert(0, os.path.join(ROOT, "tests"))
import realwheels  # noqa: E402  (tests/realwheels.py: the pinned real-wheel sets)


# ---------------------------------------------------------------------------------------------
# Running one command
# ---------------------------------------------------------------------------------------------


def clean_env(**extra):
    """This environment without pip's machine configuration, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "PYTHON"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    env.update(extra)
    return env


def run(cmd, env=None, cwd=None, timeout=3600):
    """Run cmd; return {"seconds", "rss_mb", "rc", "out", "err"} (out/err are the text).

    The wall time is taken around spawn and wait4, which also gives the peak RSS of the process
    and of the children it waited for. A run past ``timeout`` seconds is killed.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                env=env, cwd=cwd)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        seconds = time.perf_counter() - start
        proc.returncode = _exit_code(status)
        out.seek(0)
        err.seek(0)
        return {"seconds": seconds, "rss_mb": usage.ru_maxrss / 1024.0, "rc": proc.returncode,
                "cpu": usage.ru_utime + usage.ru_stime,
                "out": out.read().decode("utf-8", "replace"),
                "err": err.read().decode("utf-8", "replace")}


def _exit_code(status):
    """os.waitstatus_to_exitcode, which Python 3.8 lacks: -N for a signal N."""
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)


def last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip()[:160] if lines else ""


def has_command(python, command):
    """Whether bootstrap.py has ``command`` (its --help exits 0)."""
    return run([python, "-I", BOOTSTRAP, command, "--help"], timeout=60)["rc"] == 0


# ---------------------------------------------------------------------------------------------
# Printing
# ---------------------------------------------------------------------------------------------


def table(headers, rows):
    """Rows of strings as an aligned text table (first column left, the others right)."""
    rows = [[_clip(c) for c in row] for row in rows]
    widths = [max(len(str(r[i])) for r in [headers] + rows) for i in range(len(headers))]
    lines = []
    for row in [headers] + rows:
        cells = [str(c).ljust(w) if i == 0 else str(c).rjust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _clip(cell, width=70):
    cell = str(cell)
    return cell if len(cell) <= width else cell[:width - 3] + "..."


def ms(seconds):
    return "-" if seconds is None else "%.1f ms" % (seconds * 1000)


def secs(seconds):
    return "-" if seconds is None else "%.2f s" % seconds


def ratio(a, b):
    return "-" if a is None or b is None or b <= 0 else "%.2fx" % (a / b)


def progress(message):
    print(message, file=sys.stderr, flush=True)


def median(values):
    return statistics.median(values) if values else None


# ---------------------------------------------------------------------------------------------
# The machine: interpreters, filesystems, the bench venv
# ---------------------------------------------------------------------------------------------


def find_interpreters():
    """{"3.X": path} of CPython 3.8-3.13: pyenv's versions first, then python3.X on PATH."""
    versions = os.path.join(os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv")),
                            "versions")
    found = {}
    for minor in SUPPORTED:
        candidates = sorted(glob.glob(os.path.join(versions, minor + ".*", "bin", "python")),
                            reverse=True)
        candidates += [p for p in [shutil.which("python" + minor)] if p]
        for path in candidates:
            probe = run([path, "-I", "-c", "import sys; print(sys.implementation.name, "
                         "'%d.%d' % sys.version_info[:2], sys.version.split()[0])"], timeout=30)
            fields = probe["out"].split()
            if probe["rc"] == 0 and fields[:2] == ["cpython", minor]:
                found[minor] = (path, fields[2])
                break
    return found


def filesystem(path):
    """The filesystem type holding ``path`` (from /proc/mounts), or "unknown"."""
    path, best = os.path.realpath(path), ("", "unknown")
    try:
        with open("/proc/mounts") as mounts:
            for line in mounts:
                fields = line.split()
                point = fields[1].replace("\\040", " ")
                if (path == point or path.startswith(point.rstrip("/") + "/")) \
                        and len(point) >= len(best[0]):
                    best = (point, fields[2])
    except OSError:
        pass
    return best[1]


def default_tmpfs():
    for candidate in ("/mnt/benchtmp", "/dev/shm"):
        if os.path.isdir(candidate) and filesystem(candidate) == "tmpfs":
            return candidate
    return None


def bench_venv():
    """The venv holding the competitors; made (pip upgraded, uv installed) when missing."""
    python = os.path.join(BENCH_VENV, "bin", "python")
    uv = os.path.join(BENCH_VENV, "bin", "uv")
    if not (os.path.exists(python) and os.path.exists(uv)):
        progress("setting up %s (pip, uv) ..." % BENCH_VENV)
        subprocess.run([sys.executable, "-m", "venv", BENCH_VENV], check=True, env=clean_env())
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip", "uv"],
                       check=True, env=clean_env())
    pip_version = run([python, "-m", "pip", "--version"], env=clean_env())["out"].split()[1]
    uv_version = run([uv, "--version"], env=clean_env())["out"].split()[1]
    return {"python": python, "uv": uv, "pip_version": pip_version, "uv_version": uv_version}


def machine_facts(venv):
    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "cpus": os.cpu_count(), "pip": venv["pip_version"], "uv": venv["uv_version"],
            "load_before": os.getloadavg()[0]}


# ---------------------------------------------------------------------------------------------
# Case inspect
# ---------------------------------------------------------------------------------------------


def time_pair(python, runs, label, folder):
    """Interleaved runs of `python -I -c pass`, `python -I bootstrap.py inspect --json` and
    `python -m bootstrap inspect --json` (in ``folder``, a copy of bootstrap.py: -m reads and
    writes the cached bytecode in its __pycache__, which one untimed run fills first)."""
    startup, inspect, module, failure = [], [], [], None
    cpu = {"startup": [], "inspect": [], "module": []}
    as_module = [python, "-E", "-s", "-m", "bootstrap", "inspect", "--json"]
    run(as_module, env=clean_env(), cwd=folder)
    for _ in range(runs):
        bare = run([python, "-I", "-c", "pass"])
        startup.append(bare["seconds"])
        result = run([python, "-I", BOOTSTRAP, "inspect", "--json"])
        cached = run(as_module, env=clean_env(), cwd=folder)
        if result["rc"] != 0 or cached["rc"] != 0:
            bad = result if result["rc"] != 0 else cached
            failure = "exit %d: %s" % (bad["rc"], last_line(bad["err"]))
            break
        inspect.append(result["seconds"])
        module.append(cached["seconds"])
        for key, value in (("startup", bare), ("inspect", result), ("module", cached)):
            cpu[key].append(value["cpu"])
    progress("  inspect %-22s %s, -m %s" % (label, failure or ms(median(inspect)),
                                             ms(median(module))))
    return {"startup": median(startup), "inspect": median(inspect), "module": median(module),
            "failure": failure, "cpu": {key: median(values) for key, values in cpu.items()}}


def case_inspect(args, interpreters):
    results, rows = [], []
    workdir = tempfile.mkdtemp(prefix="bench-inspect-")
    try:
        for minor, (python, full) in sorted(interpreters.items(),
                                            key=lambda kv: tuple(map(int, kv[0].split(".")))):
            venv = os.path.join(workdir, "venv-" + minor)
            subprocess.run([python, "-m", "venv", "--without-pip", venv], check=True,
                           env=clean_env())
            for where, exe in (("base", python), ("venv --without-pip",
                                                   os.path.join(venv, "bin", "python"))):
                folder = tempfile.mkdtemp(prefix="module-", dir=workdir)
                shutil.copy(BOOTSTRAP, folder)
                timing = time_pair(exe, args.runs, "%s %s" % (full, where), folder)
                timing.update({"python": full, "where": where, "runs": args.runs})
                results.append(timing)
                extra = timing["inspect"] - timing["startup"] if timing["inspect"] else None
                rows.append([full, where, ms(timing["startup"]),
                             timing["failure"] or ms(timing["inspect"]), ms(extra),
                             ms(timing["module"]), "%s / %s / %s" % (
                                 ms(timing["cpu"]["startup"]), ms(timing["cpu"]["inspect"]),
                                 ms(timing["cpu"]["module"]))])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n== inspect: median of %d runs (python -I)" % args.runs)
    print(table(["python", "where", "-c pass", "bootstrap.py inspect --json", "difference",
                 "python -m bootstrap (cached bytecode)", "CPU: -c pass / bootstrap.py / -m"],
                rows))
    return results


# ---------------------------------------------------------------------------------------------
# Case check: a synthesized 200-wheel bundle
# ---------------------------------------------------------------------------------------------


def _record_hash(data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def make_wheel(folder, name, version, requires):
    """A small valid py3-none-any wheel: a package of three modules and a full RECORD."""
    module = name.replace("-", "_")
    info = "%s-%s.dist-info" % (module, version)
    metadata = "Metadata-Version: 2.1\nName: %s\nVersion: %s\nRequires-Python: >=3.8\n" % (
        name, version) + "".join("Requires-Dist: %s\n" % r for r in requires)
    members = {
        module + "/__init__.py": "from .core import VALUE\n__version__ = %r\n" % version,
        module + "/core.py": "VALUE = %r\n" % name + "# padding\n" * 40,
        module + "/util.py": "def helper(x):\n    return x * 2\n" * 10,
        info + "/METADATA": metadata,
        info + "/WHEEL": "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\n"
                         "Tag: py3-none-any\n",
        info + "/top_level.txt": module + "\n",
    }
    record = "".join("%s,%s,%d\n" % (path, _record_hash(text.encode()), len(text.encode()))
                     for path, text in members.items()) + info + "/RECORD,,\n"
    members[info + "/RECORD"] = record
    path = os.path.join(folder, "%s-%s-py3-none-any.whl" % (module, version))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as whl:
        for member, text in members.items():
            whl.writestr(zipfile.ZipInfo(member, (1980, 1, 1, 0, 0, 0)), text)
    return path


def make_check_bundle(folder, count=200, seed=20240601):
    """``count`` wheels: 180 projects, 20 of them in two versions, each needing 0-3 earlier ones.

    Requirements carry specifiers, markers and now and then an extra, as real ones do.
    """
    rng = random.Random(seed)
    projects = count - count // 10
    for i in range(projects):
        deps = rng.sample(range(max(0, i - 40), i), min(i, rng.randint(0, 3)))
        requires = ["bench-pkg-%03d>=1.0,<2" % d for d in deps]
        if i % 7 == 3:
            requires.append('bench-pkg-%03d; python_version < "3.0"' % rng.randrange(projects))
        if i % 11 == 5:
            requires.append('bench-pkg-%03d[fast]>=1.0; sys_platform != "emscripten"'
                            % rng.randrange(i or 1))
        make_wheel(folder, "bench-pkg-%03d" % i, "1.0.0", requires)
        if i % 9 == 0 and i // 9 < count // 10:
            make_wheel(folder, "bench-pkg-%03d" % i, "1.1.0", requires)
    return sorted(glob.glob(os.path.join(folder, "*.whl")))


def case_check(args, venv):
    python = venv["python"]
    if not has_command(python, "check"):
        print("\n== check: skipped: bootstrap.py has no check command yet")
        return {"skipped": "bootstrap.py has no check command yet"}
    workdir = tempfile.mkdtemp(prefix="bench-check-")
    try:
        bundle = os.path.join(workdir, "bundle")
        os.mkdir(bundle)
        wheels = make_check_bundle(bundle)
        roots = sorted({os.path.basename(w).split("-")[0].replace("_", "-") for w in wheels})
        target = os.path.join(workdir, "target")
        commands = {
            "bootstrap check": [python, "-I", BOOTSTRAP, "check", bundle, "--json"],
            "pip install --dry-run": [python, "-m", "pip", "install", "--dry-run", "--quiet",
                                      "--ignore-installed", "--no-index", "--find-links", bundle,
                                      "--target", target] + roots,
            "uv pip install --dry-run": [venv["uv"], "pip", "install", "--dry-run", "--quiet",
                                         "--offline", "--no-config", "--no-index",
                                         "--find-links", bundle, "--target", target,
                                         "--python", python] + roots,
        }
        reference_runs = max(3, args.runs // 4)
        times = {name: [] for name in commands}
        failures = {}
        for i in range(args.runs):
            for name, cmd in commands.items():
                if name in failures or (name != "bootstrap check" and i >= reference_runs):
                    continue
                uv_cache = os.path.join(workdir, "uv-cache-%d" % i)  # cold: a new cache each run
                result = run(cmd, env=clean_env(UV_CACHE_DIR=uv_cache))
                shutil.rmtree(uv_cache, ignore_errors=True)
                if result["rc"] not in (0, 1) or (result["rc"] == 1 and name != "bootstrap check"):
                    failures[name] = "exit %d: %s" % (result["rc"], last_line(result["err"]))
                times[name].append(result["seconds"])
        return _report_check(args, wheels, times, failures, reference_runs)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _report_check(args, wheels, times, failures, reference_runs):
    boot = median(times["bootstrap check"]) if "bootstrap check" not in failures else None
    rows = []
    for name, values in times.items():
        runs = len(values)
        value = None if name in failures else median(values)
        rows.append([name, runs, failures.get(name) or ms(value),
                     ratio(boot, value) if name != "bootstrap check" else ""])
    print("\n== check: %d wheels, median (bootstrap: %d runs; references: %d runs)"
          % (len(wheels), args.runs, reference_runs))
    print(table(["command", "runs", "median", "bootstrap / row"], rows))
    return {"wheels": len(wheels), "times": times, "failures": failures}


# ---------------------------------------------------------------------------------------------
# Case install
# ---------------------------------------------------------------------------------------------

#: The floor: extract every member of every wheel, nothing else (no RECORD, no scripts).
UNZIP = r"""
import os, shutil, sys, zipfile
from concurrent.futures import ThreadPoolExecutor
threads, target, wheels = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
def unzip(path):
    with zipfile.ZipFile(path) as whl:
        for info in whl.infolist():
            dest = os.path.join(target, info.filename)
            if info.filename.endswith("/"):
                os.makedirs(dest, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with whl.open(info) as src, open(dest, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
if threads == 1:
    for wheel in wheels:
        unzip(wheel)
else:
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(unzip, wheels))
"""

UNZIP_ROW = "unzip, 1 thread"


def install_commands(venv, wheels, folder, with_bootstrap):
    """{row name: function(target, work) -> argv} of the install case, in display order."""
    py, uv = venv["python"], venv["uv"]
    pip = [py, "-m", "pip", "install", "--no-index", "--find-links", folder, "--no-deps",
           "--no-cache-dir", "--disable-pip-version-check", "--quiet", "--target"]
    uv_pip = [uv, "pip", "install", "--offline", "--no-deps", "--no-config", "--quiet",
              "--python", py, "--target"]
    rows = {}
    if with_bootstrap:
        rows["bootstrap install"] = lambda t: [py, "-I", BOOTSTRAP, "install"] + wheels + [
            "--target", t, "--json", "--no-verify"]
        rows["bootstrap install+verify"] = lambda t: [py, "-I", BOOTSTRAP, "install"] + wheels + [
            "--target", t, "--json"]
    rows.update({
        "pip --no-compile": lambda t: pip + [t, "--no-compile"] + wheels,
        "pip (compiles)": lambda t: pip + [t] + wheels,
        "uv (no compile)": lambda t: uv_pip + [t] + wheels,
        "uv --compile-bytecode": lambda t: uv_pip + [t, "--compile-bytecode"] + wheels,
        UNZIP_ROW: lambda t: [py, "-I", "-c", UNZIP, "1", t] + wheels,
        "unzip, 2 threads": lambda t: [py, "-I", "-c", UNZIP, "2", t] + wheels,
    })
    return rows


def count_files(folder):
    return sum(len(files) for _, _, files in os.walk(folder))


def one_install(name, argv_for, base, on_disk):
    """One cold run of one row under base/: returns the run's result plus its file count."""
    with cold_run(base, on_disk) as (target, tmp, env):
        result = run(argv_for(target), env=env)
        result["files"] = count_files(target) if os.path.isdir(target) else 0
    return result


@contextlib.contextmanager
def cold_run(base, on_disk):
    """(target, tmp, env) of one cold run under base/: a fresh empty target, TMPDIR and uv
    cache, all removed afterwards; on disk, the page cache is flushed before and after."""
    work = tempfile.mkdtemp(prefix="run-", dir=base)
    tmp = os.path.join(work, "tmp")
    os.mkdir(tmp)
    env = clean_env(TMPDIR=tmp, UV_CACHE_DIR=os.path.join(work, "uv-cache"))
    if on_disk:
        os.sync()
    try:
        yield os.path.join(work, "target"), tmp, env
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if on_disk:
            os.sync()


def install_set(set_name, fs_label, base, venv, args, with_bootstrap):
    folder = realwheels.fetch(set_name)
    wheels = sorted(glob.glob(os.path.join(folder, "*.whl")))
    commands = install_commands(venv, wheels, folder, with_bootstrap)
    names = list(commands)
    results = {name: [] for name in names}
    on_disk = fs_label == "disk"
    for rep in range(args.repeat):
        shift = rep % len(names)  # rotate the order so no row always runs first
        for name in names[shift:] + names[:shift]:
            result = one_install(name, commands[name], base, on_disk)
            results[name].append(result)
            progress("  %s %s rep %d/%d  %-24s %s%s" % (
                set_name, fs_label, rep + 1, args.repeat, name, secs(result["seconds"]),
                "" if result["rc"] == 0 else "  FAILED (exit %d)" % result["rc"]))
    return _summarize_install(set_name, fs_label, base, wheels, names, results)


def _summarize_install(set_name, fs_label, base, wheels, names, results):
    summary = {"set": set_name, "filesystem": fs_label, "path": base,
               "fstype": filesystem(base), "wheels": len(wheels),
               "wheel_bytes": sum(os.path.getsize(w) for w in wheels), "rows": {}}
    for name in names:
        ok = [r for r in results[name] if r["rc"] == 0]
        failed = [r for r in results[name] if r["rc"] != 0]
        summary["rows"][name] = {
            "seconds": [r["seconds"] for r in results[name]],
            "median": median([r["seconds"] for r in ok]) if not failed else None,
            "rss_mb": max(r["rss_mb"] for r in results[name]),
            "files": results[name][-1]["files"],
            "failure": ("exit %d: %s" % (failed[0]["rc"], last_line(failed[0]["err"]))
                        if failed else None),
        }
    return summary


def print_install(summary, repeat):
    rows = summary["rows"]
    boot = rows.get("bootstrap install", {}).get("median")
    floor = rows[UNZIP_ROW]["median"]
    lines = []
    for name, row in rows.items():
        lines.append([name, row["failure"] or secs(row["median"]), row["files"],
                      "%.0f MB" % row["rss_mb"],
                      "" if name == "bootstrap install" else ratio(boot, row["median"]),
                      ratio(row["median"], floor)])
    print("\n== install %s (%d wheels, %.0f MB) -> %s target %s (%s), median of %d" % (
        summary["set"], summary["wheels"], summary["wheel_bytes"] / 1e6, summary["filesystem"],
        summary["path"], summary["fstype"], repeat))
    print(table(["row", "median", "files", "peak RSS", "bootstrap / row", "row / unzip"],
                lines))
    if "bootstrap install" not in rows:
        print("(bootstrap install: skipped: bootstrap.py has no install command yet)")


def case_install(args, venv):
    with_bootstrap = has_command(venv["python"], "install")
    if not with_bootstrap:
        print("\n== install: bootstrap.py has no install command yet: its row is skipped")
    targets = []
    if args.tmpfs:
        targets.append(("tmpfs", args.tmpfs))
    else:
        print("\n== install: no tmpfs found (mount one, or pass --tmpfs DIR): tmpfs skipped")
    targets.append(("disk", args.disk))
    summaries = []
    for set_name in args.sets:
        for fs_label, path in targets:
            base = os.path.join(path, "sandbox-bootstrap-bench-%d" % os.getpid())
            os.makedirs(base, exist_ok=True)
            try:
                summary = install_set(set_name, fs_label, base, venv, args, with_bootstrap)
            finally:
                shutil.rmtree(base, ignore_errors=True)
            print_install(summary, args.repeat)
            summaries.append(summary)
    return summaries


# ---------------------------------------------------------------------------------------------
# builder: tools/bundle.py against pip download of the same closure
# ---------------------------------------------------------------------------------------------

BUILDER_SET = "bench-web"
BUILDER_ROOTS = ["fastapi", "uvicorn[standard]", "httpx", "requests", "flask", "sqlalchemy",
                 "pydantic[email]", "jinja2"]
BUILDER_TARGET = "cp311-cp311-manylinux_2_17_x86_64"


def _builder_python():
    """An interpreter with pip and packaging (the builder's own needs)."""
    for python in (os.path.join(CACHE, "venv-main", "bin", "python"), sys.executable):
        if os.path.exists(python) and run([python, "-c", "import packaging, pip"])["rc"] == 0:
            return python
    return None


def case_builder(args):
    import indexkit  # tests/indexkit.py: the local PEP 503 index the builder tests use
    python = _builder_python()
    if python is None:
        print("\n== builder: no python with pip and packaging: skipped")
        return None
    folder = realwheels.fetch(BUILDER_SET)
    work = tempfile.mkdtemp(prefix="bench-builder-")
    root = os.path.join(work, "index")
    indexkit.build_index(root, [os.path.join(folder, n) for n in sorted(os.listdir(folder))])
    flags = ["--only-binary=:all:", "--platform", "manylinux_2_17_x86_64", "--python-version",
             "3.11", "--implementation", "cp", "--abi", "cp311"]
    times = {"bundle.py": [], "pip download": []}
    cpu = {"bundle.py": [], "pip download": []}
    counts = {}
    try:
        with indexkit.LocalIndex(root) as index:
            for number in range(args.repeat):
                for label in ("bundle.py", "pip download"):  # interleaved
                    out = os.path.join(work, "%s-%d" % (label.split()[0], number))
                    env = clean_env(PIP_INDEX_URL=index.url, PIP_CACHE_DIR=out + "-cache")
                    if label == "bundle.py":
                        cmd = [python, os.path.join(ROOT, "tools", "bundle.py")] + \
                            BUILDER_ROOTS + ["--profile", BUILDER_TARGET, "-o", out + ".tar.gz"]
                    else:
                        cmd = [python, "-m", "pip", "download", "-q", "-d", out] + flags + \
                            BUILDER_ROOTS
                    result = run(cmd, env=env)
                    times[label].append(result["seconds"])
                    cpu[label].append(result["cpu"])
                    if result["rc"] != 0:
                        print("\n== builder: %s failed:\n%s" % (label, result["err"][-2000:]))
                        return None
                    counts[label] = (len(os.listdir(out)) if label == "pip download" else
                                     len(indexkit.read_bundle(out + ".tar.gz").wheel_files))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    bundle, pip = median(times["bundle.py"]), median(times["pip download"])
    bundle_cpu, pip_cpu = median(cpu["bundle.py"]), median(cpu["pip download"])
    print("\n== builder: %s for %s (%s), median of %d cold runs, interleaved" % (
        " ".join(BUILDER_ROOTS), BUILDER_TARGET, BUILDER_SET, args.repeat))
    print(table(["what", "median", "files", "bundle.py / row", "CPU (all processes)",
                 "CPU: bundle.py / row"], [
        ["tools/bundle.py (resolve, download, check, write)", secs(bundle),
         counts["bundle.py"], "1.00x", secs(bundle_cpu), "1.00x"],
        ["pip download --only-binary=:all: --platform ...", secs(pip), counts["pip download"],
         ratio(bundle, pip), secs(pip_cpu), ratio(bundle_cpu, pip_cpu)]]))
    return {"set": BUILDER_SET, "roots": BUILDER_ROOTS, "target": BUILDER_TARGET,
            "bundle_py": times["bundle.py"], "pip_download": times["pip download"],
            "bundle_py_cpu": cpu["bundle.py"], "pip_download_cpu": cpu["pip download"],
            "files": counts}


# ---------------------------------------------------------------------------------------------
# Case working: time-to-working (install, then the first import of the roots)
# ---------------------------------------------------------------------------------------------

#: For each set: the roots (what the set was downloaded for, see tests/real_wheels.json) and
#: the first import a user makes of them. Every row installs every wheel of the set (the roots'
#: closure); bootstrap gets the roots as --require, as a manifest would give them.
WORKING = {
    "bench-datasci": (
        ["numpy", "pandas", "scipy", "scikit-learn", "matplotlib", "pyarrow", "statsmodels",
         "seaborn", "numexpr", "bottleneck", "openpyxl"],
        "import pandas, sklearn, statsmodels.api, seaborn, matplotlib.pyplot, scipy.stats, "
        "numpy, pyarrow, numexpr, bottleneck, openpyxl"),
    "bench-jupyterlab": (["jupyterlab"], "import jupyterlab"),
    "bench-web": (
        ["fastapi", "uvicorn[standard]", "httpx", "requests", "flask", "sqlalchemy",
         "pydantic[email]", "jinja2"],
        "import fastapi, uvicorn, httpx, requests, flask, sqlalchemy, pydantic, jinja2"),
}
WORKING_SETS = ("bench-datasci", "bench-jupyterlab")
BASELINE = "uv"
#: rows run in the first repetition only: references, slow (pip compiles every file)
REFERENCE_ROWS = ("pip",)


def working_commands(venv, wheels, folder, roots):
    """{row: function(target) -> argv} of the time-to-working case, in display order."""
    py, uv = venv["python"], venv["uv"]
    requires = [arg for root in roots for arg in ("--require", root)]
    boot = [py, "-I", BOOTSTRAP, "install"] + wheels + requires + ["--json", "--target"]
    return {
        "bootstrap (default)": lambda t: boot + [t],
        "bootstrap --no-verify": lambda t: boot + [t, "--no-verify"],
        BASELINE: lambda t: [uv, "pip", "install", "--offline", "--no-deps", "--no-config",
                             "--quiet", "--python", py, "--target", t] + wheels,
        "pip": lambda t: [py, "-m", "pip", "install", "--no-index", "--find-links", folder,
                          "--no-deps", "--no-cache-dir", "--disable-pip-version-check",
                          "--quiet", "--target", t] + wheels,
    }


def one_working(argv_for, statement, python, base, on_disk):
    """One cold run: install into a fresh target, then import in a fresh interpreter (which
    may write bytecode, as a user's would)."""
    with cold_run(base, on_disk) as (target, tmp, env):
        result = run(argv_for(target), env=env)
        result["install"] = result["seconds"]
        if result["rc"] in (0, 1):  # 1: bootstrap's report has notes or problems: still time it
            imported = run([python, "-c", statement], env=clean_env(PYTHONPATH=target), cwd=tmp)
            result["import"] = imported["seconds"]
            result["cpu"] += imported["cpu"]
            if imported["rc"] != 0:
                result["rc"], result["err"] = imported["rc"], imported["err"]
            result["seconds"] = result["install"] + result["import"]
    return result


def working_set(set_name, fs_label, base, venv, args):
    folder = realwheels.fetch(set_name)
    wheels = sorted(glob.glob(os.path.join(folder, "*.whl")))
    roots, statement = WORKING[set_name]
    commands = working_commands(venv, wheels, folder, roots)
    names = list(commands)
    results = {name: [] for name in names}
    for rep in range(args.repeat):
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            if rep > 0 and name in REFERENCE_ROWS:
                continue
            result = one_working(commands[name], statement, venv["python"], base,
                                 fs_label == "disk")
            results[name].append(result)
            progress("  working %s %s rep %d/%d  %-22s install %s + import %s%s" % (
                set_name, fs_label, rep + 1, args.repeat, name, secs(result["install"]),
                secs(result.get("import")), "" if result["rc"] in (0, 1)
                else "  FAILED (exit %d)" % result["rc"]))
    summary = {"set": set_name, "filesystem": fs_label, "path": base, "wheels": len(wheels),
               "statement": statement, "roots": roots, "rows": {}}
    for name in names:
        failed = [r for r in results[name] if r["rc"] not in (0, 1) or "import" not in r]
        summary["rows"][name] = {
            "install": [r["install"] for r in results[name]],
            "import": [r.get("import") for r in results[name]],
            "median": None if failed else median([r["seconds"] for r in results[name]]),
            "median_install": median([r["install"] for r in results[name]]),
            "median_import": None if failed else median([r["import"] for r in results[name]]),
            "rss_mb": max(r["rss_mb"] for r in results[name]),
            "cpu": median([r["cpu"] for r in results[name]]),
            "failure": ("exit %d: %s" % (failed[0]["rc"], last_line(failed[0]["err"]))
                        if failed else None)}
    return summary


def print_working(summary, repeat):
    rows = summary["rows"]
    base = rows[BASELINE]
    lines = [[name, len(row["install"]), secs(row["median_install"]), secs(row["median_import"]),
              row["failure"] or secs(row["median"]), ratio(row["median"], base["median"]),
              ratio(row["median_install"], base["median_install"]), "%.0f MB" % row["rss_mb"],
              secs(row["cpu"])]
             for name, row in rows.items()]
    print("\n== time-to-working %s (%d wheels) -> %s target %s, median of %d interleaved runs"
          % (summary["set"], summary["wheels"], summary["filesystem"], summary["path"], repeat))
    print("   then, in a fresh interpreter: %s" % summary["statement"])
    print(table(["row", "runs", "install", "first import", "time-to-working", "/ uv",
                 "install / uv's", "peak RSS (install)", "CPU (all processes)"], lines))
    print("   (CPU: user+sys of install and import with every child; less noisy than wall time "
          "on a shared machine)")


def case_working(args, venv):
    targets = [("tmpfs", args.tmpfs)] if args.tmpfs else []
    targets.append(("disk", args.disk))
    summaries = []
    for set_name in [s for s in args.sets if s in WORKING_SETS] or list(WORKING_SETS):
        for fs_label, path in targets:
            base = os.path.join(path, "sandbox-bootstrap-working-%d" % os.getpid())
            os.makedirs(base, exist_ok=True)
            try:
                summary = working_set(set_name, fs_label, base, venv, args)
            finally:
                shutil.rmtree(base, ignore_errors=True)
            print_working(summary, args.repeat)
            summaries.append(summary)
    return summaries


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Benchmark bootstrap.py against pip, uv and a plain unzip (SPEC section 6).")
    parser.add_argument("--cases", default="inspect,check,install,working,builder",
                        help="comma-separated: inspect, check, install, working, builder "
                             "(default: all)")
    parser.add_argument("--sets", default=",".join(DEFAULT_SETS),
                        help="comma-separated real-wheel sets for install (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=21,
                        help="runs per interpreter for inspect and for check (default: 21)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="repetitions of each install row (default: 3)")
    parser.add_argument("--tmpfs", default=default_tmpfs(),
                        help="a tmpfs folder for targets (default: /mnt/benchtmp or /dev/shm)")
    parser.add_argument("--disk", default=DEFAULT_DISK,
                        help="a disk folder for targets (default: .cache/bench-disk)")
    parser.add_argument("--json", metavar="FILE", help="also write every timing as JSON")
    args = parser.parse_args(argv)
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    args.sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = set(args.cases) - {"inspect", "check", "install", "working", "builder"}
    if unknown:
        parser.error("unknown case(s): %s" % ", ".join(sorted(unknown)))
    if args.runs < 1 or args.repeat < 1:
        parser.error("--runs and --repeat must be at least 1")
    known = realwheels.set_names()
    for name in args.sets:
        if name not in known:
            parser.error("unknown set %r (sets: %s)" % (name, ", ".join(known)))
    os.makedirs(args.disk, exist_ok=True)
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    venv = bench_venv()
    facts = machine_facts(venv)
    facts.update({"tmpfs": args.tmpfs, "disk": args.disk, "disk_fstype": filesystem(args.disk)})
    print("sandbox-bootstrap bench: python %(python)s, pip %(pip)s, uv %(uv)s, %(cpus)s cpus, "
          "%(platform)s" % facts)
    print("targets: tmpfs %s, disk %s (%s); load average %.2f (other work on this machine "
          "makes timings noisy)" % (args.tmpfs or "-", args.disk, facts["disk_fstype"],
                                    facts["load_before"]))
    results = {"schema": SCHEMA, "machine": facts}
    if "inspect" in args.cases:
        interpreters = find_interpreters()
        missing = [m for m in SUPPORTED if m not in interpreters]
        if missing:
            print("inspect: no interpreter found for %s" % ", ".join(missing))
        results["inspect"] = case_inspect(args, interpreters)
    if "check" in args.cases:
        results["check"] = case_check(args, venv)
    if "install" in args.cases:
        results["install"] = case_install(args, venv)
    if "working" in args.cases:
        results["working"] = case_working(args, venv)
    if "builder" in args.cases:
        results["builder"] = case_builder(args)
    facts["load_after"] = os.getloadavg()[0]
    print("\nload average at the end: %.2f" % facts["load_after"])
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1, sort_keys=True)
            f.write("\n")
        print("\ntimings written to %s" % args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
