"""bootstrap.Version held against packaging.version.Version (the newest packaging is the oracle).

Behaviour is compared, never objects: which strings parse, str(), every public property, the
six comparisons, hashes of equal versions and sort orders. bootstrap raises its InvalidVersion
exactly when packaging raises its own, and the message names the input.
"""
import itertools
import random
import sys

import pytest

import oracle

packaging = oracle.require()

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from packaging import version as pv  # noqa: E402

import bootstrap  # noqa: E402

HYPOTHESIS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

PROPERTIES = (
    "epoch", "release", "pre", "post", "dev", "local", "public", "base_version",
    "is_prerelease", "is_postrelease", "is_devrelease", "major", "minor", "micro",
)

VALID_SPELLINGS = [
    # release segments
    "0", "1", "1.0", "1.0.0", "01.02.03", "000", "1.0.0.0.0.0", "1.2.3.4.5.6.7.8.9.10", "2012.10",
    "99999999999999999999999", "1.99999999999999999999999999999", "0.0.0", "10.0.0",
    # pre-releases and their spellings
    "1.0a1", "1.0A1", "1.0alpha1", "1.0ALPHA1", "1.0.alpha.1", "1.0-alpha-1", "1.0_alpha_1",
    "1.0a", "1.0a0", "1.0b2", "1.0beta2", "1.0c1", "1.0C1", "1.0rc1", "1.0RC1", "1.0pre1",
    "1.0preview1", "1.0.rc.1", "1.0-rc1", "1.0.a1", "1.0c", "1.0rc", "1a1", "1.0a007",
    # post-releases, including the implicit '1.0-1'
    "1.0.post1", "1.0post1", "1.0-post1", "1.0_post_1", "1.0.post", "1.0post", "1.0rev1",
    "1.0r1", "1.0-r4", "1.0-1", "1.0-0", "1.0.post0", "1.0POST1", "1.0-rev", "1.0a1-1",
    "1.0rc1-1", "1.0.r",
    # dev releases
    "1.0.dev1", "1.0dev", "1.0dev1", "1.0-dev-1", "1.0.DEV1", "1.0_dev_1", "1.0.dev0",
    "1.0a1.dev1", "1.0.post1.dev1", "1.0a1.post2.dev3", "1.0-1.dev1", "1.0-dev", "1.0.0-dev-",
    "1.0.post-1", "1.0-post-",
    # epochs
    "1!1.0", "01!1.0", "0!1.0", "2!0", "100!1.0a1.post2.dev3+local.1",
    # local labels
    "1.0+local", "1.0+LOCAL.Ubuntu-1", "1.0+abc.5", "1.0+5", "1.0+1.2.3", "1.0+a_b-c.d",
    "1.0+0", "1.0+00", "1.0+007", "1.0+a.b.c.1.2.3", "1.0.0.post1.dev3+g1234abc",
    # 'v' prefix, surrounding whitespace, uppercase
    "v1.0", "V1.0", "v1!1.0", " 1.0 ", "\t1.0\n", "1.0\r", "\u20031.0\u2003", "\n\n1.0", "V1.0RC1",
    "\x1c1.0", "\xa01.0", "\x851.0", "1.0\x0b", "1.0\x0c", "\u30001.0",
]

INVALID_SPELLINGS = [
    "", " ", "\t", "1..2", ".1", "1.", "1.0.", "..", ".", "a", "v", "vv1.0", "v 1.0", "1.0+",
    "1.0+.a", "1.0+a..b", "1.0+a_", "1.0++1", "1.0+-a", "1.0-", "1.0--1", "1!", "!1.0", "1!2!3",
    "1.0a1a2", "1.0.post1.post2", "1.0dev1dev2", "1.0 a1", "1 .0", "1,0", "1.0/2", "1.*",
    "1.0.*", "*", "1.0-foo", "1.0foo", "-1.0", "+1.0", "1e3", "0x10", "1_0",
    "1.0_", "None", "1.0\n\n1.0", "1.0\x00", "1.0+\u00fc", "1.0+local version",
    "\u0661.\u0660", "\uff11.\uff10", "1.0a1b1", "1.0+a+b",
    "1.0.alpha.beta", "1.0a.1.", "1!v1.0", "1.0 dev", "1.0.dev.post1",
    "1.0.dev1.post1", "1.0.dev1a1",
    "\u200b1.0", "1.0.po\u017ft1", "1.0\u212a", "1.0.dev\u0661",
]

# Sorted ascending per PEP 440 (packaging's own test list), plus spellings equal to neighbours.
ORDERED = [
    "1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12", "1.0b1.dev456", "1.0b2",
    "1.0b2.post345.dev456", "1.0b2.post345", "1.0b2-346", "1.0c1.dev456", "1.0c1", "1.0rc2",
    "1.0c3", "1.0", "1.0.post456.dev34", "1.0.post456", "1.1.dev1", "1.2+123abc",
    "1.2+123abc456", "1.2+abc", "1.2+abc123", "1.2+abc123def", "1.2+1234.abc", "1.2+123456",
    "1.2.r32+123456", "1.2.rev33+123456", "1!1.0.dev456", "1!1.0a1", "1!1.0a2.dev456",
    "1!1.0a12.dev456", "1!1.0a12", "1!1.0b1.dev456", "1!1.0b2", "1!1.0b2.post345.dev456",
    "1!1.0b2.post345", "1!1.0b2-346", "1!1.0c1.dev456", "1!1.0c1", "1!1.0rc2", "1!1.0c3",
    "1!1.0", "1!1.0.post456.dev34", "1!1.0.post456", "1!1.1.dev1", "1!1.2+123abc",
    "1!1.2+123abc456", "1!1.2+abc", "1!1.2+abc123", "1!1.2+abc123def", "1!1.2+1234.abc",
    "1!1.2+123456", "1!1.2.r32+123456", "1!1.2.rev33+123456",
]
EQUAL_SPELLINGS = [
    "1", "1.0.0", "1.0.0.0", "0!1.0", "v1.0", "1.0+0", "1.0+00", "1.0+a.1", "1.0+a.b",
    "1.0+1.a", "1.0+a", "1.0+A", "1.0+a.1.0", "1.0+a-1", "1.0+a_1", "1.0alpha1", "1.0a01",
    "1.0-1", "1.0post1", "1.0.post1", "1.0r1", "1.0dev", "1.0.dev0", "0.9", "0.9.9999",
    "1.0.0a1", "1.0a1+local", "1.0a1.dev1+local", "1.0.post1+local", "2", "10", "1.10",
    "1.9", "1.0.1", "1.0.0.1",
]


def _both(text):
    """(bootstrap result, packaging result); each a Version or the InvalidVersion raised."""
    try:
        mine = bootstrap.Version(text)
    except bootstrap.InvalidVersion as exc:
        mine = exc
    try:
        theirs = pv.Version(text)
    except pv.InvalidVersion as exc:
        theirs = exc
    return mine, theirs


def _assert_same_version(text):
    mine, theirs = _both(text)
    if isinstance(theirs, Exception):
        assert isinstance(mine, bootstrap.InvalidVersion), (
            "packaging rejects %r but bootstrap accepts it as %r" % (text, str(mine))
        )
        assert isinstance(mine, ValueError)
        message = str(mine)
        assert repr(text) in message or (text and text in message), message
        return
    assert not isinstance(mine, Exception), (
        "packaging accepts %r as %r but bootstrap rejects it: %s" % (text, str(theirs), mine)
    )
    assert str(mine) == str(theirs)
    for name in PROPERTIES:
        assert getattr(mine, name) == getattr(theirs, name), (text, name)


def _compare_all(a, b):
    return (a < b, a <= b, a == b, a != b, a > b, a >= b)


class TestParsing:
    @pytest.mark.parametrize("text", VALID_SPELLINGS)
    def test_valid_spellings_match(self, text):
        assert not isinstance(_both(text)[1], Exception), "table entry is not valid for packaging"
        _assert_same_version(text)

    @pytest.mark.parametrize("text", INVALID_SPELLINGS)
    def test_invalid_spellings_match(self, text):
        assert isinstance(_both(text)[1], Exception), "table entry is valid for packaging"
        _assert_same_version(text)

    @pytest.mark.parametrize("text", ORDERED + EQUAL_SPELLINGS)
    def test_ordering_table_spellings_match(self, text):
        _assert_same_version(text)

    def test_invalid_version_is_a_value_error(self):
        with pytest.raises(ValueError):
            bootstrap.Version("not a version")
        assert issubclass(bootstrap.InvalidVersion, ValueError)

    def test_number_beyond_the_int_string_limit_raises_value_error(self):
        text = "1." + "9" * 5000
        if not hasattr(sys, "get_int_max_str_digits"):
            pytest.skip("this interpreter has no int/str conversion limit")
        with pytest.raises(ValueError):
            pv.Version(text)
        with pytest.raises(ValueError):
            bootstrap.Version(text)

    @pytest.mark.parametrize("text", ["1.0", "1.0a1", "1!2.0.post1.dev1+abc.1", "1.0+0"])
    def test_str_round_trips(self, text):
        assert str(bootstrap.Version(str(bootstrap.Version(text)))) == str(pv.Version(text))


class TestOrdering:
    def test_pep440_table_sorts_the_same(self):
        shuffled = ORDERED + EQUAL_SPELLINGS
        random.Random(440).shuffle(shuffled)
        mine = sorted(shuffled, key=bootstrap.Version)
        theirs = sorted(shuffled, key=pv.Version)
        assert mine == theirs

    def test_pep440_table_is_in_order(self):
        assert sorted(ORDERED, key=bootstrap.Version) == ORDERED

    def test_every_pair_compares_the_same(self):
        texts = ORDERED + EQUAL_SPELLINGS
        mine = [bootstrap.Version(t) for t in texts]
        theirs = [pv.Version(t) for t in texts]
        for i, j in itertools.product(range(len(texts)), repeat=2):
            assert _compare_all(mine[i], mine[j]) == _compare_all(theirs[i], theirs[j]), (
                texts[i], texts[j]
            )

    def test_equal_versions_hash_equal(self):
        texts = ORDERED + EQUAL_SPELLINGS
        versions = [bootstrap.Version(t) for t in texts]
        for a, b in itertools.product(versions, repeat=2):
            if a == b:
                assert hash(a) == hash(b), (str(a), str(b))

    def test_set_of_versions_collapses_the_same(self):
        texts = ORDERED + EQUAL_SPELLINGS
        assert len({bootstrap.Version(t) for t in texts}) == len({pv.Version(t) for t in texts})

    @pytest.mark.parametrize("other", ["1.0", 1, None, object()])
    def test_comparison_with_a_foreign_object(self, other):
        mine, theirs = bootstrap.Version("1.0"), pv.Version("1.0")
        assert (mine == other) == (theirs == other)
        assert (mine != other) == (theirs != other)


# -- generated inputs --------------------------------------------------------------------------

def _mostly(good, bad, odds=8):
    """Draw from `good`, and about once in `odds` draws from `bad` (a near miss).

    Coin flips rather than one_of(), whose branch choice leans towards the last branch.
    """
    flips = max(1, odds.bit_length() - 1)
    coins = st.lists(st.booleans(), min_size=flips, max_size=flips)
    return coins.flatmap(lambda heads: bad if all(heads) else good)


_SEPARATORS = _mostly(st.sampled_from(["", "", ".", "-", "_"]), st.sampled_from(["..", " ", "+"]))
_NUMBERS = _mostly(
    st.one_of(
        st.integers(0, 20).map(str),
        st.integers(0, 10 ** 25).map(str),
        st.integers(0, 99).map(lambda n: "0" + str(n)),
    ),
    st.sampled_from(["", "-1", "1a", "\u0661"]),
    odds=16,
)
_MAYBE_NUMBER = st.one_of(_NUMBERS, st.just(""))


def _segment(letters, misspelt):
    return st.tuples(
        _SEPARATORS, _mostly(st.sampled_from(letters), st.sampled_from(misspelt)), _SEPARATORS,
        _MAYBE_NUMBER,
    ).map("".join)


_RELEASE = st.lists(_NUMBERS, min_size=1, max_size=5).map(".".join)
_PRE = _segment(["a", "A", "alpha", "b", "beta", "BETA", "c", "rc", "RC", "pre", "preview"],
                ["alph", "gamma", "p"])
_POST = st.one_of(
    st.tuples(st.just("-"), _NUMBERS).map("".join),
    _segment(["post", "POST", "rev", "r"], ["pst", "ost", "rv"]),
)
_DEV = _segment(["dev", "DEV", "Dev"], ["de", "devel", "d"])
_LOCAL_PART = st.text(alphabet="abcxyzABC0123456789", min_size=1, max_size=6)
_LOCAL = _mostly(
    st.lists(_LOCAL_PART, min_size=1, max_size=4).flatmap(
        lambda parts: st.sampled_from([".", "-", "_"]).map(lambda sep: "+" + sep.join(parts))
    ),
    st.sampled_from(["+", "++a", "+a..b", "+a_", "+\u00fc", "+a b", "+.a"]),
)
_SPACE = _mostly(st.just(""), st.sampled_from([" ", "\t", "\n", "\u2003", "  ", "\r\n"]), odds=6)
_PREFIX = _mostly(st.sampled_from(["", "", "", "v", "V"]), st.sampled_from(["vv", "v ", "w"]))
_EPOCH_MARK = _mostly(st.just("!"), st.sampled_from(["!!", "?", ""]))


@st.composite
def version_strings(draw):
    """Version-like strings: mostly valid PEP 440 spellings, often with one near miss."""
    if draw(st.integers(0, 24)) == 0:
        return draw(st.text(alphabet="0123456789.!+-_abcdeprvtlos *", max_size=16))
    parts = [draw(_SPACE), draw(_PREFIX)]
    if draw(st.integers(0, 3)) == 0:
        parts.append(draw(_NUMBERS) + draw(_EPOCH_MARK))
    parts.append(draw(_RELEASE))
    for piece in (_PRE, _POST, _DEV, _LOCAL):
        if draw(st.integers(0, 2)) == 0:
            parts.append(draw(piece))
    parts.append(draw(_SPACE))
    return "".join(parts)


def _valid_texts():
    return st.lists(version_strings(), min_size=2, max_size=6).map(
        lambda texts: [t for t in texts if not isinstance(_both(t)[1], Exception)]
    )


class TestGenerated:
    @HYPOTHESIS
    @given(version_strings())
    def test_same_accept_reject_and_parts(self, text):
        _assert_same_version(text)

    @settings(HYPOTHESIS, max_examples=200)
    @given(_valid_texts(), st.randoms(use_true_random=False))
    def test_same_comparisons_and_sort_order(self, texts, rnd):
        mine = [bootstrap.Version(t) for t in texts]
        theirs = [pv.Version(t) for t in texts]
        for i, j in itertools.product(range(len(texts)), repeat=2):
            assert _compare_all(mine[i], mine[j]) == _compare_all(theirs[i], theirs[j]), (
                texts[i], texts[j]
            )
            if mine[i] == mine[j]:
                assert hash(mine[i]) == hash(mine[j])
        rnd.shuffle(texts)
        assert sorted(texts, key=bootstrap.Version) == sorted(texts, key=pv.Version)


class TestNonString:
    """packaging 26.3 raises InvalidVersion (a ValueError) for a non-string; 26.2 a TypeError."""

    @pytest.mark.parametrize("value", [1, 1.5, None, b"1.0"])
    def test_raises_the_same_kind(self, value):
        with pytest.raises(Exception) as theirs:
            pv.Version(value)
        with pytest.raises(Exception) as mine:
            bootstrap.Version(value)
        assert isinstance(mine.value, ValueError) == isinstance(theirs.value, ValueError)
        assert isinstance(mine.value, TypeError) == isinstance(theirs.value, TypeError)

