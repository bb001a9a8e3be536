"""bootstrap.Marker held against packaging.markers.Marker (packaging==26.2 is the oracle).

Behaviour is compared, never objects: which strings parse, str(), equality, and the outcome of
evaluate() - True, False, UndefinedComparison, or a missing environment name - for custom
environments and the three contexts 'metadata', 'lock_file' and 'requirement'.

A marker naming a key that the environment lacks makes packaging raise KeyError; bootstrap may
raise KeyError or its UndefinedEnvironmentName (the API contract names that class), and both
count as "undefined-name" here. Where packaging itself crashes while parsing (a SyntaxError
from ast.literal_eval on a quoted string holding a newline or a bad backslash escape) there is
no oracle: bootstrap may accept the marker or raise InvalidMarker, nothing else.
"""
import itertools

import pytest

import oracle

packaging = oracle.require()

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from packaging import markers as pm  # noqa: E402

import bootstrap  # noqa: E402

HYPOTHESIS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
CONTEXTS = ["metadata", "lock_file", "requirement"]

LINUX_311 = {
    "implementation_name": "cpython", "implementation_version": "3.11.7", "os_name": "posix",
    "platform_machine": "x86_64", "platform_release": "5.15.0-91-generic",
    "platform_system": "Linux",
    "platform_version": "#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023",
    "python_full_version": "3.11.7", "platform_python_implementation": "CPython",
    "python_version": "3.11", "sys_platform": "linux",
}
WINDOWS_38 = {
    "implementation_name": "cpython", "implementation_version": "3.8.10", "os_name": "nt",
    "platform_machine": "AMD64", "platform_release": "10", "platform_system": "Windows",
    "platform_version": "10.0.19045", "python_full_version": "3.8.10",
    "platform_python_implementation": "CPython", "python_version": "3.8", "sys_platform": "win32",
}
MAC_PYPY = {
    "implementation_name": "pypy", "implementation_version": "7.3.13", "os_name": "posix",
    "platform_machine": "arm64", "platform_release": "23.1.0", "platform_system": "Darwin",
    "platform_version": "Darwin Kernel Version 23.1.0: Mon Oct  9 21:27:24 PDT 2023",
    "python_full_version": "3.10.13", "platform_python_implementation": "PyPy",
    "python_version": "3.10", "sys_platform": "darwin",
}
DEV_BUILD = dict(
    LINUX_311, python_full_version="3.13.0+", implementation_version="3.13.0a2",
    python_version="3.13", platform_release="6.1",
)
ODD_VALUES = dict(
    WINDOWS_38, python_version="3.x", python_full_version="3.12.0b1", platform_release="",
    platform_machine="", implementation_version="nonsense",
)
ENVIRONMENTS = {
    "linux-3.11": LINUX_311, "windows-3.8": WINDOWS_38, "mac-pypy": MAC_PYPY,
    "dev-build": DEV_BUILD, "odd-values": ODD_VALUES,
}
# Overrides laid over an environment: the names that only some contexts provide.
EXTRA_OVERRIDES = {
    "none": {},
    "extra=test": {"extra": "test"},
    "extra=Foo_Bar": {"extra": "Foo_Bar"},
    "extra=empty": {"extra": ""},
    "extra=None": {"extra": None},
    "extras+groups": {"extras": {"foo", "Bar_Baz"}, "dependency_groups": frozenset({"dev"})},
    "everything": {
        "extra": "foo.bar", "extras": frozenset({"test", "foo-bar"}),
        "dependency_groups": {"Dev_Tools", "docs"},
    },
}

MARKERS = [
    # every PEP 508 variable, and the dotted / legacy aliases
    'python_version >= "3.8"', "python_version < '3.10'", 'python_full_version == "3.11.7"',
    'python_full_version >= "3.8.0rc1"', 'python_version == "3.*"', 'python_version != "3.8.*"',
    'python_full_version == "3.11.*"', 'os_name == "posix"', 'os.name == "nt"',
    'sys_platform == "linux"', 'sys.platform == "win32"', 'platform_machine == "x86_64"',
    'platform.machine in "x86_64 aarch64 arm64"', 'platform_release >= "5.0"',
    'platform_system == "Linux"', 'platform_version == "10.0.19045"',
    'platform.version == "10.0.19045"', 'platform_python_implementation == "CPython"',
    'platform.python_implementation == "PyPy"', 'python_implementation == "CPython"',
    'implementation_name == "cpython"', 'implementation_version >= "3.8"',
    'implementation_version < "7"',
    # 'in' / 'not in', on both sides
    'python_version in "3.8 3.9 3.10"', 'python_version not in "2.7 3.6"',
    '"3.1" in python_version', '"linux" in sys_platform', '"win" not in sys_platform',
    'platform_version in "Darwin Kernel"', '"Ubuntu" in platform_version',
    # version against string comparisons, invalid versions in version markers
    'python_version > "foo"', 'python_version ~= "foo"', 'python_version === "3.11"',
    'python_version ~= "3.8"', 'python_full_version ~= "3.11.0"', 'os_name ~= "posix"',
    'os_name === "posix"', 'os_name < "z"', 'os_name <= "posix"', 'os_name >= "posix"',
    'os_name > "a"', 'os_name != "posix"', 'platform_release ~= "5.15"',
    'platform_release >= "5.15"', 'platform_release == "10"', 'python_version >= "3.x"',
    'python_version == "3.8.*.*"', 'python_full_version == "3.13.0+local"',
    'python_full_version < "3.13"', '"3.8" < python_version', '"3.10" >= python_version',
    'implementation_version == "nonsense"', 'python_version == "3.11+local"',
    'python_version in "3.11"', 'python_version == " 3.11 "', 'python_version <= "3.11.0"',
    # extra, extras, dependency_groups and their normalization
    'extra == "test"', 'extra == "Foo_Bar"', '"Foo.Bar" == extra', 'extra != "foo-bar"',
    'extra in "foo-bar"', 'extra == ""', '"foo" in extras', '"Bar_Baz" in extras',
    '"test" not in extras', '"dev" in dependency_groups', '"Dev_Tools" not in dependency_groups',
    '"dev_tools" in dependency_groups', 'extra == "foo.bar" or extra == "test"',
    '(extra == "Foo_Bar")', 'os_name == "posix" and (extra == "Foo_Bar" or extra == "test")',
    '("Foo.Bar" == extra)',
    '"foo" == extras', '"foo" ~= extras',
    # and/or precedence and parentheses
    'os_name == "posix" or os_name == "nt" and python_version < "3"',
    '(os_name == "posix" or os_name == "nt") and python_version < "3"',
    'python_version >= "3" and (sys_platform == "win32" or sys_platform == "linux")',
    '((os_name == "posix"))', 'os_name == "nt" and python_version >= "3.8" or extra == "test"',
    'os_name == "nt" or python_version >= "3.8" and extra == "test"',
    '(os_name == "nt" or (python_version >= "3.8" and (extra == "test" or extra == "foo-bar")))',
    'os_name=="posix"and python_version>"3"', 'os_name == "posix"and(python_version>"3")',
    # whitespace and quoting
    '  os_name  ==  "posix"  ', 'os_name\t==\t"posix"', "os_name == 'posix'",
    "os_name == 'pos\"ix'", 'os_name == "pos\'ix"', 'os_name == "po\\u0073ix"',
    'os_name == ""', "os_name == '\"'", 'os_name ==  "posix" ',
    'os_name == "a\\\\b"', "os_name == 'a\\nb'", 'os_name == "\\x41"',
    'os_name == "\\N{LATIN SMALL LETTER A}"', 'python_version\xa0== "3"',
    'os_name == "posix" or(os_name == "nt")', 'os_name not\tin "posix"', 'os_name in"posix"',
    'os_name not in"posix"', 'extra == "\u017f"', "os_name == '''x'''",
    # packaging crashes (SyntaxError) on these: no oracle, bootstrap may accept or reject
    'os_name == "\\x"', 'os_name == "\\N"', 'os_name == "a\\"', 'os_name == "a\nb"',
    # oddities that parse: two variables, two strings
    "os_name == sys_platform", '"a" == "b"', 'extra == extra',
    # invalid
    "", " ", "os_name", "os_name ==", 'os_name = "posix"', "os_name == posix", 'foo == "bar"',
    'os_name == "posix" and', '(os_name == "posix"', 'os_name == "posix")',
    'os_name == "posix" xor os_name == "nt"', 'os_name not "posix"', 'os_name notin "posix"',
    'os_name == "posix" ;', "python_version >= 3.8", 'os_name == "unterminated',
    "os_name == 'a\"", 'OS_NAME == "posix"', 'os_name <> "posix"', 'os_name =~ "posix"',
    'os-name == "posix"', 'python_version > "3" and and os_name == "nt"', "()",
    'os_name in ()', 'os_name == "posix" or', 'and os_name == "posix"', 'os_name !== "posix"',
    'os_name == "posix" os_name == "nt"', 'os_name == "posix" AND os_name == "nt"',
    'os_name == "posix" && os_name == "nt"', 'os_namex == "posix"', 'extras_ == "a"',
    'python_version >= "3.8"; os_name == "nt"', 'os_name not  in "posix"', "os_name ==\n'posix'",
    'os.name.x == "posix"', 'platform_python.implementation == "x"', 'os_name == b"x"',
    "os_name == r'x'",
]


def _packaging_parses(text):
    try:
        pm.Marker(text)
    except (pm.InvalidMarker, SyntaxError):
        return False
    return True


VALID_MARKERS = [text for text in MARKERS if _packaging_parses(text)]

MARKER_PAIRS = [
    ('os.name == "posix"', "os_name == 'posix'"), ('extra == "Foo_Bar"', 'extra == "foo-bar"'),
    ('python_implementation == "CPython"', 'platform_python_implementation == "CPython"'),
    ('os_name == "posix"', '(os_name == "posix")'), ('os_name == "posix"', 'os_name != "posix"'),
    ('python_version >= "3.8"', 'python_version>="3.8"'), ('"a" in extras', '"A" in extras'),
]


def _parse_pair(text):
    try:
        mine = bootstrap.Marker(text)
    except bootstrap.InvalidMarker as exc:
        mine = exc
    try:
        theirs = pm.Marker(text)
    except (pm.InvalidMarker, SyntaxError) as exc:
        # SyntaxError: packaging's ast.literal_eval crashes on a quoted string that holds a
        # newline or a bad escape (no oracle for such input)
        theirs = exc
    return mine, theirs


def _assert_same_parse(text, mine, theirs):
    """Same accept/reject and str(); True when both accept (so evaluation can be compared)."""
    if isinstance(theirs, SyntaxError):  # packaging crashed: either outcome is fine
        return False
    if isinstance(theirs, Exception):
        assert isinstance(mine, bootstrap.InvalidMarker), (
            "packaging rejects %r but bootstrap accepts it as %r" % (text, str(mine))
        )
        assert isinstance(mine, ValueError)
        message = str(mine)
        assert repr(text) in message or text in message, message
        return False
    assert not isinstance(mine, Exception), (
        "packaging accepts %r as %r but bootstrap rejects it: %s" % (text, str(theirs), mine)
    )
    assert str(mine) == str(theirs)
    return True


def _outcome(marker, environment, context, undefined_comparison, undefined_name):
    try:
        if context is None:
            return marker.evaluate(environment)
        return marker.evaluate(environment, context=context)
    except undefined_comparison:
        return "undefined-comparison"
    except undefined_name:
        return "undefined-name"


def _mine(marker, environment, context):
    return _outcome(
        marker, environment, context, bootstrap.UndefinedComparison,
        (KeyError, bootstrap.UndefinedEnvironmentName),
    )


def _theirs(marker, environment, context):
    return _outcome(marker, environment, context, pm.UndefinedComparison, KeyError)


def _environment(name, override):
    if name is None:
        return dict(EXTRA_OVERRIDES[override]) if EXTRA_OVERRIDES[override] else None
    return dict(ENVIRONMENTS[name], **EXTRA_OVERRIDES[override])


def _assert_same_evaluation(text, mine, theirs, environment, context):
    # each library gets its own copy: evaluate() must not depend on the caller's dict surviving
    mine_env = dict(environment) if environment is not None else None
    their_env = dict(environment) if environment is not None else None
    assert _mine(mine, mine_env, context) == _theirs(theirs, their_env, context), (
        text, environment, context
    )


class TestParsing:
    @pytest.mark.parametrize("text", MARKERS)
    def test_parses_the_same(self, text):
        _assert_same_parse(text, *_parse_pair(text))

    @pytest.mark.parametrize("text", MARKERS)
    def test_str_round_trips(self, text):
        mine, theirs = _parse_pair(text)
        if _assert_same_parse(text, mine, theirs):
            # str() does not always re-parse (a quote inside a value): same outcome wanted
            _assert_same_parse(str(theirs), *_parse_pair(str(theirs)))

    @pytest.mark.parametrize("left, right", MARKER_PAIRS)
    def test_equality_the_same(self, left, right):
        mine = (bootstrap.Marker(left), bootstrap.Marker(right))
        theirs = (pm.Marker(left), pm.Marker(right))
        assert (mine[0] == mine[1]) == (theirs[0] == theirs[1])
        assert (mine[0] != mine[1]) == (theirs[0] != theirs[1])
        if mine[0] == mine[1]:
            assert hash(mine[0]) == hash(mine[1])

    def test_invalid_marker_is_a_value_error(self):
        assert issubclass(bootstrap.InvalidMarker, ValueError)
        assert issubclass(bootstrap.UndefinedComparison, ValueError)
        assert issubclass(bootstrap.UndefinedEnvironmentName, ValueError)


class TestEvaluate:
    @pytest.mark.parametrize("text", VALID_MARKERS)
    def test_evaluates_the_same(self, text):
        """Every environment x extra override x context, all disagreements listed at once."""
        mine, theirs = _parse_pair(text)
        assert not isinstance(mine, Exception), mine
        disagreements = []
        for environment, override, context in itertools.product(
            sorted(ENVIRONMENTS) + [None], sorted(EXTRA_OVERRIDES), CONTEXTS + [None]
        ):
            env = _environment(environment, override)
            mine_env = dict(env) if env is not None else None
            their_env = dict(env) if env is not None else None
            got, want = _mine(mine, mine_env, context), _theirs(theirs, their_env, context)
            if got != want:
                disagreements.append((environment, override, context, "bootstrap", got,
                                      "packaging", want))
        assert not disagreements

    def test_default_environment_the_same(self):
        assert bootstrap.default_environment() == pm.default_environment()

    @pytest.mark.parametrize("context", CONTEXTS)
    def test_environment_argument_is_not_modified(self, context):
        env = dict(LINUX_311, extra="Foo_Bar")
        before = dict(env)
        bootstrap.Marker('extra == "foo-bar" and os_name == "posix"').evaluate(env, context=context)
        assert env == before


class TestExtrasNormalization:
    @pytest.mark.parametrize("marker_extra", ["Foo_Bar", "foo-bar", "FOO.BAR", "foo__bar", "foo"])
    @pytest.mark.parametrize("env_extra", ["Foo_Bar", "foo-bar", "foo.bar", "FOO--BAR", "foo", ""])
    def test_extra_comparison_the_same(self, marker_extra, env_extra):
        text = 'extra == "%s"' % marker_extra
        mine, theirs = bootstrap.Marker(text), pm.Marker(text)
        assert str(mine) == str(theirs)
        for context in CONTEXTS:
            env = dict(LINUX_311, extra=env_extra)
            assert mine.evaluate(dict(env), context=context) == theirs.evaluate(
                dict(env), context=context
            )

    @pytest.mark.parametrize("name", ["Foo_Bar", "foo-bar", "foo.bar", "other"])
    @pytest.mark.parametrize("key", ["extras", "dependency_groups"])
    def test_set_membership_the_same(self, key, name):
        text = '"%s" in %s' % (name, key)
        mine, theirs = bootstrap.Marker(text), pm.Marker(text)
        for values in ({"FOO_BAR"}, frozenset(), {"foo-bar", "x"}, frozenset({"Foo.Bar"})):
            env = {key: values}
            assert mine.evaluate(dict(env), context="lock_file") == theirs.evaluate(
                dict(env), context="lock_file"
            ), (text, values)


# -- generated inputs --------------------------------------------------------------------------

def _mostly(good, bad, odds=8):
    """Draw from `good`, and about once in `odds` draws from `bad` (a near miss)."""
    flips = max(1, odds.bit_length() - 1)
    coins = st.lists(st.booleans(), min_size=flips, max_size=flips)
    return coins.flatmap(lambda heads: bad if all(heads) else good)


_VERSION_VARIABLES = ["python_version", "python_full_version", "implementation_version",
                      "platform_release"]
_STRING_VARIABLES = [
    "os_name", "os.name", "sys_platform", "sys.platform", "platform_machine", "platform.machine",
    "platform_system", "platform_version", "platform.version", "platform_python_implementation",
    "platform.python_implementation", "python_implementation", "implementation_name", "extra",
]
_SET_VARIABLES = ["extras", "dependency_groups"]
_VALUES = [
    "3", "3.8", "3.10", "3.11", "3.11.7", "3.13.0+local", "3.*", "3.11.*", "3.8.0rc1", "7.3",
    "5.15", "10", "foo", "3.x", "", "posix", "nt", "linux", "win32", "darwin", "x86_64",
    "AMD64", "arm64", "Linux", "Windows", "CPython", "PyPy", "cpython", "pypy", "test",
    "Foo_Bar", "foo-bar", "dev", "Dev_Tools", "3.8 3.9", "x86_64 arm64",
]
_OPERATORS = ["==", "!=", "<", "<=", ">", ">=", "~=", "===", "in", "not in"]


def _quoted(value):
    return st.sampled_from(['"%s"', "'%s'"]).map(lambda pattern: pattern % value)


_VALUE = st.sampled_from(_VALUES).flatmap(_quoted)
_SPACE = _mostly(st.sampled_from(["", " ", " ", "  "]), st.sampled_from(["\t", "\n"]), odds=16)


@st.composite
def _marker_item(draw):
    kind = draw(st.integers(0, 5))
    space = [draw(_SPACE) for _ in range(3)]
    if kind <= 1:  # a version variable, either side
        variable = draw(st.sampled_from(_VERSION_VARIABLES))
    elif kind <= 3:
        variable = draw(st.sampled_from(_STRING_VARIABLES))
    else:  # set-valued names only ever on the right, as PEP 751 uses them
        operator = draw(st.sampled_from(["in", "not in", "in", "not in", "=="]))
        return draw(_VALUE) + " " + operator + " " + draw(st.sampled_from(_SET_VARIABLES))
    operator = draw(_mostly(st.sampled_from(_OPERATORS), st.sampled_from(["=", "<>", "not", "is"])))
    if operator[0].isalpha() and not space[1]:
        space[1] = " "
    if operator[-1].isalpha() and not space[2]:
        space[2] = " "
    value = draw(_mostly(_VALUE, st.sampled_from(["3.8", "posix", '"unterminated', "os_name"])))
    if draw(st.booleans()):
        return space[0] + variable + space[1] + operator + space[2] + value
    return space[0] + value + space[1] + operator + space[2] + variable


def _combine(children):
    joiner = _mostly(st.sampled_from([" and ", " or "]), st.sampled_from(["and", " xor ", " "]))
    group = st.tuples(children, joiner, children).map(lambda parts: "".join(parts))
    return st.one_of(
        group,
        children.map(lambda inner: "(" + inner + ")"),
        _mostly(children, children.map(lambda inner: "(" + inner)),
    )


marker_strings = st.recursive(_marker_item(), _combine, max_leaves=6)
environments = st.tuples(
    st.sampled_from(sorted(ENVIRONMENTS)), st.sampled_from(sorted(EXTRA_OVERRIDES))
).map(lambda names: _environment(*names))


class TestGenerated:
    @HYPOTHESIS
    @given(marker_strings, environments, st.sampled_from(CONTEXTS))
    def test_same_parse_and_evaluation(self, text, environment, context):
        mine, theirs = _parse_pair(text)
        if not _assert_same_parse(text, mine, theirs):
            return
        _assert_same_evaluation(text, mine, theirs, environment, context)

    @settings(HYPOTHESIS, max_examples=200)
    @given(marker_strings, marker_strings)
    def test_same_str_round_trip_and_equality(self, left, right):
        mine = [_parse_pair(text)[0] for text in (left, right)]
        theirs = [_parse_pair(text)[1] for text in (left, right)]
        accepted = [_assert_same_parse(t, m, o) for t, m, o in zip((left, right), mine, theirs)]
        if not all(accepted):  # a rejected input: both rejected it (asserted above)
            return
        _assert_same_parse(str(theirs[0]), *_parse_pair(str(theirs[0])))
        assert (mine[0] == mine[1]) == (theirs[0] == theirs[1])
