"""Writing a bundle: wheels/, manifest.json (sandbox-bootstrap.bundle/1), a PEP 751
pylock.toml view of the same files, and a copy of bootstrap.py; optionally split in parts."""

import hashlib
import json
import os
import shutil
import struct
import tarfile
import time
import zlib

import tomli_w
from packaging import pylock
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

import bootstrap  # the single-file bootstrap.py: its own file is the copy every bundle carries

from .pip_target import link_or_copy  # tools/bundle.py's too

BUNDLE_SCHEMA = "sandbox-bootstrap.bundle/1"
BOOTSTRAP_PY = os.path.splitext(os.path.abspath(bootstrap.__file__))[0] + ".py"


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _name_version(filename):
    if filename.endswith(".whl"):
        name, version, _, _ = parse_wheel_filename(filename)
    else:
        name, version = parse_sdist_filename(filename)
    return canonicalize_name(name), str(version)


def manifest(files, roots, profile, notes=(), preinstalled=(), reinstall=(), digests=None):
    """The manifest of a bundle: roots, target, every file with sha256, size and kind; with
    ``delta`` when the bundle relies on ``preinstalled`` distributions of the sandbox, and
    ``reinstall``: the installed projects whose build the sandbox replaces at the same version
    (bundle.py --reinstall). ``digests``: {file name: sha256} already checked (the index's
    hashes, which the download was held to), so those files are not read again."""
    entries = []
    for path, kind in sorted(files, key=lambda item: os.path.basename(item[0])):
        filename = os.path.basename(path)
        name, version = _name_version(filename)
        entries.append({"path": "wheels/" + filename, "kind": kind, "name": name,
                        "version": version,
                        "sha256": (digests or {}).get(filename) or sha256_of(path),
                        "size": os.path.getsize(path)})
    data = {"schema": BUNDLE_SCHEMA, "created_by": "sandbox-bootstrap tools/bundle.py",
            "target": profile.target_tag, "roots": list(roots),
            "python_version": profile.marker_environment.get("python_version"),
            "files": entries, "notes": list(notes)}
    if preinstalled:
        data["delta"] = True
    if reinstall:
        data["reinstall"] = sorted(reinstall)
    return data


def _archive(entry, kind):
    return kind(name=os.path.basename(entry["path"]), path=entry["path"], size=entry["size"],
                hashes={"sha256": entry["sha256"]})


def lock(data):
    """The PEP 751 lock (a validated ``packaging.pylock.Pylock``) of a manifest's files. A delta
    bundle's lock says so in ``[tool.sandbox-bootstrap]``, with what it relies on."""
    by_package = {}
    for entry in data["files"]:
        by_package.setdefault((entry["name"], entry["version"]), []).append(entry)
    packages = []
    for (name, version), entries in sorted(by_package.items()):
        wheels = [_archive(e, pylock.PackageWheel) for e in entries if e["path"].endswith(".whl")]
        sdists = [_archive(e, pylock.PackageSdist) for e in entries
                  if not e["path"].endswith(".whl")]
        packages.append(pylock.Package(
            name=canonicalize_name(name), version=Version(version), wheels=wheels or None,
            sdist=sdists[0] if sdists else None))
    tool = {"target": data["target"], "roots": list(data["roots"]),
            "delta": bool(data.get("delta"))}
    if data.get("delta"):
        tool["preinstalled"] = [dict(item) for item in data.get("preinstalled", ())]
    result = pylock.Pylock(
        lock_version=Version("1.0"), created_by="sandbox-bootstrap",
        requires_python=SpecifierSet("==%s.*" % data["python_version"])
        if data.get("python_version") else None,
        packages=packages, tool={"sandbox-bootstrap": tool})
    result.validate()
    return result


def pylock_text(data):
    """pylock.toml: the lock of ``lock(data)`` as TOML; a delta lock says so on its first line."""
    text = tomli_w.dumps(lock(data).to_dict())
    if data.get("delta"):
        text = ("# A delta lock: it installs only on top of the sandbox it was built for, which "
                "already has\n# the [tool.sandbox-bootstrap] preinstalled distributions.\n"
                + text)
    return text


def parse_size(text):
    """'500M' -> bytes (K, M, G suffixes; plain bytes otherwise)."""
    text = text.strip().upper().rstrip("B")
    factor = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in "KMG" else text
    return int(float(number) * factor)


def write_bundle(files, roots, profile, output, notes=(), max_part_size=None, preinstalled=(),
                 reinstall=(), digests=None):
    """Write the bundle archive (tar.gz); returns the paths written (the parts when split).
    ``preinstalled``: the sandbox's distributions the bundle relies on (a delta bundle);
    ``digests``: sha256 values already checked (see manifest)."""
    data = manifest(files, roots, profile, notes, preinstalled, reinstall, digests)
    lock_data = dict(data, preinstalled=[{"name": item["name"], "version": item["version"]}
                                         for item in preinstalled])
    staging = output + ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(os.path.join(staging, "wheels"))
    try:
        for path, _ in files:
            link_or_copy(path, os.path.join(staging, "wheels", os.path.basename(path)))
        with open(os.path.join(staging, "manifest.json"), "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
        with open(os.path.join(staging, "pylock.toml"), "w") as f:
            f.write(pylock_text(lock_data))
        shutil.copy2(BOOTSTRAP_PY, os.path.join(staging, "bootstrap.py"))
        _write_tar_gz(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if max_part_size and os.path.getsize(output) > max_part_size:
        return split(output, max_part_size)
    return [output]


#: Members that are compressed archives already (wheels, sdists): deflating them again cost
#: most of a build's own CPU time and saved about 1.5% of their size, so they are stored.
COMPRESSED = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
#: manifest.json, pylock.toml and bootstrap.py shrink to about a quarter. Level 4: bootstrap.py
#: takes 6 KB (5%) more than at level 6, in under half the CPU time (a build's second cost).
TEXT_LEVEL = 4


def _write_tar_gz(folder, output):
    """``folder``'s entries (and one level below) as a tar.gz, in sorted order, as
    ``tarfile.add`` of each would; compressed archives stored, the rest deflated."""
    with _SegmentedGzip(output) as stream:
        with tarfile.open(fileobj=stream, mode="w", copybufsize=1 << 20) as archive:
            for entry in sorted(os.listdir(folder)):
                path = os.path.join(folder, entry)
                names = sorted(os.listdir(path)) if os.path.isdir(path) else []
                stream.level = TEXT_LEVEL
                archive.add(path, arcname=entry, recursive=False)
                for name in names:
                    stream.level = 0 if name.endswith(COMPRESSED) else TEXT_LEVEL
                    archive.add(os.path.join(path, name), arcname=entry + "/" + name,
                                recursive=False)


class _SegmentedGzip(object):
    """A gzip file whose one deflate stream is written in segments of their own level:
    setting ``level`` between writes ends the segment with a sync flush (byte-aligned, not
    the final block) and starts a fresh compressor that refers back to nothing before it.
    Any gzip reader sees one ordinary member (RFC 1951/1952)."""

    def __init__(self, path):
        self.level = TEXT_LEVEL
        self._file = open(path, "wb")
        self._file.write(b"\x1f\x8b\x08\x00" + struct.pack("<I", int(time.time()) & 0xFFFFFFFF)
                         + b"\x00\xff")  # magic, deflate, no flags, mtime, xfl, OS unknown
        self._deflate, self._deflate_level = None, None
        self._crc, self._size = 0, 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            if exc[0] is None:
                self._finish()
        finally:
            self._file.close()

    def tell(self):
        return self._size

    def write(self, data):
        if self._deflate_level != self.level:
            if self._deflate is not None:
                self._file.write(self._deflate.flush(zlib.Z_SYNC_FLUSH))
            self._deflate = None if self.level == 0 else zlib.compressobj(
                self.level, zlib.DEFLATED, -zlib.MAX_WBITS)
            self._deflate_level = self.level
        if self._deflate is None:
            self._store(data)
        else:
            self._file.write(self._deflate.compress(data))
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        return len(data)

    def _store(self, data):
        """Level 0: stored blocks written as they are (RFC 1951 3.2.4: a byte-aligned header
        of BFINAL=0, BTYPE=00, then LEN and its complement), without zlib copying the data
        through its window first; the stream is byte-aligned before and after."""
        view = memoryview(data)
        for start in range(0, len(view), 0xFFFF):
            block = view[start:start + 0xFFFF]
            self._file.write(struct.pack("<BHH", 0, len(block), 0xFFFF ^ len(block)))
            self._file.write(block)

    def _finish(self):
        deflate = self._deflate or zlib.compressobj(TEXT_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        self._file.write(deflate.flush())  # Z_FINISH: the final block
        self._file.write(struct.pack("<II", self._crc & 0xFFFFFFFF, self._size & 0xFFFFFFFF))


def split(path, part_size):
    """Split a file into NAME.part-001, -002, ... of at most ``part_size`` bytes."""
    parts = []
    with open(path, "rb") as source:
        number = 1
        while True:
            block = source.read(part_size)
            if not block:
                break
            part = "%s.part-%03d" % (path, number)
            with open(part, "wb") as out:
                out.write(block)
            parts.append(part)
            number += 1
    os.remove(path)
    return parts
