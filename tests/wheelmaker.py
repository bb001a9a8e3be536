"""Build real wheel files for tests (after pypa/installer's mock_wheel).

    make_wheel(directory, "Foo-Bar", "1.0", requires=["idna>=3"], entry_points={...})

writes ``directory/Foo_Bar-1.0-py3-none-any.whl`` with a correct ``.dist-info``: METADATA
(Metadata-Version 2.1), WHEEL (with one Tag line per tag of a compressed tag set), an optional
entry_points.txt, and a RECORD holding the urlsafe-base64 sha256 and size of every member
(RECORD's own row left empty). Output is deterministic: fixed timestamps and member order, so
the same arguments give the same bytes. Standard library only.
"""
import base64
import csv
import hashlib
import io
import os
import pathlib
import re
import zipfile

GENERATOR = "sandbox-bootstrap-tests (wheelmaker)"
FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def escape(component):
    """Escape a name or version for a wheel file name (PEP 427)."""
    return re.sub(r"[-_.]+", "_", component)


def expand_tags(tag):
    """'py2.py3-none-any' -> ['py2-none-any', 'py3-none-any'], in the order written."""
    interpreters, abis, platforms = tag.split("-")
    return [
        "-".join((interpreter, abi, platform))
        for interpreter in interpreters.split(".")
        for abi in abis.split(".")
        for platform in platforms.split(".")
    ]


def record_hash(data):
    """The RECORD hash field of `data`: 'sha256=' plus urlsafe base64 without padding."""
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _as_bytes(content):
    return content.encode("utf-8") if isinstance(content, str) else bytes(content)


def _metadata(name, version, requires, requires_python, extras, metadata_extra):
    lines = ["Metadata-Version: 2.1", "Name: " + name, "Version: " + version]
    if requires_python is not None:
        lines.append("Requires-Python: " + requires_python)
    lines.extend("Requires-Dist: " + requirement for requirement in requires)
    if isinstance(extras, dict):
        for extra in extras:
            lines.append("Provides-Extra: " + extra)
            for requirement in extras[extra]:
                lines.append("Requires-Dist: " + _with_extra_marker(requirement, extra))
    elif extras:
        lines.extend("Provides-Extra: " + extra for extra in extras)
    if isinstance(metadata_extra, str):
        lines.append(metadata_extra.rstrip("\n"))
    elif metadata_extra:
        items = metadata_extra.items() if isinstance(metadata_extra, dict) else metadata_extra
        lines.extend("%s: %s" % (key, value) for key, value in items)
    return "\n".join(lines) + "\n"


def _with_extra_marker(requirement, extra):
    if ";" in requirement:
        head, marker = requirement.split(";", 1)
        return '%s; (%s) and extra == "%s"' % (head.rstrip(), marker.strip(), extra)
    return '%s; extra == "%s"' % (requirement, extra)


def _wheel_file(tag, build_tag):
    tags = expand_tags(tag)
    purelib = all(t.split("-")[2] == "any" for t in tags)
    lines = [
        "Wheel-Version: 1.0",
        "Generator: " + GENERATOR,
        "Root-Is-Purelib: " + ("true" if purelib else "false"),
    ]
    lines.extend("Tag: " + t for t in tags)
    if build_tag is not None:
        lines.append("Build: %s" % build_tag)
    return "\n".join(lines) + "\n"


def _entry_points(entry_points):
    if isinstance(entry_points, str):
        return entry_points
    chunks = []
    for group in entry_points:
        chunks.append("[%s]" % group)
        chunks.extend("%s = %s" % (name, value) for name, value in entry_points[group].items())
        chunks.append("")
    return "\n".join(chunks)


def _record(members, record_path, bad_hash):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    tampered = False
    for path, data in members:
        digest = record_hash(data)
        if bad_hash and not tampered:
            digest, tampered = record_hash(data + b"tampered"), True
        writer.writerow([path, digest, len(data)])
    writer.writerow([record_path, "", ""])
    return out.getvalue()


def _zip_info(path, executable):
    info = zipfile.ZipInfo(path, date_time=FIXED_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.create_system = 3  # unix, so the mode bits above are honoured
    return info


def make_wheel(directory, name, version, *, tag="py3-none-any", files=None, requires=(),
               requires_python=None, extras=None, entry_points=None, data=None, build_tag=None,
               metadata_extra=None, record=True, bad_hash=False):
    """Write a real wheel into `directory` and return its path (a pathlib.Path).

    files           {archive path: str|bytes} for the wheel root; default one module,
                    ``{escaped_name}/__init__.py``. A path inside the .dist-info folder
                    replaces the generated file of that name (for malformed METADATA or
                    RECORD tests; a given RECORD is written as is).
    requires        Requires-Dist lines.
    requires_python the Requires-Python value.
    extras          a list of extra names (Provides-Extra), or {extra: [requirements]},
                    which also adds Requires-Dist lines with ``extra == "..."`` markers.
    entry_points    {group: {name: "module:attr"}} or the text of entry_points.txt.
    data            {scheme: {path: str|bytes}} stored under ``{dist}-{ver}.data/{scheme}/``;
                    files of the 'scripts' scheme are made executable.
    build_tag       a build number such as 1 or "2abc": in the file name and WHEEL.
    metadata_extra  extra METADATA text, or {header: value} / [(header, value)].
    record          False leaves RECORD out entirely.
    bad_hash        True makes the first RECORD hash wrong (sizes stay right).
    """
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    dist = escape(name)
    version_part = version.replace("-", "_")
    dist_info = "%s-%s.dist-info" % (dist, version_part)
    data_dir = "%s-%s.data" % (dist, version_part)
    if files is None:
        files = {"%s/__init__.py" % dist.lower(): '__version__ = "%s"\n' % version}

    members = []  # (archive path, bytes, executable), in archive order
    for path, content in files.items():
        if not path.startswith(dist_info + "/"):
            members.append((path, _as_bytes(content), False))
    for scheme, scheme_files in sorted((data or {}).items()):
        for path, content in scheme_files.items():
            member = "%s/%s/%s" % (data_dir, scheme, path)
            members.append((member, _as_bytes(content), scheme == "scripts"))

    generated = {
        "METADATA": _metadata(name, version, requires, requires_python, extras, metadata_extra),
        "WHEEL": _wheel_file(tag, build_tag),
    }
    if entry_points is not None:
        generated["entry_points.txt"] = _entry_points(entry_points)
    for path, content in files.items():
        if path.startswith(dist_info + "/"):
            generated[path[len(dist_info) + 1:]] = content
    given_record = generated.pop("RECORD", None)
    for member in sorted(generated):
        members.append(("%s/%s" % (dist_info, member), _as_bytes(generated[member]), False))

    record_path = dist_info + "/RECORD"
    parts = [dist, version_part]
    if build_tag is not None:
        parts.append(str(build_tag))
    parts.append(tag)
    wheel_path = directory / ("-".join(parts) + ".whl")
    with zipfile.ZipFile(os.fspath(wheel_path), "w") as archive:
        for path, content, executable in members:
            archive.writestr(_zip_info(path, executable), content)
        if given_record is not None:
            archive.writestr(_zip_info(record_path, False), _as_bytes(given_record))
        elif record:
            text = _record([(p, c) for p, c, _ in members], record_path, bad_hash)
            archive.writestr(_zip_info(record_path, False), text.encode("utf-8"))
    return wheel_path
