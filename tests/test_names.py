"""bootstrap's name helpers held against packaging.utils (the newest packaging is the oracle).

canonicalize_name, canonicalize_version, parse_wheel_filename (build tags, compressed tag
sets) and parse_sdist_filename. Results are compared as plain data: names, str() of versions,
build tags, the set of str() of tags. bootstrap raises InvalidWheelFilename /
InvalidSdistFilename exactly when packaging raises its own, and the message names the file.
"""
import pytest

import oracle

packaging = oracle.require()

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from packaging import tags as pt  # noqa: E402
from packaging import utils as pu  # noqa: E402
from packaging import version as pv  # noqa: E402

import bootstrap  # noqa: E402

HYPOTHESIS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

NAMES = [
    "Django", "oslo.concurrency", "requests", "Foo__Bar", "foo-_.bar", "FOO", "a-b", "a.-_b",
    "-leading", "trailing-", "", "-", "._-", "\u00c4\u00d6\u00dc", "\u0130stanbul", "Stra\u00dfe",
    "name with space", "a__b..c--d", "zope.interface", "ruamel.yaml.clib", "typing_extensions",
    "PyYAML", "Sphinx-RTD-Theme", "a", "1", "x--", "--x", "a_-_-_b",
    "\u017f", "\u212a",
]

VERSIONS = [
    "1.0.0", "1.4.0.0.0", "1.0.0a1", "0", "0.0", "0.0.0", "1!0.0.0", "1.0.0+local", "1.0.0.post0",
    "1.0.0.dev0", "1.10.0", "1.0.10", "100", "1.0", "2.0.0.0rc1", "foo bar baz", "1.0.0-1",
    "v1.0.0", " 1.0 ", "1.0+0.0", "1.0+LOCAL.0", "1.0a", "1.0-dev", "", "1..0", "1.0.*",
    "01.00.000", "1.0.0.0.1", "0!0.0",
]

WHEELS = [
    # valid, with and without build tags and compressed tag sets
    "foo-1.0-py3-none-any.whl", "Foo_Bar-1.0-py3-none-any.whl", "foo.bar-1.0-py3-none-any.whl",
    "foo-1.0-1-py3-none-any.whl", "foo-1.0-1abc-py3-none-any.whl", "foo-1.0-12_x-py3-none-any.whl",
    "foo-1.0-007-py3-none-any.whl", "foo-1.0-1.2-py3-none-any.whl",
    "foo-1.0-py2.py3-none-any.whl",
    "foo-1.0-cp38.cp39-abi3.none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "foo-1.0-CP38-ABI3-Linux_X86_64.whl", "foo-1.0.post1-py3-none-any.whl",
    "foo-1!1.0-py3-none-any.whl", "foo-1.0+local-py3-none-any.whl", "foo-v1.0-py3-none-any.whl",
    "foo-1.0-py3-none-.whl", "-1.0-py3-none-any.whl", "f\u00f6\u00f6-1.0-py3-none-any.whl",
    "foo-1.0-py3-none-macosx_10_9_x86_64.macosx_11_0_arm64.whl",
    "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "aiohttp-3.8.5-cp38-cp38-macosx_11_0_arm64.whl", "foo-1.0-py3.py2-none-any.whl",
    "foo-1.0-py3-none-any.any.whl", "foo-1.0-py3..py2-none-any.whl", "foo-1.0a1-py3-none-any.whl",
    "pywin32-306-cp312-cp312-win_amd64.whl", "foo-1.0-pp310-pypy310_pp73-win_amd64.whl",
    "foo-1.0-cp313-cp313t-musllinux_1_2_aarch64.whl",
    "foo-1.0-cp312-cp312-pyodide_2024_0_wasm32.whl", "Foo.Bar_Baz-1.0-py3-none-any.whl",
    "foo-1.0.0.0-py3-none-any.whl", "foo-1.0RC1-py3-none-any.whl",
    # invalid
    "foo-1.0-py3-none-any.WHL", "foo-1.0-py3-none-any.zip", "foo-1.0-py3-none-any",
    "foo-1.0-py3-none.whl", "foo-1.0-1-2-py3-none-any.whl", "foo__bar-1.0-py3-none-any.whl",
    "foo-bar-1.0-py3-none-any.whl", "foo-1.0-abc-py3-none-any.whl",
    "foo-notaversion-py3-none-any.whl", "foo bar-1.0-py3-none-any.whl",
    "foo-1.0--py3-none-any.whl", ".whl", "foo-1.0_1-py3-none-any.whl", "foo-1.0-py3-none-any.whl ",
    "foo!-1.0-py3-none-any.whl", "foo-1.0.*-py3-none-any.whl", "foo-1.0-\u0661-py3-none-any.whl",
    "foo+bar-1.0-py3-none-any.whl", "-----.whl", "foo--1.0-py3-none-any.whl",
    "foo-1..0-py3-none-any.whl", "foo-1.0-py3-none-any-extra.whl", "foo-1.0-py3-none-any.tar.gz",
    "foo-1.0-1\u017f-py3-none-any.whl", "foo\u0661-1.0-py3-none-any.whl",
    "foo-1.0-py3-none-ANY.whl", "foo_-1.0-py3-none-any.whl", "_-1.0-py3-none-any.whl",
    "foo-1.0-99999999999999999999999-py3-none-any.whl",
]

SDISTS = [
    "foo-1.0.tar.gz", "foo-1.0.zip", "Foo_Bar-1.0.tar.gz", "foo-bar-1.0.tar.gz",
    "foo.bar-2.0.post1.tar.gz", "-1.0.tar.gz", "foo-1.0-1.tar.gz", "foo-v1.0.tar.gz",
    "foo-1.0+local.zip", "foo-1!1.0.tar.gz", "foo bar-1.0.tar.gz", "foo__bar-1.0.tar.gz",
    "crcmod-1.7.tar.gz", "foo-1.0a1.zip",
    # invalid
    "foo-1.0.tar.bz2", "foo.tar.gz", "foo-.tar.gz", "foo-1.0.TAR.GZ", "foo-1.0.tgz",
    "foo-bar.tar.gz", "foo-1.0.whl", ".tar.gz", "foo-1..0.zip", "foo-1.0.tar", "foo_1.0.tar.gz",
    "foo-1.0 .tar.gz",
]


def _wheel(module, filename):
    if module == "bootstrap":
        parse, error = bootstrap.parse_wheel_filename, bootstrap.InvalidWheelFilename
    else:
        parse, error = pu.parse_wheel_filename, pu.InvalidWheelFilename
    try:
        name, version, build, tags = parse(filename)
    except error as exc:
        return exc
    return name, str(version), build, sorted(str(tag) for tag in tags)


def _sdist(module, filename):
    if module == "bootstrap":
        parse, error = bootstrap.parse_sdist_filename, bootstrap.InvalidSdistFilename
    else:
        parse, error = pu.parse_sdist_filename, pu.InvalidSdistFilename
    try:
        name, version = parse(filename)
    except error as exc:
        return exc
    return name, str(version)


def _assert_same(filename, mine, theirs, error):
    if isinstance(theirs, Exception):
        assert isinstance(mine, error), (
            "packaging rejects %r but bootstrap accepts it as %r" % (filename, mine)
        )
        assert isinstance(mine, ValueError)
        # the file is named, with or without its extension (packaging drops '.whl')
        message = str(mine)
        stem = filename[:-4] if filename.endswith(".whl") else filename
        assert any(repr(text) in message for text in (filename, stem)) or any(
            text and text in message for text in (filename, stem)
        ), message
        return
    assert not isinstance(mine, Exception), (
        "packaging accepts %r as %r but bootstrap rejects it: %s" % (filename, theirs, mine)
    )
    assert mine == theirs


def _assert_same_wheel(filename):
    _assert_same(
        filename, _wheel("bootstrap", filename), _wheel("packaging", filename),
        bootstrap.InvalidWheelFilename,
    )


def _assert_same_sdist(filename):
    _assert_same(
        filename, _sdist("bootstrap", filename), _sdist("packaging", filename),
        bootstrap.InvalidSdistFilename,
    )


class TestCanonicalizeName:
    @pytest.mark.parametrize("name", NAMES)
    def test_same_result(self, name):
        assert bootstrap.canonicalize_name(name) == pu.canonicalize_name(name)

    @pytest.mark.parametrize("name", NAMES)
    def test_idempotent(self, name):
        once = bootstrap.canonicalize_name(name)
        assert bootstrap.canonicalize_name(once) == once


class TestCanonicalizeVersion:
    @pytest.mark.parametrize("strip", [True, False])
    @pytest.mark.parametrize("text", VERSIONS)
    def test_same_result_for_strings(self, text, strip):
        assert bootstrap.canonicalize_version(text, strip_trailing_zero=strip) == (
            pu.canonicalize_version(text, strip_trailing_zero=strip)
        )

    @pytest.mark.parametrize("text", VERSIONS)
    def test_default_strips_trailing_zeros(self, text):
        assert bootstrap.canonicalize_version(text) == pu.canonicalize_version(text)

    @pytest.mark.parametrize("strip", [True, False])
    @pytest.mark.parametrize("text", [v for v in VERSIONS if v.strip() and " " not in v.strip()])
    def test_same_result_for_version_objects(self, text, strip):
        try:
            theirs = pv.Version(text)
        except pv.InvalidVersion:
            return
        mine = bootstrap.Version(text)
        assert bootstrap.canonicalize_version(mine, strip_trailing_zero=strip) == (
            pu.canonicalize_version(theirs, strip_trailing_zero=strip)
        )


class TestParseWheelFilename:
    @pytest.mark.parametrize("filename", WHEELS)
    def test_same_result(self, filename):
        _assert_same_wheel(filename)

    @pytest.mark.parametrize("filename", [w for w in WHEELS if w.endswith("any.whl")][:6])
    def test_result_types(self, filename):
        name, version, build, tags = bootstrap.parse_wheel_filename(filename)
        assert isinstance(name, str)
        assert isinstance(version, bootstrap.Version)
        assert isinstance(build, tuple)
        assert isinstance(tags, frozenset)
        assert all(isinstance(tag, bootstrap.Tag) for tag in tags)

    @pytest.mark.parametrize("tag", [
        "py3-none-any", "py2.py3-none-any", "cp38.cp39-abi3.none-linux_x86_64.any",
        "CP311-CP311-MANYLINUX_2_17_X86_64", "py3-none-", "..-.-.",
    ])
    def test_parse_tag_same_result(self, tag):
        def triples(library):
            try:
                return sorted((t.interpreter, t.abi, t.platform) for t in library.parse_tag(tag))
            except ValueError as error:  # packaging 26.3+: InvalidTag, a ValueError
                return ("rejected", type(error).__name__, str(error))

        mine, theirs = triples(bootstrap), triples(pt)
        assert mine == theirs
        if mine[0] != "rejected":
            assert sorted(str(t) for t in bootstrap.parse_tag(tag)) == sorted(
                str(t) for t in pt.parse_tag(tag))


class TestParseSdistFilename:
    @pytest.mark.parametrize("filename", SDISTS)
    def test_same_result(self, filename):
        _assert_same_sdist(filename)


# Real file names: the pinned sdists of tests/real_wheels.json, names PyPI serves for old
# releases (zope.interface, MySQL-python, setuptools' .zip, Twisted's .tar.bz2 from before
# PEP 527), and archives that are no sdist (a libevent release, a bdist_dumb on PyPI).
UPLOADED = [
    ("crcmod-1.7.tar.gz", ("crcmod", "1.7")),
    ("jieba-0.42.1.tar.gz", ("jieba", "0.42.1")),
    ("zope.interface-3.8.0.tar.gz", ("zope-interface", "3.8.0")),
    ("MySQL-python-1.2.3.tar.gz", ("mysql-python", "1.2.3")),
    ("setuptools-34.0.0.zip", ("setuptools", "34.0.0")),
    ("Twisted-12.0.0.tar.bz2", ("twisted", "12.0.0")),
    ("Twisted-17.1.0.tar.bz2", ("twisted", "17.1.0")),
    ("libevent-2.0.16-stable.tar.gz", None),
    ("data-importer-3.1.1.linux-x86_64.tar.gz", None),
    ("bundle.tar.gz", None), ("-1.0.tar.gz", None), ("crcmod-1.7.tar", None),
]


class TestUploadedSdistNames:
    """Intake reads an upload's name with parse_sdist_filename itself (legacy suffixes read as
    .tar.gz): what packaging says of the same name, and None where it raises."""

    @pytest.mark.parametrize("filename,expected", UPLOADED)
    def test_real_names(self, filename, expected):
        found = bootstrap._parse_uploaded_sdist_filename(filename)
        assert (found and (found[0], str(found[1]))) == expected
        if filename.endswith((".tar.gz", ".zip")) and expected is not None:
            assert (expected[0], pv.Version(expected[1])) == pu.parse_sdist_filename(filename)

    @pytest.mark.parametrize("filename", [f for f in SDISTS if not f.endswith((".tgz", ".bz2"))])
    def test_packaging_decides_the_modern_suffixes(self, filename):
        found = bootstrap._parse_uploaded_sdist_filename(filename)
        theirs = _sdist("packaging", filename)
        if isinstance(theirs, Exception) or not theirs[0]:
            assert found is None
        else:
            assert (found[0], str(found[1])) == theirs


# -- generated inputs --------------------------------------------------------------------------

def _mostly(good, bad, odds=8):
    """Draw from `good`, and about once in `odds` draws from `bad` (a near miss)."""
    flips = max(1, odds.bit_length() - 1)
    coins = st.lists(st.booleans(), min_size=flips, max_size=flips)
    return coins.flatmap(lambda heads: bad if all(heads) else good)


_NAME = _mostly(
    st.text(alphabet="abcXYZ0189._", min_size=1, max_size=8),
    st.text(alphabet="abc-_. !\u00e9+", max_size=6),
)
_VERSION = _mostly(
    st.tuples(
        st.sampled_from(["", "", "", "1!", "v"]),
        st.lists(st.integers(0, 12).map(str), min_size=1, max_size=4).map(".".join),
        st.sampled_from(["", "", "a1", "rc2", ".post1", ".dev0", "+local.1", "+abc_1", "alpha"]),
    ).map("".join),
    st.sampled_from(["", "x", "1..0", "1.0.*", "1.0_1", "1.0+"]),
)
_BUILD = _mostly(
    st.sampled_from(["", "", "", "-1", "-12", "-1abc", "-007_x", "-1.2"]),
    st.sampled_from(["-abc", "--", "-"]),
)
_TAG_PART = st.lists(
    st.sampled_from(["py2", "py3", "cp38", "cp311", "pp310", "none", "abi3", "cp311t", "any",
                     "manylinux_2_17_x86_64", "manylinux2014_x86_64", "win_amd64",
                     "macosx_11_0_arm64", "Linux_X86_64", ""]),
    min_size=1, max_size=3,
).map(".".join)
_TAGS = _mostly(
    st.tuples(_TAG_PART, _TAG_PART, _TAG_PART).map("-".join),
    st.tuples(_TAG_PART, _TAG_PART).map("-".join),
)
_WHEEL_EXT = _mostly(st.just(".whl"), st.sampled_from([".WHL", ".zip", "", ".whl "]))
_SDIST_EXT = _mostly(st.sampled_from([".tar.gz", ".zip"]), st.sampled_from([".tgz", ".tar", ""]))


@st.composite
def wheel_filenames(draw):
    return (
        draw(_NAME) + "-" + draw(_VERSION) + draw(_BUILD) + "-" + draw(_TAGS) + draw(_WHEEL_EXT)
    )


@st.composite
def sdist_filenames(draw):
    separator = draw(_mostly(st.just("-"), st.sampled_from(["", "_", "--"])))
    return draw(_NAME) + separator + draw(_VERSION) + draw(_SDIST_EXT)


class TestGenerated:
    @HYPOTHESIS
    @given(st.one_of(_NAME, st.text(max_size=12)))
    def test_canonicalize_name_the_same(self, name):
        assert bootstrap.canonicalize_name(name) == pu.canonicalize_name(name)

    @HYPOTHESIS
    @given(_VERSION, st.booleans())
    def test_canonicalize_version_the_same(self, text, strip):
        assert bootstrap.canonicalize_version(text, strip_trailing_zero=strip) == (
            pu.canonicalize_version(text, strip_trailing_zero=strip)
        )

    @HYPOTHESIS
    @given(wheel_filenames())
    def test_parse_wheel_filename_the_same(self, filename):
        _assert_same_wheel(filename)

    @HYPOTHESIS
    @given(sdist_filenames())
    def test_parse_sdist_filename_the_same(self, filename):
        _assert_same_sdist(filename)
