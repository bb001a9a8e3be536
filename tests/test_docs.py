"""docs/ (issue 13): the formats the product promises, held against what the code does.

    TestSchemas        the JSON Schemas of docs/schemas/ are valid Draft 2020-12 and judge:
                       a real profile, every preset (written by hand, with its `source`),
                       check and install report validate; broken ones do not
    TestProblemCodes   bootstrap.PROBLEM_CODES is exactly the table in docs/formats.md
    TestHook           the conftest hook is on: the API's reports and the JSON documents test
                       code parses are validated (a broken one fails the test that parses it)
    TestReadme         the README points at docs/, not at a document outside the repository
"""
import copy
import json
import os
import re
import subprocess
import sys

import pytest

import bootstrap
import schemakit

import jsonschema  # noqa: E402  (in the [test] extra: missing is a failure, not a skip)

ROOT = schemakit.ROOT
PRESETS_DIR = os.path.join(ROOT, "tools", "presets")
PRESETS = sorted(n for n in os.listdir(PRESETS_DIR) if n.endswith(".json"))
BOOTSTRAP_PY = os.path.join(ROOT, "bootstrap", "bootstrap.py")


def _cli_json(*args, cwd=None):
    proc = subprocess.run([sys.executable, "-I", BOOTSTRAP_PY] + list(args) + ["--json"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, cwd=cwd, timeout=300)
    return proc, json.loads(proc.stdout)


@pytest.fixture(scope="module")
def profile():
    return bootstrap.inspect()


@pytest.fixture
def folder(make_wheel, tmp_path):
    make_wheel("docapp", "1.0", requires=["docdep>=1", "nothere>=2"])
    make_wheel("docdep", "1.0")
    make_wheel("docwin", "1.0", tag="cp311-cp311-win_amd64")
    return str(tmp_path / "wheels")


class TestSchemas:
    @pytest.mark.parametrize("name", sorted(schemakit.SCHEMA_FILES))
    def test_schema_is_valid_draft_2020_12(self, name):
        schema = schemakit.load_schema(name)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["properties"]["schema"] == {"const": name}

    def test_the_profile_validates_and_a_broken_one_does_not(self, profile):
        schemakit.validate_document(profile)
        for key, value in (("compatible_tags", []), ("libc", {"kind": "bsd", "version": None}),
                           ("installed", [{"name": "Not_Canonical", "version": "1",
                                           "requires": []}])):
            broken = dict(copy.deepcopy(profile), **{key: value})
            with pytest.raises(schemakit.SchemaViolation):
                schemakit.validate_document(broken)

    @pytest.mark.parametrize("preset", PRESETS)
    def test_every_preset_validates(self, preset):
        """A preset is a profile written by hand: ``source`` says where its facts come from,
        and what that source does not give (the executable) is left out."""
        with open(os.path.join(PRESETS_DIR, preset)) as f:
            data = json.load(f)
        assert data["source"].strip()
        schema = schemakit.load_schema("sandbox-bootstrap.profile/1")
        errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(data)]
        assert errors == []
        schemakit.validate_document(data)
        # without its source, the same facts are a measured profile that lacks some
        unsourced = dict(data)
        del unsourced["source"]
        with pytest.raises(schemakit.SchemaViolation, match="executable"):
            schemakit.validate_document(unsourced)

    def test_a_measured_profile_needs_every_fact_and_a_source_relaxes_only_those(self, profile):
        for key, inner in (("python", "executable"), ("implementation", "version"),
                           ("paths", "purelib")):
            broken = copy.deepcopy(dict(profile))
            del broken[key][inner]
            with pytest.raises(schemakit.SchemaViolation, match=inner):
                schemakit.validate_document(broken)
            schemakit.validate_document(dict(broken, source="written by hand"))
        for broken in (dict(profile, source=""), dict(profile, source=None)):
            with pytest.raises(schemakit.SchemaViolation):
                schemakit.validate_document(broken)
        lacking = copy.deepcopy(dict(profile, source="written by hand"))
        del lacking["python"]["version"]
        with pytest.raises(schemakit.SchemaViolation, match="version"):
            schemakit.validate_document(lacking)

    def test_check_report_by_cli_and_api_validate(self, folder):
        proc, report = _cli_json("check", folder)  # the hook validated it already
        # the roots are the projects no other one requires; neither can be completed
        assert proc.returncode == 1 and report["status"] == "failed", proc.stderr
        assert sorted(report["roots"]) == ["docapp", "docwin"], report["roots"]
        codes = sorted(set(p["code"] for p in report["problems"]))
        assert codes == ["incompatible-wheel", "missing-dependency"], report["problems"]
        api = bootstrap.check([folder])
        schemakit.validate_document(dict(api))
        assert api["problems"] == report["problems"]

    def test_a_report_without_a_fix_or_status_is_refused(self, folder):
        report = dict(bootstrap.check([folder]))
        for broken in (dict(report, status="fine"),
                       dict(report, problems=[dict(report["problems"][0], fix=None)]),
                       dict(report, surprise=1)):
            with pytest.raises(schemakit.SchemaViolation):
                schemakit.validate_document(broken)

    def test_an_undocumented_problem_code_is_refused(self, folder):
        report = dict(bootstrap.check([folder]))
        report["problems"] = [dict(report["problems"][0], code="made-up-code")]
        with pytest.raises(schemakit.SchemaViolation, match="made-up-code"):
            schemakit.validate_document(report)

    def test_the_published_schema_alone_refuses_an_undocumented_code(self, folder):
        """What a user validating with docs/schemas/report.schema.json gets (no schemakit):
        the code list is closed there too, and it is the documented table."""
        schema = schemakit.load_schema("sandbox-bootstrap.report/1")
        validator = jsonschema.Draft202012Validator(schema)
        report = dict(bootstrap.check([folder]))
        assert list(validator.iter_errors(report)) == []
        broken = dict(report, problems=[dict(report["problems"][0], code="made-up-code")])
        assert [error.validator for error in validator.iter_errors(broken)] == ["enum"]
        assert schema["$defs"]["problem"]["properties"]["code"]["enum"] == list(
            schemakit.documented_problem_codes())

    def test_install_report_into_a_target_validates(self, folder, tmp_path):
        proc, report = _cli_json("install", folder, "--require", "docdep",
                                 "--target", str(tmp_path / "target"))
        assert proc.returncode == 0, proc.stderr
        assert [i["name"] for i in report["installed"]] == ["docdep"]
        assert str(tmp_path / "target") in report["activation"]["pth_line"]


class TestProblemCodes:
    def test_the_code_list_is_the_documented_table(self):
        documented = schemakit.documented_problem_codes()
        assert len(documented) == len(set(documented)), documented
        assert set(bootstrap.PROBLEM_CODES) == set(documented), (
            "in code, not documented: %s; documented, not in code: %s" % (
                sorted(set(bootstrap.PROBLEM_CODES) - set(documented)),
                sorted(set(documented) - set(bootstrap.PROBLEM_CODES))))

    def test_the_table_is_read_from_the_markdown(self):
        rows = schemakit.markdown_table(schemakit.FORMATS_MD, "## Problem codes")
        assert all(len(row) == 3 and row[1] for row in rows), rows
        assert "file-conflict" in schemakit.documented_problem_codes()


class TestHook:
    def test_the_api_is_wrapped(self):
        for name in ("inspect", "check", "install", "reset_overlay"):
            assert getattr(getattr(bootstrap, name), "__wrapped_by_schema_hook__", False), name

    def test_a_broken_document_parsed_by_a_test_fails_it(self):
        text = json.dumps({"schema": "sandbox-bootstrap.report/1", "command": "check"})
        with pytest.raises(schemakit.SchemaViolation, match="status"):
            json.loads(text)
        assert json.loads('{"schema": "something-else/1"}') == {"schema": "something-else/1"}


class TestReadme:
    def test_no_reference_to_a_document_outside_the_repository(self):
        with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
            text = f.read()
        assert not re.search(r"SPEC section|SPEC \d", text)
        for target in re.findall(r"\]\(((?:docs/)[^)#]+)", text):
            assert os.path.exists(os.path.join(ROOT, target)), target
        assert "docs/formats.md" in text

    def test_the_readme_table_lists_the_documented_codes(self):
        rows = schemakit.markdown_table(os.path.join(ROOT, "README.md"),
                                        "## Formats and problem codes")
        assert [row[0].strip("`") for row in rows] == list(
            schemakit.documented_problem_codes())
