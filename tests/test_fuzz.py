"""hypothesis fuzzing of what `check` reads: archive members, wheel file names, METADATA text and
requirement strings. Nothing may crash: the parse functions raise only ValueError (their
documented errors), intake raises only BootstrapError subclasses, and `check` itself returns
a Report whose problems all carry a code from the closed list (a UsageError is allowed only for
a bad --require). Hostile archives must write nothing outside the work folder.
"""
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import bootstrap  # noqa: E402
from checkkit import linux_profile, tar_info, tree, windows_profile, zip_info  # noqa: E402
from wheelmaker import make_wheel  # noqa: E402

PY38 = bootstrap.Profile.from_json(linux_profile("3.8", [("zz-six", "1.10.0")]))
WIN = bootstrap.Profile.from_json(windows_profile("3.11"))
FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FAST = settings(max_examples=400, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


def assert_structured(report):
    """A Report: plain JSON-able data whose every problem has a known code and a fix."""
    assert isinstance(report, bootstrap.Report)
    assert report["status"] in ("ok", "partial", "failed")
    for problem in report["problems"]:
        assert problem["code"] in bootstrap.PROBLEM_CODES, problem
        assert problem["fix"] and problem["fix"]["command"], problem
    assert report.exit_code in (0, 1, 2)
    str(report)
    import json
    json.dumps(report)


class Sandbox(object):
    """A temporary tree deep enough that any ``..`` chain the strategies make stays inside it."""

    def __enter__(self):
        self.base = tempfile.mkdtemp(prefix="fuzz-")
        self.area = os.path.join(self.base, "l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8")
        self.uploads = os.path.join(self.area, "uploads")
        self.work = os.path.join(self.area, "sandbox", "work")
        os.makedirs(self.uploads)
        os.makedirs(self.work)
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.base, ignore_errors=True)
        return False

    def snapshot(self):
        return tree(self.base, exclude=[self.work])

    def assert_no_links_in_work(self):
        for directory, subdirs, files in os.walk(self.work):
            for name in subdirs + files:
                assert not os.path.islink(os.path.join(directory, name))


# -- strategies ------------------------------------------------------------------------------------

SAFE_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                    max_size=12)
COMPONENT = st.one_of(st.sampled_from(["..", ".", "", "a", "wheels", "x.whl", "C:", "..\\..",
                                       "manifest.json", "b.tar.gz", "é", "\u202e"]), SAFE_TEXT)
SHORT = st.sampled_from(["a", "b", "a", "b", "..", "."])  # few names: members collide often
MEMBER_NAME = st.one_of(
    st.lists(SHORT, min_size=1, max_size=2).map("/".join),
    st.lists(SHORT, min_size=1, max_size=3).map("/".join),
    st.lists(COMPONENT, min_size=1, max_size=6).map("/".join),
    st.lists(COMPONENT, min_size=1, max_size=4).map("\\".join),
    st.lists(COMPONENT, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts)),
).filter(lambda name: 0 < len(name.encode("utf-8")) < 90)
TAR_KINDS = st.sampled_from(["file", "file", "file", "dir", "symlink", "hardlink", "chr", "blk",
                             "fifo"])
ZIP_KINDS = st.sampled_from(["file", "file", "file", "dir", "symlink", "chr", "fifo", "bare"])
MEMBER = st.tuples(MEMBER_NAME, st.binary(max_size=48), MEMBER_NAME)


def build_tar(path, members, mode):
    kinds = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
             "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE}
    with tarfile.open(path, mode, format=tarfile.PAX_FORMAT) as archive:
        for kind, (name, data, link) in members:
            if kind == "file":
                archive.addfile(*tar_info(name, data))
            else:
                archive.addfile(*tar_info(name, kind=kinds[kind], linkname=link))


def build_zip(path, members):
    modes = {"file": stat.S_IFREG | 0o644, "dir": stat.S_IFDIR | 0o755,
             "symlink": stat.S_IFLNK | 0o777, "chr": stat.S_IFCHR | 0o644,
             "fifo": stat.S_IFIFO | 0o644, "bare": 0o600}
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are part of the corpus
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for kind, (name, data, link) in members:
                if kind == "dir" and not name.endswith("/"):
                    name += "/"
                content = link.encode("utf-8") if kind == "symlink" else data
                archive.writestr(zip_info(name, modes[kind]), b"" if kind == "dir" else content)


PLAIN_NAME = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3).map("/".join)
ARCHIVES = st.tuples(
    st.sampled_from(["tar.gz", "tar", "zip"]),
    st.one_of(
        # anything at all
        st.lists(st.tuples(st.one_of(TAR_KINDS, ZIP_KINDS), MEMBER), min_size=1, max_size=6),
        # harmless-looking names only, so the later members meet the earlier ones
        st.lists(st.tuples(st.sampled_from(["file", "file", "dir", "symlink"]),
                           st.tuples(PLAIN_NAME, st.binary(max_size=8), PLAIN_NAME)),
                 min_size=2, max_size=5)))

PROJECT = st.from_regex(r"\A[A-Za-z0-9]([A-Za-z0-9._-]{0,8}[A-Za-z0-9])?\Z")
VERSION = st.one_of(st.sampled_from(["1.0", "2", "0.1.dev0", "1!2.0", "3.0rc1", "1.0.post1",
                                     "1.0+local", "01.02", "1.*", "abc", ""]),
                    st.from_regex(r"\A[0-9]{1,3}(\.[0-9]{1,3}){0,3}((a|b|rc)[0-9])?\Z"))
OPERATOR = st.sampled_from(["==", "!=", "<=", ">=", "<", ">", "~=", "===", "=", "=>", ""])
MARKER_VAR = st.sampled_from(["python_version", "python_full_version", "os_name",
                              "sys_platform", "platform_system", "platform_machine",
                              "platform_release", "implementation_name", "extra",
                              "platform_python_implementation", "implementation_version",
                              "os.name", "unknown_var"])
MARKER_OP = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "~=", "===", "in", "not in"])
MARKER_VALUE = st.one_of(VERSION, st.sampled_from(["posix", "nt", "linux", "win32", "Windows",
                                                   "x86_64", "cpython", "test", "3.10"]),
                         SAFE_TEXT.filter(lambda t: '"' not in t and "'" not in t))


@st.composite
def markers(draw, depth=2):
    atom = '%s %s "%s"' % (draw(MARKER_VAR), draw(MARKER_OP), draw(MARKER_VALUE))
    if draw(st.booleans()):
        atom = '"%s" %s %s' % (draw(MARKER_VALUE), draw(MARKER_OP), draw(MARKER_VAR))
    if depth and draw(st.booleans()):
        other = draw(markers(depth - 1))
        joined = "%s %s %s" % (atom, draw(st.sampled_from(["and", "or"])), other)
        return "(%s)" % joined if draw(st.booleans()) else joined
    return atom


@st.composite
def requirement_texts(draw):
    text = draw(PROJECT)
    if draw(st.booleans()):
        text += "[%s]" % ",".join(draw(st.lists(PROJECT, max_size=3)))
    specifiers = draw(st.lists(st.tuples(OPERATOR, VERSION), max_size=3))
    if specifiers:
        text += draw(st.sampled_from(["", " ", "("])) + ",".join(o + v for o, v in specifiers)
    if draw(st.booleans()):
        text += " @ https://example.invalid/x.whl" if draw(st.booleans()) else ""
    if draw(st.booleans()):
        text += "; " + draw(markers())
    if draw(st.integers(0, 4)) == 0:  # a little damage now and then
        position = draw(st.integers(0, len(text)))
        text = text[:position] + draw(st.sampled_from(["(", ")", ";", ",", "[", "@", "'", '"',
                                                        "\\", " ", "=", "~"])) + text[position:]
    return text


REQUIREMENT = st.one_of(requirement_texts(), SAFE_TEXT)

HEADER = st.sampled_from(["Name", "Version", "Requires-Dist", "Requires-Python", "Provides-Extra",
                          "Metadata-Version", "Summary", "name", "REQUIRES-DIST", " Folded",
                          "No colon line"])


@st.composite
def metadata_texts(draw, name=None, version=None):
    lines = []
    if name is not None:
        lines += ["Metadata-Version: 2.1", "Name: " + name, "Version: " + version]
    for header in draw(st.lists(HEADER, max_size=8)):
        if header == "Requires-Dist" or header == "REQUIRES-DIST":
            value = draw(REQUIREMENT)
        elif header == "Requires-Python":
            value = ",".join(o + v for o, v in draw(st.lists(st.tuples(OPERATOR, VERSION),
                                                             max_size=2)))
        elif header == "Version":
            value = draw(VERSION)
        else:
            value = draw(SAFE_TEXT)
        if header == "No colon line":
            lines.append(value.replace(":", ""))
        elif header == " Folded":
            lines.append("    " + value)
        else:
            lines.append("%s: %s" % (header, value))
    if draw(st.booleans()):
        lines += ["", draw(SAFE_TEXT)]  # a description body
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n"]))


TAG_PART = st.one_of(st.sampled_from(["py3", "py2.py3", "cp38", "cp311", "pp38", "none", "abi3",
                                      "cp38d", "any", "manylinux_2_17_x86_64", "win_amd64",
                                      "macosx_11_0_arm64", "musllinux_1_1_x86_64",
                                      "manylinux2014_x86_64.manylinux_2_17_x86_64",
                                      "linux_x86_64", ""]), SAFE_TEXT)
WHEEL_NAME = st.one_of(
    st.tuples(PROJECT, VERSION, st.one_of(st.none(), st.sampled_from(["1", "2abc", "x"])),
              TAG_PART, TAG_PART, TAG_PART).map(
        lambda p: "-".join([p[0].replace("-", "_"), p[1]] + ([p[2]] if p[2] else []) +
                           list(p[3:])) + ".whl"),
    SAFE_TEXT.map(lambda t: t + ".whl"),
)


# -- requirement strings and markers ------------------------------------------------------------


class TestRequirementStrings:
    @FAST
    @given(REQUIREMENT)
    @example('zz-x; python_version ~= "abc"')
    @example("zz [a,b] (>=1.0) ; extra == 'Test_X'")
    def test_parse_raises_only_value_error(self, text):
        try:
            requirement = bootstrap.Requirement(text)
        except ValueError as error:
            assert isinstance(error, bootstrap.BootstrapError)
            assert error.code == "invalid-requirement"
            return
        assert requirement.key == bootstrap.canonicalize_name(requirement.name)
        assert bootstrap.Requirement(str(requirement)).key == requirement.key  # str() parses
        if requirement.marker is not None:
            for profile in (PY38, WIN):
                for extra in ("", "test"):
                    try:
                        result = requirement.marker.evaluate(
                            dict(profile.marker_environment, extra=extra))
                    except ValueError:
                        continue  # UndefinedComparison / UndefinedEnvironmentName
                    assert result in (True, False)

    @FAST
    @given(markers())
    def test_marker_parse_raises_only_value_error(self, text):
        try:
            marker = bootstrap.Marker(text)
        except ValueError as error:
            assert isinstance(error, bootstrap.InvalidMarker)
            return
        bootstrap.Marker(str(marker))  # str() parses (equality after a round trip is not
        # promised: like packaging, extra values inside parentheses are not normalised)


class TestRequirementsInCheck:
    @pytest.mark.parametrize("requirement", [
        'zz-x; python_version ~= "abc"',  # a marker comparison packaging calls undefined
        'zz-x; extra ~= "a"',
        'zz-x; python_version < "3.x"',
        "zz-x; os_name < 'posix'",
        'zz-x; python_version === "3.8"',
    ])
    def test_known_hard_markers(self, requirement):
        with Sandbox() as box:
            make_wheel(box.uploads, "zz-app", "1.0", requires=[requirement])
            report = bootstrap.check([box.uploads], profile=PY38, work_dir=box.work)
            assert_structured(report)

    @pytest.mark.parametrize("requirement", ['zz-app; python_version ~= "2"',
                                             'zz-app; extra ~= "a"'])
    def test_known_hard_markers_in_require(self, requirement):
        with Sandbox() as box:
            make_wheel(box.uploads, "zz-app", "1.0")
            try:
                report = bootstrap.check([box.uploads], require=[requirement], profile=PY38,
                                         work_dir=box.work)
            except bootstrap.UsageError:
                return
            assert_structured(report)

    @FUZZ
    @given(st.lists(REQUIREMENT, min_size=1, max_size=3))
    def test_requires_dist_gives_only_structured_problems(self, requires):
        with Sandbox() as box:
            make_wheel(box.uploads, "zz-app", "1.0", requires=requires)
            make_wheel(box.uploads, "zz-x", "1.0")
            report = bootstrap.check([box.uploads], profile=PY38, work_dir=box.work)
            assert_structured(report)

    @FUZZ
    @given(st.lists(REQUIREMENT, min_size=1, max_size=3))
    def test_require_option_gives_a_report_or_a_usage_error(self, requires):
        with Sandbox() as box:
            make_wheel(box.uploads, "zz-app", "1.0", requires=["zz-x>=1"])
            make_wheel(box.uploads, "zz-x", "1.0")
            try:
                report = bootstrap.check([box.uploads], require=requires, profile=PY38,
                                         work_dir=box.work)
            except bootstrap.UsageError as error:
                assert error.subject in requires
                return
            assert_structured(report)


# -- METADATA ---------------------------------------------------------------------------------------


class TestMetadata:
    @FAST
    @given(metadata_texts())
    def test_parse_metadata_raises_only_bootstrap_error(self, text):
        try:
            metadata = bootstrap.parse_metadata(text, "fuzz METADATA")
        except bootstrap.BootstrapError as error:
            assert error.code == "invalid-metadata"
            assert "fuzz METADATA" in error.message
            return
        assert isinstance(metadata.version, bootstrap.Version)
        for text in metadata.requires_dist:
            try:
                bootstrap.Requirement(text)
            except ValueError:
                pass

    @FUZZ
    @given(st.one_of(metadata_texts(name="zz-app", version="1.0"), metadata_texts()))
    def test_check_of_a_wheel_with_this_metadata(self, text):
        with Sandbox() as box:
            make_wheel(box.uploads, "zz-app", "1.0",
                       files={"zz_app-1.0.dist-info/METADATA": text, "zz_app/__init__.py": ""})
            make_wheel(box.uploads, "zz-x", "1.0")
            report = bootstrap.check([box.uploads], profile=PY38, work_dir=box.work)
            assert_structured(report)


# -- wheel file names ---------------------------------------------------------------------------


def _file_system_safe(name):
    return ("/" not in name and "\x00" not in name and name not in (".whl",)
            and len(name.encode("utf-8")) < 200)


class TestWheelNames:
    @FAST
    @given(WHEEL_NAME)
    @example("zz-1.0-py3-none-any.whl")
    @example("zz-1.0-1-py3-none-any.whl")
    def test_parse_and_judge(self, filename):
        try:
            wheel_name = bootstrap.WheelName.parse(filename)
        except ValueError as error:
            assert isinstance(error, bootstrap.InvalidWheelFilename)
            return
        for profile in (PY38, WIN):
            verdict = bootstrap.judge_wheel(profile, wheel_name)
            if verdict.rank is None:
                assert verdict.reason in ("python", "abi", "platform", "libc")
                assert verdict.message
            else:
                assert 0 <= verdict.rank < len(profile.tags)

    @FUZZ
    @given(WHEEL_NAME.filter(_file_system_safe))
    def test_check_of_a_bundle_with_this_file_name(self, filename):
        with Sandbox() as box:
            source = make_wheel(os.path.join(box.base, "made"), "zz-app", "1.0")
            target = os.path.join(box.uploads, filename)
            try:
                shutil.copyfile(str(source), target)
            except OSError:
                return  # a name this file system does not take
            report = bootstrap.check([box.uploads], profile=PY38, work_dir=box.work)
            assert_structured(report)


# -- archive members --------------------------------------------------------------------------------


class TestArchiveMembers:
    @settings(FUZZ, max_examples=250)
    @given(ARCHIVES)
    def test_intake_writes_nothing_outside_and_raises_only_bootstrap_errors(self, archive):
        kind, members = archive
        with Sandbox() as box:
            path = os.path.join(box.uploads, "upload." + kind)
            if kind == "zip":
                members = [(k if k in ("file", "dir", "symlink", "chr", "fifo", "bare")
                            else "file", m) for k, m in members]
                build_zip(path, members)
            else:
                members = [(k if k != "bare" else "file", m) for k, m in members]
                build_tar(path, members, "w:gz" if kind == "tar.gz" else "w")
            before = box.snapshot()
            try:
                bootstrap.extract_archive(path, os.path.join(box.work, "direct"))
            except bootstrap.BootstrapError as error:
                assert error.code in bootstrap.PROBLEM_CODES
            assert box.snapshot() == before
            box.assert_no_links_in_work()
            report = bootstrap.check([path], profile=PY38, work_dir=box.work)
            assert_structured(report)
            assert box.snapshot() == before
            box.assert_no_links_in_work()

    @FUZZ
    @given(st.binary(min_size=0, max_size=600), st.sampled_from(
        ["upload.tar.gz", "upload.zip", "upload.tar", "upload", "zz-1.0-py3-none-any.whl",
         "zz-1.0.tar.gz", "bundle.tar.gz.part-001"]))
    def test_random_bytes(self, data, name):
        with Sandbox() as box:
            path = os.path.join(box.uploads, name)
            with open(path, "wb") as f:
                f.write(data)
            before = box.snapshot()
            report = bootstrap.check([path], profile=PY38, work_dir=box.work)
            assert_structured(report)
            assert box.snapshot() == before

    @FUZZ
    @given(st.integers(0, 2000), st.sampled_from(["tar.gz", "zip", "tar"]))
    def test_truncated_bundles(self, cut, kind):
        with Sandbox() as box:
            wheels = [make_wheel(os.path.join(box.base, "made"), name, "1.0")
                      for name in ("zz-a", "zz-b")]
            path = os.path.join(box.uploads, "bundle." + kind)
            if kind == "zip":
                with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
                    for wheel in wheels:
                        archive.write(str(wheel), "wheels/" + wheel.name)
            else:
                with tarfile.open(path, "w:gz" if kind == "tar.gz" else "w") as archive:
                    for wheel in wheels:
                        archive.add(str(wheel), "wheels/" + wheel.name)
            size = os.path.getsize(path)
            with open(path, "r+b") as f:
                f.truncate(max(0, size - 1 - cut))
            report = bootstrap.check([path], profile=PY38, work_dir=box.work)
            assert_structured(report)
