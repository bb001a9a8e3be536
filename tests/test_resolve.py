"""Offline resolution in `check`: roots, markers, Requires-Python, choices, installed
distributions, blocked roots, verdicts, sdists, and the one online fix.

Every case judges for a *simulated* interpreter (checkkit.linux_profile / windows_profile:
CPython 3.8 or 3.11 on Linux or Windows, with the installed distributions the test gives), so
the answers do not depend on the interpreter running the tests: markers must be evaluated for
the profile, never for the host. The last classes run the real-world cases of issue 3 on real
PyPI files (tests/realwheels.py's pinned sets; skipped with a reason when not available).
"""
import hashlib
import json
import os
import re
import shlex
import sys

import pytest

import bootstrap
from checkkit import (PYTHON38, linux_profile, manylinux_platforms, problem_codes,
                      problems_with, run_cli, tar_bytes, windows_profile)

try:
    import realwheels
except ImportError:  # tests/ is not on sys.path under this import mode
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        import realwheels
    except ImportError:
        realwheels = None

PY38 = linux_profile("3.8")
PY311 = linux_profile("3.11")


@pytest.fixture
def bundle(tmp_path, make_wheel):
    """The folder the make_wheel fixture writes into (a `pip download` style bundle)."""
    return tmp_path / "wheels"


@pytest.fixture
def run(tmp_path, bundle):
    """run(profile, require=None, upgrade=False, uploads=None) -> Report of check()."""
    work = tmp_path / "work"
    work.mkdir()

    def run_check(profile=PY38, require=None, upgrade=False, uploads=None):
        return bootstrap.check([str(u) for u in (uploads or [bundle])], require=require,
                               profile=profile, upgrade=upgrade, work_dir=str(work))
    return run_check


def installs(report):
    return [(item["name"], item["version"]) for item in report["would_install"]]


def installed_names(report):
    return sorted(item["name"] for item in report["would_install"])


def pip_would_install(folder, roots):
    """The oracle: the projects pip's resolver installs for ``roots`` from ``folder`` alone
    (`pip install --dry-run --ignore-installed --report -`), sorted."""
    from installkit import clean_env, run as run_cmd
    proc = run_cmd([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
                    "--report", "-", "--no-index", "--find-links", str(folder), "-q",
                    "--no-cache-dir", "--disable-pip-version-check"] + list(roots),
                   env=clean_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return sorted(item["metadata"]["name"] for item in json.loads(proc.stdout)["install"])


def only(items):
    assert len(items) == 1, items
    return items[0]


def write_sdist(folder, name, version, pyproject=None, requires=(), folder_name=None):
    """A source distribution NAME-VERSION.tar.gz with PKG-INFO and an optional pyproject.toml."""
    base = folder_name or "%s-%s" % (name, version)
    pkg_info = "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version)
    pkg_info += "".join("Requires-Dist: %s\n" % r for r in requires)
    files = {base + "/PKG-INFO": pkg_info.encode(), base + "/setup.py": b"from setuptools "
             b"import setup\nsetup()\n"}
    if pyproject is not None:
        files[base + "/pyproject.toml"] = pyproject.encode()
    path = folder / ("%s.tar.gz" % base)
    path.write_bytes(tar_bytes(files))
    return path


# -- roots -------------------------------------------------------------------------------------


class TestRoots:
    def test_without_require_or_manifest_the_roots_are_what_nothing_requires(self, run,
                                                                             make_wheel):
        make_wheel("zz-app", "1.0", requires=["zz-lib"])
        make_wheel("zz-lib", "1.0", requires=["zz-win; sys_platform == 'win32'"])
        make_wheel("zz-win", "1.0")  # required under a marker false here: still not a root
        make_wheel("zz-other", "2.0")
        report = run()
        assert sorted(report["roots"]) == ["zz-app", "zz-other"]
        assert installed_names(report) == ["zz-app", "zz-lib", "zz-other"]
        assert report.ok

    def test_a_project_needed_through_an_extra_adds_the_extra(self, run, make_wheel):
        make_wheel("zz-black", "1.0", extras={"d": ["zz-aiohttp>=3"]})
        make_wheel("zz-aiohttp", "3.1")
        report = run()
        assert report["roots"] == ["zz-black[d]"]
        assert installed_names(report) == ["zz-aiohttp", "zz-black"]

    def test_an_extra_another_project_asks_for_is_no_root(self, run, make_wheel):
        """jupyterlab's shape: jupyter-events requires jsonschema[format-nongpl], whose extra
        pulls rfc3339-validator; jsonschema's other extra `format` (rfc3987) is not in the
        upload. The root is the app alone, not jsonschema with both extras."""
        make_wheel("zz-lab", "1.0", requires=["zz-events"])
        make_wheel("zz-events", "1.0", requires=["zz-schema[format-nongpl]"])
        make_wheel("zz-schema", "4.0", extras={
            "format": ["zz-rfc3987", "zz-rfc3339"], "format-nongpl": ["zz-rfc3339"]})
        make_wheel("zz-rfc3339", "0.1")
        report = run()
        assert report["roots"] == ["zz-lab"]
        assert installed_names(report) == ["zz-events", "zz-lab", "zz-rfc3339", "zz-schema"]
        assert report.ok

    def test_only_the_extras_the_upload_completes_join_the_root(self, run, bundle, make_wheel):
        """pandas' shape in a `pip download pandas pyarrow numexpr` folder: pyarrow is needed
        by the extras pyarrow (complete) and all (its adbc driver not uploaded); numexpr only
        by performance (numba not uploaded). The root is pandas[pyarrow], numexpr a root of
        its own, and every uploaded wheel installs."""
        make_wheel("zz-pandas", "2.3", extras={
            "pyarrow": ["zz-pyarrow>=10"], "all": ["zz-pyarrow>=10", "zz-adbc"],
            "performance": ["zz-numexpr", "zz-numba"]})
        make_wheel("zz-pyarrow", "20.0")
        make_wheel("zz-numexpr", "2.10")
        report = run()
        assert report["roots"] == ["zz-pandas[pyarrow]", "zz-numexpr"]
        assert installed_names(report) == ["zz-numexpr", "zz-pandas", "zz-pyarrow"]
        assert report.ok and not report["problems"]
        assert pip_would_install(bundle, report["roots"]) == installed_names(report)

    def test_what_came_for_an_extra_nobody_chose_is_a_root(self, run, bundle, make_wheel):
        """fastapi[standard]'s shape: it asks for uvicorn[standard] (which adds httptools)
        and for a cloud CLI that was not uploaded, so fastapi's extra is not chosen; uvicorn
        and httptools, which nothing chosen reaches, are roots: all three install."""
        make_wheel("zz-fastapi", "0.120", extras={
            "standard": ["zz-uvicorn[standard]>=0.12", "zz-cloud-cli"]})
        make_wheel("zz-uvicorn", "0.38", extras={"standard": ["zz-httptools>=0.6"]})
        make_wheel("zz-httptools", "0.6.4")
        report = run()
        assert report["roots"] == ["zz-fastapi", "zz-httptools", "zz-uvicorn"]
        assert installed_names(report) == ["zz-fastapi", "zz-httptools", "zz-uvicorn"]
        assert report.ok and not report["problems"]
        assert pip_would_install(bundle, report["roots"]) == installed_names(report)

    def test_a_cycle_nothing_else_requires_gives_its_first_project(self, run, make_wheel):
        make_wheel("zz-chicken", "1.0", requires=["zz-egg"])
        make_wheel("zz-egg", "1.0", requires=["zz-chicken"])
        report = run()
        assert report["roots"] == ["zz-chicken"]  # the first in the upload's (sorted) order
        assert installed_names(report) == ["zz-chicken", "zz-egg"]

    def test_a_dependency_that_cannot_be_had_blocks_the_requested_project(self, run, bundle,
                                                                          make_wheel):
        """html2notion's case: crcmod (an sdist that cannot be built here) is required by
        cos-python-sdk-v5, which html2notion requires: html2notion is the root, and the
        short text says it was not installed."""
        make_wheel("zz-html2notion", "1.0", requires=["zz-cos-sdk"])
        make_wheel("zz-cos-sdk", "5.0", requires=["zz-crcmod"])
        write_sdist(bundle, "zz-crcmod", "1.7")
        report = run(profile=linux_profile("3.11", installed=[]))
        assert report["roots"] == ["zz-html2notion"]
        assert report["blocked_roots"] == ["zz-html2notion"]
        problem = only(problems_with(report, "sdist-needs-build"))
        assert problem["required_by"] == ["zz-cos-sdk==5.0"]
        assert "root requirement" not in problem["message"]
        text = str(report)
        assert re.search(r"^Would not install \(requested\): zz-html2notion", text, re.M), text

    def test_require_picks_the_roots(self, run, make_wheel):
        make_wheel("zz-app", "1.0", requires=["zz-lib"])
        make_wheel("zz-lib", "1.0")
        make_wheel("zz-other", "2.0")
        report = run(require=["zz-app"])
        assert report["roots"] == ["zz-app"]
        assert installed_names(report) == ["zz-app", "zz-lib"]
        skipped = dict((s["file"], s["reason"]) for s in report["skipped"])
        assert "zz_other-2.0-py3-none-any.whl" in skipped
        assert "not needed" in skipped["zz_other-2.0-py3-none-any.whl"]

    def test_manifest_roots(self, tmp_path, run, make_wheel):
        folder = tmp_path / "bundle"
        (folder / "wheels").mkdir(parents=True)
        entries = []
        for wheel in (make_wheel("zz-app", "1.0", requires=["zz-lib"]),
                      make_wheel("zz-lib", "1.0"), make_wheel("zz-other", "2.0")):
            data = wheel.read_bytes()
            (folder / "wheels" / wheel.name).write_bytes(data)
            entries.append({"path": "wheels/" + wheel.name, "size": len(data),
                            "sha256": hashlib.sha256(data).hexdigest()})
        (folder / "manifest.json").write_text(json.dumps({
            "schema": "sandbox-bootstrap.bundle/1", "roots": ["zz-app"], "files": entries}))
        report = run(uploads=[folder])
        assert report["roots"] == ["zz-app"]
        assert installed_names(report) == ["zz-app", "zz-lib"]
        assert report["problems"] == []
        report = run(uploads=[folder], require=["zz-other"])  # --require wins
        assert installed_names(report) == ["zz-other"]

    def test_require_with_extras(self, run, make_wheel):
        make_wheel("zz-lib", "1.0", extras={"fast": ["zz-speedy>=2"]})
        make_wheel("zz-speedy", "2.1")
        assert installed_names(run(require=["zz-lib"])) == ["zz-lib"]
        report = run(require=["zz-lib[fast]"])
        assert installed_names(report) == ["zz-lib", "zz-speedy"]
        assert report.ok

    def test_require_with_version(self, run, make_wheel):
        make_wheel("zz-lib", "1.0")
        make_wheel("zz-lib", "2.0")
        assert installs(run(require=["zz-lib<2"])) == [("zz-lib", "1.0")]

    def test_require_names_are_canonicalized(self, run, make_wheel):
        make_wheel("Zz.Lib_Name", "1.0")
        assert installs(run(require=["zz-lib-name"])) == [("zz-lib-name", "1.0")]

    def test_require_with_false_marker_is_not_needed(self, run, make_wheel):
        make_wheel("zz-lib", "1.0")
        report = run(require=['zz-missing; python_version >= "3.9"', "zz-lib"])
        assert report.ok
        assert installed_names(report) == ["zz-lib"]

    @pytest.mark.parametrize("text", ["zz-lib >= =", "", "zz lib", "zz-lib[", "zz-lib; os_name"])
    def test_invalid_require_is_a_usage_error(self, run, make_wheel, text):
        make_wheel("zz-lib", "1.0")
        with pytest.raises(bootstrap.UsageError):
            run(require=[text])

    def test_dependencies_come_before_dependents(self, run, make_wheel):
        make_wheel("zz-top", "1.0", requires=["zz-middle"])
        make_wheel("zz-middle", "1.0", requires=["zz-bottom"])
        make_wheel("zz-bottom", "1.0")
        names = [name for name, _ in installs(run(require=["zz-top"]))]
        assert names == ["zz-bottom", "zz-middle", "zz-top"]


# -- markers and Requires-Python, for the profile --------------------------------------------


class TestMarkersForTheProfile:
    BACKPORT = 'zz-importlib-metadata>=4.4; python_version < "3.10"'

    def test_backport_missing_for_38(self, run, make_wheel):
        make_wheel("zz-markdown", "3.5", requires=[self.BACKPORT])
        report = run(PY38)
        problem = only(report["problems"])
        assert problem["code"] == "missing-dependency"
        assert problem["subject"] == "zz-importlib-metadata>=4.4"
        assert problem["required_by"] == ["zz-markdown==3.5"]
        assert 'python_version < "3.10"' in problem["message"]
        assert problem["because"] == ['python_version < "3.10"']
        assert report["blocked_roots"] == ["zz-markdown"]
        assert report.exit_code == 1

    def test_backport_not_needed_for_311(self, run, make_wheel):
        make_wheel("zz-markdown", "3.5", requires=[self.BACKPORT])
        report = run(PY311)
        assert report.ok
        assert installed_names(report) == ["zz-markdown"]

    def test_newer_python_only_dependency(self, run, make_wheel):
        make_wheel("zz-app", "1.0", requires=['zz-new; python_version >= "3.11"'])
        assert run(PY38).ok
        assert problem_codes(run(PY311)) == ["missing-dependency"]

    def test_windows_only_dependency(self, run, make_wheel):
        make_wheel("zz-app", "1.0", requires=['zz-pywin32; sys_platform == "win32"',
                                              'zz-uvloop; platform_system != "Windows"'])
        linux = run(linux_profile("3.11"))
        assert [p["subject"] for p in linux["problems"]] == ["zz-uvloop"]
        windows = run(windows_profile("3.11"))
        assert [p["subject"] for p in windows["problems"]] == ["zz-pywin32"]

    def test_extra_dependencies_only_when_the_extra_is_asked(self, run, make_wheel):
        make_wheel("zz-lib", "1.0", extras={"socks": ["zz-pysocks>=1.5"]})
        make_wheel("zz-app", "1.0", requires=["zz-lib[socks]"])
        assert run(require=["zz-lib"]).ok
        report = run(require=["zz-app"])
        problem = only(report["problems"])
        assert problem["subject"] == "zz-pysocks>=1.5"
        assert problem["required_by"] == ["zz-lib==1.0"]
        assert problem["chain"] == ["zz-app==1.0", "zz-lib==1.0"]

    def test_extra_with_marker(self, run, make_wheel):
        make_wheel("zz-lib", "1.0", extras={"compat": ['zz-compat; python_version < "3.9"']})
        make_wheel("zz-compat", "1.0")
        assert installed_names(run(PY38, require=["zz-lib[compat]"])) == ["zz-compat", "zz-lib"]
        assert installed_names(run(PY311, require=["zz-lib[compat]"])) == ["zz-lib"]

    def test_extra_names_are_normalized(self, run, make_wheel):
        make_wheel("zz-lib", "1.0", extras={"Use_Chardet": ["zz-chardet"]})
        make_wheel("zz-chardet", "5.0")
        report = run(require=["zz-lib[use-chardet]"])
        assert installed_names(report) == ["zz-chardet", "zz-lib"]

    def test_requires_python_too_new(self, run, make_wheel):
        make_wheel("zz-new", "2.0", requires_python=">=3.9")
        report = run(PY38)
        problem = only(report["problems"])
        assert problem["code"] == "requires-python"
        assert ">=3.9" in problem["message"]
        assert "3.8" in problem["message"]
        assert run(PY311).ok

    def test_requires_python_picks_an_older_fitting_version(self, run, make_wheel):
        make_wheel("zz-new", "2.0", requires_python=">=3.9")
        make_wheel("zz-new", "1.5", requires_python=">=3.7")
        assert installs(run(PY38)) == [("zz-new", "1.5")]
        assert installs(run(PY311)) == [("zz-new", "2.0")]

    def test_requires_python_of_a_dependency(self, run, make_wheel):
        make_wheel("zz-app", "1.0", requires=["zz-dep"])
        make_wheel("zz-dep", "1.0", requires_python=">=3.10")
        report = run(PY38, require=["zz-app"])
        problem = only(report["problems"])
        assert problem["code"] == "requires-python"
        assert problem["required_by"] == ["zz-app==1.0"]


# -- choosing among candidates -----------------------------------------------------------------


class TestChoice:
    def test_best_version(self, run, make_wheel):
        for version in ("1.0", "2.0", "1.5"):
            make_wheel("zz-pkg", version)
        assert installs(run()) == [("zz-pkg", "2.0")]

    def test_best_version_within_every_constraint(self, run, make_wheel):
        for version in ("1.0", "1.4", "2.0"):
            make_wheel("zz-pkg", version)
        make_wheel("zz-a", "1.0", requires=["zz-pkg>=1.2"])
        make_wheel("zz-b", "1.0", requires=["zz-pkg<2"])
        report = run(require=["zz-a", "zz-b"])
        assert ("zz-pkg", "1.4") in installs(report)
        assert report.ok

    def test_best_tag_among_builds_of_one_version(self, run, make_wheel):
        make_wheel("zz-pkg", "2.0")
        make_wheel("zz-pkg", "2.0", tag="cp38-cp38-manylinux_2_17_x86_64")
        make_wheel("zz-pkg", "2.0", tag="cp38-abi3-manylinux_2_17_x86_64")
        item = only(run(PY38)["would_install"])
        assert item["wheel"] == "zz_pkg-2.0-cp38-cp38-manylinux_2_17_x86_64.whl"
        assert item["rank"] == PY38["compatible_tags"].index("cp38-cp38-manylinux_2_17_x86_64")

    def test_newer_glibc_build_preferred_when_it_fits(self, run, make_wheel):
        make_wheel("zz-pkg", "2.0", tag="cp38-cp38-manylinux_2_17_x86_64")
        make_wheel("zz-pkg", "2.0", tag="cp38-cp38-manylinux_2_28_x86_64")
        item = only(run(PY38)["would_install"])
        assert item["wheel"] == "zz_pkg-2.0-cp38-cp38-manylinux_2_28_x86_64.whl"

    def test_incompatible_newer_version_is_passed_over(self, run, make_wheel):
        make_wheel("zz-pkg", "1.0")
        make_wheel("zz-pkg", "3.0", tag="cp39-cp39-manylinux_2_17_x86_64")
        make_wheel("zz-pkg", "2.5", tag="cp38-cp38-macosx_11_0_arm64")
        report = run(PY38, require=["zz-pkg"])
        assert installs(report) == [("zz-pkg", "1.0")]
        assert report.ok

    def test_wrong_version_is_a_version_conflict(self, run, make_wheel):
        make_wheel("zz-pkg", "1.0")
        make_wheel("zz-app", "1.0", requires=["zz-pkg>=2"])
        problem = only(run(require=["zz-app"])["problems"])
        assert problem["code"] == "version-conflict"
        assert problem["subject"] == "zz-pkg>=2"
        assert "1.0" in problem["message"]


class TestPrereleases:
    def test_stable_preferred(self, run, make_wheel):
        make_wheel("zz-pkg", "1.0")
        make_wheel("zz-pkg", "2.0b1")
        assert installs(run()) == [("zz-pkg", "1.0")]

    def test_pre_release_when_asked(self, run, make_wheel):
        make_wheel("zz-pkg", "1.0")
        make_wheel("zz-pkg", "2.0b1")
        assert installs(run(require=["zz-pkg>=2.0b1"])) == [("zz-pkg", "2.0b1")]

    def test_pre_release_when_nothing_else(self, run, make_wheel):
        make_wheel("zz-pkg", "2.0rc1")
        assert installs(run(require=["zz-pkg>=1"])) == [("zz-pkg", "2.0rc1")]

    def test_pre_release_with_an_extra(self, run, make_wheel):
        make_wheel("zz-pkg", "1.0", extras={"x": ["zz-dep"]})
        make_wheel("zz-pkg", "2.0b1", extras={"x": ["zz-dep"]})
        make_wheel("zz-dep", "1.0")
        report = run(require=["zz-pkg[x]>=2.0b1"])  # the base node must accept the pin
        assert report.ok, report["problems"]
        assert sorted(installs(report)) == [("zz-dep", "1.0"), ("zz-pkg", "2.0b1")]

    def test_pre_release_dependency_when_asked_by_the_parent(self, run, make_wheel):
        make_wheel("zz-app", "1.0", requires=["zz-pkg>=2.0a1"])
        make_wheel("zz-pkg", "1.9")
        make_wheel("zz-pkg", "2.0a3")
        assert ("zz-pkg", "2.0a3") in installs(run(require=["zz-app"]))


# -- backtracking (issue 11) -------------------------------------------------------------------


class TestBacktracking:
    """The universes of issue 11; tests/test_resolve_oracle.py holds the same against pip."""

    def test_an_older_version_of_a_root_when_the_newest_conflicts(self, run, make_wheel):
        make_wheel("zz-a", "2.0", requires=["zz-c<2"])
        make_wheel("zz-a", "1.0")
        make_wheel("zz-b", "1.0", requires=["zz-c>=2"])
        make_wheel("zz-c", "1.0")
        make_wheel("zz-c", "2.0")
        report = run(PY311, require=["zz-a", "zz-b"])
        assert report["status"] == "ok", report["problems"]
        assert sorted(installs(report)) == [("zz-a", "1.0"), ("zz-b", "1.0"), ("zz-c", "2.0")]
        assert report["fix"] is None

    def test_a_dropped_version_keeps_no_requirement_in_force(self, run, make_wheel):
        make_wheel("zz-a", "1.0", requires=["zz-b!=2.0"])
        make_wheel("zz-b", "2.0", requires=["zz-c<2"])
        make_wheel("zz-b", "1.0")
        make_wheel("zz-c", "2.0")
        for roots in (["zz-a", "zz-b"], ["zz-b", "zz-a"]):
            report = run(PY311, require=roots)
            assert report["status"] == "ok", report["problems"]
            assert report["problems"] == [] and report["fix"] is None
            assert sorted(installs(report)) == [("zz-a", "1.0"), ("zz-b", "1.0")]

    def test_the_dependencies_of_a_dropped_version_are_not_installed(self, run, make_wheel):
        make_wheel("zz-a", "2.0", requires=["zz-extra", "zz-c<2"])
        make_wheel("zz-a", "1.0")
        make_wheel("zz-b", "1.0", requires=["zz-c>=2"])
        make_wheel("zz-extra", "1.0")
        make_wheel("zz-c", "1.0")
        make_wheel("zz-c", "2.0")
        report = run(PY311, require=["zz-a", "zz-b"])
        assert report.ok
        assert "zz-extra" not in installed_names(report)
        assert sorted(installs(report)) == [("zz-a", "1.0"), ("zz-b", "1.0"), ("zz-c", "2.0")]

    def test_backtracking_through_an_extra(self, run, make_wheel):
        make_wheel("zz-a", "2.0", extras={"x": ["zz-c<2"]})
        make_wheel("zz-a", "1.0", extras={"x": ["zz-c"]})
        make_wheel("zz-b", "1.0", requires=["zz-c>=2"])
        make_wheel("zz-c", "1.0")
        make_wheel("zz-c", "2.0")
        assert installs(run(PY311, require=["zz-a"])) == [("zz-a", "2.0")]  # no extra: newest
        report = run(PY311, require=["zz-a[x]", "zz-b"])
        assert report.ok
        assert sorted(installs(report)) == [("zz-a", "1.0"), ("zz-b", "1.0"), ("zz-c", "2.0")]

    def test_backtracking_past_a_requires_python_dependency(self, run, make_wheel):
        make_wheel("zz-a", "2.0", requires=["zz-d>=2"])
        make_wheel("zz-a", "1.0", requires=["zz-d"])
        make_wheel("zz-d", "2.0", requires_python=">=3.12")
        make_wheel("zz-d", "1.0")
        report = run(PY311, require=["zz-a"])
        assert report.ok
        assert sorted(installs(report)) == [("zz-a", "1.0"), ("zz-d", "1.0")]

    def test_a_conflict_names_the_smallest_set_and_fetches_no_empty_range(self, run, make_wheel):
        make_wheel("zz-a", "1.0", requires=["zz-c<2"])
        make_wheel("zz-b", "1.0", requires=["zz-c>=2"])
        make_wheel("zz-d", "1.0", requires=["zz-c"])
        make_wheel("zz-c", "1.0")
        make_wheel("zz-c", "2.0")
        make_wheel("zz-free", "1.0")
        report = run(PY311, require=["zz-a", "zz-b", "zz-d", "zz-free"])
        problem = only(report["problems"])
        assert problem["code"] == "version-conflict"
        assert problem["conflict_kind"] == "range"
        assert problem["conflict"] == [{"requirement": "zz-c<2", "required_by": "zz-a==1.0"},
                                       {"requirement": "zz-c>=2", "required_by": "zz-b==1.0"}]
        assert "zz-c<2 (required by zz-a==1.0)" in problem["message"]
        assert "zz-c>=2 (required by zz-b==1.0)" in problem["message"]
        # no range of zz-c can satisfy both: the fix fetches no zz-c but asks the builder for
        # the blocked root that reaches the conflict again (other versions of it may fit)
        assert "fetch" not in problem
        words = shlex.split(report["fix"]["command"])
        assert words[:2] == ["python", "tools/bundle.py"]
        assert words[2:words.index("--profile")] == problem["conflict_roots"] == ["zz-b"]
        assert problem["subject"] == "zz-c"
        assert "<2,>=2" not in json.dumps(report)
        # the roots go ahead in their order as far as they can: zz-b is what cannot
        assert problem["conflict_roots"] == ["zz-b"]
        assert report["blocked_roots"] == ["zz-b"]
        assert sorted(installs(report)) == [("zz-a", "1.0"), ("zz-c", "1.0"), ("zz-d", "1.0"),
                                            ("zz-free", "1.0")]
        assert report["status"] == "partial"

    def test_the_fetch_satisfies_every_requirement_on_the_project(self, run, make_wheel):
        make_wheel("zz-a", "1.0", requires=["zz-c<2"])
        make_wheel("zz-b", "1.0", requires=["zz-c>=1.5"])
        make_wheel("zz-c", "2.0")
        report = run(PY311, require=["zz-a", "zz-b"])
        problem = only(report["problems"])
        assert problem["code"] == "version-conflict"
        assert problem["conflict_kind"] == "available"
        assert problem["conflict"] == [{"requirement": "zz-c<2", "required_by": "zz-a==1.0"}]
        assert problem["fetch"] == "zz-c<2,>=1.5"
        assert "zz-c<2,>=1.5" in shlex.split(report["fix"]["command"])

    def test_a_missing_project_is_fetched_within_every_requirement(self, run, make_wheel):
        make_wheel("zz-a", "1.0", requires=["zz-m<3"])
        make_wheel("zz-b", "1.0", requires=["zz-m>=2"])
        report = run(PY311, require=["zz-a", "zz-b"])
        problem = only(report["problems"])
        assert problem["code"] == "missing-dependency"
        assert problem["fetch"] == "zz-m<3,>=2"
        assert problem["required_by"] == ["zz-a==1.0", "zz-b==1.0"]

    def test_plan_conflicts_for_the_fix_commands(self, make_wheel):
        paths = [make_wheel("zz-a", "1.0", requires=["zz-c<2"]),
                 make_wheel("zz-b", "1.0", requires=["zz-c>=2"]), make_wheel("zz-c", "2.0")]
        wheels = [bootstrap.Wheel(str(p), bootstrap.WheelName.parse(str(p))) for p in paths]
        plan = bootstrap.resolve(bootstrap.Profile.from_json(PY311), wheels, (),
                                 [bootstrap.Requirement("zz-a"), bootstrap.Requirement("zz-b")])
        assert plan.conflicts == {"zz-c": {"kind": "range", "roots": ["zz-a"],
                                           "requirements": [
            {"requirement": "zz-c<2", "required_by": "zz-a==1.0"},
            {"requirement": "zz-c>=2", "required_by": "zz-b==1.0"}]}}
        assert plan.blocked == ["zz-a"]  # zz-b goes ahead: nothing it needs is missing
        assert [c.label for c in plan.install] == ["zz-c==2.0", "zz-b==1.0"]
        assert plan.fetch == [] and plan.status == "partial"  # zz-c<2 would contradict zz-b

    def test_unusable_wheels_that_require_each_other(self, run, make_wheel):
        """A placeholder (what stands for a project with a problem) follows the unusable
        wheel's requirements and is never pinned again once backtracking ruled it out."""
        mac = "cp38-cp38-macosx_11_0_arm64"
        make_wheel("zz-a", "1.0", tag=mac, requires=["zz-b", "zz-c", "zz-d"])
        make_wheel("zz-b", "1.0", tag=mac, requires=["zz-d", "zz-e"])
        make_wheel("zz-c", "1.0", requires=["zz-d>=1"])
        make_wheel("zz-d", "1.0", tag=mac)
        make_wheel("zz-e", "1.0", tag=mac)
        report = run(PY38, require=["zz-a"])
        assert sorted((p["code"], p["subject"].split("-")[0]) for p in report["problems"]) == [
            ("incompatible-wheel", "zz_%s" % n) for n in "abde"]
        assert sorted(shlex.split(report["fix"]["command"])[2:6]) == [
            "zz-a==1.0", "zz-b==1.0", "zz-d==1.0", "zz-e==1.0"]
        assert report["blocked_roots"] == ["zz-a"] and installs(report) == []

    def test_the_round_limit_is_a_problem_not_a_hang(self, make_wheel):
        paths = []
        for name in ("zz-a", "zz-b", "zz-c", "zz-d"):
            for version in ("1.0", "2.0", "3.0", "4.0"):
                paths.append(make_wheel(name, version, requires=["zz-z>=%s" % version]))
        wheels = [bootstrap.Wheel(str(p), bootstrap.WheelName.parse(str(p))) for p in paths]
        roots = [bootstrap.Requirement(n) for n in ("zz-a", "zz-b", "zz-c", "zz-d")]
        profile = bootstrap.Profile.from_json(PY311)
        plan = bootstrap.resolve(profile, wheels, (), roots, max_rounds=5)
        problem = only(plan.problems)
        assert problem.code == "version-conflict" and problem.subject == "resolution"
        assert "5 rounds" in problem.message
        assert plan.install == [] and plan.blocked == ["zz-a", "zz-b", "zz-c", "zz-d"]
        assert plan.status == "failed"


class TestInstalledWithBacktracking:
    def test_no_fetch_contradicts_what_installed_packages_require(self, run, make_wheel):
        make_wheel("zz-types-requests", "2.32", requires=["zz-urllib3>=2"])
        installed = [("zz-urllib3", "1.26.18"),
                     ("zz-botocore", "1.34.0", ["zz-urllib3<1.27,>=1.25.4"])]
        report = run(linux_profile("3.11", installed), require=["zz-types-requests"])
        problem = only(report["problems"])
        assert problem["code"] == "version-conflict"
        assert problem["subject"] == "zz-urllib3"
        # no zz-urllib3 fits both: the fix asks the builder for the root again, which keeps
        # what is installed (an older zz-types-requests, or it says --upgrade is needed)
        assert "fetch" not in problem
        words = shlex.split(report["fix"]["command"])
        assert words[2:words.index("--profile")] == ["zz-types-requests"]
        assert "zz-urllib3==1.26.18" in words  # the fact, for the --target fallback
        assert problem["conflict_kind"] == "range"
        assert problem["conflict"] == [
            {"requirement": "zz-urllib3>=2", "required_by": "zz-types-requests==2.32"},
            {"requirement": "zz-urllib3<1.27,>=1.25.4",
             "required_by": "zz-botocore==1.34.0 (installed)"}]
        assert problem["conflict_roots"] == ["zz-types-requests"]
        assert "zz-botocore==1.34.0 requires zz-urllib3<1.27,>=1.25.4" in problem["message"]


    def test_the_newest_version_that_fits_what_is_installed(self, run, make_wheel):
        make_wheel("zz-pandas", "2.2", requires=["zz-numpy>=2.0.2"])
        make_wheel("zz-pandas", "2.1", requires=["zz-numpy>=1.22"])
        make_wheel("zz-numpy", "2.1.0")
        report = run(linux_profile("3.11", [("zz-numpy", "1.26.4")]), require=["zz-pandas"])
        assert report.ok, report["problems"]
        assert installs(report) == [("zz-pandas", "2.1")]
        assert [(s["name"], s["version"]) for s in report["satisfied"]] == \
            [("zz-numpy", "1.26.4")]

    def test_a_refused_upgrade_of_a_root_is_a_problem(self, run, make_wheel):
        make_wheel("zz-idna", "4.0")
        report = run(linux_profile("3.8", INSTALLED), require=["zz-idna"], upgrade=True)
        problem = only(report["problems"])
        assert problem["code"] == "version-conflict" and problem["subject"] == "zz-idna==4.0"
        assert only(problem["would_break"]).startswith("zz-requests==2.31.0")
        assert installs(report) == []
        assert [(s["name"], s["version"]) for s in report["satisfied"]] == [("zz-idna", "3.4")]

    def test_upgrade_takes_the_newest(self, run, make_wheel):
        make_wheel("zz-pandas", "2.2", requires=["zz-numpy>=2.0.2"])
        make_wheel("zz-pandas", "2.1", requires=["zz-numpy>=1.22"])
        make_wheel("zz-numpy", "2.1.0")
        report = run(linux_profile("3.11", [("zz-numpy", "1.26.4")]), require=["zz-pandas"],
                     upgrade=True)
        assert report.ok, report["problems"]
        assert installs(report) == [("zz-numpy", "2.1.0"), ("zz-pandas", "2.2")]

    def test_an_installed_pin_keeps_an_older_dependency(self, run, make_wheel):
        make_wheel("zz-types-requests", "2.32", requires=["zz-urllib3>=2"])
        make_wheel("zz-types-requests", "2.31", requires=["zz-urllib3"])
        make_wheel("zz-urllib3", "2.2.0")
        installed = [("zz-urllib3", "1.26.18"),
                     ("zz-botocore", "1.34.0", ["zz-urllib3<1.27,>=1.25.4"])]
        report = run(linux_profile("3.11", installed), require=["zz-types-requests"],
                     upgrade=True)
        assert report.ok, report["problems"]
        assert installs(report) == [("zz-types-requests", "2.31")]


# -- what is installed already -------------------------------------------------------------------


INSTALLED = [("zz-idna", "3.4"), ("zz-requests", "2.31.0", ["zz-idna<4,>=2.5"]),
             ("zz-six", "1.10.0")]


class TestInstalled:
    def test_satisfying_preinstalled_is_kept(self, run, make_wheel):
        make_wheel("zz-app", "1.0", requires=["zz-idna>=3"])
        make_wheel("zz-idna", "3.6")
        report = run(linux_profile("3.8", INSTALLED), require=["zz-app"])
        assert report.ok
        assert installs(report) == [("zz-app", "1.0")]
        assert [(s["name"], s["version"], s["by"]) for s in report["satisfied"]] == \
            [("zz-idna", "3.4", "preinstalled")]

    def test_preinstalled_root_is_satisfied(self, run, make_wheel):
        make_wheel("zz-six", "1.16.0")
        report = run(linux_profile("3.8", INSTALLED), require=["zz-six"])
        assert report.ok
        assert installs(report) == []
        assert [s["name"] for s in report["satisfied"]] == ["zz-six"]

    def test_conflict_names_both_sides(self, run, make_wheel):
        make_wheel("zz-app", "1.0", requires=["zz-six>=1.16"])
        report = run(linux_profile("3.8", INSTALLED), require=["zz-app"])
        problem = only(report["problems"])
        assert problem["code"] == "version-conflict"
        assert problem["subject"] == "zz-six>=1.16"
        assert "1.10.0" in problem["message"]  # what is installed
        assert "zz-six>=1.16" in problem["message"]  # what is required
        assert problem["required_by"] == ["zz-app==1.0"]
        # the fix asks for the root again: the builder picks a zz-app that works with the
        # installed zz-six, or ships zz-six and says that installing it needs --upgrade
        assert report["fix"] is not None and "zz-app" in shlex.split(report["fix"]["command"])

    def test_no_silent_upgrade(self, run, make_wheel):
        make_wheel("zz-app", "1.0", requires=["zz-six>=1.16"])
        make_wheel("zz-six", "1.16.0")
        report = run(linux_profile("3.8", INSTALLED), require=["zz-app"])
        problem = only(report["problems"])
        assert problem["code"] == "version-conflict"
        assert problem["installed"] == "1.10.0"
        assert problem["bundle"] == "1.16.0"
        assert problem["fix"]["where"] == "sandbox"
        assert "--upgrade" in problem["fix"]["command"]
        assert installs(report) == []

    def test_upgrade_allowed(self, run, make_wheel):
        make_wheel("zz-app", "1.0", requires=["zz-six>=1.16"])
        make_wheel("zz-six", "1.16.0")
        report = run(linux_profile("3.8", INSTALLED), require=["zz-app"], upgrade=True)
        assert report.ok
        assert installs(report) == [("zz-six", "1.16.0"), ("zz-app", "1.0")]

    @pytest.mark.parametrize("upgrade", [False, True])
    def test_upgrade_refused_when_it_breaks_another_installed_package(self, run, make_wheel,
                                                                      upgrade):
        make_wheel("zz-app", "1.0", requires=["zz-idna>=4"])
        make_wheel("zz-idna", "4.0")
        report = run(linux_profile("3.8", INSTALLED), require=["zz-app"], upgrade=upgrade)
        problem = only(report["problems"])
        assert problem["code"] == "version-conflict"
        assert "zz-requests" in problem["message"]
        assert only(problem["would_break"]).startswith("zz-requests==2.31.0")
        assert installs(report) == []
        assert problem["fix"]["where"] != "sandbox" or "--upgrade" not in problem["fix"]["command"]

    def test_installed_requirement_with_false_marker_does_not_block(self, run, make_wheel):
        installed = [("zz-idna", "3.4"),
                     ("zz-old", "1.0", ['zz-idna<4; python_version < "3.0"'])]
        make_wheel("zz-app", "1.0", requires=["zz-idna>=4"])
        make_wheel("zz-idna", "4.0")
        report = run(linux_profile("3.8", installed), require=["zz-app"], upgrade=True)
        assert report.ok
        assert ("zz-idna", "4.0") in installs(report)


# -- blocked roots and every problem in one run -------------------------------------------------


class TestBlocked:
    def test_blocked_root_does_not_block_an_independent_root(self, run, make_wheel):
        make_wheel("zz-good", "1.0", requires=["zz-shared"])
        make_wheel("zz-bad", "1.0", requires=["zz-shared", "zz-absent>=1"])
        make_wheel("zz-shared", "1.0")
        report = run(require=["zz-good", "zz-bad"])
        assert report["blocked_roots"] == ["zz-bad"]
        assert installed_names(report) == ["zz-good", "zz-shared"]
        assert report["status"] == "partial"
        assert report.exit_code == 1

    def test_blocked_root_is_not_half_installed(self, run, make_wheel):
        make_wheel("zz-bad", "1.0", requires=["zz-dep", "zz-absent"])
        make_wheel("zz-dep", "1.0")
        report = run(require=["zz-bad"])
        assert installs(report) == []
        assert report["status"] == "failed"

    def test_wheel_of_a_blocked_root_is_not_said_to_be_replaced(self, run, make_wheel):
        make_wheel("zz-bad", "1.0", requires=["zz-absent"])
        report = run(require=["zz-bad"])
        skipped = dict((s["file"], s["reason"]) for s in report["skipped"])
        reason = skipped.get("zz_bad-1.0-py3-none-any.whl", "")
        assert "another version" not in reason, reason

    def test_every_problem_in_one_run(self, run, make_wheel):
        make_wheel("zz-a", "1.0", requires=["zz-m1>=1", "zz-m2==2.0", "zz-six>=2"])
        make_wheel("zz-b", "1.0", requires=["zz-m3", "zz-x"])
        make_wheel("zz-x", "1.0", tag="cp38-cp38-macosx_11_0_arm64")
        make_wheel("zz-y", "1.0", requires_python=">=3.12")
        make_wheel("zz-fine", "1.0")
        report = run(linux_profile("3.8", INSTALLED))
        subjects = dict((p["subject"], p["code"]) for p in report["problems"])
        assert subjects == {
            "zz-m1>=1": "missing-dependency", "zz-m2==2.0": "missing-dependency",
            "zz-m3": "missing-dependency", "zz-six>=2": "version-conflict",
            "zz_x-1.0-cp38-cp38-macosx_11_0_arm64.whl": "incompatible-wheel",
            "zz-y": "requires-python"}
        assert installed_names(report) == ["zz-fine"]
        # zz-x is required by zz-b, so not a root of its own: no manifest, no --require
        assert sorted(report["blocked_roots"]) == ["zz-a", "zz-b", "zz-y"]

    def test_problem_deep_in_the_closure_names_the_chain(self, run, make_wheel):
        make_wheel("zz-top", "1.0", requires=["zz-middle"])
        make_wheel("zz-middle", "1.0", requires=["zz-bottom"])
        make_wheel("zz-bottom", "1.0", requires=["zz-absent"])
        problem = only(run(require=["zz-top"])["problems"])
        assert problem["chain"] == ["zz-top==1.0", "zz-middle==1.0", "zz-bottom==1.0"]
        assert problem["required_by"] == ["zz-bottom==1.0"]


# -- the online fix -----------------------------------------------------------------------------


def pip_options(command, option):
    words = shlex.split(command)
    return [words[i + 1] for i, word in enumerate(words[:-1]) if word == option]


class TestFix:
    def _missing_three(self, make_wheel):
        make_wheel("zz-a", "1.0", requires=["zz-m1>=1", 'zz-m2; python_version < "3.10"'])
        make_wheel("zz-b", "1.0", requires=["zz-m3==2.0"])

    def test_one_command_for_everything_missing(self, run, make_wheel):
        self._missing_three(make_wheel)
        report = run(PY38)
        fix = report["fix"]
        assert fix["where"] == "online"
        words = shlex.split(fix["command"])
        assert words[:2] == ["python", "tools/bundle.py"]
        for requirement in ("zz-m1>=1", "zz-m2", "zz-m3==2.0"):
            assert requirement in words, words
        assert pip_options(fix["command"], "--profile") == [PY38["compatible_tags"][0]]
        for problem in report["problems"]:
            assert problem["fix"] == fix

    def test_next_steps_start_with_the_fix(self, run, make_wheel):
        self._missing_three(make_wheel)
        report = run(PY38)
        assert report["fix"]["command"] in report["next_steps"][0]

    def test_profile_file_is_carried_by_the_fix(self, tmp_path, run, make_wheel):
        self._missing_three(make_wheel)
        path = tmp_path / "sandbox-profile.json"
        path.write_text(json.dumps(PY38))
        report = run(str(path))
        assert report["target"] == PY38["compatible_tags"][0]
        assert pip_options(report["fix"]["command"], "--profile")[0] in (
            str(path), PY38["compatible_tags"][0])

    def test_pip_download_alternative(self, run, make_wheel):
        """Short: a few --platform values, not one per glibc minor."""
        self._missing_three(make_wheel)
        alt = run(PY38)["fix"]["alt"]
        words = shlex.split(alt)
        assert words[:2] == ["pip", "download"]
        assert "--only-binary=:all:" in words
        platforms = pip_options(alt, "--platform")
        assert platforms[0] == "manylinux_2_31_x86_64" and platforms[-1] == "manylinux2014_x86_64"
        assert set(platforms) <= set(manylinux_platforms((2, 31))) and len(platforms) <= 6
        assert pip_options(alt, "--python-version") == ["3.8"]
        assert pip_options(alt, "--implementation") == ["cp"]
        assert "cp38" in pip_options(alt, "--abi")
        assert "--no-deps" not in words
        for requirement in ("zz-m1>=1", "zz-m2", "zz-m3==2.0"):
            assert requirement in words
        assert len(alt) < 400, alt

    def test_platforms_run_from_this_glibc_down_to_the_legacy_aliases(self, run, make_wheel):
        """manylinux2014 stands for 2010 and manylinux1 too: pip expands the legacy aliases,
        but not to manylinux_2_17, which wheels may carry alone: named too."""
        self._missing_three(make_wheel)
        alt = run(linux_profile("3.8", glibc=(2, 28)))["fix"]["alt"]
        platforms = pip_options(alt, "--platform")
        assert platforms == ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64",
                             "manylinux_2_24_x86_64", "manylinux_2_17_x86_64",
                             "manylinux2014_x86_64"]

    def test_sdist_only_projects_are_not_binary_only(self):
        profile = bootstrap.Profile.from_json(PY38)
        command = bootstrap.pip_download_command(profile, ["crcmod==1.7", "wheel"],
                                                 sdists=["crcmod-1.7.tar.gz"])
        words = shlex.split(command)
        assert "--only-binary=:all:" not in words and "--no-deps" in words, command
        assert "--prefer-binary" in words

    def test_windows_target(self, run, make_wheel):
        self._missing_three(make_wheel)
        alt = run(windows_profile("3.11"))["fix"]["alt"]
        assert pip_options(alt, "--platform") == ["win_amd64"]
        assert pip_options(alt, "--python-version") == ["3.11"]
        assert "cp311" in pip_options(alt, "--abi")

    def test_no_deps_only_for_exact_pins(self, run, make_wheel):
        make_wheel("zz-a", "1.0", requires=["zz-m1==1.0", "zz-m2===2.0"])
        alt = run(PY38)["fix"]["alt"]
        assert "--no-deps" in shlex.split(alt)

    def test_incompatible_wheels_are_fetched_as_pins(self, run, make_wheel):
        make_wheel("zz-fast", "1.2", tag="cp38-cp38-macosx_11_0_arm64")
        report = run(PY38)
        assert "zz-fast==1.2" in shlex.split(report["fix"]["command"])

    @pytest.mark.parametrize("requirements,no_deps", [
        (["a==1.0"], True),
        (["a==1.0", "b===2"], True),
        (["a[x]==1.0"], True),
        (["a>=1.0"], False),
        (["a==1.0", "b"], False),
        (["a==1.*"], False),
        (["a~=1.0"], False),
        (["a==1.0,!=1.0.1"], False),
        (["a<2"], False),
    ])
    def test_pip_download_command_table(self, requirements, no_deps):
        command = bootstrap.pip_download_command(bootstrap.Profile.from_json(PY38), requirements)
        words = shlex.split(command)
        assert ("--no-deps" in words) == no_deps, command
        assert words[-len(requirements):] == requirements
        assert "--only-binary=:all:" in words


# -- verdicts ----------------------------------------------------------------------------------


VERDICTS = [
    ("x-1.0-cp38-cp38-macosx_11_0_arm64.whl", "platform"),
    ("x-1.0-cp38-cp38-win_amd64.whl", "platform"),
    ("x-1.0-cp38-cp38-musllinux_1_1_x86_64.whl", "platform"),
    ("x-1.0-cp38-abi3-manylinux_2_17_aarch64.whl", "platform"),
    ("x-1.0-cp39-cp39-manylinux_2_17_x86_64.whl", "python"),
    ("x-1.0-pp38-pypy38_pp73-manylinux_2_17_x86_64.whl", "python"),
    ("x-1.0-py2-none-any.whl", "python"),
    ("x-1.0-cp38-cp38d-manylinux_2_17_x86_64.whl", "abi"),
    ("x-1.0-cp38-cp38-manylinux_2_35_x86_64.whl", "libc"),
]


class TestVerdicts:
    @pytest.mark.parametrize("filename,reason", VERDICTS)
    def test_incompatible_reason(self, filename, reason):
        profile = bootstrap.Profile.from_json(PY38)
        verdict = bootstrap.judge_wheel(profile, bootstrap.WheelName.parse(filename))
        assert verdict.rank is None
        assert verdict.reason == reason
        assert verdict.message
        assert verdict.closest in PY38["compatible_tags"]

    @pytest.mark.parametrize("filename", [
        "x-1.0-py3-none-any.whl", "x-1.0-cp38-cp38-manylinux_2_17_x86_64.whl",
        "x-1.0-cp37-abi3-manylinux2014_x86_64.whl", "x-1.0-py2.py3-none-any.whl",
        "x-1.0-cp38-cp38-manylinux_2_5_x86_64.manylinux1_x86_64.whl"])
    def test_compatible_rank_is_the_best_tag_position(self, filename):
        profile = bootstrap.Profile.from_json(PY38)
        wheel_name = bootstrap.WheelName.parse(filename)
        verdict = bootstrap.judge_wheel(profile, wheel_name)
        expected = min(PY38["compatible_tags"].index(str(t)) for t in wheel_name.tags
                       if str(t) in PY38["compatible_tags"])
        assert verdict.rank == expected
        assert verdict.reason is None

    def test_macos_wheel_in_linux_explains_both_sides(self):
        profile = bootstrap.Profile.from_json(PY38)
        verdict = bootstrap.judge_wheel(profile, bootstrap.WheelName.parse(
            "aiohttp-3.8.5-cp38-cp38-macosx_11_0_arm64.whl"))
        assert "macOS" in verdict.message and "arm64" in verdict.message
        assert "manylinux" in verdict.message and "x86_64" in verdict.message
        assert verdict.closest.startswith("cp38-cp38-manylinux")

    def test_libc_message_names_both_versions(self):
        profile = bootstrap.Profile.from_json(PY38)
        verdict = bootstrap.judge_wheel(profile, bootstrap.WheelName.parse(
            "x-1.0-cp38-cp38-manylinux_2_35_x86_64.whl"))
        assert "2.35" in verdict.message and "2.31" in verdict.message

    def test_report_lists_every_wheel_verdict(self, run, make_wheel):
        make_wheel("zz-pkg", "1.0")
        make_wheel("zz-pkg", "1.0", tag="cp38-cp38-macosx_11_0_arm64")
        wheels = run(PY38)["wheels"]
        assert [(w["file"], w["compatible"]) for w in wheels] == [
            ("zz_pkg-1.0-cp38-cp38-macosx_11_0_arm64.whl", False),
            ("zz_pkg-1.0-py3-none-any.whl", True)]
        assert wheels[0]["reason"] == "platform" and wheels[0]["closest"]

    def test_only_incompatible_wheels_is_an_incompatible_wheel_problem(self, run, make_wheel):
        make_wheel("zz-pkg", "1.0", tag="cp38-cp38-macosx_11_0_arm64")
        problem = only(run(PY38)["problems"])
        assert problem["code"] == "incompatible-wheel"
        assert problem["reason"] == "platform"
        assert problem["closest"] in PY38["compatible_tags"]


# -- sdists ------------------------------------------------------------------------------------


SETUPTOOLS = [("setuptools", "68.0.0"), ("wheel", "0.41.0")]


class TestSdists:
    def test_legacy_sdist_with_setuptools_present(self, run, bundle, make_wheel):
        make_wheel("zz-app", "1.0", requires=["zz-crc"])
        write_sdist(bundle, "zz-crc", "1.7")
        report = run(linux_profile("3.8", SETUPTOOLS), require=["zz-app"])
        sdist = only(report["sdists"])
        assert sdist["file"] == "zz-crc-1.7.tar.gz"
        assert "setuptools" in sdist["backend"]
        assert sdist["buildable"] is True and sdist["missing"] == []
        assert report.ok
        assert ("zz-crc", "1.7") in installs(report)

    def test_legacy_sdist_without_setuptools(self, run, bundle, make_wheel):
        make_wheel("zz-app", "1.0", requires=["zz-crc"])
        write_sdist(bundle, "zz-crc", "1.7")
        report = run(linux_profile("3.8"), require=["zz-app"])
        sdist = only(report["sdists"])
        assert sdist["buildable"] is False
        assert any("setuptools" in m for m in sdist["missing"])
        problem = only(report["problems"])
        assert problem["code"] == "sdist-needs-build"
        assert problem["subject"] == "zz-crc-1.7.tar.gz"
        assert "setuptools" in problem["backend"]
        assert problem["required_by"] == ["zz-app==1.0"]
        assert problem["fix"]["command"]

    def test_pyproject_backend(self, run, bundle):
        write_sdist(bundle, "zz-flitty", "0.3", pyproject=(
            '[build-system]\nrequires = ["flit_core >=3.2,<4"]\n'
            'build-backend = "flit_core.buildapi"\n'))
        report = run(linux_profile("3.8", SETUPTOOLS))
        sdist = only(report["sdists"])
        assert sdist["backend"] == "flit_core.buildapi"
        assert sdist["build_requires"] == ["flit_core >=3.2,<4"]
        assert sdist["buildable"] is False
        assert problem_codes(report) == ["sdist-needs-build"]

    def test_no_pip_means_no_build(self, run, bundle):
        write_sdist(bundle, "zz-crc", "1.7")
        report = run(linux_profile("3.8", SETUPTOOLS, pip=False))
        assert only(report["sdists"])["buildable"] is False
        assert "pip" in only(report["sdists"])["missing"]

    def test_wheel_preferred_over_sdist(self, run, bundle, make_wheel):
        write_sdist(bundle, "zz-crc", "1.7")
        make_wheel("zz-crc", "1.7")
        report = run(linux_profile("3.8"))
        assert report.ok
        assert only(report["would_install"]).get("wheel") == "zz_crc-1.7-py3-none-any.whl"


# -- resolve() itself ------------------------------------------------------------------------------


class TestResolveApi:
    def test_plan(self, make_wheel):
        paths = [make_wheel("zz-app", "1.0", requires=["zz-lib>=1", "zz-gone"]),
                 make_wheel("zz-lib", "1.1"), make_wheel("zz-solo", "1.0")]
        wheels = [bootstrap.Wheel(str(p), bootstrap.WheelName.parse(str(p))) for p in paths]
        profile = bootstrap.Profile.from_json(PY38)
        roots = [bootstrap.Requirement("zz-app"), bootstrap.Requirement("zz-solo")]
        plan = bootstrap.resolve(profile, wheels, (), roots)
        assert [c.name for c in plan.install] == ["zz-solo"]
        assert plan.blocked == ["zz-app"]
        assert [p.code for p in plan.problems] == ["missing-dependency"]
        assert plan.fetch == ["zz-gone"]
        assert plan.status == "partial"


# -- the real-world cases of issue 3 -------------------------------------------------------------


def real_set(name):
    if realwheels is None:
        pytest.skip("tests/realwheels.py is not available")
    return realwheels.require_set(name)


class TestRealWorld:
    def test_markdown_for_38_under_python_38(self):
        if not os.path.exists(PYTHON38):
            pytest.skip("%s is not installed" % PYTHON38)
        folder = real_set("markdown-py38")
        proc = run_cli(["check", folder, "--json"], python=PYTHON38)
        assert "Traceback" not in proc.stderr
        assert proc.returncode == 1, proc.stderr
        report = json.loads(proc.stdout)
        assert report["target"].startswith("cp38-cp38-")
        problem = only([p for p in report["problems"]
                        if p["subject"].startswith("importlib-metadata")])
        assert problem["code"] == "missing-dependency"
        assert problem["subject"] == "importlib-metadata>=4.4"
        assert problem["required_by"] == ["markdown==3.5"]
        assert 'python_version < "3.10"' in problem["message"]
        fix = report["fix"]
        assert "importlib-metadata>=4.4" in shlex.split(fix["command"])
        assert pip_options(fix["alt"], "--python-version") == ["3.8"]
        assert "--no-deps" not in shlex.split(fix["alt"])  # what it needs (zipp) comes along

    @pytest.mark.parametrize("profile,needed", [(PY38, True), (PY311, False)])
    def test_markdown_judged_for_a_profile(self, tmp_path, profile, needed):
        folder = real_set("markdown-py38")
        report = bootstrap.check([folder], profile=profile, work_dir=str(tmp_path))
        if needed:
            problem = only(report["problems"])
            assert problem["subject"] == "importlib-metadata>=4.4"
            assert problem["required_by"] == ["markdown==3.5"]
        else:
            assert report.ok
            assert installs(report) == [("markdown", "3.5")]

    def test_complete_markdown_bundle_for_38(self, tmp_path):
        folder = real_set("markdown-py38-complete")
        report = bootstrap.check([folder], profile=PY38, require=["markdown==3.5"],
                                 work_dir=str(tmp_path))
        assert report.ok
        assert installed_names(report) == ["importlib-metadata", "markdown", "zipp"]

    def test_macos_wheels_in_linux(self, tmp_path):
        folder = real_set("aiohttp-macos")
        report = bootstrap.check([folder], profile=PY38, work_dir=str(tmp_path))
        incompatible = problems_with(report, "incompatible-wheel")
        assert sorted(p["subject"].split("-")[0] for p in incompatible) == \
            ["aiohttp", "frozenlist", "multidict", "propcache", "yarl"]
        for problem in incompatible:
            assert problem["reason"] == "platform"
            assert "macOS" in problem["message"]
        # aiohttp is what was asked for (nothing else in the folder requires it); its pure
        # dependencies fit, but a root that cannot be completed is not half-installed
        assert report["roots"] == ["aiohttp"]
        assert report["blocked_roots"] == ["aiohttp"]
        assert installed_names(report) == []
        assert report["status"] == "failed"
        assert "Would not install (requested): aiohttp" in str(report)
        for item in report["wheels"]:
            assert item["compatible"] == item["file"].endswith("-none-any.whl")
        fix = shlex.split(report["fix"]["command"])
        assert "aiohttp==3.8.5" in fix

    def test_macos_wheels_under_python_38(self):
        if not os.path.exists(PYTHON38):
            pytest.skip("%s is not installed" % PYTHON38)
        folder = real_set("aiohttp-macos")
        proc = run_cli(["check", folder, "--json"], python=PYTHON38)
        report = json.loads(proc.stdout)
        if not report["target"].endswith("x86_64"):
            pytest.skip("needs an x86_64 Linux machine")
        reasons = set(p.get("reason") for p in problems_with(report, "incompatible-wheel"))
        assert reasons == {"platform"}
        assert report["blocked_roots"] == ["aiohttp"]
        fits = dict((w["file"].split("-")[0], w["compatible"]) for w in report["wheels"])
        assert fits["attrs"] is True and fits["aiohttp"] is False

    def test_html2notion_sdist(self, tmp_path):
        folder = real_set("html2notion")
        report = bootstrap.check([folder], work_dir=str(tmp_path))
        sdist = only(report["sdists"])
        assert sdist["file"] == "crcmod-1.7.tar.gz"
        assert "setuptools" in sdist["backend"]
        assert sdist["buildable"] is (not sdist["missing"])
        profile = bootstrap.Profile.current()  # what this interpreter has
        have = dict((d.name, d.version) for d in profile.installed)
        if sdist["buildable"]:
            assert "setuptools" in have and profile.pip
        for missing in sdist["missing"]:
            name = re.match(r"[A-Za-z0-9._-]+", missing).group(0)
            if bootstrap.canonicalize_name(name) not in have:
                continue  # absent: rightly missing
            requirement = bootstrap.Requirement(missing)  # present: must be too old
            assert not requirement.specifier.contains(have[requirement.key], prereleases=True)

    @pytest.mark.parametrize("installed,buildable", [(SETUPTOOLS, True), ((), False)])
    def test_html2notion_sdist_for_a_profile(self, tmp_path, installed, buildable):
        folder = real_set("html2notion")
        profile = linux_profile("3.11", installed)
        report = bootstrap.check([folder], profile=profile, require=["html2notion"],
                                 work_dir=str(tmp_path))
        sdist = only(report["sdists"])
        assert sdist["file"] == "crcmod-1.7.tar.gz"
        assert sdist["buildable"] is buildable
        codes = problem_codes(report)
        assert ("sdist-needs-build" in codes) is (not buildable)
        if not buildable:
            problem = only(problems_with(report, "sdist-needs-build"))
            assert problem["subject"] == "crcmod-1.7.tar.gz"
            assert problem["required_by"]  # cos-python-sdk-v5

    def test_html2notion_without_require_is_the_root(self, tmp_path):
        """No manifest, no --require: html2notion is what nothing else in the folder requires;
        crcmod is a dependency (of cos-python-sdk-v5), and the short text says that
        html2notion itself was not installed."""
        folder = real_set("html2notion")
        report = bootstrap.check([folder], profile=linux_profile("3.11", ()),
                                 work_dir=str(tmp_path))
        assert report["roots"] == ["html2notion"]
        assert report["blocked_roots"] == ["html2notion"]
        problem = only(problems_with(report, "sdist-needs-build"))
        assert [r.split("==")[0] for r in problem["required_by"]] == ["cos-python-sdk-v5"]
        assert "root requirement" not in problem["message"]
        assert "Would not install (requested): html2notion" in str(report)


class TestPipDownloadAlternative:
    """The `pip download` alternative, run by the real pip: it must select this machine's
    manylinux wheels (newest packaging lists the native linux_* platform first, which no index
    serves, so a --platform of linux_* alone would fetch nothing compiled)."""

    def test_selects_a_manylinux_wheel_for_this_interpreter(self, tmp_path, make_wheel):
        from installkit import clean_env, run as run_cmd
        profile = bootstrap.Profile.current()
        if not profile.tags or not any(t.platform.startswith("manylinux") for t in profile.tags):
            pytest.skip("this interpreter takes no manylinux wheels")
        tag = next(t for t in profile.tags if t.platform.startswith("manylinux_2_17"))
        wheel = make_wheel("zz-compiled", "1.0", tag=str(tag))
        command = bootstrap.pip_download_command(profile, ["zz-compiled"], dest=str(tmp_path / "d"))
        argv = shlex.split(command)
        assert argv[:2] == ["pip", "download"]
        proc = run_cmd([sys.executable, "-m", "pip"] + argv[1:] + [
            "--no-index", "--find-links", str(wheel.parent)], env=clean_env())
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert os.listdir(str(tmp_path / "d")) == [wheel.name]
