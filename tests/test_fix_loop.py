"""The closed loop (issue 11): upload -> install --json -> run ONLY the report's fix commands,
verbatim -> upload -> install, on a corpus of scenarios shaped on real PyPI projects.

The index is a local PEP 503 index on loopback (tests/indexkit.py) serving real files (markdown
and its 3.8 dependencies, python-dateutil and six, setuptools/wheel/packaging, the crcmod and
jieba sdists) and wheels made with tests/wheelmaker.py that copy the versions, tags,
Requires-Python and Requires-Dist of real projects (numpy/scipy/pandas/scikit-learn,
botocore/urllib3/types-requests, mypy and anyio with their markers for old Pythons), plus an
absl-py 0.9.0 sdist whose setup.py refuses this machine's interpreter, as the real one does
(it compares version strings: '11' < '4').

The sandboxes are venvs of CPython 3.8-3.13 (with and without pip; some with preinstalled
stacks that pin), run offline (unshare -rn). The online side is this machine: a fix command
runs with ``python`` meaning this interpreter and ``tools/bundle.py`` this checkout's, in a
folder of its own, into which the sandbox's profile file is copied first when the fix names one
(the user carries it from the sandbox). Every scenario must end ok after at most one online
round, every requested module must import, and no preinstalled version may change unless the
report said --upgrade and the loop ran that.

The five failure classes of the issue are here: no backtracking (backtrack-*), preinstalled
pins (numpy/scipy-style: pandas-*, scipy-*; urllib3/botocore-style: botocore-*), facts lost in
the fix command (crcmod-*: a compiler and setuptools without `wheel`), building on the wrong
interpreter (absl-*), and the pip download alternative (*-alt).
"""
import glob
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import indexkit  # noqa: E402
import installkit  # noqa: E402
import realwheels  # noqa: E402
from indexkit import ROOT, BUNDLE_PY, LocalIndex, Sandbox, output_of  # noqa: E402
from wheelmaker import make_wheel  # noqa: E402

pytest.importorskip("packaging")
pytestmark = pytest.mark.skipif(not indexkit.have_unshare(),
                                reason="unshare -rn is not available: no network-less sandbox")

sys.path.insert(0, os.path.join(ROOT, "bootstrap"))
import bootstrap  # noqa: E402

BACKTRACKING = hasattr(bootstrap, "RESOLVE_MAX_ROUNDS")  # the resolver of issue 11 is merged
REAL_SETS = ("markdown-py38-complete", "six-delta", "crcmod-build", "jieba-sdist")
PYTHONS = ("38", "39", "310", "311", "312", "313")


def _pyenv_root():
    try:
        return subprocess.run(["pyenv", "root"], stdout=subprocess.PIPE,
                              universal_newlines=True).stdout.strip()
    except OSError:
        return os.path.expanduser("~/.pyenv")


def find_python(minor):
    """CPython 3.<minor> from pyenv, else PATH, else None."""
    version = "3.%s" % minor[1:]
    found = sorted(glob.glob(os.path.join(_pyenv_root(), "versions", version + ".*", "bin",
                                          "python" + version)))
    return found[-1] if found else shutil.which("python" + version)


# -- the universe -----------------------------------------------------------------------------

def _binary(minors):
    return ["cp%s-cp%s-manylinux_2_17_x86_64.manylinux2014_x86_64" % (m, m) for m in minors]


ALL = ("38", "39", "310", "311", "312", "313")
FROM39 = ALL[1:]
# (name, version, requires, requires_python, tags): copied from the real projects' METADATA
UNIVERSE = [
    ("numpy", "1.24.4", [], ">=3.8", _binary(("38",))),
    ("numpy", "1.26.4", [], ">=3.9", _binary(FROM39)),
    ("numpy", "2.0.2", [], ">=3.9", _binary(FROM39)),
    ("numpy", "2.2.6", [], ">=3.10", _binary(ALL[2:])),
    ("scipy", "1.10.1", ["numpy<1.27.0,>=1.19.5"], "<3.12,>=3.8", _binary(ALL[:4])),
    ("scipy", "1.13.1", ["numpy<2.3,>=1.22.4"], ">=3.9", _binary(FROM39)),
    ("scipy", "1.16.3", ["numpy<2.6,>=1.25.2"], ">=3.11", _binary(ALL[3:])),
    ("pandas", "2.0.3", ["numpy>=1.20.3", "python-dateutil>=2.8.2", "tzdata>=2022.1"],
     ">=3.8", _binary(("38",))),
    ("pandas", "2.2.3", ["numpy>=1.22.4", "python-dateutil>=2.8.2", "tzdata>=2022.7"],
     ">=3.9", _binary(FROM39)),
    ("pandas", "2.3.2", ["numpy>=2.0.2", "python-dateutil>=2.8.2", "tzdata>=2022.7"],
     ">=3.9", _binary(FROM39)),
    ("tzdata", "2024.2", [], ">=2", ["py2.py3-none-any"]),
    ("scikit-learn", "1.3.2", ["numpy<2.0,>=1.17.3", "scipy>=1.5.0", "joblib>=1.1.1",
                               "threadpoolctl>=2.0.0"], ">=3.8", _binary(("38",))),
    ("scikit-learn", "1.6.1", ["numpy>=1.19.5", "scipy>=1.6.0", "joblib>=1.2.0",
                               "threadpoolctl>=3.1.0"], ">=3.9", _binary(FROM39)),
    ("scikit-learn", "1.7.2", ["numpy>=1.22.0", "scipy>=1.8.0", "joblib>=1.2.0",
                               "threadpoolctl>=3.1.0"], ">=3.10", _binary(ALL[2:])),
    ("joblib", "1.4.2", [], ">=3.8", ["py3-none-any"]),
    ("threadpoolctl", "3.5.0", [], ">=3.8", ["py3-none-any"]),
    ("urllib3", "1.26.20", [], ">=2.7", ["py2.py3-none-any"]),
    ("urllib3", "2.2.3", [], ">=3.8", ["py3-none-any"]),
    ("jmespath", "1.0.1", [], ">=3.7", ["py3-none-any"]),
    ("botocore", "1.35.0", ["jmespath<2.0.0,>=0.7.1", "python-dateutil<3.0.0,>=2.1",
                            'urllib3<1.27,>=1.25.4; python_version < "3.10"',
                            'urllib3!=2.2.0,<3,>=1.25.4; python_version >= "3.10"'],
     ">=3.8", ["py3-none-any"]),
    ("types-urllib3", "1.26.25.14", [], None, ["py3-none-any"]),
    ("types-requests", "2.31.0.6", ["types-urllib3"], ">=3.7", ["py3-none-any"]),
    ("types-requests", "2.32.0.20240914", ["urllib3>=2"], ">=3.8", ["py3-none-any"]),
    ("typing-extensions", "4.0.0", [], ">=3.6", ["py3-none-any"]),
    ("typing-extensions", "4.12.2", [], ">=3.8", ["py3-none-any"]),
    ("mypy-extensions", "1.0.0", [], ">=3.5", ["py3-none-any"]),
    ("tomli", "2.0.1", [], ">=3.7", ["py3-none-any"]),
    ("mypy", "0.971", ["typing-extensions>=3.10", "mypy-extensions>=0.4.3",
                       'tomli>=1.1.0; python_version < "3.11"'], ">=3.6", _binary(ALL)),
    ("mypy", "1.11.2", ["typing-extensions>=4.6.0", "mypy-extensions>=1.0.0",
                        'tomli>=1.1.0; python_version < "3.11"'], ">=3.8", _binary(ALL)),
    ("idna", "3.10", [], ">=3.6", ["py3-none-any"]),
    ("sniffio", "1.3.1", [], ">=3.7", ["py3-none-any"]),
    ("exceptiongroup", "1.2.2", [], ">=3.7", ["py3-none-any"]),
    ("anyio", "3.7.1", ["idna>=2.8", "sniffio>=1.1",
                        'exceptiongroup; python_version < "3.11"'], ">=3.7", ["py3-none-any"]),
    ("anyio", "4.5.0", ["idna>=2.8", "sniffio>=1.1",
                        'exceptiongroup>=1.0.2; python_version < "3.11"',
                        'typing-extensions>=4.1; python_version < "3.11"'], ">=3.8",
     ["py3-none-any"]),
    ("xmltodict", "0.13.0", [], ">=3.4", ["py2.py3-none-any"]),
    ("cos-python-sdk-v5", "1.9.30", ["crcmod", "six", "xmltodict"], None, ["py3-none-any"]),
    ("absl-app", "1.0", ["absl-py==0.9.0"], None, ["py3-none-any"]),
    ("jieba-user", "1.0", ["jieba>=0.42"], None, ["py3-none-any"]),
    # issue 11's universe that needs backtracking: A 2.0 needs C<2, B needs C>=2
    ("backtrack-a", "1.0", [], None, ["py3-none-any"]),
    ("backtrack-a", "2.0", ["backtrack-c<2"], None, ["py3-none-any"]),
    ("backtrack-b", "1.0", ["backtrack-c>=2"], None, ["py3-none-any"]),
    ("backtrack-c", "1.0", [], None, ["py3-none-any"]),
    ("backtrack-c", "2.0", [], None, ["py3-none-any"]),
]

ABSL_SETUP = '''import platform
from setuptools import setup

py_version = platform.python_version_tuple()
if py_version < ('2', '7') or py_version[0] == '3' and py_version < ('3', '4', '0'):
    raise RuntimeError('Python version 2.7 or 3.4+ is required.')

setup(name='absl-py', version='0.9.0', packages=['absl'], install_requires=['six'])
'''
ABSL_PKG_INFO = ("Metadata-Version: 2.1\nName: absl-py\nVersion: 0.9.0\n"
                 "Requires-Dist: six\n")


def make_absl_sdist(directory):
    """absl-py 0.9.0 as an sdist whose setup.py refuses Python 3.10+ (string comparison)."""
    path = os.path.join(directory, "absl-py-0.9.0.tar.gz")
    members = {"absl-py-0.9.0/setup.py": ABSL_SETUP, "absl-py-0.9.0/PKG-INFO": ABSL_PKG_INFO,
               "absl-py-0.9.0/absl/__init__.py": "__version__ = '0.9.0'\n"}
    with tarfile.open(path, "w:gz") as archive:
        for name, text in sorted(members.items()):
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 315532800
            archive.addfile(info, io.BytesIO(data))
    return path


SPEEDUPS_C = r"""
#include <Python.h>
static struct PyModuleDef speedups = {PyModuleDef_HEAD_INIT, "_speedups", NULL, -1, NULL};
PyMODINIT_FUNC PyInit__speedups(void) {
    PyObject *module = PyModule_Create(&speedups);
    if (module != NULL && PyModule_AddStringConstant(module, "BUILT_FOR", BUILT_FOR) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
"""


def compile_speedups(minor, folder):
    """speedext's _speedups extension compiled by gcc against CPython 3.<minor>'s headers, as
    a setup.py build of it there makes it: (path of the .so, its EXT_SUFFIX), or None."""
    python, gcc = find_python(minor), shutil.which("gcc")
    if python is None or gcc is None:
        return None
    proc = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['include']); print(sysconfig.get_config_var('EXT_SUFFIX'))"],
                          stdout=subprocess.PIPE, universal_newlines=True)
    include, suffix = proc.stdout.split()
    os.makedirs(folder, exist_ok=True)
    source = os.path.join(folder, "speedups-cp%s.c" % minor)
    with open(source, "w") as f:
        f.write(SPEEDUPS_C)
    output = os.path.join(folder, "_speedups" + suffix)
    proc = subprocess.run([gcc, "-shared", "-fPIC", "-I", include, '-DBUILT_FOR="cp%s"' % minor,
                           source, "-o", output], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return (output, suffix) if proc.returncode == 0 else None


def make_extension_wheel(directory, minor, tag):
    """speedext 1.0 with its _speedups extension compiled for CPython 3.<minor>, tagged ``tag``
    (nothing when that CPython or gcc is missing: the scenario skips)."""
    scratch = tempfile.mkdtemp(prefix="speedext-")
    try:
        built = compile_speedups(minor, scratch)
        if built is None:
            return None
        path, suffix = built
        with open(path, "rb") as f:
            extension = f.read()
    finally:
        shutil.rmtree(scratch)
    return make_wheel(directory, "speedext", "1.0", tag=tag, files={
        "speedext/__init__.py": "from ._speedups import BUILT_FOR\n",
        "speedext/_speedups" + suffix: extension})


def module_of(name):
    return name.replace("-", "_").lower()


@pytest.fixture(scope="module")
def universe(tmp_path_factory):
    """The folder of every file the index serves."""
    files = str(tmp_path_factory.mktemp("universe"))
    for name, version, requires, requires_python, tags in UNIVERSE:
        for tag in tags:
            make_wheel(files, name, version, tag=tag, requires=requires,
                       requires_python=requires_python)
    make_absl_sdist(files)
    make_extension_wheel(files, "311", "cp311-cp311-manylinux_2_17_x86_64")
    for name in REAL_SETS:
        folder = realwheels.require_set(name)
        for entry in sorted(os.listdir(folder)):
            shutil.copyfile(os.path.join(folder, entry), os.path.join(files, entry))
    return files


@pytest.fixture(scope="module")
def index(universe, tmp_path_factory):
    root = str(tmp_path_factory.mktemp("index"))
    indexkit.build_index(root, [os.path.join(universe, n) for n in sorted(os.listdir(universe))])
    with LocalIndex(root) as served:
        yield served


# -- sandboxes --------------------------------------------------------------------------------

class ClonedSandbox(Sandbox):
    """A copy of a template sandbox (venv made once per interpreter, pip and preinstalled
    stack): bootstrap.py uploaded beside it, commands offline."""

    def __init__(self, template, path):  # noqa: super().__init__ would make a new venv
        self.path = str(path)
        shutil.copytree(template.venv, os.path.join(self.path, "venv"), symlinks=True)
        self.venv = os.path.join(self.path, "venv")
        self.data = os.path.join(self.path, "data")
        os.makedirs(self.data)
        self.python = os.path.join(self.venv, "bin", "python")
        self.bootstrap_py = os.path.join(self.data, "bootstrap.py")
        shutil.copyfile(indexkit.BOOTSTRAP_PY, self.bootstrap_py)


@pytest.fixture(scope="module")
def sandbox_for(universe, tmp_path_factory):
    """sandbox_for(minor, pip, preinstalled, path) -> a fresh ClonedSandbox."""
    templates = {}

    def make(minor, with_pip, preinstalled, path):
        key = (minor, with_pip, tuple(preinstalled))
        if key not in templates:
            python = find_python(minor)
            if python is None:
                pytest.skip("no CPython 3.%s on this machine" % minor[1:])
            template = Sandbox(tmp_path_factory.mktemp("template"), python, with_pip=with_pip)
            if preinstalled:
                stack = os.path.join(template.path, "stack")
                os.makedirs(stack)
                for filename in preinstalled:
                    shutil.copyfile(os.path.join(universe, filename),
                                    os.path.join(stack, filename))
                proc = template.bootstrap("install", stack, "--json")
                assert proc.returncode == 0, output_of(proc)
            templates[key] = template
        return ClonedSandbox(templates[key], path)
    return make


def wheel_of(universe, name, version, minor):
    """The universe's file of name==version that a CPython 3.<minor> takes."""
    escaped = "%s-%s-" % (module_of(name), version)
    candidates = [f for f in os.listdir(universe) if f.lower().startswith(escaped.lower())]
    for filename in sorted(candidates):
        if "-none-any" in filename or "-cp%s-" % minor in filename:
            return filename
    raise AssertionError("no file of %s %s for cp%s in %s" % (name, version, minor, candidates))


# -- the scenarios ----------------------------------------------------------------------------

class Scenario(object):
    """One user's situation: interpreter, pip or not, preinstalled (name, version), what they
    upload first, what they asked for, what must import, whether an upgrade is expected."""

    def __init__(self, ident, minor, roots, imports, first, pip=False, pre=(), files=(),
                 upgrade=False, alt=False, no_profile_file=False, backtracks=False):
        self.ident = ident
        self.backtracks = backtracks       # the second install must backtrack among uploads
        self.minor = minor
        self.roots = list(roots)
        self.imports = list(imports)
        self.first = first                 # download | files | bundle
        self.pip = pip
        self.pre = list(pre)
        self.files = list(files)           # (name, version) uploaded first ("files")
        self.upgrade = upgrade
        self.alt = alt                     # run the fix's pip download alternative instead
        self.no_profile_file = no_profile_file  # the user could not bring the profile file


NUMPY = [("numpy", "1.26.4")]
SCIPY_STACK = [("numpy", "1.26.4"), ("scipy", "1.10.1")]
BOTO = [("six", "1.17.0"), ("python-dateutil", "2.9.0.post0"), ("jmespath", "1.0.1"),
        ("urllib3", "1.26.20"), ("botocore", "1.35.0")]
OLD_TYPING = [("typing-extensions", "4.0.0")]

SCENARIOS = [
    # markers evaluated for the wrong Python by a plain pip download
    Scenario("markdown-38-download", "38", ["markdown==3.5"], ["markdown", "importlib_metadata"],
             "download"),
    Scenario("markdown-39-download", "39", ["markdown==3.5"], ["markdown", "zipp"], "download"),
    Scenario("markdown-312-download", "312", ["markdown==3.5"], ["markdown"], "download"),
    Scenario("mypy-38-download", "38", ["mypy"], ["mypy", "tomli"], "download"),
    Scenario("mypy-310-download", "310", ["mypy"], ["mypy", "tomli"], "download"),
    Scenario("mypy-313-download", "313", ["mypy"], ["mypy"], "download"),
    Scenario("anyio-39-download", "39", ["anyio"], ["anyio", "exceptiongroup"], "download"),
    Scenario("anyio-312-download", "312", ["anyio"], ["anyio"], "download"),
    Scenario("dateutil-311-six-kept", "311", ["python-dateutil"], ["dateutil"], "download",
             pre=[("six", "1.16.0")]),
    # the builder with the sandbox's own profile, the intended path
    Scenario("pandas-311-numpy-pinned", "311", ["pandas", "scikit-learn"],
             ["pandas", "scikit_learn"], "bundle", pre=NUMPY),
    Scenario("pandas-38-bundle", "38", ["pandas"], ["pandas", "dateutil"], "bundle"),
    Scenario("anyio-310-old-typing", "310", ["anyio"], ["anyio"], "bundle", pre=OLD_TYPING),
    Scenario("botocore-311-bundle", "311", ["types-requests"], ["types_requests"], "bundle",
             pre=BOTO),
    Scenario("backtrack-311-bundle", "311", ["backtrack-a", "backtrack-b"],
             ["backtrack_a", "backtrack_b"], "bundle"),
    Scenario("six-311-upgrade", "311", ["six>=1.17"], ["six"], "bundle",
             pre=[("six", "1.16.0")], upgrade=True),
    Scenario("scipy-310-upgrade", "310", ["scipy>=1.11"], ["scipy"], "bundle", pre=SCIPY_STACK,
             upgrade=True),
    # preinstalled versions that pin, with a newer upload: the fix asks for the root again
    Scenario("pandas-311-newest-uploaded", "311", ["pandas"], ["pandas"], "files", pre=NUMPY,
             files=[("pandas", "2.3.2")], backtracks=True),
    Scenario("pandas-310-scipy-pins-numpy", "310", ["pandas"], ["pandas", "scipy"], "download",
             pre=SCIPY_STACK, backtracks=True),
    Scenario("botocore-39-types-requests", "39", ["types-requests"], ["types_requests"],
             "files", pre=BOTO, files=[("types-requests", "2.32.0.20240914")], backtracks=True),
    Scenario("mypy-39-old-typing", "39", ["mypy"], ["mypy"], "files", pre=OLD_TYPING,
             files=[("mypy", "1.11.2")], backtracks=True),
    # no backtracking: newest of everything uploaded, no solution among them
    Scenario("backtrack-38-files", "38", ["backtrack-a", "backtrack-b"],
             ["backtrack_a", "backtrack_b"], "files",
             files=[("backtrack-a", "2.0"), ("backtrack-b", "1.0"), ("backtrack-c", "2.0")],
             backtracks=True),
    # facts lost in the fix command: a compiler, setuptools 65 and no `wheel`
    Scenario("crcmod-311-cos-sdk", "311", ["cos-python-sdk-v5"], ["cos_python_sdk_v5", "crcmod"],
             "files", pip=True, files=[("cos-python-sdk-v5", "1.9.30"), ("crcmod", "1.7")]),
    Scenario("crcmod-311-no-profile-file", "311", ["crcmod"], ["crcmod"], "files", pip=True,
             files=[("crcmod", "1.7")], no_profile_file=True),
    # building on the wrong interpreter: absl-py 0.9.0's setup.py refuses Python 3.10+
    Scenario("absl-39-sdist", "39", ["absl-app"], ["absl", "six"], "files", pip=True,
             files=[("absl-app", "1.0")]),
    Scenario("jieba-310-sdist-no-pip", "310", ["jieba-user"], ["jieba"], "files",
             files=[("jieba-user", "1.0")]),
    # the pip download alternative
    Scenario("markdown-38-alt", "38", ["markdown==3.5"], ["markdown", "importlib_metadata"],
             "download", alt=True),
    Scenario("crcmod-312-alt", "312", ["crcmod"], ["crcmod"], "files", pip=True,
             files=[("crcmod", "1.7")], alt=True),
]
REAL_FILES = {("crcmod", "1.7"): "crcmod-1.7.tar.gz", ("six", "1.16.0"):
              "six-1.16.0-py2.py3-none-any.whl", ("six", "1.17.0"):
              "six-1.17.0-py2.py3-none-any.whl", ("python-dateutil", "2.9.0.post0"):
              "python_dateutil-2.9.0.post0-py2.py3-none-any.whl"}


def universe_file(universe, name, version, minor):
    return REAL_FILES.get((name, version)) or wheel_of(universe, name, version, minor)


# -- the loop ---------------------------------------------------------------------------------

def online(command, index, folder, alt=False):
    """Run a fix command as written, on this (online) machine, in ``folder``."""
    words = shlex.split(command)
    if alt:
        assert words[:2] == ["pip", "download"], command
        words = [sys.executable, "-m", "pip"] + words[1:]
    else:
        assert words[:2] == ["python", "tools/bundle.py"], command
        words = [sys.executable, BUNDLE_PY] + words[2:]
    return indexkit.run(words, cwd=folder, env=indexkit.tool_env(index.url))


def first_upload(scenario, sandbox, universe, index, tmp_path):
    """The first thing the user uploads, in the sandbox's upload folder: its name."""
    if scenario.first == "bundle":
        profile = sandbox.inspect(os.path.join(str(tmp_path), "profile.json"))
        output = os.path.join(str(tmp_path), "bundle.tar.gz")
        proc = indexkit.run_bundle(scenario.roots + ["--profile", profile, "-o", output],
                                   index.url)
        assert proc.returncode == 0, output_of(proc)
        if scenario.upgrade:  # the builder says that installing needs --upgrade
            assert "--upgrade" in proc.stderr, output_of(proc)
        else:  # the oracle: pip itself, run with the sandbox's interpreter and installed set
            shipped = dict((e["name"], e["version"])
                           for e in indexkit.read_bundle(output).manifest["files"])
            assert shipped == pip_would_install(sandbox, universe, scenario.roots, tmp_path)
        return os.path.basename(sandbox.upload(output))
    folder = os.path.join(str(tmp_path), "first")
    os.makedirs(folder)
    if scenario.first == "download":  # what people do: pip download with platform flags
        minor = scenario.minor
        proc = indexkit.run(
            [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--platform",
             "manylinux2014_x86_64", "--python-version", "3.%s" % minor[1:],
             "--implementation", "cp", "--abi", "cp%s" % minor, "-d", folder] + scenario.roots,
            env=indexkit.tool_env(index.url))
        assert proc.returncode == 0, output_of(proc)
    else:
        for name, version in scenario.files:
            filename = universe_file(universe, name, version, scenario.minor)
            shutil.copyfile(os.path.join(universe, filename), os.path.join(folder, filename))
    archive = os.path.join(str(tmp_path), "upload.tar.gz")
    with tarfile.open(archive, "w:gz") as tar:
        for name in sorted(os.listdir(folder)):
            tar.add(os.path.join(folder, name), arcname=name)
    return os.path.basename(sandbox.upload(archive))


def pip_would_install(sandbox, universe, roots, tmp_path):
    """{name: version} that pip installs in the sandbox (its interpreter, its installed
    distributions pinned as constraints) from the universe: the pip that the sandbox's
    CPython bundles (ensurepip's wheel), run by the sandbox's interpreter, offline."""
    wheel = installkit.bundled_pip(sandbox.python)
    if wheel is None:
        pytest.skip("the sandbox's CPython bundles no pip wheel: no oracle")
    pins = os.path.join(str(tmp_path), "installed-pins.txt")
    with open(pins, "w") as f:
        f.write("".join("%s==%s\n" % item for item in sorted(sandbox.installed().items())))
    report = os.path.join(str(tmp_path), "pip-report.json")
    proc = sandbox.run([os.path.join(wheel, "pip"), "install", "--dry-run", "--quiet",
                        "--report", report, "--no-index", "--find-links", universe, "-c",
                        pins] + roots)
    assert proc.returncode == 0, output_of(proc)
    with open(report) as f:
        items = json.load(f)["install"]
    return dict((indexkit.canonicalize_name(i["metadata"]["name"]), i["metadata"]["version"])
                for i in items)


def run_sandbox_fixes(sandbox, report):
    """Run the report's sandbox fixes (python bootstrap.py ... --upgrade) as written."""
    ran = []
    for problem in report["problems"]:
        fix = problem.get("fix") or {}
        if fix.get("where") != "sandbox" or fix["command"] in ran:
            continue
        words = shlex.split(fix["command"])
        assert words[:2] == ["python", "bootstrap.py"], fix
        ran.append(fix["command"])
        proc = sandbox.run([sandbox.bootstrap_py] + words[2:] + ["--json"])
        report = json.loads(proc.stdout)
    return report, ran


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.ident for s in SCENARIOS])
def test_fix_commands_repair_in_one_round(scenario, index, universe, sandbox_for, tmp_path):
    if scenario.backtracks and not BACKTRACKING:
        pytest.skip("needs bootstrap's backtracking resolver (issue 11): the uploads hold a "
                    "newer version that does not fit beside the fix's older one")
    pre = [universe_file(universe, n, v, scenario.minor) for n, v in scenario.pre]
    sandbox = sandbox_for(scenario.minor, scenario.pip, pre, tmp_path / "sandbox")
    before = sandbox.installed()
    uploads = [first_upload(scenario, sandbox, universe, index, tmp_path)]
    proc, report = sandbox.bootstrap_json("install", *uploads)
    rounds, sandbox_fixes = 0, []
    if report["status"] != "ok":
        report, sandbox_fixes = run_sandbox_fixes(sandbox, report)
    if report["status"] != "ok":
        fix = report["fix"]
        assert fix and fix["where"] == "online", json.dumps(report, indent=1)
        rounds += 1
        folder = os.path.join(str(tmp_path), "online")
        os.makedirs(folder)
        if fix.get("profile_file") and not scenario.no_profile_file:
            assert os.path.dirname(fix["profile_file"]) == sandbox.data, fix
            shutil.copyfile(fix["profile_file"], os.path.join(folder, "sandbox-profile.json"))
        done = online(fix["alt"] if scenario.alt else fix["command"], index, folder, scenario.alt)
        assert done.returncode == 0, "%s\n%s" % (fix, output_of(done))
        if scenario.alt:
            uploads.append(_upload_folder(sandbox, os.path.join(folder, "wheels")))
        else:
            uploads.append(os.path.basename(sandbox.upload(
                os.path.join(folder, "bundle-fix.tar.gz"))))
        proc, report = sandbox.bootstrap_json("install", *uploads)
        if report["status"] != "ok":
            report, more = run_sandbox_fixes(sandbox, report)
            sandbox_fixes += more
    assert report["status"] == "ok" and rounds <= 1, json.dumps(report, indent=1)
    imported = sandbox.imports(*scenario.imports)
    assert imported.returncode == 0, output_of(imported)
    after = sandbox.installed()
    changed = sorted(n for n, v in before.items() if after.get(n) != v)
    upgraded = any("--upgrade" in c for c in sandbox_fixes)
    if scenario.upgrade:
        assert upgraded and changed, (changed, sandbox_fixes)
    else:
        assert not changed, (changed, before, after)
    for name in [n for n, _ in scenario.pre if n not in changed]:
        assert after[name] == before[name]


def _upload_folder(sandbox, folder):
    """Upload a folder of downloaded files (as a user uploads what pip download wrote)."""
    shutil.copytree(folder, os.path.join(sandbox.data, "fix-wheels"))
    return "fix-wheels"


# -- where the profile file goes ----------------------------------------------------------------

class TestProfileFile:
    """The sandbox writes sandbox-profile.json next to the first upload (a folder of wheels:
    beside it, not into it) when an online step is needed: never into the current folder
    (when that is elsewhere), never failing."""

    @pytest.fixture
    def upload(self, tmp_path):
        folder = tmp_path / "uploads"
        make_wheel(str(folder), "zz-needs-more", "1.0", requires=["zz-not-here>=1"])
        return folder

    def _check(self, folder, cwd, monkeypatch):
        monkeypatch.chdir(str(cwd))
        return bootstrap.check([str(folder)])

    def test_written_next_to_the_upload_not_in_the_cwd(self, upload, tmp_path, monkeypatch):
        elsewhere = tmp_path / "cwd"
        elsewhere.mkdir()
        report = self._check(upload, elsewhere, monkeypatch)
        fix = report["fix"]
        path = str(tmp_path / "sandbox-profile.json")
        assert fix["profile_file"] == path
        assert sorted(os.listdir(str(upload))) == ["zz_needs_more-1.0-py3-none-any.whl"]
        assert os.listdir(str(elsewhere)) == []
        with open(path) as f:
            written = json.load(f)
        assert written["target"] == report["target"]
        assert written["compatible_tags"] == [str(t) for t in bootstrap.sys_tags()]
        words = shlex.split(fix["command"])
        assert words[words.index("--profile") + 1] == "sandbox-profile.json"
        assert words[words.index("--target") + 1] == report["target"]
        assert "zz-not-here>=1" in words

    def test_unwritable_folder_falls_back_to_the_target(self, upload, tmp_path, monkeypatch):
        (tmp_path / "sandbox-profile.json.tmp").mkdir()  # writing there fails, even as root
        before = sorted(os.listdir(str(tmp_path)))
        elsewhere = tmp_path / "cwd"
        elsewhere.mkdir()
        report = self._check(upload, elsewhere, monkeypatch)
        fix = report["fix"]
        assert "profile_file" not in fix
        words = shlex.split(fix["command"])
        assert words[words.index("--profile") + 1] == report["target"]
        assert sorted(os.listdir(str(tmp_path))) == sorted(before + ["cwd"])
        assert os.listdir(str(elsewhere)) == []

    def test_nothing_written_when_nothing_is_missing(self, tmp_path, monkeypatch):
        folder = tmp_path / "uploads"
        make_wheel(str(folder), "zz-complete", "1.0")
        elsewhere = tmp_path / "cwd"
        elsewhere.mkdir()
        report = self._check(folder, elsewhere, monkeypatch)
        assert report.ok and report["fix"] is None
        assert sorted(os.listdir(str(tmp_path))) == ["cwd", "uploads"]

    def test_a_given_profile_is_named_and_nothing_is_written(self, upload, tmp_path,
                                                             monkeypatch):
        profile = tmp_path / "mine.json"
        profile.write_text(json.dumps(bootstrap.Profile.current().to_json()))
        monkeypatch.chdir(str(tmp_path))
        report = bootstrap.check([str(upload)], profile=str(profile))
        words = shlex.split(report["fix"]["command"])
        assert words[words.index("--profile") + 1] == str(profile)
        assert not (tmp_path / "sandbox-profile.json").exists()


# -- an installed root that does not import ---------------------------------------------------

def test_a_root_built_for_another_interpreter_is_repaired_by_the_fix(index, universe,
                                                                     sandbox_for, tmp_path):
    """speedext 1.0 built on CPython 3.12 but tagged cp39-abi3 (py_limited_api given to
    bdist_wheel but not to the Extension: its .so is named .cpython-312-...): it installs on
    3.11 and does not import. The report's one fix command, run verbatim, must ship speedext
    1.0 for cp311 (the sandbox has 1.0 installed, broken: its reinstall is the fix), and the
    next install must replace the broken build: status ok, and the module imports."""
    if not [f for f in os.listdir(universe) if f.startswith("speedext-1.0-cp311-")]:
        pytest.skip("no gcc or no CPython 3.11 to build speedext's extension with")
    bad = make_extension_wheel(str(tmp_path / "built-on-312"), "312",
                               "cp39-abi3-manylinux_2_17_x86_64")
    if bad is None:
        pytest.skip("no CPython 3.12 to build the wrong extension with")
    sandbox = sandbox_for("311", False, [], tmp_path / "sandbox")
    uploads = [os.path.basename(sandbox.upload(str(bad)))]
    proc, report = sandbox.bootstrap_json("install", *uploads)
    failed = [p for p in report["problems"] if p["code"] == "import-failed"]
    assert [p["subject"] for p in failed] == ["speedext"], json.dumps(report, indent=1)
    assert sandbox.installed().get("speedext") == "1.0"
    fix = report["fix"]
    assert fix and fix["where"] == "online" and failed[0]["fix"]["command"] == fix["command"]
    words = shlex.split(fix["command"])
    assert "speedext==1.0" in words and "speedext==1.0" not in words[words.index("--profile"):]
    folder = os.path.join(str(tmp_path), "online")
    os.makedirs(folder)
    shutil.copyfile(fix["profile_file"], os.path.join(folder, "sandbox-profile.json"))
    done = online(fix["command"], index, folder)
    assert done.returncode == 0, "%s\n%s" % (fix, output_of(done))
    shipped = indexkit.read_bundle(os.path.join(folder, "bundle-fix.tar.gz"))
    assert [f for f in shipped.wheel_files if f.startswith("speedext-1.0-cp311-cp311-")], (
        shipped.manifest, output_of(done))
    assert shipped.manifest.get("reinstall") == ["speedext"], shipped.manifest
    uploads.append(os.path.basename(sandbox.upload(os.path.join(folder, "bundle-fix.tar.gz"))))
    proc, report = sandbox.bootstrap_json("install", *uploads)
    assert report["status"] == "ok", json.dumps(report, indent=1)
    imported = sandbox.run(["-c", "import speedext; print(speedext.BUILT_FOR)"])
    assert imported.returncode == 0 and imported.stdout.strip() == "cp311", output_of(imported)
    assert sandbox.installed() == {"speedext": "1.0"}


# -- the next steps, followed word for word -----------------------------------------------------

def test_the_next_steps_run_verbatim_keep_the_installs_options(index, universe, sandbox_for,
                                                                tmp_path):
    """An install into a --target with --require and --jobs 1: python-dateutil uploaded alone,
    six missing. The report's steps are followed word for word: the online fix, then 'Upload
    bundle-fix.tar.gz next to the bundle, then run install again with both bundles: <command>'.
    That command keeps every option of the first (it named only the two uploads, so the second
    install went into the sandbox's site-packages, not the --target, and verified another
    root set): both packages land in the target, nothing in site-packages, and the root
    imports through the printed activation."""
    sandbox = sandbox_for("311", False, [], tmp_path / "sandbox")
    before = sandbox.installed()
    upload = os.path.basename(sandbox.upload(os.path.join(universe, universe_file(
        universe, "python-dateutil", "2.9.0.post0", "311"))))
    target = os.path.join(sandbox.data, "packages")
    proc, report = sandbox.bootstrap_json("install", upload, "--target", target,
                                          "--require", "python-dateutil", "--jobs", "1")
    assert report["status"] != "ok" and report["installed"] == [], json.dumps(report, indent=1)
    steps = report["next_steps"]
    assert len(steps) == 2 and steps[0].startswith("On a machine with internet, run: "), steps
    folder = os.path.join(str(tmp_path), "online")
    os.makedirs(folder)
    shutil.copyfile(report["fix"]["profile_file"], os.path.join(folder, "sandbox-profile.json"))
    done = online(steps[0].split(": ", 1)[1], index, folder)
    assert done.returncode == 0, output_of(done)
    lead, command = steps[1].split(": ", 1)
    assert lead == ("Upload bundle-fix.tar.gz next to the bundle, then run install again "
                    "with both bundles"), steps[1]
    shutil.copyfile(os.path.join(folder, "bundle-fix.tar.gz"),
                    os.path.join(sandbox.data, "bundle-fix.tar.gz"))  # next to the upload
    words = shlex.split(command)
    assert words[:2] == ["python", "bootstrap.py"], command
    proc = sandbox.run([sandbox.bootstrap_py] + words[2:] + ["--json"])
    again = json.loads(proc.stdout)
    assert again["status"] == "ok", json.dumps(again, indent=1)
    assert again["roots"] == ["python-dateutil"], again["roots"]
    assert sorted(i["name"] for i in again["installed"]) == ["python-dateutil", "six"], (
        again["installed"])  # the root waited for its closure: never half-installed
    assert sorted(d for d in os.listdir(target) if d.endswith(".dist-info")) == [
        "python_dateutil-2.9.0.post0.dist-info", "six-1.17.0.dist-info"]
    assert sandbox.installed() == before
    env = installkit.clean_env(PYTHONPATH=target)
    imported = installkit.run([sandbox.python, "-c", "import dateutil.parser, six"], env=env)
    assert imported.returncode == 0, output_of(imported)
