"""The report of `check` (SPEC 2.4): JSON schema, stable and sorted output, the short text, and
exit codes through the command line (0 ok, 1 something missing, 2 bad input; never a traceback).
"""
import json
import os
import re

import pytest

import bootstrap
from checkkit import (REPORT_KEYS, REPORT_SCHEMA, linux_profile, run_cli, tar_bytes, tar_info,
                      write_tar, write_zip)

PY38 = linux_profile("3.8", [("zz-six", "1.10.0")])
STATUSES = ("ok", "partial", "failed")


@pytest.fixture
def bundle(tmp_path, make_wheel):
    return tmp_path / "wheels"


@pytest.fixture
def messy(bundle, make_wheel, tmp_path):
    """A bundle with one problem of most kinds, and a good root beside them."""
    make_wheel("zz-good", "1.0", requires=["zz-dep"])
    make_wheel("zz-dep", "1.0")
    make_wheel("zz-a", "1.0", requires=["zz-m1>=1", 'zz-m2; python_version < "3.10"',
                                         "zz-six>=1.16"])
    make_wheel("zz-mac", "1.0", tag="cp38-cp38-macosx_11_0_arm64")
    make_wheel("zz-new", "1.0", requires_python=">=3.12")
    sdist = bundle / "zz-crc-1.7.tar.gz"
    sdist.write_bytes(tar_bytes({"zz-crc-1.7/PKG-INFO":
                                 b"Metadata-Version: 2.1\nName: zz-crc\nVersion: 1.7\n"}))
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"<html><body>Bad gateway</body></html>")
    return [str(bundle), str(broken)]


def check(uploads, tmp_path, **options):
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    options.setdefault("profile", PY38)
    return bootstrap.check(uploads, work_dir=str(work), **options)


def dumps(report):
    return json.dumps(report, indent=2, sort_keys=False)


# -- the JSON --------------------------------------------------------------------------------------


class TestSchema:
    def test_keys(self, messy, tmp_path):
        report = check(messy, tmp_path)
        assert list(report)[0] == "schema"
        assert set(report) == set(REPORT_KEYS)
        assert report["schema"] == REPORT_SCHEMA
        assert report["command"] == "check"
        assert report["status"] in STATUSES
        assert report["target"] == PY38["compatible_tags"][0]

    def test_types(self, messy, tmp_path):
        report = check(messy, tmp_path)
        for key in ("roots", "blocked_roots", "would_install", "installed", "satisfied",
                    "wheels", "sdists", "skipped", "problems", "next_steps", "notes"):
            assert isinstance(report[key], list), key
        assert isinstance(report["profile"], str)
        assert report["fix"] is None or isinstance(report["fix"], dict)
        assert all(isinstance(step, str) and step for step in report["next_steps"])

    def test_problems(self, messy, tmp_path):
        report = check(messy, tmp_path)
        codes = set(p["code"] for p in report["problems"])
        assert codes >= {"missing-dependency", "version-conflict", "incompatible-wheel",
                         "requires-python", "sdist-needs-build", "corrupt-archive"}
        for problem in report["problems"]:
            assert list(problem)[:5] == ["code", "subject", "required_by", "message", "fix"]
            assert problem["code"] in bootstrap.PROBLEM_CODES
            assert isinstance(problem["subject"], str) and problem["subject"]
            assert isinstance(problem["required_by"], list)
            assert all(isinstance(r, str) for r in problem["required_by"])
            assert isinstance(problem["message"], str) and problem["message"]
            assert "\n" not in problem["message"]
            assert problem["fix"]["where"] in ("online", "sandbox")
            assert isinstance(problem["fix"]["command"], str) and problem["fix"]["command"]

    def test_items(self, messy, tmp_path):
        report = check(messy, tmp_path)
        for item in report["would_install"]:
            assert set(item) >= {"name", "version"}
            assert "wheel" in item or "sdist" in item
        for item in report["satisfied"]:
            assert set(item) == {"name", "version", "by"}
        for item in report["wheels"]:
            assert item["compatible"] in (True, False)
            if item["compatible"]:
                assert isinstance(item["rank"], int)
            else:
                assert item["reason"] in ("python", "abi", "platform", "libc")
                assert item["message"] and item["closest"]
        for item in report["sdists"]:
            assert set(item) >= {"file", "name", "version", "backend", "build_requires",
                                 "missing", "buildable"}
        for item in report["skipped"]:
            assert set(item) == {"file", "reason"}

    def test_is_plain_json(self, messy, tmp_path):
        report = check(messy, tmp_path)
        assert json.loads(dumps(report)) == json.loads(json.dumps(dict(report)))

    def test_status_and_exit_code(self, bundle, make_wheel, tmp_path):
        make_wheel("zz-good", "1.0")
        ok = check([str(bundle)], tmp_path)
        assert (ok["status"], ok.ok, ok.exit_code) == ("ok", True, 0)
        make_wheel("zz-bad", "1.0", requires=["zz-absent"])
        partial = check([str(bundle)], tmp_path)
        assert (partial["status"], partial.ok, partial.exit_code) == ("partial", False, 1)
        failed = check([str(bundle)], tmp_path, require=["zz-bad"])
        assert (failed["status"], failed.exit_code) == ("failed", 1)

    def test_input_problem_exit_code(self, messy, tmp_path):
        assert check(messy, tmp_path).exit_code == 2


class TestStable:
    def test_same_report_twice(self, messy, tmp_path):
        assert dumps(check(messy, tmp_path)) == dumps(check(messy, tmp_path))

    def test_same_report_with_another_work_folder(self, messy, tmp_path):
        """Nothing of the work folder is in the report but the --work-dir the user gave, which
        a step that runs the check again repeats."""
        w1, w2 = str(tmp_path / "w1"), str(tmp_path / "w2")
        first = dumps(bootstrap.check(messy, profile=PY38, work_dir=w1))
        second = dumps(bootstrap.check(messy, profile=PY38, work_dir=w2))
        assert first.replace("--work-dir " + w1, "--work-dir W") == second.replace(
            "--work-dir " + w2, "--work-dir W")
        assert w1 not in first.replace("--work-dir " + w1, "--work-dir W")

    def test_nested_problem_does_not_leak_the_work_folder(self, tmp_path, make_wheel):
        wheel = make_wheel("zz-good", "1.0")
        inner = tar_bytes({wheel.name: wheel})
        upload = write_zip(tmp_path / "upload.zip", [("bundle/broken.tar.gz", inner[:200])])
        w1, w2 = str(tmp_path / "w1"), str(tmp_path / "w2")
        first = bootstrap.check([upload], profile=PY38, work_dir=w1)
        second = bootstrap.check([upload], profile=PY38, work_dir=w2)
        assert [p["code"] for p in first["problems"]] == ["corrupt-archive"]
        assert "broken.tar.gz" in first["problems"][0]["message"]
        # the --work-dir the user gave is repeated by the step that runs the check again
        assert first["next_steps"][-1].endswith("--work-dir " + w1), first["next_steps"]
        first, second = (dumps(report).replace("--work-dir " + folder, "--work-dir W")
                         for report, folder in ((first, w1), (second, w2)))
        assert first == second
        assert w1 not in first

    def test_problems_sorted_by_code_then_subject(self, messy, tmp_path):
        problems = check(messy, tmp_path)["problems"]
        keys = [(p["code"], p["subject"]) for p in problems]
        assert keys == sorted(keys)

    def test_wheels_sorted_by_file(self, messy, tmp_path):
        files = [w["file"] for w in check(messy, tmp_path)["wheels"]]
        assert files == sorted(files)

    def test_problem_details_sorted(self, messy, tmp_path):
        for problem in check(messy, tmp_path)["problems"]:
            details = list(problem)[5:]
            assert details == sorted(details)

    def test_cli_json_twice(self, messy):
        profile = os.path.join(os.path.dirname(messy[0]), "profile.json")
        with open(profile, "w") as f:
            json.dump(PY38, f)
        first = run_cli(["check", "--json", "--profile", profile] + messy)
        second = run_cli(["check", "--json", "--profile", profile] + messy)
        assert first.returncode == 2, first.stderr
        assert first.stdout == second.stdout
        assert json.loads(first.stdout)["target"] == PY38["compatible_tags"][0]


# -- the text -----------------------------------------------------------------------------------


class TestText:
    def test_short_even_with_many_problems(self, bundle, make_wheel, tmp_path):
        make_wheel("zz-big", "1.0", requires=["zz-missing-%02d>=1" % i for i in range(40)])
        for i in range(12):
            make_wheel("zz-mac-%02d" % i, "1.0", tag="cp38-cp38-macosx_11_0_arm64")
        for i in range(6):
            make_wheel("zz-ok-%02d" % i, "1.0")
        report = check([str(bundle)], tmp_path)
        assert len(report["problems"]) >= 50
        text = str(report)
        assert len(text.splitlines()) <= 25, text
        assert "PARTIAL" in text.splitlines()[0]
        assert report["target"] in text.splitlines()[0]
        assert report["fix"]["command"] in text
        assert "JSON" in text  # says where the rest is

    def test_ok_text(self, bundle, make_wheel, tmp_path):
        make_wheel("zz-good", "1.0")
        text = str(check([str(bundle)], tmp_path))
        assert text.splitlines()[0].startswith("check: OK")
        assert "zz-good 1.0" in text
        assert len(text.splitlines()) <= 25

    def test_text_shows_the_notes(self, bundle, make_wheel, tmp_path):
        """Notes (ignored macOS files, a module needing an extra) reach the short text."""
        make_wheel("zz-good", "1.0")
        report = check([str(bundle)], tmp_path)
        report["notes"] = ["note %d" % n for n in range(5)]
        lines = str(report).splitlines()
        assert lines[lines.index("Notes (5):") + 1:][:4] == [
            "  note 0", "  note 1", "  note 2", "  ... 2 more in the JSON report"]

    def test_str_is_render_report(self, messy, tmp_path):
        report = check(messy, tmp_path)
        assert str(report) == bootstrap.render_report(report)

    def test_text_names_every_problem_code_shown(self, messy, tmp_path):
        report = check(messy, tmp_path)
        text = str(report)
        for problem in report["problems"][:8]:
            assert "[%s]" % problem["code"] in text


# -- the command line -------------------------------------------------------------------------------


class TestNotebookRendering:
    """A notebook shows the report as HTML or Markdown; text from the upload (a member's
    name) is shown as text in both, never run as markup."""

    def test_a_member_name_with_markup_is_shown_as_text(self, tmp_path, make_wheel):
        import subprocess
        wheel = make_wheel("zz-plain", "1.0")
        hostile = "<img src=x onerror=alert(1)>-1.0-py3-none-any.whl"
        os.rename(str(wheel), str(bundle_dir(wheel) / hostile))
        archive = tmp_path / "b.tar.gz"
        subprocess.run(["tar", "czf", str(archive), "-C", str(bundle_dir(wheel)), "."],
                       check=True)
        report = check([str(archive)], tmp_path)
        assert any("<img" in p["message"] for p in report["problems"]), report["problems"]
        html = report._repr_html_()
        assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html, html
        markdown = report._repr_markdown_()  # code blocks and spans are literal: left out
        prose = re.sub(r"`[^`\n]*`", "", re.sub(r"(?ms)^```.*?^```$", "", markdown))
        assert "<img" not in prose and "&lt;img src=x onerror=alert(1)&gt;" in prose, markdown


def bundle_dir(wheel):
    return type(wheel)(os.path.dirname(str(wheel)))


def assert_clean_error(proc, code=2):
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stdout + proc.stderr


class TestExitCodes:
    def test_ok_is_0(self, bundle, make_wheel):
        make_wheel("zz-good", "1.0")
        proc = run_cli(["check", bundle])
        assert_clean_error(proc, 0)
        assert proc.stdout.startswith("check: OK")
        assert proc.stderr == ""

    def test_missing_is_1(self, bundle, make_wheel):
        make_wheel("zz-good", "1.0", requires=["zz-absent>=1"])
        proc = run_cli(["check", bundle, "--json"])
        assert_clean_error(proc, 1)
        report = json.loads(proc.stdout)
        assert [p["code"] for p in report["problems"]] == ["missing-dependency"]

    def test_corrupt_upload_is_2(self, tmp_path):
        upload = tmp_path / "bundle.tar.gz"
        upload.write_bytes(b"<!doctype html><title>Error</title>")
        proc = run_cli(["check", upload])
        assert_clean_error(proc)
        assert "corrupt-archive" in proc.stdout

    def test_report_file_equals_json(self, bundle, make_wheel, tmp_path):
        make_wheel("zz-good", "1.0", requires=["zz-absent"])
        target = tmp_path / "report.json"
        proc = run_cli(["check", bundle, "--json", "--report", target])
        assert_clean_error(proc, 1)
        assert json.loads(target.read_text()) == json.loads(proc.stdout)
        text = run_cli(["check", bundle, "--report", tmp_path / "again.json"])
        assert not text.stdout.lstrip().startswith("{")
        assert json.loads((tmp_path / "again.json").read_text()) == json.loads(proc.stdout)

    def test_profile_file(self, bundle, make_wheel, tmp_path):
        make_wheel("zz-markdown", "3.5", requires=['zz-backport; python_version < "3.10"'])
        for python, code in (("3.8", 1), ("3.11", 0)):
            path = tmp_path / ("profile-%s.json" % python)
            path.write_text(json.dumps(linux_profile(python)))
            proc = run_cli(["check", bundle, "--profile", path, "--json"])
            assert_clean_error(proc, code)
            assert json.loads(proc.stdout)["target"].startswith("cp%s-" % python.replace(".", ""))

    def test_work_dir_option(self, bundle, make_wheel, tmp_path):
        make_wheel("zz-good", "1.0")
        archive = tmp_path / "bundle.tar.gz"
        archive.write_bytes(tar_bytes({w.name: w for w in bundle.iterdir()}))
        work = tmp_path / "work"
        proc = run_cli(["check", archive, "--work-dir", work])
        assert_clean_error(proc, 0)
        assert os.listdir(str(work)) == []


def _file_under_file(tmp_path):
    path = tmp_path / "clash.tar.gz"
    write_tar(path, [tar_info("a", b"file"), tar_info("a/b", b"under a file")])
    return [path]


def _broken_profile(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "profile.json").write_text('{"schema": "sandbox-bootstrap.profile/1"}')
    return [tmp_path / "empty", "--profile", tmp_path / "profile.json"]


def _unreadable_json_profile(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "profile.json").write_text("{not json")
    return [tmp_path / "empty", "--profile", tmp_path / "profile.json"]


BAD_INPUT = {
    "missing-upload": lambda t: [t / "nowhere.tar.gz"],
    "missing-profile": lambda t: [t, "--profile", t / "nowhere.json"],
    "broken-profile": _broken_profile,
    "unreadable-profile": _unreadable_json_profile,
    "invalid-require": lambda t: [t, "--require", "zz >= ="],
    "unknown-option": lambda t: [t, "--frobnicate"],
    "no-bundle": lambda t: [],
    "unwritable-report": lambda t: [t, "--report", t / "no" / "such" / "dir" / "r.json"],
    "file-under-a-file": _file_under_file,
}


class TestBadInput:
    @pytest.mark.parametrize("case", sorted(BAD_INPUT))
    def test_exit_2_without_traceback(self, tmp_path, case):
        proc = run_cli(["check"] + BAD_INPUT[case](tmp_path))
        assert_clean_error(proc)
        if proc.stderr:
            lines = proc.stderr.strip().splitlines()
            assert len(lines) == 1, proc.stderr
            assert lines[0].startswith("bootstrap.py: error:")

    def test_api_raises_usage_error_for_missing_upload(self, tmp_path):
        with pytest.raises(bootstrap.UsageError) as caught:
            bootstrap.check([str(tmp_path / "nowhere.tar.gz")], profile=PY38)
        assert "nowhere.tar.gz" in str(caught.value)

    def test_api_raises_invalid_profile(self, tmp_path):
        with pytest.raises(bootstrap.InvalidProfile):
            bootstrap.check([str(tmp_path)], profile={"schema": "sandbox-bootstrap.profile/1"})


# -- one vocabulary of codes, and bootstrap's own bugs ----------------------------------------------

SOURCE = os.path.join(os.path.dirname(os.path.abspath(bootstrap.__file__)), "bootstrap.py")
CODES = dict((row[0], row) for row in bootstrap.CODES)


def _literal_codes():
    """(codes given to errors: `code = "..."` and `code="..."`, codes Problems are built with:
    the first argument of Problem(...) where it is a literal) in bootstrap.py's source."""
    import ast
    with open(SOURCE, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    errors, problems = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            errors.update(k.value.value for k in node.keywords if k.arg == "code"
                          and isinstance(k.value, ast.Constant) and isinstance(
                              k.value.value, str))
            if getattr(node.func, "id", None) == "Problem" and isinstance(
                    node.args[0], ast.Constant):
                problems.add(node.args[0].value)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and any(
                getattr(t, "id", None) == "code" for t in node.targets):
            errors.add(node.value.value)
    return errors, problems


def _error_classes(root=bootstrap.BootstrapError):
    found = [root]
    for sub in root.__subclasses__():
        found.extend(_error_classes(sub))
    return found


class TestCodeTable:
    def test_each_code_once_with_a_problem_and_a_fix(self):
        codes = [row[0] for row in bootstrap.CODES]
        assert len(codes) == len(set(codes)), codes
        fixes = {"bundle", "upload", "rebuild", "sandbox", "restart", "rerun", "report", "usage"}
        for code, reported_as, fix, meaning in bootstrap.CODES:
            assert reported_as is None or CODES[reported_as][1] == reported_as, code
            assert fix in fixes and meaning, code
        assert bootstrap.PROBLEM_CODES == tuple(
            code for code, reported_as, _, _ in bootstrap.CODES if code == reported_as)

    def test_every_code_an_error_carries_is_in_the_table(self):
        errors, _ = _literal_codes()
        classes = _error_classes()
        assert len(classes) >= 14 and len(errors) >= 8, (classes, errors)
        carried = set(c.code for c in classes) | errors
        assert {"invalid-version", "usage", "corrupt-archive", "invalid-metadata",
                "environment-failed", "internal-error"} <= carried, carried
        assert carried - set(CODES) == set()

    def test_every_code_a_problem_is_built_with_is_a_problem_code(self):
        _, problems = _literal_codes()
        assert len(problems) >= 12, problems
        assert problems - set(bootstrap.PROBLEM_CODES) == set()
        with pytest.raises(ValueError):
            bootstrap.Problem("invalid-version", "x", "a code only errors carry")

    def test_the_parse_errors_are_classes_and_value_errors(self):
        for name in ("InvalidVersion", "InvalidSpecifier", "InvalidMarker", "InvalidRequirement",
                     "InvalidWheelFilename", "InvalidSdistFilename", "InvalidTag",
                     "InvalidProfile"):
            cls = getattr(bootstrap, name)
            assert isinstance(cls, type) and cls.__name__ == name and cls.__module__ == "bootstrap"
            assert issubclass(cls, bootstrap.BootstrapError) and issubclass(cls, ValueError)
            with pytest.raises(ValueError):
                raise cls("bad", "subject")
        assert not issubclass(bootstrap.UsageError, ValueError)

    def test_a_known_code_becomes_its_problem(self):
        for code, reported_as, fix, _ in bootstrap.CODES:
            if reported_as is None or code == "internal-error":
                continue
            problem = bootstrap._problem_from_error(bootstrap.BootstrapError(
                "message", "dir/up.tar.gz", code=code))
            assert (problem.code, problem.subject, problem.message) == (
                reported_as, "dir/up.tar.gz", "message"), code
            assert problem.fix["command"], code
            assert "upload up.tar.gz again" in problem.fix["command"] or fix != "upload", code


class TestInternalError:
    """A code bootstrap does not know, or an exception that is no BootstrapError, is its own
    bug: reported as internal-error with the traceback, never as the user's upload."""

    @pytest.mark.parametrize("error", [
        KeyError("oops"), bootstrap.BootstrapError("no code given"),
        bootstrap.BootstrapError("a code nobody knows", "x", code="made-up"),
        bootstrap.UsageError("usage never reaches a report")])
    def test_a_bug_is_not_the_users_fault(self, error):
        try:
            raise error
        except Exception as caught:
            problem = bootstrap._problem_from_error(caught)
        assert problem.code == "internal-error"
        assert "has a bug: %s" % type(error).__name__ in problem.message
        assert "report a bug" in problem.fix["command"]
        assert "upload" not in problem.fix["command"]
        assert "test_a_bug_is_not_the_users_fault" in problem.details["traceback"]

    def test_the_cli_reports_a_bug_as_one(self, bundle, make_wheel, tmp_path, monkeypatch):
        import io
        make_wheel("zz-good", "1.0")
        (bundle / "zz-crc-1.7.tar.gz").write_bytes(tar_bytes(
            {"zz-crc-1.7/PKG-INFO": b"Metadata-Version: 2.1\nName: zz-crc\nVersion: 1.7\n"}))

        def buggy(path):
            raise AttributeError("a bug in reading %s" % os.path.basename(path))
        monkeypatch.setattr(bootstrap, "read_sdist", buggy)
        out, err = io.StringIO(), io.StringIO()
        code = bootstrap.main(["check", str(bundle), "--json", "--work-dir",
                               str(tmp_path / "work")], out=out, err=err)
        report = json.loads(out.getvalue())
        assert (code, err.getvalue(), report["status"]) == (1, "", "failed")
        (problem,) = report["problems"]
        assert problem["code"] == "internal-error"
        assert "AttributeError: a bug in reading zz-crc-1.7.tar.gz" in problem["traceback"]
        assert "in buggy" in problem["traceback"]
        out = io.StringIO()
        assert bootstrap.main(["check", str(bundle), "--work-dir", str(tmp_path / "work")],
                              out=out, err=err) == 1
        assert "[internal-error] bootstrap.py %s has a bug: AttributeError" % (
            bootstrap.__version__) in out.getvalue()
        assert "Traceback" not in out.getvalue() + err.getvalue()

    def test_a_tool_call_reports_a_bug_as_one(self, bundle, make_wheel, monkeypatch):
        make_wheel("zz-good", "1.0")
        monkeypatch.setattr(bootstrap, "_read_sdists", lambda b: {}["a bug"])
        result, error = bootstrap._mcp_call({"name": "sandbox_check",
                                             "arguments": {"bundles": [str(bundle)]}})
        assert error is None and result["isError"] is True
        report = json.loads(result["content"][0]["text"])
        assert report == result["structuredContent"]
        assert [p["code"] for p in report["problems"]] == ["internal-error"]
        assert "KeyError: 'a bug'" in report["problems"][0]["traceback"]

    def test_the_notebook_cell_shows_a_bug_as_one(self, bundle, make_wheel, monkeypatch,
                                                  capsys):
        make_wheel("zz-good", "1.0")
        monkeypatch.setattr(bootstrap, "find_uploads", lambda: [str(bundle)])
        monkeypatch.setattr(bootstrap, "install", lambda uploads: None.bug)
        report = bootstrap.notebook_run()
        shown = capsys.readouterr().out
        assert report.exit_code == 1 and report["command"] == "install"
        assert [p["code"] for p in report["problems"]] == ["internal-error"]
        assert shown.startswith("install: FAILED") and "[internal-error]" in shown
        json.loads(json.dumps(report))  # a valid report (the conftest hook checks the schema)
