"""bootstrap.Requirement held against packaging.requirements.Requirement (the newest packaging).

Behaviour is compared, never objects: which strings parse, the name, URL, extras, str() of
the specifier and marker, str() of the requirement, and what its marker evaluates to. Where
packaging crashes on a marker's quoted string (a SyntaxError from ast.literal_eval) there is
no oracle: bootstrap may accept or raise InvalidRequirement. Where packaging lets
InvalidSpecifier escape ('name===1,>=1.0+local'), bootstrap may raise either error.
"""
import re

import pytest

import oracle

packaging = oracle.require()

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from packaging import markers as pm  # noqa: E402
from packaging import requirements as pr  # noqa: E402
from packaging import specifiers as ps  # noqa: E402

import bootstrap  # noqa: E402

HYPOTHESIS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

REQUIREMENTS = [
    # names
    "name", "Name", "name_with_underscores", "name.with.dots", "name-1", "A", "a1", "1a",
    "Django", "zope.interface", "ruamel.yaml.clib", "  name  ", "\tname\t", "name-", "name.",
    "_name", "-name", "na me", "name!", "n\u00e4me", "name/other",
    # extras
    "name[extra]", "name[Extra_One, extra.two]", "name[ extra ]", "name[]", "name [extra]",
    "name[extra1,extra2,extra1]", "name[b,a]", "name[extra", "name[extra1 extra2]",
    "name[extra,]", "name[!]", "name[,extra]", "name[extra]]", "name[extra][other]",
    # specifiers, with and without parentheses
    "name>=1.0", "name >= 1.0", "name>=1.0,<2", "name>=1.0, <2 , !=1.5", "name (>=1.0, <2)",
    "name(>=1.0)", "name ( >=1.0 )", "name==1.0.*", "name===foo", "name~=1.4.5", "name!=1.5.*",
    "name==1.0+local", "name>=1.0+local", "name>=1.0.*", "name~=1", "name>=", "name >= 1.0 <2",
    "name (>=1.0", "name >=1.0)", "name>=1.0,", "name==1.0 extra", "name ()", "name()",
    "name<>1.0", "name=1.0", "name==1.0-1", "name==v1.0", "name>=1!2.0",
    # markers
    "name; os_name == 'nt'", "name ;os_name=='nt'", "name>=1.0; python_version<'3.8'",
    "name (>=1.0) ; python_version < '3.8'", "name[extra]>=1.0; extra == 'Foo_Bar'",
    "name; extra == 'Test_Extra' and python_version >= '3'",
    "name; (os_name == 'nt' or sys_platform == 'linux') and python_version >= '3'",
    "name; os.name == 'posix'", "name; python_implementation == 'CPython'",
    "name; '3.8' in python_version", "name; ", "name;", "name ; bad marker",
    "name ; os_name == 'nt' garbage", "name>=1.0;;", "name>=1.0 ;python_version>='3'   ",
    "name; extra == \"a\" or extra == 'B'", "name; os_name == \"po\\u0073ix\"",
    # URLs
    "name @ https://example.com/name-1.0.tar.gz", "name@https://example.com/x.whl",
    "name @ file:///tmp/x.whl ; python_version >= '3'", "name @ https://x.org/a;b",
    "name @ git+https://github.com/a/b.git@v1.0#egg=name",
    "name[extra] @ https://example.com/x.whl ; extra == 'Foo_Bar'",
    "name @ https://x.org/x.whl; python_version >= '3'", "name @ https://x.org/x.whl ",
    "name @ https://x.org/x.whl garbage", "name @", "name @ ", "@ https://x.org/x.whl",
    "name @ https://x.org/x.whl ; ", "name @ ./relative/path", "name @ x", "name@ x",
    "name >=1.0 @ https://x.org/x.whl", "name @ https://x.org/x.whl\t; os_name == 'nt'",
    "name @ https://user:pass@example.com/x.whl",
    "name[extra]@ https://x/y", "name @https://x/y", "name @ https://x/y;",
    "name[a]>=1 @ https://x", "name;python_version>'3'", "name (==1.0)os_name=='nt'",
    "name==1.0 ,>=0.5", "name>=1.0, ;os_name=='nt'", "name ===1.0 ;os_name=='nt'", "name===1.0)",
    "name (===1.0)", "Name[EXTRA]", "name\xa0>=1", "\u017f", "name[\u017f]",
    # plainly invalid
    "", " ", ">=1.0", "[extra]", "; os_name == 'nt'", "name\n>=1.0", "name>=1.0\n",
    # '===' takes everything up to whitespace, ';' or ')': packaging raises InvalidSpecifier
    "name===1,>=1.0+local", "name===1,<=1.0.*", "name===1,>=2", "name (===1,>=2)",
]

ENVIRONMENTS = [
    ({"extra": "foo-bar"}, "metadata"),
    ({"extra": "test-extra", "python_version": "3.7"}, "metadata"),
    ({"os_name": "nt", "sys_platform": "win32", "extra": "a"}, "requirement"),
    ({"python_version": "3.12", "extras": {"foo"}}, "lock_file"),
]


def _parse_pair(text):
    # packaging lets InvalidSpecifier escape when '===' swallows the rest of a specifier list
    # ('name===1,>=1.0+local'); bootstrap may raise either of its two errors there
    try:
        mine = bootstrap.Requirement(text)
    except (bootstrap.InvalidRequirement, bootstrap.InvalidSpecifier) as exc:
        mine = exc
    try:
        theirs = pr.Requirement(text)
    except (pr.InvalidRequirement, ps.InvalidSpecifier, SyntaxError) as exc:
        theirs = exc
    return mine, theirs


def _names_input(message, text):
    """The message names the input, or the comma/semicolon-separated part that is wrong."""
    parts = [text] + [part.strip() for part in re.split(r"[,;]", text) if part.strip()]
    return any(repr(part) in message or part in message for part in parts)


def _parts(requirement):
    return (
        requirement.name,
        requirement.url,
        sorted(requirement.extras),
        str(requirement.specifier),
        None if requirement.marker is None else str(requirement.marker),
        str(requirement),
    )


def _evaluate(marker, environment, context, undefined_comparison, undefined_name):
    if marker is None:
        return None
    try:
        return marker.evaluate(dict(environment), context=context)
    except undefined_comparison:
        return "undefined-comparison"
    except undefined_name:
        return "undefined-name"


def _assert_same(text, mine, theirs):
    """Same accept/reject and parts; True when both accept."""
    if isinstance(theirs, SyntaxError):  # packaging crashed: either outcome is fine
        return False
    if isinstance(theirs, Exception):
        assert isinstance(mine, Exception), (
            "packaging rejects %r but bootstrap accepts it as %r" % (text, str(mine))
        )
        if not isinstance(theirs, ps.InvalidSpecifier):
            assert isinstance(mine, bootstrap.InvalidRequirement), repr(mine)
        assert isinstance(mine, ValueError)
        assert _names_input(str(mine), text), str(mine)
        return False
    assert not isinstance(mine, Exception), (
        "packaging accepts %r as %r but bootstrap rejects it: %s" % (text, str(theirs), mine)
    )
    assert _parts(mine) == _parts(theirs)
    assert isinstance(mine.extras, set)
    assert isinstance(mine.specifier, bootstrap.SpecifierSet)
    assert mine.marker is None or isinstance(mine.marker, bootstrap.Marker)
    for environment, context in ENVIRONMENTS:
        assert _evaluate(
            mine.marker, environment, context, bootstrap.UndefinedComparison,
            (KeyError, bootstrap.UndefinedEnvironmentName),
        ) == _evaluate(theirs.marker, environment, context, pm.UndefinedComparison, KeyError), (
            text, environment, context
        )
    return True


class TestRequirement:
    @pytest.mark.parametrize("text", REQUIREMENTS)
    def test_parses_the_same(self, text):
        _assert_same(text, *_parse_pair(text))

    @pytest.mark.parametrize("text", REQUIREMENTS)
    def test_str_reparses_the_same(self, text):
        mine, theirs = _parse_pair(text)
        if _assert_same(text, mine, theirs):
            _assert_same(str(theirs), *_parse_pair(str(theirs)))

    @pytest.mark.parametrize("text", ["name>=1.0; python_version >= '3'", "name[a] @ https://x/y"])
    def test_specifier_set_of_a_requirement_works(self, text):
        mine, theirs = bootstrap.Requirement(text), pr.Requirement(text)
        for version in ["0.9", "1.0", "2.0a1", "3.0"]:
            assert mine.specifier.contains(version) == theirs.specifier.contains(version)

    def test_invalid_requirement_is_a_value_error(self):
        assert issubclass(bootstrap.InvalidRequirement, ValueError)
        with pytest.raises(ValueError):
            bootstrap.Requirement("name[")


# -- generated inputs --------------------------------------------------------------------------

def _mostly(good, bad, odds=8):
    """Draw from `good`, and about once in `odds` draws from `bad` (a near miss)."""
    flips = max(1, odds.bit_length() - 1)
    coins = st.lists(st.booleans(), min_size=flips, max_size=flips)
    return coins.flatmap(lambda heads: bad if all(heads) else good)


_NAME_CHARS = "abcXYZ019._-"
_NAME = _mostly(
    st.tuples(
        st.sampled_from("abcXYZ019"), st.text(alphabet=_NAME_CHARS, max_size=6),
        st.sampled_from("abcXYZ019"),
    ).map("".join) | st.sampled_from("aZ7"),
    st.sampled_from(["", "-a", "a b", "\u00e4", "a!", ".a"])
    | st.text(alphabet=_NAME_CHARS, max_size=4),
)
_SPACE = _mostly(st.sampled_from(["", "", " "]), st.sampled_from(["\t", "  ", "\n"]), odds=16)
_EXTRAS = st.lists(_NAME, max_size=3).flatmap(
    lambda names: _mostly(st.sampled_from([",", ", ", " ,"]), st.sampled_from([" ", ",,"])).map(
        lambda sep: "[" + sep.join(names) + "]"
    )
)
_SPECIFIER = st.tuples(
    _mostly(
        st.sampled_from(["==", ">=", "<", "!=", "~=", "===", "<=", ">"]),
        st.sampled_from(["=", "<>"]),
    ),
    _SPACE,
    st.sampled_from(["1", "1.0", "2.0.1", "1.0a1", "1.0.post1", "1!1.0", "1.0+local", "foo"]),
    st.sampled_from(["", "", "", ".*"]),
).map("".join)
_SPECIFIERS = st.lists(_SPECIFIER, min_size=1, max_size=3).flatmap(
    lambda specs: st.tuples(
        _mostly(st.sampled_from([",", ", "]), st.sampled_from([" ", ";"])), st.booleans()
    ).map(lambda opts: ("(%s)" if opts[1] else "%s") % opts[0].join(specs))
)
_URL = _mostly(
    st.sampled_from([
        "https://example.com/pkg-1.0.tar.gz", "file:///tmp/pkg.whl",
        "git+https://g.example/a.git@v1",
        "https://x.org/a;b", "./local", "https://u:p@x.org/p.whl#sha256=00",
    ]),
    st.sampled_from(["", "has space", "http://x.org/x.whl;"]),
)
_MARKER = st.sampled_from([
    "os_name == 'nt'", 'python_version >= "3.8"', "extra == 'Foo_Bar'",
    "python_version < '3.10' and sys_platform == 'linux'", "(os_name == 'nt' or extra == \"a\")",
    '"foo" in extras', "platform.machine == 'x86_64'", "python_version ~= 'foo'",
    "bad marker", "", "os_name == 'nt' and",
])


@st.composite
def requirement_strings(draw):
    parts = [draw(_SPACE), draw(_NAME), draw(_SPACE)]
    if draw(st.integers(0, 2)) == 0:
        parts.append(draw(_EXTRAS) + draw(_SPACE))
    kind = draw(st.integers(0, 2))
    if kind == 0:
        parts.append(draw(_SPECIFIERS) + draw(_SPACE))
    elif kind == 1:
        parts.append("@" + draw(_SPACE) + draw(_URL) + draw(st.sampled_from([" ", "", " "])))
    if draw(st.booleans()):
        parts.append(";" + draw(_SPACE) + draw(_MARKER) + draw(_SPACE))
    return "".join(parts)


class TestGenerated:
    @HYPOTHESIS
    @given(requirement_strings())
    def test_same_parse(self, text):
        mine, theirs = _parse_pair(text)
        if _assert_same(text, mine, theirs):
            _assert_same(str(theirs), *_parse_pair(str(theirs)))


class TestEquality:
    """packaging 26.3: extras compare normalized (PEP 685) and equal requirements hash equal."""

    @pytest.mark.parametrize("left, right", [
        ("a[Foo]", "a[foo]"), ("a[Foo_Bar]", "a[foo-bar]"), ("a==1.0", "a==1.0.0"),
        ("A[x]>=1", "a[X]>=1"), ("a[x]", "a[y]"), ("a>=1", "a>=2"),
    ])
    def test_equality_and_hash(self, left, right):
        mine = (bootstrap.Requirement(left), bootstrap.Requirement(right))
        theirs = (pr.Requirement(left), pr.Requirement(right))
        assert (mine[0] == mine[1]) == (theirs[0] == theirs[1])
        if mine[0] == mine[1]:
            assert hash(mine[0]) == hash(mine[1])

