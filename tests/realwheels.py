"""The pinned corpus of real PyPI files that some tests and tools/bench.py need.

    python tests/realwheels.py --list
    python tests/realwheels.py --fetch [SET...]        (no SET: every set used by tests)
    python tests/realwheels.py --record SET DIR --about TEXT    (maintainers: pin a folder)

``tests/real_wheels.json`` names sets of real files (wheels, and one sdist), each file pinned by
its ``files.pythonhosted.org`` URL, sha256 and size. ``fetch(name)`` downloads every file of a
set once into a cache folder, checks its size and sha256, and returns the folder, which then
holds exactly the files of that set (a "folder of wheels" bundle, as ``pip download`` makes).

The cache is ``.cache/real-wheels/`` under the repository, or ``$SANDBOX_BOOTSTRAP_WHEEL_CACHE``.
Set ``SANDBOX_BOOTSTRAP_NO_FETCH=1`` to make ``require_set`` use the cache only.

In tests, ``require_set(name)`` returns the folder, or skips the test with a plain reason when
the files are neither cached nor downloadable. Sets whose name starts with ``bench-`` are large
and only used by tools/bench.py; ``--fetch`` without names leaves them out.

Standard library only (the pytest import is local to ``require_set``).
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PINS = os.path.join(ROOT, "tests", "real_wheels.json")
DEFAULT_CACHE = os.path.join(ROOT, ".cache", "real-wheels")
CACHE_ENV = "SANDBOX_BOOTSTRAP_WHEEL_CACHE"
NO_FETCH_ENV = "SANDBOX_BOOTSTRAP_NO_FETCH"
SCHEMA = "sandbox-bootstrap.real-wheels/1"
BENCH_PREFIX = "bench-"
SKIP_REASON = ("real wheels not cached and network unavailable: "
               "run python tests/realwheels.py --fetch")

_PART = ".part-"  # prefix of files being written; never a pinned name
CONNECT_TIMEOUT = 20  # seconds without a byte before a download is given up
_CHUNK = 1 << 20


class FetchError(Exception):
    """A file of a set could not be had: ``network`` is True when the cause is the network."""

    def __init__(self, message, network=False):
        super().__init__(message)
        self.network = network


# ---------------------------------------------------------------------------------------------
# The pins
# ---------------------------------------------------------------------------------------------


def load_pins(path=PINS):
    """Return the parsed real_wheels.json."""
    with open(path, encoding="utf-8") as f:
        pins = json.load(f)
    if pins.get("schema") != SCHEMA:
        raise ValueError("%s: expected schema %r" % (path, SCHEMA))
    return pins


def set_names(pins=None, bench=True):
    """The names of the sets, sorted; without the ``bench-`` sets when ``bench`` is False."""
    pins = pins or load_pins()
    return sorted(n for n in pins["sets"] if bench or not n.startswith(BENCH_PREFIX))


def files(name, pins=None):
    """The pinned entries ``{"filename", "url", "sha256", "size"}`` of set ``name``."""
    pins = pins or load_pins()
    try:
        return pins["sets"][name]
    except KeyError:
        raise KeyError("no real-wheel set %r in %s (sets: %s)"
                       % (name, PINS, ", ".join(set_names(pins)))) from None


def cache_root():
    """Where sets are cached: $SANDBOX_BOOTSTRAP_WHEEL_CACHE or .cache/real-wheels/."""
    return os.path.abspath(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


# ---------------------------------------------------------------------------------------------
# Fetching
# ---------------------------------------------------------------------------------------------


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _is_good(path, entry):
    return (os.path.isfile(path) and os.path.getsize(path) == entry["size"]
            and _sha256(path) == entry["sha256"])


def _download(entry, dest_dir):
    """Download one pinned file into dest_dir through a temporary name; check it; return path."""
    fd, tmp = tempfile.mkstemp(prefix=_PART, dir=dest_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(entry["url"], timeout=CONNECT_TIMEOUT) as response:
                    shutil.copyfileobj(response, out, _CHUNK)
            except (urllib.error.URLError, OSError) as exc:
                raise FetchError("cannot download %s: %s" % (entry["url"], exc), network=True)
        size, digest = os.path.getsize(tmp), _sha256(tmp)
        if size != entry["size"] or digest != entry["sha256"]:
            raise FetchError("%s: downloaded %d bytes with sha256 %s, pinned %d bytes with "
                             "sha256 %s" % (entry["url"], size, digest, entry["size"],
                                            entry["sha256"]))
        path = os.path.join(dest_dir, entry["filename"])
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        return path
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _from_other_sets(entry, root):
    """A verified copy of the same file cached for another set, or None."""
    for other in sorted(os.listdir(root)) if os.path.isdir(root) else ():
        candidate = os.path.join(root, other, entry["filename"])
        if _is_good(candidate, entry):
            return candidate
    return None


def _remove_strays(folder, wanted):
    """Delete files of old pins and of interrupted downloads (a part file untouched for an hour;
    a younger one may belong to another process fetching the same set right now)."""
    for stray in sorted(set(os.listdir(folder)) - wanted):
        path = os.path.join(folder, stray)
        try:
            if stray.startswith(_PART) and time.time() - os.path.getmtime(path) < 3600:
                continue
            if os.path.isfile(path) or os.path.islink(path):
                os.unlink(path)
        except FileNotFoundError:  # finished or removed by another process meanwhile
            pass


def fetch(name, download=True, quiet=True):
    """Return the folder holding exactly the files of set ``name``, downloading what is missing.

    Every file is checked against its pinned size and sha256; a bad cached file is fetched again.
    Raises FetchError (``network=True`` when the network was the cause), or when ``download``
    is False and a file is not cached.
    """
    entries = files(name)
    root = cache_root()
    folder = os.path.join(root, name)
    os.makedirs(folder, exist_ok=True)
    wanted = {e["filename"] for e in entries}
    _remove_strays(folder, wanted)
    for entry in entries:
        path = os.path.join(folder, entry["filename"])
        if _is_good(path, entry):
            continue
        other = _from_other_sets(entry, root)
        if other is not None:
            fd, tmp = tempfile.mkstemp(prefix=_PART, dir=folder)
            os.close(fd)
            shutil.copyfile(other, tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
            continue
        if not download:
            raise FetchError("%s is not cached in %s" % (entry["filename"], folder), network=True)
        if not quiet:
            print("  downloading %s (%d kB)" % (entry["filename"], entry["size"] // 1024),
                  file=sys.stderr)
        _download(entry, folder)
    return folder


_unavailable = {}  # set name -> reason, so a missing network costs one attempt per session


def require_set(name):
    """For tests: the folder of set ``name``, or skip the test with a plain reason."""
    import pytest

    if name in _unavailable:
        pytest.skip(_unavailable[name])
    try:
        return fetch(name, download=os.environ.get(NO_FETCH_ENV, "") in ("", "0"))
    except FetchError as exc:
        if not exc.network:
            raise
        _unavailable[name] = "%s %s (%s)" % (SKIP_REASON, name, exc)
        pytest.skip(_unavailable[name])


# ---------------------------------------------------------------------------------------------
# Recording a set (maintainers)
# ---------------------------------------------------------------------------------------------

_FILE_NAME = re.compile(
    r"""^(?P<name>[A-Za-z0-9._]+?)-(?P<version>[A-Za-z0-9.!+_]+?)
        (?:-[^-]+-[^-]+-[^-]+\.whl | \.tar\.gz | \.zip)$""", re.X)


def _project_files(project):
    url = "https://pypi.org/pypi/%s/json" % re.sub(r"[-_.]+", "-", project).lower()
    with urllib.request.urlopen(url, timeout=CONNECT_TIMEOUT) as response:
        return json.load(response)["releases"]


def _canonical_url(url):
    """PyPI's file URL; some mirrors of the JSON API answer with a relative ../packages/ path."""
    match = re.search(
        r"(?:^|/)packages/(?:packages/)?([0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{60}/[^/]+)$", url)
    if not match:
        raise ValueError("unexpected file URL from PyPI: %s" % url)
    return "https://files.pythonhosted.org/packages/" + match.group(1)


def record(folder):
    """Pin every file in ``folder``: look it up on PyPI and check PyPI's sha256 against it."""
    entries = []
    for filename in sorted(os.listdir(folder), key=str.lower):
        match = _FILE_NAME.match(filename)
        if not match:
            raise ValueError("%s: not a wheel or sdist file name" % filename)
        path = os.path.join(folder, filename)
        releases = _project_files(match.group("name"))
        found = [f for fs in releases.values() for f in fs if f["filename"] == filename]
        if not found:
            raise ValueError("%s: not found on PyPI" % filename)
        pypi, digest = found[0], _sha256(path)
        if pypi["digests"]["sha256"] != digest or pypi["size"] != os.path.getsize(path):
            raise ValueError("%s: local file differs from PyPI's" % filename)
        entries.append({"filename": filename, "url": _canonical_url(pypi["url"]), "sha256": digest,
                        "size": pypi["size"]})
    return entries


def _write_pins(pins, path=PINS):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(pins, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(path + ".tmp", path)


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _list(pins):
    for name in set_names(pins):
        entries = pins["sets"][name]
        folder = os.path.join(cache_root(), name)
        cached = all(os.path.isfile(os.path.join(folder, e["filename"]))
                     and os.path.getsize(os.path.join(folder, e["filename"])) == e["size"]
                     for e in entries)
        print("%-24s %3d files %8.1f MB  %s" % (
            name, len(entries), sum(e["size"] for e in entries) / 1e6,
            "cached" if cached else "not cached"))
        print("    %s" % pins["about"].get(name, {}).get("purpose", ""))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--list", action="store_true", help="list the sets")
    group.add_argument("--fetch", nargs="*", metavar="SET",
                       help="download sets into the cache (default: every non-bench set)")
    group.add_argument("--record", nargs=2, metavar=("SET", "DIR"),
                       help="pin the files of DIR as SET in real_wheels.json")
    parser.add_argument("--about", help="with --record: what the set is for")
    parser.add_argument("--made-with", help="with --record: the command that made DIR")
    args = parser.parse_args(argv)
    pins = load_pins()
    if args.list:
        _list(pins)
        return 0
    if args.record:
        name, folder = args.record
        pins["sets"][name] = record(folder)
        about = pins["about"].setdefault(name, {})
        about.update({k: v for k, v in (("purpose", args.about), ("made_with", args.made_with))
                      if v})
        _write_pins(pins)
        print("pinned %d files as %s" % (len(pins["sets"][name]), name))
        return 0
    names = args.fetch or set_names(pins, bench=False)
    status = 0
    for name in names:
        try:
            print("%s: %s" % (name, fetch(name, quiet=False)))
        except (FetchError, KeyError) as exc:
            print("%s: FAILED: %s" % (name, exc), file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
