"""Writing a bundle: wheels/, manifest.json (sandbox-bootstrap.bundle/1), a PEP 751
pylock.toml view of the same files, and a copy of bootstrap.py; optionally split in parts."""

import hashlib
import json
import os
import shutil
import tarfile

import tomli_w
from packaging import pylock
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

import bootstrap  # the single-file bootstrap.py: its own file is the copy every bundle carries

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


def manifest(files, roots, profile, notes=(), preinstalled=(), reinstall=()):
    """The manifest of a bundle: roots, target, every file with sha256, size and kind; with
    ``delta`` when the bundle relies on ``preinstalled`` distributions of the sandbox, and
    ``reinstall``: the installed projects whose build the sandbox replaces at the same version
    (bundle.py --reinstall)."""
    entries = []
    for path, kind in sorted(files, key=lambda item: os.path.basename(item[0])):
        name, version = _name_version(os.path.basename(path))
        entries.append({"path": "wheels/" + os.path.basename(path), "kind": kind, "name": name,
                        "version": version, "sha256": sha256_of(path),
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
                 reinstall=()):
    """Write the bundle archive (tar.gz); returns the paths written (the parts when split).
    ``preinstalled``: the sandbox's distributions the bundle relies on (a delta bundle)."""
    data = manifest(files, roots, profile, notes, preinstalled, reinstall)
    lock_data = dict(data, preinstalled=[{"name": item["name"], "version": item["version"]}
                                         for item in preinstalled])
    staging = output + ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(os.path.join(staging, "wheels"))
    try:
        for path, _ in files:
            shutil.copy2(path, os.path.join(staging, "wheels", os.path.basename(path)))
        with open(os.path.join(staging, "manifest.json"), "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
        with open(os.path.join(staging, "pylock.toml"), "w") as f:
            f.write(pylock_text(lock_data))
        shutil.copy2(BOOTSTRAP_PY, os.path.join(staging, "bootstrap.py"))
        with tarfile.open(output, "w:gz", compresslevel=1) as archive:  # wheels are zipped
            for entry in sorted(os.listdir(staging)):
                archive.add(os.path.join(staging, entry), arcname=entry)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if max_part_size and os.path.getsize(output) > max_part_size:
        return split(output, max_part_size)
    return [output]


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
