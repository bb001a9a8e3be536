"""The bundle builder's inputs and its lock file (issue 13), against pip as the oracle.

    TestRequirementsFiles  requirements files with -r, -c, \\ continuations, comments, markers
                           and --hash (pip-compile --generate-hashes style) give the bundle the
                           set of (project, version) that ``pip install --dry-run --report -
                           --no-index --find-links`` resolves from the same files; a wrong hash
                           writes nothing, as pip refuses; a URL keeps its # fragment
    TestIndexOptions       --index-url / --extra-index-url / --find-links / --no-index lines (in
                           nested files too) and on the command line reach every pip process
                           of the builder, combined as pip combines them: the bundle holds the
                           set ``pip install --dry-run --report -r FILE`` resolves with the same
                           default index, and a replaced default index is never asked
    TestRequirementsErrors unusable files: one line, exit 2, nothing written
    TestPylock             pylock.toml round-trips through packaging.pylock; pip 26.3 (the
                           pinned pip-pylock set) installs a complete bundle's lock offline; a
                           delta bundle's lock says it is one, and installs only where what it
                           relies on is already there

The wheels are made here (tests/wheelmaker.py) and served by a local index (tests/indexkit.py).
"""
import json
import os
import subprocess
import sys
import tarfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import indexkit  # noqa: E402
import realwheels  # noqa: E402
from indexkit import LocalIndex, output_of, read_bundle, run_bundle  # noqa: E402
from installkit import Venv, clean_env, run  # noqa: E402
from wheelmaker import make_wheel  # noqa: E402

import bootstrap  # noqa: E402

from packaging import pylock  # noqa: E402  (packaging>=25: a dependency of the builder)
tomllib = pytest.importorskip("tomllib", reason="reading TOML needs Python 3.11")

HOST = bootstrap.Profile.current()
NO_INDEX = "http://127.0.0.1:9/simple/"  # for runs that must stop before fetching anything
WHEELS = [("alpha", "1.0", ["beta>=1"]), ("beta", "1.0", []), ("beta", "2.0", []),
          ("gamma", "1.0", []), ("gamma", "2.0", []), ("delta", "1.0", []),
          ("unused", "1.0", [])]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wheels")
    return {(name, version): str(make_wheel(folder, name, version, requires=requires))
            for name, version, requires in WHEELS}


@pytest.fixture(scope="module")
def index(wheels, tmp_path_factory):
    root = str(tmp_path_factory.mktemp("index"))
    indexkit.build_index(root, sorted(wheels.values()))
    with LocalIndex(root) as served:
        yield served


def _write(folder, name, text):
    path = os.path.join(str(folder), name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def pip_resolves(requirements_file, wheels, cwd):
    """{name: version} that pip's own resolver installs from the file, or the failed process."""
    links = os.path.dirname(next(iter(wheels.values())))
    proc = run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
                "--report", "-", "--quiet", "--no-index", "--find-links", links,
                "-r", requirements_file], cwd=cwd, env=clean_env())
    if proc.returncode != 0:
        return proc
    return {bootstrap.canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
            for item in json.loads(proc.stdout)["install"]}


def bundled(output):
    return {entry["name"]: entry["version"] for entry in read_bundle(output).manifest["files"]}


def build(index, tmp_path, *args, profile=None):
    output = str(tmp_path / "bundle.tar.gz")
    proc = run_bundle(list(args) + ["--profile", profile or HOST.target_tag, "-o", output],
                      index.url, cwd=str(tmp_path))
    return proc, output


def sha256(path):
    return indexkit.sha256_of(path)


class TestRequirementsFiles:
    def test_nested_constraints_continuations_and_markers(self, wheels, index, tmp_path):
        _write(tmp_path, "sub/more.txt", "gamma>=1  # a comment after a requirement\n")
        _write(tmp_path, "constraints.txt", "beta<2\nunused==1.0\n")
        main = _write(tmp_path, "requirements.txt", "\n".join([
            "# the roots",
            "-r sub/more.txt",
            "-c constraints.txt",
            "alpha \\",
            "    >=1.0",
            'delta ; python_version < "3"',
            ""]))
        expected = pip_resolves(main, wheels, str(tmp_path))
        assert expected == {"alpha": "1.0", "beta": "1.0", "gamma": "2.0"}, expected
        proc, output = build(index, tmp_path, "-r", "requirements.txt")
        assert proc.returncode == 0, output_of(proc)
        assert bundled(output) == expected

    def test_generated_hashes_are_checked_and_shipped(self, wheels, index, tmp_path):
        lines = []
        for name, version in (("alpha", "1.0"), ("beta", "1.0")):
            lines += ["%s==%s \\" % (name, version),
                      "    --hash=sha256:%s \\" % ("0" * 64),
                      "    --hash=sha256:%s" % sha256(wheels[(name, version)]),
                      "    # via pip-compile"]
        main = _write(tmp_path, "requirements.txt", "\n".join(lines) + "\n")
        expected = pip_resolves(main, wheels, str(tmp_path))
        assert expected == {"alpha": "1.0", "beta": "1.0"}, expected
        proc, output = build(index, tmp_path, "-r", main)
        assert proc.returncode == 0, output_of(proc)
        assert bundled(output) == expected
        manifest = read_bundle(output).manifest
        assert sorted(e["sha256"] for e in manifest["files"]) == sorted(
            sha256(wheels[key]) for key in (("alpha", "1.0"), ("beta", "1.0")))

    def test_a_wrong_hash_writes_nothing_as_pip_refuses(self, wheels, index, tmp_path):
        main = _write(tmp_path, "requirements.txt",
                      "alpha==1.0 --hash=sha256:%s\nbeta==1.0 --hash=sha256:%s\n" % (
                          sha256(wheels[("alpha", "1.0")]), "1" * 64))
        refused = pip_resolves(main, wheels, str(tmp_path))
        assert isinstance(refused, subprocess.CompletedProcess), refused
        assert "HASH" in refused.stderr.upper(), output_of(refused)
        proc, output = build(index, tmp_path, "-r", main)
        assert proc.returncode == 1, output_of(proc)
        assert "beta-1.0-py3-none-any.whl" in proc.stderr and "1" * 64 not in proc.stdout
        assert not os.path.exists(output)

    def test_a_missing_hash_in_hash_checking_mode_writes_nothing(self, wheels, index,
                                                                  tmp_path):
        main = _write(tmp_path, "requirements.txt", "alpha==1.0 --hash=sha256:%s\n"
                      % sha256(wheels[("alpha", "1.0")]))
        refused = pip_resolves(main, wheels, str(tmp_path))
        assert isinstance(refused, subprocess.CompletedProcess), refused
        proc, output = build(index, tmp_path, "-r", main)
        assert proc.returncode == 1, output_of(proc)
        assert "no --hash for beta" in proc.stderr, output_of(proc)
        assert not os.path.exists(output)

    def test_url_fragment_and_marker_are_kept(self, tmp_path):
        from tools import bundle
        url = "https://example.invalid/pkg-1.0.tar.gz#sha256=%s&subdirectory=src" % ("a" * 64)
        path = _write(tmp_path, "r.txt", "pkg @ %s ; python_version >= '3.8'  # note\n" % url)
        given = bundle.read_requirements([path])
        assert given.requirements == ['pkg @ %s ; python_version >= "3.8"' % url]
        parsed = bootstrap.Requirement(given.requirements[0])
        assert parsed.url == url and str(parsed.marker) == 'python_version >= "3.8"'


PRIVATE_WHEELS = [("secret", "1.0", ["beta>=1"]), ("beta", "1.0", [])]


@pytest.fixture(scope="module")
def private_wheels(tmp_path_factory):
    """A project the default test index lacks (secret), and an older beta than it has."""
    folder = tmp_path_factory.mktemp("private-wheels")
    return sorted(str(make_wheel(folder, name, version, requires=requires))
                  for name, version, requires in PRIVATE_WHEELS)


@pytest.fixture(scope="module")
def private(private_wheels, tmp_path_factory):
    root = str(tmp_path_factory.mktemp("private-index"))
    indexkit.build_index(root, private_wheels)
    with LocalIndex(root) as served:
        yield served


def pip_report(args, default_index, cwd, **env):
    """{name: version} of pip's ``install --dry-run --report`` (indexkit.pip_dry_run) with the
    builder's default index (PIP_INDEX_URL, as tool_env gives the builder) and no other pip
    configuration."""
    installs = indexkit.pip_dry_run(args, clean_env(
        PIP_INDEX_URL=default_index, PIP_NO_CACHE_DIR="1", **env), cwd=cwd)
    return {bootstrap.canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
            for item in installs}


class TestIndexOptions:
    CASES = {
        # --index-url replaces the default index: everything comes from the private one
        "index-url": ({"requirements.txt": "--index-url {private}\nsecret\n"},
                      {"secret": "1.0", "beta": "1.0"}),
        # --extra-index-url (here in a nested file) adds: beta 2.0 from the default index
        "nested-extra-index-url": ({"requirements.txt": "-r sub/more.txt\nsecret\n",
                                    "sub/more.txt": "--extra-index-url {private}\n"},
                                   {"secret": "1.0", "beta": "2.0"}),
        # a later --index-url (in a nested file) drops the indexes given before it, extra
        # ones included, as pip's req_file.handle_option_line does
        "nested-index-url-replaces-earlier": (
            {"requirements.txt": "--extra-index-url {public}\n-r sub/more.txt\nsecret\n",
             "sub/more.txt": "--index-url {private}\n"},
            {"secret": "1.0", "beta": "1.0"}),
        # --no-index with --find-links relative to the file that names it (not to the cwd)
        "no-index-find-links-beside-the-file": (
            {"reqs/requirements.txt": "--no-index\n--find-links links\nsecret\n"},
            {"secret": "1.0", "beta": "1.0"}),
    }

    @pytest.mark.parametrize("case", sorted(CASES))
    def test_the_bundle_holds_what_pip_resolves_from_the_file(self, case, index, private,
                                                               private_wheels, tmp_path):
        files, literal = self.CASES[case]
        for name, text in files.items():
            _write(tmp_path, name, text.format(private=private.url, public=index.url))
        links = tmp_path / "reqs" / "links"
        links.mkdir(parents=True)
        for path in private_wheels:
            os.link(path, str(links / os.path.basename(path)))
        main = str(tmp_path / [n for n in files if n.endswith("requirements.txt")][0])
        expected = pip_report(["-r", main], index.url, str(tmp_path))
        assert expected == literal, expected
        asked = len(index.requests)
        proc, output = build(index, tmp_path, "-r", main)
        assert proc.returncode == 0, output_of(proc)
        assert bundled(output) == expected
        assert "is not used" not in proc.stderr, output_of(proc)
        if case in ("index-url", "no-index-find-links-beside-the-file"):
            assert index.requests[asked:] == [], "the replaced default index was asked"

    def test_command_line_index_url_then_the_file_adds_an_extra_index(self, index, private,
                                                                     tmp_path):
        main = _write(tmp_path, "requirements.txt", "--extra-index-url %s\nsecret\n" % index.url)
        expected = pip_report(["-i", private.url, "-r", main], NO_INDEX, str(tmp_path))
        assert expected == {"secret": "1.0", "beta": "2.0"}, expected
        output = str(tmp_path / "bundle.tar.gz")
        proc = run_bundle(["-i", private.url, "-r", main, "--profile", HOST.target_tag,
                           "-o", output], NO_INDEX, cwd=str(tmp_path))
        assert proc.returncode == 0, output_of(proc)
        assert bundled(output) == expected

    def test_a_file_index_url_drops_the_configured_extra_index_as_pip_does(self, index,
                                                                          private, tmp_path):
        config = _write(tmp_path, "pip.conf", "[global]\nextra-index-url = %s\n" % index.url)
        main = _write(tmp_path, "requirements.txt", "--index-url %s\nsecret\n" % private.url)
        expected = pip_report(["-r", main], NO_INDEX, str(tmp_path), PIP_CONFIG_FILE=config)
        assert expected == {"secret": "1.0", "beta": "1.0"}, expected  # not beta 2.0
        output = str(tmp_path / "bundle.tar.gz")
        proc = run([sys.executable, indexkit.BUNDLE_PY, "-r", main, "--profile", HOST.target_tag,
                    "-o", output], cwd=str(tmp_path),
                   env=dict(indexkit.tool_env(NO_INDEX), PIP_CONFIG_FILE=config))
        assert proc.returncode == 0, output_of(proc)
        assert bundled(output) == expected

    def test_pip_order_across_nested_files(self, tmp_path):
        from tools import bundle
        _write(tmp_path, "sub/a.txt", "--extra-index-url http://a.invalid/\n-f wheels\n")
        _write(tmp_path, "sub/wheels/.keep", "")
        path = _write(tmp_path, "r.txt", "\n".join([
            "--extra-index-url http://x.invalid/", "-i http://i.invalid/", "-r sub/a.txt",
            "--pre", "alpha", ""]))
        given = bundle.read_requirements([path], bundle.IndexOptions(
            "http://cli.invalid/", ["http://cli-extra.invalid/"]))
        assert given.index.arguments() == [
            "--index-url", "http://i.invalid/", "--extra-index-url", "http://a.invalid/",
            "--find-links", str(tmp_path / "sub" / "wheels")]
        assert given.ignored == ["--pre"]
        _write(tmp_path, "n.txt", "-r r.txt\n--no-index\n--index-url http://late.invalid/\n")
        given = bundle.read_requirements([str(tmp_path / "n.txt")])
        assert given.index.arguments() == [
            "--no-index", "--find-links", str(tmp_path / "sub" / "wheels")]


class TestRequirementsErrors:
    @pytest.mark.parametrize("content, words", [
        ("-e ./somewhere\n", "editable"),
        ("alpha --hash=md5:0123\n", "sha256"),
        ("-r nowhere.txt\n", "nowhere.txt"),
        ("alpha ==== 1\n", "alpha"),
    ], ids=["editable", "md5-hash", "missing-nested-file", "invalid-requirement"])
    def test_exit_2_with_one_line(self, content, words, tmp_path):
        path = _write(tmp_path, "requirements.txt", content)
        output = str(tmp_path / "b.tar.gz")
        proc = run_bundle(["-r", path, "--profile", HOST.target_tag, "-o", output],
                          NO_INDEX, cwd=str(tmp_path))
        assert proc.returncode == 2, output_of(proc)
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and words in lines[0] and "Traceback" not in proc.stderr, lines
        assert not os.path.exists(output)


# -- pylock.toml ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pip_pylock():
    return realwheels.require_set("pip-pylock")


class LockVenv(object):
    """A venv without pip of its own; pip 26.3 runs from its wheel (a zip on sys.path) and so
    installs into this venv only."""

    def __init__(self, path, pip_folder, wheels=()):
        self.venv = Venv(path, sys.executable)
        self.pip_main = os.path.join(pip_folder, "pip-26.3-py3-none-any.whl", "pip")
        for wheel in wheels:
            proc = self.pip("install", "--no-index", "--no-deps", wheel)
            assert proc.returncode == 0, output_of(proc)

    def pip(self, *args, cwd=None):
        return run([self.venv.python, self.pip_main] + list(args) + ["--no-cache-dir"],
                   cwd=cwd, env=clean_env())

    def distributions(self):
        return self.venv.distributions()


def _unpack(output, dest):
    with tarfile.open(output) as archive:
        archive.extractall(dest)
    return dest


def _round_trip(text):
    data = tomllib.loads(text)
    lock = pylock.Pylock.from_dict(data)
    assert lock.to_dict() == data
    return lock, data


class TestPylock:
    def test_a_complete_lock_installs_with_pip(self, wheels, index, pip_pylock, tmp_path):
        proc, output = build(index, tmp_path, "alpha")
        assert proc.returncode == 0, output_of(proc)
        bundle = read_bundle(output)
        assert "delta" not in bundle.manifest
        lock, data = _round_trip(bundle.pylock)
        assert data["tool"]["sandbox-bootstrap"]["delta"] is False
        assert not bundle.pylock.startswith("#")
        folder = _unpack(output, str(tmp_path / "unpacked"))
        venv = LockVenv(tmp_path / "venv", pip_pylock)
        installed = venv.pip("install", "--no-index", "-r", "pylock.toml", cwd=folder)
        assert installed.returncode == 0, output_of(installed)
        assert venv.distributions() == bundled(output) == {
                    "alpha": "1.0", "beta": "2.0"}

    def test_a_delta_lock_is_marked_and_needs_what_it_relies_on(self, wheels, index,
                                                                 pip_pylock, tmp_path):
        profile = HOST.to_json()
        profile["installed"] = [{"name": "beta", "version": "1.0", "requires": [],
                                 "location": "/simulated/site-packages"}]
        profile_path = _write(tmp_path, "profile.json", json.dumps(profile))
        proc, output = build(index, tmp_path, "alpha", profile=profile_path)
        assert proc.returncode == 0, output_of(proc)
        bundle = read_bundle(output)
        assert bundle.manifest["delta"] is True and bundled(output) == {"alpha": "1.0"}
        assert bundle.pylock.startswith("# A delta lock")
        _, data = _round_trip(bundle.pylock)
        tool = data["tool"]["sandbox-bootstrap"]
        assert tool["delta"] is True
        assert tool["preinstalled"] == [{"name": "beta", "version": "1.0"}]
        folder = _unpack(output, str(tmp_path / "unpacked"))
        alone = LockVenv(tmp_path / "alone", pip_pylock)
        refused = alone.pip("install", "--no-index", "-r", "pylock.toml", cwd=folder)
        assert refused.returncode != 0 and "beta" in refused.stderr, output_of(refused)
        assert "alpha" not in alone.distributions()
        sandbox = LockVenv(tmp_path / "sandbox", pip_pylock, [wheels[("beta", "1.0")]])
        installed = sandbox.pip("install", "--no-index", "-r", "pylock.toml", cwd=folder)
        assert installed.returncode == 0, output_of(installed)
        assert sandbox.distributions()["alpha"] == "1.0"
        assert sandbox.distributions()["beta"] == "1.0"
