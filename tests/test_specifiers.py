"""bootstrap.Specifier / SpecifierSet held against packaging.specifiers (packaging==26.2).

Behaviour is compared, never objects: which strings parse, str(), operator/version, the
prereleases property, contains() and `in` for every prereleases/installed setting, the lists
filter() keeps, and equality. Items are version strings, strings that are not versions, and
each library's own Version objects.
"""
import itertools

import pytest

import oracle

packaging = oracle.require()

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from packaging import specifiers as ps  # noqa: E402
from packaging import version as pv  # noqa: E402

import bootstrap  # noqa: E402

HYPOTHESIS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
PRERELEASES = [None, True, False]

SPECIFIERS = [
    # ~=
    "~=2.2", "~=2.2.0", "~=2.2.1", "~=1.4.5a4", "~=2.2.post3", "~= 2.2", "~=1!2.2", "~=2.2a1",
    "~=2.2.dev1", "~=2.2rc1.post1.dev1", "~=0.0", "~=2", "~=2.*", "~=2.2.*", "~=2.2+local",
    # == and == with a wildcard, local labels
    "==2.2", "==2.2.0", "==2.2.*", "==2.*", "==1!2.*", "== 2.2 ", "==2.2+local",
    "==2.2.0+local.1", "==2.2a1", "==2.2.post1", "==2.2.dev0", "==v2.2", "==2.2.0.0.0",
    "==2.2a1.*", "==2.2.*.*", "== 2.2 .*", "==*", "==2.2+local.*", "==0.*", "==2.2-1",
    # != and != with a wildcard
    "!=2.2", "!=2.2.*", "!=2.2+local", "!=2.*", "!=1!2.2", "!=2.2a1",
    # ordered comparisons
    "<2.2", "<2.2a1", "<2.2.dev0", "<=2.2", "<=2.2a1", ">2.2", ">2.2.post1", ">2.2a1",
    ">2.2.dev0", ">=2.2", ">=2.2.dev1", ">= 1.0", " >=1.0 ", ">=1!0.5", "<1!0", "<2.2.*",
    ">=2.2+local", "<=2.*", ">2.2+local", "<V2.2", ">=2.2RC1",
    # arbitrary equality
    "===2.2", "===foobar", "===2.2+ABC", "===2.2.0", "===", "=== ", "=== foobar",
    # plainly invalid
    "", "2.2", "=2.2", "=>2.2", ">=", ">=foo", ">=2.2,", "!=2.2,<3", "<>2.2", "==2.2 2.3",
    ">=2.2;", "==2.2.post1.*", "~=1.0.dev1", ">=1.0 ", "\t<=3\t", ">=\u20031.0", "=== a b",
    ">=2.2)", "(>=2.2)", ">=1.0 ; python_version", "==2.2.\u0661",
]

VERSIONS = [
    "0.9", "1.0", "1.0.0", "1.0a1", "1.0.dev1", "1.0.post1", "1.0+local", "1.0.post1+local",
    "1.1", "1.4.5a4", "1.4.5", "1.4.6", "1.5", "2.0", "2.1.9", "2.2", "2.2.0", "2.2a1",
    "2.2b1.dev0", "2.2rc1", "2.2.dev0", "2.2.dev1", "2.2.post1", "2.2.post1.dev1", "2.2.post3",
    "2.2+local", "2.2.0+local.1", "2.2a1+local", "2.2.1", "2.2.1a1", "2.3", "2.3.dev0", "2.10",
    "3.0", "3.0a1", "1!0.1", "1!2.2", "1!2.2.0", "1!3.0", "v2.2", "2.2.0.0", " 2.2 ",
    # not versions at all: only === (and empty sets) can keep them
    "foobar", "FOOBAR", "2.2+ABC", "not-a-version", "", "2.2-foo",
]


def _is_version(text):
    try:
        pv.Version(text)
    except pv.InvalidVersion:
        return False
    return True


VALID_VERSIONS = [v for v in VERSIONS if _is_version(v)]
POOLS = [
    VERSIONS,
    ["1.0a1", "2.2a1", "2.2rc1", "2.3.dev0", "3.0a1", "2.2a1+local"],
    ["2.2", "2.2a1", "2.3.dev0"],
    ["2.2.post1", "2.2.1a1", "foobar"],
    ["foobar", "1.0a1"],
    [],
]

SETS = [
    "", " ", ">=1.0", ">=1.0,<2.0", ">=1.0, <2.0", " >=1.0 , !=1.5 ,<2.0 ", "~=2.2,!=2.2.1",
    "==2.2.*,!=2.2.1", ">=1.0a1,<2.0", "<2.0,>=1.0.dev0", ">1.0,<1.0", "===foobar",
    "===2.2,>=2.0", ">=2.0,===2.2", "!=2.2.*", ",>=1.0", ">=1.0,,<2", ">=1.0,", "==1.0,==1.0",
    ">=1.0,>=1.0.0", "<3,>2.2.post1", "!=2.2a1", "<2.2", ">2.2a1,<2.3", "==2.2+local",
    "===2.2,===2.2.0", ">=2.2.dev0,<2.2.post1", "~=2.2a1,<3", "<=2.2,>=2.2", "==1!2.*",
    "==2.*,!=2.2.*,>=2.1", "===FOOBAR,===foobar",
    # invalid sets
    ">=1.0;<2", ">=1.0 <2.0", "foo", ">=1.0,bar", ">=1.0,,=2", "~=2", ">=1.0\n<2.0",
]

SPEC_PAIRS = [
    ("==2.2", "==2.2.0"), ("==2.2", "== 2.2"), ("~=2.2", "~=2.2.0"), ("==2.2.*", "==2.2.0.*"),
    ("==2.2+local", "==2.2+LOCAL"), (">=1.0", ">=1"), ("!=2.2", "==2.2"), ("===2.2", "===2.2.0"),
    ("===foo", "===FOO"), ("==v2.2", "==2.2"), (">=1!0", ">=1!0.0"), ("<2.2a1", "<2.2alpha1"),
]
SET_PAIRS = [
    (">=1.0,<2.0", "<2.0,>=1.0"), (">=1.0,<2.0", ">=1.0.0,<2"), ("", " "), (">=1.0", ">=1.0,>=1.0"),
    ("==1.0,==1.0", "==1.0"), ("~=2.2", "~=2.2.0"), (">=1.0", ">=1.0,<2"),
]


def _make(factory, error, spec, prereleases=None):
    try:
        return factory(spec, prereleases=prereleases)
    except error as exc:
        return exc


def _spec_pair(spec, prereleases=None):
    return (
        _make(bootstrap.Specifier, bootstrap.InvalidSpecifier, spec, prereleases),
        _make(ps.Specifier, ps.InvalidSpecifier, spec, prereleases),
    )


def _set_pair(spec, prereleases=None):
    return (
        _make(bootstrap.SpecifierSet, bootstrap.InvalidSpecifier, spec, prereleases),
        _make(ps.SpecifierSet, ps.InvalidSpecifier, spec, prereleases),
    )


def _names_input(message, spec):
    """The message names the input, or (for a set) the comma-separated item that is wrong."""
    candidates = [spec] + [item.strip() for item in spec.split(",") if item.strip()]
    return any(repr(c) in message or (c.strip() and c in message) for c in candidates)


def _assert_same_parse(spec, mine, theirs):
    if isinstance(theirs, Exception):
        assert isinstance(mine, bootstrap.InvalidSpecifier), (
            "packaging rejects %r but bootstrap accepts it as %r" % (spec, str(mine))
        )
        assert isinstance(mine, ValueError)
        assert _names_input(str(mine), spec), str(mine)
        return False
    assert not isinstance(mine, Exception), (
        "packaging accepts %r as %r but bootstrap rejects it: %s" % (spec, str(theirs), mine)
    )
    assert str(mine) == str(theirs)
    return True


def _items(pool, module):
    """The pool as given (strings), plus each valid entry as that library's Version."""
    version_class = bootstrap.Version if module == "bootstrap" else pv.Version
    return list(pool) + [version_class(v) for v in pool if v in VALID_VERSIONS]


def _strs(items):
    return [str(item) for item in items]


def _assert_same_matching(mine, theirs, pool, prereleases):
    mine_items, their_items = _items(pool, "bootstrap"), _items(pool, "packaging")
    for mine_item, their_item in zip(mine_items, their_items):
        assert mine.contains(mine_item, prereleases=prereleases) == theirs.contains(
            their_item, prereleases=prereleases
        ), (str(theirs), their_item, prereleases)
        if prereleases is None:
            assert (mine_item in mine) == (their_item in theirs), (str(theirs), their_item)
    assert _strs(mine.filter(pool, prereleases=prereleases)) == _strs(
        theirs.filter(pool, prereleases=prereleases)
    ), (str(theirs), pool, prereleases)
    assert _strs(mine.filter(mine_items, prereleases=prereleases)) == _strs(
        theirs.filter(their_items, prereleases=prereleases)
    ), (str(theirs), pool, prereleases)


class TestSpecifier:
    @pytest.mark.parametrize("spec", SPECIFIERS)
    def test_parses_the_same(self, spec):
        mine, theirs = _spec_pair(spec)
        if _assert_same_parse(spec, mine, theirs):
            assert mine.operator == theirs.operator
            assert mine.version == theirs.version
            assert mine.prereleases == theirs.prereleases

    @pytest.mark.parametrize("prereleases", PRERELEASES)
    @pytest.mark.parametrize("spec", SPECIFIERS)
    def test_prereleases_property_the_same(self, spec, prereleases):
        mine, theirs = _spec_pair(spec, prereleases)
        if _assert_same_parse(spec, mine, theirs):
            assert mine.prereleases == theirs.prereleases

    @pytest.mark.parametrize("constructed", PRERELEASES)
    @pytest.mark.parametrize("spec", SPECIFIERS)
    def test_contains_and_filter_the_same(self, spec, constructed):
        mine, theirs = _spec_pair(spec, constructed)
        if not _assert_same_parse(spec, mine, theirs):
            return
        for pool, prereleases in itertools.product(POOLS, PRERELEASES):
            _assert_same_matching(mine, theirs, pool, prereleases)

    @pytest.mark.parametrize("left, right", SPEC_PAIRS)
    def test_equality_the_same(self, left, right):
        mine = (bootstrap.Specifier(left), bootstrap.Specifier(right))
        theirs = (ps.Specifier(left), ps.Specifier(right))
        assert (mine[0] == mine[1]) == (theirs[0] == theirs[1])
        assert (mine[0] != mine[1]) == (theirs[0] != theirs[1])
        if mine[0] == mine[1]:
            assert hash(mine[0]) == hash(mine[1])

    @pytest.mark.parametrize("left, right", SPEC_PAIRS)
    def test_equality_with_a_string_the_same(self, left, right):
        assert (bootstrap.Specifier(left) == right) == (ps.Specifier(left) == right)

    def test_invalid_specifier_is_a_value_error(self):
        assert issubclass(bootstrap.InvalidSpecifier, ValueError)
        with pytest.raises(ValueError):
            bootstrap.Specifier("=>1.0")


class TestSpecifierSet:
    @pytest.mark.parametrize("spec", SETS + SPECIFIERS)
    def test_parses_the_same(self, spec):
        mine, theirs = _set_pair(spec)
        # packaging's len() and iter() drop duplicates only once str()/==/hash() has run:
        # ask them first, on fresh objects
        fresh = None
        if not isinstance(theirs, Exception) and not isinstance(mine, Exception):
            fresh = ((len(mine), [str(s) for s in mine]), (len(theirs), [str(s) for s in theirs]))
        if _assert_same_parse(spec, mine, theirs):
            assert fresh[0] == fresh[1]
            assert mine.prereleases == theirs.prereleases

    @pytest.mark.parametrize("prereleases", PRERELEASES)
    @pytest.mark.parametrize("spec", SETS)
    def test_prereleases_property_the_same(self, spec, prereleases):
        mine, theirs = _set_pair(spec, prereleases)
        if _assert_same_parse(spec, mine, theirs):
            assert mine.prereleases == theirs.prereleases

    @pytest.mark.parametrize("constructed", PRERELEASES)
    @pytest.mark.parametrize("spec", SETS)
    def test_contains_and_filter_the_same(self, spec, constructed):
        mine, theirs = _set_pair(spec, constructed)
        if not _assert_same_parse(spec, mine, theirs):
            return
        for pool, prereleases in itertools.product(POOLS, PRERELEASES):
            _assert_same_matching(mine, theirs, pool, prereleases)

    @pytest.mark.parametrize("installed", [None, False, True])
    @pytest.mark.parametrize("constructed", PRERELEASES)
    @pytest.mark.parametrize("spec", SETS)
    def test_contains_installed_the_same(self, spec, constructed, installed):
        mine, theirs = _set_pair(spec, constructed)
        if not _assert_same_parse(spec, mine, theirs):
            return
        mine_items, their_items = _items(VERSIONS, "bootstrap"), _items(VERSIONS, "packaging")
        for prereleases in PRERELEASES:
            for mine_item, their_item in zip(mine_items, their_items):
                assert mine.contains(
                    mine_item, prereleases=prereleases, installed=installed
                ) == theirs.contains(their_item, prereleases=prereleases, installed=installed), (
                    spec, their_item, prereleases, installed
                )

    @pytest.mark.parametrize("left, right", SET_PAIRS + SPEC_PAIRS)
    def test_equality_the_same(self, left, right):
        mine = (bootstrap.SpecifierSet(left), bootstrap.SpecifierSet(right))
        theirs = (ps.SpecifierSet(left), ps.SpecifierSet(right))
        assert (mine[0] == mine[1]) == (theirs[0] == theirs[1])
        assert (mine[0] != mine[1]) == (theirs[0] != theirs[1])
        assert (mine[0] == right) == (theirs[0] == right)

    @pytest.mark.parametrize("spec", ["", ">=1.0", ">=1.0,<2.0,!=1.5"])
    def test_iterates_over_specifiers(self, spec):
        for item in bootstrap.SpecifierSet(spec):
            assert isinstance(item, bootstrap.Specifier)


# -- generated inputs --------------------------------------------------------------------------

def _mostly(good, bad, odds=8):
    """Draw from `good`, and about once in `odds` draws from `bad` (a near miss)."""
    flips = max(1, odds.bit_length() - 1)
    coins = st.lists(st.booleans(), min_size=flips, max_size=flips)
    return coins.flatmap(lambda heads: bad if all(heads) else good)


# Small numbers, so that generated specifiers and generated versions meet often.
_NUMBER = _mostly(st.integers(0, 3).map(str), st.sampled_from(["00", "10", "", "x"]), odds=16)
_RELEASE = st.lists(_NUMBER, min_size=1, max_size=3).map(".".join)
_SUFFIX = st.sampled_from([
    "", "", "", "", "a1", "a2", "b1", "rc1", ".dev0", ".dev1", ".post1", "-1", "a1.dev0",
    ".post1.dev0", "rc1.post1", "alpha1", "c1", "pre1", "_dev1", ".r1",
])
_LOCAL = _mostly(
    st.sampled_from(["", "", "", "+local", "+1", "+ABC.2"]), st.sampled_from(["+", "+a..b"])
)


@st.composite
def versions(draw):
    epoch = draw(st.sampled_from(["", "", "", "", "", "1!"]))
    return epoch + draw(_RELEASE) + draw(_SUFFIX) + draw(_LOCAL)


@st.composite
def specifier_strings(draw):
    operator = draw(_mostly(
        st.sampled_from(["~=", "==", "!=", "<", "<=", ">", ">=", "==="]),
        st.sampled_from(["=", "=>", "<>", "", "~", "!"]),
    ))
    space = draw(_mostly(st.sampled_from(["", "", " "]), st.sampled_from(["\t", "\n"])))
    version = draw(_mostly(versions(), st.sampled_from(["foobar", "", "*", "1.*.1"])))
    wildcard = draw(st.sampled_from(["", "", "", ".*"]))
    return operator + space + version + wildcard + draw(st.sampled_from(["", "", " "]))


_SET_SEPARATOR = _mostly(st.sampled_from([",", ", ", " ,"]), st.sampled_from([",,", " ", ";"]))
set_strings = st.lists(specifier_strings(), max_size=4).flatmap(
    lambda specs: _SET_SEPARATOR.map(lambda sep: sep.join(specs))
)
version_pools = st.lists(_mostly(versions(), st.sampled_from(["foobar", "", " 1.0 "])), max_size=8)


class TestGenerated:
    @HYPOTHESIS
    @given(specifier_strings(), st.sampled_from(PRERELEASES), version_pools,
           st.sampled_from(PRERELEASES))
    def test_specifier_the_same(self, spec, constructed, pool, prereleases):
        mine, theirs = _spec_pair(spec, constructed)
        if not _assert_same_parse(spec, mine, theirs):
            return
        assert (mine.operator, mine.version, mine.prereleases) == (
            theirs.operator, theirs.version, theirs.prereleases
        )
        for item in pool:
            assert mine.contains(item, prereleases=prereleases) == theirs.contains(
                item, prereleases=prereleases
            ), (spec, constructed, item, prereleases)
        assert _strs(mine.filter(pool, prereleases=prereleases)) == _strs(
            theirs.filter(pool, prereleases=prereleases)
        )

    @HYPOTHESIS
    @given(set_strings, st.sampled_from(PRERELEASES), version_pools, st.sampled_from(PRERELEASES),
           st.sampled_from([None, True]))
    def test_specifier_set_the_same(self, spec, constructed, pool, prereleases, installed):
        mine, theirs = _set_pair(spec, constructed)
        # packaging's len() drops duplicates only once str()/==/hash() has run: ask it first
        fresh_len = None
        if not isinstance(theirs, Exception) and not isinstance(mine, Exception):
            fresh_len = (len(mine), len(theirs))
        if not _assert_same_parse(spec, mine, theirs):
            return
        assert fresh_len[0] == fresh_len[1]
        assert mine.prereleases == theirs.prereleases
        for item in pool:
            assert mine.contains(item, prereleases=prereleases, installed=installed) == (
                theirs.contains(item, prereleases=prereleases, installed=installed)
            ), (spec, constructed, item, prereleases, installed)
        assert _strs(mine.filter(pool, prereleases=prereleases)) == _strs(
            theirs.filter(pool, prereleases=prereleases)
        )

    @HYPOTHESIS
    @given(st.lists(specifier_strings(), min_size=2, max_size=2))
    def test_equality_the_same(self, specs):
        mine = [_spec_pair(s)[0] for s in specs]
        theirs = [_spec_pair(s)[1] for s in specs]
        accepted = [_assert_same_parse(s, m, t) for s, m, t in zip(specs, mine, theirs)]
        if not all(accepted):  # a rejected input: both rejected it (asserted above)
            return
        assert (mine[0] == mine[1]) == (theirs[0] == theirs[1]), specs
        mine_sets = [bootstrap.SpecifierSet(s) for s in specs]
        their_sets = [ps.SpecifierSet(s) for s in specs]
        assert (mine_sets[0] == mine_sets[1]) == (their_sets[0] == their_sets[1]), specs
