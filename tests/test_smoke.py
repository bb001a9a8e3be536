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
    TestWarming       what an extraction worker compiles ahead of the verifying import: the
                      import statements read from raw bytecode, held against dis on the
                      standard library of each interpreter (whose bytecode differs); the
                      modules compiled, held against what a fresh interpreter's import runs,
                      and their .pyc, which that import takes as they are
"""
import collections
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


# -- What a worker compiles ahead of the verifying import -------------------------------------
# A package whose import runs: b (import), c (from . import), d (from .d import name), e (a
# class body's import), f (only under `if True`); and _g only inside a function (not run).
# Then the walk takes its public submodules: h, which nothing imports; not _p, nor tests.
WARM_PACKAGE = {
    "warmpkg/__init__.py": "import warmpkg.b\nfrom . import c\nfrom .d import VALUE\n"
                           "class Holder:\n    import warmpkg.e as e\n"
                           "if True:\n    from warmpkg import f\n"
                           "def later():\n    import warmpkg._g\n"
                           # what only a type checker reads is neither run nor compiled
                           "import typing\nfrom typing import TYPE_CHECKING\n"
                           "if TYPE_CHECKING:\n    import warmpkg._typed\n"
                           "else:\n    from warmpkg import _untyped\n"
                           "if typing.TYPE_CHECKING:\n    from .sub.typed import T\n",
    "warmpkg/b.py": "import json\nB = 1\n",
    "warmpkg/c.py": "from .b import B\n",
    "warmpkg/d.py": "VALUE = 4\n",
    "warmpkg/e.py": "",
    "warmpkg/f.py": "import warmpkg.sub.deep\n",
    "warmpkg/_g.py": "",
    "warmpkg/h.py": "from .hdep import H\n",
    "warmpkg/hdep.py": "H = 8\n",
    "warmpkg/_p.py": "",
    "warmpkg/tests/__init__.py": "",
    "warmpkg/tests/test_it.py": "",
    "warmpkg/sub/__init__.py": "",
    "warmpkg/sub/deep.py": "from .. import d\n",
    "warmpkg/_typed.py": "",
    "warmpkg/_untyped.py": "",
    "warmpkg/sub/typed.py": "T = 16\n",
}


def _ast_imports(path):
    """(every import, those in an `if TYPE_CHECKING:` or `if x.TYPE_CHECKING:` block, which no
    running program executes): Counters of (name, level, fromlist) of the import statements
    in a source file's module level and class bodies (not in functions or lambdas), read by
    ast."""
    import ast
    import warnings
    with open(path, "rb") as source, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # what the standard library's old escapes say
        tree = ast.parse(source.read())
    found, typed, queue = collections.Counter(), collections.Counter(), [(tree, False)]
    while queue:
        node, typing_only = queue.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Import):
            keys = [(alias.name, 0, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            keys = [(node.module or "", node.level, tuple(alias.name for alias in node.names))]
        else:
            keys = []
        found.update(keys)
        if typing_only:
            typed.update(keys)
        test = node.test if isinstance(node, ast.If) else None
        if getattr(test, "id", getattr(test, "attr", None)) == "TYPE_CHECKING":
            queue.extend((inner, True) for inner in node.body)
            queue.extend((inner, typing_only) for inner in node.orelse)
        else:
            queue.extend((inner, typing_only) for inner in ast.iter_child_nodes(node))
    return found, typed


def _without(found, left_out):
    """The list ``found`` less the items of the Counter ``left_out``, in order."""
    left_out, kept = collections.Counter(left_out), []
    for item in found:
        if left_out[item] > 0:
            left_out[item] -= 1
        else:
            kept.append(item)
    return kept


def _imports_by_dis(code):
    import dis
    found, queue = [], [code]
    while queue:
        code = queue.pop(0)
        instructions = [instruction for instruction in dis.get_instructions(code)
                        if instruction.opname != "EXTENDED_ARG"]  # its next one has the arg
        for index in range(2, len(instructions)):
            if instructions[index].opname == "IMPORT_NAME" and isinstance(
                    instructions[index - 2].argval, int):
                found.append((instructions[index].argval, instructions[index - 2].argval,
                              instructions[index - 1].argval))
        queue.extend(const for const in code.co_consts
                     if hasattr(const, "co_flags") and not const.co_flags & 0x2)
    return found


def _module_of(pyc):
    """The module a .pyc (a path relative to its folder) is the bytecode of."""
    package = os.path.dirname(os.path.dirname(pyc)).replace(os.sep, ".")
    stem = os.path.basename(pyc).split(".")[0]
    return package if stem == "__init__" else package + "." + stem


class TestWarming:
    @pytest.fixture(autouse=True)
    def _writes_bytecode(self, monkeypatch):  # as a worker does (-I: no PYTHONDONTWRITEBYTECODE)
        monkeypatch.setattr(sys, "dont_write_bytecode", False)

    def _read_imports_as_dis_and_ast(self, paths):
        """For each source file: _import_statements equals dis's reading of its bytecode less
        the imports ast finds in `if TYPE_CHECKING:` blocks, and holds none that ast does
        not find (two readers other than raw bytecode). How many files, and how many of them
        had such a block."""
        import warnings
        checked, typed = 0, 0
        for path in paths:
            with open(path, "rb") as source, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    code = compile(source.read(), path, "exec", dont_inherit=True)
                except (SyntaxError, ValueError):
                    continue
            found = bootstrap._import_statements(code)
            by_ast, type_checking = _ast_imports(path)
            assert found == _without(_imports_by_dis(code), type_checking), path
            assert not collections.Counter(found) - by_ast, path
            checked += 1
            typed += bool(type_checking)
        return checked, typed

    def test_import_statements_are_read_as_dis_reads_them(self):
        import glob
        library = os.path.dirname(os.__file__)
        paths = sorted(path for path in glob.glob(os.path.join(library, "**", "*.py"),
                                                  recursive=True) if "-packages" not in path)
        # a quarter of the standard library: every kind of import
        checked, _ = self._read_imports_as_dis_and_ast(paths[::4])
        assert checked > 150

    def test_imports_under_type_checking_are_left_out(self):
        # pytest's own package: hundreds of `if TYPE_CHECKING:` blocks, in every form
        # (`from typing import TYPE_CHECKING`, `typing.TYPE_CHECKING`, with else branches).
        import glob
        import _pytest
        folder = os.path.dirname(_pytest.__file__)
        paths = sorted(glob.glob(os.path.join(folder, "**", "*.py"), recursive=True))
        checked, typed = self._read_imports_as_dis_and_ast(paths)
        assert checked > 50 and typed > 20, (checked, typed)

    def test_wide_arguments_are_read_whole(self):
        # Over 256 names and constants: IMPORT_NAME and LOAD_CONST take EXTENDED_ARG units.
        source = "".join("from pkg%d.mod import (name%d, other%d)\n" % (i, i, i)
                         for i in range(300)) + "from ..parent import last\n"
        code = compile(source, "wide.py", "exec", dont_inherit=True)
        found = bootstrap._import_statements(code)
        assert found == _imports_by_dis(code)
        assert len(found) == 301 and found[-1] == ("parent", 2, ("last",))
        assert found[299] == ("pkg299.mod", 0, ("name299", "other299"))

    def test_a_wide_type_checking_block_is_read_whole(self, tmp_path):
        # TYPE_CHECKING's name index over 255 and a block longer than 255 code units: the
        # load and the jump past the block take EXTENDED_ARG units.
        source = ("".join("name%d = %d\n" % (i, i) for i in range(300))
                  + "import typing\nfrom typing import TYPE_CHECKING\n"
                  + "if TYPE_CHECKING:\n"
                  + "".join("    from typed%d import (a%d, b%d)\n" % (i, i, i)
                            for i in range(300))
                  + "else:\n    import untyped\n"
                  + "if typing.TYPE_CHECKING:\n    import typed\nimport last\n")
        path = tmp_path / "wide_typed.py"
        path.write_text(source)
        checked, typed = self._read_imports_as_dis_and_ast([str(path)])
        assert (checked, typed) == (1, 1)
        code = compile(source, str(path), "exec", dont_inherit=True)
        assert bootstrap._import_statements(code) == [
            ("typing", 0, None), ("typing", 0, ("TYPE_CHECKING",)), ("untyped", 0, None),
            ("last", 0, None)]

    def _package(self, tmp_path):
        folder = tmp_path / "lib"
        for name, text in WARM_PACKAGE.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return folder

    def _pycs(self, folder):
        found = {}
        for root, _, files in os.walk(str(folder)):
            for name in files:
                if name.endswith(".pyc"):
                    path = os.path.join(root, name)
                    found[os.path.relpath(path, str(folder))] = os.stat(path).st_mtime_ns
        return found

    def test_it_compiles_what_the_import_runs_and_the_import_takes_it(self, tmp_path):
        folder = self._package(tmp_path)
        count = bootstrap._warm_imports(["warmpkg"], [str(folder)], str(tmp_path / "stop"))
        written = self._pycs(folder)
        # The oracle: a fresh interpreter imports the package, then its public submodule h,
        # from the folder; the modules it ran from there are the ones compiled, and it
        # rewrites none of their .pyc.
        env = clean_env()  # no PYTHON* variable: the import writes bytecode
        ran = json.loads(subprocess.run(
            [sys.executable, "-c", "import json, sys; sys.path.insert(0, sys.argv[1]); "
             "import warmpkg, warmpkg.h, warmpkg.hdep, warmpkg.sub; print(json.dumps(sorted("
             "m for m in sys.modules if m.startswith('warmpkg'))))", str(folder)],
            env=env, stdout=subprocess.PIPE, check=True, universal_newlines=True).stdout)
        assert "warmpkg._g" not in ran  # only inside a function: neither run nor compiled
        assert count == len(ran) == len(written)
        assert sorted(_module_of(path) for path in written) == ran
        assert self._pycs(folder) == written

    def test_a_stop_file_written_during_the_walk_stops_it_at_the_next_module(
            self, tmp_path, monkeypatch):
        folder = self._package(tmp_path)
        stop = tmp_path / "stop"
        looked, plain = [], bootstrap._find_module

        def find_module(name, folders, specs):
            looked.append(name)
            if len(looked) == 3:  # close() of the installer, while the walk runs
                stop.write_text("")
            return plain(name, folders, specs)
        monkeypatch.setattr(bootstrap, "_find_module", find_module)
        # it looked at warmpkg, warmpkg.b and json (not in the folder), and no further
        assert bootstrap._warm_imports(["warmpkg"], [str(folder)], str(stop)) == 2
        assert looked == ["warmpkg", "warmpkg.b", "json"]
        assert sorted(_module_of(path) for path in self._pycs(folder)) == [
            "warmpkg", "warmpkg.b"]

    def test_a_stop_file_stops_it_before_it_writes(self, tmp_path):
        folder = self._package(tmp_path)
        stop = tmp_path / "stop"
        stop.write_text("")
        before = snapshot(str(tmp_path), skip=())
        assert bootstrap._warm_imports(["warmpkg"], [str(folder)], str(stop)) == 0
        assert snapshot(str(tmp_path), skip=()) == before

    def test_what_is_not_in_the_folders_is_left_alone(self, tmp_path, monkeypatch):
        folder = self._package(tmp_path)
        (folder / "warmpkg" / "b.py").write_text("import warmoutside\n")
        outside = tmp_path / "outside"
        outside.mkdir()
        (outside / "warmoutside.py").write_text("")
        monkeypatch.syspath_prepend(str(outside))  # importable here, but not one of folders
        bootstrap._warm_imports(["warmpkg"], [str(folder)], str(tmp_path / "stop"))
        assert not list(outside.rglob("*.pyc"))
        assert "warmpkg/__pycache__" in "/".join(self._pycs(folder)).replace(os.sep, "/")
