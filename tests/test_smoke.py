"""A small install, and the sdist build-system reader, on every CPython 3.8-3.13 (issue 13).

tools/run_tests.py runs this module (with test_intake.py and test_resolve.py) under each
interpreter it finds, not only the one running the main suite.

    TestBuildSystem   pyproject.toml's [build-system] as read from a real sdist: comments
                      inside a multi-line `requires`, dotted keys, extras, a commented header.
                      Before 3.11 bootstrap has its own reader; it is run on every interpreter
                      (tomllib hidden) and held against tomllib where there is one
    TestInstallSmoke  bootstrap.py install of two wheels (a dependency, a console script) into a
                      --target folder: both land whole (RECORD hashes), import in a fresh
                      interpreter and the script runs; nothing else in the folder changes
"""
import io
import json
import os
import subprocess
import sys
import tarfile

import pytest

import bootstrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from installkit import (  # noqa: E402
    BOOTSTRAP_PY, clean_env, dist_info_dirs, record_problems, snapshot)

try:
    import tomllib
except ImportError:  # before 3.11: no oracle but the expected values written here
    tomllib = None

CASES = {
    "comment-in-requires": (
        '[build-system]\nrequires = [\n  "setuptools>=61",  # the "backend" it needs\n'
        '  # "not-a-requirement",\n  "wheel",\n]\n'
        'build-backend = "setuptools.build_meta"  # a comment\n',
        ("setuptools.build_meta", ["setuptools>=61", "wheel"])),
    "dotted-keys": (
        'build-system.requires = ["flit_core >=3.2,<4"]\n'
        'build-system.build-backend = "flit_core.buildapi"\n\n[project]\nname = "x"\n',
        ("flit_core.buildapi", ["flit_core >=3.2,<4"])),
    "extras-and-hash-in-strings": (
        "[build-system]\nrequires = ['setuptools', \"foo[bar]>=1\", 'x @ https://h/x.zip#a']\n",
        ("setuptools.build_meta:__legacy__",
         ["setuptools", "foo[bar]>=1", "x @ https://h/x.zip#a"])),
    "commented-header-and-other-tables": (
        '[build-system] # here\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        '[tool.other]\nrequires = ["not-this"]\n',
        ("hatchling.build", ["hatchling"])),
    "no-build-system": ('[project]\nname = "x"\n',
                        ("setuptools.build_meta:__legacy__", ["setuptools>=40.8.0"])),
}


def _sdist(folder, pyproject):
    path = os.path.join(str(folder), "demo-1.0.tar.gz")
    with tarfile.open(path, "w:gz") as archive:
        for name, text in (("PKG-INFO", "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"),
                           ("pyproject.toml", pyproject)):
            data = text.encode("utf-8")
            info = tarfile.TarInfo("demo-1.0/" + name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


class TestBuildSystem:
    @pytest.mark.parametrize("case", sorted(CASES))
    def test_reader_without_tomllib(self, case, tmp_path, monkeypatch):
        text, expected = CASES[case]
        monkeypatch.setitem(sys.modules, "tomllib", None)  # the pre-3.11 reader
        sdist = bootstrap.read_sdist(_sdist(tmp_path, text))
        assert (sdist.backend, sdist.requires) == expected

    @pytest.mark.parametrize("case", sorted(CASES))
    def test_reader_of_this_interpreter(self, case, tmp_path):
        text, expected = CASES[case]
        sdist = bootstrap.read_sdist(_sdist(tmp_path, text))
        assert (sdist.backend, sdist.requires) == expected
        if tomllib is not None:  # the expected values are what TOML says
            build = tomllib.loads(text).get("build-system") or {}
            assert build.get("requires", expected[1]) == expected[1]
            assert build.get("build-backend", expected[0]) == expected[0]


class TestInstallSmoke:
    def test_two_wheels_into_a_target(self, make_wheel, tmp_path):
        make_wheel("smokeapp", "1.0", requires=["smokedep>=1"],
                   files={"smokeapp/__init__.py": "from smokedep import VALUE\n"
                                                  "def main():\n    print('smoke', VALUE)\n"},
                   entry_points={"console_scripts": {"smoke-run": "smokeapp:main"}})
        make_wheel("smokedep", "1.0", files={"smokedep/__init__.py": "VALUE = 42\n"})
        target = tmp_path / "target"
        target.mkdir()
        (target / "keep.txt").write_text("untouched\n")
        before = snapshot(str(target))
        proc = subprocess.run([sys.executable, BOOTSTRAP_PY, "install", str(tmp_path / "wheels"),
                               "--require", "smokeapp", "--target", str(target), "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, env=clean_env(), timeout=300)
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout)
        assert sorted((i["name"], i["version"]) for i in report["installed"]) == [
            ("smokeapp", "1.0"), ("smokedep", "1.0")]
        for dist_info in dist_info_dirs(str(target)):
            assert record_problems(str(target), dist_info) == [], dist_info
        after = snapshot(str(target))
        assert {k: v for k, v in after.items() if k in before} == before
        env = clean_env(PYTHONPATH=str(target))
        run = subprocess.run([sys.executable, str(target / "bin" / "smoke-run")],
                             stdout=subprocess.PIPE, universal_newlines=True, env=env,
                             timeout=120)
        assert run.stdout.strip() == "smoke 42"
