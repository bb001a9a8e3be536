"""Tags: bootstrap's wheel-tag generation against packaging.tags (the newest packaging is the oracle).

Three layers:

* the running interpreter: ``sys_tags()`` and its parts, element for element;
* the generators with explicit arguments (``cpython_tags``, ``generic_tags``,
  ``compatible_tags``, ``mac_platforms``, ``ios_platforms``, ``android_platforms``, ``parse_tag``);
* simulated machines: the same functions while ``platform``, ``sysconfig``, ``os.confstr``,
  ``sys.implementation``, ``sys.version_info``, ``sys.executable`` (a fake ELF file, with a fake
  musl loader) ... describe another machine, either at the level of the machine ("machine"
  mode: both libraries read the same patched facts) or of the detection helpers ("helpers"
  mode: ``bootstrap._detect_*`` and packaging's ``_manylinux``/``_musllinux`` functions).

Every comparison is of the full ordered list of ``str(tag)``.
"""

import collections
import contextlib
import importlib.machinery
import os
import platform
import stat
import struct
import sys
import sysconfig
import types
import warnings

import pytest

import oracle

packaging = oracle.require(hypothesis=False)

from packaging import _manylinux, _musllinux  # noqa: E402
from packaging import tags as ptags  # noqa: E402

import bootstrap  # noqa: E402

sysconfig.get_config_vars()  # initialise sysconfig's cache before anything is patched


def strs(tags):
    return [str(tag) for tag in tags]


def _clear_packaging_caches():
    _manylinux._get_glibc_version.cache_clear()
    _musllinux._get_musl_version.cache_clear()
    if hasattr(_manylinux, "_get_manylinux_module"):  # packaging 26.3 caches the override module
        _manylinux._get_manylinux_module.cache_clear()


@pytest.fixture(autouse=True)
def fresh_caches():
    """packaging caches glibc/musl detection: never let one test's machine leak into the next."""
    _clear_packaging_caches()
    yield
    _clear_packaging_caches()


# -- the running interpreter ---------------------------------------------------------------------


class TestRunningInterpreter:
    def test_sys_tags_equal_packaging(self):
        assert strs(bootstrap.sys_tags()) == strs(ptags.sys_tags())

    def test_sys_tags_are_not_empty_and_unique(self):
        tags = strs(bootstrap.sys_tags())
        assert tags
        assert len(tags) == len(set(tags))

    def test_sys_tags_yields_bootstrap_tags(self):
        assert all(isinstance(tag, bootstrap.Tag) for tag in bootstrap.sys_tags())

    def test_platform_tags_equal_packaging(self):
        assert list(bootstrap.platform_tags()) == list(ptags.platform_tags())

    def test_interpreter_name_equals_packaging(self):
        assert bootstrap.interpreter_name() == ptags.interpreter_name()

    def test_interpreter_version_equals_packaging(self):
        assert bootstrap.interpreter_version() == ptags.interpreter_version()

    def test_default_cpython_tags_equal_packaging(self):
        if ptags.interpreter_name() != "cp":
            pytest.skip("not CPython")
        assert strs(bootstrap.cpython_tags()) == strs(ptags.cpython_tags())

    def test_default_generic_tags_equal_packaging(self):
        assert strs(bootstrap.generic_tags()) == strs(ptags.generic_tags())

    def test_default_compatible_tags_equal_packaging(self):
        assert strs(bootstrap.compatible_tags()) == strs(ptags.compatible_tags())

    def test_detected_glibc_equals_packaging(self):
        assert tuple(bootstrap._detect_glibc_version()) == tuple(_manylinux._get_glibc_version())

    def test_detected_musl_equals_packaging(self):
        theirs = _musllinux._get_musl_version(sys.executable)
        ours = bootstrap._detect_musl_version(sys.executable)
        assert (None if ours is None else tuple(ours)) == (None if theirs is None else tuple(theirs))

    def test_is_32bit_equals_packaging(self):
        assert bootstrap._is_32bit() == ptags._32_BIT_INTERPRETER


# -- Tag and parse_tag ---------------------------------------------------------------------------


class TestTag:
    @pytest.mark.parametrize(
        "triple",
        [
            ("py3", "none", "any"),
            ("CP311", "CP311", "WIN_AMD64"),
            ("cp313", "cp313t", "manylinux_2_17_x86_64"),
            ("pp310", "pypy310_pp73", "macosx_11_0_arm64"),
        ],
    )
    def test_str_and_parts_equal_packaging(self, triple):
        ours, theirs = bootstrap.Tag(*triple), ptags.Tag(*triple)
        assert str(ours) == str(theirs)
        assert (ours.interpreter, ours.abi, ours.platform) == (
            theirs.interpreter, theirs.abi, theirs.platform)

    def test_equal_tags_hash_equal(self):
        first = bootstrap.Tag("CP311", "cp311", "Linux_X86_64")
        second = bootstrap.Tag("cp311", "CP311", "linux_x86_64")
        assert first == second
        assert hash(first) == hash(second)
        assert len({first, second}) == 1

    def test_different_tags_are_unequal(self):
        assert bootstrap.Tag("py3", "none", "any") != bootstrap.Tag("py2", "none", "any")
        assert bootstrap.Tag("py3", "none", "any") != "py3-none-any"


class TestParseTag:
    @pytest.mark.parametrize(
        "text",
        [
            "py3-none-any",
            "py2.py3-none-any",
            "cp38-cp38-manylinux_2_17_x86_64.manylinux2014_x86_64",
            "cp37.cp38.cp39-abi3.none-macosx_10_9_x86_64.macosx_11_0_arm64",
            "CP311-CP311-WIN_AMD64",
            "pp310-pypy310_pp73-manylinux_2_28_aarch64",
            "cp313-cp313t-musllinux_1_2_x86_64",
            "py3-none-pyemscripten_2025_0_wasm32",
        ],
    )
    def test_tags_equal_packaging(self, text):
        ours = bootstrap.parse_tag(text)
        assert isinstance(ours, frozenset)
        assert sorted(strs(ours)) == sorted(strs(ptags.parse_tag(text)))

    def test_compressed_set_expands_to_product(self):
        assert len(bootstrap.parse_tag("cp38.cp39-abi3.none-a.b.c")) == 2 * 2 * 3


# -- generators with explicit arguments ----------------------------------------------------------

LINUX_PLATFORMS = ["manylinux_2_17_x86_64", "manylinux2014_x86_64", "linux_x86_64"]


class TestCpythonTags:
    @pytest.mark.parametrize(
        "python_version, abis, platforms",
        [
            ((3, 11), ["cp311"], ["linux_x86_64"]),
            ((3, 8), ["cp38"], LINUX_PLATFORMS),
            ([3, 9], ["cp39"], ["win_amd64"]),
            ((3, 12), ["cp312d", "cp312"], LINUX_PLATFORMS),
            ((3, 13), ["cp313t"], LINUX_PLATFORMS),
            ((3, 13), ["cp313td", "cp313t"], ["linux_aarch64"]),
            ((3, 2), ["cp32mu"], ["linux_x86_64"]),
            ((3, 1), ["cp31"], ["linux_x86_64"]),
            ((2, 7), ["cp27mu"], ["linux_x86_64"]),
            ((3,), ["cp3"], ["any"]),
            ((3,), None, ["any"]),
            ((3, 11), ["abi3", "none", "cp311"], ["linux_x86_64"]),
            ((3, 10), [], ["a", "b"]),
            ((3, 11), ["cp311"], ["macosx_11_0_arm64", "macosx_10_16_universal2"]),
            # abis=None: derived from this interpreter's config for the given version
            ((3, 11), None, ["linux_x86_64"]),
            ((3, 7), None, ["linux_x86_64"]),
            ((2, 7), None, ["linux_x86_64"]),
            ((3, 13), None, ["linux_x86_64"]),
            ((3, 11, 4), ["cp311"], ["linux_x86_64"]),
            ((3, 12), ("cp312",), ("win_amd64", "win32")),
            ((3, 11), ["cp311"], []),
        ],
    )
    def test_tags_equal_packaging(self, python_version, abis, platforms):
        ours = bootstrap.cpython_tags(python_version, abis, platforms)
        theirs = ptags.cpython_tags(python_version, abis, platforms)
        assert strs(ours) == strs(theirs)

    def test_default_platforms_are_this_machines(self):
        ours = bootstrap.cpython_tags((3, 9), ["cp39"])
        assert strs(ours) == strs(ptags.cpython_tags((3, 9), ["cp39"]))

    def test_duplicate_explicit_abis_are_removed_once(self):
        # packaging removes "abi3"/"none" from the given abis once (list.remove), not every copy
        args = ((3, 11), ["cp311", "abi3", "abi3", "none", "none"], ["linux_x86_64"])
        assert strs(bootstrap.cpython_tags(*args)) == strs(ptags.cpython_tags(*args))


class TestGenericTags:
    @pytest.mark.parametrize(
        "interpreter, abis, platforms",
        [
            ("pp310", ["pypy310_pp73"], ["manylinux_2_17_x86_64", "linux_x86_64"]),
            ("pp39", ["pypy39_pp73", "none"], ["win_amd64"]),
            ("graalpy311", ["graalpy311_native"], ["linux_x86_64"]),
            ("cp311", ["cp311"], ["linux_x86_64"]),
            ("ip27", [], ["any"]),
            ("cp311", ["none", "cp311"], ["any"]),
            (None, ["abi"], ["plat"]),
            (None, None, ["linux_x86_64"]),
            ("pp310", None, None),
            (None, None, None),
        ],
    )
    def test_tags_equal_packaging(self, interpreter, abis, platforms):
        ours = bootstrap.generic_tags(interpreter, abis, platforms)
        theirs = ptags.generic_tags(interpreter, abis, platforms)
        assert strs(ours) == strs(theirs)


class TestCompatibleTags:
    @pytest.mark.parametrize(
        "python_version, interpreter, platforms",
        [
            ((3, 8), "cp38", ["manylinux_2_17_x86_64", "linux_x86_64"]),
            ((3, 11), None, ["win_amd64"]),
            ((3, 10), "pp3", ["macosx_11_0_arm64"]),
            ((3,), None, ["any"]),
            ((3,), "cp3", ["linux_x86_64"]),
            ((2, 7), "cp27", ["linux_i686"]),
            ([3, 13], "cp313", ["a", "b", "c"]),
            ((3, 12), None, None),
            (None, "cp311", None),
            (None, None, None),
            ((3, 11, 4), "cp311", ["linux_x86_64"]),
            ((3, 9), "cp39", []),
        ],
    )
    def test_tags_equal_packaging(self, python_version, interpreter, platforms):
        ours = bootstrap.compatible_tags(python_version, interpreter, platforms)
        theirs = ptags.compatible_tags(python_version, interpreter, platforms)
        assert strs(ours) == strs(theirs)


MAC_VERSIONS = [
    (10, 0), (10, 3), (10, 4), (10, 5), (10, 6), (10, 7), (10, 9), (10, 15), (10, 16),
    (11, 0), (11, 3), (12, 0), (13, 4), (14, 2), (15, 0), (26, 0),
]
MAC_ARCHS = ["x86_64", "arm64", "i386", "ppc", "ppc64", "universal2", "intel", "universal"]


class TestMacPlatforms:
    @pytest.mark.parametrize("arch", MAC_ARCHS)
    @pytest.mark.parametrize("version", MAC_VERSIONS, ids=lambda v: "%d.%d" % v)
    def test_platforms_equal_packaging(self, version, arch):
        ours = list(bootstrap.mac_platforms(version, arch))
        assert ours == list(ptags.mac_platforms(version, arch))

    @pytest.mark.parametrize(
        "version, arch, first, present",
        [
            ((10, 15), "x86_64", "macosx_10_15_x86_64", "macosx_10_4_universal"),
            ((11, 0), "arm64", "macosx_11_0_arm64", "macosx_10_16_universal2"),
            ((14, 2), "x86_64", "macosx_14_0_x86_64", "macosx_10_9_universal2"),
        ],
    )
    def test_known_landmarks(self, version, arch, first, present):
        ours = list(bootstrap.mac_platforms(version, arch))
        assert ours[0] == first
        assert present in ours


class TestIosPlatforms:
    @pytest.mark.parametrize(
        "version, multiarch",
        [
            ((12, 0), "arm64_iphoneos"),
            ((13, 2), "arm64-iphonesimulator"),
            ((17, 4), "x86_64_iphonesimulator"),
            ((18, 0), "arm64_iphoneos"),
            ((11, 9), "arm64_iphoneos"),
            ((12, 9), "arm64_iphoneos"),
        ],
    )
    def test_platforms_equal_packaging(self, version, multiarch):
        ours = list(bootstrap.ios_platforms(version, multiarch))
        assert ours == list(ptags.ios_platforms(version, multiarch))


class TestAndroidPlatforms:
    @pytest.mark.parametrize(
        "api_level, abi",
        [
            (21, "arm64_v8a"),
            (16, "x86"),
            (15, "x86_64"),
            (34, "armeabi-v7a"),
            (24, "x86.64"),
        ],
    )
    def test_platforms_equal_packaging(self, api_level, abi):
        ours = list(bootstrap.android_platforms(api_level, abi))
        assert ours == list(ptags.android_platforms(api_level, abi))

    @pytest.mark.parametrize("kwargs", [{}, {"api_level": 21}, {"abi": "arm64_v8a"}])
    def test_off_android_arguments_are_required(self, kwargs):
        if platform.system() == "Android":
            pytest.skip("this is Android")
        with pytest.raises(TypeError):
            list(ptags.android_platforms(**kwargs))
        with pytest.raises(TypeError):
            list(bootstrap.android_platforms(**kwargs))


# -- simulated machines --------------------------------------------------------------------------
#
# A Machine names every fact the tag code reads. `libc` is ("glibc", "2.17"), ("musl", (1, 2))
# or (None, None); `elf` is (bits, little_endian, e_machine, e_flags) of the interpreter binary.

Machine = collections.namedtuple(
    "Machine",
    "system machine sys_platform platform version implementation config ext_suffixes "
    "libc is_32bit elf mac_ver ios_ver android_api multiarch expect",
)

EM_386, EM_ARM, EM_X86_64, EM_AARCH64, EM_PPC64, EM_S390 = 3, 40, 62, 183, 21, 22
ARM_HARD_FLOAT = 0x05000000 | 0x00000400

ELF_BY_ARCH = {
    "x86_64": (64, True, EM_X86_64, 0),
    "aarch64": (64, True, EM_AARCH64, 0),
    "i686": (32, True, EM_386, 0),
    "armv7l": (32, True, EM_ARM, ARM_HARD_FLOAT),
    "ppc64le": (64, True, EM_PPC64, 0),
    "s390x": (64, False, EM_S390, 0),
}
GNU_TRIPLET = {"x86_64": "x86_64", "aarch64": "aarch64", "i686": "i386", "armv7l": "arm",
               "ppc64le": "powerpc64le", "s390x": "s390x"}


def _nodot(version):
    return "%d%d" % tuple(version[:2])


def _cpython_config(version, triplet, debug=False, free_threaded=False):
    flags = ("t" if free_threaded else "") + ("d" if debug else "")
    return {
        "EXT_SUFFIX": ".cpython-%s%s-%s.so" % (_nodot(version), flags, triplet),
        "SOABI": "cpython-%s%s-%s" % (_nodot(version), flags, triplet),
        "Py_DEBUG": 1 if debug else 0,
        "Py_GIL_DISABLED": 1 if free_threaded else 0,
        "py_version_nodot": _nodot(version),
        "PYEMSCRIPTEN_PLATFORM_VERSION": None,
    }


def linux(arch, libc, version=(3, 11), debug=False, free_threaded=False, is_32bit=False,
          sys_arch=None, implementation="cpython", config=None, elf=None, expect=None):
    """A Linux machine; SYS_ARCH is what sysconfig.get_platform() says when it differs."""
    sys_arch = sys_arch or arch
    kind = "musl" if libc[0] == "musl" else "gnu"
    triplet = "%s-linux-%s" % (GNU_TRIPLET.get(arch, arch), kind)
    if arch == "armv7l":
        triplet += "eabihf"
    cfg = _cpython_config(version, triplet, debug, free_threaded)
    cfg.update(config or {})
    return Machine(
        system="Linux", machine=sys_arch, sys_platform="linux",
        platform="linux-" + sys_arch, version=version, implementation=implementation,
        config=cfg, ext_suffixes=[cfg["EXT_SUFFIX"], ".abi3.so", ".so"], libc=libc,
        is_32bit=is_32bit, elf=elf or ELF_BY_ARCH[arch], mac_ver=None, ios_ver=None,
        android_api=None, multiarch=triplet, expect=expect,
    )


def macos(release, arch, version=(3, 12), sys_platform_arch=None, is_32bit=False,
          implementation="cpython", config=None, expect=None):
    plat = sys_platform_arch or ("macosx-11.0-arm64" if arch == "arm64" else "macosx-10.9-x86_64")
    cfg = _cpython_config(version, "darwin")
    cfg.update(config or {})
    return Machine(
        system="Darwin", machine=arch, sys_platform="darwin", platform=plat, version=version,
        implementation=implementation, config=cfg, ext_suffixes=[cfg["EXT_SUFFIX"], ".abi3.so", ".so"],
        libc=(None, None), is_32bit=is_32bit, elf=None, mac_ver=(release, ("", "", ""), arch),
        ios_ver=None, android_api=None, multiarch="darwin", expect=expect,
    )


def windows(plat, machine, version=(3, 11), debug=False, is_32bit=False,
            implementation="cpython", config=None, expect=None):
    suffix = "%s.cp%s-%s.pyd" % ("_d" if debug else "", _nodot(version), plat.replace("-", "_"))
    cfg = {"EXT_SUFFIX": suffix, "SOABI": None, "Py_DEBUG": None, "Py_GIL_DISABLED": None,
           "py_version_nodot": _nodot(version), "PYEMSCRIPTEN_PLATFORM_VERSION": None}
    cfg.update(config or {})
    suffixes = [cfg["EXT_SUFFIX"], "_d.pyd" if debug else ".pyd"]
    return Machine(
        system="Windows", machine=machine, sys_platform="win32", platform=plat, version=version,
        implementation=implementation, config=cfg, ext_suffixes=suffixes, libc=(None, None),
        is_32bit=is_32bit, elf=None, mac_ver=None, ios_ver=None, android_api=None,
        multiarch=None, expect=expect,
    )


def pyodide(pyemscripten=None, version=(3, 12), expect=None):
    cfg = _cpython_config(version, "wasm32-emscripten")
    cfg["PYEMSCRIPTEN_PLATFORM_VERSION"] = pyemscripten
    return Machine(
        system="Emscripten", machine="wasm32", sys_platform="emscripten",
        platform="emscripten-3.1.58-wasm32", version=version, implementation="cpython",
        config=cfg, ext_suffixes=[cfg["EXT_SUFFIX"], ".abi3.so", ".so"], libc=(None, None),
        is_32bit=True, elf=None, mac_ver=None, ios_ver=None, android_api=None,
        multiarch="wasm32-emscripten", expect=expect,
    )


def ios(release, multiarch, version=(3, 13), expect=None):
    cfg = _cpython_config(version, multiarch.replace("_", "-"))
    return Machine(
        system="iOS", machine="arm64", sys_platform="ios",
        platform="ios-%s-%s" % (release, multiarch), version=version, implementation="cpython",
        config=cfg, ext_suffixes=[cfg["EXT_SUFFIX"], ".abi3.so", ".so"], libc=(None, None),
        is_32bit=False, elf=None, mac_ver=None, ios_ver=release, android_api=None,
        multiarch=multiarch, expect=expect,
    )


def android(api_level, abi, version=(3, 13), expect=None):
    cfg = _cpython_config(version, "linux-android")
    return Machine(
        system="Android", machine="aarch64", sys_platform="android",
        platform="android-%d-%s" % (api_level, abi), version=version, implementation="cpython",
        config=cfg, ext_suffixes=[cfg["EXT_SUFFIX"], ".abi3.so", ".so"], libc=(None, None),
        is_32bit=False, elf=None, mac_ver=None, ios_ver=None, android_api=api_level,
        multiarch="aarch64-linux-android", expect=expect,
    )


def pypy_config(version, platform_part):
    return {
        "EXT_SUFFIX": ".pypy%s-pp73-%s" % (_nodot(version), platform_part),
        "SOABI": "pypy%s-pp73" % _nodot(version),
        "Py_DEBUG": None,
        "py_version_nodot": _nodot(version),
    }


GLIBC = "glibc"
MUSL = "musl"

MACHINES = {
    # -- glibc Linux, old and new
    "glibc-2.5-x86_64": linux("x86_64", (GLIBC, "2.5"), version=(3, 8),
                              expect="manylinux1_x86_64"),
    "glibc-2.12-x86_64": linux("x86_64", (GLIBC, "2.12"), version=(3, 9),
                               expect="manylinux2010_x86_64"),
    "glibc-2.17-x86_64": linux("x86_64", (GLIBC, "2.17"), expect="manylinux2014_x86_64"),
    "glibc-2.5-i686": linux("i686", (GLIBC, "2.5"), version=(3, 8), is_32bit=True,
                            expect="manylinux1_i686"),
    "glibc-2.12-i686": linux("i686", (GLIBC, "2.12"), is_32bit=True,
                             expect="manylinux2010_i686"),
    "glibc-2.17-i686-on-x86_64-kernel": linux("i686", (GLIBC, "2.17"), is_32bit=True,
                                              sys_arch="x86_64", expect="manylinux2014_i686"),
    "glibc-2.39-aarch64": linux("aarch64", (GLIBC, "2.39"), version=(3, 12),
                                expect="manylinux_2_39_aarch64"),
    "glibc-2.31-armv8l-32bit-on-aarch64": linux("armv7l", (GLIBC, "2.31"), is_32bit=True,
                                                sys_arch="aarch64",
                                                expect="manylinux_2_31_armv7l"),
    "glibc-2.28-armv7l": linux("armv7l", (GLIBC, "2.28"), is_32bit=True,
                               expect="manylinux_2_28_armv7l"),
    "glibc-2.28-armv7l-soft-float": linux("armv7l", (GLIBC, "2.28"), is_32bit=True,
                                          elf=(32, True, EM_ARM, 0x05000000),
                                          expect="linux_armv7l"),
    "glibc-2.35-ppc64le": linux("ppc64le", (GLIBC, "2.35"), expect="manylinux_2_17_ppc64le"),
    "glibc-2.34-s390x": linux("s390x", (GLIBC, "2.34"), expect="manylinux2014_s390x"),
    "glibc-3.1-hypothetical": linux("x86_64", (GLIBC, "3.1"), expect="manylinux_2_50_x86_64"),
    "unknown-libc-x86_64": linux("x86_64", (None, None), expect="linux_x86_64"),
    "no-py_version_nodot": linux("x86_64", (GLIBC, "2.31"), version=(3, 10),
                                 config={"py_version_nodot": None},
                                 expect="manylinux_2_31_x86_64"),
    # -- musl Linux (PEP 656)
    "musl-1.1-x86_64": linux("x86_64", (MUSL, (1, 1)), expect="musllinux_1_1_x86_64"),
    "musl-1.2-x86_64": linux("x86_64", (MUSL, (1, 2)), version=(3, 12),
                             expect="musllinux_1_2_x86_64"),
    "musl-1.1-aarch64": linux("aarch64", (MUSL, (1, 1)), version=(3, 9),
                              expect="musllinux_1_1_aarch64"),
    "musl-1.2-aarch64": linux("aarch64", (MUSL, (1, 2)), expect="musllinux_1_2_aarch64"),
    # -- builds with other ABIs
    "free-threaded-3.13t": linux("x86_64", (GLIBC, "2.39"), version=(3, 13),
                                 free_threaded=True, expect="manylinux_2_39_x86_64"),
    "free-threaded-debug-3.13td": linux("aarch64", (GLIBC, "2.34"), version=(3, 13),
                                        free_threaded=True, debug=True,
                                        expect="manylinux_2_34_aarch64"),
    "debug-3.12d": linux("x86_64", (GLIBC, "2.36"), version=(3, 12), debug=True,
                         expect="manylinux_2_36_x86_64"),
    "debug-3.8d": linux("aarch64", (GLIBC, "2.28"), version=(3, 8), debug=True,
                        expect="manylinux_2_28_aarch64"),
    "pypy-3.10-linux": linux("x86_64", (GLIBC, "2.35"), version=(3, 10), implementation="pypy",
                             config=pypy_config((3, 10), "x86_64-linux-gnu.so"),
                             expect="manylinux_2_35_x86_64"),
    "pypy-3.9-musl": linux("aarch64", (MUSL, (1, 2)), version=(3, 9), implementation="pypy",
                           config=pypy_config((3, 9), "aarch64-linux-musl.so"),
                           expect="musllinux_1_2_aarch64"),
    "graalpy-3.11-linux": linux("x86_64", (GLIBC, "2.28"), implementation="graalpy",
                                config={"EXT_SUFFIX": ".graalpy-311-native-x86_64-linux.so",
                                        "SOABI": "graalpy-311-native-x86_64-linux",
                                        "Py_DEBUG": None},
                                expect="manylinux_2_28_x86_64"),
    "pypy-3.10-windows": windows("win-amd64", "AMD64", version=(3, 10), implementation="pypy",
                                 config=pypy_config((3, 10), "win_amd64.pyd"),
                                 expect="win_amd64"),
    "pypy-3.11-macos-arm64": macos("14.4", "arm64", version=(3, 11), implementation="pypy",
                                   config=pypy_config((3, 11), "darwin.so"),
                                   expect="macosx_14_0_arm64"),
    # -- macOS
    "macos-10.15-x86_64": macos("10.15.7", "x86_64", version=(3, 9),
                                expect="macosx_10_15_x86_64"),
    "macos-11-arm64": macos("11.7.10", "arm64", expect="macosx_11_0_arm64"),
    "macos-14-x86_64-universal2": macos("14.2.1", "x86_64", version=(3, 11),
                                        sys_platform_arch="macosx-10.9-universal2",
                                        expect="macosx_10_9_universal2"),
    "macos-14-arm64": macos("14.5", "arm64", version=(3, 13), expect="macosx_14_0_arm64"),
    "macos-10.6-32bit": macos("10.6.8", "x86_64", version=(3, 8), is_32bit=True,
                              sys_platform_arch="macosx-10.6-intel",
                              expect="macosx_10_6_i386"),
    # -- Windows
    "windows-win_amd64": windows("win-amd64", "AMD64", expect="win_amd64"),
    "windows-win32": windows("win32", "x86", version=(3, 8), is_32bit=True, expect="win32"),
    "windows-win_arm64": windows("win-arm64", "ARM64", version=(3, 12), expect="win_arm64"),
    "windows-debug": windows("win-amd64", "AMD64", version=(3, 10), debug=True,
                             expect="win_amd64"),
    # -- Pyodide / emscripten
    "pyodide-3.12": pyodide(expect="emscripten_3_1_58_wasm32"),
    "pyodide-pyemscripten-2025_0": pyodide("2025_0", version=(3, 13),
                                           expect="pyemscripten_2025_0_wasm32"),
    # -- iOS and Android, as Python 3.13 reports them
    "ios-17.2-device": ios("17.2", "arm64_iphoneos", expect="ios_17_2_arm64_iphoneos"),
    "ios-13.0-simulator": ios("13.0", "x86_64_iphonesimulator",
                              expect="ios_12_9_x86_64_iphonesimulator"),
    "android-24-arm64": android(24, "arm64_v8a", expect="android_24_arm64_v8a"),
    "android-21-x86_64": android(21, "x86_64", expect="android_16_x86_64"),
}

MUSL_LOADER = """#!/bin/sh
echo "musl libc (%s)" >&2
echo "Version %d.%d.%d" >&2
echo "Dynamic Program Loader" >&2
echo "Usage: $0 [options] [--] pathname [args]" >&2
exit 1
"""


def write_elf(path, bits, little, e_machine, e_flags, interpreter=None):
    """A minimal ELF header (plus a PT_INTERP program header naming INTERPRETER)."""
    order = "<" if little else ">"
    ident = b"\x7fELF" + bytes([1 if bits == 32 else 2, 1 if little else 2, 1, 0]) + b"\0" * 8
    if bits == 32:
        e_fmt, ehsize, phentsize = order + "HHIIIIIHHHHHH", 52, 32
    else:
        e_fmt, ehsize, phentsize = order + "HHIQQQIHHHHHH", 64, 56
    phnum = 1 if interpreter else 0
    header = ident + struct.pack(e_fmt, 2, e_machine, 1, 0, ehsize if phnum else 0, 0, e_flags,
                                 ehsize, phentsize, phnum, 0, 0, 0)
    body = b""
    if interpreter:
        data = interpreter.encode() + b"\0"
        offset = ehsize + phentsize
        if bits == 32:  # p_type p_offset p_vaddr p_paddr p_filesz p_memsz p_flags p_align
            body = struct.pack(order + "IIIIIIII", 3, offset, 0, 0, len(data), len(data), 4, 1)
        else:  # p_type p_flags p_offset p_vaddr p_paddr p_filesz p_memsz p_align
            body = struct.pack(order + "IIQQQQQQ", 3, 4, offset, 0, 0, len(data), len(data), 1)
        body += data
    with open(path, "wb") as stream:
        stream.write(header + body)


def fake_interpreter(folder, machine):
    """Write a fake interpreter binary (and musl loader) for MACHINE; return its path."""
    bits, little, e_machine, e_flags = machine.elf
    loader = "/lib/ld-linux.so.2"
    if machine.libc[0] == MUSL:
        arch = machine.machine
        loader = os.path.join(str(folder), "ld-musl-%s.so.1" % arch)
        with open(loader, "w") as stream:
            stream.write(MUSL_LOADER % ((arch,) + tuple(machine.libc[1]) + (3,)))
        os.chmod(loader, os.stat(loader).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    path = os.path.join(str(folder), "python3")
    write_elf(path, bits, little, e_machine, e_flags, loader)
    return path


class _VersionInfo(collections.namedtuple("version_info",
                                          "major minor micro releaselevel serial")):
    pass


class _AndroidVer(collections.namedtuple("AndroidVer",
                                         "release api_level manufacturer model device is_emulator")):
    pass


def _simulate(m, machine, mode, folder):
    """Patch (through monkeypatch M) this process so that both libraries see MACHINE."""
    real_config = sysconfig.get_config_var

    def get_config_var(name):
        if name in machine.config:
            return machine.config[name]
        return real_config(name)

    m.setattr(platform, "system", lambda: machine.system)
    m.setattr(platform, "machine", lambda: machine.machine)
    m.setattr(platform, "mac_ver", lambda *a, **k: machine.mac_ver or ("", ("", "", ""), ""))
    if machine.ios_ver is not None:
        result = ("iOS", machine.ios_ver, "iPhone", machine.multiarch.endswith("simulator"))
        m.setattr(platform, "ios_ver", lambda *a, **k: result, raising=False)
    if machine.android_api is not None:
        result = _AndroidVer("14", machine.android_api, "Google", "Pixel", "pixel", False)
        m.setattr(platform, "android_ver", lambda *a, **k: result, raising=False)
    m.setattr(sysconfig, "get_platform", lambda: machine.platform)
    m.setattr(sysconfig, "get_config_var", get_config_var)
    m.setattr(sys, "platform", machine.sys_platform)
    m.setattr(importlib.machinery, "EXTENSION_SUFFIXES", list(machine.ext_suffixes))
    m.setattr(ptags, "EXTENSION_SUFFIXES", list(machine.ext_suffixes))
    implementation = types.SimpleNamespace(**vars(sys.implementation))
    implementation.name = machine.implementation
    if machine.multiarch:
        implementation._multiarch = machine.multiarch
    m.setattr(sys, "implementation", implementation)
    m.setattr(sys, "version_info", _VersionInfo(machine.version[0], machine.version[1], 0,
                                                "final", 0))
    # packaging computes its 32-bit flag once, at import: rebind the defaults that carry it
    m.setattr(ptags, "_32_BIT_INTERPRETER", machine.is_32bit)
    m.setattr(ptags._linux_platforms, "__defaults__", (machine.is_32bit,))
    m.setattr(ptags._mac_arch, "__defaults__", (machine.is_32bit,))

    kind, libc_version = machine.libc
    if mode == "machine":
        _simulate_machine_level(m, machine, folder)
    else:
        _simulate_helpers(m, machine)
    return kind, libc_version


def _simulate_machine_level(m, machine, folder):
    """The raw facts: os.confstr, dlopen, struct.calcsize("P") and the interpreter's ELF file."""
    real_confstr = getattr(os, "confstr", None)
    real_calcsize = struct.calcsize
    kind, libc_version = machine.libc

    def confstr(name):
        if name == "CS_GNU_LIBC_VERSION":
            if kind == GLIBC:
                return "glibc %s" % libc_version
            raise ValueError("unrecognized configuration name")
        return real_confstr(name)

    def no_dlopen(*args, **kwargs):
        raise OSError("simulated: dlopen(NULL) is not available")

    m.setattr(os, "confstr", confstr, raising=False)
    if kind != GLIBC:
        try:
            import ctypes
        except ImportError:  # no ctypes: neither library can dlopen anything
            pass
        else:
            m.setattr(ctypes, "CDLL", no_dlopen)
    m.setattr(struct, "calcsize",
              lambda fmt: (4 if machine.is_32bit else 8) if fmt == "P" else real_calcsize(fmt))
    if machine.elf is not None:
        m.setattr(sys, "executable", fake_interpreter(folder, machine))


def _simulate_helpers(m, machine):
    """The detection helpers named in API.md, and their packaging twins."""
    kind, libc_version = machine.libc
    if kind == GLIBC:
        glibc = tuple(int(part) for part in libc_version.split("."))
    else:
        glibc = (-1, -1)
    musl = tuple(libc_version) if kind == MUSL else None
    elf_ok = machine.elf is not None

    def packaging_abi(executable, archs):
        return elf_ok and (bool(set(archs) & {"armv7l", "i686"})
                           or any(a in _manylinux._ALLOWED_ARCHS for a in archs))

    def bootstrap_abi(executable, archs):
        return packaging_abi(executable, archs)

    m.setattr(_manylinux, "_get_glibc_version", lambda: _manylinux._GLibCVersion(*glibc))
    m.setattr(_musllinux, "_get_musl_version",
              lambda executable: None if musl is None else _musllinux._MuslVersion(*musl))
    m.setattr(_manylinux, "_have_compatible_abi", packaging_abi)
    m.setattr(bootstrap, "_detect_glibc_version", lambda: glibc)
    m.setattr(bootstrap, "_detect_musl_version", lambda executable: musl)
    m.setattr(bootstrap, "_detect_elf_abi", bootstrap_abi)
    m.setattr(bootstrap, "_is_32bit", lambda: machine.is_32bit)


def _collect(lib):
    return {
        "sys_tags": strs(lib.sys_tags()),
        "platform_tags": list(lib.platform_tags()),
        "interpreter_name": lib.interpreter_name(),
        "interpreter_version": lib.interpreter_version(),
    }


def _machine_params():
    params = []
    for name in sorted(MACHINES):
        machine = MACHINES[name]
        modes = ["machine", "helpers"] if machine.system == "Linux" else ["machine"]
        for mode in modes:
            params.append(pytest.param(name, mode, id="%s-%s" % (name, mode)))
    return params


@contextlib.contextmanager
def simulated(monkeypatch, machine, mode, folder):
    _clear_packaging_caches()
    try:
        with monkeypatch.context() as m:
            _simulate(m, machine, mode, folder)
            yield
    finally:
        _clear_packaging_caches()


class TestSimulatedMachine:
    @pytest.mark.parametrize("name, mode", _machine_params())
    def test_tags_equal_packaging(self, name, mode, monkeypatch, tmp_path):
        machine = MACHINES[name]
        with simulated(monkeypatch, machine, mode, tmp_path):
            theirs = _collect(ptags)
            ours = _collect(bootstrap)
        # the simulation itself must have taken: the oracle sees the machine described
        assert machine.expect in theirs["platform_tags"], theirs["platform_tags"][:10]
        assert ours["interpreter_name"] == theirs["interpreter_name"]
        assert ours["interpreter_version"] == theirs["interpreter_version"]
        assert ours["platform_tags"] == theirs["platform_tags"]
        assert ours["sys_tags"] == theirs["sys_tags"]

    @pytest.mark.parametrize(
        "name", sorted(n for n, m in MACHINES.items() if m.system == "Linux"))
    def test_detection_helpers_read_the_machine(self, name, monkeypatch, tmp_path):
        machine = MACHINES[name]
        with simulated(monkeypatch, machine, "machine", tmp_path):
            glibc = tuple(bootstrap._detect_glibc_version())
            musl = bootstrap._detect_musl_version(sys.executable)
            is_32bit = bootstrap._is_32bit()
            their_glibc = tuple(_manylinux._get_glibc_version())
            their_musl = _musllinux._get_musl_version(sys.executable)
        assert glibc == their_glibc
        assert (None if musl is None else tuple(musl)) == (
            None if their_musl is None else tuple(their_musl))
        assert is_32bit == machine.is_32bit


def _override_module(**attributes):
    module = types.ModuleType("_manylinux")
    for name, value in attributes.items():
        setattr(module, name, value)
    return module


MANYLINUX_OVERRIDES = {
    "pep600-upto-2.27": {"manylinux_compatible":
                         lambda major, minor, arch: (major, minor) <= (2, 27)},
    "pep600-undecided": {"manylinux_compatible": lambda major, minor, arch: None},
    "pep600-not-x86_64": {"manylinux_compatible":
                          lambda major, minor, arch: False if arch == "x86_64" else None},
    "legacy-no-manylinux1": {"manylinux1_compatible": False},
    "legacy-no-2010-2014": {"manylinux2010_compatible": False,
                            "manylinux2014_compatible": False},
    "legacy-all-true": {"manylinux1_compatible": True, "manylinux2010_compatible": True,
                        "manylinux2014_compatible": True},
    "empty-module": {},
}


class TestManylinuxOverride:
    """PEP 600: a distributor's `_manylinux` module may veto manylinux tags."""

    @pytest.mark.parametrize("override", sorted(MANYLINUX_OVERRIDES))
    @pytest.mark.parametrize("name", ["glibc-2.39-aarch64", "glibc-2.35-ppc64le",
                                      "glibc-2.5-x86_64", "glibc-2.17-i686-on-x86_64-kernel"])
    def test_tags_equal_packaging(self, name, override, monkeypatch, tmp_path):
        monkeypatch.setitem(sys.modules, "_manylinux",
                            _override_module(**MANYLINUX_OVERRIDES[override]))
        with simulated(monkeypatch, MACHINES[name], "machine", tmp_path):
            theirs = _collect(ptags)
            ours = _collect(bootstrap)
        assert ours == theirs


class TestUnparsableGlibc:
    @pytest.mark.parametrize("text", ["glibc 2", "glibc two.seventeen", "glibc"])
    def test_tags_equal_packaging(self, text, monkeypatch, tmp_path):
        machine = MACHINES["glibc-2.17-x86_64"]._replace(libc=(GLIBC, text.partition(" ")[2]))
        with simulated(monkeypatch, machine, "machine", tmp_path):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs = _collect(ptags)
                ours = _collect(bootstrap)
        assert ours == theirs


class TestSimulationIsUndone:
    def test_real_machine_is_back_after_a_simulation(self, monkeypatch, tmp_path):
        before = strs(ptags.sys_tags())
        with simulated(monkeypatch, MACHINES["musl-1.2-aarch64"], "machine", tmp_path):
            pass
        assert strs(ptags.sys_tags()) == before
        assert strs(bootstrap.sys_tags()) == before


# -- Pyodide's own platform: a documented deviation from packaging ------------------------------

def pyodide_abi_machine(abi, pyemscripten=None, version=(3, 12)):
    machine = pyodide(pyemscripten, version=version)
    config = dict(machine.config, PYODIDE_ABI_VERSION=abi)
    return machine._replace(config=config)


PYODIDE_MACHINES = {
    # (machine, the platform list packaging gives, with Pyodide's inserted by bootstrap)
    "pyodide-0.27": pyodide_abi_machine("2024_0"),
    "pyodide-0.29": pyodide_abi_machine("2025_0", "2025_0", version=(3, 13)),
    "pyodide-314": pyodide_abi_machine("2026_0", "2026_0", version=(3, 13)),
}


class TestPyodidePlatform:
    """bootstrap adds pyodide_<PYODIDE_ABI_VERSION>_wasm32 ahead of the generic emscripten
    platform, as pyodide-build does; everything else is packaging's list, element for element."""

    @pytest.mark.parametrize("name", sorted(PYODIDE_MACHINES))
    def test_tags_are_packagings_with_the_pyodide_platform(self, name, monkeypatch, tmp_path):
        machine = PYODIDE_MACHINES[name]
        abi = machine.config["PYODIDE_ABI_VERSION"]
        with simulated(monkeypatch, machine, "machine", tmp_path):
            theirs = list(ptags.platform_tags())
            generic = theirs.index(ptags._normalize_string(sysconfig.get_platform()))
            platforms = theirs[:generic] + ["pyodide_%s_wasm32" % abi] + theirs[generic:]
            interpreter = "cp" + ptags.interpreter_version()
            expected = strs(ptags.cpython_tags(platforms=platforms)) + strs(
                ptags.compatible_tags(interpreter=interpreter, platforms=platforms))
            ours_platforms = list(bootstrap.platform_tags())
            ours = strs(bootstrap.sys_tags())
        assert ours_platforms == platforms
        assert ours == expected
        assert len(ours) == len(set(ours))

    @pytest.mark.parametrize("wheel_tag", [
        "cp312-cp312-pyodide_2024_0_wasm32", "cp39-abi3-pyodide_2024_0_wasm32",
        "cp35-abi3-pyodide_2024_0_wasm32", "py3-none-pyodide_2024_0_wasm32",
        "cp312-cp312-emscripten_3_1_58_wasm32"])
    def test_pyodide_wheels_are_accepted(self, wheel_tag, monkeypatch, tmp_path):
        with simulated(monkeypatch, PYODIDE_MACHINES["pyodide-0.27"], "machine", tmp_path):
            ours = strs(bootstrap.sys_tags())
            theirs = strs(ptags.sys_tags())
        assert wheel_tag in ours
        if "pyodide_" in wheel_tag:  # the gap this deviation closes
            assert wheel_tag not in theirs

    def test_other_abi_is_rejected(self, monkeypatch, tmp_path):
        with simulated(monkeypatch, PYODIDE_MACHINES["pyodide-0.27"], "machine", tmp_path):
            ours = strs(bootstrap.sys_tags())
        assert not [t for t in ours if "pyodide_2025_0" in t]
