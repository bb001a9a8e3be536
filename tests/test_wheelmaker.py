"""The make_wheel fixture writes wheels that the real tools accept.

packaging parses their names and METADATA, every RECORD hash and size matches the member, and
pip installs them (offline, --no-deps, into a --target folder; never into site-packages).
"""
import csv
import email.parser
import io
import os
import subprocess
import sys
import zipfile

import pytest

import oracle  # noqa: E402

packaging = oracle.require(hypothesis=False)

from packaging.utils import canonicalize_name, parse_wheel_filename  # noqa: E402

from wheelmaker import expand_tags, record_hash  # noqa: E402

FULL = dict(
    requires=["idna>=3.4", "charset-normalizer<4,>=2; python_version >= '3.7'"],
    requires_python=">=3.8",
    extras={"socks": ["PySocks!=1.5.7,>=1.5.6"], "Use_Chardet": ["chardet>=3; os_name != 'nt'"]},
    entry_points={
        "console_scripts": {"foo-cli": "foo_bar.cli:main"},
        "gui_scripts": {"foo-gui": "foo_bar.cli:gui"},
    },
    files={
        "foo_bar/__init__.py": "VERSION = '2.0'\n",
        "foo_bar/cli.py": "def main():\n    return 0\n\ndef gui():\n    return 0\n",
        "foo_bar/data/blob.bin": bytes(range(256)),
    },
    data={
        "scripts": {"foo-script": "#!python\nprint('hi')\n"},
        "data": {"share/foo/readme.txt": "shared data\n"},
        "headers": {"foo.h": "#define FOO 1\n"},
    },
    metadata_extra={"Summary": "A test distribution", "License": "MIT"},
)

CASES = {
    "plain": dict(),
    "full": FULL,
    "build-tag": dict(build_tag="3abc"),
    "compressed-tags": dict(tag="py2.py3-none-any"),
    "platform": dict(tag="cp38.cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64"),
    "extras-list": dict(extras=["a", "b"]),
}


def _read(path):
    with zipfile.ZipFile(str(path)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _dist_info(members):
    tops = {name.split("/")[0] for name in members}
    (folder,) = [top for top in tops if top.endswith(".dist-info")]
    return folder


def _headers(text):
    return email.parser.Parser().parsestr(text)


def _record_rows(members):
    record = members[_dist_info(members) + "/RECORD"].decode("utf-8")
    return list(csv.reader(io.StringIO(record)))


def _pip_env():
    env = dict(os.environ)
    for key in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL"):
        env.pop(key, None)
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_NO_INPUT="1", PYTHONNOUSERSITE="1")
    return env


def _pip_available():
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--version"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=_pip_env(),
    )
    return result.returncode == 0


class TestWheelFile:
    @pytest.mark.parametrize("case", sorted(CASES))
    def test_name_parses_with_packaging(self, make_wheel, case):
        options = CASES[case]
        path = make_wheel("Foo.Bar", "2.0", **options)
        name, version, build, tags = parse_wheel_filename(path.name)
        assert name == canonicalize_name("Foo.Bar")
        assert str(version) == "2.0"
        if "build_tag" in options:
            assert build == (3, "abc")
        else:
            assert build == ()
        expected = expand_tags(options.get("tag", "py3-none-any"))
        assert sorted(str(t) for t in tags) == sorted(expected)

    def test_file_name_is_escaped(self, make_wheel):
        assert make_wheel("foo-bar.baz__qux", "1.0").name == "foo_bar_baz_qux-1.0-py3-none-any.whl"

    @pytest.mark.parametrize("case", sorted(CASES))
    def test_every_record_hash_matches(self, make_wheel, case):
        members = _read(make_wheel("Foo.Bar", "2.0", **CASES[case]))
        rows = _record_rows(members)
        record_path = _dist_info(members) + "/RECORD"
        assert sorted(row[0] for row in rows) == sorted(members)
        for path, digest, size in rows:
            if path == record_path:
                assert (digest, size) == ("", "")
                continue
            assert digest == record_hash(members[path]), path
            assert int(size) == len(members[path]), path

    def test_bad_hash_breaks_exactly_one_row(self, make_wheel):
        members = _read(make_wheel("foo", "1.0", bad_hash=True, files={"a.py": "", "b.py": "x"}))
        wrong = [row[0] for row in _record_rows(members)
                 if row[1] and row[1] != record_hash(members[row[0]])]
        assert len(wrong) == 1

    def test_record_can_be_left_out(self, make_wheel):
        members = _read(make_wheel("foo", "1.0", record=False))
        assert not any(name.endswith("/RECORD") for name in members)

    def test_is_deterministic(self, tmp_path):
        from wheelmaker import make_wheel

        first = make_wheel(tmp_path / "one", "Foo.Bar", "2.0", **FULL)
        second = make_wheel(tmp_path / "two", "Foo.Bar", "2.0", **FULL)
        assert first.read_bytes() == second.read_bytes()


class TestMetadata:
    def test_metadata_fields(self, make_wheel):
        members = _read(make_wheel("Foo.Bar", "2.0", **FULL))
        folder = _dist_info(members)
        assert folder == "Foo_Bar-2.0.dist-info"
        metadata = _headers(members[folder + "/METADATA"].decode("utf-8"))
        assert metadata["Metadata-Version"] == "2.1"
        assert metadata["Name"] == "Foo.Bar"
        assert metadata["Version"] == "2.0"
        assert metadata["Requires-Python"] == ">=3.8"
        assert sorted(metadata.get_all("Provides-Extra")) == ["Use_Chardet", "socks"]
        assert len(metadata.get_all("Requires-Dist")) == 4

    def test_metadata_validates_with_packaging(self, make_wheel):
        from packaging.metadata import Metadata
        from packaging.requirements import Requirement

        members = _read(make_wheel("Foo.Bar", "2.0", **FULL))
        metadata = Metadata.from_email(members[_dist_info(members) + "/METADATA"], validate=True)
        assert str(metadata.version) == "2.0"
        by_extra = {}
        for requirement in metadata.requires_dist:
            for extra in ("", "socks", "use-chardet"):
                if requirement.marker is None or requirement.marker.evaluate(
                    {"extra": extra, "os_name": "posix", "python_version": "3.8"}
                ):
                    by_extra.setdefault(extra, set()).add(requirement.name)
        assert by_extra[""] == {"idna", "charset-normalizer"}
        assert by_extra["socks"] - by_extra[""] == {"PySocks"}
        assert by_extra["use-chardet"] - by_extra[""] == {"chardet"}
        assert all(isinstance(r, Requirement) for r in metadata.requires_dist)

    @pytest.mark.parametrize("tag, purelib", [
        ("py3-none-any", "true"), ("py2.py3-none-any", "true"),
        ("cp38-cp38-manylinux_2_17_x86_64.manylinux2014_x86_64", "false"),
        ("cp311-cp311-win_amd64", "false"),
    ])
    def test_wheel_file(self, make_wheel, tag, purelib):
        members = _read(make_wheel("foo", "1.0", tag=tag, build_tag=7))
        wheel = _headers(members[_dist_info(members) + "/WHEEL"].decode("utf-8"))
        assert wheel["Wheel-Version"] == "1.0"
        assert wheel["Generator"]
        assert wheel["Root-Is-Purelib"] == purelib
        assert wheel.get_all("Tag") == expand_tags(tag)
        assert wheel["Build"] == "7"

    def test_entry_points_and_data(self, make_wheel):
        members = _read(make_wheel("Foo.Bar", "2.0", **FULL))
        entry_points = members["Foo_Bar-2.0.dist-info/entry_points.txt"].decode("utf-8")
        assert "[console_scripts]\nfoo-cli = foo_bar.cli:main" in entry_points
        assert "Foo_Bar-2.0.data/scripts/foo-script" in members
        assert "Foo_Bar-2.0.data/data/share/foo/readme.txt" in members
        assert "Foo_Bar-2.0.data/headers/foo.h" in members

    def test_dist_info_file_can_be_replaced(self, make_wheel):
        members = _read(make_wheel("foo", "1.0", files={"foo-1.0.dist-info/METADATA": "garbage"}))
        assert members["foo-1.0.dist-info/METADATA"] == b"garbage"


@pytest.mark.skipif(not _pip_available(), reason="pip is not available in this interpreter")
class TestPipInstalls:
    def _install(self, wheel, target):
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "--target",
             str(target), str(wheel)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=_pip_env(),
            universal_newlines=True, timeout=300,
        )
        assert result.returncode == 0, result.stdout
        return result

    def test_pip_installs_a_full_wheel(self, make_wheel, tmp_path):
        target = tmp_path / "target"
        self._install(make_wheel("Foo.Bar", "2.0", **FULL), target)
        assert (target / "foo_bar" / "cli.py").is_file()
        assert (target / "foo_bar" / "data" / "blob.bin").read_bytes() == bytes(range(256))
        dist_info = target / "Foo_Bar-2.0.dist-info"
        assert (dist_info / "METADATA").is_file()
        assert (dist_info / "RECORD").is_file()
        scripts = target / ("Scripts" if os.name == "nt" else "bin")
        assert any(p.name.startswith("foo-cli") for p in scripts.iterdir())
        assert any(p.name.startswith("foo-script") for p in scripts.iterdir())

    @pytest.mark.parametrize("case", ["plain", "build-tag", "compressed-tags"])
    def test_pip_installs_simple_wheels(self, make_wheel, tmp_path, case):
        target = tmp_path / "target"
        self._install(make_wheel("Foo.Bar", "2.0", **CASES[case]), target)
        assert (target / "foo_bar" / "__init__.py").is_file()
