"""The formats of docs/formats.md, for tests: its JSON Schemas and its problem-code table.

* ``validate_document(data)``: when ``data`` is a mapping whose ``schema`` names a format of
  docs/schemas/ (``sandbox-bootstrap.profile/1``, ``.report/1``, ``.bundle/1``) and that has
  the format's identifying key (``compatible_tags``, ``command``, ``files``), raise
  ``SchemaViolation`` unless it validates (Draft 2020-12) and every problem code in it is in
  the documented table. Anything else passes untouched.
* ``documented_problem_codes()``: the codes of the table under "## Problem codes", in order.
* ``available()``: whether jsonschema is importable (the parity venvs lack it).

tests/conftest.py applies ``validate_document`` to what the API returns and to every JSON
document that test code parses.
"""
import functools
import json
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
FORMATS_MD = os.path.join(DOCS, "formats.md")
SCHEMA_FILES = {
    "sandbox-bootstrap.profile/1": "profile.schema.json",
    "sandbox-bootstrap.report/1": "report.schema.json",
    "sandbox-bootstrap.bundle/1": "bundle.schema.json",
}


#: the key every document of a format has besides "schema" (what tells it from a summary)
IDENTIFYING_KEY = {
    "sandbox-bootstrap.profile/1": "compatible_tags",
    "sandbox-bootstrap.report/1": "command",
    "sandbox-bootstrap.bundle/1": "files",
}


class SchemaViolation(AssertionError):
    """A document that breaks its documented format."""


def available():
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        return False
    return True


def load_schema(name):
    with open(os.path.join(DOCS, "schemas", SCHEMA_FILES[name]), encoding="utf-8") as f:
        return json.JSONDecoder().decode(f.read())  # not json.load: never the checking hook


@functools.lru_cache(maxsize=None)
def validator(name):
    import jsonschema
    schema = load_schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def markdown_table(path, heading):
    """The rows (lists of cell texts) of the first table under ``heading`` in a markdown file."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    start = lines.index(heading)
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("#"):
            break
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if all(re.match(r"^:?-+:?$", cell) for cell in cells):
            continue
        rows.append(cells)
    return rows[1:]  # without the header row


@functools.lru_cache(maxsize=None)
def documented_problem_codes():
    codes = []
    for row in markdown_table(FORMATS_MD, "## Problem codes"):
        match = re.match(r"^`([a-z-]+)`$", row[0])
        if not match:
            raise ValueError("docs/formats.md: a problem-code row without a `code`: %r" % row)
        codes.append(match.group(1))
    return tuple(codes)


def _problem_codes(data):
    return [p.get("code") for p in data.get("problems") or () if isinstance(p, dict)]


def validate_document(data):
    """Raise SchemaViolation when ``data`` claims a documented format and breaks it."""
    if not isinstance(data, dict) or data.get("schema") not in SCHEMA_FILES or not available():
        return
    if IDENTIFYING_KEY[data["schema"]] not in data:
        return  # a test's own summary that quotes the schema name, not a document
    errors = sorted(validator(data["schema"]).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        raise SchemaViolation("%s breaks docs/schemas/%s:\n%s" % (
            data["schema"], SCHEMA_FILES[data["schema"]],
            "\n".join("  at %s: %s" % (e.json_path, e.message[:300]) for e in errors[:10])))
    unknown = [c for c in _problem_codes(data) if c not in documented_problem_codes()]
    if unknown:
        raise SchemaViolation("problem codes not in the table of docs/formats.md: %s" % unknown)
