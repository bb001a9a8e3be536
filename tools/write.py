"""Writing a bundle: wheels/, manifest.json (sandbox-bootstrap.bundle/1), a PEP 751
pylock.toml view of the same files, and a copy of bootstrap.py; optionally split in parts."""

import hashlib
import json
import os
import shutil
import tarfile

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

BUNDLE_SCHEMA = "sandbox-bootstrap.bundle/1"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOTSTRAP_PY = os.path.join(ROOT, "bootstrap", "bootstrap.py")


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


def manifest(files, roots, profile, notes=()):
    """The manifest of a bundle: roots, target, every file with sha256, size and kind."""
    entries = []
    for path, kind in sorted(files, key=lambda item: os.path.basename(item[0])):
        name, version = _name_version(os.path.basename(path))
        entries.append({"path": "wheels/" + os.path.basename(path), "kind": kind, "name": name,
                        "version": version, "sha256": sha256_of(path),
                        "size": os.path.getsize(path)})
    return {"schema": BUNDLE_SCHEMA, "created_by": "sandbox-bootstrap tools/bundle.py",
            "target": profile.target, "roots": list(roots),
            "python_version": profile.marker_environment.get("python_version"),
            "files": entries, "notes": list(notes)}


def _toml_string(text):
    return json.dumps(text)  # a JSON string is a valid TOML basic string


def pylock(data):
    """A PEP 751 lock file (pylock.toml) listing the bundle's files with their hashes."""
    lines = ['lock-version = "1.0"', 'created-by = "sandbox-bootstrap"',
             'requires-python = %s' % _toml_string("==%s.*" % data["python_version"]), ""]
    by_package = {}
    for entry in data["files"]:
        by_package.setdefault((entry["name"], entry["version"]), []).append(entry)
    for (name, version), entries in sorted(by_package.items()):
        lines += ["[[packages]]", "name = %s" % _toml_string(name),
                  "version = %s" % _toml_string(version)]
        wheels = [e for e in entries if e["path"].endswith(".whl")]
        sdists = [e for e in entries if not e["path"].endswith(".whl")]
        if sdists:
            entry = sdists[0]
            lines.append("sdist = { name = %s, path = %s, size = %d, hashes = { sha256 = %s } }"
                         % (_toml_string(os.path.basename(entry["path"])),
                            _toml_string(entry["path"]), entry["size"],
                            _toml_string(entry["sha256"])))
        if wheels:
            lines.append("wheels = [")
            for entry in wheels:
                lines.append("  { name = %s, path = %s, size = %d, hashes = { sha256 = %s } },"
                             % (_toml_string(os.path.basename(entry["path"])),
                                _toml_string(entry["path"]), entry["size"],
                                _toml_string(entry["sha256"])))
            lines.append("]")
        lines.append("")
    return "\n".join(lines)


def parse_size(text):
    """'500M' -> bytes (K, M, G suffixes; plain bytes otherwise)."""
    text = text.strip().upper().rstrip("B")
    factor = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in "KMG" else text
    return int(float(number) * factor)


def write_bundle(files, roots, profile, output, notes=(), max_part_size=None):
    """Write the bundle archive (tar.gz); returns the paths written (the parts when split)."""
    data = manifest(files, roots, profile, notes)
    staging = output + ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(os.path.join(staging, "wheels"))
    try:
        for path, _ in files:
            shutil.copy2(path, os.path.join(staging, "wheels", os.path.basename(path)))
        with open(os.path.join(staging, "manifest.json"), "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
        with open(os.path.join(staging, "pylock.toml"), "w") as f:
            f.write(pylock(data))
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
