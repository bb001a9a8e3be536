#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# In a notebook cell, exec(open(...).read()) runs this file in the caller's namespace, and so
# does IPython's `%run -i`: remember that namespace, so that the end of the file can give it
# back with one new name, `bootstrap`.
_CALLER_NAMESPACE = (
    dict(globals()) if __name__ == "__main__" and (
        __import__("sys")._getframe(0).f_code.co_filename.startswith("<")
        or "__file__" not in globals() or "get_ipython" in globals()) else None)

__doc__ = """bootstrap.py -- install Python packages into a sandbox that has no internet.

One file, standard library only, Python 3.8 to 3.14, and Pyodide (JupyterLite). Upload it with
a bundle of wheels and run it in any of these ways:

    python bootstrap.py inspect [--json] [-o FILE]   this interpreter's profile
    %run bootstrap.py bundle.tar.gz                  (IPython)
    exec(open('/mnt/data/bootstrap.py').read())      (a notebook cell)
    import bootstrap; bootstrap.inspect()            (a Python API returning plain data)

Exit codes: 0 ok; 1 something is missing or failed; 2 usage error or unreadable input.

Nothing outside the standard library is imported, and nothing here ever opens a network
connection. pip, when the sandbox has it, is only ever *run* (as a subprocess) for what only
pip can do: building an sdist.

Glossary (used the same way in code, reports and docs):

    Profile      an interpreter as data: marker environment, ordered wheel tags, paths,
                 installed distributions. Profile.current() or Profile.from_json().
    Tag          one (interpreter, abi, platform) triple of PEP 425; a profile's tags are
                 ordered best first and a wheel's rank is the position of its best tag.
    target tag   the one-line name of a profile (Profile.target_tag; the key "target" in
                 JSON, the target string of the bundle builder): its best tag (a native
                 linux_* tag, which names no libc, passed over), e.g.
                 cp311-cp311-manylinux_2_36_x86_64. A "target" alone is pip's --target
                 folder (install(target=...), Destination.target_dir), never a tag.
    WheelName    a parsed wheel file name (PEP 427).
    Wheel        a wheel file together with its METADATA.
    Bundle       the files a user uploaded, plus their manifest when there is one.
    Requirement  a PEP 508 dependency specifier.
    Plan         the outcome of resolution: what to install, what is already satisfied,
                 what is skipped.
    Problem      one thing that is wrong, with a stable code, its subject and a fix.
    Report       everything one command found, as JSON and as short text.

Project names are always canonicalized (PEP 503) before they are compared.
"""

# Map of sections (written by `python tools/sections.py --write`; see docs/one-file.md).
# A section uses only the sections above it, and a pure one only pure ones; a class, a
# function or a constant lives in the first section that needs it (tests/test_layering.py).
#        lines  layer  section
#       1-140    pure   1. Glossary, version gate and imports
#     141-205    pure   2. Errors
#     206-2319   pure   3. The standards: names, versions, specifiers, markers, requirements, tags, metadata
#    2320-2907   pure   4. Profile: the interpreter as data, and the wheels it takes
#    2908-3469   pure   5. Problems and reports: the model, the codes, the renderings
#    3470-4938   I/O    6. Intake: the bundle a user uploaded
#    4939-5317   I/O    7. Wheels and sdists
#    5318-6464   pure   8. Resolution
#    6465-6925   pure   9. Fixes
#    6926-7233   I/O    10. check: the dry run
#    7234-9096   I/O    11. Installation: source, validator, destination, journal
#    9097-9343   I/O    12. Environment modes
#    9344-10066  I/O    13. install: check, install, verify, report
#   10067-10836  I/O    14. Entry points: the command line, the API, notebooks, MCP
#   10837-10862  I/O    15. main
# End of the map.

# == 1. Glossary, version gate and imports (pure) =============================================
# -- Version gate -----------------------------------------------------------------------------
# Written in syntax that every Python since 2.7 parses, and so is the rest of this file (no
# f-strings, annotations, keyword-only arguments or `yield from`): an old interpreter compiles
# the whole file before it runs this gate, and must reach the gate to say why it stops.
import sys

if sys.version_info < (3, 8):
    _TOO_OLD = (
        "bootstrap.py needs Python 3.8 or newer, but this is Python %d.%d (%s); "
        "run it with python3.8 or later." % (sys.version_info[0], sys.version_info[1], sys.executable)
    )
    if __name__ == "__main__" and _CALLER_NAMESPACE is None:
        sys.stderr.write(_TOO_OLD + "\n")
        sys.exit(2)
    raise ImportError(_TOO_OLD)

# -- Imports ----------------------------------------------------------------------------------
import argparse
import collections
import functools
import importlib.machinery
import json
import os
import platform
import re
import struct
import sysconfig

# Modules that only some commands need (subprocess, shutil, zipfile, tarfile, hashlib, ...)
# are imported where they are used, so that `inspect` starts fast.

__version__ = "0.1.0"

# Which packaging release bootstrap.py mirrors: the newest one that supports the running Python
# (pip installs no other there). 26.3 dropped 3.8 and 26.4 dropped 3.9, so 3.8 keeps 26.2's
# behaviour, 3.9 gets 26.3's and 3.10+ 26.4's; each place that differs names the release.
# 26.3: native linux_* platforms before manylinux/musllinux; "fat3" for macOS's 32-bit fat
# binaries; abi3t never an explicit ABI of a free-threaded build; marker values quoted with
# whichever quote they lack; extra/extras/dependency_groups names normalized at every depth;
# a malformed quoted string or a trailing line break is an InvalidMarker/InvalidRequirement.
# 26.4: an explicitly empty platform list stays empty; the first CPython ABI or abi3t decides
# whether a build is free-threaded; `===` needs a version. Read from the real interpreter once.
_PACKAGING_26_3 = sys.version_info >= (3, 9)
_PACKAGING_26_4 = sys.version_info >= (3, 10)

PROFILE_SCHEMA = "sandbox-bootstrap.profile/1"
REPORT_SCHEMA = "sandbox-bootstrap.report/1"
BUNDLE_SCHEMA = "sandbox-bootstrap.bundle/1"

# -- Regular expressions, compiled on first use ------------------------------------------------
# Start-up matters (`inspect` should answer within 100 ms, interpreter included): a command
# compiles only the expressions it uses.


class _LazyRegex(object):
    """A regular expression compiled the first time it is used; its methods then bind
    directly, so later calls cost what a compiled pattern's do."""

    def __init__(self, pattern, flags=0):
        self._pattern = pattern
        self._flags = flags

    def __getattr__(self, name):
        compiled = re.compile(self._pattern, self._flags)
        for method in ("match", "fullmatch", "search", "sub", "split", "findall", "finditer"):
            setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)


# == 2. Errors (pure) =========================================================================
# -- Errors -----------------------------------------------------------------------------------
# One root exception with a stable code and a subject. The parse errors are also ValueErrors,
# as packaging's are, so code written against packaging catches them the same way.


class BootstrapError(Exception):
    """Something bootstrap cannot use, with a stable ``code`` (a row of the code table in
    "Problems and reports") and the ``subject`` it concerns. An error raised without a code of
    its own is bootstrap's own bug: `internal-error`."""

    code = "internal-error"

    def __init__(self, message, subject="", code=None):
        Exception.__init__(self, message)
        self.message = message
        self.subject = subject
        if code is not None:
            self.code = code

    def __str__(self):
        return self.message


def _coded_error(name, code, doc, bases=(BootstrapError, ValueError)):
    """A BootstrapError class with its code; by default also a ValueError, as packaging's
    parse errors are, so code written against packaging catches them the same way."""
    return type(name, bases, {"code": code, "__doc__": doc, "__module__": __name__})


# The errors of reading a string (and a profile), named and coded as the table below says.
(InvalidVersion, InvalidSpecifier, InvalidMarker, InvalidRequirement, InvalidWheelFilename,
 InvalidSdistFilename, InvalidTag, InvalidProfile, UsageError, ArchiveError,
 UnsafeMemberError) = [_coded_error(*row) for row in (
     ("InvalidVersion", "invalid-version", "A version that is not PEP 440."),
     ("InvalidSpecifier", "invalid-specifier", "A version specifier that is not PEP 440."),
     ("InvalidMarker", "invalid-marker", "An environment marker that is not PEP 508."),
     ("InvalidRequirement", "invalid-requirement", "A requirement that is not PEP 508."),
     ("InvalidWheelFilename", "invalid-wheel-filename", "A wheel file name that is not "
      "PEP 427's."),
     ("InvalidSdistFilename", "invalid-sdist-filename", "An sdist file name that is not "
      "PEP 625's (nor a legacy one)."),
     ("InvalidTag", "invalid-tag", "A tag string that is not three non-empty components "
      "(packaging 26.3's InvalidTag)."),
     ("InvalidProfile", "invalid-profile", "A profile that cannot be read."),
     ("UsageError", "usage", "A command, argument or option that cannot be used.",
      (BootstrapError,)),
     ("ArchiveError", "corrupt-archive", "An upload that cannot be read: truncated, corrupt, "
      "mislabelled, or a missing part.", (BootstrapError,)),
     ("UnsafeMemberError", "unsafe-archive-member", "An archive member that would write "
      "outside the work folder, or a decompression bomb.", (BootstrapError,)))]


class UndefinedComparison(ValueError):
    """A marker compares values that are not versions with an operator only versions have."""


class UndefinedEnvironmentName(KeyError, ValueError):
    """A marker names a variable that the environment does not define (a KeyError, as in
    packaging 26.3, and a ValueError, as bootstrap's errors of evaluation are)."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


# == 3. The standards: names, versions, specifiers, markers, requirements, tags, metadata (pure) ===
# -- Names (PEP 503) --------------------------------------------------------------------------


def canonicalize_name(name):
    """PEP 503 normal form of a project or extra name: lower case, runs of -_. become -."""
    value = name.lower().replace("_", "-").replace(".", "-")
    while "--" in value:
        value = value.replace("--", "-")
    return value


# -- Versions (PEP 440) -----------------------------------------------------------------------
# Version mirrors packaging.version.Version: the same grammar, normal form and ordering.
# Left out: the legacy (non-PEP 440) versions that packaging dropped too.

_VERSION_PATTERN = r"""
    v?
    (?a:
        (?:(?P<epoch>[0-9]+)!)?                           # epoch
        (?P<release>[0-9]+(?:\.[0-9]+)*)                  # release segment
        (?P<pre>                                          # pre-release
            [._-]?
            (?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)
            [._-]?
            (?P<pre_n>[0-9]+)?
        )?
        (?P<post>                                         # post release
            (?:-(?P<post_n1>[0-9]+))
            |
            (?:
                [._-]?
                (?P<post_l>post|rev|r)
                [._-]?
                (?P<post_n2>[0-9]+)?
            )
        )?
        (?P<dev>                                          # dev release
            [._-]?
            (?P<dev_l>dev)
            [._-]?
            (?P<dev_n>[0-9]+)?
        )?
    )
    (?a:\+
        (?P<local>                                        # local version
            [a-z0-9]+
            (?:[._-][a-z0-9]+)*
        )
    )?
"""
_VERSION_RE = _LazyRegex(r"\s*" + _VERSION_PATTERN + r"\s*", re.VERBOSE | re.IGNORECASE)
_SIMPLE_VERSION_CHARS = frozenset(".0123456789")
_LETTER_NORMALIZATION = {"alpha": "a", "beta": "b", "c": "rc", "pre": "rc", "preview": "rc",
                         "rev": "post", "r": "post"}
_LOCAL_SEPARATORS = _LazyRegex(r"[\._-]")
_PRE_RANK = {"a": 0, "b": 1, "rc": 2}
_STABLE_SUFFIX = (3, 0, 0, 0, 1, 0)


def _parse_letter_version(letter, number):
    if letter:
        letter = letter.lower()
        return _LETTER_NORMALIZATION.get(letter, letter), int(number or 0)
    if number:
        return "post", int(number)  # the implicit post release of "1.0-1"
    return None


def _parse_local_version(local):
    if local is None:
        return None
    return tuple(part.lower() if not part.isdigit() else int(part)
                 for part in _LOCAL_SEPARATORS.split(local))


def _version_key(epoch, release, pre, post, dev, local):
    """Sort key of PEP 440: trailing zeros ignored, dev < a < b < rc < final < post."""
    i = len(release)
    while i and release[i - 1] == 0:
        i -= 1
    trimmed = release[:i]
    if pre is None and post is None and dev is None and local is None:
        return epoch, trimmed, _STABLE_SUFFIX
    if pre is None and post is None and dev is not None:
        pre_rank, pre_n = -1, 0
    elif pre is None:
        pre_rank, pre_n = 3, 0
    else:
        pre_rank, pre_n = _PRE_RANK[pre[0]], pre[1]
    suffix = (pre_rank, pre_n,
              0 if post is None else 1, 0 if post is None else post[1],
              1 if dev is None else 0, 0 if dev is None else dev[1])
    if local is None:
        return epoch, trimmed, suffix
    return epoch, trimmed, suffix, tuple((seg, "") if isinstance(seg, int) else (-1, seg)
                                         for seg in local)


class Version(object):
    """A PEP 440 version, equal to packaging.version.Version in parsing, str() and order."""

    __slots__ = ("_epoch", "_release", "_pre", "_post", "_dev", "_local", "_key_cache")

    def __init__(self, version):
        if not isinstance(version, str) and _PACKAGING_26_3:
            raise InvalidVersion("Invalid version: %r" % (version,), str(version))
        if _SIMPLE_VERSION_CHARS.issuperset(version):
            parts = version.split(".")
            if "" in parts:
                raise InvalidVersion("Invalid version: %r" % (version,), version)
            self._set((0, tuple(int(p) for p in parts), None, None, None, None))
            return
        match = _VERSION_RE.fullmatch(version)
        if not match:
            raise InvalidVersion("Invalid version: %r" % (version,), version)
        self._set((
            int(match.group("epoch")) if match.group("epoch") else 0,
            tuple(int(p) for p in match.group("release").split(".")),
            _parse_letter_version(match.group("pre_l"), match.group("pre_n")),
            _parse_letter_version(match.group("post_l"),
                                  match.group("post_n1") or match.group("post_n2")),
            _parse_letter_version(match.group("dev_l"), match.group("dev_n")),
            _parse_local_version(match.group("local")),
        ))

    def _set(self, parts):
        self._epoch, self._release, self._pre, self._post, self._dev, self._local = parts
        self._key_cache = None

    @classmethod
    def _from_parts(cls, epoch, release, pre, post, dev, local):
        new = cls.__new__(cls)
        new._set((epoch, tuple(release), pre, post, dev, local))
        return new

    def replace(self, **changes):
        """A copy with some segments changed: epoch, release, pre, post, dev, local (tuples)."""
        parts = {"epoch": self._epoch, "release": self._release, "pre": self._pre,
                 "post": self._post, "dev": self._dev, "local": self._local}
        parts.update(changes)
        return Version._from_parts(parts["epoch"], parts["release"], parts["pre"],
                                   parts["post"], parts["dev"], parts["local"])

    @property
    def _key(self):
        if self._key_cache is None:
            self._key_cache = _version_key(self._epoch, self._release, self._pre, self._post,
                                           self._dev, self._local)
        return self._key_cache

    def __hash__(self):
        return hash(self._key)

    def __eq__(self, other):
        if not isinstance(other, Version):
            return NotImplemented
        return self._key == other._key

    def __ne__(self, other):
        if not isinstance(other, Version):
            return NotImplemented
        return self._key != other._key

    def __lt__(self, other):
        if not isinstance(other, Version):
            return NotImplemented
        return self._key < other._key

    def __le__(self, other):
        if not isinstance(other, Version):
            return NotImplemented
        return self._key <= other._key

    def __gt__(self, other):
        if not isinstance(other, Version):
            return NotImplemented
        return self._key > other._key

    def __ge__(self, other):
        if not isinstance(other, Version):
            return NotImplemented
        return self._key >= other._key

    def __repr__(self):
        return "<Version(%r)>" % (str(self),)

    def __str__(self):
        text = ".".join(str(x) for x in self._release)
        if self._epoch:
            text = "%d!%s" % (self._epoch, text)
        if self._pre is not None:
            text += "%s%d" % self._pre
        if self._post is not None:
            text += ".post%d" % self._post[1]
        if self._dev is not None:
            text += ".dev%d" % self._dev[1]
        if self._local is not None:
            text += "+" + ".".join(str(x) for x in self._local)
        return text

    @property
    def epoch(self):
        return self._epoch

    @property
    def release(self):
        return self._release

    @property
    def pre(self):
        return self._pre

    @property
    def post(self):
        return self._post[1] if self._post else None

    @property
    def dev(self):
        return self._dev[1] if self._dev else None

    @property
    def local(self):
        if self._local:
            return ".".join(str(x) for x in self._local)
        return None

    @property
    def public(self):
        return str(self).split("+", 1)[0]

    @property
    def base_version(self):
        release = ".".join(str(x) for x in self._release)
        return "%d!%s" % (self._epoch, release) if self._epoch else release

    @property
    def is_prerelease(self):
        return self._dev is not None or self._pre is not None

    @property
    def is_postrelease(self):
        return self._post is not None

    @property
    def is_devrelease(self):
        return self._dev is not None

    @property
    def major(self):
        return self._release[0] if len(self._release) >= 1 else 0

    @property
    def minor(self):
        return self._release[1] if len(self._release) >= 2 else 0

    @property
    def micro(self):
        return self._release[2] if len(self._release) >= 3 else 0


def canonicalize_version(version, strip_trailing_zero=True):
    """Normal form of a version string; trailing zeros of the release stripped by default.

    Text that is not a valid version is returned unchanged, as packaging does.
    """
    if not isinstance(version, Version):
        try:
            version = Version(version)
        except InvalidVersion:
            return str(version)
    if not strip_trailing_zero:
        return str(version)
    release = version.release
    i = len(release)
    while i > 1 and release[i - 1] == 0:
        i -= 1
    return str(version.replace(release=release[:i]))


def _coerce_version(version):
    if isinstance(version, Version):
        return version
    try:
        return Version(version)
    except InvalidVersion:
        return None


def _public_version(version):
    return version if version._local is None else version.replace(local=None)


# -- Specifiers (PEP 440) ---------------------------------------------------------------------
# Specifier and SpecifierSet mirror packaging.specifiers: the same operators, the same
# pre-release rules (a pre-release matches only when asked for, or when nothing else does).
# Left out: set algebra beyond `&` (intersection ranges, is_unsatisfiable).

# A version's optional parts as packaging's specifier grammar spells them; the operators'
# branches below repeat them, in ASCII-only groups (?a:...) where packaging has those.
_SPECIFIER_PARTS = {
    "pre": r"[-_\.]?(alpha|beta|preview|pre|a|b|c|rc)[-_\.]?[0-9]*",
    "post": r"(?:-[0-9]+)|(?:[-_\.]?(post|rev|r)[-_\.]?[0-9]*)",
    "dev": r"[-_\.]?dev[-_\.]?[0-9]*",
    "arbitrary_repeat": "+" if _PACKAGING_26_4 else "*"}
_SPECIFIER_PATTERN = r"""
    (?:
        (?:
            # === : an arbitrary string, compared as text (non-empty from packaging 26.4 on)
            === \s* [^\s;)]%(arbitrary_repeat)s
        )
        |
        (?:
            # == and != : may end in .* (prefix match) or carry a local label
            (?:==|!=) \s* v? (?:[0-9]+!)? [0-9]+(?:\.[0-9]+)*
            (?: \.\*
                | (?a:%(pre)s)? (?a:%(post)s)? (?a:%(dev)s)? (?a:\+[a-z0-9]+(?:[-_\.][a-z0-9]+)*)?
            )?
        )
        |
        (?:
            # ~= : at least two release segments
            (?:~=) \s* v? (?:[0-9]+!)? [0-9]+(?:\.[0-9]+)+ (?:%(pre)s)? (?:%(post)s)? (?:%(dev)s)?
        )
        |
        (?:
            # <= >= < > : no local label, no wildcard
            (?:<=|>=|<|>) \s* v? (?:[0-9]+!)? [0-9]+(?:\.[0-9]+)*
            (?a:%(pre)s)? (?a:%(post)s)? (?a:%(dev)s)?
        )
    )
""" % _SPECIFIER_PARTS
_SPECIFIER_RE = _LazyRegex(r"\s*" + _SPECIFIER_PATTERN + r"\s*", re.VERBOSE | re.IGNORECASE)
_PREFIX_SPLIT_RE = _LazyRegex(r"([0-9]+)((?:a|b|c|rc)[0-9]+)")


def _version_split(version):
    """Components of a normalised version for prefix matching: epoch, then each segment."""
    epoch, _, rest = version.rpartition("!")
    result = [epoch or "0"]
    for item in rest.split("."):
        match = _PREFIX_SPLIT_RE.fullmatch(item)
        if match:
            result.extend(match.groups())
        else:
            result.append(item)
    return result


def _numeric_prefix_len(split):
    count = 0
    for segment in split:
        if not segment.isdigit():
            break
        count += 1
    return count


def _left_pad(split, target_numeric_len):
    numeric_len = _numeric_prefix_len(split)
    pad_needed = target_numeric_len - numeric_len
    if pad_needed <= 0:
        return split
    return split[:numeric_len] + ["0"] * pad_needed + split[numeric_len:]


def _is_not_suffix(segment):
    return not any(segment.startswith(prefix) for prefix in ("dev", "a", "b", "rc", "post"))


class Specifier(object):
    """One version clause such as ``>=1.2`` or ``==3.*`` (packaging.specifiers.Specifier)."""

    __slots__ = ("_spec", "_prereleases", "_spec_version")

    def __init__(self, spec="", prereleases=None):
        if not _SPECIFIER_RE.fullmatch(spec):
            raise InvalidSpecifier("Invalid specifier: %r" % (spec,), spec)
        spec = spec.strip()
        if spec.startswith("==="):
            operator, version = spec[:3], spec[3:].strip()
        elif spec[:2] in ("~=", "==", "!=", "<=", ">="):
            operator, version = spec[:2], spec[2:].strip()
        else:
            operator, version = spec[:1], spec[1:].strip()
        self._spec = (operator, version)
        self._prereleases = prereleases
        self._spec_version = None

    @property
    def operator(self):
        return self._spec[0]

    @property
    def version(self):
        return self._spec[1]

    def _parsed(self):
        """The specifier's version as a Version (None for an arbitrary === string)."""
        if self._spec_version is None:
            self._spec_version = (_coerce_version(self._spec[1]),)
        return self._spec_version[0]

    @property
    def prereleases(self):
        if self._prereleases is not None:
            return self._prereleases
        operator, version = self._spec
        if operator == "!=":
            return False
        if operator == "==" and version.endswith(".*"):
            return False
        parsed = self._parsed()
        if parsed is None:
            return None
        return parsed.is_prerelease

    @prereleases.setter
    def prereleases(self, value):
        self._prereleases = value

    def __str__(self):
        return "%s%s" % self._spec

    def __repr__(self):
        pre = ", prereleases=%r" % (self.prereleases,) if self._prereleases is not None else ""
        return "<Specifier(%r%s)>" % (str(self), pre)

    def _canonical_spec(self):
        operator, version = self._spec
        if operator == "===" or version.endswith(".*"):
            return operator, version
        return operator, canonicalize_version(self._parsed(),
                                              strip_trailing_zero=(operator != "~="))

    def __hash__(self):
        return hash(self._canonical_spec())

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = Specifier(other)
            except InvalidSpecifier:
                return NotImplemented
        elif not isinstance(other, Specifier):
            return NotImplemented
        return self._canonical_spec() == other._canonical_spec()

    # The comparison of one candidate, per operator.

    def _matches(self, prospective, item):
        operator, spec = self._spec
        if operator == "===":
            return str(item).lower() == spec.lower()
        if operator == "==":
            return self._compare_equal(prospective, spec)
        if operator == "!=":
            return not self._compare_equal(prospective, spec)
        if operator == "~=":
            return self._compare_compatible(prospective, spec)
        if operator == "<=":
            return _public_version(prospective) <= self._parsed()
        if operator == ">=":
            return _public_version(prospective) >= self._parsed()
        if operator == "<":
            return self._compare_less_than(prospective)
        return self._compare_greater_than(prospective)

    def _compare_compatible(self, prospective, spec):
        # ~=2.2 is >=2.2 together with ==2.*, ignoring pre/post/dev suffixes of the spec.
        split = _version_split(spec)
        prefix_parts = []
        for part in split[1:]:
            if not _is_not_suffix(part):
                break
            prefix_parts.append(part)
        epoch = split[0]
        prefix = "%s!%s.*" % (epoch, ".".join(prefix_parts[:-1]))
        return (_public_version(prospective) >= self._parsed()
                and self._compare_equal(prospective, prefix))

    def _compare_equal(self, prospective, spec):
        if spec.endswith(".*"):
            split_spec = _version_split(canonicalize_version(spec[:-2], strip_trailing_zero=False))
            split_prospective = _version_split(
                canonicalize_version(_public_version(prospective), strip_trailing_zero=False))
            padded = _left_pad(split_prospective, _numeric_prefix_len(split_spec))
            return padded[:len(split_spec)] == split_spec
        spec_version = Version(spec)
        if not spec_version.local:
            prospective = _public_version(prospective)
        return prospective == spec_version

    def _compare_less_than(self, prospective):
        spec = self._parsed()
        if not prospective < spec:
            return False
        # <V does not match a pre-release of V unless V is itself a pre-release.
        if (not spec.is_prerelease and prospective.is_prerelease
                and prospective >= spec.replace(dev=("dev", 0), local=None)):
            return False
        return True

    def _compare_greater_than(self, prospective):
        spec = self._parsed()
        if not prospective > spec:
            return False
        # >V does not match a post-release of V unless V is itself a post-release.
        if (not spec.is_postrelease and prospective.is_postrelease
                and prospective.replace(post=None, dev=None, local=None) == spec):
            return False
        # ... nor a local version of V.
        if prospective.local is not None and _public_version(prospective) == spec:
            return False
        return True

    def _match_item(self, item):
        """(matches, parsed version or None) for one candidate, ignoring pre-release policy."""
        parsed = _coerce_version(item)
        if parsed is None:
            return self.operator == "===" and str(item).lower() == self.version.lower(), None
        return self._matches(parsed, item), parsed

    def filter(self, iterable, prereleases=None):
        include_prereleases = prereleases if prereleases is not None else self.prereleases
        held_back = []
        found_final = False
        for item in iterable:
            matches, parsed = self._match_item(item)
            if not matches:
                continue
            if parsed is None:
                yield item
            elif not parsed.is_prerelease or include_prereleases:
                found_final = True
                yield item
            elif prereleases is None and self._prereleases is not False:
                held_back.append(item)
        if not found_final and prereleases is None and self._prereleases is not False:
            for item in held_back:
                yield item

    def contains(self, item, prereleases=None):
        return bool(list(self.filter([item], prereleases=prereleases)))

    def __contains__(self, item):
        return self.contains(item)


def _pep440_filter_prereleases(iterable):
    """Finals (and arbitrary strings) when there are any; otherwise everything."""
    nonfinal = []
    arbitrary = []
    found_final = False
    for item in iterable:
        parsed = _coerce_version(item)
        if parsed is None:
            if found_final:
                yield item
            else:
                arbitrary.append(item)
                nonfinal.append(item)
        elif not parsed.is_prerelease:
            if not found_final:
                for held in arbitrary:
                    yield held
                found_final = True
            yield item
        elif not found_final:
            nonfinal.append(item)
    if not found_final:
        for item in nonfinal:
            yield item


class SpecifierSet(object):
    """A comma-separated set of specifiers, all of which must hold."""

    __slots__ = ("_specs", "_prereleases", "_has_arbitrary", "_canonicalized")

    def __init__(self, specifiers="", prereleases=None):
        if isinstance(specifiers, str):
            parts = [s.strip() for s in specifiers.split(",") if s.strip()]
            self._specs = tuple(Specifier(s) for s in parts)
            self._has_arbitrary = "===" in specifiers
        else:
            self._specs = tuple(specifiers)
            self._has_arbitrary = any("===" in str(s) for s in self._specs)
        self._canonicalized = len(self._specs) <= 1
        self._prereleases = prereleases

    @property
    def prereleases(self):
        if self._prereleases is not None:
            return self._prereleases
        if not self._specs:
            return None
        if any(s.prereleases for s in self._specs):
            return True
        return None

    @prereleases.setter
    def prereleases(self, value):
        self._prereleases = value

    def _canonical_specs(self):
        """Sorted and deduplicated specs; like packaging, this also becomes the set's own."""
        if not self._canonicalized:
            unique = []
            for spec in sorted(self._specs, key=str):
                if spec not in unique:
                    unique.append(spec)
            self._specs = tuple(unique)
            self._canonicalized = True
        return self._specs

    def __str__(self):
        return ",".join(str(s) for s in self._canonical_specs())

    def __repr__(self):
        pre = ", prereleases=%r" % (self.prereleases,) if self._prereleases is not None else ""
        return "<SpecifierSet(%r%s)>" % (str(self), pre)

    def __hash__(self):
        return hash(self._canonical_specs())

    def __eq__(self, other):
        if isinstance(other, (str, Specifier)):
            other = SpecifierSet(str(other))
        elif not isinstance(other, SpecifierSet):
            return NotImplemented
        return self._canonical_specs() == other._canonical_specs()

    def __and__(self, other):
        if isinstance(other, str):
            other = SpecifierSet(other)
        elif not isinstance(other, SpecifierSet):
            return NotImplemented
        if self._prereleases is None or self._prereleases == other._prereleases:
            prereleases = other._prereleases
        elif other._prereleases is None:
            prereleases = self._prereleases
        else:
            raise ValueError("Cannot combine SpecifierSets with True and False prerelease "
                             "overrides.")
        combined = SpecifierSet(self._specs + other._specs, prereleases=prereleases)
        combined._has_arbitrary = self._has_arbitrary or other._has_arbitrary
        return combined

    def __len__(self):
        return len(self._specs)

    def __iter__(self):
        return iter(self._specs)

    def __bool__(self):
        return bool(self._specs)

    def _matches_all(self, item):
        parsed = _coerce_version(item)
        if parsed is None:
            return (all(s.operator == "===" and str(item).lower() == s.version.lower()
                        for s in self._specs), None)
        for spec in self._specs:
            if not spec._matches(parsed, item):
                return False, parsed
        return True, parsed

    def filter(self, iterable, prereleases=None):
        if prereleases is None and self.prereleases is not None:
            prereleases = self.prereleases
        if self._specs:
            matching = []
            for item in iterable:
                matches, parsed = self._matches_all(item)
                if not matches:
                    continue
                if prereleases is False and parsed is not None and parsed.is_prerelease:
                    continue
                matching.append(item)
            if prereleases is not None:
                return iter(matching)
            return _pep440_filter_prereleases(matching)
        if prereleases is True:
            return iter(iterable)
        if prereleases is False:
            return (item for item in iterable
                    if _coerce_version(item) is None or not _coerce_version(item).is_prerelease)
        return _pep440_filter_prereleases(iterable)

    def contains(self, item, prereleases=None, installed=None):
        version = _coerce_version(item)
        if version is not None and installed and version.is_prerelease:
            prereleases = True
        if version is None or (self._has_arbitrary and not isinstance(item, Version)):
            check_item = item
        else:
            check_item = version
        return bool(list(self.filter([check_item], prereleases=prereleases)))

    def __contains__(self, item):
        return self.contains(item)


# -- Markers (PEP 508) ------------------------------------------------------------------------
# Marker mirrors packaging.markers.Marker: the same grammar (a context-sensitive tokenizer),
# version comparison for version-valued variables, PEP 685 extra normalisation, and the
# lock-file variables of PEP 751 (extras, dependency_groups).

_TOKEN_RULES = {
    "LEFT_PARENTHESIS": _LazyRegex(r"\("),
    "RIGHT_PARENTHESIS": _LazyRegex(r"\)"),
    "LEFT_BRACKET": _LazyRegex(r"\["),
    "RIGHT_BRACKET": _LazyRegex(r"\]"),
    "SEMICOLON": _LazyRegex(r";"),
    "COMMA": _LazyRegex(r","),
    "QUOTED_STRING": _LazyRegex(r"""(('[^']*')|("[^"]*"))"""),
    "OP": _LazyRegex(r"(===|==|~=|!=|<=|>=|<|>)"),
    "BOOLOP": _LazyRegex(r"\b(or|and)\b"),
    "IN": _LazyRegex(r"\bin\b"),
    "NOT": _LazyRegex(r"\bnot\b"),
    "VARIABLE": _LazyRegex(r"""
        \b(
            python_version
            |python_full_version
            |os[._]name
            |sys[._]platform
            |platform_(release|system)
            |platform[._](version|machine|python_implementation)
            |python_implementation
            |implementation_(name|version)
            |extras?
            |dependency_groups
        )\b
        """, re.VERBOSE),
    "SPECIFIER": _LazyRegex(_SPECIFIER_PATTERN, re.VERBOSE | re.IGNORECASE),
    "AT": _LazyRegex(r"\@"),
    "URL": _LazyRegex(r"\S+" if _PACKAGING_26_4 else r"[^ \t]+"),  # 26.4: no whitespace at all
    "IDENTIFIER": _LazyRegex(r"\b[a-zA-Z0-9][a-zA-Z0-9._-]*\b"),
    "VERSION_PREFIX_TRAIL": _LazyRegex(r"\.\*"),
    "VERSION_LOCAL_LABEL_TRAIL": _LazyRegex(r"\+[a-z0-9]+(?:[-_\.][a-z0-9]+)*"),
    "WS": _LazyRegex(r"[ \t]+"),
    "END": _LazyRegex(r"\Z" if _PACKAGING_26_3 else r"$"),  # 26.3: no trailing line break
}

MARKER_VARIABLES = (
    "implementation_name", "implementation_version", "os_name", "platform_machine",
    "platform_release", "platform_system", "platform_version", "python_full_version",
    "platform_python_implementation", "python_version", "sys_platform",
)
_MARKERS_REQUIRING_VERSION = frozenset(
    ["implementation_version", "platform_release", "python_full_version", "python_version"])
_MARKERS_ALLOWING_SET = frozenset(["extras", "dependency_groups"])


class _SyntaxError(Exception):
    def __init__(self, message, source, position, end=None):
        Exception.__init__(self, message)
        self.message = message
        self.source = source
        self.position = position
        self.end = position if end is None else end

    def describe(self):
        """The message, the source and a ~~^ under the span, as packaging words it."""
        return "%s\n    %s\n    %s%s^" % (self.message, self.source, " " * self.position,
                                         "~" * max(0, self.end - self.position))


class _Tokenizer(object):
    """Reads the token a grammar rule asks for at the current position (packaging's way)."""

    def __init__(self, source):
        self.source = source
        self.position = 0
        self._next = None

    def check(self, name, peek=False):
        match = _TOKEN_RULES[name].match(self.source, self.position)
        if match is None:
            return False
        if not peek:
            self._next = match.group(0)
        return True

    def read(self):
        text = self._next
        self.position += len(text)
        self._next = None
        return text

    def consume(self, name):
        if self.check(name):
            self.read()

    def expect(self, name, expected):
        if not self.check(name):
            self.fail("Expected " + expected)
        return self.read()

    def fail(self, message, position=None, end=None):
        raise _SyntaxError(message, self.source,
                           self.position if position is None else position, end)

    def enclosed(self, open_name, close_name, around, parse):
        """Run ``parse`` between an optional pair of brackets."""
        opened = self.check(open_name)
        start = self.position
        if opened:
            self.read()
        result = parse()
        if opened:
            if not self.check(close_name):
                self.fail("Expected matching %s for %s, after %s" % (close_name, open_name, around),
                          start, self.position)
            self.read()
        return result


def _parse_marker_expression(tokens):
    """marker = marker_atom (BOOLOP marker_atom)*, as a flat list: [atom, "and", atom, ...]."""
    expression = [_parse_marker_atom(tokens)]
    while tokens.check("BOOLOP"):
        operator = tokens.read()
        expression.extend((operator, _parse_marker_atom(tokens)))
    return expression


_MAX_MARKER_NESTING = 200  # as packaging 26.4 (and CPython's parser); never a RecursionError


def _parse_marker_atom(tokens):
    tokens.consume("WS")
    if tokens.check("LEFT_PARENTHESIS", peek=True):
        depth = getattr(tokens, "depth", 0)
        if depth >= _MAX_MARKER_NESTING:
            tokens.fail("Marker expression is nested more than %d levels deep"
                        % _MAX_MARKER_NESTING)

        def inner():
            tokens.consume("WS")
            result = _parse_marker_expression(tokens)
            tokens.consume("WS")
            return result
        tokens.depth = depth + 1
        try:
            atom = tokens.enclosed("LEFT_PARENTHESIS", "RIGHT_PARENTHESIS", "marker expression",
                                   inner)
        finally:
            tokens.depth = depth
    else:
        atom = _parse_marker_item(tokens)
    tokens.consume("WS")
    return atom


def _parse_marker_item(tokens):
    """One comparison: a (lhs, op, rhs) triple whose sides are ("var"|"str", text)."""
    tokens.consume("WS")
    left = _parse_marker_var(tokens)
    tokens.consume("WS")
    if tokens.check("IN"):
        tokens.read()
        operator = "in"
    elif tokens.check("NOT"):
        tokens.read()
        tokens.expect("WS", "whitespace after 'not'")
        tokens.expect("IN", "'in' after 'not'")
        operator = "not in"
    elif tokens.check("OP"):
        operator = tokens.read()
    else:
        tokens.fail("Expected marker operator, one of <=, <, !=, ==, >=, >, ~=, ===, in, not in")
    tokens.consume("WS")
    right = _parse_marker_var(tokens)
    tokens.consume("WS")
    return (left, operator, right)


def _parse_marker_var(tokens):
    if tokens.check("VARIABLE"):
        name = tokens.read().replace(".", "_")
        if name == "python_implementation":
            name = "platform_python_implementation"
        return ("var", name)
    if tokens.check("QUOTED_STRING"):
        start = tokens.position
        value = _python_string(tokens.read())
        if value is None:
            tokens.fail("Invalid quoted string", start, tokens.position)
        return ("str", value)
    tokens.fail("Expected a marker variable or quoted string")


def _python_string(quoted):
    """The value of a quoted marker string, escapes read as Python reads them (as packaging)."""
    if "\\" not in quoted and not (_PACKAGING_26_3 and re.search("[\r\n\0]", quoted)):
        return quoted[1:-1]
    import ast  # only for the rare string with a backslash escape
    try:
        return str(ast.literal_eval(quoted))
    except (SyntaxError, ValueError):  # None: an error from packaging 26.3 on
        return None if _PACKAGING_26_3 else quoted[1:-1]


def _normalize_extras(markers):
    """PEP 685: the value compared with `extra` is a canonical name.

    As in packaging 26.2, only comparisons at the top level are normalised, not those inside
    parentheses; from 26.3 on every depth is, and so is the name tested for membership in
    `extras` or `dependency_groups` (PEP 685/735); a variable is never turned into a value.
    """
    result = []
    for item in markers:
        if isinstance(item, list) and _PACKAGING_26_3:
            item = _normalize_extras(item)
        elif isinstance(item, tuple):
            left, operator, right = item
            if left == ("var", "extra") and (right[0] == "str" or not _PACKAGING_26_3):
                right = ("str", canonicalize_name(right[1]))
            elif right == ("var", "extra") and (left[0] == "str" or not _PACKAGING_26_3):
                left = ("str", canonicalize_name(left[1]))
            elif (_PACKAGING_26_3 and right[0] == "var" and right[1] in _MARKERS_ALLOWING_SET
                  and left[0] == "str"):
                left = ("str", canonicalize_name(left[1]))
            item = (left, operator, right)
        result.append(item)
    return result


def _format_marker(marker, first=True):
    if isinstance(marker, list) and len(marker) == 1 and isinstance(marker[0], (list, tuple)):
        return _format_marker(marker[0], first=first if _PACKAGING_26_3 else True)
    if isinstance(marker, list):
        inner = " ".join(_format_marker(m, first=False) for m in marker)
        return inner if first else "(" + inner + ")"
    if isinstance(marker, tuple):
        left, operator, right = marker
        return " ".join((_format_marker_side(left), operator, _format_marker_side(right)))
    return marker


def _format_marker_side(side):
    kind, text = side
    if kind == "var":
        return text
    if '"' in text and _PACKAGING_26_3:  # 26.3 keeps the value: the quote it lacks
        if "'" in text:
            raise ValueError("Cannot serialize marker value containing both quote characters")
        return "'%s'" % text
    return '"%s"' % text


_STRING_OPERATORS = {
    "in": lambda lhs, rhs: lhs in rhs,
    "not in": lambda lhs, rhs: lhs not in rhs,
    "<": lambda lhs, rhs: False,
    "<=": lambda lhs, rhs: lhs == rhs,
    "==": lambda lhs, rhs: lhs == rhs,
    "!=": lambda lhs, rhs: lhs != rhs,
    ">=": lambda lhs, rhs: lhs == rhs,
    ">": lambda lhs, rhs: False,
}


def _eval_op(lhs, operator, rhs, key):
    if key in _MARKERS_REQUIRING_VERSION:
        try:
            spec = Specifier(operator + rhs)
        except InvalidSpecifier:
            pass
        else:
            return spec.contains(lhs, prereleases=True)
    compare = _STRING_OPERATORS.get(operator)
    if compare is None:
        raise UndefinedComparison("Undefined %r on %r and %r." % (operator, lhs, rhs))
    return compare(lhs, rhs)


def _evaluate_markers(markers, environment):
    groups = [[]]
    for item in markers:
        if isinstance(item, list):
            groups[-1].append(_evaluate_markers(item, environment))
        elif isinstance(item, tuple):
            groups[-1].append(_evaluate_item(item, environment))
        elif item == "or":
            groups.append([])
    return any(all(group) for group in groups)


def _evaluate_item(item, environment):
    """One comparison. From packaging 26.4 on, `extra` may be a set of selected extras (then
    == is membership), and a set-valued variable given a string is an UndefinedComparison."""
    from collections import abc
    left, operator, right = item
    if left[0] == "var":
        key = left[1]
        lhs, rhs = _environment_value(environment, key), right[1]
        if not isinstance(lhs, str) and _PACKAGING_26_4 and key == "extra":
            if not isinstance(lhs, abc.Set):
                raise UndefinedComparison("Marker 'extra' must be a string, not %r." % (lhs,))
            return _evaluate_extra_set(lhs, operator, rhs)
        if not isinstance(lhs, str) and _PACKAGING_26_3:
            raise UndefinedComparison(
                "Set-valued marker %r can only be used with the membership form (e.g. "
                '"<name>" in %s); it cannot appear on the left-hand side of %r.'
                % (key, key, operator))
    else:
        key = right[1]
        lhs, rhs = left[1], _environment_value(environment, key)
        if key == "extra" and _PACKAGING_26_4 and isinstance(rhs, abc.Set):
            return _evaluate_extra_set(rhs, operator, lhs)
    if _PACKAGING_26_4 and key == "extra" and not isinstance(rhs, str):
        raise UndefinedComparison("Marker 'extra' must be a string, not %r." % (rhs,))
    if _PACKAGING_26_4 and key in _MARKERS_ALLOWING_SET and isinstance(rhs, str):
        raise UndefinedComparison("Marker %r must be a set, not %r." % (key, rhs))
    if key in _MARKERS_ALLOWING_SET:
        lhs = canonicalize_name(lhs)
        rhs = (canonicalize_name(rhs) if isinstance(rhs, str)
               else set(canonicalize_name(v) for v in rhs))
    return _eval_op(lhs, operator, rhs, key)


def _evaluate_extra_set(extras, operator, literal):
    if not extras:
        extras = set([""])
    if operator == "==":
        return literal in extras
    if operator == "!=":
        return literal not in extras
    raise UndefinedComparison("Undefined %r on %r and %r." % (operator, extras, literal))


def _environment_value(environment, key):
    try:
        return environment[key]
    except KeyError:
        raise UndefinedEnvironmentName(
            "%r does not exist in evaluation environment." % (key,))


def _format_full_version(info):
    version = "%d.%d.%d" % (info.major, info.minor, info.micro)
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return version


def default_environment():
    """The PEP 508 marker environment of this interpreter (packaging's default_environment)."""
    return {
        "implementation_name": sys.implementation.name,
        "implementation_version": _format_full_version(sys.implementation.version),
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


class Marker(object):
    """A PEP 508 environment marker such as ``python_version < "3.10"``."""

    __slots__ = ("_markers",)

    def __init__(self, marker):
        try:
            tokens = _Tokenizer(marker)
            markers = _parse_marker_expression(tokens)
            tokens.expect("END", "end of marker expression")
        except _SyntaxError as error:
            raise InvalidMarker(error.describe(), marker)  # packaging's words: the input shown
        self._markers = _normalize_extras(markers)

    @classmethod
    def _from_parsed(cls, markers):
        new = cls.__new__(cls)
        new._markers = _normalize_extras(markers)
        return new

    def __str__(self):
        return _format_marker(self._markers)

    def __repr__(self):
        return "<Marker(%r)>" % (str(self),)

    def __hash__(self):
        return hash(str(self))

    def __eq__(self, other):
        if not isinstance(other, Marker):
            return NotImplemented
        return str(self) == str(other)

    def evaluate(self, environment=None, context="metadata"):
        """True when the marker holds in ``environment`` (default: this interpreter).

        ``context`` is "metadata" (an `extra` variable, "" by default), "lock_file" (the
        `extras` and `dependency_groups` sets of PEP 751) or "requirement".
        """
        current = dict(default_environment())
        if context == "lock_file":
            current.update(extras=frozenset(), dependency_groups=frozenset())
        elif context == "metadata":
            current["extra"] = ""
        if environment is not None:
            current.update(environment)
            if "extra" in current:
                extra = current["extra"]
                if not extra:
                    current["extra"] = ""
                elif isinstance(extra, str) or not _PACKAGING_26_4:
                    current["extra"] = canonicalize_name(extra)
                else:  # 26.4: a set of selected extras
                    current["extra"] = frozenset(canonicalize_name(n) for n in extra)
        full = current["python_full_version"]
        if isinstance(full, str) and full.endswith("+"):
            current["python_full_version"] = full + "local"
        return _evaluate_markers(self._markers, current)


# -- Requirements (PEP 508) -------------------------------------------------------------------


def _parse_requirement(tokens):
    """(name, url, extras, specifier, marker-list or None) of one dependency specifier."""
    tokens.consume("WS")
    name = tokens.expect("IDENTIFIER", "package name at the start of dependency specifier")
    tokens.consume("WS")
    extras = _parse_extras(tokens)
    tokens.consume("WS")
    url, specifier, marker = "", "", None
    if tokens.check("AT"):
        tokens.read()
        tokens.consume("WS")
        url = tokens.expect("URL", "URL after @")
        if not tokens.check("END", peek=True):
            tokens.expect("WS", "whitespace after URL")
            if not tokens.check("END", peek=True):
                marker = _parse_requirement_marker(tokens, "semicolon (after URL and whitespace)")
    else:
        specifier = _parse_specifier(tokens)
        tokens.consume("WS")
        if not tokens.check("END", peek=True):
            marker = _parse_requirement_marker(
                tokens, "comma (within version specifier), semicolon (after version specifier)"
                if specifier else "semicolon (after name with no version specifier)")
    tokens.expect("END", "end of dependency specifier")
    return name, url, extras, specifier, marker


def _parse_requirement_marker(tokens, expected):
    if not tokens.check("SEMICOLON"):
        tokens.fail("Expected %s or end" % expected)
    tokens.read()
    marker = _parse_marker_expression(tokens)
    tokens.consume("WS")
    return marker


def _parse_extras(tokens):
    if not tokens.check("LEFT_BRACKET", peek=True):
        return []

    def inner():
        tokens.consume("WS")
        extras = []
        if tokens.check("IDENTIFIER"):
            extras.append(tokens.read())
            while True:
                tokens.consume("WS")
                if tokens.check("IDENTIFIER", peek=True):
                    tokens.fail("Expected comma between extra names")
                elif not tokens.check("COMMA"):
                    break
                tokens.read()
                tokens.consume("WS")
                extras.append(tokens.expect("IDENTIFIER", "extra name after comma"))
        tokens.consume("WS")
        return extras
    return tokens.enclosed("LEFT_BRACKET", "RIGHT_BRACKET", "extras", inner)


_SPECIFIER_LIST_RE = _LazyRegex(r"[\t\x20-\x28\x2a-\x3a\x3c-\x7e]*(?=[;)]|\Z)")


def _specifier_list(tokens):
    """packaging 26.4's first try: the whole list up to `;`, `)` or the end, when SpecifierSet
    reads it and every comma separates two clauses (one trailing comma allowed); else None."""
    match = _SPECIFIER_LIST_RE.match(tokens.source, tokens.position)
    text = match.group(0) if match else ""
    if not text:
        return None
    try:
        count = len(SpecifierSet(text))
    except InvalidSpecifier:
        return None
    commas = text.count(",")
    if count != commas + 1 and not (count and count == commas
                                    and text.rstrip(" \t").endswith(",")):
        return None
    tokens.position += len(text)
    return text


def _parse_specifier(tokens):
    def inner():
        tokens.consume("WS")
        if _PACKAGING_26_4 and tokens.position < len(tokens.source):
            listed = _specifier_list(tokens)
            if listed is not None:
                return listed
        parsed = ""
        while tokens.check("SPECIFIER"):
            start = tokens.position
            specifier = tokens.read()
            parsed += specifier
            if tokens.check("VERSION_PREFIX_TRAIL", peek=True):
                message = ".* suffix can only be used with `==` or `!=` operators"
                if _PACKAGING_26_3 and (specifier.startswith("!=") or (
                        specifier.startswith("==") and not specifier.startswith("==="))):
                    message = (".* suffix cannot be used with pre-release, post-release, dev "
                               "or local versions")
                tokens.fail(message, start, tokens.position + 1)
            if tokens.check("VERSION_LOCAL_LABEL_TRAIL", peek=True):
                tokens.fail("Local version label can only be used with `==` or `!=` operators",
                            start, tokens.position)
            tokens.consume("WS")
            if not tokens.check("COMMA"):
                break
            parsed += tokens.read()
            tokens.consume("WS")
        tokens.consume("WS")
        return parsed
    return tokens.enclosed("LEFT_PARENTHESIS", "RIGHT_PARENTHESIS", "version specifier", inner)


def _requirement_head(text):
    """The canonical project name a requirement text starts with, without parsing the rest
    (cheap, and it never raises: a quick filter before the full parse)."""
    return canonicalize_name(re.split(r"[\s\[;(<>=!~@]", text.strip(), maxsplit=1)[0])


class Requirement(object):
    """A PEP 508 dependency specifier: name, extras, version specifier or URL, marker."""

    def __init__(self, requirement_string):
        try:
            name, url, extras, specifier, marker = _parse_requirement(
                _Tokenizer(requirement_string))
        except _SyntaxError as error:
            raise InvalidRequirement(error.describe(), requirement_string)
        self.name = name
        self.url = url or None
        self.extras = set(extras)
        try:
            self.specifier = SpecifierSet(specifier)
        except InvalidSpecifier as error:  # "===1,>=1.0+local" tokenizes as one === clause
            raise InvalidRequirement("Invalid requirement %r: %s" % (  # naming the input
                requirement_string, error.message), requirement_string)
        self.marker = Marker._from_parsed(marker) if marker is not None else None

    @property
    def key(self):
        """The canonical project name."""
        return canonicalize_name(self.name)

    def _parts(self, name):
        yield name
        if self.extras:
            yield "[%s]" % ",".join(sorted(self.extras))
        if self.specifier:
            yield str(self.specifier)
        if self.url:
            yield " @ " + self.url
            if self.marker:
                yield " "
        if self.marker:
            yield "; %s" % self.marker

    def __str__(self):
        return "".join(self._parts(self.name))

    def __repr__(self):
        return "<Requirement(%r)>" % (str(self),)

    def __hash__(self):  # what __eq__ compares, canonical (equal requirements hash equal)
        return hash((canonicalize_name(self.name),
                     frozenset(canonicalize_name(e) for e in self.extras), self.specifier,
                     self.url, self.marker))

    def __eq__(self, other):
        if not isinstance(other, Requirement):
            return NotImplemented
        extras = (frozenset(canonicalize_name(e) for e in self.extras),
                  frozenset(canonicalize_name(e) for e in other.extras))
        if not _PACKAGING_26_3:  # 26.2 compared extras as written
            extras = (self.extras, other.extras)
        return (canonicalize_name(self.name) == canonicalize_name(other.name)
                and extras[0] == extras[1] and self.specifier == other.specifier
                and self.url == other.url and self.marker == other.marker)


def _is_requirement(text):
    try:
        Requirement(text)
    except InvalidRequirement:
        return False
    return True


# -- Tags (PEP 425, 600, 656; macOS, iOS, Android, Windows, emscripten) ------------------------
# The tags this interpreter accepts, best first, element for element the list that
# packaging.tags.sys_tags() gives (the newest packaging release for this Python: see
# _PACKAGING_26_3). One deliberate deviation: inside Pyodide, its own pyodide_<ABI>_wasm32
# platform is added ahead of the generic emscripten one, as pyodide-build does, so that every
# wheel of Pyodide's own lock file fits (_emscripten_platforms). A wheel's rank is the position
# of its best tag.
# Machine facts come from small _detect_* functions that never raise and are not cached
# (Profile.current() keeps the result), so tests can simulate other machines.

INTERPRETER_SHORT_NAMES = {"python": "py", "cpython": "cp", "pypy": "pp", "ironpython": "ip",
                           "jython": "jy"}
_MANYLINUX_ARCHS = frozenset(["x86_64", "aarch64", "ppc64", "ppc64le", "s390x", "loongarch64",
                              "riscv64"])
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
_LAST_GLIBC_MINOR = 50  # for glibc majors above 2, should one ever appear (as packaging)


class Tag(object):
    """One (interpreter, abi, platform) triple, lower-cased, e.g. cp311-cp311-manylinux_2_17_x86_64."""

    __slots__ = ("interpreter", "abi", "platform", "_hash")

    def __init__(self, interpreter, abi, platform):
        self.interpreter = interpreter.lower()
        self.abi = abi.lower()
        self.platform = platform.lower()
        self._hash = hash((self.interpreter, self.abi, self.platform))

    def __eq__(self, other):
        if not isinstance(other, Tag):
            return NotImplemented
        return (self._hash == other._hash and self.platform == other.platform
                and self.abi == other.abi and self.interpreter == other.interpreter)

    def __hash__(self):
        return self._hash

    def __str__(self):
        return "%s-%s-%s" % (self.interpreter, self.abi, self.platform)

    def __repr__(self):
        return "<%s @ %d>" % (self, id(self))  # as packaging


def parse_tag(tag):
    """The set of Tags in a possibly compressed tag string such as ``py2.py3-none-any``."""
    components = [component.split(".") for component in tag.split("-")]
    if _PACKAGING_26_3:  # from 26.3 on: three non-empty components, identifier interpreters
        for parts in components:
            if "" in parts:
                raise InvalidTag("Tag %r has an empty component: %r" % (tag, ".".join(parts)),
                                 tag)
        if len(components) != 3:
            raise InvalidTag("Tag %r must have exactly three components" % (tag,), tag)
        for interpreter in components[0]:
            if not interpreter.isidentifier():
                raise InvalidTag("Tag %r has an invalid interpreter: %r" % (tag, interpreter),
                                 tag)
    interpreters, abis, platforms = components
    return frozenset(Tag(i, a, p) for i in interpreters for a in abis for p in platforms)


def _normalize_string(string):
    return string.replace(".", "_").replace("-", "_").replace(" ", "_")


def _version_nodot(version):
    return "".join(str(x) for x in version)


def _is_32bit():
    return struct.calcsize("P") == 4


def _read_elf_header(path):
    """(class, data, machine, flags, interpreter) of an ELF file, or None when it is not one."""
    try:
        with open(path, "rb") as f:
            ident = f.read(16)
            if len(ident) < 16 or ident[:4] != b"\x7fELF":
                return None
            capacity, encoding = ident[4], ident[5]
            formats = {(1, 1): ("<HHIIIIIHHH", "<IIIIIIII", (0, 1, 4)),
                       (1, 2): (">HHIIIIIHHH", ">IIIIIIII", (0, 1, 4)),
                       (2, 1): ("<HHIQQQIHHH", "<IIQQQQQQ", (0, 2, 5)),
                       (2, 2): (">HHIQQQIHHH", ">IIQQQQQQ", (0, 2, 5))}.get((capacity, encoding))
            if formats is None:
                return None
            e_fmt, p_fmt, p_idx = formats
            header = struct.unpack(e_fmt, f.read(struct.calcsize(e_fmt)))
            machine, phoff, flags, phentsize, phnum = (header[1], header[4], header[6],
                                                       header[8], header[9])
            interpreter = None
            for index in range(phnum):
                f.seek(phoff + phentsize * index)
                raw = f.read(struct.calcsize(p_fmt))
                if len(raw) < struct.calcsize(p_fmt):
                    continue
                data = struct.unpack(p_fmt, raw)
                if data[p_idx[0]] != 3:  # PT_INTERP
                    continue
                f.seek(data[p_idx[1]])
                interpreter = os.fsdecode(f.read(data[p_idx[2]])).strip("\0")
                break
            return capacity, encoding, machine, flags, interpreter
    except (OSError, struct.error, ValueError, TypeError):
        return None


def _detect_elf_abi(executable, archs):
    """Whether the running executable's ELF header fits manylinux for these archs."""
    if "armv7l" in archs:
        header = _read_elf_header(executable)
        return (header is not None and header[0] == 1 and header[1] == 1 and header[2] == 40
                and header[3] & 0xFF000000 == 0x05000000 and header[3] & 0x400 == 0x400)
    if "i686" in archs:
        header = _read_elf_header(executable)
        return header is not None and header[0] == 1 and header[1] == 1 and header[2] == 3
    return any(arch in _MANYLINUX_ARCHS for arch in archs)


def _parse_glibc_version(text):
    match = re.match(r"(?P<major>[0-9]+)\.(?P<minor>[0-9]+)", text)
    if not match:
        return (-1, -1)
    return (int(match.group("major")), int(match.group("minor")))


def _detect_glibc_version():
    """(major, minor) of the running glibc, or (-1, -1) when this is not glibc."""
    text = None
    try:
        value = os.confstr("CS_GNU_LIBC_VERSION")
        if value is not None:
            text = value.rsplit()[1]
    except (AttributeError, OSError, ValueError, IndexError):
        text = None
    if text is None:
        text = _glibc_version_ctypes()
    if text is None:
        return (-1, -1)
    return _parse_glibc_version(text)


def _glibc_version_ctypes():
    try:
        import ctypes
        process = ctypes.CDLL(None)
        function = process.gnu_get_libc_version
    except (ImportError, OSError, AttributeError):
        return None
    function.restype = ctypes.c_char_p
    value = function()
    return value.decode("ascii") if isinstance(value, bytes) else value


def _detect_musl_version(executable):
    """(major, minor) of musl when the executable is linked against it, else None."""
    header = _read_elf_header(executable)
    loader = header[4] if header else None
    if not loader or "musl" not in loader:
        return None
    import subprocess
    try:
        proc = subprocess.run([loader], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                              universal_newlines=True, check=False)
    except OSError:
        return None
    lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
    if len(lines) < 2 or lines[0][:4] != "musl":
        return None
    match = re.match(r"Version (\d+)\.(\d+)", lines[1])
    if not match:
        return None
    return (int(match.group(1)), int(match.group(2)))


def _manylinux_override():
    """The `_manylinux` module a distributor may install to veto manylinux (PEP 600)."""
    try:
        import _manylinux
    except ImportError:
        return None
    return _manylinux


def _manylinux_compatible(override, arch, version):
    if override is None:
        return True
    if hasattr(override, "manylinux_compatible"):
        result = override.manylinux_compatible(version[0], version[1], arch)
        return True if result is None else bool(result)
    legacy = {(2, 5): "manylinux1_compatible", (2, 12): "manylinux2010_compatible",
              (2, 17): "manylinux2014_compatible"}.get(version)
    if legacy and hasattr(override, legacy):
        return bool(getattr(override, legacy))
    return True


def _manylinux_platforms(archs):
    """manylinux_X_Y tags from this glibc down, each legacy alias right after its twin."""
    if not _detect_elf_abi(sys.executable, archs):
        return
    too_old = (2, 4) if set(archs) & set(["x86_64", "i686"]) else (2, 16)
    current = tuple(_detect_glibc_version())
    maxima = [current] + [(major, _LAST_GLIBC_MINOR) for major in range(current[0] - 1, 1, -1)]
    override = _manylinux_override()
    for arch in archs:
        for glibc_max in maxima:
            min_minor = too_old[1] if glibc_max[0] == too_old[0] else -1
            for minor in range(glibc_max[1], min_minor, -1):
                version = (glibc_max[0], minor)
                if version > current or not _manylinux_compatible(override, arch, version):
                    continue
                yield "manylinux_%d_%d_%s" % (version[0], version[1], arch)
                if version in _LEGACY_MANYLINUX:
                    yield "%s_%s" % (_LEGACY_MANYLINUX[version], arch)


def _musllinux_platforms(archs):
    musl = _detect_musl_version(sys.executable)
    if musl is None:
        return
    for arch in archs:
        for minor in range(musl[1], -1, -1):
            yield "musllinux_%d_%d_%s" % (musl[0], minor, arch)


def _linux_platforms(is_32bit=None):
    if is_32bit is None:
        is_32bit = _is_32bit()
    linux = _normalize_string(sysconfig.get_platform())
    if not linux.startswith("linux_"):
        yield linux
        return
    if is_32bit:
        linux = {"linux_x86_64": "linux_i686", "linux_aarch64": "linux_armv8l"}.get(linux, linux)
    arch = linux.split("_", 1)[1]
    archs = ["armv8l", "armv7l"] if arch == "armv8l" else [arch]
    native = ["linux_" + arch for arch in archs]
    for platform_ in native if _PACKAGING_26_3 else ():
        yield platform_
    for platform_ in _manylinux_platforms(archs):
        yield platform_
    for platform_ in _musllinux_platforms(archs):
        yield platform_
    for platform_ in native if not _PACKAGING_26_3 else ():
        yield platform_


def _mac_arch(arch, is_32bit=None):
    if is_32bit is None:
        is_32bit = _is_32bit()
    if not is_32bit:
        return arch
    return "ppc" if arch.startswith("ppc") else "i386"


def _mac_binary_formats(version, cpu_arch):
    fat32 = "fat3" if _PACKAGING_26_3 else "fat32"  # packaging 26.3 renamed it
    formats = [cpu_arch]
    if cpu_arch == "x86_64":
        if version < (10, 4):
            return []
        formats.extend(["intel", "fat64", fat32])
    elif cpu_arch == "i386":
        if version < (10, 4):
            return []
        formats.extend(["intel", fat32, "fat"])
    elif cpu_arch == "ppc64":
        if version > (10, 5) or version < (10, 4):
            return []
        formats.append("fat64")
    elif cpu_arch == "ppc":
        if version > (10, 6):
            return []
        formats.extend([fat32, "fat"])
    if cpu_arch in ("arm64", "x86_64"):
        formats.append("universal2")
    if cpu_arch in ("x86_64", "i386", "ppc64", "ppc", "intel"):
        formats.append("universal")
    return formats


def _detect_mac_version():
    version_text = platform.mac_ver()[0]
    version = tuple(int(x) for x in version_text.split(".")[:2])
    if version == (10, 16):
        import subprocess
        # An interpreter built against an old SDK reports 10.16; ask without the compat shim.
        version_text = subprocess.run(
            [sys.executable, "-sS", "-c", "import platform; print(platform.mac_ver()[0])"],
            check=True, env={"SYSTEM_VERSION_COMPAT": "0"}, stdout=subprocess.PIPE,
            universal_newlines=True).stdout
        version = tuple(int(x) for x in version_text.split(".")[:2])
    return version


def mac_platforms(version=None, arch=None):
    """macOS platform tags, newest first (packaging.tags.mac_platforms)."""
    cpu_arch = platform.mac_ver()[2]
    if version is None:
        version = _detect_mac_version()
    if arch is None:
        arch = _mac_arch(cpu_arch)
    if (10, 0) <= version < (11, 0):
        for minor in range(version[1], -1, -1):
            for binary_format in _mac_binary_formats((10, minor), arch):
                yield "macosx_10_%d_%s" % (minor, binary_format)
    if version >= (11, 0):
        for major in range(version[0], 10, -1):
            for binary_format in _mac_binary_formats((major, 0), arch):
                yield "macosx_%d_0_%s" % (major, binary_format)
        # macOS 11+ runs x86_64 binaries of earlier releases; arm64 only universal2 ones.
        for minor in range(16, 3, -1):
            if arch == "x86_64":
                for binary_format in _mac_binary_formats((10, minor), arch):
                    yield "macosx_10_%d_%s" % (minor, binary_format)
            else:
                yield "macosx_10_%d_universal2" % minor


def ios_platforms(version=None, multiarch=None):
    """iOS platform tags, newest first (packaging.tags.ios_platforms)."""
    if version is None:
        release = platform.ios_ver()[1]
        version = tuple(int(x) for x in release.split(".")[:2])
    if multiarch is None:
        multiarch = sys.implementation._multiarch
    multiarch = multiarch.replace("-", "_")
    if version[0] < 12:
        return
    yield "ios_%d_%d_%s" % (version[0], version[1], multiarch)
    for minor in range(version[1] - 1, -1, -1):
        yield "ios_%d_%d_%s" % (version[0], minor, multiarch)
    for major in range(version[0] - 1, 11, -1):
        for minor in range(9, -1, -1):
            yield "ios_%d_%d_%s" % (major, minor, multiarch)


def android_platforms(api_level=None, abi=None):
    """Android platform tags from this API level down to 16 (packaging.tags.android_platforms)."""
    if platform.system() != "Android" and (api_level is None or abi is None):
        raise TypeError("on non-Android platforms, the api_level and abi arguments are required")
    if api_level is None:
        api_level = platform.android_ver().api_level
    if abi is None:
        abi = sysconfig.get_platform().split("-")[-1]
    abi = _normalize_string(abi)
    for level in range(api_level, 15, -1):
        yield "android_%d_%s" % (level, abi)


def _emscripten_platforms():
    """pyemscripten_<version>_wasm32 (PEP 783) as packaging, then -- a deliberate deviation
    from packaging, which lacks it -- Pyodide's own pyodide_<ABI>_wasm32 when the interpreter
    sets PYODIDE_ABI_VERSION (as pyodide-build does: Pyodide's wheels up to 0.29 carry it), and
    last the generic emscripten_<emsdk>_wasm32. cpython_tags() then gives the abi3 variants
    (cp39-abi3-pyodide_2024_0_wasm32, ...) and compatible_tags() py3-none-pyodide_..."""
    version = sysconfig.get_config_var("PYEMSCRIPTEN_PLATFORM_VERSION")
    if version:
        yield "pyemscripten_%s_wasm32" % version
    pyodide_abi = _detect_pyodide_abi()
    if pyodide_abi:
        yield "pyodide_%s_wasm32" % pyodide_abi
    yield _normalize_string(sysconfig.get_platform())


def _detect_pyodide_abi():
    """Pyodide's ABI version (e.g. "2024_0") from sysconfig's PYODIDE_ABI_VERSION, or None."""
    abi = sysconfig.get_config_var("PYODIDE_ABI_VERSION")
    return _normalize_string(str(abi)) if abi else None


def platform_tags():
    """The platform tags of this machine, best first."""
    system = platform.system()
    if system == "Darwin":
        return mac_platforms()
    if system == "iOS":
        return ios_platforms()
    if system == "Android":
        return android_platforms()
    if system == "Linux":
        return _linux_platforms()
    if system == "Emscripten":
        return _emscripten_platforms()
    return iter([_normalize_string(sysconfig.get_platform())])


def interpreter_name():
    name = sys.implementation.name
    return INTERPRETER_SHORT_NAMES.get(name) or name


def interpreter_version():
    version = sysconfig.get_config_var("py_version_nodot")
    return str(version) if version else _version_nodot(sys.version_info[:2])


def _cpython_abis(py_version):
    py_version = tuple(py_version)
    abis = []
    version = _version_nodot(py_version[:2])
    threading = debug = pymalloc = ucs4 = ""
    with_debug = sysconfig.get_config_var("Py_DEBUG")
    has_refcount = hasattr(sys, "gettotalrefcount")
    has_ext = "_d.pyd" in importlib.machinery.EXTENSION_SUFFIXES
    if with_debug or (with_debug is None and (has_refcount or has_ext)):
        debug = "d"
    if py_version >= (3, 13) and sysconfig.get_config_var("Py_GIL_DISABLED"):
        threading = "t"
    if py_version < (3, 8):
        with_pymalloc = sysconfig.get_config_var("WITH_PYMALLOC")
        if with_pymalloc or with_pymalloc is None:
            pymalloc = "m"
        if py_version < (3, 3):
            unicode_size = sysconfig.get_config_var("Py_UNICODE_SIZE")
            if unicode_size == 4 or (unicode_size is None and sys.maxunicode == 0x10FFFF):
                ucs4 = "u"
    elif debug:
        abis.append("cp%s%s" % (version, threading))  # a debug build loads normal extensions
    abis.insert(0, "cp%s%s%s%s%s" % (version, threading, debug, pymalloc, ucs4))
    return abis


def _is_threaded_abi(abis):
    if not _PACKAGING_26_4:
        match = re.match(r"cp\d+(.*)", abis[0]) if abis else None
        return bool(match) and "t" in match.group(1)
    for abi in abis:  # the first CPython ABI, or abi3t, decides
        if abi == "abi3t":
            return True
        match = re.match(r"cp\d+(.*)", abi)
        if match:
            return "t" in match.group(1)
    return False


def _platform_list(platforms):
    """The given platforms, or this machine's when none are given (an explicitly empty list
    stays empty from packaging 26.4 on)."""
    if platforms is None or not (platforms or _PACKAGING_26_4):
        return list(platform_tags())
    return list(platforms)


def cpython_tags(python_version=None, abis=None, platforms=None):
    """Tags for CPython: its own ABI, then abi3 (or abi3t), none, and older abi3 releases."""
    if not python_version:
        python_version = sys.version_info[:2]
    interpreter = "cp" + _version_nodot(python_version[:2])
    if abis is None:
        abis = _cpython_abis(python_version) if len(python_version) > 1 else []
    abis = list(abis)
    threading = _is_threaded_abi(abis) if _PACKAGING_26_3 else None
    explicit = ("abi3", "abi3t", "none") if threading else ("abi3", "none")
    for explicit_abi in explicit:  # handled below; removed once, as packaging does
        if explicit_abi in abis:
            abis.remove(explicit_abi)
    platforms = _platform_list(platforms)
    for abi in abis:
        for platform_ in platforms:
            yield Tag(interpreter, abi, platform_)
    if threading is None:
        threading = _is_threaded_abi(abis)
    modern = len(python_version) > 1 and tuple(python_version) >= (3, 2)
    use_abi3 = modern and not threading
    use_abi3t = modern and threading
    for stable_abi, used in (("abi3", use_abi3), ("abi3t", use_abi3t)):
        if used:
            for platform_ in platforms:
                yield Tag(interpreter, stable_abi, platform_)
    for platform_ in platforms:
        yield Tag(interpreter, "none", platform_)
    if use_abi3 or use_abi3t:
        for minor in range(python_version[1] - 1, 1, -1):
            older = "cp" + _version_nodot((python_version[0], minor))
            for platform_ in platforms:
                yield Tag(older, "abi3t" if use_abi3t else "abi3", platform_)


def _generic_abi():
    ext_suffix = sysconfig.get_config_var("EXT_SUFFIX")
    if not isinstance(ext_suffix, str) or ext_suffix[0] != ".":
        raise SystemError("invalid sysconfig.get_config_var('EXT_SUFFIX')")
    parts = ext_suffix.split(".")
    if len(parts) < 3:
        return _cpython_abis(sys.version_info[:2])
    soabi = parts[1]
    if soabi.startswith("cpython"):
        cpython_parts = soabi.split("-")
        if _PACKAGING_26_3 and (len(cpython_parts) < 2 or not cpython_parts[1]):
            raise SystemError("invalid sysconfig.get_config_var('EXT_SUFFIX')")
        abi = "cp" + cpython_parts[1]
    elif soabi.startswith("cp"):
        abi = soabi.split("-")[0]
    elif soabi.startswith("pypy"):
        abi = "-".join(soabi.split("-")[:2])
    elif soabi.startswith("graalpy"):
        abi = "-".join(soabi.split("-")[:3])
    elif soabi:
        abi = soabi
    else:
        return []
    return [_normalize_string(abi)]


def generic_tags(interpreter=None, abis=None, platforms=None):
    """Tags for an interpreter that needs no special rules (PyPy, GraalPy, ...)."""
    if not interpreter:
        interpreter = interpreter_name() + interpreter_version()
    abis = _generic_abi() if abis is None else list(abis)
    platforms = _platform_list(platforms)
    if "none" not in abis:
        abis.append("none")
    for abi in abis:
        for platform_ in platforms:
            yield Tag(interpreter, abi, platform_)


def _py_interpreter_range(py_version):
    if len(py_version) > 1:
        yield "py" + _version_nodot(py_version[:2])
    yield "py%d" % py_version[0]
    if len(py_version) > 1:
        for minor in range(py_version[1] - 1, -1, -1):
            yield "py" + _version_nodot((py_version[0], minor))


def compatible_tags(python_version=None, interpreter=None, platforms=None):
    """py*-none-<platform>, then <interpreter>-none-any, then py*-none-any."""
    if not python_version:
        python_version = sys.version_info[:2]
    platforms = _platform_list(platforms)
    for version in _py_interpreter_range(python_version):
        for platform_ in platforms:
            yield Tag(version, "none", platform_)
    if interpreter:
        yield Tag(interpreter, "none", "any")
    for version in _py_interpreter_range(python_version):
        yield Tag(version, "none", "any")


def sys_tags():
    """Every tag this interpreter accepts, best first (packaging.tags.sys_tags)."""
    name = interpreter_name()
    if name == "cp":
        for tag in cpython_tags():
            yield tag
    else:
        for tag in generic_tags():
            yield tag
    if name == "pp":
        interpreter = "pp3"
    elif name == "cp":
        interpreter = "cp" + interpreter_version()
    else:
        interpreter = None
    for tag in compatible_tags(interpreter=interpreter):
        yield tag


# -- Wheel and sdist file names (PEP 427, 491, 625) -------------------------------------------

_BUILD_TAG_RE = _LazyRegex(r"(\d+)(.*)\Z" if _PACKAGING_26_4 else r"(\d+)(.*)", re.ASCII)
_WHEEL_NAME_PART_RE = _LazyRegex(r"^[\w._]+\Z" if _PACKAGING_26_3 else r"^[\w\d._]*$",
                                 re.UNICODE)  # 26.3: a name is not empty


def parse_wheel_filename(filename):
    """(name, Version, build tag, frozenset of Tags) of a wheel file name, as packaging."""
    if not filename.endswith(".whl"):
        raise InvalidWheelFilename(
            "Invalid wheel filename (extension must be '.whl'): %r" % (filename,), filename)
    stem = filename[:-4]
    dashes = stem.count("-")
    if dashes not in (4, 5):
        raise InvalidWheelFilename(
            "Invalid wheel filename (wrong number of parts): %r" % (stem,), filename)
    parts = stem.split("-", dashes - 2)
    name_part = parts[0]
    if "__" in name_part or _WHEEL_NAME_PART_RE.match(name_part) is None:
        raise InvalidWheelFilename("Invalid project name: %r" % (stem,), filename)
    try:
        version = Version(parts[1])
    except InvalidVersion:
        raise InvalidWheelFilename(
            "Invalid wheel filename (invalid version): %r" % (stem,), filename)
    build = ()
    if dashes == 5:
        match = _BUILD_TAG_RE.match(parts[2])
        if match is None:
            raise InvalidWheelFilename(
                "Invalid build number: %s in %r" % (parts[2], stem), filename)
        build = (int(match.group(1)), match.group(2))
    try:
        tags = parse_tag(parts[-1])
    except InvalidTag:
        raise InvalidWheelFilename(
            "Invalid wheel filename (invalid tag component): %r" % (stem,), filename)
    return canonicalize_name(name_part), version, build, tags


def parse_sdist_filename(filename):
    """(name, Version) of an sdist file name (``.tar.gz`` or ``.zip``), as packaging."""
    if filename.endswith(".tar.gz"):
        stem = filename[:-len(".tar.gz")]
    elif filename.endswith(".zip"):
        stem = filename[:-len(".zip")]
    else:
        raise InvalidSdistFilename(
            "Invalid sdist filename (extension must be '.tar.gz' or '.zip'): %r" % (filename,),
            filename)
    name_part, sep, version_part = stem.rpartition("-")
    if not sep:
        raise InvalidSdistFilename("Invalid sdist filename: %r" % (filename,), filename)
    if not name_part and _PACKAGING_26_3:
        raise InvalidSdistFilename(
            "Invalid sdist filename (empty project name): %r" % (filename,), filename)
    try:
        version = Version(version_part)
    except InvalidVersion:
        raise InvalidSdistFilename(
            "Invalid sdist filename (invalid version): %r" % (filename,), filename)
    return canonicalize_name(name_part), version


# What intake also takes for an sdist: the suffixes PyPI accepted before PEP 527 (Twisted's
# .tar.bz2 sdists, for one), which pip download still saves under their own names.
_LEGACY_SDIST_SUFFIXES = (".tgz", ".tar.bz2", ".tar.xz")


def _parse_uploaded_sdist_filename(filename):
    """(name, Version) of an uploaded file's name when it reads as an sdist's, else None:
    parse_sdist_filename, also taking the legacy suffixes and never an empty name."""
    for suffix in _LEGACY_SDIST_SUFFIXES:
        if filename.endswith(suffix):
            filename = filename[:-len(suffix)] + ".tar.gz"
            break
    try:
        name, version = parse_sdist_filename(filename)
    except InvalidSdistFilename:
        return None
    return (name, version) if name else None


class WheelName(collections.namedtuple("WheelName", "filename name version build tags")):
    """A parsed wheel file name: canonical name, Version, build tag, frozenset of Tags."""

    __slots__ = ()

    @classmethod
    def parse(cls, filename):
        name, version, build, tags = parse_wheel_filename(os.path.basename(filename))
        return cls(os.path.basename(filename), name, version, build, tags)


# -- Core metadata (METADATA, PKG-INFO) ------------------------------------------------------
# Only the header fields resolution needs. Left out: the description body, and validation
# of fields bootstrap does not use.


class Metadata(collections.namedtuple(
        "Metadata", "name version requires_dist requires_python provides_extra")):
    """The fields of a METADATA file that resolution reads."""

    __slots__ = ()


def _parse_headers(text):
    """RFC 822 style headers up to the first blank line, continuation lines folded."""
    headers = []
    for line in text.splitlines():
        if not line:
            break  # a line of spaces is a folded continuation; only an empty line ends headers
        if line[:1] in (" ", "\t") and headers:
            key, value = headers[-1]
            headers[-1] = (key, value + "\n" + line.strip())
            continue
        key, sep, value = line.partition(":")
        if sep:
            headers.append((key.strip().lower(), value.strip()))
    return headers


def parse_metadata(text, source="METADATA"):
    """Metadata from the text of a METADATA or PKG-INFO file; a bad file raises naming ``source``."""
    fields = collections.defaultdict(list)
    for key, value in _parse_headers(text):
        fields[key].append(value)
    missing = [key for key in ("name", "version") if not fields.get(key)]
    if missing:
        raise BootstrapError("%s has no %s field" % (source, " or ".join(missing)), source,
                             code="invalid-metadata")
    try:
        version = Version(fields["version"][0])
    except InvalidVersion:
        raise BootstrapError("%s has an invalid Version %r" % (source, fields["version"][0]),
                             source, code="invalid-metadata")
    return Metadata(
        name=fields["name"][0], version=version,
        requires_dist=tuple(fields.get("requires-dist", ())),
        requires_python=fields["requires-python"][0] if fields.get("requires-python") else None,
        provides_extra=tuple(canonicalize_name(e) for e in fields.get("provides-extra", ())),
    )


def _read_text(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def _read_headers_text(path, chunk=16384):
    """The header part of a METADATA file: enough to parse, without its long description."""
    with open(path, "rb") as f:
        data = f.read(chunk)
        while b"\n\n" not in data and len(data) % chunk == 0 and data:
            more = f.read(chunk)
            if not more:
                break
            data += more
    return data.decode("utf-8", "replace")


def _egg_info_requires(text):
    """Requires-Dist equivalents of an egg-info requires.txt ([extra:marker] sections)."""
    requires = []
    section = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        marker_parts = []
        if section:
            extra, _, marker = section.partition(":")
            if extra:
                marker_parts.append('extra == "%s"' % extra)
            if marker:
                marker_parts.append("(%s)" % marker)
        requires.append(line + ("; " + " and ".join(marker_parts) if marker_parts else ""))
    return requires


class Distribution(collections.namedtuple("Distribution", "name version requires location")):
    """An installed distribution: canonical name, version text, Requires-Dist, its directory."""

    __slots__ = ()

    def to_json(self):
        return {"name": self.name, "version": self.version, "requires": list(self.requires),
                "location": self.location}


def _read_distribution(directory, entry):
    """The Distribution of one .dist-info or .egg-info entry, or None when it is unreadable."""
    path = os.path.join(directory, entry)
    try:
        if entry.endswith(".dist-info"):
            metadata = parse_metadata(_read_headers_text(os.path.join(path, "METADATA")), path)
            requires = list(metadata.requires_dist)
        elif os.path.isdir(path):
            metadata = parse_metadata(_read_headers_text(os.path.join(path, "PKG-INFO")), path)
            requires_txt = os.path.join(path, "requires.txt")
            requires = (_egg_info_requires(_read_text(requires_txt))
                        if os.path.isfile(requires_txt) else list(metadata.requires_dist))
        else:
            metadata = parse_metadata(_read_headers_text(path), path)
            requires = list(metadata.requires_dist)
    except (OSError, BootstrapError):
        return None
    return Distribution(canonicalize_name(metadata.name), str(metadata.version), requires,
                        directory)


def find_distributions(paths=None):
    """Installed distributions on ``paths`` (default sys.path); the first of a name wins."""
    found = collections.OrderedDict()
    for directory in (sys.path if paths is None else paths):
        directory = directory or "."
        try:
            entries = sorted(os.listdir(directory))
        except OSError:
            continue
        for entry in entries:
            if not entry.endswith((".dist-info", ".egg-info")):
                continue
            dist = _read_distribution(directory, entry)
            if dist is not None and dist.name not in found:
                found[dist.name] = dist
    return list(found.values())


# == 4. Profile: the interpreter as data, and the wheels it takes (pure) ======================
# -- Profile: an interpreter as data (SPEC 4.1) ------------------------------------------------
# A superset of pex's "complete platform" JSON: marker_environment and compatible_tags as pex
# has them, plus what installing and reporting need.


def _nearest_existing(path):
    while path and not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _is_writable(path):
    """Whether files could be created at ``path`` (or where it would be created)."""
    existing = _nearest_existing(path)
    return bool(existing) and os.access(existing, os.W_OK | os.X_OK)


def _user_site():
    """(path, enabled) of this interpreter's user site-packages."""
    import site
    path = site.getusersitepackages() if hasattr(site, "getusersitepackages") else None
    enabled = site.ENABLE_USER_SITE
    if enabled is None:
        enabled = site.check_enableusersite()
    if sys.prefix != getattr(sys, "base_prefix", sys.prefix):
        enabled = False  # a virtual environment never reads the user site
    return path, bool(enabled)


def _detect_paths():
    scheme = sysconfig.get_paths()
    if sys.platform == "emscripten":  # Pyodide's prefix is "/", and its paths say "//lib/..."
        scheme = dict((key, re.sub(r"^//+(?=[^/])", "/", value)) for key, value in scheme.items())
    user_path, user_enabled = _user_site()
    purelib_writable = _is_writable(scheme["purelib"])
    user_writable = bool(user_path) and user_enabled and _is_writable(user_path)
    if purelib_writable:
        install, where = scheme["purelib"], "site-packages"
    elif user_writable:
        install, where = user_path, "user-site"
    else:
        install, where = None, None
    return {
        "purelib": scheme["purelib"], "platlib": scheme["platlib"],
        "scripts": scheme["scripts"], "data": scheme["data"], "include": scheme["include"],
        "user_site": user_path, "user_site_enabled": user_enabled,
        "install": install, "install_kind": where, "writable": install is not None,
        "purelib_writable": purelib_writable,
    }


def _detect_libc():
    if platform.system() != "Linux":
        return {"kind": None, "version": None}
    glibc = _detect_glibc_version()
    if glibc != (-1, -1):
        return {"kind": "glibc", "version": "%d.%d" % glibc}
    musl = _detect_musl_version(sys.executable)
    if musl is not None:
        return {"kind": "musl", "version": "%d.%d" % musl}
    return {"kind": "unknown", "version": None}


def _detect_compiler():
    import shutil
    configured = (sysconfig.get_config_var("CC") or "").split()
    for candidate in configured[:1] + ["cc", "gcc", "clang"]:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def _current_folder():
    """The current folder, or None when it has been deleted (getcwd fails)."""
    try:
        return os.getcwd()
    except OSError:
        return None


def _detect_sandbox(paths):
    include = paths.get("include") or ""
    pyodide = _detect_pyodide()
    return {
        "kind": "pyodide" if pyodide else None,
        "mnt_data": os.path.isdir("/mnt/data"),
        "notebook": "ipykernel" in sys.modules or _in_jupyterlite(),
        "virtualenv": sys.prefix != getattr(sys, "base_prefix", sys.prefix),
        "container": os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv"),
        "compiler": None if pyodide else _detect_compiler(),
        "python_headers": os.path.isfile(os.path.join(include, "Python.h")),
        "cwd": _current_folder(),
        "layered_over": (_detect_layer() or {}).get("base_site"),
        "threads": _can_start_threads(),
        "processes": _can_start_processes(),
        "pyodide": pyodide,
    }


def _detect_layer():
    """The base site-packages a layered venv reads through a .pth file, or None."""
    if sys.prefix == getattr(sys, "base_prefix", sys.prefix):
        return None
    purelib = sysconfig.get_paths()["purelib"]
    try:
        names = sorted(n for n in os.listdir(purelib) if n.endswith(".pth"))
    except OSError:
        return None
    for name in names:
        try:
            lines = _read_text(os.path.join(purelib, name)).splitlines()
        except OSError:
            continue
        for line in lines:
            line = line.strip()
            if not line or line.startswith(("#", "import ", "import\t")):
                continue
            base = os.path.normpath(os.path.join(purelib, line))
            if base != os.path.normpath(purelib) and os.path.isdir(base) and any(
                    entry.endswith(".dist-info") for entry in os.listdir(base)):
                return {"base_site": base, "pth": os.path.join(purelib, name)}
    return None


# -- Capabilities: what this interpreter can do, detected, never assumed ------------------------
# Python compiled to WebAssembly (Pyodide, JupyterLite; WASI) has no processes and usually no
# threads: starting one raises. Each capability is detected from the platform (emscripten, wasi)
# or from a start that fails, and the code that needs it has a way without it: extraction runs
# serially, import verification runs in this process, sdists are refused before anything starts.

_NO_PROCESSES_PLATFORMS = ("emscripten", "wasi")


#: The address space a thread needs beyond what this process maps: its stack, and with glibc
#: a malloc arena (64 MB reserved per thread, most of it never touched).
_THREAD_ROOM = 192 * 1024 * 1024


def _can_start_threads():
    """Whether a thread can be started here (emscripten/wasi builds usually cannot). Not tried
    under an address-space limit (`ulimit -v`) that leaves less than _THREAD_ROOM: there, the
    new thread can fail to allocate its own start, and CPython's Thread.start then waits for
    it without end."""
    if sys.platform in _NO_PROCESSES_PLATFORMS:
        return False
    room = _address_space_room()
    if room is not None and room < _THREAD_ROOM:
        return False
    try:
        import threading
        thread = threading.Thread(target=lambda: None)
        thread.start()
        thread.join()
        return True
    except (ImportError, RuntimeError, OSError):
        return False


def _address_space_room():
    """Bytes this process may still map under its address-space limit (RLIMIT_AS), or None
    (no limit, or no /proc to read what it maps)."""
    try:
        import resource
        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
        if limit == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/statm") as f:
            mapped = int(f.read().split()[0]) * resource.getpagesize()
    except (ImportError, AttributeError, OSError, ValueError, IndexError):
        return None
    return limit - mapped


def _can_start_processes():
    """Whether a child process can be started here (never on emscripten or wasi)."""
    if sys.platform in _NO_PROCESSES_PLATFORMS:
        return False
    return hasattr(os, "fork") or hasattr(os, "spawnv") or os.name == "nt"


def _can_build_sdists(profile):
    """Whether an sdist could be built for ``profile``: a build runs pip in a child process."""
    sandbox = profile.sandbox or {}
    return sandbox.get("processes", True) is not False and sandbox.get("kind") != "pyodide"


class _SerialExecutor(object):
    """ThreadPoolExecutor's `with` and `submit`, running each call at once: where no thread
    can start."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def shutdown(self, wait=True):
        pass

    def submit(self, function, *args):
        from concurrent.futures import Future
        future = Future()
        try:
            future.set_result(function(*args))
        except Exception as error:  # delivered through result(), as a pool would
            future.set_exception(error)
        return future


def _extraction_pool(jobs):
    """A thread pool of ``jobs`` workers, or a serial stand-in where threads cannot start."""
    if jobs > 1 and _can_start_threads():
        from concurrent.futures import ThreadPoolExecutor
        return ThreadPoolExecutor(max_workers=jobs)
    return _SerialExecutor()


def _submit(pool, function, argument):
    """pool.submit, or the call made at once when the pool's thread fails to start."""
    try:
        return pool.submit(function, argument)
    except RuntimeError:  # "can't start new thread": the platform said no after all
        return _SerialExecutor().submit(function, argument)


def _usable_cores():
    """Cores this process may use (a container's limit included), at most 4: the extraction
    workers (processes, or threads) that unpack wheels; more than cores only contend."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    return max(1, min(4, count))


def _in_ipython():
    return "IPython" in sys.modules and getattr(sys.modules["IPython"], "get_ipython",
                                                lambda: None)() is not None


# -- Pyodide and JupyterLite: the interpreter and its own package installer ---------------------


def _in_jupyterlite():
    return any(name in sys.modules for name in ("pyodide_kernel", "piplite"))


def _detect_pyodide():
    """{version, abi, platform, jupyterlite, packages} inside Pyodide, else None. `packages`
    is what Pyodide's own installer (pyodide.loadPackage, micropip) offers: {name: version}
    from the pyodide-lock.json this Pyodide was started with."""
    if sys.platform != "emscripten":
        return None
    try:
        import pyodide
        version = str(getattr(pyodide, "__version__", "") or "") or None
    except ImportError:
        version = None
    if version is None and not _detect_pyodide_abi():
        return None
    return collections.OrderedDict([
        ("version", version), ("abi", _detect_pyodide_abi()),
        ("platform", _normalize_string(sysconfig.get_platform())),
        ("jupyterlite", _in_jupyterlite()),
        ("packages", _pyodide_lock_packages())])


def _pyodide_lock_packages():
    """{name: version} of pyodide-lock.json's packages, through Pyodide's JavaScript API."""
    try:
        import pyodide_js
        packages = pyodide_js._api.lockfile_packages.to_py()
        return dict(sorted((canonicalize_name(str(name)), str(dict(entry).get("version")))
                           for name, entry in packages.items()))
    except Exception:  # an API that moved: the packages are simply not known
        return {}


def platform_package(profile, name, specifier=None):
    """(name, version) when ``profile``'s platform installer (Pyodide's pyodide.loadPackage /
    micropip) provides ``name`` at a version ``specifier`` admits, else None."""
    packages = ((profile.sandbox or {}).get("pyodide") or {}).get("packages") or {}
    version = packages.get(canonicalize_name(name))
    if version is None or (specifier is not None and not specifier.contains(
            version, prereleases=True)):
        return None
    return canonicalize_name(name), version


def platform_install_fix(names):
    """The one line that installs ``names`` with Pyodide's own installer, in a notebook cell
    (JupyterLite, Pyodide's console), and its JavaScript twin."""
    listed = ", ".join(json.dumps(n) for n in names)
    return collections.OrderedDict([
        ("where", "sandbox"),
        ("command", "import micropip; await micropip.install([%s])" % listed),
        ("alt", "await pyodide.loadPackage([%s])" % listed)])


def _tag_from_text(text):
    parts = text.split("-")
    if len(parts) != 3 or not all(parts):
        raise ValueError(text)
    return Tag(*parts)


class Profile(object):
    """An interpreter as data: marker environment, ordered tags, paths, installed distributions."""

    def __init__(self, marker_environment, tags, python=None, implementation=None, libc=None,
                 paths=None, pip=None, installed=(), sandbox=None, source="this interpreter"):
        self.marker_environment = dict(marker_environment)
        self.tags = list(tags)
        self.python = python or {}
        self.implementation = implementation or {}
        self.libc = libc or {"kind": None, "version": None}
        self.paths = paths or {}
        self.pip = pip
        self.installed = list(installed)
        self.sandbox = sandbox or {}
        self.source = source
        self.build_installed = None  # what builds see, when installs see less (--target)
        self._ranks = None

    @property
    def target_tag(self):
        """The one-line name of this profile: its best tag, passing over native linux_* tags
        (first since packaging 26.3, but they name no libc: the manylinux or musllinux tag after
        them says what the sandbox runs, and is what a bundle is built for)."""
        for tag in self.tags:
            if not tag.platform.startswith("linux_") and tag.platform != "any":
                return str(tag)
        return str(self.tags[0]) if self.tags else "unknown"

    def rank(self, tag):
        """Position of ``tag`` in this profile's tags (0 is best), or None if unsupported."""
        if self._ranks is None:
            ranks = {}
            for index, item in enumerate(self.tags):
                ranks.setdefault(item, index)
            self._ranks = ranks
        return self._ranks.get(tag)

    @classmethod
    def current(cls):
        """The profile of the running interpreter."""
        tags = list(sys_tags())
        paths = _detect_paths()
        installed = find_distributions()
        pip = next(({"version": d.version, "location": d.location}
                    for d in installed if d.name == "pip"), None)
        return cls(
            marker_environment=default_environment(), tags=tags,
            python={"version": platform.python_version(), "executable": sys.executable,
                    "prefix": sys.prefix, "base_prefix": getattr(sys, "base_prefix", sys.prefix),
                    "bits": 32 if _is_32bit() else 64,
                    "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED"))},
            implementation={"name": sys.implementation.name,
                            "version": _format_full_version(sys.implementation.version),
                            "interpreter": tags[0].interpreter if tags else None,
                            "abi": tags[0].abi if tags else None},
            libc=_detect_libc(), paths=paths, pip=pip, installed=installed,
            sandbox=_detect_sandbox(paths),
        )

    def to_json(self):
        return collections.OrderedDict([
            ("schema", PROFILE_SCHEMA),
            ("target", self.target_tag),
            ("marker_environment", dict(sorted(self.marker_environment.items()))),
            ("compatible_tags", [str(tag) for tag in self.tags]),
            ("python", self.python),
            ("implementation", self.implementation),
            ("libc", self.libc),
            ("paths", self.paths),
            ("pip", self.pip),
            ("installed", [_distribution_json(d) for d in self.installed]),
            ("sandbox", self.sandbox),
        ])

    @classmethod
    def from_json(cls, data, source="profile"):
        """A Profile from JSON text or a mapping: ours, or a pex complete-platform file."""
        if isinstance(data, (bytes, str)):
            try:
                data = json.loads(data)
            except ValueError as error:
                raise InvalidProfile("%s is not valid JSON (%s)" % (source, error), source)
        problems = _profile_problems(data)
        if problems:
            raise InvalidProfile("%s is not a sandbox-bootstrap profile: %s"
                                 % (source, "; ".join(problems)), source)
        return cls(
            marker_environment=data["marker_environment"],
            tags=[_tag_from_text(t) for t in data["compatible_tags"]],
            python=data.get("python"), implementation=data.get("implementation"),
            libc=data.get("libc"), paths=data.get("paths"), pip=data.get("pip"),
            installed=[_distribution_from_json(d) for d in data.get("installed") or ()],
            sandbox=data.get("sandbox"), source=source,
        )

    @classmethod
    def from_file(cls, path):
        try:
            text = _read_text(path)
        except OSError as error:
            raise InvalidProfile("cannot read profile %s: %s" % (path, error.strerror or error),
                                 path)
        return cls.from_json(text, source=path)


def _distribution_json(dist):
    return dist.to_json() if isinstance(dist, Distribution) else dict(dist)


def _distribution_from_json(data):
    return Distribution(canonicalize_name(data["name"]), str(data["version"]),
                        list(data.get("requires") or ()), data.get("location"))


def _profile_problems(data):
    """Every reason ``data`` is not a usable profile (empty when it is one)."""
    if not isinstance(data, dict):
        return ["expected a JSON object, found %s" % type(data).__name__]
    problems = []
    schema = data.get("schema")
    if schema is not None and schema != PROFILE_SCHEMA:
        problems.append("schema is %r, expected %r" % (schema, PROFILE_SCHEMA))
    env = data.get("marker_environment")
    if not isinstance(env, dict):
        problems.append("missing marker_environment (an object of the PEP 508 variables)")
    else:
        missing = [key for key in MARKER_VARIABLES if not isinstance(env.get(key), str)]
        if missing:
            problems.append("marker_environment lacks " + ", ".join(missing))
    tags = data.get("compatible_tags")
    if not isinstance(tags, list) or not tags:
        problems.append("missing compatible_tags (a non-empty list, best tag first)")
    else:
        bad = [t for t in tags if not isinstance(t, str) or len(t.split("-")) != 3
               or not all(t.split("-"))]
        if bad:
            problems.append("compatible_tags has malformed tags such as %r" % (bad[0],))
    installed = data.get("installed")
    if installed is not None and (not isinstance(installed, list) or not all(
            isinstance(d, dict) and isinstance(d.get("name"), str) and "version" in d
            for d in installed)):
        problems.append("installed must be a list of {name, version, requires}")
    return problems



# -- Verdicts: does a wheel fit a profile -----------------------------------------------------
# A Verdict says whether a wheel's name fits a profile: its rank, or why not (python, abi,
# platform, libc) and the closest tag the profile does take. Pure: resolution asks it.

_PLATFORM_WORDS = (
    (_LazyRegex(r"^macosx_(\d+)_(\d+)_(\w+)$"), lambda m: "macOS %s.%s %s" % m.groups()),
    (_LazyRegex(r"^manylinux_(\d+)_(\d+)_(\w+)$"),
     lambda m: "Linux glibc %s.%s+ %s" % m.groups()),
    (_LazyRegex(r"^manylinux2014_(\w+)$"), lambda m: "Linux glibc 2.17+ %s" % m.group(1)),
    (_LazyRegex(r"^manylinux2010_(\w+)$"), lambda m: "Linux glibc 2.12+ %s" % m.group(1)),
    (_LazyRegex(r"^manylinux1_(\w+)$"), lambda m: "Linux glibc 2.5+ %s" % m.group(1)),
    (_LazyRegex(r"^musllinux_(\d+)_(\d+)_(\w+)$"), lambda m: "Linux musl %s.%s+ %s" % m.groups()),
    (_LazyRegex(r"^linux_(\w+)$"), lambda m: "Linux %s (a local, non-manylinux build)" % m.group(1)),
    (_LazyRegex(r"^win_amd64$"), lambda m: "Windows x86_64"),
    (_LazyRegex(r"^win32$"), lambda m: "Windows 32-bit"),
    (_LazyRegex(r"^win_(\w+)$"), lambda m: "Windows %s" % m.group(1)),
    (_LazyRegex(r"^(py)?emscripten_.*$"), lambda m: "WebAssembly (Pyodide)"),
    (_LazyRegex(r"^ios_(\d+)_(\d+)_(\w+)$"), lambda m: "iOS %s.%s %s" % m.groups()),
    (_LazyRegex(r"^android_(\d+)_(\w+)$"), lambda m: "Android API %s %s" % m.groups()),
    (_LazyRegex(r"^any$"), lambda m: "any platform"),
)
_LEGACY_GLIBC = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_MANYLINUX_RE = _LazyRegex(r"^(manylinux_(\d+)_(\d+)|manylinux1|manylinux2010|manylinux2014)_(\w+)$")


def describe_platform(platform_tag):
    """A platform tag in words: macosx_11_0_arm64 -> macOS 11.0 arm64."""
    for pattern, words in _PLATFORM_WORDS:
        match = pattern.match(platform_tag)
        if match:
            return words(match)
    return platform_tag


def _manylinux_glibc(platform_tag):
    """((major, minor), arch) of a manylinux platform tag, or None."""
    match = _MANYLINUX_RE.match(platform_tag)
    if not match:
        return None
    if match.group(2):
        return (int(match.group(2)), int(match.group(3))), match.group(4)
    return _LEGACY_GLIBC[match.group(1)], match.group(4)


class Verdict(collections.namedtuple("Verdict", "filename rank reason message closest")):
    """Whether a wheel fits a profile: rank (0 best) when it does; else reason and closest tag."""

    __slots__ = ()

    @property
    def compatible(self):
        return self.rank is not None

    def to_json(self):
        if self.compatible:
            return collections.OrderedDict([("file", self.filename), ("compatible", True),
                                            ("rank", self.rank)])
        return collections.OrderedDict([
            ("file", self.filename), ("compatible", False), ("reason", self.reason),
            ("message", self.message), ("closest", self.closest)])


def _profile_platform_summary(profile):
    """The platforms a profile takes, in a few words (for messages)."""
    platforms = []
    for tag in profile.tags:
        if tag.platform != "any" and tag.platform not in platforms:
            platforms.append(tag.platform)
    many = [p for p in platforms if p.startswith("manylinux_")]
    if many:
        arch = _manylinux_glibc(many[0])[1]
        newest, oldest = _manylinux_glibc(many[0])[0], _manylinux_glibc(many[-1])[0]
        text = "manylinux_%d_%d..manylinux_%d_%d %s" % (oldest + newest + (arch,))
        musl = [p for p in platforms if p.startswith("musllinux_")]
        return text + (" or musllinux" if musl else "")
    return platforms[0] if platforms else "any"


def judge_wheel(profile, wheel_name):
    """The Verdict on one WheelName for a profile (pure: reads nothing)."""
    ranks = [profile.rank(tag) for tag in wheel_name.tags]
    ranks = [r for r in ranks if r is not None]
    if ranks:
        return Verdict(wheel_name.filename, min(ranks), None, None, None)
    reason, message = _incompatibility(profile, wheel_name.tags)
    return Verdict(wheel_name.filename, None, reason, message, str(_closest_tag(profile,
                                                                             wheel_name.tags)))


def _closest_tag(profile, tags):
    """The best profile tag sharing the most with any of ``tags`` (interpreter, then abi)."""
    interpreters = set(t.interpreter for t in tags)
    pairs = set((t.interpreter, t.abi) for t in tags)
    for wanted in (lambda t: (t.interpreter, t.abi) in pairs,
                   lambda t: t.interpreter in interpreters, lambda t: True):
        for tag in profile.tags:
            if wanted(tag):
                return tag
    return None


def _incompatibility(profile, tags):
    """(reason, message) for tags none of which a profile takes."""
    interpreters = set(t.interpreter for t in profile.tags)
    pairs = set((t.interpreter, t.abi) for t in profile.tags)
    platforms = set(t.platform for t in profile.tags)
    python = "%s %s" % (profile.marker_environment.get("platform_python_implementation", "Python"),
                        profile.marker_environment.get("python_version", "?"))
    wheel_interpreters = sorted(set(t.interpreter for t in tags))
    if not any(t.interpreter in interpreters for t in tags):
        takes = sorted(set(t.interpreter for t in profile.tags[:1])) + ["py3"]
        return "python", "built for %s; this interpreter is %s and takes %s wheels" % (
            "/".join(wheel_interpreters), python, " or ".join(takes))
    if not any((t.interpreter, t.abi) in pairs for t in tags):
        return "abi", "built for the %s ABI; this interpreter takes %s" % (
            "/".join(sorted(set(t.abi for t in tags))),
            ", ".join(sorted(set(a for i, a in pairs if i in set(wheel_interpreters)))))
    needs = _profile_platform_summary(profile)
    glibc = profile.libc.get("version") if profile.libc.get("kind") == "glibc" else None
    for tag in tags:
        parsed = _manylinux_glibc(tag.platform)
        if parsed and glibc and any(_manylinux_glibc(p) and _manylinux_glibc(p)[1] == parsed[1]
                                    for p in platforms):
            return "libc", "needs glibc %d.%d or newer; this sandbox has glibc %s (takes %s)" % (
                parsed[0] + (glibc, needs))
    wheel_platforms = sorted(set(describe_platform(t.platform) for t in tags))
    return "platform", "built for %s; this interpreter needs %s (or any) wheels" % (
        " / ".join(wheel_platforms), needs)



# == 5. Problems and reports: the model, the codes, the renderings (pure) =====================
# -- Problems and reports (SPEC 2.4) ----------------------------------------------------------
# The report model in one place: the one table of codes, Problem, Report and ProfileReport,
# and every rendering of a report (short text, JSON, Markdown and HTML for notebooks). A
# Problem is data: a stable code from the table, the subject it concerns, what required it, a
# message, and a fix saying where to act and the exact command. Renderers are pure (a report
# in, a string out); showing, printing and writing a report are the entry points' business.

# The one table of codes: every code an error carries and every code a problem has. A row is
# (code, the problem a report shows for it, the kind of fix, what it means). An error met while
# reading the input is reported as a problem of that input; None: never a problem (the command
# stops with exit code 2 and the message). Fixes: "bundle", online, the one command that
# builds a bundle for this profile (see Fixes); "upload", online, the same file again, complete
# and unmodified; "rebuild", online, a new bundle from trusted sources; "sandbox", a command
# run here, which the problem names; "restart", a new interpreter (kernel); "rerun", the same
# command again; "report", tell bootstrap's maintainers (the traceback is in the JSON report);
# "usage", mend the command.
CODES = (
    ("incompatible-wheel", "incompatible-wheel", "bundle",
     "a wheel built for another Python, ABI, OS/arch or a newer libc"),
    ("invalid-wheel", "invalid-wheel", "upload",
     "a file named .whl whose name or METADATA cannot be read"),
    ("missing-dependency", "missing-dependency", "bundle",
     "nothing in the bundle or the environment provides a requirement"),
    ("version-conflict", "version-conflict", "bundle",
     "what is installed or bundled does not satisfy every requirement"),
    ("requires-python", "requires-python", "bundle",
     "the only candidates need another Python version"),
    ("sdist-needs-build", "sdist-needs-build", "bundle",
     "an sdist this sandbox cannot build (no build backend)"),
    ("build-failed", "build-failed", "bundle", "building an sdist offline failed"),
    ("corrupt-archive", "corrupt-archive", "upload",
     "a truncated, corrupt or mislabelled upload, or a missing part"),
    ("unsafe-archive-member", "unsafe-archive-member", "rebuild",
     "a member that would escape the work folder, a device, a bomb"),
    ("hash-mismatch", "hash-mismatch", "upload",
     "a file whose sha256 differs from its manifest or RECORD"),
    ("not-writable", "not-writable", "sandbox",
     "the install location cannot be written, the disk is full, or another limit of the "
     "sandbox stopped a read or a write (ulimit -f, ulimit -n, PATH_MAX, EIO, ENOMEM)"),
    ("import-failed", "import-failed", "bundle",
     "an installed module does not import in a fresh interpreter"),
    ("restart-needed", "restart-needed", "restart",
     "a package was already imported at another version"),
    ("budget-exhausted", "budget-exhausted", "rerun", "the time budget ran out; a rerun continues"),
    ("environment-failed", "environment-failed", "sandbox",
     "a conda-pack archive could not be unpacked or its Python not run"),
    ("file-conflict", "file-conflict", "sandbox",
     "a wheel's file belongs to another installed distribution"),
    ("internal-error", "internal-error", "report",
     "bootstrap's own bug, never the input's fault: the traceback is in the report"),
    # What only errors carry: a string or file of the input that cannot be read ...
    ("invalid-version", "corrupt-archive", "upload", "a version that is not PEP 440"),
    ("invalid-specifier", "corrupt-archive", "upload", "a specifier that is not PEP 440"),
    ("invalid-marker", "corrupt-archive", "upload", "a marker that is not PEP 508"),
    ("invalid-requirement", "corrupt-archive", "upload", "a requirement that is not PEP 508"),
    ("invalid-wheel-filename", "corrupt-archive", "upload", "a wheel name that is not PEP 427"),
    ("invalid-sdist-filename", "corrupt-archive", "upload", "an sdist name that is not PEP 625"),
    ("invalid-tag", "corrupt-archive", "upload", "a tag that is not three components"),
    ("invalid-metadata", "corrupt-archive", "upload", "METADATA or PKG-INFO that cannot be read"),
    # ... and what stops a command before it reports anything.
    ("invalid-profile", None, "usage", "a --profile file that is not a profile"),
    ("usage", None, "usage", "a command, argument or option that cannot be used"),
)
_Code = collections.namedtuple("_Code", "code reported_as fix meaning")
_CODE_ROWS = dict((row[0], _Code(*row)) for row in CODES)

#: The codes a Problem (and so a report) may carry: the closed list of docs/formats.md.
PROBLEM_CODES = tuple(code for code, reported_as, _, _ in CODES if code == reported_as)


class Problem(collections.namedtuple(
        "Problem", "code subject message required_by fix details")):
    """One thing that is wrong, with what to do about it. ``details`` are code-specific facts;
    one whose key starts with "_" is for the command that attaches the fix, not the report
    (the folder that a not-writable problem's ``remedy`` concerns)."""

    __slots__ = ()

    def __new__(cls, code, subject, message, required_by=(), fix=None, details=None):
        if code not in PROBLEM_CODES:
            raise ValueError("unknown problem code %r" % (code,))
        return super(Problem, cls).__new__(cls, code, subject, message, tuple(required_by),
                                           fix, details or {})

    def to_json(self):
        data = collections.OrderedDict([
            ("code", self.code), ("subject", self.subject),
            ("required_by", list(self.required_by)), ("message", self.message),
            ("fix", self.fix)])
        data.update(sorted((k, v) for k, v in self.details.items() if not k.startswith("_")))
        return data


def _problem_from_error(error):
    """The Problem of an error raised at the edges (intake, files): a known code is reported
    as its row in CODES says, with its fix; any other code, and an exception that is no
    BootstrapError, is bootstrap's own bug (internal-error), never the user's fault."""
    row = _CODE_ROWS.get(error.code) if isinstance(error, BootstrapError) else None
    if row is None or row.reported_as in (None, "internal-error"):
        return internal_problem(error)
    fix = getattr(error, "fix", None)
    remedy = getattr(error, "remedy", None)
    limit = getattr(error, "limit", None)
    if fix is None and limit:  # an intake limit: the command that ran, with it raised, fixes it
        return Problem(row.reported_as, error.subject, error.message,
                       details={"_limit": list(limit)})
    if fix is None and remedy:  # the sandbox's doing: the command that ran phrases its fix
        details = (("errno", getattr(error, "errno", None)), ("remedy", remedy),
                   ("_folder", getattr(error, "folder", None)))
        return Problem(row.reported_as, error.subject, error.message,
                       details=dict((k, v) for k, v in details if v is not None))
    if fix is None and row.fix == "rebuild":  # the same file fails the same way
        fix = {"where": "online", "command": "do not install %s: build a new bundle from "
               "trusted sources (python tools/bundle.py REQUIREMENT... --profile "
               "sandbox-profile.json -o bundle.tar.gz)" % os.path.basename(error.subject or "it")}
    elif fix is None:
        fix = _reupload_fix(error.subject)
    return Problem(row.reported_as, error.subject, error.message, fix=fix)


def _reupload_fix(subject):
    name = os.path.basename(subject) if subject else "the file"
    return {"where": "online", "command": "upload %s again (complete, unmodified)" % name}


def internal_problem(error):
    """Bootstrap's own bug as a Problem: what was raised, a fix that says to report it, and
    the traceback in the JSON report (``traceback``)."""
    import traceback
    return Problem(
        "internal-error", getattr(error, "subject", None) or "bootstrap.py",
        "bootstrap.py %s has a bug: %s: %s" % (__version__, type(error).__name__, error),
        fix={"where": "online", "command": "report a bug in bootstrap.py %s to its maintainers, "
             "with this JSON report (--json or --report FILE): its traceback says where"
             % __version__},
        details={"traceback": "".join(traceback.format_exception(
            type(error), error, error.__traceback__))})


# Problems with the input itself (its fix is another upload or bundle): exit code 2.
_INPUT_PROBLEMS = frozenset(row.code for row in _CODE_ROWS.values()
                            if row.code == row.reported_as and row.fix in ("upload", "rebuild"))
_CLI_PREFIX = "python bootstrap.py "


class Phrasing(collections.namedtuple("Phrasing", "place command")):
    """How a report's steps and fixes name a command of bootstrap.py where the report is shown:
    ``place`` is "cli", "notebook" or "tool", and ``command(arguments, place)`` phrases the
    CLI command `python bootstrap.py ARGUMENTS` there (a Python call in a notebook, a tool call
    for an agent). Only the entry points know the command line and the tools: they make the
    phrasing that Report uses (see _phrase_command)."""

    __slots__ = ()

    def at(self, place):
        return self._replace(place=place)

    def phrase(self, text):
        """(prose, command) of a step or fix; a text naming no command is all prose."""
        head, found, arguments = text.partition(_CLI_PREFIX)
        if not found:
            return text, ""
        return head, self.command(arguments, self.place)


def _as_written(arguments, place):
    return _CLI_PREFIX + arguments


class Report(dict):
    """What one command found: a plain, JSON-serialisable mapping with `ok`, short text, JSON
    and, in a notebook, Markdown and HTML. ``phrasing`` says how its commands read where it
    is shown (the entry points give the class theirs)."""

    phrasing = Phrasing("cli", _as_written)

    @property
    def ok(self):
        return self.get("status") == "ok"

    @property
    def exit_code(self):
        codes = set(p["code"] for p in self.get("problems", ()))
        if codes & _INPUT_PROBLEMS:
            return 2
        return 0 if self.ok else 1

    def __str__(self):
        return render_report(self)

    def _repr_markdown_(self):
        return render_markdown(self)

    def _repr_html_(self):
        return render_html(self)

    def _repr_pretty_(self, printer, cycle):
        printer.text(render_report(self, place="notebook"))


def error_report(command, problem, target):
    """The Report of a command that stopped at ``problem`` (bootstrap's own bug, say) before it
    could find anything else, for the interpreter whose target is ``target``."""
    report = Report(schema=REPORT_SCHEMA, command=command, status="failed", target=target)
    for key in ("roots", "blocked_roots", "would_install", "installed", "satisfied", "wheels",
                "sdists", "skipped"):
        report[key] = []
    report["problems"] = [problem.to_json()]
    report["fix"] = None
    report["next_steps"] = ["%s: %s%s" % (
        "On a machine with internet" if problem.fix["where"] == "online" else "Here",
        problem.fix["before"] + ", then run: " if problem.fix.get("before") else "",
        problem.fix["command"])]
    report["notes"] = []
    return report


class ProfileReport(Report):
    """The profile of an interpreter as a Report: a plain mapping that renders as a summary.
    ``tool`` is the command that builds a bundle (see _bundle_tool)."""

    tool = "python tools/bundle.py"

    @property
    def ok(self):
        return True

    @property
    def exit_code(self):
        return 0

    def __str__(self):
        return render_profile(Profile.from_json(dict(self), source=self.get("source", "profile")),
                              self.tool)

    def _repr_markdown_(self):
        return "```\n%s\n```" % self

    def _repr_html_(self):
        return "<pre>%s</pre>" % _escape_html(self)

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))


def _dump_json(data):
    """The JSON text of a report (or a profile, a manifest): what --json prints."""
    try:
        return json.dumps(data, indent=2, sort_keys=False) + "\n"
    except MemoryError:  # indented, json encodes in Python; compact, in C, with less memory
        pass  # out of this block, the failed attempt's frames let go (encode's: its chunks)
    return json.dumps(data) + "\n"


#: The online command that builds a bundle: (the tool, the target or profile file).
_BUNDLE_COMMAND = "%s REQUIREMENT... --profile %s -o bundle.tar.gz"


def render_profile(profile, tool="python tools/bundle.py"):
    """A short human summary of a profile (what `inspect` prints); ``tool`` builds bundles."""
    python = profile.python
    env = profile.marker_environment
    libc = profile.libc
    paths = profile.paths
    libc_text = ("%s %s" % (libc["kind"], libc["version"]) if libc.get("kind") and libc.get("version")
                 else libc.get("kind") or "n/a")
    if paths.get("install"):
        where = "%s (%s, writable)" % (paths["install"], paths.get("install_kind"))
    else:
        where = "%s (NOT writable; use --target DIR)" % paths.get("purelib", "?")
    pip = profile.pip
    lines = [
        "Python %s (%s) at %s" % (env.get("python_full_version"),
                                  env.get("platform_python_implementation"),
                                  python.get("executable", "?")),
        "Platform: %s %s, libc %s" % (env.get("platform_system"), env.get("platform_machine"),
                                      libc_text),
        "Wheel tags: %d supported, best first" % len(profile.tags),
        "Installs to: %s" % where,
        "pip: %s" % ("%s" % pip["version"] if pip else "no pip"),
        "Installed distributions: %d" % len(profile.installed),
    ] + ([
        "Layered over base %s: installs go to this layer, the base is never changed"
        % profile.sandbox["layered_over"]] if profile.sandbox.get("layered_over") else []) + (
        [_pyodide_line(profile.sandbox["pyodide"])] if profile.sandbox.get("pyodide") else []) + [
        "Target: %s" % profile.target_tag,
        "Build a bundle for it, on a machine with internet:",
        "  " + _BUNDLE_COMMAND % (tool, profile.target_tag),
    ]
    return "\n".join(lines)


def _pyodide_line(pyodide):
    return ("Sandbox: Pyodide %s (ABI %s)%s; no processes or threads; %d packages of its own "
            "install with micropip" % (pyodide.get("version"), pyodide.get("abi"),
                                       ", JupyterLite" if pyodide.get("jupyterlite") else "",
                                       len(pyodide.get("packages") or ())))


def _short(items, limit=6):
    text = ", ".join(items[:limit])
    return text + (" and %d more" % (len(items) - limit) if len(items) > limit else "")


def render_report(report, max_problems=8, place="cli"):
    """The short text of a report (at most about 25 lines); the JSON has the full detail.
    ``place`` phrases the commands of the next steps (see Phrasing)."""
    wheels = report.get("wheels", [])
    fitting = sum(1 for w in wheels if w.get("compatible"))
    lines = ["%s: %s (target %s)" % (report.get("command"), report.get("status", "?").upper(),
                                     report.get("target"))]
    lines.append(_bundle_line(report))
    blocked = _blocked_line(report)
    if blocked:
        lines.append(blocked)
    for key, title in (("installed", "Installed"), ("would_install", "Would install")):
        items = report.get(key) or []
        if items:
            lines.append("%s %d: %s" % (title, len(items), _short(
                ["%s %s" % (i["name"], i["version"]) for i in items])))
    satisfied = report.get("satisfied") or []
    if satisfied:
        lines.append("Already satisfied %d: %s" % (len(satisfied), _short(
            ["%s %s" % (i["name"], i["version"]) for i in satisfied])))
    shadowed = report.get("shadowed") or []
    if shadowed:
        lines.append("Shadows (base left as it was): %s" % _short(
            ["%s %s by %s" % (i["name"], i["version"], i["by"]) for i in shadowed]))
    if report.get("activation"):
        lines.append("Activate elsewhere: %s" % report["activation"]["how"])
    for env in report.get("environments") or []:
        lines.append("Environment %s: Python %s at %s; %s" % (
            env["archive"], env["version"], env["path"],
            "its packages are importable here" if env["importable_here"]
            else "another interpreter: run %s" % env["run_with"]))
    lines.extend(_listed("Problems", ["[%s] %s" % (p["code"], p["message"])
                                      for p in report.get("problems") or []], max_problems))
    lines.extend(_listed("Notes", report.get("notes") or [], 3))
    fix = _shown_fix(report)
    if fix:
        lines.append("Fix, online, one command for everything missing:")
        lines.append("  " + fix["command"])
        if fix.get("profile_file"):
            lines.append("  (beside %s, which this run wrote)" % fix["profile_file"])
        lines.append("  or: " + fix["alt"])
    for head, command in _steps(report, place, [fix["command"]] if fix else [])[:4]:
        lines.append("Next: " + head + command)
    return "\n".join(lines)


def _listed(title, items, most):
    """The short text's lines of a list: its title and count, then at most ``most`` items."""
    if not items:
        return []
    lines = ["%s (%d):" % (title, len(items))] + ["  " + item for item in items[:most]]
    if len(items) > most:
        lines.append("  ... %d more in the JSON report" % (len(items) - most))
    return lines


def _bundle_line(report):
    wheels = report.get("wheels", [])
    return "Bundle: %d wheels (%d fit this interpreter), %d sdists; roots: %s" % (
        len(wheels), sum(1 for w in wheels if w.get("compatible")),
        len(report.get("sdists", [])), _short(report.get("roots", []), 4) or "none")


def _blocked_line(report):
    """Which requested projects (roots) were not installed, or would not be, if any."""
    blocked = report.get("blocked_roots") or []
    if not blocked:
        return None
    return "%s (requested): %s; see the problems" % (
        "Not installed" if report.get("command") == "install" else "Would not install",
        _short(blocked, 6))


def _phrasing(report, place):
    """How ``report``'s commands read at ``place`` (a plain mapping's: as written)."""
    return getattr(report, "phrasing", Report.phrasing).at(place)


def _steps(report, place, shown=()):
    """The next steps as (prose, command), phrased for ``place``, leaving out those whose
    command is already shown as a fix (``shown``)."""
    phrasing = _phrasing(report, place)
    steps = []
    for step in report.get("next_steps") or []:
        if any(command and command in step for command in shown):
            continue
        head, command = phrasing.phrase(step)
        if place == "notebook" and getattr(report, "found_uploads", False) and \
                step.startswith("Upload "):
            head = head.replace(", then run ", ", then re-run this cell (it takes every upload "
                                "it finds) or run ", 1)
        steps.append((head, command))
    return steps


def _phrase_report(report, place):
    """A copy of ``report`` whose next steps and sandbox fixes are phrased for ``place``."""
    phrasing = _phrasing(report, place)
    phrased = type(report)(report)
    phrased["next_steps"] = ["".join(phrasing.phrase(step)) for step in
                             report.get("next_steps") or []]
    problems = []
    for problem in report.get("problems") or []:
        fix = problem.get("fix") or {}
        if fix.get("where") == "sandbox" and fix.get("command"):
            problem = dict(problem, fix=dict(fix, command="".join(phrasing.phrase(
                fix["command"]))))
        problems.append(problem)
    phrased["problems"] = problems
    return phrased


# Rendering for notebooks: Markdown and HTML, in which text from the upload stays text.

def _escape_html(text):
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


_STATUS_COLOURS = {"ok": "#1a7f37", "partial": "#9a6700", "failed": "#cf222e"}


_WHERE = {"online": "online, on a machine with internet", "sandbox": "here, in the sandbox"}


_CODE_STYLE = ("margin:0.3em 0 0.6em 0;padding:0.4em 0.6em;background:#f6f8fa;"
               "border:1px solid #d0d7de;border-radius:4px;white-space:pre-wrap;"
               "word-break:break-all")


def _report_rows(report):
    """(label, text) rows of what a report found, fixes and next steps aside."""
    rows = [("target", report.get("target"))]
    blocked = report.get("blocked_roots") or []
    if blocked:
        rows.append(("not installed" if report.get("command") == "install"
                     else "would not install", "%s (requested; see the problems)"
                     % ", ".join(blocked)))
    for key in ("installed", "would_install", "satisfied"):
        items = report.get(key) or []
        if items:
            rows.append((key.replace("_", " "), ", ".join(
                "%s %s" % (i["name"], i["version"]) for i in items)))
    if report.get("shadowed"):
        rows.append(("shadows", ", ".join("%s %s by %s" % (i["name"], i["version"], i["by"])
                                          for i in report["shadowed"])))
    if report.get("activation"):
        rows.append(("activate elsewhere", report["activation"]["how"]))
    for note in report.get("notes") or []:
        rows.append(("note", note))
    return rows


def _unread_uploads(problems):
    """The problems (as JSON) of uploads that cannot be read (corrupt, refused, a broken
    wheel in one): an install stops at them, so they are fixed first."""
    return [p for p in problems if p["code"] in _INPUT_PROBLEMS and p["fix"]]


def _shown_fix(report):
    """The report's one online fix for everything missing, as shown to people: none while an
    upload cannot be read (what is missing is known once it is: the next steps say so)."""
    return None if _unread_uploads(report.get("problems") or []) else report.get("fix")


def _report_fixes(report):
    """[(label, where, [(lead, command)])]: each fix once, its command phrased for a
    notebook; the shared online fix (and its pip alternative) last."""
    fix = _shown_fix(report)
    shared = (report.get("fix") or {}).get("command")  # shown once, last, if at all
    phrasing = _phrasing(report, "notebook")
    fixes = []
    for problem in report.get("problems") or []:
        item = problem.get("fix") or {}
        if not item.get("command") or item.get("command") == shared:
            continue
        lead = item["before"] + ", then run:" if item.get("before") else ""
        entry = ("for %s %s" % (problem["code"], problem["subject"]), item.get("where"),
                 [(lead, "".join(phrasing.phrase(item["command"])))])
        if entry not in fixes:
            fixes.append(entry)
    if fix:
        fixes.append(("for everything missing, one command", "online",
                      [("", fix["command"]), ("or, with pip alone:", fix["alt"])]))
    return fixes


def _shown_commands(report):
    commands = [(p.get("fix") or {}).get("command") for p in report.get("problems") or []]
    return [c for c in commands + [(report.get("fix") or {}).get("command")] if c]


def _text_md(text):
    """Text from a report (names from the upload) as Markdown text: no HTML in it runs."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_markdown(report):
    """The report as Markdown, for a notebook."""
    status = report.get("status") or "?"
    lines = ["### %s: <span style=\"color:%s\">**%s**</span>" % (
        report.get("command"), _STATUS_COLOURS.get(status, "#57606a"), status.upper()),
        "", _text_md(_bundle_line(report)), "", "| | |", "|---|---|"]

    def cell(text, code=False):  # prose is text, not markup; a code span is literal
        text = str(text) if code else _text_md(text)
        return text.replace("|", "\\|").replace("\n", " ")
    for key, value in _report_rows(report):
        lines.append("| **%s** | %s |" % (key, cell(value)))
    for problem in report.get("problems") or []:
        lines.append("| **%s** | %s |" % (problem["code"], cell(problem["message"])))
    for head, command in _steps(report, "notebook", _shown_commands(report)):
        lines.append("| **next** | %s%s |" % (cell(head), "`%s`" % cell(command, code=True)
                                               if command else ""))
    for label, where, commands in _report_fixes(report):
        lines.extend(["", "**Fix** %s, %s:" % (_text_md(label), _WHERE.get(where, where))])
        for lead, command in commands:
            lines.extend(["", _text_md(lead), "```sh" if "bootstrap." not in command
                          else "```python", command, "```"] if lead else
                         ["", "```sh" if "bootstrap." not in command else "```python",
                          command, "```"])
    return "\n".join(lines)


def render_html(report):
    """The report as HTML, for a notebook."""
    status = report.get("status") or "?"
    heading = ("<h3 style='margin:0.2em 0'>%s <span class='sandbox-bootstrap-status' "
               "style='background:%s;color:#fff;border-radius:4px;padding:0 0.4em'>%s</span>"
               "</h3>" % (_escape_html(report.get("command")),
                          _STATUS_COLOURS.get(status, "#57606a"), _escape_html(status.upper())))
    row = ("<tr><th style='text-align:left;vertical-align:top'>%s</th>"
           "<td style='text-align:left'>%s</td></tr>")
    rows = [row % (_escape_html(k), _escape_html(v)) for k, v in _report_rows(report)]
    rows.extend(row % (_escape_html(p["code"]), _escape_html(p["message"]))
                for p in report.get("problems") or [])
    for label, where, commands in _report_fixes(report):
        rows.append(row % ("fix", "%s, %s:%s" % (
            _escape_html(_WHERE.get(where, where).capitalize()), _escape_html(label),
            "".join("%s<pre style='%s'><code>%s</code></pre>" % (
                _escape_html(lead), _CODE_STYLE, _escape_html(command))
                for lead, command in commands))))
    for head, command in _steps(report, "notebook", _shown_commands(report)):
        rows.append(row % ("next", _escape_html(head) + (
            "<code>%s</code>" % _escape_html(command) if command else "")))
    return ("<div class='sandbox-bootstrap-report'>%s<p>%s</p><table>%s</table></div>"
            % (heading, _escape_html(_bundle_line(report)), "".join(rows)))


FIX_BUNDLE_NAME = "bundle-fix.tar.gz"


def _quote(text):
    import shlex
    return shlex.quote(text)


# == 6. Intake: the bundle a user uploaded (I/O) ==============================================
# -- The gate from untrusted names to paths ----------------------------------------------------
# Every name that comes from outside and becomes a path (archive members, wheel members,
# RECORD entries, `.data/<scheme>/` keys, entry-point names, `.dist-info` names, journal
# entries) passes through contained_path(): it refuses absolute names, drive letters, `..`,
# NUL bytes and parts too long for a file system, and returns a path inside `root` by
# construction. Names bootstrap keeps for its own state are reserved: no upload may use them.
# Where no path is built (a check before anything is written), _checked_parts() is the same
# check, returning the name's parts.

_NAME_MAX = 255  # bytes in one path component (ext4, tmpfs, xfs, APFS)
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
STAGING_DIR = ".bootstrap-staging"  # an install's staging folders and journal
LOCK_NAME = ".bootstrap.lock"
OVERLAY_MARKER = ".sandbox-bootstrap-overlay"  # what makes a folder an overlay
RESERVED_NAMES = frozenset([STAGING_DIR, LOCK_NAME, OVERLAY_MARKER])


def split_member_name(name):
    """The parts of a relative '/'-separated name (backslashes count as '/'), or None when the
    name is empty or could leave its root: absolute, a drive, `..`, NUL, an over-long part."""
    clean = name.replace("\\", "/") if "\\" in name else name
    if (not clean or clean[0] == "/" or "\0" in clean
            or (clean[1:2] == ":" and clean[0] in _ASCII_LETTERS)):
        return None
    parts = clean.split("/")
    if "" in parts or "." in parts:
        parts = [part for part in parts if part not in ("", ".")]
    if not parts or ".." in parts:
        return None
    # 4: the most bytes one character takes in UTF-8; only a part that long is encoded
    if len(clean) * 4 > _NAME_MAX and max(map(len, parts)) * 4 > _NAME_MAX and any(
            len(part.encode("utf-8", "surrogateescape")) > _NAME_MAX for part in parts):
        return None
    return parts


def _checked_parts(name, what="member", subject=None, reserved=True):
    """The gate without a root: the parts of the untrusted relative ``name``, or
    UnsafeMemberError (naming ``what`` and ``subject``) for a name that could leave its root
    or that uses a name reserved for bootstrap's own state."""
    parts = split_member_name(name)
    if parts is None:
        raise UnsafeMemberError("%s: %s %r is empty, absolute, has a parent (..) or an "
                                "over-long part; refused" % (subject, what, name), subject)
    if reserved and not RESERVED_NAMES.isdisjoint(parts):
        raise UnsafeMemberError("%s: %s %r uses a name bootstrap keeps for its own state; "
                                "refused" % (subject, what, name), subject)
    return parts


def contained_path(root, name, what="member", subject=None, reserved=True):
    """``root`` joined with the untrusted relative ``name``; UnsafeMemberError (naming
    ``what`` and ``subject``) for a name that could leave ``root`` or that uses a name reserved
    for bootstrap's own state."""
    return os.path.join(root, *_checked_parts(name, what, subject or root, reserved))


# -- Bundle intake ----------------------------------------------------------------------------
# Turns what the user uploaded (archives, nested archives, split parts, folders, single
# wheels) into a folder of plain files, writing nothing outside its work folder. Archives are
# recognised by their content, not their name, and extracted as a stream: memory stays flat.
# Every member name becomes a path through the one gate, contained_path().
# Refused: absolute paths, `..`, links that leave the folder, writes through links, devices
# and fifos, members that overwrite each other, and uploads that cost more than their budget
# (one _Budget per upload, shared by every archive nested in it: bytes, members, depth).
# Accepted as tools really make them: the archive's own `./` entry, macOS metadata (ignored
# with a note), split parts as `split` and 7-Zip name them, a browser's ` (1)` in a name.
# Left out: symlinks are never created (an sdist or wheel does not need them); a link whose
# target stays inside is skipped and noted.

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar", ".zip")
_SPLIT_PART_RE = _LazyRegex(r"""
    ^(?:(?P<base>.+?)\.part-?(?P<token>\d+|[a-z]{2,})     # NAME.part-001, NAME.part-aa
      | (?P<dotted>.+)\.(?P<dotted_token>\d{2,}|[a-z]{2,3})  # NAME.001 (7-Zip), NAME.aa, NAME.00
      | (?P<bare>x)(?P<bare_token>\d{2,}|[a-z]{2,})       # xaa, xab, x00 (split, no prefix)
    )$""", re.VERBOSE)
_BROWSER_COPY_RE = _LazyRegex(r"""
    ^(?P<stem>.+?)\ ?\((?P<copy>\d{1,3})\)                 # NAME (1), NAME(2)
     (?P<suffix>\.tar\.gz|\.tgz|\.tar\.bz2|\.tbz2|\.tar\.xz|\.txz|\.tar|\.zip|\.whl|\.json)$
    """, re.VERBOSE)
_HEADER_SLACK = 1024 * 1024  # tar headers (pax, GNU long names) beyond this are refused
_METADATA_LIMIT = 64 * 1024 ** 2  # METADATA, RECORD, WHEEL, entry_points.txt are read whole
_CHUNK = 1024 * 1024


class IntakeLimits(collections.namedtuple(
        "IntakeLimits", "max_total max_ratio ratio_floor max_members max_depth")):
    """One upload's budget: bytes written (max_total, and max_ratio times the upload's size
    past ratio_floor; no ratio when max_ratio is None), members (folders and empty files
    count), and how deep archives may nest. Defaults never bother a real bundle."""

    __slots__ = ()

    def __new__(cls, max_total, max_ratio, ratio_floor, max_members=30000, max_depth=4):
        return super(IntakeLimits, cls).__new__(cls, max_total, max_ratio, ratio_floor,
                                                max_members, max_depth)


DEFAULT_LIMITS = IntakeLimits(max_total=8 * 1024 ** 3, max_ratio=200, ratio_floor=64 * 1024 ** 2)
ENVIRONMENT_LIMITS = IntakeLimits(64 * 1024 ** 3, 200, 64 * 1024 ** 2, max_members=2000000)


def _parse_size(text):
    """Bytes of a size such as 500M, 16G, 2.5GB or 1000000 (--max-upload-size)."""
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", str(text), re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError("not a size: %r (say 500M, 16G or a number of bytes)"
                                         % (text,))
    power = " kmgt".index(match.group(2).lower() or " ")
    return int(float(match.group(1)) * 1024 ** power)


def _human_size(size):
    for unit, power in (("G", 3), ("M", 2), ("K", 1)):
        if size >= 1024 ** power:
            return "%g%s" % (round(float(size) / 1024 ** power, 1), unit)
    return "%d bytes" % size


class _Budget(object):
    """What one upload may still cost, shared by every archive nested in it. Exceeding any
    part is unsafe-archive-member, naming the upload, the limit and the flag that raises it."""

    def __init__(self, limits, upload, size):
        self.limits = limits
        self.upload = upload
        self.size = max(size, 1)
        self.written = 0
        self.members = 0
        self.max_bytes = limits.max_total
        self.by_ratio = False
        if limits.max_ratio is not None:
            by_ratio = max(limits.ratio_floor, limits.max_ratio * self.size)
            self.by_ratio = by_ratio < limits.max_total
            self.max_bytes = min(limits.max_total, by_ratio)

    def _refuse(self, what, flag, value):
        error = UnsafeMemberError("%s %s: refused (if you trust it, rerun with %s %s)"
                                  % (self.upload, what, flag, value), self.upload)
        error.limit = (flag, str(value))  # the command that ran phrases the fix: it, raised
        error.whole_upload = True  # the upload's budget is spent: stop reading all of it
        raise error

    def check_bytes(self, size):
        """Refuse when ``size`` more bytes would not fit (a zip's directory, up front)."""
        if self.written + size <= self.max_bytes:
            return
        if self.by_ratio:
            self._refuse("expands to more than %s (an upload of %s may expand %d times, and "
                         "at least to %s): a decompression bomb"
                         % (_human_size(self.max_bytes), _human_size(self.size),
                            self.limits.max_ratio, _human_size(self.limits.ratio_floor)),
                         "--max-upload-size", _human_size(self.max_bytes * 4))
        self._refuse("expands to more than %s: a decompression bomb"
                     % _human_size(self.max_bytes), "--max-upload-size",
                     _human_size(self.max_bytes * 2))

    def account(self, size):
        self.check_bytes(size)
        self.written += size

    def count_members(self, count=1):
        self.check_members(count)
        self.members += count

    def check_members(self, count):
        if self.members + count > self.limits.max_members:
            self._refuse("holds more than %d members (files, folders and links, counting "
                         "the archives inside it)" % self.limits.max_members,
                         "--max-members", self.limits.max_members * 4)

    def check_depth(self, depth, path):
        if depth >= self.limits.max_depth:
            self._refuse("has archives nested more than %d deep (%s)"
                         % (self.limits.max_depth, os.path.basename(path)),
                         "--max-nesting", self.limits.max_depth * 2)


def _intake_limits(max_upload_size=None, max_members=None, max_nesting=None, limits=None):
    """``limits`` (DEFAULT_LIMITS) with --max-upload-size (bytes, or a size such as 16G),
    --max-members and --max-nesting, as the command line, a notebook's call and a tool call
    give them; an explicit size replaces the ratio (the user vouches for the upload)."""
    limits = limits or DEFAULT_LIMITS
    if max_upload_size is not None:
        limits = limits._replace(max_total=_parse_size(max_upload_size), max_ratio=None)
    if max_members is not None:
        limits = limits._replace(max_members=int(max_members))
    if max_nesting is not None:
        limits = limits._replace(max_depth=int(max_nesting))
    return limits


def _sniff(path):
    """The kind of archive a file is by its first bytes: gz, bz2, xz, zip, tar, or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError as error:
        _raise_if_reading_failed(error, path)
        raise ArchiveError("cannot read %s: %s" % (path, error.strerror or error), path)
    if head[:2] == b"\x1f\x8b":
        return "gz"
    if head[:3] == b"BZh":
        return "bz2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return None


def _describe_content(path):
    """A hint at what a non-archive file is, for the error message."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:
        return ""
    if not head:
        return " (it is empty)"
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html", b"<?xml")):
        return " (it is an HTML page: an error page saved instead of the file?)"
    return " (it starts with %r)" % (head[:16],)


def _not_an_archive(path):
    """The error for an upload that is no archive: uploading the same file again changes
    nothing (unless it is empty: an upload that failed), the real file does."""
    name = os.path.basename(path)
    error = ArchiveError("%s is not an archive%s" % (path, _describe_content(path)), path)
    error.fix = {"where": "online", "command": "download the bundle itself (not a page that "
                 "links to it) and upload that file in place of %s" % name}
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        error.fix = _reupload_fix(path)
    return error


def _is_macos_metadata(name):
    """Whether a member is macOS Finder or tar metadata: __MACOSX/, ._* AppleDouble, .DS_Store."""
    parts = [part for part in name.replace("\\", "/").split("/") if part]
    return bool(parts) and (parts[0] == "__MACOSX" or parts[-1] == ".DS_Store"
                            or parts[-1].startswith("._"))


def _metadata_note(where, count):
    return ("ignored %d macOS metadata entr%s in %s (__MACOSX/, ._* AppleDouble files, "
            ".DS_Store)" % (count, "y" if count == 1 else "ies", where))


class _ExtractionRoot(object):
    """The one place intake writes to: owns the paths (through contained_path), the
    overwrite and link guards, and the upload's budget."""

    def __init__(self, root, budget, archive, environment=False):
        self.environment = environment  # a whole environment: keep inner links and modes
        self.root = os.path.realpath(root)
        self.budget = budget
        self.archive = archive
        self.files = set()
        self.dirs = set()
        self.real_parents = set()  # folders already seen to be no link (members cannot
        self.metadata = 0          # replace a folder later: a file there is an overwrite)

    def skip_metadata(self, name):
        """Whether ``name`` is macOS metadata, which is counted and skipped (never written)."""
        if self.environment or not _is_macos_metadata(name):
            return False
        self.metadata += 1
        return True

    def path_for(self, name, is_dir=False):
        """The real path a member name maps to; refuses every name that could escape, and
        every member that would overwrite another (a file twice, a file where a folder is)."""
        clean = name.replace("\\", "/")
        if is_dir and not clean.startswith("/") and not [
                p for p in clean.split("/") if p not in ("", ".")]:
            return self.root  # the archive's own folder: `.` or `./` (tar -C dir .)
        target = contained_path(self.root, name, "member", self.archive)
        parts = split_member_name(name)
        key = "/".join(parts)
        parents = ["/".join(parts[:i]) for i in range(1, len(parts))]
        if (key in self.files or (not is_dir and key in self.dirs)
                or any(parent in self.files for parent in parents)):
            raise UnsafeMemberError("%s: member %r would overwrite another member"
                                    % (self.archive, name), self.archive)
        (self.dirs if is_dir else self.files).add(key)
        self.dirs.update(parents)
        parent = os.path.dirname(target)
        if parent not in self.real_parents:
            if os.path.realpath(parent) != os.path.normpath(parent):
                raise UnsafeMemberError("%s: member %r would be written through a link"
                                        % (self.archive, name), self.archive)
            self.real_parents.add(parent)
        return target

    def write_stream(self, name, source, mode=None, declared=None, account=True):
        """Copy a member to its path in chunks, never past its ``declared`` size."""
        target = self.path_for(name)
        _makedirs(os.path.dirname(target))
        written = 0
        with open(target, "wb") as out:
            while True:
                block = source.read(_CHUNK)
                if not block:
                    break
                written += len(block)
                if declared is not None and written > declared:
                    raise UnsafeMemberError("%s: member %r holds more than the %d bytes it "
                                            "declares; refused" % (self.archive, name, declared),
                                            self.archive)
                if account:
                    self.budget.account(len(block))
                out.write(block)
        if self.environment and mode is not None and mode & 0o111:
            os.chmod(target, 0o755)
        return target

    def make_link(self, name, link, hard=False):
        """Inside an environment: recreate a link that stays inside (checked first)."""
        target = self.check_link(name, link, hard)
        _makedirs(os.path.dirname(target))
        if hard:
            import shutil
            shutil.copy2(contained_path(self.root, link, "link target", self.archive), target)
        else:
            os.symlink(link, target)

    def make_dir(self, name):
        """A folder member: checked and counted, but made only by the files written into it
        (empty folders are no use to a bundle, and 40,000 of them would cost 40,000 inodes)."""
        target = self.path_for(name, is_dir=True)
        if self.environment:
            _makedirs(target)

    def check_link(self, name, link, hard=False):
        """Refuse a link whose target leaves the folder; returns the link's own path."""
        target = self.path_for(name)
        base = self.root if hard else os.path.dirname(target)
        resolved = os.path.normpath(os.path.join(base, link))
        if os.path.isabs(link) or not (resolved + os.sep).startswith(self.root + os.sep):
            raise UnsafeMemberError("%s: link %r points outside the bundle (%r)"
                                    % (self.archive, name, link), self.archive)
        return target


def _makedirs(path):
    if not os.path.isdir(path):
        os.makedirs(path, exist_ok=True)


def _check_free_space(folder, needed, archive):
    try:
        stat = os.statvfs(folder)
    except (OSError, AttributeError):
        return
    free = stat.f_bavail * stat.f_frsize
    if needed > free:
        error = BootstrapError("%s needs %d MB to extract but %s has only %d MB free"
                               % (archive, needed // 1024 ** 2 + 1, folder, free // 1024 ** 2),
                               archive, code="not-writable")
        error.remedy, error.folder = "space", folder  # fixed by the command (_sandbox_fix)
        raise error


def _archive_read_errors():
    """What reading a truncated, corrupt, mislabelled or hostile archive can raise, and a bug
    of bootstrap's cannot: the archive and compression modules' errors, OSError, EOFError,
    struct.error (zipfile before 3.12), a parser's ValueError (UnicodeDecodeError too),
    NotImplementedError (a zip compression method this Python lacks), intake's refusals."""
    import tarfile
    import zipfile
    errors = [BootstrapError, OSError, EOFError, ValueError, NotImplementedError, struct.error,
              tarfile.TarError, zipfile.BadZipFile, zipfile.LargeZipFile]
    for module, name in (("zlib", "error"), ("lzma", "LZMAError")):
        try:  # either can be missing from a small build (Pyodide loads lzma on demand)
            errors.append(getattr(__import__(module), name))
        except ImportError:
            pass
    return tuple(errors)


def _is_corrupt_error(error):
    """Whether an exception from reading an archive means the archive itself is bad."""
    import tarfile
    import zipfile
    if isinstance(error, (tarfile.TarError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError,
                          NotImplementedError)):
        return True
    if isinstance(error, OSError):
        return error.errno is None  # gzip.BadGzipFile, bz2's "Invalid data stream"
    return type(error).__module__ in ("zlib", "_lzma", "lzma")  # zlib.error, LZMAError


# -- The sandbox's own failures ---------------------------------------------------------------
# An OSError with an errno is what the sandbox did to a read or a write: a full disk, a
# permission, one of its limits (`ulimit -f`: EFBIG, since CPython ignores SIGXFSZ; `ulimit
# -n`: EMFILE), a path longer than the system takes, a failing disk, no memory. It is never
# what a file holds (a corrupt archive raises its module's error, or an OSError with no errno:
# gzip's BadGzipFile), so its fix is made in the sandbox, never by another upload.

#: errno names, and the kind of remedy that changes the outcome (_sandbox_cause).
_SANDBOX_ERRNOS = (("ENOSPC", "space"), ("EDQUOT", "space"), ("EACCES", "permission"),
                   ("EPERM", "permission"), ("EROFS", "permission"), ("EFBIG", "file-size"),
                   ("EMFILE", "open-files"), ("ENFILE", "open-files"), ("ENOMEM", "memory"),
                   ("ENAMETOOLONG", "path-length"), ("EIO", "disk"))


def _load_modules_first(installing=False):
    """Import now, in one thread, what saying why the sandbox failed needs (resource, shlex)
    and, ``installing``, what the extraction threads import: at the open-file limit an import
    fails like the write it would explain, and one failing in a thread can leave another
    thread a module half made (AttributeError)."""
    import shlex  # noqa: F401  (_quote)
    try:
        import resource  # noqa: F401
    except ImportError:  # Windows, Pyodide
        pass
    if installing:
        for name in ("base64", "hashlib", "zipfile", "zlib", "shutil", "marshal", "pickle",
                     "subprocess", "csv"):
            try:
                __import__(name)
            except ImportError:  # a small build without zlib, no processes (Pyodide)
                pass


def _resource_limit(name):
    """(soft, hard) of the resource limit ``name`` ("RLIMIT_FSIZE"), None for unlimited; None
    where limits cannot be read (Windows, Pyodide)."""
    try:
        import resource
        limits = resource.getrlimit(getattr(resource, name))
    except (ImportError, AttributeError, OSError, ValueError):
        return None
    return tuple(None if value == resource.RLIM_INFINITY else value for value in limits)


def _short_path(path, keep=120):
    """``path``, or its two ends where it is longer than a line should be (ENAMETOOLONG)."""
    return path if len(path) <= 2 * keep + 3 else path[:keep] + "..." + path[-keep:]


def _path_limits(folder):
    """(PATH_MAX, NAME_MAX) of the file system under ``folder`` (POSIX's least, unknown)."""
    limits = []
    for name, least in (("PC_PATH_MAX", 4096), ("PC_NAME_MAX", 255)):
        try:
            limits.append(os.pathconf(_nearest_existing(folder) or os.sep, name))
        except (OSError, ValueError, AttributeError):
            limits.append(least)
    return tuple(limits)


#: What the dynamic loader says (dlerror) when it cannot map a shared object for lack of
#: memory (ENOMEM), as an ImportError of the module being loaded.
_LOAD_ENOMEM = ("failed to map segment from shared object", ": Cannot allocate memory")


def _sandbox_cause(error, folder):
    """(why, remedy) of an OSError the sandbox caused, or None (no errno: the file is corrupt;
    not an OSError). ``why`` says what happened (the errno's meaning, its name, the path and
    the limit involved); ``remedy`` is the kind in _SANDBOX_ERRNOS ("other" for the rest).
    ``folder``: where it was written (the path, when the error names none). A MemoryError
    is the sandbox's memory too, and so is a compiled module that could not be mapped into
    memory (the dynamic loader's ENOMEM: an ImportError)."""
    if isinstance(error, MemoryError):
        return ("this sandbox ran out of memory (a limit on its memory: `ulimit -v`, a "
                "container's)", "memory")
    if isinstance(error, ImportError) and any(text in str(error) for text in _LOAD_ENOMEM):
        return ("this sandbox ran out of memory loading the compiled module %s (a limit on "
                "its memory: `ulimit -v`, a container's)" % (error.name or "of an import"),
                "memory")
    if not isinstance(error, OSError) or error.errno is None:
        return None
    import errno as errnos
    remedy = dict((getattr(errnos, name), kind) for name, kind in _SANDBOX_ERRNOS
                  if hasattr(errnos, name)).get(error.errno, "other")
    path = _short_path(error.filename if isinstance(error.filename, str) else folder)
    text = "%s, %s" % (error.strerror or os.strerror(error.errno),
                       errnos.errorcode.get(error.errno, "errno %d" % error.errno))
    if remedy == "space":
        return "no space left in %s (%s)" % (folder, text), remedy
    if remedy == "permission":
        return "no permission to write %s (%s)" % (path, text), remedy
    if remedy == "file-size":
        limit = _resource_limit("RLIMIT_FSIZE") or (None, None)
        return (("%s could not be written whole (%s): the file-size limit of this process "
                 "(RLIMIT_FSIZE, `ulimit -f`) is %d bytes" % (path, text, limit[0]))
                if limit[0] is not None else "%s is larger than the file system under %s "
                "holds (%s)" % (path, folder, text)), remedy
    if remedy == "open-files" and error.errno == errnos.EMFILE:
        limit = _resource_limit("RLIMIT_NOFILE") or (None, None)
        return ("too many files open at once in this process, opening %s (%s): the open-file "
                "limit (RLIMIT_NOFILE, `ulimit -n`) is %s" % (path, text, limit[0])), remedy
    if remedy == "path-length":
        full = error.filename if isinstance(error.filename, str) else ""
        return ("a path is longer than this system takes (%s): %s is %d characters, a name in "
                "it at most %d, where the limits are %d (PATH_MAX) and %d (NAME_MAX)" % ((
                    text, path, len(full), max([len(p) for p in full.split(os.sep)] + [0]))
                    + _path_limits(folder))), remedy
    return {"disk": "the disk failed to read or write %s (%s)",
            "memory": "this sandbox ran out of memory at %s (%s)",
            "open-files": "the system's table of open files is full, opening %s (%s)"}.get(
                remedy, "the sandbox refused %s (%s)") % (path, text), remedy


def _limit_raise(name, flag):
    """The shell command that raises resource limit ``name`` to its hard limit (`ulimit -f
    unlimited`), or None when the soft limit is the hard one already. A finite file-size
    limit is not named: shells count it in blocks of different sizes (bash 1024, dash 512);
    memory (`ulimit -v`, RLIMIT_AS) both count in KiB."""
    limit = _resource_limit(name)
    if limit is None or limit[0] == limit[1] or (flag == "f" and limit[1] is not None):
        return None
    return "ulimit -%s %s" % (flag, "unlimited" if limit[1] is None else
                              limit[1] // 1024 if flag == "v" else limit[1])


def _sandbox_error(error, folder, doing, subject=None):
    """The not-writable BootstrapError of an OSError the sandbox caused while ``doing`` (e.g.
    "reading bundle.tar.gz") at ``folder``, or None for an error that is not the sandbox's
    (_sandbox_cause). It carries no fix, only its ``remedy`` (the kind) and ``folder``: the
    command that knows its own command line phrases the fix (_with_sandbox_fixes)."""
    cause = _sandbox_cause(error, folder)
    if cause is None:
        return None
    why, remedy = cause
    result = BootstrapError("%s while %s" % (why, doing), subject or folder,
                            code="not-writable")
    result.remedy, result.folder, result.errno = remedy, folder, _errno_name(error)
    return result


def _raise_if_reading_failed(error, path):
    """Raise the not-writable error of an OSError that reading the upload ``path`` met where the
    sandbox failed, not the file (a disk's I/O error, too many open files, no memory)."""
    folder = os.path.dirname(os.path.abspath(path))
    cause = _sandbox_cause(error, folder)
    if cause is not None and cause[1] in ("disk", "open-files", "memory"):
        raise _sandbox_error(error, folder, "reading %s" % os.path.basename(path),
                             os.path.basename(path))


def _limit_problem(error, rerun, parallel=False):
    """The not-writable Problem of an OSError (or MemoryError) that a limit of the sandbox
    raised where nothing expected one (at the open-file limit, an import; a full disk, a
    failing one; at a memory limit, anything), or None: it is no bug of bootstrap's, and its
    fix is ``rerun`` (_rerun_command: the command that failed) once the limit allows it
    (``parallel``: with --jobs 1, which holds less at once). Made without importing anything:
    under a memory limit an import fails too."""
    here = _current_folder() or os.sep
    cause = _sandbox_cause(error, here)
    if cause is None or cause[1] in ("other", "permission"):
        return None
    filename = getattr(error, "filename", None)
    folder = os.path.dirname(os.path.abspath(filename)) if isinstance(filename, str) else here
    name = _errno_name(error)
    return Problem("not-writable", here, "%s while running bootstrap.py" % cause[0],
                   fix=_sandbox_fix(cause[1], rerun, folder, parallel=parallel),
                   details=dict([("remedy", cause[1])] + ([("errno", name)] if name else [])))


def _errno_name(error):
    """The symbol of an OSError's errno ("EFBIG"), or None."""
    import errno as errnos
    return errnos.errorcode.get(getattr(error, "errno", None) or 0)


# -- The fix of what the sandbox stopped: the command that repeats it, changed ----------------
# Only the command that ran knows its command line (install: its uploads and options; check:
# its own; main: argv): it phrases the fix of a not-writable problem from the problem's remedy
# (the kind of _SANDBOX_ERRNOS) as the exact command that repeats it so that it works (a
# `ulimit` raised first, another --target or --work-dir, --jobs 1), with what only the user can
# do first, if anything, in ``before``. Rendering phrases that command where the user is.


def _limit_options(limits):
    """The command-line words of intake ``limits`` other than the defaults (for a rerun)."""
    words = []
    limits = limits or DEFAULT_LIMITS
    if limits.max_ratio is None and limits.max_total != DEFAULT_LIMITS.max_total:
        words += ["--max-upload-size", str(limits.max_total)]
    if limits.max_members != DEFAULT_LIMITS.max_members:
        words += ["--max-members", str(limits.max_members)]
    if limits.max_depth != DEFAULT_LIMITS.max_depth:
        words += ["--max-nesting", str(limits.max_depth)]
    return words


def _device(path):
    try:
        return os.stat(_nearest_existing(os.path.abspath(path)) or os.sep).st_dev
    except OSError:
        return None


def _writable_alternative(name="python-packages", away_from=None, shortest=False):
    """A folder this process can write, for a not-writable fix (--target it, or --work-dir):
    /mnt/data/NAME, NAME in the current folder or in the temporary one. ``away_from``: not in
    that folder, nor on its disk (it is full, or failing): None when no such folder can be
    written. ``shortest``: the shortest path of those that can be written."""
    import tempfile
    candidates = []
    if os.path.isdir("/mnt/data"):
        candidates.append("/mnt/data/" + name)
    candidates.append(os.path.join(_current_folder() or tempfile.gettempdir(), name))
    candidates.append(os.path.join(tempfile.gettempdir(), name))
    writable = [path for path in candidates if _is_writable(path)]
    if away_from is not None:
        return next((path for path in writable if _device(path) != _device(away_from)
                     and not _is_within(path, away_from)), None)
    if shortest:
        return min(writable or candidates[-1:], key=len)
    return (writable or candidates[-1:])[0]


def _is_within(path, folder):
    """Whether ``path`` is ``folder`` or inside it."""
    path, folder = os.path.abspath(path), os.path.abspath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


#: What only the user can do first, where no option of the command changes the outcome.
_SANDBOX_BEFORE = {
    "space": "free some space in %s",
    "permission": "let this user write %s",
    "path-length": "move what is in %s to a folder with a shorter path",
    "disk": "make sure the disk under %s can be read and written again (an I/O error)",
    "file-size": "ask for a sandbox with a larger file-size limit (`ulimit -f`)",
    "open-files": "close what holds files open, or ask for a sandbox with a larger open-file "
                  "limit (`ulimit -n`)",
    "memory": "free some memory (end other programs), or ask for a sandbox with more memory "
              "(`ulimit -v`, a container's limit)",
    "processes": "end other processes of this user, or raise its limit on processes "
                 "(RLIMIT_NPROC: `ulimit -u N` in bash, `ulimit -p N` in sh)",
    "occupied": "move %s away (or remove it)"}


def _sandbox_fix(remedy, rerun, folder=None, moves=None, parallel=False, activate=False):
    """The fix of a command that the sandbox stopped at ``folder`` (``remedy``: a kind of
    _SANDBOX_ERRNOS, or "processes"): ``rerun`` (_rerun_command) changed so that it works, as
    a command run here verbatim, and what must be done first, if anything, in ``before``.
    ``moves``: the option that takes the work away from ``folder`` ("target", "overlay",
    "work_dir"), if one does; ``parallel``: --jobs 1 lowers what it holds at once (open
    files, memory); ``activate``: a folder moved to with --target must then be put on
    PYTHONPATH."""
    fix = collections.OrderedDict([("where", "sandbox")])
    if remedy in ("space", "permission", "disk", "path-length") and moves and folder:
        place = _writable_alternative(
            {"target": "python-packages", "overlay": "python-overlay"}.get(moves,
                                                                          "bootstrap-work"),
            away_from=folder if remedy in ("space", "disk") else None,
            shortest=remedy == "path-length")
        if place is not None and not _is_within(place, folder):
            fix["command"] = rerun(**{moves: place})
            if activate and moves == "target":
                fix["then"] = "PYTHONPATH=%s python ..." % place
            return fix
    raised = {"file-size": ("RLIMIT_FSIZE", "f"), "open-files": ("RLIMIT_NOFILE", "n"),
              "memory": ("RLIMIT_AS", "v")}.get(remedy)
    raised = raised and _limit_raise(*raised)
    if raised:
        fix["command"] = raised + " && " + rerun()
        return fix
    if parallel and remedy in ("open-files", "memory") and rerun(jobs=1) != rerun():
        fix["command"] = rerun(jobs=1)
        return fix
    if remedy in _SANDBOX_BEFORE:
        fix["before"] = _SANDBOX_BEFORE[remedy] % folder if "%s" in _SANDBOX_BEFORE[
            remedy] else _SANDBOX_BEFORE[remedy]
    fix["command"] = rerun()
    return fix


def _intake_limit_fix(upload, limit, rerun):
    """The fix of an upload an intake limit refused (``limit``: the option that raises it and
    its new value): the command that met it with that option, run only if the upload is
    trusted (the limit is what keeps a bomb out)."""
    return collections.OrderedDict([
        ("where", "sandbox"), ("before", "only if you trust %s" % os.path.basename(upload)),
        ("command", rerun(limit=tuple(limit)))])


def _with_sandbox_fixes(problems, rerun, work_folders=(), parallel=False):
    """``problems``, each that the sandbox caused (its ``remedy`` in its details, no fix yet)
    with its fix: ``rerun`` (_rerun_command: the command that met it) as _sandbox_fix changes
    it; --work-dir moves the work away from a folder within ``work_folders``."""
    fixed = []
    for problem in problems:
        remedy = problem.details.get("remedy")
        if problem.fix is None and problem.details.get("_limit"):
            problem = problem._replace(fix=_intake_limit_fix(
                problem.subject, problem.details["_limit"], rerun))
        elif problem.fix is None and remedy:
            folder = problem.details.get("_folder")
            moves = "work_dir" if folder and any(
                _is_within(folder, work) for work in work_folders if work) else None
            problem = problem._replace(fix=_sandbox_fix(remedy, rerun, folder, moves, parallel))
        fixed.append(problem)
    return fixed


def _read_archive(path, dest, extract):
    """Run ``extract(path, dest, notes)``, turning every failure into an ArchiveError."""
    import errno
    notes = []
    try:
        extract(path, dest, notes)
    except BootstrapError:
        raise
    except MemoryError:
        raise UnsafeMemberError("%s needs more memory to read than this sandbox has: refused"
                                % path, path)
    except Exception as error:
        if _is_corrupt_error(error):
            raise ArchiveError("%s is truncated or corrupt (%s); upload it again"
                               % (path, error or type(error).__name__), path)
        if isinstance(error, OSError) and error.errno in (errno.ENAMETOOLONG, errno.EILSEQ):
            raise UnsafeMemberError("%s: a member's path is too long or not a valid name "
                                    "here (%s); refused" % (path, error.strerror), path)
        sandbox = _sandbox_error(error, dest.root, "extracting %s" % path)
        if sandbox is not None:
            raise sandbox
        raise
    links = [note for note in notes if note.startswith("skipped link ")]
    if len(links) > 5:  # thousands of links make one line, not thousands
        notes = [note for note in notes if note not in links] + links[:5] + [
            "skipped %d more links in %s" % (len(links) - 5, path)]
    if dest.metadata:
        notes.append(_metadata_note(path, dest.metadata))
    return notes


class _TailReader(object):
    """The decompressed stream of a tar: remembers its last bytes (to see the end-of-archive
    blocks), charges every byte to the upload's budget, and refuses to read further than the
    current member's end plus room for the next headers (a pax header of gigabytes would
    otherwise be read whole into memory by tarfile)."""

    def __init__(self, stream, budget, archive, keep=1024):
        self.stream = stream
        self.budget = budget
        self.archive = archive
        self.keep = keep
        self.tail = b""
        self.consumed = 0
        self.allowed = _HEADER_SLACK

    def allow(self, end):
        """Allow reading up to ``end`` (a member's data end) plus the next headers; None: any."""
        self.allowed = None if end is None else end + _HEADER_SLACK

    def read(self, size=-1):
        if size is None or size < 0:
            size = _CHUNK
        if self.allowed is not None and self.consumed + size > self.allowed:
            size = max(self.allowed - self.consumed, 0)
            if size == 0:
                raise UnsafeMemberError("%s: a tar header (pax or long name) larger than %d KB;"
                                        " refused" % (self.archive, _HEADER_SLACK // 1024),
                                        self.archive)
        data = self.stream.read(size)
        if data:
            self.budget.account(len(data))
            self.consumed += len(data)
            self.tail = (self.tail + data[-self.keep:])[-self.keep:]
        return data

    def drain(self):
        self.allow(None)
        while self.read(_CHUNK):
            pass


def _inflate_bounded(raw, declared, archive, name):
    """Inflate raw-deflate bytes into at most ``declared`` bytes: a zip member whose header
    lies about its size is refused, never inflated (a 1.5 MB wheel cannot take gigabytes)."""
    import zlib
    inflater = zlib.decompressobj(-15)
    data = _inflate(inflater.decompress, raw, declared + 1)
    if len(data) <= declared and not inflater.unconsumed_tail:
        data += _inflate(inflater.flush)
    if len(data) > declared or inflater.unconsumed_tail:
        raise _bomb(archive, name, declared)
    return data


def _inflate(step, *args):
    """``step(*args)``, a zlib inflater's decompress or flush; zlib's Z_MEM_ERROR ("Error -4")
    raised as the MemoryError it is (the sandbox's memory, not a corrupt member)."""
    import zlib
    try:
        return step(*args)
    except zlib.error as error:
        if str(error).startswith("Error -4 "):
            raise MemoryError("zlib could not allocate memory to inflate (%s)" % error)
        raise


def _bomb(archive, name, declared):
    """The error of a member of ``archive`` that inflates past the size it declares."""
    subject = os.path.basename(archive)
    return UnsafeMemberError("%s: member %r inflates to more than the %d bytes it declares: "
                             "refused as a decompression bomb" % (subject, name, declared),
                             subject)


def _open_decompressed(path, kind):
    """The decompressed stream of a tar upload; its own reader checks CRC and trailer at EOF."""
    if kind == "gz":
        import gzip
        return gzip.GzipFile(path, "rb")
    if kind == "bz2":
        import bz2
        return bz2.BZ2File(path, "rb")
    if kind == "xz":
        import lzma
        return lzma.LZMAFile(path, "rb")
    return open(path, "rb")


def _extract_tar(path, dest, notes):
    import tarfile
    with _open_decompressed(path, _sniff(path)) as raw:
        stream = _TailReader(raw, dest.budget, path)
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for member in archive:
                dest.budget.count_members()
                stream.allow(member.offset_data + member.size)
                _extract_tar_member(archive, member, dest, notes)
                archive.members = []  # a stream: keep no list of every member seen
        stream.drain()  # to the end: a truncated compressed stream fails here
    if stream.tail.strip(b"\0"):
        raise ArchiveError("%s ends without the tar end-of-archive marker: it was cut short; "
                           "upload it again" % path, path)


def _extract_tar_member(archive, member, dest, notes):
    name = member.name
    if dest.skip_metadata(name):
        return
    if member.isdir():
        dest.make_dir(name)
    elif member.isfile():
        source = archive.extractfile(member)
        dest.write_stream(name, source, member.mode, declared=member.size, account=False)
    elif (member.issym() or member.islnk()) and dest.environment:
        dest.make_link(name, member.linkname, hard=member.islnk())
    elif member.issym() or member.islnk():
        dest.check_link(name, member.linkname, hard=member.islnk())
        notes.append("skipped link %s -> %s" % (name, member.linkname))
    else:
        raise UnsafeMemberError("%s: member %r is a device or fifo; refused"
                                % (dest.archive, name), dest.archive)


def _zip_directory_end(path):
    """(entries, directory size) from the zip's end-of-central-directory record when it is
    really at the end of the file, else None (a stored zip cut short can expose an inner
    wheel's record instead)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        f.seek(max(0, size - 65557))
        tail = f.read()
    index = tail.rfind(b"PK\x05\x06")
    while index >= 0:
        if len(tail) - index >= 22:
            entries, directory, comment_length = struct.unpack(
                "<10xHI4xH", tail[index:index + 22])
            if index + 22 + comment_length == len(tail):
                return entries, directory
        index = tail.rfind(b"PK\x05\x06", 0, index)
    return None


def _zip_ends_properly(path):
    """Whether the zip's end-of-central-directory record is really at the end of the file."""
    return _zip_directory_end(path) is not None


def _extract_zip(path, dest, notes):
    import zipfile
    end = _zip_directory_end(path)
    if end is None:
        raise ArchiveError("%s is truncated: its zip directory is missing; upload it again"
                           % path, path)
    if end[0] != 0xFFFF:  # refused before zipfile reads a directory of 200,000 entries
        dest.budget.check_members(end[0])
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        dest.budget.count_members(len(infos))
        declared = sum(info.file_size for info in infos)
        dest.budget.check_bytes(declared)
        _check_free_space(dest.root, declared, path)
        for info in infos:
            _extract_zip_member(archive, info, dest, notes)


def _extract_zip_member(archive, info, dest, notes):
    import stat
    mode = info.external_attr >> 16
    if dest.skip_metadata(info.filename):
        return
    if stat.S_ISLNK(mode):
        with archive.open(info) as source:
            link = source.read(4096).decode("utf-8", "replace")
        dest.check_link(info.filename, link)
        notes.append("skipped link %s -> %s" % (info.filename, link))
    elif info.is_dir():
        dest.make_dir(info.filename)
    elif stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise UnsafeMemberError("%s: member %r is a device or fifo; refused"
                                % (dest.archive, info.filename), dest.archive)
    else:
        with archive.open(info) as source:
            dest.write_stream(info.filename, source, declared=info.file_size)


def extract_archive(path, folder, limits=DEFAULT_LIMITS, environment=False, budget=None):
    """Extract one archive into ``folder`` (created); returns notes on skipped members.

    ``budget`` is the upload's (shared with the archive it came from); by default the archive
    is an upload of its own. With ``environment`` (a conda-pack archive), links that stay
    inside are recreated and executable bits kept; everything else is refused exactly as for
    a bundle.
    """
    kind = _sniff(path)
    if kind is None:
        raise _not_an_archive(path)
    _makedirs(folder)
    size = os.path.getsize(path)
    _check_free_space(folder, size, path)
    if budget is None:
        budget = _Budget(limits, path, size)
    dest = _ExtractionRoot(folder, budget, path, environment)
    return _read_archive(path, dest, _extract_zip if kind == "zip" else _extract_tar)


class _SplitPart(collections.namedtuple("_SplitPart", "name base token prefix implicit")):
    """One part of a split upload, by its name: NAME.part-001 or NAME.part-aa (explicit);
    NAME.001 (7-Zip), NAME.aa or NAME.00 (split with a prefix), xaa or x00 (split without
    one) are implicit: they count only beside their first part, or as fragments."""

    __slots__ = ()

    @property
    def numeric(self):
        return self.token.isdigit()

    @property
    def index(self):
        if self.numeric:
            return int(self.token)
        value = 0
        for letter in self.token:
            value = value * 26 + ord(letter) - ord("a")
        return value


def _split_part(name):
    """The _SplitPart a file name reads as, or None."""
    match = _SPLIT_PART_RE.match(name)
    if match is None:
        return None
    if match.group("base") is not None:
        return _SplitPart(name, match.group("base"), match.group("token"),
                         name[:-len(match.group("token"))], False)
    if match.group("dotted") is not None:
        base, token = match.group("dotted"), match.group("dotted_token")
        if name.endswith(ARCHIVE_SUFFIXES) or not base.endswith(ARCHIVE_SUFFIXES + (".whl",)):
            return None
        return _SplitPart(name, base, token, name[:-len(token)], True)
    return _SplitPart(name, "x", match.group("bare_token"), "x", True)


def _part_token(index, numeric, width):
    if numeric:
        return "%0*d" % (width if width <= 6 else 3, index)
    letters = ""
    for _ in range(width):
        index, digit = divmod(index, 26)
        letters = chr(ord("a") + digit) + letters
    return letters


class _PartSet(collections.namedtuple("_PartSet", "base_path parts prefix numeric width")):
    """The parts of one split upload found side by side: {index: path}."""

    __slots__ = ()

    def name_of(self, index):
        return self.prefix + _part_token(index, self.numeric, self.width)

    def names(self):
        return [os.path.basename(self.parts[i]) for i in sorted(self.parts)]

    def missing(self):
        """The index of the first missing part (never enumerating a range: a part may be
        numbered 1700000000000), or None when the parts run without a gap."""
        numbers = sorted(self.parts)
        starts = (0, 1) if self.numeric else (0,)
        if numbers[0] not in starts:
            return 0 if not self.numeric or self.prefix == "x" or self.width == 2 else 1
        for offset, number in enumerate(numbers):
            if number != numbers[0] + offset:
                return numbers[0] + offset
        return None

    def join_command(self):
        return "cat %s* > %s" % (_quote(self.prefix), _quote(os.path.basename(self.base_path)))


def _is_fragment(path):
    """Whether a file could be a later part of a split archive (it starts like no archive)."""
    try:
        return _sniff(path) is None
    except ArchiveError:
        return False


def _part_groups(directory, entries, direct=False):
    """The split uploads among a folder's entries, found in one pass (a folder of 30,000
    parts costs one pass, not 30,000): {part name, (prefix, numeric), base name: _PartSet}.
    An implicit naming counts only with its first part present, or, for a file the user
    named (``direct``), when none of its parts starts like an archive: a file `xml` beside a
    bundle is no part, nor is a real archive named `xyz`."""
    sets = {}
    for entry in entries:
        part = _split_part(entry)
        if part is not None:
            sets.setdefault((part.implicit, part.prefix, part.numeric), []).append(part)
    groups = {}
    for (implicit, prefix, numeric), found in sorted(sets.items()):
        parts = dict((p.index, os.path.join(directory, p.name)) for p in found)
        if implicit and not set(parts) & set((0, 1) if numeric else (0,)) and not (
                direct and all(_is_fragment(p) for p in parts.values())):
            continue
        group = _PartSet(os.path.join(directory, found[0].base), parts, prefix, numeric,
                         min(len(p.token) for p in found))
        groups.update((p.name, group) for p in found)
        groups[(prefix, numeric)] = group
        groups.setdefault(found[0].base, group)  # explicit namings first
    return groups


def _find_parts(path, direct=False, groups=None):
    """The split upload ``path`` names (one of its parts, or the name they share) as a
    _PartSet, or None; ``groups`` are its folder's, when already known."""
    directory = os.path.dirname(path) or "."
    name = os.path.basename(path)
    if groups is None:
        try:
            entries = os.listdir(directory)
        except OSError:
            entries = []
        groups = _part_groups(directory, entries, direct)
    given = _split_part(name)
    if given is not None:
        return groups.get(name) or groups.get((given.prefix, given.numeric))
    return groups.get(name)


def _missing_part_error(group, index):
    missing = group.name_of(index)
    base = os.path.basename(group.base_path)
    error = ArchiveError("%s is split into parts but %s is missing (found %s); upload every "
                         "part" % (base, missing, ", ".join(group.names()[:4]) + (
                             ", ..." if len(group.parts) > 4 else "")), group.base_path)
    error.fix = {"where": "online", "command": "upload %s (the missing part) next to %s"
                 % (missing, group.names()[0])}
    return error


def _incomplete_parts_error(group, error):
    """A joined split upload that is cut short: say it is made of parts, and how to join."""
    names = group.names()
    following = group.name_of(max(group.parts) + 1)
    base = os.path.basename(group.base_path)
    if len(names) == 1:
        message = ("%s looks like one part of a split upload, and on its own it is truncated "
                   "or corrupt (%s): upload the other parts next to it (%s, ...), or join them "
                   "before uploading: %s" % (names[0], error.message, following,
                                              group.join_command()))
    else:
        message = ("%s, joined from %d parts (%s to %s), is truncated or corrupt (%s): a part "
                   "after %s (%s) may be missing, or one was cut short; upload every part, or "
                   "join them before uploading: %s" % (
                       base, len(names), names[0], names[-1], error.message, names[-1],
                       following, group.join_command()))
    new = ArchiveError(message, group.base_path)
    new.fix = {"where": "online", "command": "upload every part of %s (%s next after %s), or "
               "join them first: %s" % (base, following, names[-1], group.join_command())}
    return new


def _join_parts(group, folder):
    """Join the parts (in order) into folder/NAME; names the first missing part."""
    missing = group.missing()
    if missing is not None:
        raise _missing_part_error(group, missing)
    joined = os.path.join(folder, os.path.basename(group.base_path))
    _makedirs(folder)
    _check_free_space(folder, sum(os.path.getsize(p) for p in group.parts.values()),
                      group.base_path)
    with open(joined, "wb") as out:
        for number in sorted(group.parts):
            with open(group.parts[number], "rb") as source:
                _copy_stream(source, out)
    return joined


def _copy_stream(source, target):
    while True:
        block = source.read(_CHUNK)
        if not block:
            return
        target.write(block)


def _browser_name(name):
    """``name`` without the ` (1)` a browser adds to a file saved twice (else unchanged)."""
    match = _BROWSER_COPY_RE.match(name)
    return match.group("stem") + match.group("suffix") if match else name


def _looks_like_bundle(path, kind, limit=64):
    """Whether an archive holds wheels or a manifest among its first members (else an sdist).
    Reads at most 64 MB of it (a bomb is then left to extraction and its budget)."""
    import zipfile
    try:
        if kind == "zip":
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()[:limit]
        else:
            names = _tar_member_names(path, kind, limit, IntakeLimits(64 * 1024 ** 2, None, 0))
    except _archive_read_errors():
        return True  # unreadable: let extraction report it as corrupt
    return any(n.endswith((".whl", "manifest.json")) or n.endswith(ARCHIVE_SUFFIXES)
               for n in names)


def _tar_member_names(path, kind, limit, limits, stop=()):
    """The names of a tar's first ``limit`` members (or up to the first ending with
    ``stop``), reading no more than ``limits`` allow and no header larger than _HEADER_SLACK."""
    import tarfile
    names = []
    budget = _Budget(limits._replace(max_members=limit + 1), path, os.path.getsize(path))
    with _open_decompressed(path, kind) as raw:
        stream = _TailReader(raw, budget, path)
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for member in archive:
                stream.allow(member.offset_data + member.size)
                names.append(member.name)
                archive.members = []
                if len(names) >= limit or (stop and member.name.endswith(stop)):
                    break
    return names


def _is_sdist_archive(path, name):
    """Whether an archive file is a source distribution rather than a bundle of wheels."""
    kind = _sniff(path)
    return (kind is not None and _parse_uploaded_sdist_filename(name) is not None
            and not _looks_like_bundle(path, kind))


class BundleFile(collections.namedtuple("BundleFile", "path kind origin")):
    """A file found in the uploads: kind is wheel, sdist or manifest; origin is the upload."""

    __slots__ = ()


class Bundle(object):
    """What the user uploaded, as plain files: wheels, sdists, manifests, plus intake problems."""

    def __init__(self, uploads, files, manifests, problems, notes, work_dir):
        self.uploads = list(uploads)
        self.files = list(files)
        self.manifests = list(manifests)
        self.problems = list(problems)
        self.notes = list(notes)
        self.work_dir = work_dir

    @property
    def wheels(self):
        return [f for f in self.files if f.kind == "wheel"]

    @property
    def sdists(self):
        return [f for f in self.files if f.kind == "sdist"]

    def roots(self):
        """The root requirements the manifests name (empty when there is no manifest)."""
        roots = []
        for manifest in self.manifests:
            for root in manifest.get("roots") or ():
                if root not in roots:
                    roots.append(root)
        return roots


def open_bundle(uploads, work_dir, limits=DEFAULT_LIMITS):
    """Read every upload into a Bundle; problems are collected, not raised, so one run shows all.
    Each upload has one budget (``limits``), shared by every archive nested in it."""
    collector = _Intake(work_dir, limits or DEFAULT_LIMITS)
    for upload in uploads:
        collector.add_upload(upload)
    problems = [p._replace(subject=collector.display(p.subject), message=collector.display(
        p.message), fix=_reupload_fix(collector.display(p.subject).split("!")[0])
        if p.fix == _reupload_fix(p.subject) else p.fix) for p in collector.problems]
    notes = [collector.display(note) for note in collector.notes]
    return Bundle(uploads, collector.files, collector.manifests, problems, notes, work_dir)


class _Intake(object):
    def __init__(self, work_dir, limits):
        self.work_dir = work_dir
        self.limits = limits
        self.files = []
        self.manifests = []
        self.problems = []
        self.notes = []
        self._counter = 0
        self._joined = set()
        self._labels = {}  # extraction folder -> what the user calls it (upload.zip!inner.tar)

    def _folder_for(self, name, source=None):
        self._counter += 1
        folder = os.path.join(self.work_dir, "%03d-%s" % (self._counter, re.sub(
            r"[^A-Za-z0-9._-]", "_", name)[:60]))
        self._labels[folder] = self.display(source) if source else name
        return folder

    def display(self, text):
        """``text`` with work-folder paths replaced by names the user knows (stable output)."""
        for folder in sorted(self._labels, key=len, reverse=True):
            text = text.replace(folder + os.sep, self._labels[folder] + "!")
            text = text.replace(folder, self._labels[folder])
        return text

    def add_upload(self, path):
        try:
            if not os.path.exists(path) and _find_parts(path, True) is None:
                raise UsageError("%s does not exist" % path, path)
            self._add(path, path, 0, None, None)
        except UsageError:
            raise
        except BootstrapError as error:
            self.problems.append(_problem_from_error(error))

    def _add(self, path, origin, depth, budget, groups):
        """Read one file or folder: ``budget`` is the upload's (None: ``path`` starts one),
        ``groups`` the split uploads of its folder (None: not known yet)."""
        name = os.path.basename(path)
        if _split_part(name) is not None or not os.path.exists(path):
            group = _find_parts(path, path == origin, groups)
            if group is not None:
                return self._add_parts(group, origin, depth, budget)
        if os.path.isdir(path):
            return self._add_folder(path, origin, depth, budget)
        clean = _browser_name(name)
        if clean != name:
            return self._add(self._renamed(path, clean), origin, depth, budget, None)
        if name.endswith(".whl"):
            self.files.append(BundleFile(path, "wheel", origin))
        elif name == "manifest.json":
            self._add_manifest(path, origin)
        elif name.endswith(ARCHIVE_SUFFIXES) or depth == 0:
            self._add_archive(path, origin, depth, budget)

    def _add_archive(self, path, origin, depth, budget):
        name = os.path.basename(path)
        if _is_sdist_archive(path, name):
            self.files.append(BundleFile(path, "sdist", origin))
            return
        if budget is None:
            budget = _Budget(self.limits, path, os.path.getsize(path))
        budget.check_depth(depth, path)
        folder = self._folder_for(name, path)
        self.notes.extend(extract_archive(path, folder, self.limits, budget=budget))
        self._add_folder(folder, origin, depth + 1, budget)

    def _add_parts(self, group, origin, depth, budget):
        if group.base_path in self._joined:
            return
        self._joined.add(group.base_path)
        base = os.path.basename(group.base_path)
        joined = _join_parts(group, self._folder_for(base + ".joined", group.base_path))
        self._labels[joined] = self.display(group.base_path)
        if base.endswith(".whl"):
            self.files.append(BundleFile(joined, "wheel", origin))
            return
        try:
            self._add_archive(joined, origin, depth, budget)
        except ArchiveError as error:
            raise _incomplete_parts_error(group, error)

    def _renamed(self, path, clean):
        """A link named ``clean`` to ``path`` (whose name a browser changed), with a note."""
        folder = self._folder_for(clean + ".renamed", path)
        _makedirs(folder)
        renamed = os.path.join(folder, clean)
        try:
            os.symlink(os.path.abspath(path), renamed)
        except (OSError, AttributeError, NotImplementedError):
            import shutil
            shutil.copyfile(path, renamed)
        self._labels[renamed] = self.display(path)
        self.notes.append("read %s as %s (a browser adds \" (N)\" to a file it saves twice)"
                          % (self.display(path), clean))
        return renamed

    @staticmethod
    def _wanted(entry, groups):
        """Whether a file found in a folder is part of the bundle (else it is left alone)."""
        return (entry.endswith((".whl",) + ARCHIVE_SUFFIXES) or entry == "manifest.json"
                or _browser_name(entry) != entry or entry in groups)

    def _add_folder(self, folder, origin, depth, budget):
        metadata = 0
        for directory, subdirs, entries in os.walk(folder):
            kept = sorted(d for d in subdirs if not _is_macos_metadata(d))
            metadata += len(subdirs) - len(kept)
            subdirs[:] = kept
            groups = _part_groups(directory, [e for e in entries if not _is_macos_metadata(e)])
            for entry in sorted(entries):
                path = os.path.join(directory, entry)
                if os.path.islink(path):
                    continue
                if _is_macos_metadata(entry):
                    metadata += 1
                    continue
                try:
                    if self._wanted(entry, groups):
                        self._add(path, origin, depth, budget, groups)
                except BootstrapError as error:
                    if isinstance(error, UsageError) or getattr(error, "whole_upload", False):
                        raise
                    self.problems.append(_problem_from_error(error))
        if metadata:
            self.notes.append(_metadata_note(self.display(folder), metadata))

    def _add_manifest(self, path, origin):
        try:
            data = json.loads(_read_text(path))
        except (OSError, ValueError) as error:
            raise ArchiveError("%s is not valid JSON (%s)" % (path, error), path)
        if not isinstance(data, dict) or data.get("schema") != BUNDLE_SCHEMA:
            self.notes.append("ignored %s: not a %s manifest" % (path, BUNDLE_SCHEMA))
            return
        files, roots = data.get("files") or [], data.get("roots") or []
        if not (isinstance(files, list) and isinstance(roots, list)
                and all(isinstance(e, dict) and isinstance(e.get("path"), str) for e in files)
                and all(isinstance(r, str) for r in roots)):
            raise ArchiveError("%s is not a valid %s manifest: roots must be a list of "
                               "requirements, files a list of {path, size, sha256}"
                               % (path, BUNDLE_SCHEMA), path)
        data = dict(data)
        data["_folder"] = os.path.dirname(os.readlink(path) if os.path.islink(path) else path)
        data["_origin"] = origin
        self.manifests.append(data)
        self.files.append(BundleFile(path, "manifest", origin))


def _work_dir_problem(work_dir):
    """A not-writable Problem when ``work_dir`` (--work-dir) cannot hold a work folder: a
    file, a folder that cannot be written or made. None when it can, or when not given. Its
    fix is another --work-dir, phrased by the command that ran (_with_sandbox_fixes)."""
    if not work_dir:
        return None
    import tempfile
    try:
        _makedirs(work_dir)
        os.rmdir(tempfile.mkdtemp(prefix="bootstrap-", dir=work_dir))
    except OSError as error:
        reason = ("it is a file, not a folder" if os.path.isfile(work_dir)
                  else error.strerror or str(error))
        details = dict([("remedy", "permission"), ("_folder", work_dir)] + (
            [("errno", _errno_name(error))] if _errno_name(error) else []))
        return Problem("not-writable", work_dir, "--work-dir %s cannot hold a work folder: %s"
                       % (work_dir, reason), details=details)
    return None


def _sha256_file(path):
    import hashlib
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(_CHUNK)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()


def verify_manifests(bundle):
    """hash-mismatch / corrupt-archive problems for files that differ from their manifest."""
    problems = []
    for manifest in bundle.manifests:
        folder = manifest["_folder"]
        for entry in manifest.get("files") or ():
            relative = entry["path"]
            try:
                path = contained_path(folder, relative, "file", "manifest.json")
            except UnsafeMemberError as error:  # never read (or tell the size of) a file
                problems.append(_problem_from_error(error))  # outside the bundle
                continue
            if not os.path.isfile(path):
                problems.append(Problem(
                    "corrupt-archive", relative,
                    "the manifest lists %s but the bundle does not contain it" % relative,
                    fix=_reupload_fix(relative)))
                continue
            size = os.path.getsize(path)
            if entry.get("size") is not None and size != entry["size"]:
                problems.append(Problem(
                    "hash-mismatch", relative, "%s is %d bytes, the manifest says %d: truncated "
                    "or altered in transit" % (relative, size, entry["size"]),
                    fix=_reupload_fix(relative)))
            elif entry.get("sha256") and _sha256_file(path) != entry["sha256"]:
                problems.append(Problem(
                    "hash-mismatch", relative, "%s does not match the sha256 in the manifest"
                    % relative, fix=_reupload_fix(relative)))
    return problems


def upload_folders():
    """Where uploads are looked for: the notebook's folder, /mnt/data, the current folder."""
    folders = []
    for folder in (os.environ.get("JPY_SESSION_NAME") and os.path.dirname(
            os.environ["JPY_SESSION_NAME"]), "/mnt/data", _current_folder()):
        if folder and os.path.isdir(folder) and os.path.realpath(folder) not in [
                os.path.realpath(f) for f in folders]:
            folders.append(folder)
    return folders


def find_uploads(folders=None):
    """Uploaded bundles in the upload folders: wheels, sdists, split parts, and archives that
    hold wheels or a manifest (an unrelated data archive is left alone)."""
    found = []
    for folder in upload_folders() if folders is None else folders:
        try:
            entries = sorted(os.listdir(folder))
        except OSError:
            continue
        for entry in entries:
            path = os.path.join(folder, entry)
            if not os.path.isfile(path) or _is_macos_metadata(entry):
                continue
            part = _split_part(entry) and _find_parts(path)
            if part:
                base = part.base_path
                if base not in found:
                    found.append(base)
            elif entry.endswith(".whl") or _parse_uploaded_sdist_filename(entry):
                found.append(path)
            elif entry.endswith(ARCHIVE_SUFFIXES):
                kind = _sniff(path)
                if kind is None or _looks_like_bundle(path, kind):
                    found.append(path)
    return found


# == 7. Wheels and sdists (I/O) ===============================================================
# -- Wheels: a file plus its METADATA ---------------------------------------------------------
# A Wheel is a file plus its METADATA (read lazily, from the zip's .dist-info).


class Wheel(object):
    """A wheel file in a bundle: its WheelName, and its METADATA once asked for."""

    def __init__(self, path, wheel_name):
        self.path = path
        self.wheel_name = wheel_name
        self._metadata = None
        self._members = None
        self.notes = []

    def members(self):
        """{name: ZipInfo} of the wheel, its directory read once per run (and checked to end
        where it should: a cut file is corrupt-archive, an HTML page says so)."""
        if self._members is None:
            import zipfile
            if _sniff(self.path) != "zip":
                error = ArchiveError("%s is not a wheel: not a zip archive%s" % (
                    self.filename, _describe_content(self.path)), self.filename)
                error.fix = _not_an_archive(self.path).fix  # the same file fails the same way
                raise error
            try:
                with zipfile.ZipFile(self.path) as archive:
                    infos = archive.infolist()
                if not _zip_ends_properly(self.path):
                    raise zipfile.BadZipFile("its zip directory is missing")
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
                _raise_if_reading_failed(error, self.path)
                raise ArchiveError("%s is truncated or corrupt (%s); upload it again"
                                   % (self.filename, error), self.filename)
            self._members = collections.OrderedDict((info.filename, info) for info in infos)
        return self._members

    def read(self, name):
        """The bytes of one member (CRC checked); KeyError when the wheel has no such member."""
        import zipfile
        info = self.members()[name]
        if info.file_size > _METADATA_LIMIT:  # read whole into memory: metadata files only
            raise UnsafeMemberError("%s: %s declares %d bytes, more than a metadata file has; "
                                    "refused" % (self.filename, name, info.file_size),
                                    self.filename)
        raw = _RawZip(self.path)
        try:
            data = raw.read(info)
            if data is None:  # encrypted or another compression: zipfile reads it
                with zipfile.ZipFile(self.path) as archive:
                    data = archive.read(info)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as error:
            _raise_if_reading_failed(error, self.path)
            raise ArchiveError("%s is truncated or corrupt (%s); upload it again"
                               % (self.filename, error), self.filename)
        finally:
            raw.close()
        return data

    @property
    def name(self):
        return self.wheel_name.name

    @property
    def version(self):
        return self.wheel_name.version

    @property
    def filename(self):
        return self.wheel_name.filename

    def dist_info(self, names):
        """The one .dist-info folder of a wheel (pip's rule: exactly one, named for the file
        name's project, and for its version when the folder names one)."""
        found = getattr(self, "_dist_info", None)
        if found is not None and found[0] is names:  # one look per directory read
            return found[1]
        folders = sorted(set(n.split("/", 1)[0] for n in names
                             if n.split("/", 1)[0].endswith(".dist-info") and "/" in n))
        if len(folders) != 1:
            raise BootstrapError("%s has %s .dist-info folders%s; a wheel has exactly one" % (
                self.filename, len(folders) or "no", (" (%s)" % ", ".join(folders[:4]))
                if folders else ""), self.filename, code="invalid-wheel")
        folder = folders[0]
        name, _, version = folder[:-len(".dist-info")].rpartition("-")
        if canonicalize_name(name) != self.name or not self._same_version(version):
            raise BootstrapError("%s: its .dist-info folder %r is not named for %s %s" % (
                self.filename, folder, self.name, self.version), self.filename,
                code="invalid-wheel")
        self._dist_info = (names, folder)
        return folder

    def _same_version(self, text):
        try:
            return Version(text.replace("_", "-")) == Version(str(self.version))
        except InvalidVersion:
            return False

    @property
    def metadata(self):
        if self._metadata is None:
            self._metadata = self._read_metadata()
        return self._metadata

    def _read_metadata(self):
        members = self.members()
        self.check_member_names(members)
        folder = self.dist_info(members)
        self.check_wheel_version(folder)
        try:
            text = self.read(folder + "/METADATA").decode("utf-8", "replace")
        except KeyError as error:
            raise BootstrapError("%s has no %s" % (self.filename, error), self.filename,
                                 code="invalid-wheel")
        metadata = parse_metadata(text, "%s METADATA" % self.filename)
        if canonicalize_name(metadata.name) != self.name:
            raise BootstrapError("%s: METADATA names %r, the file name %r" % (
                self.filename, metadata.name, self.name), self.filename, code="invalid-wheel")
        if not self._same_version(str(metadata.version)):
            raise BootstrapError("%s: METADATA says version %s, the file name %s (pip refuses "
                                 "such a wheel too)" % (self.filename, metadata.version,
                                                        self.version),
                                 self.filename, code="invalid-wheel")
        return metadata

    def check_member_names(self, members):
        """Every member name passes the gate: none absolute, none with `..`, none reserved
        for bootstrap's own state (a staging folder or journal shipped inside a wheel).
        Returns {name: its parts}; a wheel's directory is checked once per run."""
        checked = getattr(self, "_checked", None)
        if checked is None or checked[0] is not members:
            checked = (members, dict((name, _checked_parts(name, "member", self.filename))
                                     for name in members))
            self._checked = checked
        return checked[1]

    def forget_member_names(self):
        """Drop the parts check_member_names kept (memory), once the installer has its paths."""
        self._checked = None

    def check_wheel_version(self, folder):
        """WHEEL's Wheel-Version, as pip checks it: a newer major version is refused, a newer
        minor one noted (``self.notes``). Returns WHEEL's headers, read once per folder."""
        found = getattr(self, "_wheel_headers", None)
        if found is not None and found[0] == folder:
            return found[1]
        try:
            text = self.read(folder + "/WHEEL").decode("utf-8", "replace")
        except KeyError:
            raise BootstrapError("%s has no %s/WHEEL" % (self.filename, folder), self.filename,
                                 code="invalid-wheel")
        headers = list(_parse_headers(text))
        value = dict(headers).get("wheel-version", "")
        match = re.match(r"^(\d+)\.(\d+)$", value.strip())
        if match is None:
            raise BootstrapError("%s: WHEEL has no readable Wheel-Version (%r)" % (
                self.filename, value), self.filename, code="invalid-wheel")
        major, minor = int(match.group(1)), int(match.group(2))
        if major > 1:
            raise BootstrapError("%s: Wheel-Version %s is newer than this installer reads (1.x); "
                                 "pip refuses it too" % (self.filename, value.strip()),
                                 self.filename, code="invalid-wheel")
        if minor > 0 and not any(self.filename in note for note in self.notes):
            self.notes.append("%s has Wheel-Version %s, newer than 1.0: installed as 1.0 (pip "
                              "warns the same)" % (self.filename, value.strip()))
        self._wheel_headers = (folder, headers)
        return headers


def _write_blocks(blocks, path, other=None, check_crc=False):
    """Write ``blocks`` to a new file at ``path``, one at a time (memory stays flat); returns
    (their sha256, their size, their CRC-32 or None). ``other``, a hashlib object, sees the
    same bytes (a RECORD that uses sha384 or sha512)."""
    import hashlib
    import zlib
    digest, size, crc = hashlib.sha256(), 0, 0
    with open(path, "wb") as out:
        for block in blocks:
            digest.update(block)
            if other is not None:
                other.update(block)
            if check_crc:
                crc = zlib.crc32(block, crc)
            out.write(block)
            size += len(block)
    return digest, size, (crc & 0xFFFFFFFF if check_crc else None)


class _RawZip(object):
    """Reads small zip members straight from their local headers: deflate or stored, CRC
    checked, exactly what zipfile does, without its per-member objects (thousands of files)."""

    def __init__(self, path):
        self.file = open(path, "rb")

    def close(self):
        self.file.close()

    def _seek_data(self, info):
        """Seek to the member's data; False when zipfile must read it (encrypted, or another
        compression than stored or deflated)."""
        import zipfile
        if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED,
                                                               zipfile.ZIP_DEFLATED):
            return False
        self.file.seek(info.header_offset)
        header = self.file.read(30)
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile("bad local header for %s" % info.filename)
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        self.file.seek(info.header_offset + 30 + name_length + extra_length)
        return True

    def read(self, info, check_crc=True):
        """The member's bytes; the CRC is skipped when the caller checks a stronger hash."""
        import zipfile
        import zlib
        if not self._seek_data(info):
            return None
        raw = self.file.read(info.compress_size)
        data = (_inflate_bounded(raw, info.file_size, self.file.name, info.filename)
                if info.compress_type == zipfile.ZIP_DEFLATED else raw)
        if len(data) != info.file_size or (check_crc and zlib.crc32(data) & 0xFFFFFFFF
                                           != info.CRC):
            raise zipfile.BadZipFile("bad CRC-32 for %s" % info.filename)
        return data

    def stream(self, info, path, check_crc=True, other=None):
        """Copy a large member to ``path`` in chunks (memory stays flat); (sha256, size), or
        None when zipfile must read it (encrypted, or another compression). ``other``, a
        hashlib object, sees the same bytes (a RECORD that uses sha384 or sha512)."""
        import zipfile
        if not self._seek_data(info):
            return None
        blocks = (self._inflated(info) if info.compress_type == zipfile.ZIP_DEFLATED
                  else self._stored(info))
        digest, size, crc = _write_blocks(blocks, path, other, check_crc)
        if size != info.file_size or (check_crc and crc != info.CRC):
            raise zipfile.BadZipFile("bad CRC-32 for %s" % info.filename)
        return digest, size

    def _stored(self, info):
        """The bytes of a stored member, _CHUNK at a time."""
        import zipfile
        remaining = info.compress_size
        while remaining > 0:
            raw = self.file.read(min(_CHUNK, remaining))
            if not raw:
                raise zipfile.BadZipFile("%s is cut short" % info.filename)
            remaining -= len(raw)
            yield raw

    def _inflated(self, info):
        """The inflated bytes of a deflated member, at most _CHUNK at a time however well its
        bytes compress (a 1 MB read of zeros is a gigabyte); more than it declares is refused
        as a decompression bomb, never inflated."""
        import zlib
        inflater, size, tail = zlib.decompressobj(-15), 0, b""
        raw = self._stored(info)
        while True:
            if not tail:
                tail = next(raw, b"")
                if not tail:
                    break
            block = _inflate(inflater.decompress, tail, _CHUNK)
            tail = inflater.unconsumed_tail
            size += len(block)
            if size > info.file_size:
                raise _bomb(self.file.name, info.filename, info.file_size)
            yield block
        block = _inflate(inflater.flush)
        if size + len(block) > info.file_size:
            raise _bomb(self.file.name, info.filename, info.file_size)
        yield block


# -- Source distributions ---------------------------------------------------------------------
# An sdist is only ever built through pip (offline, --no-build-isolation) with the build
# backend the sandbox already has. Here: what building it would need.

_BUILD_BACKEND_RE = _LazyRegex(r"""^\s*build-backend\s*=\s*["']([^"']+)["']""", re.MULTILINE)
_BUILD_REQUIRES_RE = _LazyRegex(r"""^\s*requires\s*=\s*\[((?:\s|,|"[^"\n]*"|'[^'\n]*')*)\]""",
                                re.MULTILINE)
LEGACY_BACKEND = ("setuptools.build_meta:__legacy__", ["setuptools>=40.8.0"])


class Sdist(collections.namedtuple("Sdist", "path name version backend requires metadata")):
    """A source distribution: its name, version, build backend and build requirements."""

    __slots__ = ()

    @property
    def filename(self):
        return os.path.basename(self.path)


def _toml_without_comments(text):
    """TOML text without its comments: a # outside a quoted string ends the line."""
    lines = []
    for line in text.splitlines():
        quote, index, kept = None, 0, line
        while index < len(line):
            char = line[index]
            if quote == '"' and char == "\\":
                index += 2
                continue
            if quote and char == quote:
                quote = None
            elif not quote and char in "\"'":
                quote = char
            elif not quote and char == "#":
                kept = line[:index]
                break
            index += 1
        lines.append(kept)
    return "\n".join(lines)


def _parse_build_system(text):
    """(backend, requires) from a pyproject.toml; the legacy setuptools backend by default."""
    try:
        import tomllib
    except ImportError:
        tomllib = None
    if tomllib is not None:
        try:
            build = tomllib.loads(text).get("build-system") or {}
        except ValueError:
            build = {}
        return (build.get("build-backend") or LEGACY_BACKEND[0],
                list(build.get("requires") or LEGACY_BACKEND[1]))
    text = _toml_without_comments(text)
    header = re.search(r"^[ \t]*\[[ \t]*build-system[ \t]*\][ \t]*$", text, re.MULTILINE)
    section = re.split(r"^[ \t]*\[", text[header.end():] if header else "",
                       flags=re.MULTILINE)[0]
    # dotted keys before the first table (build-system.requires = [...]) mean the same
    top = re.split(r"^[ \t]*\[", text, flags=re.MULTILINE)[0]
    top = re.sub(r"^([ \t]*)(requires|build-backend)([ \t]*=)", r"\1_\2\3", top,
                 flags=re.MULTILINE)
    section += "\n" + re.sub(r"^([ \t]*)[\"']?build-system[\"']?[ \t]*\.[ \t]*", r"\1", top,
                             flags=re.MULTILINE)
    backend = _BUILD_BACKEND_RE.search(section)
    requires = _BUILD_REQUIRES_RE.search(section)
    return (backend.group(1) if backend else LEGACY_BACKEND[0],
            re.findall(r"""["']([^"']+)["']""", requires.group(1)) if requires
            else list(LEGACY_BACKEND[1]))


def read_sdist(path):
    """An Sdist from an .tar.gz/.zip source archive (reads PKG-INFO and pyproject.toml)."""
    import tarfile
    import zipfile
    name, version = _parse_uploaded_sdist_filename(os.path.basename(path))
    wanted = {}
    try:
        if _sniff(path) == "zip":
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    if member.count("/") == 1 and member.endswith(("/PKG-INFO", "/pyproject.toml")):
                        wanted[member.split("/")[1]] = archive.read(member).decode("utf-8", "replace")
        else:
            with tarfile.open(path, "r:*") as archive:
                for member in archive:
                    parts = member.name.strip("/").split("/")
                    if len(parts) == 2 and parts[1] in ("PKG-INFO", "pyproject.toml") and member.isfile():
                        wanted[parts[1]] = archive.extractfile(member).read().decode("utf-8", "replace")
    except _archive_read_errors() as error:
        raise ArchiveError("%s cannot be read as an sdist (%s)" % (os.path.basename(path), error),
                           os.path.basename(path))
    backend, requires = _parse_build_system(wanted.get("pyproject.toml", ""))
    metadata = None
    if "PKG-INFO" in wanted:
        try:
            metadata = parse_metadata(wanted["PKG-INFO"], os.path.basename(path) + " PKG-INFO")
        except BootstrapError:
            metadata = None
    return Sdist(path, name, version, backend, requires, metadata)


# == 8. Resolution (pure) =====================================================================
# -- Resolution -------------------------------------------------------------------------------
# resolve(profile, wheels, sdists, roots) -> Plan, touching no disk (METADATA is read when the
# Pool is built, before resolution starts; plan_bundle reads it earlier still). Candidates are
# the bundle's compatible wheels and buildable sdists and the profile's installed
# distributions. Policy: what is installed is kept unless `upgrade` (and is never replaced by a
# version that breaks another installed distribution's requirement); otherwise newest first,
# the best tag among builds of one version, a wheel before an sdist of the same version.
#
# The search is backtracking in the manner of resolvelib (the resolver pip uses): one
# criterion per identifier ("name", or "name[extra,...]" for a project with extras, which
# depends on "name" at the very same candidate, as pip models it); each round pins the most
# preferred unsatisfied identifier (an exact pin first, then the causes of the last conflict,
# then the shallowest, then the roots' order, then the constrained, then the name); a
# candidate whose dependencies empty another criterion is passed over; when no candidate
# is left, it backjumps to the last pin whose dependencies took part in the conflict and marks
# that pin incompatible. A pin that a new requirement no longer accepts is undone with its
# requirements at once (they are never kept in force); what only it required is left out of
# the answer, which holds what the roots reach. Prereleases as pip: only when a specifier
# names one, or nothing else matches.
# Work is bounded: a round limit per search, and one search more per project with a problem
# (exceeding the limit is a problem, never a hang).
#
# When no solution exists, the project whose criterion ran empty is recorded and replaced by
# a placeholder, and the search runs again, until it succeeds: that collects every problem in
# one run, and a root whose closure holds a placeholder is blocked (never half-installed)
# while the other roots are resolved again without them. Each problem names the smallest set
# of requirements that no available version satisfies (who requires what), and asks to fetch
# a range only when some version can satisfy every requirement on that project.
# Left out: URL requirements are matched by name only; constraints files; --pre.


def missing_build_requirements(profile, sdist, available=None):
    """The build requirements of an sdist that neither the interpreter's installed
    distributions nor the bundle's own wheels (``available``: {name: [version text]}) provide.
    (A --target profile counts only the folder's packages as installed, but builds run with
    the interpreter's: ``profile.build_installed``.)"""
    if not _can_build_sdists(profile):  # Pyodide, WASI: no process for a build to run in
        return ["a wheel built for %s" % profile.target_tag]
    installed = dict((d.name, d) for d in (profile.build_installed or profile.installed))
    for name, versions in (available or {}).items():
        if name not in installed and versions:
            installed[name] = Distribution(name, max(versions, key=Version), [], None)
    missing = []
    for text in sdist.requires:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            missing.append(text)
            continue
        if requirement.marker and not requirement.marker.evaluate(profile.marker_environment):
            continue
        dist = installed.get(requirement.key)
        if dist is None or not requirement.specifier.contains(dist.version, prereleases=True):
            missing.append(text)
    setuptools = installed.get("setuptools")
    if (sdist.backend.startswith("setuptools.build_meta") and setuptools is not None
            and "wheel" not in installed and (_coerce_version(setuptools.version) or Version("0"))
            < Version("70.1")):
        missing.append("wheel (setuptools %s has no bdist_wheel of its own)" % setuptools.version)
    if not profile.pip:
        missing.append("pip")
    return missing


RESOLVE_MAX_ROUNDS = 20000  # pins and backjumps of one search (a resolve() call runs at most
#                            one per project with a problem, plus two)


# Where a Candidate comes from (Candidate.source): these six values and no other.
SOURCE_BUNDLE = "bundle"              # a wheel of the uploads
SOURCE_SDIST = "sdist"                # an sdist of the uploads that this sandbox can build
SOURCE_INSTALLED = "installed"        # the distribution the environment already has
SOURCE_SHADOWS = "shadows"            # a bundle wheel for a --target folder, where the
                                      # installed distribution lives elsewhere (and stays)
SOURCE_MISSING = "missing"            # a placeholder: no usable version at all
SOURCE_INCOMPATIBLE = "incompatible"  # a placeholder: only wheels this interpreter cannot use


class Candidate(collections.namedtuple(
        "Candidate", "name version source requires requires_python wheel sdist rank")):
    """One way to provide a project: a bundle wheel, an sdist, or what is installed
    (``source``: one of the SOURCE_* values above; the placeholders of projects that have a
    problem, SOURCE_MISSING and SOURCE_INCOMPATIBLE, are never installed)."""

    __slots__ = ()

    @property
    def label(self):
        return "%s==%s" % (self.name, self.version)

    @property
    def key(self):
        """What tells two candidates apart: version, source and file."""
        source = self.wheel.filename if self.wheel is not None else (
            self.sdist.filename if self.sdist is not None else "")
        return (str(self.version), self.source, source)


def _installed_candidate(dist):
    version = _coerce_version(dist.version)
    return Candidate(dist.name, version or dist.version, SOURCE_INSTALLED,
                     tuple(dist.requires), None, None, None, None)


class Pool(object):
    """Everything resolution may choose from, indexed by canonical name. Building it reads
    each wheel's METADATA (once; a Wheel caches it): the only reading resolve() does."""

    def __init__(self, profile, wheels=(), sdists=(), verdicts=None):
        self.profile = profile
        self.wheels = collections.defaultdict(list)       # compatible Wheels
        self.incompatible = collections.defaultdict(list)  # Verdicts of wheels that do not fit
        self.sdists = collections.defaultdict(list)
        self.installed = dict((d.name, d) for d in profile.installed)
        self.metadata = {}                                 # filename -> Metadata or error
        verdicts = verdicts or {}
        for wheel in wheels:
            verdict = verdicts.get(wheel.filename) or judge_wheel(profile, wheel.wheel_name)
            if verdict.compatible:
                self.wheels[wheel.name].append((verdict.rank, wheel))
            else:
                self.incompatible[wheel.name].append((verdict, wheel))
            try:
                self.metadata[wheel.filename] = wheel.metadata
            except BootstrapError as error:
                self.metadata[wheel.filename] = error
        for sdist in sdists:
            self.sdists[sdist.name].append(sdist)


class Plan(object):
    """What resolution decided: install (dependencies first), satisfied, skipped, problems.

    ``conflicts`` maps each project that has a resolution problem to {"kind", "requirements"}:
    the smallest set of requirements on it that no version satisfies, each
    {"requirement": "c<2", "required_by": "a==1.0"} (None for a root), so that a fix can name
    who requires what. kind is "range" (no version can satisfy them: fetching cannot help),
    "available" (none of the available versions does), "missing" (no usable version at all:
    every requirement is listed), or "dependencies" (versions satisfy them all, but each
    fails on its own requirements: every requirement is listed); roots are the roots whose
    closure reaches the project (what to fetch together, unpinned, when kind is "range")."""

    def __init__(self, install, satisfied, skipped, problems, roots, blocked, fetch,
                 conflicts=None):
        self.install = install
        self.satisfied = satisfied
        self.skipped = skipped
        self.problems = problems
        self.roots = roots
        self.blocked = blocked
        self.fetch = fetch
        self.conflicts = conflicts or {}

    @property
    def status(self):
        if not self.problems:
            return "ok"
        if self.install or self.satisfied and len(self.blocked) < len(self.roots):
            return "partial"
        return "failed"


def _requires_python_ok(profile, requires_python):
    if not requires_python:
        return True
    try:
        spec = SpecifierSet(requires_python)
    except InvalidSpecifier:
        return True  # as pip: an unparsable Requires-Python does not exclude a release
    return spec.contains(profile.marker_environment.get("python_full_version", "0"),
                         prereleases=True)


@functools.lru_cache(maxsize=4096)
def _requirement(text):
    """A parsed Requirement, cached (METADATA repeats the same strings across packages)."""
    return Requirement(text)


def _identifier(name, extras):
    return "%s[%s]" % (name, ",".join(sorted(extras))) if extras else name


class _Need(collections.namedtuple("_Need", "ident name extras specifier text why pin")):
    """One requirement inside resolution: the identifier it constrains, its specifier, the
    text it came from, the marker that made it apply (``why``) and, for the base of a
    project with extras, the key of the one candidate it accepts (``pin``)."""

    __slots__ = ()

    @classmethod
    def of(cls, requirement, text, why=None):
        extras = tuple(sorted(set(canonicalize_name(e) for e in requirement.extras)))
        return cls(_identifier(requirement.key, extras), requirement.key, extras,
                   requirement.specifier, text, why, None)

    def accepts(self, candidate):
        if candidate.source in (SOURCE_MISSING, SOURCE_INCOMPATIBLE):
            return True  # a placeholder stands for whatever version will be fetched
        if self.pin is not None:
            return candidate.key == self.pin
        return self.specifier.contains(candidate.version, prereleases=True)


_Criterion = collections.namedtuple("_Criterion", "needs incompatible")  # needs: (need, parent)
_State = collections.namedtuple("_State", "mapping criteria causes")


class _Conflict(Exception):
    def __init__(self, ident, criterion):
        Exception.__init__(self, ident)
        self.ident = ident
        self.criterion = criterion


class _TooDeep(Exception):
    pass


def _witness(specifier):
    """A version that ``specifier`` accepts (prereleases too), or None: probes the edges of
    every clause, so a range that only looks empty (``<2,>=2``) is found empty."""
    probes = ["0", "999999"]
    for spec in specifier:
        text = spec.version[:-2] if spec.version.endswith(".*") else spec.version
        probes.append(text)
        version = _coerce_version(text)
        if version is None:
            continue
        release = list(version.release)
        base = ".".join(str(p) for p in release)
        probes += [base, base + ".1", base + ".0.1", base + ".post1", base + "a1"]
        for i, part in enumerate(release):
            head = ".".join(str(p) for p in release[:i])
            probes.append((head + "." if head else "") + str(part + 1))
            if part > 0:
                probes.append((head + "." if head else "") + "%d.999999" % (part - 1))
    for probe in probes:
        if specifier.contains(probe, prereleases=True):
            return probe
    return None


class _Resolver(object):
    """The search (see the section banner); one instance serves one resolve() call."""

    def __init__(self, pool, upgrade, shadow=None, max_rounds=RESOLVE_MAX_ROUNDS):
        self.pool = pool
        self.profile = pool.profile
        self.env = pool.profile.marker_environment
        self.upgrade = upgrade
        self.shadow = shadow  # an install folder that may shadow what is installed elsewhere
        self.rounds_left = max_rounds
        self.max_rounds = max_rounds
        self.rejected = collections.defaultdict(list)  # name -> [(why, Candidate or Sdist)]
        self.problems = []
        self.fetch = collections.OrderedDict()     # name -> requirement text, in order
        self.conflicts = collections.OrderedDict()  # name -> [{"requirement", "required_by"}]
        self.conflict_kinds = {}                    # name -> range, available, missing, ...
        self.conflict_roots = {}                    # name -> the roots that reach it
        self.failed = collections.OrderedDict()     # name -> Problem
        self.chosen = collections.OrderedDict()     # name -> Candidate (the final plan's)
        self.placeholders = {}                      # name -> placeholder Candidate
        self.follow = False                         # placeholders follow unusable wheels
        self._optimistic = True                     # how the current search backjumps
        self.blamed = {}                            # name -> the needs that ran out, then
        self.blocked_texts = set()                  # the roots that cannot be completed
        self.blocked_names = set()                  # the projects those roots reach
        self._state = None
        self._found = {}
        self._available = None
        self._memo = {}  # (what, id, id) -> (the objects, the answer): see _memoized
        self._bundle = {}
        self._deps = {}
        self._requested = {}
        self._depths = {}

    # -- candidates ---------------------------------------------------------------------------

    def found(self, name):
        """Every usable candidate of a project, best first (before any specifier)."""
        if name not in self._found:
            bundle = self._bundle_candidates(name)
            installed = self.pool.installed.get(name)
            self._bundle[name] = bundle
            if installed is not None:
                bundle = self._over_installed(name, _installed_candidate(installed), bundle)
            self._found[name] = [c for c in bundle if self._markers_ok(c)]
        return self._found[name]

    def _bundle_candidates(self, name):
        candidates = []
        for rank, wheel in self.pool.wheels.get(name, ()):
            metadata = self.pool.metadata.get(wheel.filename)
            if isinstance(metadata, UnsafeMemberError):  # a bomb: uploading it again is no help
                self._problem_once(_problem_from_error(metadata))
                continue
            if isinstance(metadata, BootstrapError) or metadata is None:
                self._problem_once(Problem("invalid-wheel", wheel.filename, str(metadata),
                                           fix=_reupload_fix(wheel.filename)))
                continue
            candidate = Candidate(name, wheel.version, SOURCE_BUNDLE, tuple(metadata.requires_dist),
                                  metadata.requires_python, wheel, None, rank)
            if _requires_python_ok(self.profile, candidate.requires_python):
                candidates.append(candidate)
            else:
                self.rejected[name].append(("requires-python", candidate))
        if self._available is None:
            self._available = dict((n, [str(w.version) for _, w in items])
                                   for n, items in self.pool.wheels.items())
        available = self._available
        for sdist in self.pool.sdists.get(name, ()):
            missing = missing_build_requirements(self.profile, sdist, available)
            if missing:
                self.rejected[name].append(("sdist", (sdist, missing)))
                continue
            metadata = sdist.metadata
            candidate = Candidate(name, sdist.version, SOURCE_SDIST,
                                  tuple(metadata.requires_dist) if metadata else (),
                                  metadata.requires_python if metadata else None, None, sdist,
                                  None)
            if _requires_python_ok(self.profile, candidate.requires_python):
                candidates.append(candidate)
            else:
                self.rejected[name].append(("requires-python", candidate))
        candidates.sort(key=lambda c: (c.version, c.sdist is None, -(c.rank or 0)), reverse=True)
        return candidates

    def _over_installed(self, name, installed, bundle):
        """Installed first, and alone, unless --upgrade (or a --target folder may shadow it);
        never a version that breaks another installed distribution's requirement."""
        allowed = []
        for candidate in bundle:
            if self._breakers(name, candidate.version):
                self.rejected[name].append(("breaks", candidate))
            else:
                allowed.append(candidate)
        if self.upgrade:
            everything = allowed + [installed]
            everything.sort(key=lambda c: (_coerce_version(c.version) or Version("0"),
                                           c.source == SOURCE_INSTALLED), reverse=True)
            return everything
        dist = self.pool.installed[name]
        if self.shadow and dist.location != self.shadow:
            return [installed] + [c._replace(source=SOURCE_SHADOWS) for c in allowed]
        return [installed]

    def _markers_ok(self, candidate):
        """False (and an invalid-wheel problem kept for later) when a Requires-Dist marker
        cannot be evaluated for this profile."""
        for text in candidate.requires:
            try:
                requirement = _requirement(text)
                if requirement.marker is not None:
                    requirement.marker.evaluate(dict(self.env, extra=""))
            except InvalidRequirement:
                continue
            except (UndefinedComparison, UndefinedEnvironmentName) as error:
                self.rejected[candidate.name].append(("marker", (candidate, text, error)))
                return False
        return True

    def _memoized(self, what, first, second, compute):
        """compute(), remembered for these two objects (criteria, needs and candidates are
        immutable, and kept alive by the memo, so their ids stay theirs)."""
        key = (what, id(first), id(second))
        hit = self._memo.get(key)
        if hit is None or hit[0] is not first or hit[1] is not second:
            hit = self._memo[key] = (first, second, compute())
        return hit[2]

    def matches(self, ident, criterion):
        """The candidates of ``ident`` that every need of ``criterion`` accepts, best first."""
        return self._memoized("matches", criterion, ident,
                              lambda: self._matches(ident, criterion))

    def _matches(self, ident, criterion):
        name = criterion.needs[0][0].name if criterion.needs else ident.split("[")[0]
        if name in self.placeholders:
            placeholder = self.placeholders[name]
            return [] if placeholder.key in criterion.incompatible else [placeholder]
        found = self.found(name)
        specifier = SpecifierSet()
        for need, _ in criterion.needs:
            specifier = specifier & need.specifier
        versions = [str(c.version) for c in found if c.source != SOURCE_INSTALLED]
        versions += [str(c.version) for _, c in self.rejected.get(name, ())
                     if isinstance(c, Candidate)]
        allowed = set(specifier.filter(versions))
        pinned = any(need.pin is not None for need, _ in criterion.needs)  # pip: explicit
        return [c for c in found
                if (pinned or c.source == SOURCE_INSTALLED or str(c.version) in allowed)
                and c.key not in criterion.incompatible
                and all(self.accepts(need, c) for need, _ in criterion.needs)]

    def accepts(self, need, candidate):
        return self._memoized("accepts", need, candidate, lambda: need.accepts(candidate))

    def dependencies(self, ident, candidate):
        """The needs of a pinned candidate: its Requires-Dist whose marker holds for the
        profile (with ``extra`` set to each extra of ``ident``), and, for an identifier with
        extras, the base project at this very candidate."""
        cache_key = (ident, candidate.key, candidate.name)
        if cache_key in self._deps:
            return self._deps[cache_key]
        extras = ident[len(candidate.name) + 1:-1].split(",") if "[" in ident else []
        needs = []
        if extras:
            needs.append(_Need(candidate.name, candidate.name, (), SpecifierSet(),
                               candidate.label, None, candidate.key))
        for text in candidate.requires:
            try:
                requirement = _requirement(text)
            except InvalidRequirement:
                continue
            why = None
            if requirement.marker is not None:
                if not any(requirement.marker.evaluate(dict(self.env, extra=extra))
                           for extra in [""] + extras):
                    continue
                why = str(requirement.marker)
            needs.append(_Need.of(requirement, text, why))
        self._deps[cache_key] = needs
        return needs

    def _problem_once(self, problem):
        if problem not in self.problems:
            self.problems.append(problem)

    def _installed_requirements(self, name):
        """[(Requirement, Distribution)]: what the installed distributions require of
        ``name`` (markers that hold for the profile)."""
        held = []
        for dist in self.profile.installed:
            for text in dist.requires:
                if _requirement_head(text) != name:
                    continue
                try:
                    requirement = _requirement(text)
                except InvalidRequirement:
                    continue
                if requirement.marker and not requirement.marker.evaluate(
                        dict(self.env, extra="")):
                    continue
                held.append((requirement, dist))
        return held

    def _breakers(self, name, version):
        """Installed distributions whose requirement on ``name`` rejects ``version``."""
        return sorted(set("%s==%s (requires %s)" % (dist.name, dist.version, requirement)
                          for requirement, dist in self._installed_requirements(name)
                          if not requirement.specifier.contains(str(version), prereleases=True)))

    # -- the search ---------------------------------------------------------------------------

    def solve(self, roots, safe=True):
        """A final _State whose pins satisfy every need of ``roots`` (a list of _Need), or a
        _Conflict naming the criterion that ran empty; _TooDeep past the round limit.

        As resolvelib 1.2 (pip 26): the search backjumps optimistically first; when that
        finds no answer and ``safe``, a second search undoes one pin at a time, which misses
        no answer (within its own round limit; past it, the first search's conflict stands)."""
        try:
            return self._search(roots, True)
        except _Conflict as conflict:
            if not safe:
                raise
            first = conflict
        try:
            return self._search(roots, False)
        except _TooDeep:
            raise first

    def _search(self, roots, optimistic):
        self._optimistic = optimistic
        self._requested = dict((need.ident, i) for i, need in reversed(list(enumerate(roots))))
        self._depths = {}
        self._memo = {}
        self.rounds_left = self.max_rounds
        criteria = {}
        for need in roots:
            self._add(criteria, need, None)
        states = [_State(collections.OrderedDict(), criteria, [])]
        states.append(self._copy(states[-1]))
        while True:
            if self.rounds_left <= 0:
                raise _TooDeep()
            self.rounds_left -= 1
            state = states[-1]
            unsatisfied = [ident for ident, criterion in sorted(state.criteria.items())
                           if criterion.needs and not self._pin_ok(state, ident, criterion)]
            if not unsatisfied:
                return state
            satisfied = set(ident for ident, criterion in state.criteria.items()
                            if criterion.needs) - set(unsatisfied)
            ident = min(unsatisfied, key=lambda i: self._preference(state, i))
            causes = self._attempt(state, ident)
            if causes:
                if not self._backjump(states, causes):
                    raise self._blame(causes)
                states[-1].causes[:] = [item for c in causes for item in c.criterion.needs]
            else:
                self._forget(state, [i for i in sorted(satisfied) if not self._pin_ok(
                    state, i, state.criteria[i])])
                states.append(self._copy(state))

    def _blame(self, causes):
        """The conflict to report: the first whose requirements alone leave no candidate (not
        only what backtracking ruled out), else the first."""
        for conflict in causes:
            if not self.matches(conflict.ident, conflict.criterion._replace(
                    incompatible=frozenset())):
                return conflict
        return causes[0]

    @staticmethod
    def _copy(state):
        return _State(collections.OrderedDict(state.mapping), dict(state.criteria),
                      list(state.causes))

    def _pin_ok(self, state, ident, criterion):
        pin = state.mapping.get(ident)
        return pin is not None and self._memoized("pin", criterion, pin, lambda: all(
            self.accepts(need, pin) for need, _ in criterion.needs))

    def _add(self, criteria, need, parent):
        """Add one need to ``criteria``; _Conflict when no candidate is left for it."""
        old = criteria.get(need.ident)
        criterion = _Criterion((old.needs if old else ()) + ((need, parent),),
                               old.incompatible if old else frozenset())
        if not self.matches(need.ident, criterion):
            raise _Conflict(need.ident, criterion)
        criteria[need.ident] = criterion

    def _preference(self, state, ident):
        """pip's order: an exact pin, then the causes of the last conflict, the shallowest,
        the roots' order, the constrained, the name."""
        criterion = state.criteria[ident]
        operators = [spec.operator for need, _ in criterion.needs for spec in need.specifier]
        direct = any(need.pin is not None for need, _ in criterion.needs)
        pinned = any(op.startswith("==") for op in operators)
        cause = any(need.ident == ident or (parent is not None and parent[0] == ident)
                    for need, parent in state.causes)
        if ident in self._requested:
            depth = 1.0
        else:
            depth = min(self._depths.get(parent[0], float("inf")) if parent else 0.0
                        for _, parent in criterion.needs) + 1.0
        self._depths[ident] = depth
        return (not direct, not pinned, not cause, depth,
                self._requested.get(ident, float("inf")), not operators, ident)

    def _attempt(self, state, ident):
        """Pin the best candidate of ``ident`` whose dependencies leave every criterion a
        candidate; [] when pinned, else the _Conflicts that ruled each candidate out."""
        criterion = state.criteria[ident]
        causes = []
        for candidate in self.matches(ident, criterion):
            criteria = dict(state.criteria)
            try:
                for need in self.dependencies(ident, candidate):
                    self._add(criteria, need, (ident, candidate))
            except _Conflict as conflict:
                causes.append(conflict)
                continue
            state.criteria.clear()
            state.criteria.update(criteria)
            state.mapping.pop(ident, None)
            state.mapping[ident] = candidate
            return []
        return causes or [_Conflict(ident, criterion)]

    def _backjump(self, states, causes):
        """Back to the last pin whose dependencies took part in the conflict, marked
        incompatible there (with what was learnt since); False when there is none."""
        involved = set()
        for conflict in causes:
            for need, parent in conflict.criterion.needs:
                involved.add(need.ident)
                if parent is not None:
                    involved.add(parent[0])
        while len(states) >= 3:
            del states[-1]
            while True:
                if len(states) < 2 or not states[-1].mapping:
                    return False
                broken = states.pop()
                ident, candidate = broken.mapping.popitem()
                if not self._optimistic and ident not in involved:
                    break  # safe: undo the last pin
                if set(n.ident for n in self.dependencies(ident, candidate)) & involved:
                    break
                if not broken.mapping:
                    break  # never past the first pin: undo that one, and try its next
                if len(states) < 2:
                    return False
            learnt = [(k, c.incompatible) for k, c in broken.criteria.items() if c.incompatible]
            learnt.append((ident, frozenset([candidate.key])))
            states.append(self._copy(states[-1]))
            if self._patch(states[-1], learnt):
                return True
            if self.rounds_left <= 0:
                raise _TooDeep()
            self.rounds_left -= 1
        return False

    def _patch(self, state, learnt):
        for ident, incompatible in learnt:
            criterion = state.criteria.get(ident)
            if criterion is None:
                continue
            criterion = _Criterion(criterion.needs, criterion.incompatible | incompatible)
            if not self.matches(ident, criterion):
                return False
            state.criteria[ident] = criterion
        return True

    def _forget(self, state, idents):
        """Unpin ``idents`` (a new requirement rejects their pins) and drop every need their
        pins brought: a dropped version's requirements are never kept in force, and its pin
        comes back only with the requirements of the candidate pinned next. (What only those
        pins required stays pinned, unreachable, until the end: it is never installed; undoing
        it at once could undo the very requirement that rejected the pin, round after round.)"""
        gone = set(idents)
        if not gone:
            return
        for key, criterion in list(state.criteria.items()):
            needs = tuple((n, p) for n, p in criterion.needs if p is None or p[0] not in gone)
            if len(needs) != len(criterion.needs):
                state.criteria[key] = criterion._replace(needs=needs)
        for ident in gone:
            state.mapping.pop(ident, None)

    # -- every root, every problem ----------------------------------------------------------

    def run(self, roots):
        """(state, root needs to plan for) after recording every problem; state is None when
        the round limit was reached."""
        needs = self._root_needs(roots)
        try:
            return self.solve([n for _, n in needs]), needs
        except _Conflict as error:
            conflict = error
        except _TooDeep:
            return self._too_deep(roots), []
        state = self._lenient([n for _, n in needs], conflict)
        if state is None:
            return self._too_deep(roots), []
        return self._isolate(state, needs)

    def _lenient(self, needs, conflict):
        """A final state once each project that ran out has a placeholder (added one at a
        time, as the searches find them), or None past the round limit."""
        while True:
            if conflict is not None:
                name = conflict.criterion.needs[0][0].name
                if name in self.placeholders:
                    return None
                self.placeholders[name] = self._placeholder(name)
                self.blamed[name] = [(n, p) for n, p in conflict.criterion.needs
                                     if n.pin is None]
            try:
                return self.solve(needs, safe=False)
            except _Conflict as error:
                conflict = error
            except _TooDeep:
                return None

    def _root_needs(self, roots):
        needs = []
        for root in roots:
            try:
                if root.marker is not None and not root.marker.evaluate(self.env, "requirement"):
                    continue
            except (UndefinedComparison, UndefinedEnvironmentName) as error:
                raise UsageError("the marker of %s cannot be evaluated: %s" % (root, error),
                                 str(root))
            needs.append((str(root), _Need.of(root, str(root))))
        return needs

    def _placeholder(self, name):
        """What stands for a project with a problem: a dead end; when ``follow`` (only to
        report on roots already blocked), an unusable wheel's requirements are followed, so
        that what its replacement needs is known too."""
        for _, wheel in self.pool.incompatible.get(name, ()) if self.follow else ():
            metadata = self.pool.metadata.get(wheel.filename)
            if metadata is not None and not isinstance(metadata, BootstrapError):
                return Candidate(name, wheel.version, SOURCE_INCOMPATIBLE,
                                 tuple(metadata.requires_dist), metadata.requires_python, wheel,
                                 None, None)
        return Candidate(name, "0", SOURCE_MISSING, (), None, None, None, None)

    def _isolate(self, state, needs):
        """Block the roots that reach a placeholder, and record a problem for each
        placeholder they reach (following unusable wheels' requirements, for them only);
        then resolve the other roots again on their own."""
        used = _placeholders_reached(state, self.placeholders, [n.ident for _, n in needs])
        blocked = [(text, need) for text, need in needs
                   if _placeholders_reached(state, used, [need.ident])]
        rest = self._rescue([item for item in needs if item not in blocked], blocked)
        blocked = [item for item in blocked if item not in rest]
        rest = [item for item in needs if item in rest]
        states = [(state, blocked)]
        if any(self.pool.incompatible.get(name) for name in used):
            self.follow = True
            self.placeholders = dict((name, self._placeholder(name)) for name in used)
            followed = self._lenient([n for _, n in blocked], None)
            if followed is not None:
                states.insert(0, (followed, blocked))
        diagnosed = set()
        for final, reaching in states:
            self._state = final
            edges = _edges(final)
            for name in _placeholders_reached(final, self.placeholders,
                                              [n.ident for _, n in reaching]):
                if name in diagnosed:
                    continue
                diagnosed.add(name)
                self.conflict_roots[name] = [text for text, need in reaching if any(
                    ident.split("[")[0] == name for ident in _reach(edges, [need.ident]))]
                self._diagnose(name, self._needs_on(name, final))
        self.blocked_texts = set(text for text, _ in blocked)
        self.blocked_names = set(ident.split("[")[0] for ident in _reach(_edges(state), [
            need.ident for _, need in blocked]))
        self.placeholders = {}
        self.follow = False
        try:
            return self.solve([n for _, n in rest]), rest
        except (_Conflict, _TooDeep):
            return state, rest  # the answer with placeholders, restricted to these roots

    def _rescue(self, rest, blocked):
        """``rest`` with each blocked root whose closure can be completed together with them
        after all (the placeholders' answer may have chosen a version that needs one)."""
        saved, self.placeholders = self.placeholders, {}
        rest = list(rest)
        for item in blocked:
            if item[1].name in saved:  # the root itself has no usable candidate: none can help
                continue
            try:
                self.solve([n for _, n in rest + [item]])
                rest.append(item)
            except (_Conflict, _TooDeep):
                pass
        self.placeholders = saved
        return rest

    def _too_deep(self, roots):
        problem = Problem(
            "version-conflict", "resolution",
            "resolution gave up after %d rounds without finding versions that satisfy every "
            "requirement of %s; name fewer roots (--require) or pin versions" % (
                self.max_rounds, ", ".join(str(r) for r in roots)),
            details={"rounds": self.max_rounds})
        self.problems.append(problem)
        self.blocked_texts = set(str(r) for r in roots)
        return None

    # -- problems -----------------------------------------------------------------------------

    def _needs_on(self, name, state):
        """The needs on a project with a problem: those of the final (placeholder) state;
        with those that ran out when it was blamed, when the final ones alone conflict in no
        way (a placeholder has no requirements, so the pin that clashed may be gone)."""
        needs = [(n, p) for ident, c in sorted(state.criteria.items())
                 if ident.split("[")[0] == name for n, p in c.needs if n.pin is None]
        if self._smallest(name, needs, self.found(name))[0] in ("range", "available"):
            return needs
        return needs + [item for item in self.blamed.get(name, ()) if item not in needs]

    def _diagnose(self, name, needs):
        specifier = SpecifierSet()
        for need, _ in needs:
            specifier = specifier & need.specifier
        subject = "%s%s" % (name, specifier)
        usable = [c for c in self.found(name) if c.source != SOURCE_INSTALLED]
        kind, smallest = self._smallest(name, needs, self.found(name))
        self.conflicts[name] = [collections.OrderedDict([
            ("requirement", "%s%s" % (need.ident, need.specifier)),
            ("required_by", parent[1].label if parent else None)]) for need, parent in smallest]
        self.conflict_kinds[name] = kind
        if _witness(specifier) is None:  # the subject is no range: it cannot be fetched
            return self._fail(name, "version-conflict", name, "no version of %s can satisfy "
                              "every requirement on it: %s" % (name, _who_requires(smallest)),
                              needs)
        if name in self.pool.installed:
            return self._installed_conflict(name, specifier, subject, needs)
        if usable:
            return self._bundle_conflict(name, specifier, subject, needs, usable, smallest)
        rejected = self.rejected.get(name, ())
        too_new = [c for why, c in rejected if why == "requires-python"]
        sdists = [s for why, (s, _) in [r for r in rejected if r[0] == "sdist"]
                  if specifier.contains(str(s.version), prereleases=True)]
        if too_new:
            needs_python = sorted(set(c.requires_python for c in too_new))
            return self._fail(name, "requires-python", subject, "the bundle's %s wheels need "
                              "Python %s; this is Python %s" % (
                                  name, " or ".join(needs_python),
                                  self.env.get("python_full_version")), needs, fetch=subject)
        if sdists:
            return self._sdist_problem(name, max(sdists, key=lambda s: s.version), needs)
        if self.pool.incompatible.get(name):
            return self._incompatible_problem(name, specifier, subject, needs)
        bad = [item for why, item in rejected if why == "marker"]
        if bad:
            return self._bad_marker(name, bad[0], needs)
        provided = platform_package(self.profile, name, specifier)
        if provided:
            return self._platform_provides(name, subject, provided[1], needs)
        wheels = set(wheel.filename for _, wheel in self.pool.wheels.get(name, ()))
        refused = [p for p in self.problems if p.subject in wheels]
        if refused:  # every wheel of it was refused (invalid, unsafe): that says why, not missing
            self.failed[name] = refused[0]
            return
        self._fail(name, "missing-dependency", subject, "%s is required but the bundle has no "
                   "%s wheel and it is not installed" % (subject, name), needs, fetch=subject)

    def _platform_provides(self, name, subject, version, needs):
        """Not installed, but Pyodide's own installer has it: say so, with its one line."""
        self._fail(name, "missing-dependency", subject,
                   "%s is not installed, but is available from Pyodide's own packages (%s %s, "
                   "through micropip or pyodide.loadPackage)" % (subject, name, version), needs,
                   details={"available_from": "pyodide", "available_version": version})
        self.problems[-1] = self.failed[name] = self.problems[-1]._replace(
            fix=platform_install_fix([name]))

    @staticmethod
    def _smallest(name, needs, usable):
        """(kind, the fewest needs that together leave no version): kind "range" when no
        version can satisfy them, "available" when none of the usable candidates does,
        "missing" when there is no usable candidate at all, "dependencies" (and every need)
        when some candidates satisfy them all but each fails on its own requirements."""
        def no_range(subset):
            specifier = SpecifierSet()
            for need, _ in subset:
                specifier = specifier & need.specifier
            return _witness(specifier) is None

        def none_usable(subset):
            return not any(all(n.accepts(c) for n, _ in subset) for c in usable)
        if no_range(needs):
            kind, empty = "range", no_range
        elif usable and none_usable(needs):
            kind, empty = "available", none_usable
        else:
            return ("dependencies" if usable else "missing"), list(needs)
        smallest = list(needs)
        for item in list(needs):
            trial = [other for other in smallest if other is not item]
            if trial and empty(trial):
                smallest = trial
        return kind, smallest

    def _installed_conflict(self, name, specifier, subject, needs):
        installed = _installed_candidate(self.pool.installed[name])
        held = self._installed_requirements(name)
        pinned = specifier
        for requirement, _ in held:
            pinned = pinned & requirement.specifier
        if held and _witness(pinned) is None:
            return self._pinned_by_installed(name, installed, needs, held)
        accepted = [c for c in self._bundle_candidates_all(name)
                    if all(need.accepts(c) for need, _ in needs)]
        if not accepted:
            return self._fail(name, "version-conflict", subject,
                              "%s %s is installed but %s is required, and the bundle has no "
                              "version that satisfies it" % (name, installed.version, subject),
                              needs, fetch=subject)
        best = accepted[0]
        breakers = self._breakers(name, best.version)
        details = {"installed": str(installed.version), "bundle": str(best.version),
                   "would_break": breakers}
        if self.upgrade and breakers:
            return self._fail(name, "version-conflict", subject,
                              "upgrading %s from %s to %s would break installed packages: %s"
                              % (name, installed.version, best.version, ", ".join(breakers)),
                              needs, details=details)
        self._fail(name, "version-conflict", subject,
                   "%s %s is installed but %s is required; the bundle has %s, which would "
                   "replace the preinstalled one%s" % (
                       name, installed.version, subject, best.version,
                       ", and that would break %s" % ", ".join(breakers) if breakers else ""),
                   needs, sandbox_fix=None if breakers or self.upgrade else "--upgrade",
                   details=details)

    def _pinned_by_installed(self, name, installed, needs, held):
        """What is required of an installed project contradicts what other installed
        distributions require of it: no version can be fetched; the roots must change."""
        pinned = SpecifierSet()
        for requirement, _ in held:
            pinned = pinned & requirement.specifier
        blame = [(n, p) for n, p in needs if _witness(n.specifier & pinned) is None]
        self.conflicts[name] = [collections.OrderedDict([
            ("requirement", "%s%s" % (need.ident, need.specifier)),
            ("required_by", parent[1].label if parent else None)])
            for need, parent in blame or needs] + [collections.OrderedDict([
                ("requirement", "%s%s" % (name, requirement.specifier)),
                ("required_by", "%s==%s (installed)" % (dist.name, dist.version))])
                for requirement, dist in held]
        self.conflict_kinds[name] = "range"
        self._fail(name, "version-conflict", name,
                   "%s %s is installed and %s; no version of %s satisfies that and %s" % (
                       name, installed.version, ", ".join(
                           "%s==%s requires %s%s" % (d.name, d.version, name, r.specifier)
                           for r, d in held), name, _who_requires(blame or needs)), needs,
                   details=self._replacement(name, installed, needs))

    def _replacement(self, name, installed, needs):
        """The details of a conflict over an installed project: its version, the bundle's best
        version that the requirements accept, and the installed packages that would break."""
        details = {"installed": str(installed.version)}
        accepted = [c for c in self._bundle_candidates_all(name)
                    if all(need.accepts(c) for need, _ in needs)]
        if accepted:
            details["bundle"] = str(accepted[0].version)
            details["would_break"] = self._breakers(name, accepted[0].version)
        return details

    def _bundle_candidates_all(self, name):
        """The bundle's usable versions of a project, whatever is installed."""
        self.found(name)
        return self._bundle[name]

    def _bundle_conflict(self, name, specifier, subject, needs, usable, smallest):
        if any(all(n.accepts(c) for n, _ in needs) for c in usable):
            message = ("the bundle's %s %s satisfy %s, but not together with the other "
                       "requirements of this resolution" % (name, ", ".join(sorted(set(
                           str(c.version) for c in usable))), subject))
        else:
            message = "%s is required but the bundle has %s %s" % (
                subject, name, ", ".join(sorted(set(str(c.version) for c in usable))))
        if len(smallest) > 1:
            message += " (%s)" % _who_requires(smallest)
        self._fail(name, "version-conflict", subject, message, needs, fetch=subject)

    def _sdist_problem(self, name, sdist, needs):
        missing = [m for why, (s, m) in [r for r in self.rejected[name] if r[0] == "sdist"]
                   if s is sdist][0]
        message = ("%s is a source distribution and building it offline needs %s, which this "
                   "interpreter lacks" % (sdist.filename, ", ".join(missing)))
        if not _can_build_sdists(self.profile):
            message = ("%s is a source distribution, and this interpreter cannot build one (it "
                       "cannot start the process a build runs in): it needs a wheel built for "
                       "%s" % (sdist.filename, self.profile.target_tag))
        self._fail(name, "sdist-needs-build", sdist.filename, message, needs,
                   fetch="%s==%s" % (name, sdist.version),
                   details={"backend": sdist.backend, "build_requires": list(sdist.requires),
                            "missing": missing})

    def _incompatible_problem(self, name, specifier, subject, needs):
        items = sorted(self.pool.incompatible[name], key=lambda item: item[1].version,
                       reverse=True)
        fitting = [item for item in items
                   if specifier.contains(str(item[1].version), prereleases=True)]
        verdict, wheel = (fitting or items)[0]
        self._fail(name, "incompatible-wheel", verdict.filename,
                   "%s does not fit: %s" % (verdict.filename, verdict.message), needs,
                   fetch="%s==%s" % (name, wheel.version) if fitting else subject,
                   details={"reason": verdict.reason, "closest": verdict.closest})

    def _bad_marker(self, name, bad, needs):
        """A Requires-Dist whose marker cannot be evaluated: the candidate's roots are blocked."""
        candidate, text, error = bad
        source = candidate.wheel.filename if candidate.wheel is not None else candidate.label
        problem = Problem(
            "invalid-wheel", source, "%s: the requirement %r has a marker that cannot be "
            "evaluated (%s)" % (source, text, error), required_by=[candidate.label],
            fix={"where": "online", "command": "report it to the project; or fetch another "
                 "version: python tools/bundle.py '%s!=%s' --profile sandbox-profile.json -o %s"
                 % (candidate.name, candidate.version, FIX_BUNDLE_NAME)})
        self.failed[name] = problem
        self._problem_once(problem)

    def _fail(self, name, code, subject, message, needs, fetch=None, sandbox_fix=None,
              details=None):
        details = dict(details or {})
        reasons = sorted(set(need.why for need, _ in needs if need.why))
        requirers = sorted(set(parent[1].label for _, parent in needs if parent is not None))
        if reasons:
            details["because"] = reasons
        if requirers:
            message += "; required by %s%s" % (", ".join(requirers), " because %s" % " or ".join(
                reasons) if reasons else "")
        else:
            message += "; it is a root requirement"
        details["chain"] = self._chain(name)
        details["conflict"] = self.conflicts.get(name, [])
        details["conflict_kind"] = self.conflict_kinds.get(name)
        details["conflict_roots"] = self.conflict_roots.get(name, [])
        if fetch:
            self._add_fetch(name, fetch)
            details["fetch"] = fetch
        if sandbox_fix:
            details["sandbox_fix"] = sandbox_fix
        problem = Problem(code, subject, message, required_by=requirers, details=details)
        self.failed[name] = problem
        self.problems.append(problem)

    def _add_fetch(self, name, requirement):
        """One entry per project in the online fix; an exact pin wins over a range."""
        if "==" in self.fetch.get(name, ""):
            return
        self.fetch.pop(name, None)  # a range gives way to the newer entry, which goes last
        self.fetch[name] = requirement

    def _chain(self, name):
        """The path from a root down to ``name``'s first requirer, as labels."""
        chain, seen = [], set()
        criteria = self._state.criteria
        ident = name
        while ident not in seen:
            seen.add(ident)
            needs = criteria.get(ident)
            parents = [p for n, p in needs.needs if p is not None] if needs else []
            if not parents:
                break
            chain.insert(0, parents[0][1].label)
            ident = parents[0][0]
        return chain

    # -- the plan -----------------------------------------------------------------------------

    def plan(self, state, needs):
        """(install, satisfied): the pins the roots reach, dependencies first."""
        if state is None:
            return [], []
        edges = _edges(state)
        children = collections.defaultdict(list)
        for parent, kids in edges.items():
            for kid in kids:
                base = kid.split("[")[0]
                if base not in children[parent.split("[")[0]]:
                    children[parent.split("[")[0]].append(base)
        order = []
        for _, need in needs:
            _post_order(children, need.name, order, set())
        install, satisfied = [], []
        for name in order:
            candidate = state.mapping.get(name)
            if candidate is None or candidate.source in (SOURCE_MISSING, SOURCE_INCOMPATIBLE):
                continue
            self.chosen[name] = candidate
            (satisfied if candidate.source == SOURCE_INSTALLED else install).append(candidate)
        if self.upgrade:
            roots = set(need.name for _, need in needs)
            self._refused_upgrades([c for c in satisfied if c.name in roots])
        return install, satisfied

    def _refused_upgrades(self, satisfied):
        """--upgrade kept an installed root at its version because every newer one in the
        bundle would break another installed distribution: a problem, never a silent "ok"."""
        for installed in satisfied:
            newer = [c for why, c in self.rejected.get(installed.name, ())
                     if why == "breaks" and c.version > (_coerce_version(installed.version)
                                                         or Version("0"))]
            if not newer:
                continue
            best = max(newer, key=lambda c: c.version)
            breakers = self._breakers(installed.name, best.version)
            self._problem_once(Problem(
                "version-conflict", "%s==%s" % (installed.name, best.version),
                "upgrading %s from %s to %s would break installed packages: %s; %s %s stays"
                % (installed.name, installed.version, best.version, ", ".join(breakers),
                   installed.name, installed.version),
                details={"installed": str(installed.version), "bundle": str(best.version),
                         "would_break": breakers}))


def _who_requires(needs):
    return "; ".join("%s%s (%s)" % (need.ident, need.specifier, "required by %s" % parent[1].label
                                    if parent else "a root requirement")
                     for need, parent in needs)


def _edges(state):
    """{identifier: [identifiers it requires]} of a final state, in the order they came."""
    edges = collections.defaultdict(list)
    for ident in sorted(state.criteria):
        for need, parent in state.criteria[ident].needs:
            if parent is not None and ident not in edges[parent[0]]:
                edges[parent[0]].append(ident)
    return edges


def _placeholders_reached(state, placeholders, starts):
    """The names of ``placeholders`` that the identifiers ``starts`` reach in ``state``."""
    reached = set(ident.split("[")[0] for ident in _reach(_edges(state), starts))
    return [name for name in placeholders if name in reached]


def _reach(edges, starts):
    """``starts`` and everything the ``edges`` ({node: nodes}) lead to from them."""
    seen, stack = set(), list(starts)
    while stack:
        ident = stack.pop()
        if ident not in seen:
            seen.add(ident)
            stack.extend(edges.get(ident, ()))
    return seen


def _post_order(children, name, order, visiting):
    if name in visiting or name in order:
        return
    visiting.add(name)
    for child in children.get(name, ()):
        _post_order(children, child, order, visiting)
    order.append(name)


def resolve(profile, wheels=(), sdists=(), roots=(), upgrade=False, verdicts=None, shadow=None,
            max_rounds=RESOLVE_MAX_ROUNDS):
    """Decide what to install for ``roots`` (Requirements) on ``profile``: a Plan. Pure.

    ``shadow`` is an install folder (--target) whose packages may shadow, without --upgrade,
    an installed distribution elsewhere that does not satisfy a requirement.
    """
    pool = Pool(profile, wheels, sdists, verdicts)
    resolver = _Resolver(pool, upgrade, shadow, max_rounds)
    state, needs = resolver.run(roots)
    install, satisfied = resolver.plan(state, needs)
    chosen = set(c.wheel.filename for c in install if c.wheel is not None)
    skipped = []
    for wheel in wheels:
        if wheel.filename in chosen:
            continue
        verdict = (verdicts or {}).get(wheel.filename) or judge_wheel(profile, wheel.wheel_name)
        picked = resolver.chosen.get(wheel.name)
        if not verdict.compatible:
            reason = verdict.message
        elif picked is not None:
            reason = "another version or build was chosen"
        elif wheel.name in resolver.failed:
            reason = "not installed: see the problems about %s" % wheel.name
        elif wheel.name in resolver.blocked_names:
            reason = "not installed: a root that needs it cannot be completed (see problems)"
        else:
            reason = "not needed by any root"
        skipped.append({"file": wheel.filename, "reason": reason})
    return Plan(install, satisfied, skipped, resolver.problems, [str(r) for r in roots],
                sorted(resolver.blocked_texts), list(resolver.fetch.values()),
                dict((name, {"kind": resolver.conflict_kinds[name], "requirements": items,
                             "roots": resolver.conflict_roots.get(name, [])})
                     for name, items in resolver.conflicts.items()))


# == 9. Fixes (pure) ==========================================================================
# -- Fixes ------------------------------------------------------------------------------------
# Every problem carries a fix: where to act and the exact command. Everything missing from the
# bundle is fetched by ONE online command (tools/bundle.py) that carries every fact it needs:
# the sandbox writes its profile (sandbox-profile.json) next to the uploads whenever a report
# needs an online step, and the command names that file; `--target` (with --can-compile and
# the relevant --installed pins) is its fallback when the file cannot be brought along. A
# short `pip download` for the target is the alternative.
# A package whose own reinstall is the fix (an installed root that does not import because its
# build does not fit this interpreter, or a library it links to is missing) is fetched at the
# very version that is installed: the command says `--reinstall NAME` (and no --installed pin
# of it), so that the builder ships it although the profile lists it, and the bundle's
# manifest says `reinstall`, so that the next install replaces that same version.


PROFILE_FILE_NAME = "sandbox-profile.json"
_COMMON_GLIBC = (39, 35, 34, 31, 28, 27, 24, 17)  # manylinux_2_X tags wheels are built for
# (2_17 also by name: pip widens manylinux2014 to its legacy aliases only, not to manylinux_2_17)


def _short_platforms(profile):
    """The few --platform values that select this profile's wheels: pip expands
    manylinux2014 to manylinux2010/manylinux1 and a macOS tag to older ones itself."""
    platforms = []
    for tag in profile.tags:
        if tag.platform != "any" and tag.platform not in platforms:
            platforms.append(tag.platform)
    if not platforms:
        return []
    portable = [p for p in platforms if not p.startswith("linux_")]  # no index has linux_*
    first = (portable or platforms)[0]
    glibc = re.match(r"^manylinux_2_(\d+)_(\w+)$", first)
    if glibc:
        minor, arch = int(glibc.group(1)), glibc.group(2)
        wanted = [first] + ["manylinux_2_%d_%s" % (m, arch) for m in _COMMON_GLIBC if m < minor]
        wanted.append("manylinux2014_%s" % arch)
        return [p for p in wanted if p in platforms] + [
            p for p in platforms if p.startswith(("manylinux2010", "manylinux1"))
            and arch in ("x86_64", "i686") and minor < 17]
    musl = re.match(r"^musllinux_1_(\d+)_(\w+)$", first)
    if musl:
        return [p for p in platforms if p.startswith("musllinux_1_")][:2]
    return [first]


def pip_target_flags(profile):
    """pip's --platform (the few that matter, best first), --python-version, --implementation
    and --abi flags that select this profile's wheels."""
    abis = []
    for tag in profile.tags:
        if tag.abi not in abis:
            abis.append(tag.abi)
    implementation = (re.match(r"[a-z]+", profile.tags[0].interpreter).group(0)
                      if profile.tags else "py")
    flags = []
    for platform in _short_platforms(profile):
        flags += ["--platform", platform]
    flags += ["--python-version", profile.marker_environment.get("python_version", "3"),
              "--implementation", implementation]
    for abi in abis:
        flags += ["--abi", abi]
    return flags


def _is_pin(text):
    return bool(re.match(r"^[A-Za-z0-9._-]+(\[[^\]]*\])?===?[^,;*]+$", text))


def pip_download_command(profile, requirements, dest="wheels", sdists=(), no_deps=False):
    """`pip download` for this profile's tags. ``sdists``: projects that only come as source
    (no --only-binary then, and --no-deps over the explicit list: pip refuses to follow an
    sdist's dependencies for another platform). --no-deps also when every requirement is a
    pin, or when ``no_deps``."""
    flags = pip_target_flags(profile)
    no_deps = no_deps or bool(sdists) or all(_is_pin(r) for r in requirements)
    parts = ["pip download", "--prefer-binary" if sdists else "--only-binary=:all:"]
    parts.extend("%s %s" % (flags[i], flags[i + 1]) for i in range(0, len(flags), 2))
    if no_deps:
        parts.append("--no-deps")
    parts.append("-d %s" % dest)
    parts.extend(_quote(r) for r in requirements)
    return " ".join(parts)


def write_profile_file(profile, bundles):
    """Write the profile next to the first upload (its folder): the path, or None when there
    is no upload or that folder is not writable. Never anywhere else, never an error. After
    an install, it lists what is installed now (``profile.installed_after``)."""
    if not bundles or profile.source != "this interpreter":
        return None
    folder = os.path.dirname(os.path.abspath(bundles[0]))
    path = os.path.join(folder, PROFILE_FILE_NAME)
    data = profile.to_json()
    after = getattr(profile, "installed_after", None)  # an install changed what is there
    if after is not None:
        data["installed"] = [_distribution_json(d) for d in after]
    try:
        with open(path + ".tmp", "w") as f:
            f.write(_dump_json(data))
        os.replace(path + ".tmp", path)
    except (OSError, ValueError, TypeError):
        try:
            os.remove(path + ".tmp")
        except OSError:
            pass
        return None
    return path


def _profile_words(profile, profile_argument, profile_file, installed_names=(), reinstall=()):
    """The --profile part of a bundle.py command: the given profile, or the written file with
    the target and its facts as the fallback, or (no file) the target and its facts; and
    --reinstall for each installed package whose own reinstall is the fix."""
    again = []
    for name in sorted(set(reinstall)):
        again += ["--reinstall", name]
    if profile_argument:
        return ["--profile", profile_argument] + again
    words = (["--profile", PROFILE_FILE_NAME, "--target", profile.target_tag] if profile_file
             else ["--profile", profile.target_tag])
    sandbox = profile.sandbox or {}
    if sandbox.get("compiler") and sandbox.get("python_headers"):
        words.append("--can-compile")
    if not profile.pip:
        words.append("--no-pip")
    now = getattr(profile, "installed_after", None)
    installed = dict((d.name, d.version) for d in (profile.build_installed or ()))
    installed.update((d.name, d.version) for d in (profile.installed if now is None else now))
    wanted = set(installed_names) | set(["pip", "setuptools", "wheel"])  # what builds use
    for name in sorted(set(installed) & wanted - set(reinstall)):
        words += ["--installed", "%s==%s" % (name, installed[name])]
    return words + again


def online_fix(profile, requirements, profile_argument=None, profile_file=None,
               installed_names=(), sdists=(), no_deps=False, extra=(), reinstall=()):
    """The one online command that fetches ``requirements`` for this profile, and its
    alternative (``extra``: what the alternative needs besides, e.g. a build backend;
    ``reinstall``: installed names whose same version the fix ships again)."""
    words = _profile_words(profile, profile_argument, profile_file, installed_names, reinstall)
    command = "python tools/bundle.py %s %s -o %s" % (
        " ".join(_quote(r) for r in requirements), " ".join(_quote(w) for w in words),
        FIX_BUNDLE_NAME)
    fix = collections.OrderedDict([("where", "online"), ("command", command)])
    if profile_file:
        fix["profile_file"] = profile_file
        fix["before"] = ("copy %s from the sandbox into the folder where you run the command "
                         "(without it, the command builds for --target %s)"
                         % (profile_file, profile.target_tag))
    alt = list(requirements) + [r for r in extra if r not in requirements]
    fix["alt"] = pip_download_command(profile, alt, sdists=sdists, no_deps=no_deps)
    return fix


def _bundle_fix_requirements(fix):
    """The requirements of a `python tools/bundle.py REQ... --profile ...` fix, else None."""
    import shlex
    try:
        words = shlex.split((fix or {}).get("command") or "")
    except ValueError:
        return None
    if words[:2] != ["python", "tools/bundle.py"]:
        return None
    requirements = []
    for word in words[2:]:
        if word.startswith("-"):
            break
        if not _is_requirement(word):  # a placeholder such as REQUIREMENT...
            return None
        requirements.append(word)
    return requirements or None


def _problem_names(problem):
    names = set()
    for text in [problem.subject] + list(problem.required_by) + list(
            problem.details.get("would_break") or ()):
        match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", text or "")
        if match:
            names.add(canonicalize_name(match.group(1)))
    return names


def _root_of(problem, roots):
    """The root requirement (as given) whose closure led to ``problem``: [text]."""
    chain = problem.details.get("chain") or []
    label = chain[0] if chain else (problem.required_by or (problem.subject,))[0]
    name = next(iter(_problem_names(Problem(problem.code, label, ""))), None)
    for text in roots:
        try:
            if Requirement(text).key == name:
                return [text]
        except InvalidRequirement:
            continue
    return [name] if name else []


def _roots_named(names, roots):
    """The root requirements (as given) of these root names or texts."""
    found = []
    for name in names:
        key = _requirement_head(name)
        texts = [r for r in roots if _is_requirement(r) and Requirement(r).key == key]
        found.extend(texts or [name])
    return found


def _reinstalled(problem, wanted, profile):
    """The installed names among an import-failed problem's pins of the installed version:
    packages whose own reinstall is the fix."""
    if problem.code != "import-failed":
        return set()
    now = getattr(profile, "installed_after", None)
    installed = dict((d.name, d.version) for d in (profile.installed if now is None else now))
    names = set()
    for text in wanted:
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^,;\s]+)$", text)
        if match and installed.get(canonicalize_name(match.group(1))) == match.group(2):
            names.add(canonicalize_name(match.group(1)))
    return names


def _online_needs(problems, fetch, profile, roots, blocked=()):
    """(requirements, sdists, extra, names, covered, reinstall) for the shared online fix
    (``reinstall``: see _reinstalled). A conflict with an installed version (or one no single
    fetch can mend) asks for the blocked ROOTS again, not for the version that conflicts: the
    builder resolves them together, keeping what is installed, and says when that needs
    --upgrade."""
    installed = set(d.name for d in profile.installed)
    requirements, replaced, sdists, extra, names, covered = [], set(), [], [], set(), set()
    reinstall = set()
    for index, problem in enumerate(problems):
        wanted = problem.details.get("fetch")
        if wanted is None and problem.fix is not None and not problem.details.get("sandbox_fix"):
            wanted = _bundle_fix_requirements(problem.fix)
        wanted = [wanted] if isinstance(wanted, str) else list(wanted or ())
        if (problem.code == "version-conflict" and not problem.details.get("sandbox_fix")
                and (not wanted or _problem_names(Problem(problem.code, problem.subject, ""))
                     & installed)):
            replaced.update(wanted)
            named = problem.details.get("conflict_roots")  # the resolver's smallest set
            wanted = (_roots_named(named, roots) if named else
                      _root_of(problem, roots) + [r for r in blocked])
            wanted = [r for i, r in enumerate(wanted) if r not in wanted[:i]]
        if not wanted:
            continue
        covered.add(index)
        reinstall |= _reinstalled(problem, wanted, profile)
        requirements.extend(r for r in wanted if r not in requirements)
        names |= _problem_names(problem)
        if problem.code in ("sdist-needs-build", "build-failed"):
            sdists.append(problem.subject)
            for text in problem.details.get("missing") or ():
                extra.append(text.split(" (", 1)[0])
    requirements = [r for r in fetch if r not in replaced and r not in requirements] + [
        r for r in requirements if r not in replaced or r in roots]
    return requirements, sdists, extra, names, covered, reinstall


def attach_fixes(problems, profile, fetch, rerun, profile_argument=None, bundles=(), roots=(),
                 blocked=()):
    """(problems with their `fix` filled in, the shared online fix or None): one online
    command for everything missing, or a sandbox rerun. When something must be fetched, the
    profile is written next to the uploads (``bundles``) for that command to name."""
    requirements, sdists, extra, names, covered, reinstall = _online_needs(
        problems, fetch, profile, roots, blocked)
    shared = profile_file = None
    if (requirements or any(p.fix is None and not p.details.get("sandbox_fix")
                            for p in problems)) and not profile_argument:
        profile_file = write_profile_file(profile, bundles)
    if requirements:
        shared = online_fix(profile, requirements, profile_argument, profile_file, names,
                            sdists, False, extra, reinstall)
    fixed = []
    for index, problem in enumerate(problems):
        fix = problem.fix
        if fix is None and problem.details.get("sandbox_fix"):
            fix = {"where": "sandbox", "command": rerun + " " + problem.details["sandbox_fix"]}
        elif shared and index in covered:
            fix = shared if not (fix or {}).get("hint") else collections.OrderedDict(
                list(shared.items()) + [("hint", fix["hint"])])  # the shared fix, and why
        elif fix is None:
            fix = online_fix(profile, [r for r in problem.required_by or [problem.subject]],
                             profile_argument, profile_file, _problem_names(problem))
        fixed.append(problem._replace(fix=fix))
    return fixed, shared


def _bundle_tool():
    """The tool that builds bundles (tools/bundle.py, SPEC 3): the console script
    `sandbox-bundle` when the builder is installed beside this module."""
    source = globals().get("__file__")  # absent when a notebook cell exec()s this file
    here = os.path.dirname(os.path.abspath(source)) if source else None
    return ("sandbox-bundle" if here and os.path.isfile(os.path.join(
        here, "sandbox_bundle", "bundle.py")) else "python tools/bundle.py")


def _bundle_command(target):
    """The online command that builds a bundle for a target."""
    return _BUNDLE_COMMAND % (_bundle_tool(), target)


# -- The report of a check (SPEC 2.4) ---------------------------------------------------------
# What a check found, as a Report (see "Problems and reports"), with its fixes attached.


def _rerun_command(words, uploads=None):
    """A function of (target=None, jobs=None, work_dir=None, add=(), limit=None, overlay=None)
    giving the command `python bootstrap.py WORDS` (``words``: a command and its arguments)
    with another --target or --overlay (either replaces both), --jobs or --work-dir, an intake limit
    (``limit``: its option and value, such as ("--max-members", "120000")), and more uploads
    (``add``: after the command's ``uploads`` first words, its uploads, where the parser reads
    them)."""
    def command(target=None, jobs=None, work_dir=None, add=(), limit=None, overlay=None):
        changed = [("--target", target), ("--overlay", overlay), ("--work-dir", work_dir),
                   ("--jobs", jobs)] + ([limit] if limit else [])
        flags = set(flag for flag, value in changed if value)
        if target or overlay:  # one destination: either replaces the other
            flags.update(["--target", "--overlay"])
        kept, skip = [], False
        given = list(words)
        if add:
            given[1 + (uploads or 0):1 + (uploads or 0)] = list(add)
        for word in given:
            if skip:
                skip = False
            elif word in flags:
                skip = True
            elif word.split("=", 1)[0] not in flags or not word.startswith("--"):
                kept.append(word)
        for flag, value in changed:
            kept += [flag, str(value)] if value else []
        return "python bootstrap.py %s" % " ".join(_quote(word) for word in kept)
    return command


def _install_rerun(bundles, options=()):
    """_rerun_command of an install: `python bootstrap.py install` with its uploads and
    ``options`` (command-line words)."""
    uploads = list(bundles) or ["BUNDLE"]
    return _rerun_command(["install"] + uploads + list(options), len(uploads))


def _candidate_json(candidate):
    data = collections.OrderedDict([("name", candidate.name),
                                    ("version", str(candidate.version))])
    if candidate.wheel is not None:
        data["wheel"] = candidate.wheel.filename
        data["rank"] = candidate.rank
    if candidate.sdist is not None:
        data["sdist"] = candidate.sdist.filename
    return data


def _next_steps(command, status, problems, fix, bundles, rerun, fits=None):
    """What to do next, in order, each step ending in the CLI command it needs (rendering
    phrases that command for where the user is: see Phrasing). ``rerun``: _rerun_command of
    the command that ran (its options kept); ``fits``: the install that a check found
    everything for (_fits_command). An upload that cannot be read is fixed first (_upload_steps)."""
    unread = _unread_uploads(problems)
    if unread:
        return _upload_steps(command, unread, rerun())
    steps = []
    online = [p for p in problems if p["fix"] and p["fix"].get("where") == "online"]
    if fix and FIX_BUNDLE_NAME in fix["command"]:
        folder = os.path.dirname(bundles[0]) if bundles else ""
        steps.append("On a machine with internet, run: %s" % fix["command"])
        steps.append("Upload %s next to the bundle, then run %s again with both bundles: %s"
                     % (FIX_BUNDLE_NAME, command, rerun(add=[os.path.join(folder,
                                                                         FIX_BUNDLE_NAME)])))
    elif online:
        steps.append("On a machine with internet: %s" % online[0]["fix"]["command"])
    for problem in problems:
        if (problem["fix"] or {}).get("where") == "sandbox":
            steps.append(_sandbox_step(problem["fix"]))
    if status == "ok" and command == "check":
        steps.append("Everything fits: %s" % fits)
    result = []
    for step in steps:
        if step not in result:
            result.append(step)
    return result


def _upload_steps(command, problems, again):
    """The steps of a report whose uploads cannot all be read (``problems``: a corrupt or
    refused upload, a broken wheel in it): an install stops at them, so every command run
    with those uploads fails the same way, and what is missing is known only once each is
    read. First what fixes each (upload it again, online; or, in the sandbox, the command with
    a limit raised), then the command again (``again``) where no fix already runs it."""
    online = ["On a machine with internet: %s" % p["fix"]["command"] for p in problems
              if p["fix"].get("where") != "sandbox"]
    here = [_sandbox_step(p["fix"]) for p in problems if p["fix"].get("where") == "sandbox"]
    steps = online + here + ([] if here else ["Then run %s again: %s" % (command, again)])
    return sorted(set(steps), key=steps.index)


def _sandbox_step(fix):
    """The step of a fix in the sandbox: what only the user can do first, if anything, then
    its command."""
    return "In the sandbox: %s%s" % (fix["before"] + ", then run: " if fix.get("before") else "",
                                     fix["command"])


def _report_status(plan, problems, installed=None):
    """The one verdict of a report: ok, partial or failed. Before installing (a check, an
    install stopped early) the plan's, lowered by problems; after installing (``installed``:
    what was placed), what actually happened: with problems, partial if anything was placed."""
    if installed is not None:
        if problems:
            return "partial" if installed else "failed"
        return plan.status if plan else "ok"
    status = plan.status if plan else "failed"
    if problems and status == "ok":
        status = "partial" if plan and (plan.install or plan.satisfied) else "failed"
    return status


def build_report(command, profile, bundle, plan, problems, bundles, verdicts=(), sdists=(),
                 rerun=None, profile_argument=None, notes=(), installed=None, fits=None):
    """The Report of a check, or of an install (``installed``: the packages it placed; None
    when it stopped before installing). ``rerun``: _rerun_command of the command that ran, its
    options kept in every step that runs it again (default: its uploads alone)."""
    rerun = rerun or _rerun_command([command] + list(bundles), len(bundles))
    fixed, fix = attach_fixes(problems, profile, plan.fetch if plan else [], rerun(),
                              profile_argument, bundles, plan.roots if plan else [],
                              plan.blocked if plan else [])
    problems_json = sorted((p.to_json() for p in fixed), key=lambda p: (p["code"], p["subject"]))
    status = _report_status(plan, problems, installed)
    report = Report()
    report["schema"] = REPORT_SCHEMA
    report["command"] = command
    report["status"] = status
    report["target"] = profile.target_tag
    report["profile"] = profile.source
    report["roots"] = plan.roots if plan else []
    report["blocked_roots"] = plan.blocked if plan else []
    report["would_install"] = [_candidate_json(c) for c in plan.install] if (
        plan and installed is None) else []
    report["installed"] = installed if installed is not None else []
    report["satisfied"] = [collections.OrderedDict([("name", c.name), ("version", str(c.version)),
                                                    ("by", "preinstalled")])
                           for c in (plan.satisfied if plan else ())]
    report["wheels"] = [v.to_json() for v in sorted(verdicts, key=lambda v: v.filename)]
    report["sdists"] = [_sdist_json(profile, s) for s in sdists]
    report["skipped"] = plan.skipped if plan else []
    report["problems"] = problems_json
    report["fix"] = fix
    report["next_steps"] = _next_steps(command, status, problems_json, fix, bundles, rerun, fits)
    report["notes"] = list(notes) + (list(bundle.notes) if bundle else [])
    return report


def _sdist_json(profile, sdist):
    missing = missing_build_requirements(profile, sdist)
    return collections.OrderedDict([
        ("file", sdist.filename), ("name", sdist.name), ("version", str(sdist.version)),
        ("backend", sdist.backend), ("build_requires", list(sdist.requires)),
        ("missing", missing), ("buildable", not missing)])


# == 10. check: the dry run (I/O) =============================================================
# -- check: the dry run -----------------------------------------------------------------------


def _load_profile(profile):
    if profile is None:
        return Profile.current()
    if isinstance(profile, Profile):
        return profile
    if isinstance(profile, dict):
        return Profile.from_json(profile)
    return Profile.from_file(profile)


def _roots(require, bundle, wheels, sdists, environment=None):
    """Root requirements: --require; else, per upload, its manifest's roots, or, for uploads
    without a manifest (a plain `pip download` folder, a fix bundle's alternative), the
    projects in them that no project in the uploads requires: what the user asked for."""
    texts = list(require or ())
    if not texts:
        texts = bundle.roots()
        with_manifest = set(m.get("_origin") for m in bundle.manifests)
        origins = dict((f.path, f.origin) for f in bundle.files)
        names = set(Requirement(t).key for t in texts if _is_requirement(t))
        items = list(wheels) + list(sdists)
        unnamed = [item.name for item in items if origins.get(item.path) not in with_manifest
                   and item.name not in names]
        texts.extend(_unrequired(unnamed, items))
    roots = []
    for text in texts:
        try:
            root = Requirement(text)
            if root.marker is not None and environment is not None:
                root.marker.evaluate(environment, "requirement")
        except InvalidRequirement as error:
            raise UsageError("--require %s: %s" % (text, error.message.splitlines()[0]), text)
        except (UndefinedComparison, UndefinedEnvironmentName) as error:
            raise UsageError("the marker of %s cannot be evaluated: %s" % (text, error), text)
        roots.append(root)
    return roots


def _unrequired(candidates, items):
    """The root requirements among ``candidates`` (project names, in order): those that no
    other project of ``items`` (wheels, sdists) requires, whatever the marker. A project
    required only through extras that no project asks for makes those of the extras that
    the uploads complete part of their requirer's root (`black[d]` when aiohttp came with
    black; pandas[pyarrow], not pandas[all], when pyarrow came); a project that the roots
    chosen so far do not reach, through the extras they name, is a root of its own (what
    came for an extra nobody chose, a cycle that nothing else requires)."""
    requirers, edges, requested = _requirement_graph(items)
    present = set(item.name for item in items)
    roots = collections.OrderedDict()
    for name in candidates:
        found = requirers.get(name, set())
        if not found:
            roots.setdefault(name, set())
        elif all(extra and (requirer, extra) not in requested for requirer, extra in found):
            for requirer, extra in found:  # no project here asks for those extras: the user did
                if _project_names(edges.get("%s[%s]" % (requirer, extra), ())) <= present:
                    roots.setdefault(requirer, set()).add(extra)
    reached = _project_names(_reach(edges, _root_idents(roots)))
    for name in candidates:
        if name not in reached:
            roots.setdefault(name, set())
            reached |= _project_names(_reach(edges, [name]))
    return ["%s[%s]" % (name, ",".join(sorted(extras))) if extras else name
            for name, extras in roots.items()]


def _root_idents(roots):
    """The graph's nodes for {project: {extras}}: "name" and one "name[extra]" per extra."""
    return [ident for name, extras in roots.items()
            for ident in [name] + ["%s[%s]" % (name, extra) for extra in sorted(extras)]]


def _project_names(idents):
    return set(ident.split("[")[0] for ident in idents)


def _requirement_graph(items):
    """({project: {(requirer, extra or None)}}, edges, {(project, extra) some project asks
    for}) from the Requires-Dist of ``items``, whatever the marker but for its extras. The
    edges lead from a node, "name" or "name[extra]", to what it requires: "name" and one
    "name[extra]" per extra asked for ("name[extra]" also leads to "name"). An unreadable
    METADATA or requirement adds nothing."""
    requirers = collections.defaultdict(set)
    edges = collections.defaultdict(set)
    requested = set()
    for item in items:
        try:
            requires = item.metadata.requires_dist if item.metadata is not None else ()
        except (BootstrapError, OSError, ValueError):
            continue
        for text in requires:
            try:
                requirement = _requirement(text)
            except InvalidRequirement:
                continue
            if requirement.key == item.name:
                continue
            extras = _marker_extras(requirement.marker._markers) if requirement.marker else ()
            asked = [canonicalize_name(extra) for extra in requirement.extras]
            targets = [requirement.key] + ["%s[%s]" % (requirement.key, e) for e in asked]
            for extra in extras or [None]:
                requirers[requirement.key].add((item.name, extra))
                node = "%s[%s]" % (item.name, extra) if extra else item.name
                edges[node].update(targets)
                if extra:
                    edges[node].add(item.name)
            requested.update((requirement.key, extra) for extra in asked)
    return requirers, edges, requested


def _marker_extras(markers):
    """The extras a parsed marker compares `extra` with (sorted), e.g. ["d"]."""
    extras = set()
    for atom in markers:
        if isinstance(atom, list):
            extras.update(_marker_extras(atom))
        elif isinstance(atom, tuple):
            left, _, right = atom
            for side, other in ((left, right), (right, left)):
                if side == ("var", "extra") and other[0] == "str":
                    extras.add(canonicalize_name(other[1]))
    return sorted(extras)


def _read_wheels(bundle, profile, excluded):
    wheels, verdicts, problems = [], [], []
    for item in bundle.wheels:
        if os.path.basename(item.path) in excluded:
            continue
        try:
            wheel = Wheel(item.path, WheelName.parse(item.path))
            wheel.members()
        except InvalidWheelFilename as error:
            problems.append(Problem("invalid-wheel", os.path.basename(item.path), error.message,
                                    fix=_reupload_fix(item.path)))
            continue
        except BootstrapError as error:  # corrupt, or the sandbox failed to read it
            if not isinstance(error, ArchiveError) and error.code != "not-writable":
                raise
            problems.append(_problem_from_error(error))
            continue
        wheels.append(wheel)
        verdicts.append(judge_wheel(profile, wheel.wheel_name))
    return wheels, verdicts, problems


def _read_sdists(bundle):
    sdists, problems = [], []
    for item in bundle.sdists:
        try:
            sdists.append(read_sdist(item.path))
        except BootstrapError as error:
            problems.append(_problem_from_error(error))
    return sdists, problems


class _WorkDir(object):
    """A private folder for extracted uploads, removed afterwards unless asked to keep it."""

    def __init__(self, parent=None, keep=False):
        self.parent = parent
        self.keep = keep
        self.path = None

    def __enter__(self):
        import tempfile
        try:
            if self.parent:
                _makedirs(self.parent)
            self.path = tempfile.mkdtemp(prefix="bootstrap-", dir=self.parent)
        except OSError as error:
            raise UsageError("--work-dir %s cannot be used: %s" % (
                self.parent, error.strerror or error), self.parent or "--work-dir")
        return self.path

    def __exit__(self, *exc):
        if not self.keep:
            import shutil
            shutil.rmtree(self.path, ignore_errors=True)
        return False


def _reinstalling(profile, bundle, wheels, verdicts):
    """The profile that resolution sees: without the installed distributions that a bundle's
    manifest asks to reinstall (a report's fix for a build that does not import here) and of
    whose installed version the uploads hold a wheel that fits: that wheel replaces them."""
    wanted = set()
    for manifest in bundle.manifests:
        wanted.update(canonicalize_name(n) for n in manifest.get("reinstall") or ()
                      if isinstance(n, str))
    fitting = set((w.name, str(w.version)) for w, v in zip(wheels, verdicts) if v.compatible)
    again = [d for d in profile.installed if d.name in wanted and (d.name, d.version) in fitting]
    if not again:
        return profile
    import copy
    seen = copy.copy(profile)
    seen.installed = [d for d in profile.installed if d not in again]
    return seen


def plan_bundle(bundles, work, require=None, profile=None, upgrade=False, shadow=None,
                limits=None):
    """Intake, verdicts and resolution of uploads: (profile, bundle, plan, problems, verdicts, sdists)."""
    profile = _load_profile(profile)
    bundle = open_bundle(bundles, work, limits)
    problems = list(bundle.problems)
    manifest_problems = verify_manifests(bundle)
    problems.extend(manifest_problems)
    excluded = set(os.path.basename(p.subject) for p in manifest_problems)
    wheels, verdicts, wheel_problems = _read_wheels(bundle, profile, excluded)
    sdists, sdist_problems = _read_sdists(bundle)
    problems.extend(wheel_problems + sdist_problems)
    roots = _roots(require, bundle, wheels, sdists, profile.marker_environment)
    # A bundle whose manifest lists no file but roots (tools/bundle.py for a sandbox that has
    # every root already) is empty on purpose: resolution says whether they are satisfied here.
    if not bundle.wheels and not bundle.sdists and not problems and not (
            bundle.manifests and roots):
        problems.append(Problem(
            "missing-dependency", "wheels", "the uploads (%s) hold no wheel and no sdist" % (
                ", ".join(os.path.basename(u) for u in bundles) or "none found"),
            fix={"where": "online", "command": _bundle_command(profile.target_tag)}))
    for wheel in wheels:  # METADATA is read here, so that resolve() reads no file
        try:
            wheel.metadata
        except BootstrapError:
            pass  # the Pool keeps the error, and resolution reports it if the wheel is needed
    plan = resolve(_reinstalling(profile, bundle, wheels, verdicts), wheels, sdists, roots,
                   upgrade=upgrade, verdicts=dict((v.filename, v) for v in verdicts),
                   shadow=shadow)
    plan.wheels = [w for w, v in zip(wheels, verdicts) if v.compatible]
    problems.extend(plan.problems)
    return profile, bundle, plan, problems, verdicts, sdists


def _option_words(require, values, upgrade, switches, limits):
    """Command-line words of a check's or an install's options, in one order: --require for
    each requirement, each (flag, value) of ``values`` that is given, --upgrade, the other
    ``switches``, and the intake ``limits`` other than the defaults."""
    words = []
    for requirement in require or ():
        words += ["--require", requirement]
    for flag, value in values:
        if value is not None:
            words += [flag, str(value)]
    return words + (["--upgrade"] if upgrade else []) + list(switches) + _limit_options(limits)


def _request_words(bundles, require, profile, upgrade, work_dir, limits):
    """The uploads and options of a check as command-line words (a profile given as data, not
    as a file, cannot be named)."""
    return (list(bundles) or ["BUNDLE"]) + _option_words(
        require, [("--profile", profile if isinstance(profile, str) and profile else None),
                  ("--work-dir", work_dir or None)], upgrade, (), limits)


def _api_limits(limits, max_upload_size, max_members, max_nesting):
    """The intake limits of a check() or install() call; UsageError for a size that is none."""
    try:
        return _intake_limits(max_upload_size, max_members, max_nesting, limits)
    except (argparse.ArgumentTypeError, TypeError, ValueError) as error:
        raise UsageError("intake limits: %s" % error, "limits")


def _check_rerun(bundles, require, profile, upgrade, work_dir, limits):
    """_rerun_command of a check: `python bootstrap.py check` with its uploads and options."""
    return _rerun_command(["check"] + _request_words(bundles, require, profile, upgrade,
                                                     work_dir, limits),
                          len(list(bundles) or ["BUNDLE"]))


def _fits_command(bundles, require, profile, upgrade, work_dir, limits):
    """The install of what a check found fits: its uploads, requirements, --upgrade and limits;
    its --work-dir too unless the check was for another interpreter (--profile: the install
    runs elsewhere)."""
    return _rerun_command(["install"] + _request_words(
        bundles, require, None, upgrade, work_dir if profile is None else None, limits))()


def check(bundles, require=None, profile=None, upgrade=False, work_dir=None, limits=None,
          max_upload_size=None, max_members=None, max_nesting=None):
    """Dry run: which wheels fit, what would be installed, what is missing. Returns a Report.

    ``max_upload_size`` (bytes, or a size such as "16G"), ``max_members``, ``max_nesting``:
    the intake limits of --max-upload-size, --max-members, --max-nesting (``limits``: all of
    them, as IntakeLimits)."""
    if isinstance(bundles, str):
        bundles = [bundles]
    limits = _api_limits(limits, max_upload_size, max_members, max_nesting)
    profile_argument = profile if isinstance(profile, str) else None
    rerun = _check_rerun(bundles, require, profile, upgrade, work_dir, limits)
    fits = _fits_command(bundles, require, profile, upgrade, work_dir, limits)
    _load_modules_first()
    problem = _work_dir_problem(work_dir)
    if problem is not None:
        return build_report("check", _load_profile(profile), None, None, _with_sandbox_fixes(
            [problem], rerun, [work_dir]), bundles, rerun=rerun, fits=fits)
    with _WorkDir(work_dir) as work:
        profile, bundle, plan, problems, verdicts, sdists = plan_bundle(
            bundles, work, require, profile, upgrade, limits=limits)
        return build_report("check", profile, bundle, plan, _with_sandbox_fixes(
            problems, rerun, [work]), bundles, verdicts, sdists, rerun=rerun,
            profile_argument=profile_argument, fits=fits)


# == 11. Installation: source, validator, destination, journal (I/O) ==========================
# -- Installation (PEP 427, 491) --------------------------------------------------------------
# Installs wheels itself, with no pip, in pypa/installer's seams: the wheel is the source; the
# validator passes every name through the gate (members once per wheel, RECORD rows that are
# not members, .data keys, entry-point names) and checks the one .dist-info and Wheel-Version before anything is
# written; the files are checked against RECORD while they are unpacked into a staging folder
# next to their destination. The destination owns replacement: files of another installed
# distribution are a file-conflict; the READY journal lists the new files and what is moved
# aside (the replaced version's RECORD paths inside the scheme's folders, unowned files at new
# paths); the commit moves those aside, moves the new files in (the .dist-info last), and only
# then drops the old ones and prunes the folders they emptied. A failed commit is rolled back;
# a rerun finishes a journaled commit (or its rollback) and discards a staging without one.
# Left out: bytecode compilation (imports compile lazily), Windows .exe launchers.

INSTALLER_NAME = "sandbox-bootstrap"
SCHEME_KEYS = ("purelib", "platlib", "headers", "scripts", "data")

_SCRIPT_TEMPLATE = """# -*- coding: utf-8 -*-
import re
import sys
from %(module)s import %(import_name)s
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(%(func)s())
"""


class HashMismatch(BootstrapError):
    code = "hash-mismatch"


class Scheme(collections.namedtuple("Scheme", SCHEME_KEYS)):
    """Where each part of a wheel goes (PEP 427's purelib, platlib, headers, scripts, data)."""

    __slots__ = ()


def install_scheme(dist_name, target=None, user=False):
    """The Scheme pip would use: a --target folder, the user site, or this interpreter's."""
    if target:
        target = os.path.abspath(target)
        return Scheme(target, target, os.path.join(target, "include", "python", dist_name),
                      os.path.join(target, "bin"), target)
    if user:
        name = (sysconfig.get_preferred_scheme("user") if hasattr(sysconfig, "get_preferred_scheme")
                else ("osx_framework_user" if sys.platform == "darwin" and sysconfig.get_config_var(
                    "PYTHONFRAMEWORK") else "%s_user" % os.name))
        paths = sysconfig.get_paths(scheme=name)
    else:
        paths = sysconfig.get_paths()
    include = paths["include"]
    if sys.prefix != getattr(sys, "base_prefix", sys.prefix):
        include = os.path.join(sys.prefix, "include", "site",
                               "python%d.%d" % sys.version_info[:2])
    return Scheme(paths["purelib"], paths["platlib"], os.path.join(include, dist_name),
                  paths["scripts"], paths["data"])


_WEAK_HASHES = frozenset(["md5", "sha1"])


def _parse_record(text, subject="RECORD"):
    """{path: (algorithm, urlsafe-b64 digest, size)} from a RECORD file; invalid-wheel for
    one that is not CSV (a NUL byte, a field over csv's limit, an unclosed quote)."""
    import csv
    rows = {}
    try:
        if "\0" in text:
            raise csv.Error("line contains NUL")
        for row in csv.reader(text.splitlines()):
            if not row:
                continue
            path = row[0]
            hash_text = row[1] if len(row) > 1 else ""
            size = row[2] if len(row) > 2 else ""
            algorithm, _, digest = hash_text.partition("=")
            rows[path] = (algorithm or None, digest or None,
                          int(size) if size.isdigit() and len(size) < 20 else None)
    except csv.Error as error:
        raise BootstrapError("%s: RECORD cannot be read (%s)" % (subject, error), subject,
                             code="invalid-wheel")
    return rows


def _record_hasher(algorithm):
    """A hashlib object for a RECORD's algorithm other than sha256, None for sha256 or for
    one that is weak or unknown (that member then fails verification)."""
    import hashlib
    if not algorithm or algorithm == "sha256" or algorithm in _WEAK_HASHES:
        return None
    if algorithm not in hashlib.algorithms_guaranteed or algorithm.startswith("shake_"):
        return None
    return hashlib.new(algorithm)


def _record_mismatch(name, expected, sha256, other):
    """Why a staged member does not match its RECORD row, or None (``sha256``: its digest as
    RECORD writes it; ``other``: the hashlib object of the row's stronger algorithm)."""
    if expected is None or expected[0] is None:
        if name.endswith((".pyc", "/RECORD.jws", "/RECORD.p7s")):
            return None
        return "%s is not listed in RECORD with a hash" % name
    algorithm, digest = expected[0], expected[1]
    if algorithm == "sha256":
        return None if sha256 == digest else (
            "%s does not match its RECORD hash" % name)
    if other is None:
        return "%s has a RECORD hash of a kind not accepted (%s)" % (name, algorithm)
    return None if _urlsafe_digest(other) == digest else "%s does not match its RECORD hash" % name


_IDENTIFIER_PATH_RE = _LazyRegex(r"^\w+(\.\w+)*$", re.UNICODE)


def _parse_entry_points(text, subject="entry_points.txt"):
    """{group: [(name, module, attribute)]} of console_scripts and gui_scripts. A name must be
    one file name (no folder, no `..`, not reserved); module and attribute dotted names."""
    groups = collections.defaultdict(list)
    group = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1].strip()
            continue
        if group not in ("console_scripts", "gui_scripts") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        value = value.split("[", 1)[0].strip()  # extras of an entry point are ignored, as pip
        module, _, attribute = value.partition(":")
        name, module, attribute = name.strip(), module.strip(), attribute.strip()
        if split_member_name(name) != [name]:
            raise UnsafeMemberError("%s: entry point name %r is not a plain file name (it has "
                                    "a folder, `..` or is absolute); refused" % (subject, name),
                                    subject)
        contained_path(".", name, "entry point name", subject)  # bootstrap's reserved names
        if not _IDENTIFIER_PATH_RE.match(module) or not _IDENTIFIER_PATH_RE.match(attribute):
            raise BootstrapError("%s: entry point %r names %r, not a module:attribute" % (
                subject, name, value), subject, code="invalid-wheel")
        groups[group].append((name, module, attribute))
    return groups


def _shebang(executable):
    """The shebang line pip (distlib) writes for this interpreter, long paths included
    (console and GUI scripts alike: there is no pythonw on posix). In Pyodide the executable
    is the host's JavaScript file, which cannot run a script: "python", as pip writes it."""
    if sys.platform in _NO_PROCESSES_PLATFORMS:
        executable = "python"
    if os.name != "posix" or (" " not in executable and len(executable) + 3 <= 127):
        return "#!%s\n" % executable
    return "#!/bin/sh\n'''exec' %s \"$0\" \"$@\"\n' '''\n" % _quote(executable)


def _urlsafe_digest(data_hash):
    import base64
    return base64.urlsafe_b64encode(data_hash.digest()).rstrip(b"=").decode("ascii")


_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)


def _write_new_file(path, data, executable):
    """Create ``path`` with ``data``; mode 0o777 or 0o666 less the umask, as pip leaves them."""
    fd = os.open(path, _NEW_FILE_FLAGS, 0o777 if executable else 0o666)
    try:
        written = os.write(fd, data) if data else 0
        if written < len(data):  # a short write (a signal, a pipe-like file system): go on
            view = memoryview(data)[written:]
            while view:
                view = view[os.write(fd, view):]
    finally:
        os.close(fd)


# -- Member extraction: in this process, or in extraction workers -------------------------------
# A wheel's members are written into its staging folder from plain data (_Member rows), by one
# function, _extract_members: in a thread of this process, or in an extraction worker, a child
# interpreter running this same module (its code object, sent over a pipe: no file is needed,
# so it works when a notebook cell exec()s this file). Workers take the per-file Python work
# (thousands of small files) off this process's GIL, so a large bundle is written on every core;
# once it is, one of them warms the verifying import (below).

_Member = collections.namedtuple("_Member", (
    "filename header_offset compress_type flag_bits compress_size file_size CRC "
    "key relative expected executable"))
_Member.__doc__ = """A wheel member to write: where it is in the zip (ZipInfo's names, which
_RawZip reads), where it goes (scheme key, relative path: passed the gate in prepare()), its
RECORD row (None when it has none) and whether it is executable."""


def _member(info, target, expected):
    key, relative = target
    return _Member(info.filename, info.header_offset, info.compress_type, info.flag_bits,
                   info.compress_size, info.file_size, info.CRC, key, relative, expected,
                   bool((info.external_attr >> 16) & 0o111) or key == "scripts")


def _staged_path(staging, key, relative, made):
    """The path of a member in a staging folder; its parent is created once (``made``)."""
    # Plain concatenation: thousands of files per wheel, and both parts are already checked
    # (the staging folder is ours; prepare() passed every name through the gate).
    path = staging + os.sep + key + os.sep + (
        relative if os.sep == "/" else relative.replace("/", os.sep))
    parent = path[:path.rindex(os.sep)]
    if parent not in made:
        _makedirs(parent)
        made.add(parent)
    return path


def _remove_tree(path):
    """Remove a folder and all it holds, as far as it can: shutil.rmtree, then, for what that
    left (it holds a descriptor per level: at the open-file limit it meets EMFILE), a walk
    from the bottom up that holds one at a time."""
    import shutil
    shutil.rmtree(path, ignore_errors=True)
    if not os.path.lexists(path):
        return
    for folder, dirs, files in os.walk(path, topdown=False):
        for name in files + dirs:
            try:
                (os.rmdir if name in dirs and not os.path.islink(os.path.join(folder, name))
                 else os.remove)(os.path.join(folder, name))
            except OSError:
                pass
    _remove_empty(path)


def _extract_members(path, staging, members, shebang):
    """Write ``members`` of the wheel at ``path`` into ``staging``, hashing each as it goes;
    returns (installed rows (key, relative, digest, size), RECORD mismatches). Several calls
    may run at once, in threads or processes: each member is its own file, and writing it
    again (after a worker died) rewrites it whole."""
    import zipfile
    raw = _RawZip(path)
    opened = []

    def archive():  # zipfile only when a member needs streaming (it rereads the directory)
        if not opened:
            opened.append(zipfile.ZipFile(path))
        return opened[0]
    try:
        return _write_members(archive, raw, members, staging, shebang)
    except Exception as error:
        if isinstance(error, OSError) or not _is_corrupt_error(error):
            raise
        # a member is not what its headers say (a bad CRC-32 and no RECORD hash, a cut stream)
        raise ArchiveError("%s is truncated or corrupt (%s); upload it again" % (
            os.path.basename(path), error), os.path.basename(path))
    finally:
        raw.close()
        for item in opened:
            item.close()


def _write_members(archive, raw, members, staging, shebang):
    import hashlib
    installed, mismatches, made = [], [], set()
    path = staging
    try:
        for member in members:
            key, relative, expected = member.key, member.relative, member.expected
            path = _staged_path(staging, key, relative, made)
            other = _record_hasher(expected[0] if expected else None)
            strong = bool(expected and (expected[0] == "sha256" or other is not None))
            data = (raw.read(member, check_crc=not strong)
                    if member.file_size <= _CHUNK or key == "scripts" else None)
            if data is None:  # large: stream it; another compression: zipfile streams it
                streamed = raw.stream(member, path, check_crc=not strong, other=other)
                digest, size = streamed or _stream_member(archive(), member, path, other)
            else:
                digest, size = hashlib.sha256(data), len(data)
                if other is not None:
                    other.update(data)
            text = _urlsafe_digest(digest)
            problem = _record_mismatch(member.filename, expected, text, other)
            if problem:
                mismatches.append(problem)
            if data is not None:
                if key == "scripts" and data.startswith(b"#!python"):
                    data = _rewrite_shebang(data, shebang)
                    text, size = _urlsafe_digest(hashlib.sha256(data)), len(data)
                _write_new_file(path, data, member.executable)
            elif member.executable:
                os.chmod(path, 0o755)
            installed.append((key, relative, text, size))
    except OSError as error:  # a write() error names no file: the one being written
        if error.filename is None and error.errno is not None:
            error.filename = path
        raise
    return installed, mismatches


def _stream_member(archive, member, path, other=None):
    """Copy a large member through zipfile (another compression), in chunks; (sha256, size)."""
    with archive.open(member.filename) as source:
        digest, size, _ = _write_blocks(iter(lambda: source.read(_CHUNK), b""), path, other)
    return digest, size


def _rewrite_shebang(data, shebang):
    """A script's `#!python` line replaced by ``shebang`` (this interpreter's)."""
    first, sep, rest = data.partition(b"\n")
    gui = first.startswith(b"#!pythonw")
    arguments = first[len(b"#!pythonw" if gui else b"#!python"):]
    return shebang.rstrip("\n").encode("utf-8") + arguments + sep + rest


# -- Warming: compiling ahead of the verifying import ------------------------------------------
# The verifying interpreter's import of the roots is one thread, and most of its time on a cold
# folder is compiling (for a data-science stack, more than half). While it runs, one idle
# extraction worker walks what that import will run, from the bytecode of each module it
# compiles, and writes each .pyc first: the verifier then finds them, as the user's import will.


def _warm_imports(modules, folders, stop):
    """Compile, as their import will (SourceFileLoader.get_code: the same .pyc, written the
    same way), the modules that importing ``modules`` reaches at module level, in the order
    the import runs them (depth first), as their bytecode shows it; then, the same way, the
    public submodules of those that are packages (`import scipy.stats`, `matplotlib.pyplot`:
    what a user's first import names next). Only modules found in ``folders`` (what was
    installed). Stops once the file ``stop`` exists; returns how many modules it compiled or
    found compiled. An import running beside it finds them warm. Where this process writes no
    bytecode (-B, PYTHONDONTWRITEBYTECODE: a worker's job done here, the worker gone), 0 at
    once: it would compile for nothing."""
    if sys.dont_write_bytecode:
        return 0
    seen, specs = set(), {}
    count = _walk_imports(list(reversed(modules)), seen, specs, folders, stop)
    submodules = []
    for name in modules:
        spec = specs.get(name)
        if spec is not None and spec.submodule_search_locations:
            submodules.extend(name + "." + child for child in _public_submodules(spec))
    return count + _walk_imports(list(reversed(submodules)), seen, specs, folders, stop)


def _walk_imports(stack, seen, specs, folders, stop):
    """Compile the modules on ``stack`` (the next one last) and, depth first, what each
    imports at module level; returns how many. ``seen`` and ``specs`` carry over between
    walks."""
    import importlib.machinery
    count = 0
    while stack and not os.path.exists(stop):
        name = stack.pop()
        parent = name.rpartition(".")[0]
        if name in seen:
            continue
        if parent and parent not in seen:  # an import runs the package first
            stack.extend([name, parent])
            continue
        seen.add(name)
        spec = specs[name] = _find_module(name, folders, specs)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            continue
        try:
            code = spec.loader.get_code(name)
        except (ImportError, SyntaxError, ValueError, OSError):
            continue  # its import will say why
        count += 1
        package = name if spec.submodule_search_locations is not None else parent
        stack.extend(reversed(_module_imports(code, package)))
    return count


def _public_submodules(spec):
    """The names of a package's submodules that are not private (`_x`) nor tests, sorted."""
    import pkgutil
    try:
        found = pkgutil.iter_modules(list(spec.submodule_search_locations))
        return sorted(set(item[1] for item in found
                          if not item[1].startswith(("_", "test", "conftest"))))
    except (OSError, ImportError, ValueError):
        return []


def _find_module(name, folders, specs):
    """The spec of module ``name`` in ``folders`` (a submodule: in its package, whose spec
    is in ``specs``), or None."""
    import importlib.machinery
    parent = name.rpartition(".")[0]
    if parent:
        package = specs.get(parent)
        folders = package and package.submodule_search_locations
        if not folders:
            return None
    try:
        return importlib.machinery.PathFinder.find_spec(name, list(folders))
    except Exception:  # e.g. a namespace package's parent not imported here: its import says
        return None


def _module_imports(code, package):
    """The modules a module's code imports when it runs (its own and its class bodies'
    import statements, not its functions'), in order: `from a import b` names a and a.b."""
    import importlib.util
    names = []
    for name, level, fromlist in _import_statements(code):
        try:
            target = importlib.util.resolve_name("." * level + name, package) if level else name
        except (ImportError, ValueError):
            continue
        names.append(target)
        names.extend(target + "." + item for item in fromlist or () if item != "*")
    return names


def _import_statements(code):
    """(name, level, fromlist) of each import a module's code runs (class bodies included;
    not those under `if TYPE_CHECKING:`), read from its bytecode: IMPORT_NAME after the two
    constants it takes (dis, which does the same one instruction at a time, is ten times
    slower)."""
    import opcode
    ops = opcode.opmap
    found, queue = [], [code]
    while queue:
        code = queue.pop(0)
        raw = code.co_code
        unrun = _type_checking_blocks(code)
        at = raw.find(bytes([ops["IMPORT_NAME"]]))
        while at != -1:
            if at % 2 == 0 and not any(start <= at < end for start, end in unrun):
                _, name, start = _instruction_before(raw, at + 2)
                fromlist = _instruction_before(raw, start)
                level = _instruction_before(raw, fromlist[2])
                level = (code.co_consts[level[1]] if level[0] == ops["LOAD_CONST"] else
                         level[1] if level[0] == ops.get("LOAD_SMALL_INT") else None)
                if isinstance(level, int) and fromlist[0] == ops["LOAD_CONST"]:
                    found.append((code.co_names[name], level, code.co_consts[fromlist[1]]))
            at = raw.find(bytes([ops["IMPORT_NAME"]]), at + 1)
        queue.extend(const for const in code.co_consts if hasattr(const, "co_flags")
                     and not const.co_flags & _CO_NEWLOCALS)  # a class body, not a function
    return found


def _type_checking_blocks(code):
    """(start, end) offsets of the code's `if TYPE_CHECKING:` blocks (`typing.TYPE_CHECKING`
    too): what only a type checker reads, such as an import kept out of the running program
    (jupyter_client's of ipykernel, which brings IPython and jedi). Read from raw bytecode
    as _import_statements reads it: the name's load, then the jump past the block."""
    if "TYPE_CHECKING" not in code.co_names:
        return []
    import opcode
    ops, raw = opcode.opmap, code.co_code
    name = code.co_names.index("TYPE_CHECKING")
    # From 3.11 LOAD_GLOBAL's argument is the name's index shifted left by one (a flag in bit
    # 0), from 3.12 LOAD_ATTR's too; jumps are relative from 3.11, counted in code units
    # (2 bytes) from 3.10; unit 0 (CACHE) follows an instruction that keeps inline caches.
    shifted = {ops["LOAD_GLOBAL"]: sys.version_info >= (3, 11),
               ops["LOAD_ATTR"]: sys.version_info >= (3, 12), ops["LOAD_NAME"]: False}
    jumps = (ops.get("POP_JUMP_IF_FALSE"), ops.get("POP_JUMP_FORWARD_IF_FALSE"))
    skipped = (0, ops.get("TO_BOOL"))
    blocks = []
    for at in range(0, len(raw), 2):
        if raw[at] not in shifted:
            continue
        op, argument, _ = _instruction_before(raw, at + 2)
        if argument >> shifted[op] != name:
            continue
        after = at + 2
        while after < len(raw) and raw[after] in skipped:
            after += 2
        op, argument, start = _instruction_after(raw, after)
        if op not in jumps:
            continue
        end = start
        while end < len(raw) and raw[end] == 0:  # its caches
            end += 2
        if sys.version_info >= (3, 11):
            target = end + 2 * argument
        else:
            target = argument * (2 if sys.version_info >= (3, 10) else 1)
        if after < target <= len(raw):
            blocks.append((after, target))
    return blocks


def _instruction_after(raw, start):
    """(opcode, argument, end) of the instruction starting at ``start`` in raw bytecode,
    EXTENDED_ARG units included."""
    import opcode
    argument = 0
    while start + 2 <= len(raw):
        op, argument = raw[start], argument << 8 | raw[start + 1]
        start += 2
        if op != opcode.EXTENDED_ARG:
            return op, argument, start
    return None, None, start


def _instruction_before(raw, end):
    """(opcode, argument, start) of the instruction whose last code unit ends at ``end`` in
    raw bytecode (2 bytes a unit; EXTENDED_ARG units before it widen its argument)."""
    import opcode
    start = end - 2
    if start < 0:
        return None, None, 0
    op, argument, shift = raw[start], raw[start + 1], 8
    while start >= 2 and raw[start - 2] == opcode.EXTENDED_ARG:
        start -= 2
        argument |= raw[start + 1] << shift
        shift += 8
    return op, argument, start


_CO_NEWLOCALS = 0x2  # inspect.CO_NEWLOCALS: a function's code, not a class body's


# -- Extraction workers: child interpreters running this module --------------------------------
# The code object of this module, as it runs (also when a notebook cell exec()s this file):
# what an extraction worker runs.
_MODULE_CODE = sys._getframe(0).f_code

# An extraction worker's start: the same interpreter version (marshal's format is one
# version's), this module's code from the first frame on stdin, then jobs until stdin ends.
_WORKER_CODE = """
import marshal, os, struct, sys, types
if sys.argv[1] != str(sys.hexversion):
    sys.exit(3)
source = sys.stdin.buffer
size = struct.unpack("<I", source.read(4))[0]
module = types.ModuleType("bootstrap_worker")
exec(marshal.loads(source.read(size)), module.__dict__)
sink = os.fdopen(os.dup(1), "wb")
os.dup2(2, 1)
module._serve_extraction(source, sink)
"""

#: Below this many members an install extracts in threads: starting a worker (~30 ms) and a
#: job's round trip cost more than the GIL does to a few hundred small files.
_WORKER_MEMBERS = 2000


def _write_frame(stream, value):
    import pickle
    data = pickle.dumps(value, 4)
    stream.write(struct.pack("<I", len(data)))
    stream.write(data)
    stream.flush()


def _read_frame(stream):
    """The next value on ``stream``; None at its end (EOFError when a frame is cut short)."""
    import pickle
    header = stream.read(4)
    if not header:
        return None
    size = struct.unpack("<I", header)[0] if len(header) == 4 else None
    data = stream.read(size) if size is not None else b""
    if size is None or len(data) != size:
        raise EOFError("a frame was cut short")
    return pickle.loads(data)


def _extract_rows(path, staging, rows, shebang):
    return _extract_members(path, staging, [_Member._make(row) for row in rows], shebang)


#: What an extraction worker does: a job's first item names one of these, the rest are its
#: arguments (plain data).
_WORKER_JOBS = {"extract": _extract_rows, "warm": _warm_imports}


def _serve_extraction(source, sink):
    """An extraction worker's loop: a job (its name in _WORKER_JOBS, then its arguments) per
    frame in, its outcome per frame out: ("done", result), or the error as data."""
    import pickle
    while True:
        job = _read_frame(source)
        if job is None:
            return
        try:
            outcome = ("done", _WORKER_JOBS[job[0]](*job[1:]))
        except BootstrapError as error:  # its class is this module's: sent as its fields
            outcome = ("coded", error.code, error.message, error.subject, tuple(getattr(
                error, name, None) for name in ("remedy", "folder", "errno")))
        except Exception as error:  # OSError, zipfile's and zlib's errors: as they are
            try:
                pickle.dumps(error, 4)
                outcome = ("raised", error)
            except Exception:
                outcome = ("raised", RuntimeError("%s: %s" % (type(error).__name__, error)))
        _write_frame(sink, outcome)


class _ExtractionWorkers(object):
    """Extraction workers, one per thread of the extraction pool: a thread sends its jobs to
    its own worker and waits (releasing the GIL) for the outcome. A worker that cannot start,
    or dies, leaves its thread to extract in this process: the outcome is the same."""

    def __init__(self):
        import threading
        self.local = threading.local()
        self.lock = threading.Lock()
        self.started = []

    def extract(self, path, staging, members, shebang):
        """_extract_members, in this thread's worker."""
        return self._run("extract", path, staging, [tuple(m) for m in members], shebang)

    def warm(self, modules, folders, stop):
        """_warm_imports, in this thread's worker."""
        return self._run("warm", list(modules), list(folders), stop)

    def _run(self, *job):
        worker = self._worker()
        if worker is not None:
            import pickle
            try:
                _write_frame(worker.stdin, job)
                outcome = _read_frame(worker.stdout)
            except (OSError, EOFError, ValueError, pickle.UnpicklingError):
                outcome = None
            if outcome is not None:
                return _worker_outcome(outcome)
            self.local.worker = None  # gone: this thread does its jobs here from now on
            _end_worker(worker)
        return _WORKER_JOBS[job[0]](*job[1:])

    def _worker(self):
        if not hasattr(self.local, "worker"):
            self.local.worker = _start_worker()
            if self.local.worker is not None:
                with self.lock:
                    self.started.append(self.local.worker)
        return self.local.worker

    def close(self):
        """End every worker: its input ends, so it exits; one that does not is killed."""
        with self.lock:
            workers, self.started = self.started, []
        for worker in workers:
            _end_worker(worker)


def _start_worker():
    """An extraction worker: this interpreter, isolated (-I -S), fed this module's code, with
    the flags that choose the .pyc it writes (-O, pycache prefix); None when it cannot start."""
    import marshal
    import subprocess
    try:
        process = subprocess.Popen(
            [sys.executable] + _interpreter_flags() + ["-I", "-S", "-c", _WORKER_CODE,
                                                      str(sys.hexversion)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except (OSError, ValueError):  # no executable (an embedded interpreter), no processes
        return None
    try:
        code = marshal.dumps(_MODULE_CODE)
        process.stdin.write(struct.pack("<I", len(code)))
        process.stdin.write(code)
        process.stdin.flush()
    except (OSError, ValueError, MemoryError):
        # it has exited already (another interpreter behind sys.executable); or, at a memory
        # limit, marshal could not allocate ("unmarshallable object"): the wheel is not at fault
        _end_worker(process)
        return None
    return process


def _end_worker(process):
    import subprocess
    try:
        process.stdin.close()
    except OSError:
        pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    process.stdout.close()


def _worker_outcome(outcome):
    """The result of a worker's job; its error raised again here."""
    if outcome[0] == "done":
        return outcome[1]
    if outcome[0] == "coded":  # with the remedy of a sandbox's error (_sandbox_error)
        error = BootstrapError(outcome[2], outcome[3], code=outcome[1])
        if outcome[4][0]:
            error.remedy, error.folder, error.errno = outcome[4]
        raise error
    raise outcome[1]


class _WheelInstall(object):
    """One wheel's installation, in pypa/installer's seams: the wheel is the source, prepare()
    the validator (every name through the gate, before anything is written), the staging
    folder and its journal the destination, which owns replacement (commit_staging)."""

    def __init__(self, wheel, scheme, requested, executable=None):
        self.wheel = wheel
        self.scheme = scheme
        self.requested = requested
        self.executable = executable or sys.executable
        self.made = set()
        self.installed = []   # (scheme key, relative path, sha256 digest, size)
        self.journal = None

    def run(self):
        """Install the wheel in this thread: prepare, extract every member, finish."""
        self.prepare()
        self.extract(self.members)
        return self.finish()

    def prepare(self):
        """Read the wheel's directory, WHEEL, RECORD and entry points, and pass every name
        through the gate; then create its staging folder."""
        import shutil
        members = self.wheel.members()
        parts = self.wheel.check_member_names(members)
        dist_info = self.wheel.dist_info(members)
        headers = self.wheel.check_wheel_version(dist_info)
        try:
            self.record = _parse_record(
                self.wheel.read(dist_info + "/RECORD").decode("utf-8", "replace"),
                self.wheel.filename)
        except KeyError as error:
            raise BootstrapError("%s has no %s" % (self.wheel.filename, error),
                                 self.wheel.filename, code="invalid-wheel")
        for path in self.record:
            if path not in parts:  # a member's name has passed the gate already
                _checked_parts(path, "RECORD entry", self.wheel.filename)
        self.entry_points = _parse_entry_points(
            self.wheel.read(dist_info + "/entry_points.txt").decode("utf-8", "replace")
            if dist_info + "/entry_points.txt" in members else "", self.wheel.filename)
        self.root_is_purelib = any(key == "root-is-purelib" and value.lower() == "true"
                                   for key, value in headers)
        self.lib_key = "purelib" if self.root_is_purelib else "platlib"
        self.lib_dir = getattr(self.scheme, self.lib_key)
        self.dist_info = dist_info
        self.data_dir = dist_info[:-len(".dist-info")] + ".data"
        infos = [info for info in members.values() if not info.filename.endswith("/")
                 and info.filename != dist_info + "/RECORD"]
        self.targets = self._targets(infos, parts)
        self.members = [_member(info, self.targets[info.filename],
                                self.record.get(info.filename)) for info in infos]
        self.shebang = _shebang(self.executable)
        self.wheel.forget_member_names()
        self.mismatches = []
        self.staging = os.path.join(self.lib_dir, STAGING_DIR, dist_info[:-len(".dist-info")])
        shutil.rmtree(self.staging, ignore_errors=True)
        _makedirs(self.staging)
        return self

    def _targets(self, infos, parts):
        """{member name: (scheme key, relative path)}; two members for one path are refused.
        ``parts``: each member name's parts, as the gate returned them."""
        targets, seen = {}, set()
        for info in infos:
            target = self._destination(info.filename, parts[info.filename])
            folded = (target[0], target[1].lower())
            if folded in seen:
                raise BootstrapError("%s: member %r is a second file for %s" % (
                    self.wheel.filename, info.filename, target[1]), self.wheel.filename,
                    code="invalid-wheel")
            seen.add(folded)
            targets[info.filename] = target
        return targets

    def chunks(self, target_bytes=4 * _CHUNK):
        """The members in groups of about ``target_bytes``, largest first, for parallel work."""
        ordered = sorted(self.members, key=lambda info: -info.file_size)
        groups, group, size = [], [], 0
        for info in ordered:
            group.append(info)
            size += info.file_size
            if size >= target_bytes:
                groups.append(group)
                group, size = [], 0
        if group:
            groups.append(group)
        return groups

    def extract(self, members, extract=None):
        """Write some of the members into the staging folder, by ``extract`` (an extraction
        worker's) or in this thread; safe to call from several threads at once."""
        installed, mismatches = (extract or _extract_members)(
            self.wheel.path, self.staging, members, self.shebang)
        self.installed.extend(installed)
        self.mismatches.extend(mismatches)

    def verify(self):
        """After every member is staged: HashMismatch unless each matched its RECORD row."""
        if self.mismatches:
            self.discard()
            raise HashMismatch("%s: %s; nothing of it was installed" % (
                self.wheel.filename, "; ".join(sorted(self.mismatches)[:3]) + (
                    " and %d more" % (len(self.mismatches) - 3)
                    if len(self.mismatches) > 3 else "")), self.wheel.filename)

    def finish(self, replaces=None, owners=None):
        """Verify, write entry points and RECORD, journal what is replaced (the installed
        Distribution ``replaces``, and unowned files at the new paths), then commit. A failed
        commit is rolled back before the error goes on: what was there is there again."""
        self.verify()
        self._stage_entry_points(self.entry_points)
        self._stage_metadata_files()
        aside = _Replacement(self, replaces, owners).aside()
        self.journal = collections.OrderedDict(zip(SCHEME_KEYS, self.scheme))
        self.journal.update([
            ("name", self.wheel.name), ("dist_info", self.dist_info),
            ("replaces", replaces.version if replaces is not None else None),
            ("files", [[key, relative] for key, relative, _, _ in self.installed]),
            ("aside", aside), ("made", self._missing_folders()), ("phase", "ready")])
        _mark_ready(self.staging, self.journal)
        try:  # the journal as written: every entry comes from a name that passed the gate
            _commit_journal(self.staging, self.journal, self.scheme)
        except (OSError, BootstrapError):
            try:
                rollback_staging(self.staging)
            except (OSError, BootstrapError):
                pass  # the journal stays; the next run finishes the rollback
            raise
        return self

    def _missing_folders(self):
        """[key, relative] of the folders the commit will create (a rollback removes them).
        One look per folder at most, and none below a folder that is missing."""
        known = {}  # (key, folder): whether it is missing
        for key, relative, _, _ in self.installed:
            folder = relative.rpartition("/")[0]
            unknown = []  # deepest first, up to a folder already known (or the scheme's)
            while folder and (key, folder) not in known:
                unknown.append((key, folder))
                folder = folder.rpartition("/")[0]
            absent = known.get((key, folder), False)
            for item in reversed(unknown):  # shallowest first
                absent = absent or not os.path.isdir(self._final_path(*item))
                known[item] = absent
        missing = [item for item, absent in known.items() if absent]
        return [list(item) for item in sorted(missing, key=lambda i: (-i[1].count("/"), i))]

    def discard(self):
        """Remove the staging folder, unless its journal has started a commit (then only a
        rollback or the next run may touch it)."""
        if not os.path.isfile(os.path.join(self.staging, "READY")):
            _remove_tree(self.staging)

    def _stage_path(self, key, relative):
        return _staged_path(self.staging, key, relative, self.made)

    def _destination(self, name, parts):
        """(scheme key, path relative to it) of a wheel member whose name passed the gate
        (``parts``); `.data/<scheme>/` keys that are not a scheme are refused."""
        if parts[0] == self.data_dir:
            if len(parts) < 3 or parts[1] not in SCHEME_KEYS:
                raise BootstrapError("%s: %r is not in a .data/<scheme>/ folder of %s" % (
                    self.wheel.filename, name, ", ".join(SCHEME_KEYS)), self.wheel.filename,
                    code="invalid-wheel")
            return parts[1], "/".join(parts[2:])
        return self.lib_key, "/".join(parts)

    def _stage_entry_points(self, groups):
        import hashlib
        for group in ("console_scripts", "gui_scripts"):
            for name, module, attribute in groups.get(group, ()):
                import_name = attribute.split(".")[0]
                text = self.shebang + _SCRIPT_TEMPLATE % {
                    "module": module, "import_name": import_name, "func": attribute}
                data = text.encode("utf-8")
                path = self._stage_path("scripts", name)
                with open(path, "wb") as out:
                    out.write(data)
                os.chmod(path, 0o755)
                self.installed = [item for item in self.installed
                                  if not (item[0] == "scripts" and item[1] == name)]
                self.installed.append(("scripts", name, _urlsafe_digest(hashlib.sha256(data)),
                                       len(data)))

    def _final_path(self, key, relative):
        return _final(self.scheme, key, relative)

    def _stage_metadata_files(self):
        import hashlib
        extra = [("INSTALLER", (INSTALLER_NAME + "\n").encode("ascii"))]
        if self.requested:
            extra.append(("REQUESTED", b""))
        for name, data in extra:
            relative = self.dist_info + "/" + name
            with open(self._stage_path(self.lib_key, relative), "wb") as out:
                out.write(data)
            self.installed.append((self.lib_key, relative, _urlsafe_digest(hashlib.sha256(data)),
                                   len(data)))
        lib_key = self.lib_key
        rows = [(relative if key == lib_key else self._record_path(key, relative),
                 "sha256=" + digest, str(size)) for key, relative, digest, size in self.installed]
        rows.append((self.dist_info + "/RECORD", "", ""))
        self.installed.append((self.lib_key, self.dist_info + "/RECORD", None, None))
        with open(self._stage_path(self.lib_key, self.dist_info + "/RECORD"), "w") as out:
            out.write(_record_text(rows))

    def _record_path(self, key, relative):
        if key == self.lib_key:  # the RECORD lives in the lib folder: already relative
            return relative
        return os.path.relpath(self._final_path(key, relative),
                               self.lib_dir).replace(os.sep, "/")

    def top_level_modules(self):
        """Importable top-level names this wheel installed into its lib folder."""
        return _top_level_modules([relative for key, relative, _, _ in self.installed
                                   if key in ("purelib", "platlib")],
                                  os.path.join(self.lib_dir))


def _record_text(rows):
    """RECORD's text: csv's, sorted. Where no field holds a comma, quote or line break (every
    row of almost every wheel), csv writes the fields joined by commas: so is it written."""
    import csv
    import io
    rows = sorted(rows)
    text = "".join([",".join(row) + "\n" for row in rows])
    if (text.count(",") == 2 * len(rows) and text.count("\n") == len(rows)
            and '"' not in text and "\r" not in text
            and all(len(row) == 3 for row in rows)):
        return text
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue()


class FileConflict(BootstrapError):
    code = "file-conflict"


def _scheme_relative(scheme, path):
    """(scheme key, relative path) of an absolute path inside one of the scheme's folders
    (the deepest that holds it), or None: outside them, or through a reserved name."""
    parent = os.path.realpath(os.path.dirname(path))
    best = None
    for key in SCHEME_KEYS:
        root = os.path.realpath(getattr(scheme, key))
        if parent == root or parent.startswith(root.rstrip(os.sep) + os.sep):
            if best is None or len(root) > len(best[1]):
                best = (key, root)
    if best is None:
        return None
    relative = os.path.relpath(os.path.join(parent, os.path.basename(path)), best[1])
    relative = relative.replace(os.sep, "/")
    parts = split_member_name(relative)
    if parts is None or any(part in RESERVED_NAMES for part in parts):
        return None
    return best[0], "/".join(parts)


def _installed_dist_info(location, name, version=None):
    """The .dist-info folder of an installed project in ``location`` (its version's first)."""
    found = []
    try:
        entries = sorted(os.listdir(location))
    except OSError:
        return None
    for entry in entries:
        stem, _, entry_version = entry[:-len(".dist-info")].rpartition("-")
        if entry.endswith(".dist-info") and canonicalize_name(stem) == name:
            found.append((version is None or entry_version != str(version), entry))
    return os.path.join(location, sorted(found)[0][1]) if found else None


def _distribution_paths(dist_info):
    """The absolute paths an installed .dist-info's RECORD names (its folder's files left out),
    with the __pycache__ files of its modules; [] without a readable RECORD."""
    import glob
    location = os.path.dirname(dist_info)
    try:
        rows = _parse_record(_read_text(os.path.join(dist_info, "RECORD")), dist_info)
    except (OSError, BootstrapError):
        return []
    paths = []
    for row in sorted(rows):
        full = os.path.normpath(os.path.join(location, row))
        if full == dist_info or full.startswith(dist_info + os.sep):
            continue
        paths.append(full)
        if full.endswith(".py"):
            stem = os.path.basename(full)[:-3]
            paths.extend(sorted(glob.glob(os.path.join(
                glob.escape(os.path.dirname(full)), "__pycache__", glob.escape(stem) + ".*.pyc"))))
    return paths


def _owners(lib_dir):
    """{absolute path: project} of every file the RECORDs in ``lib_dir`` name."""
    owners = {}
    try:
        entries = sorted(os.listdir(lib_dir))
    except OSError:
        return owners
    for entry in entries:
        if not entry.endswith(".dist-info"):
            continue
        project = entry[:-len(".dist-info")].rpartition("-")[0]
        folder = os.path.join(lib_dir, entry)
        for path in _distribution_paths(folder):
            owners.setdefault(path, project)
    return owners


class _Replacement(object):
    """What a commit moves aside: the replaced distribution's files (RECORD paths inside the
    scheme's folders only, its .dist-info first) and files already at the new paths that no
    other distribution owns. A file another distribution owns is a FileConflict."""

    def __init__(self, installation, replaces, owners):
        self.installation = installation
        self.scheme = installation.scheme
        self.replaces = replaces
        self.owners = owners or (lambda: _owners(installation.lib_dir))
        self.entries = []
        self.seen = set()

    def _add(self, path):
        target = _scheme_relative(self.scheme, path)
        if target is not None and os.path.lexists(path) and path not in self.seen:
            self.seen.add(path)
            self.entries.append(list(target))

    def aside(self):
        if self.replaces is not None:
            dist_info = _installed_dist_info(self.replaces.location, self.replaces.name,
                                             self.replaces.version)
            if dist_info is not None:
                paths = _distribution_paths(dist_info)
                self._add(dist_info)
                for path in paths:
                    if os.path.isfile(path) or os.path.islink(path):
                        self._add(path)
        clashes, tops = [], {}
        for key, relative, digest, _ in self.installation.installed:
            top = (key, relative.split("/", 1)[0])  # nothing is under a top that is not there
            if top not in tops:
                tops[top] = os.path.lexists(self.installation._final_path(*top))
            if not tops[top]:
                continue
            path = os.path.normpath(self.installation._final_path(key, relative))
            if path in self.seen or not os.path.lexists(path):
                continue
            if os.path.isdir(path) and not os.path.islink(path):
                raise FileConflict("%s: %s would replace the folder %s" % (
                    self.installation.wheel.filename, relative, path),
                    self.installation.wheel.filename)
            clashes.append((path, relative, digest))
        self._check_owners(clashes)
        for path, _, _ in clashes:
            self._add(path)
        return self.entries

    def _check_owners(self, clashes):
        if not clashes:
            return
        owners = self.owners()
        taken = collections.defaultdict(list)
        for path, relative, digest in clashes:
            owner = owners.get(path)
            if owner is not None and (digest is None or _file_digest(path) != digest):
                taken[owner].append(relative)
        if taken:
            wheel = self.installation.wheel
            owner = sorted(taken)[0]
            files = sorted(taken[owner])
            error = FileConflict(
                "%s would overwrite %d file%s of the installed %s (%s); nothing of %s was "
                "installed" % (wheel.filename, len(files), "" if len(files) == 1 else "s",
                               owner, _short(files, 3), wheel.name), wheel.filename)
            error.owner, error.files, error.project = owner, files, wheel.name
            raise error


def _file_digest(path):
    import hashlib
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(_CHUNK), b""):
                digest.update(block)
    except OSError:
        return None
    return _urlsafe_digest(digest)


# -- The journal: a staging folder's READY file -------------------------------------------------
# READY is JSON: the scheme's folders, the project, its new files ([key, relative]), the files
# moved aside ([key, relative], kept as aside/<index>) and the phase it was written in: ready
# (commit forwards). It is written once, before anything is moved. Each later phase,
# aside-done, committed (only cleaning up is left), rollback, rollback-restore, rolled-back, is
# the one word in PHASE beside it (READY's phase holds while there is no PHASE). Both are
# written atomically (a temporary file, then a rename); a rerun continues from the phase it
# finds.

_PHASES = ("ready", "aside-done", "committed", "rollback", "rollback-restore", "rolled-back")


def _write_atomically(staging, name, text):
    temporary = os.path.join(staging, name + ".tmp")
    with open(temporary, "w") as out:
        out.write(text)
    os.replace(temporary, os.path.join(staging, name))


def _write_journal(staging, journal):
    _write_atomically(staging, "READY", json.dumps(journal))  # json.dump encodes in Python


def _mark_ready(staging, journal):
    """Write the journal entry that says the staged package is complete and may be committed."""
    _write_journal(staging, journal)


def _set_phase(staging, journal, phase):
    """Record the phase a commit or rollback has reached: a word, not the whole journal."""
    journal["phase"] = phase
    _write_atomically(staging, "PHASE", phase)


def _phase_word(staging):
    """The word in a staging folder's PHASE file, or None where it has none."""
    import errno
    try:
        with open(os.path.join(staging, "PHASE")) as f:
            return f.read()
    except OSError as error:
        if error.errno != errno.ENOENT:
            raise
        return None


def _journal_phase(staging, journal):
    """The phase of a journal read from READY: PHASE's word, else READY's own; one that
    names none of the phases is an UnsafeMemberError (the journal is left alone)."""
    phase = _phase_word(staging)
    if phase is None:
        phase = journal.get("phase")
    if phase not in _PHASES:
        raise UnsafeMemberError("%s: the journal's phase %r is none of %s" % (
            staging, str(phase)[:40], ", ".join(_PHASES)), staging)
    return phase


def _read_journal(staging, scheme_for=None):
    """The journal of a staging folder, checked: its folders are the ones this destination
    uses for the project, and every entry is a relative path inside them that passes the gate
    (and, for new files, is staged or named by the staged RECORD). BootstrapError otherwise."""
    subject = staging
    try:
        with open(os.path.join(staging, "READY")) as f:
            journal = json.load(f)
        scheme = Scheme(*[journal[key] for key in SCHEME_KEYS])
        name = journal["name"]
        dist_info = journal["dist_info"]
        entries = [tuple(item) for item in journal["files"] + journal["aside"] +
                   journal["made"]]
        journal["phase"] = _journal_phase(staging, journal)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UnsafeMemberError("%s: the journal cannot be read (%s)" % (subject, error), subject)
    expected = scheme_for(name) if scheme_for is not None else scheme
    if [os.path.abspath(p) for p in scheme] != [os.path.abspath(p) for p in expected]:
        raise UnsafeMemberError("%s: the journal names other folders than this destination's"
                                % subject, subject)
    if split_member_name(dist_info) != [dist_info] or not dist_info.endswith(".dist-info"):
        raise UnsafeMemberError("%s: the journal names %r" % (subject, dist_info), subject)
    for item in entries:
        if len(item) != 2 or item[0] not in SCHEME_KEYS:
            raise UnsafeMemberError("%s: journal entry %r" % (subject, item), subject)
        _checked_parts(item[1], "journal entry", subject)
    if journal.get("phase") not in ("committed", "rolled-back"):  # only cleaning up is left
        _check_staged_record(staging, journal, scheme)
    return journal, scheme


def _check_staged_record(staging, journal, scheme):
    """Every new file the journal names is in the RECORD bootstrap staged (or installed)."""
    record = journal["dist_info"] + "/RECORD"
    keys = [key for key, relative in journal["files"] if relative == record]
    if len(keys) != 1 or keys[0] not in ("purelib", "platlib"):
        raise UnsafeMemberError("%s: the journal does not name its RECORD" % staging, staging)
    lib_dir = getattr(scheme, keys[0])
    for path in (os.path.join(staging, keys[0], *record.split("/")), _final(scheme, *keys + [
            record])):
        if os.path.isfile(path):
            rows = _parse_record(_read_text(path), staging)
            break
    else:
        raise UnsafeMemberError("%s: the journal's RECORD is missing" % staging, staging)
    for key, relative in journal["files"]:
        row = relative if key == keys[0] else os.path.relpath(
            _final(scheme, key, relative), lib_dir).replace(os.sep, "/")
        if row not in rows:
            raise UnsafeMemberError("%s: journal entry %s is not in its RECORD" % (
                staging, relative), staging)


def _final(scheme, key, relative):
    return os.path.join(getattr(scheme, key), relative if os.sep == "/" else
                        relative.replace("/", os.sep))


def _move_into(source, destination):
    """Move a staged file or folder into place, merging folders (namespace packages)."""
    if os.path.isdir(source) and not os.path.islink(source):
        if os.path.isdir(destination) and not os.path.islink(destination):
            for entry in sorted(os.listdir(source)):
                _move_into(os.path.join(source, entry), os.path.join(destination, entry))
            os.rmdir(source)
            return
    _makedirs(os.path.dirname(destination))
    try:
        os.replace(source, destination)
    except OSError as error:
        import errno
        import shutil
        if error.errno != errno.EXDEV:
            raise
        shutil.move(source, destination)


def _prune(scheme, paths):
    """Remove the folders that held ``paths`` and are empty now, up to the scheme's folders
    (an emptied package folder would still import as a namespace package)."""
    libs = [os.path.abspath(scheme.purelib), os.path.abspath(scheme.platlib)]
    roots = set(libs + [os.path.abspath(scheme.data)])
    for extra in (scheme.scripts, os.path.dirname(scheme.headers)):  # bin/, include/: kept,
        extra = os.path.abspath(extra)  # unless a --target folder made them (then pruned)
        if not any(extra.startswith(lib.rstrip(os.sep) + os.sep) for lib in libs):
            roots.add(extra)
    folders = sorted(set(os.path.dirname(os.path.abspath(p)) for p in paths),
                     key=lambda p: -p.count(os.sep))
    for folder in folders:
        while folder not in roots and any(folder.startswith(r.rstrip(os.sep) + os.sep)
                                          for r in roots):
            try:
                os.rmdir(folder)
            except OSError:
                break
            folder = os.path.dirname(folder)


def commit_staging(staging, scheme_for=None):
    """Commit a READY staged package forwards from the phase its journal is in: move the old
    files aside, move the new ones in (the .dist-info last), then drop the old ones."""
    journal, scheme = _read_journal(staging, scheme_for)
    if journal["phase"] in ("rollback", "rollback-restore", "rolled-back"):
        return rollback_staging(staging, scheme_for)
    _commit_journal(staging, journal, scheme)


def _commit_journal(staging, journal, scheme):
    """commit_staging with the journal at hand: read and checked from READY, or the one
    this run has just written there (its phase is ready)."""
    import shutil
    aside = os.path.join(staging, "aside")
    if journal["phase"] == "ready":
        _makedirs(aside)
        for index, (key, relative) in enumerate(journal["aside"]):
            held = os.path.join(aside, str(index))
            source = _final(scheme, key, relative)
            if not os.path.lexists(held) and os.path.lexists(source):
                _move_into(source, held)
        _set_phase(staging, journal, "aside-done")
    if journal["phase"] == "aside-done":
        _move_staged(staging, journal, scheme)
        _set_phase(staging, journal, "committed")
    _prune(scheme, [_final(scheme, key, relative) for key, relative in journal["aside"]])
    shutil.rmtree(staging, ignore_errors=True)  # what is left is found (committed) next time
    _remove_empty(os.path.dirname(staging))


def _move_staged(staging, journal, scheme):
    dist_infos = []
    for key in SCHEME_KEYS:
        area = os.path.join(staging, key)
        if not os.path.isdir(area):
            continue
        for entry in sorted(os.listdir(area)):
            pair = (os.path.join(area, entry), _final(scheme, key, entry))
            if entry == journal["dist_info"]:
                dist_infos.append(pair)
            else:
                _move_into(*pair)
    for source, destination in dist_infos:
        _move_into(source, destination)


def rollback_staging(staging, scheme_for=None):
    """Undo a commit from its journal: move the new files that were moved in back into the
    staging folder, put the old ones back, prune the folders the new ones made, drop the
    staging folder."""
    import shutil
    journal, scheme = _read_journal(staging, scheme_for)
    news = [(key, relative, _final(scheme, key, relative)) for key, relative in journal["files"]]
    if journal["phase"] not in ("rollback", "rollback-restore", "rolled-back"):
        _set_phase(staging, journal, "rollback")
    if journal["phase"] == "rollback":
        for key, relative, final in news:
            staged = os.path.join(staging, key, *relative.split("/"))
            if not os.path.lexists(staged) and os.path.lexists(final) and not (
                    os.path.isdir(final) and not os.path.islink(final)):
                _move_into(final, staged)
        _set_phase(staging, journal, "rollback-restore")
    if journal["phase"] == "rollback-restore":
        for index in reversed(range(len(journal["aside"]))):
            key, relative = journal["aside"][index]
            held = os.path.join(staging, "aside", str(index))
            if os.path.lexists(held):
                _move_into(held, _final(scheme, key, relative))
        _set_phase(staging, journal, "rolled-back")
    for key, relative in journal["made"]:  # deepest first; only folders the commit made
        _remove_empty(_final(scheme, key, relative))
    shutil.rmtree(staging, ignore_errors=True)
    _remove_empty(os.path.dirname(staging))


def recover_staging(lib_dir, scheme_for=None):
    """Finish what an interrupted run left in ``lib_dir``: a journaled commit forwards (or its
    rollback), a staging without journal discarded. A journal that does not check out (other
    folders, paths outside them, entries not in its RECORD) is left untouched. Returns notes."""
    import shutil
    root = os.path.join(lib_dir, STAGING_DIR)
    notes = []
    if not os.path.isdir(root) or os.path.islink(root):
        return notes
    for entry in sorted(os.listdir(root)):
        staging = os.path.join(root, entry)
        if os.path.isfile(os.path.join(staging, "READY")):
            try:
                journal, _ = _read_journal(staging, scheme_for)
                rolling_back = journal["phase"].startswith("rollback")
                commit_staging(staging, scheme_for)
            except BootstrapError as error:
                notes.append("left %s alone: %s" % (staging, error.message))
                continue
            except OSError as error:  # a full disk, a read-only folder: the next run goes on
                notes.append("could not yet finish %s (%s); the next run goes on with it" % (
                    staging, error.strerror or error))
                continue
            notes.append("%s %s, which an interrupted run had %s" % (
                "rolled back" if rolling_back else "finished installing", entry,
                "begun to replace" if rolling_back else "staged"))
        else:
            shutil.rmtree(staging, ignore_errors=True)
            notes.append("discarded the incomplete staging of %s from an interrupted run" % entry)
    _remove_empty(root)
    return notes


def _sweep_staging(lib_dir, stagings):
    """Remove what this run's ``stagings`` still hold that no journal needs (no READY, or a
    commit or rollback that has ended): what a removal could not remove while other threads
    held every descriptor the open-file limit allows. Then the staging folder, if empty."""
    for staging in stagings:
        if not os.path.isdir(staging):
            continue
        try:
            ended = _phase_word(staging) in ("committed", "rolled-back")
        except OSError:
            ended = False
        if ended or not os.path.isfile(os.path.join(staging, "READY")):
            _remove_tree(staging)
    _remove_empty(os.path.join(lib_dir, STAGING_DIR))


def _remove_empty(folder):
    try:
        os.rmdir(folder)
    except OSError:
        pass


_EXTENSION_RE = _LazyRegex(r"^([A-Za-z_][A-Za-z0-9_]*)(\.[A-Za-z0-9_-]+)?\.(so|pyd)$")


def _top_level_modules(relatives, lib_dir):
    """Top-level importable modules among installed paths (a namespace folder: its children)."""
    modules = set()
    packages = {}  # head -> whether head/__init__.py is installed (one stat per folder)
    for relative in relatives:
        parts = relative.split("/")
        head = parts[0]
        if head.endswith((".dist-info", ".egg-info", ".data")) or head == "__pycache__":
            continue
        if len(parts) == 1:
            if head.endswith(".py") and head[:-3].isidentifier():
                modules.add(head[:-3])
            match = _EXTENSION_RE.match(head)
            if match:
                modules.add(match.group(1))
        elif head.isidentifier():
            if head not in packages:
                packages[head] = os.path.isfile(os.path.join(lib_dir, head, "__init__.py"))
            if packages[head] or parts[1] == "__init__.py":
                modules.add(head)
            elif len(parts) > 2 and parts[1].isidentifier() and parts[2] == "__init__.py":
                modules.add(head + "." + parts[1])
            elif len(parts) == 2 and parts[1].endswith(".py") and parts[1][:-3].isidentifier():
                modules.add(head + "." + parts[1][:-3])
    return sorted(modules)


class _Lock(object):
    """An exclusive lock on a destination folder, so two installs do not interleave. It locks
    the folder itself (flock on its descriptor), so no lock file is left behind.
    Left out: Windows, which has no flock; there two installs at once are not serialised."""

    def __init__(self, folder):
        self.folder = folder
        self.fd = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:
            return self
        self.fd = os.open(self.folder, os.O_RDONLY)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)
        return False


# -- Bytecode and import verification ----------------------------------------------------------
# Two things make a package *work* rather than merely *present*, and both must pay for
# themselves in time-to-working. Verification: the import names of the roots (what the user
# asked for) are imported in one fresh interpreter, which starts while the packages are still
# being unpacked: an import of a package that is not in place yet waits until the installer
# says it is (a line on the interpreter's stdin), so the imports run on the core that
# decompression leaves idle. A root that does not import (a compiled extension that cannot
# load, a missing dependency) is import-failed; a module beside it that needs an extra or an
# undeclared dependency (black's blackd without black[d]) is a note. The other packages are not
# imported: what the roots do not import cannot break them. Bytecode: that interpreter writes
# the .pyc of everything it imports (timestamp-based, in __pycache__, not in RECORD, as pip
# writes them), which is the user's first import; the rest compiles on first use, as after
# uv (compiling every file costs more than it saves). The importer is a seam: where the
# platform has no processes, an importer with the same result shape stands in for the
# subprocess (exec _VERIFY_CODE under another __name__ and call its try_imports).

_VERIFY_CODE = r"""
import importlib, json, os, sys

def chain(error):
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__

def missing_module(error):
    for link in chain(error):
        if isinstance(link, ModuleNotFoundError) and link.name:
            return link.name
    return None

def try_imports(names):
    results = {}
    for name in names:
        try:
            importlib.import_module(name)
            results[name] = None
        except BaseException as error:
            # out of memory anywhere in the chain is the cause, whatever a fallback then
            # raised (an optional module tried after a failed import)
            memory = [link for link in chain(error) if isinstance(link, MemoryError)]
            shown = memory[0] if memory else error
            text = str(shown).strip().splitlines()
            results[name] = {"error": "%s: %s" % (type(shown).__name__, text[-1] if text else ""),
                             "missing": None if memory else missing_module(error)}
    return results

class Held(object):
    # Holds the import of a top-level name whose package is not in place yet. Lines on stdin:
    # "+name" (one package providing name is in place), "?module" (import it); end: all are.
    def __init__(self, names):
        self.held, self.queue, self.ended = {}, [], False
        for name in names:
            self.held[name] = self.held.get(name, 0) + 1

    def read(self):
        line = sys.stdin.readline()
        if not line:
            self.ended = True
            self.held.clear()
        elif line.startswith("+"):
            name = line[1:].rstrip("\n")
            self.held[name] = self.held.get(name, 1) - 1
            if self.held[name] <= 0:
                del self.held[name]
        elif line.startswith("?"):
            self.queue.append(line[1:].rstrip("\n"))

    def find_spec(self, name, path=None, target=None):
        if path is None and name in self.held:
            while name in self.held:
                self.read()
            importlib.invalidate_caches()
        return None

def stream(names):
    held = Held(names)
    sys.meta_path.insert(0, held)
    results = {}
    while not held.ended or held.queue:
        if held.queue:
            results.update(try_imports([held.queue.pop(0)]))
        else:
            held.read()
    return results

if __name__ == "__main__":
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # what an import prints is not the result
    if sys.argv[1:2] == ["--stream"]:
        results = stream(sys.argv[2:])
    else:
        results = try_imports(sys.argv[1:])
    out.write(json.dumps(results))
    out.flush()
"""


def _interpreter_flags():
    """Flags that make a child write the .pyc this interpreter reads (-O, pycache prefix):
    as many -O as its level (-OOO, PYTHONOPTIMIZE=3: .opt-3.pyc, not -OO's .opt-2.pyc)."""
    flags = ["-O"] * sys.flags.optimize
    prefix = getattr(sys, "pycache_prefix", None)
    if prefix:
        flags += ["-X", "pycache_prefix=" + prefix]
    return flags


def _cuts_bytecode():
    """Whether this process may not write a file past a size a .pyc can reach (RLIMIT_FSIZE,
    `ulimit -f`, below _PYC_ROOM). CPython does not check that a .pyc was written whole: past
    the limit it leaves one cut short, and every later import of that module fails (EOFError:
    marshal data too short). Then no bytecode is written for the user: no warming, a verifier
    run with -B."""
    limit = _resource_limit("RLIMIT_FSIZE")
    return limit is not None and limit[0] is not None and limit[0] < _PYC_ROOM


#: A file-size limit from this size up leaves every .pyc whole (the largest are a few MB).
_PYC_ROOM = 256 * 1024 * 1024


_CUT_BYTECODE_NOTE = (
    "this sandbox limits the size of a file (ulimit -f): no bytecode was written, since "
    "CPython leaves a .pyc past the limit cut short, which breaks that module's next import; "
    "set PYTHONDONTWRITEBYTECODE=1 for the programs that import these packages, or raise "
    "the limit (ulimit -f unlimited)")


def _verify_command(arguments, extra_path):
    """(argv, env) of a verifying interpreter: it sees the packages as this one does, the
    folder ``extra_path`` first (PYTHONPATH). Under -E or -I, as here, no PYTHON* variable
    reaches it (a PYTHONPATH module shadowing the standard library, PYTHONWARNINGS=error:
    neither is what this interpreter saw); under -s or -I, nor does the user's site-packages
    folder. It may write bytecode (the .pyc it writes is the user's first import), unless a
    file-size limit would cut it short (_cuts_bytecode: -B); its flags alone choose that .pyc."""
    env = dict((name, value) for name, value in os.environ.items()
               if not (sys.flags.ignore_environment and name.startswith("PYTHON")))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if extra_path:
        env["PYTHONPATH"] = os.pathsep.join([extra_path] + (
            [env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    flags = _interpreter_flags() + (["-s"] if sys.flags.no_user_site else []) + (
        ["-B"] if _cuts_bytecode() else [])
    return [sys.executable] + flags + ["-c", _VERIFY_CODE] + list(arguments), env


class _Verifier(object):
    """The roots' imports in one fresh interpreter, started before the packages are in place.

    start(held) starts it, holding the top-level names of the packages being unpacked;
    placed(names, modules) releases a package's names (installed or failed) and queues the
    modules to import; results(modules) is the importer of verify_imports: it ends the input
    and reads the results. Where no process can start, results imports in this process."""

    def __init__(self, extra_path):
        self.extra_path = extra_path
        self.process = None
        self.queued = []  # the modules to import, in the order the packages were placed
        self.sent = 0

    def start(self, held):
        import subprocess
        if self.process is not None or not _can_start_processes():
            return
        argv, env = _verify_command(["--stream"] + list(held), self.extra_path)
        try:
            self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=subprocess.DEVNULL, env=env,
                                            universal_newlines=True)
        except OSError:  # no processes here after all: results() imports in this process
            self.process = None

    def placed(self, names, modules=()):
        self.queued.extend(m for m in modules if m not in self.queued)
        if self.process is None:
            return
        lines = ["+%s\n" % n for n in names] + ["?%s\n" % m for m in self.queued[self.sent:]]
        self.sent = len(self.queued)
        try:
            self.process.stdin.write("".join(lines))
            self.process.stdin.flush()
        except (OSError, ValueError):
            pass  # it crashed: results() finds out and imports one module at a time

    def results(self, modules, extra_path=None, timeout=300):
        """{module: None or {"error", "missing"}} of importing ``modules``."""
        import subprocess
        self.start(())  # not started yet (a .pth file among the packages): start it now
        if self.process is None:
            return _import_modules(modules, self.extra_path)
        self.placed((), modules)
        process, self.process = self.process, None
        try:
            found = json.loads(process.communicate(timeout=timeout)[0])
            if all(m in found for m in modules):
                return found
        except (ValueError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()
        return _import_one_by_one(modules, self.extra_path, timeout)

    def stop(self):
        """End the interpreter at once (the install failed, or nothing was to be imported)."""
        process, self.process = self.process, None
        if process is not None:
            process.kill()
            process.communicate()


def _import_in_subprocess(modules, extra_path, timeout=300):
    """{module: None or {"error": "Type: last line", "missing": name or None}} from importing
    each in one fresh interpreter; one that crashes the interpreter is found alone."""
    import subprocess
    argv, env = _verify_command(modules, extra_path)
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                              universal_newlines=True, timeout=timeout)
        return json.loads(proc.stdout)
    except (ValueError, subprocess.TimeoutExpired):
        if len(modules) == 1:
            return {modules[0]: {"error": "the interpreter crashed or hung while importing it",
                                 "missing": None}}
        return _import_one_by_one(modules, extra_path, timeout)


def _import_one_by_one(modules, extra_path, timeout=300):
    """After a crash among several imports: each module in its own interpreter."""
    results = {}
    for module in modules:
        results.update(_import_in_subprocess([module], extra_path, timeout))
    return results


def _import_modules(modules, extra_path):
    """{module: None or error} in a fresh interpreter, or in this one where no process can
    start (Pyodide): detected from the platform, or from a start that fails."""
    if _can_start_processes():
        try:
            return _import_in_subprocess(modules, extra_path)
        except OSError:  # e.g. "emscripten does not support processes"
            pass
    return _import_in_process(modules, extra_path)


def _import_in_process(modules, extra_path):
    """{module: None or 'Error: last line'} from importing each here. A failed import leaves
    nothing behind: every module it added to sys.modules is removed again (a successful one
    stays imported: it is what the user will import next)."""
    import importlib
    added_path = bool(extra_path) and extra_path not in sys.path
    if added_path:
        sys.path.insert(0, extra_path)
    importlib.invalidate_caches()
    results = {}
    try:
        for name in modules:
            before = set(sys.modules)
            try:
                importlib.import_module(name)
                results[name] = None
            except (Exception, SystemExit) as error:
                for added in set(sys.modules) - before:
                    sys.modules.pop(added, None)
                text = str(error).strip().splitlines()
                results[name] = "%s: %s" % (type(error).__name__, text[-1] if text else "")
    finally:
        if added_path and extra_path in sys.path:
            sys.path.remove(extra_path)
    return results


def _main_modules(package, modules):
    """The modules that are the package itself: those named after it, else every public one."""
    named = [m for m in modules if canonicalize_name(m.replace("_", "-")) == package]
    return set(named or [m for m in modules if not m.split(".")[-1].startswith("_")] or modules)


_EXTRA_RE = _LazyRegex(r"""\bextra\s*==\s*['"]([^'"]+)['"]""")


def _declared(requires, name):
    """(declared at all, extras that bring it) for an import name among Requires-Dist."""
    wanted = canonicalize_name(name.replace("_", "-"))
    plain, extras = False, []
    for text in requires:
        try:
            requirement = _requirement(text)
        except (BootstrapError, ValueError):
            continue
        if requirement.key != wanted:
            continue
        found = _EXTRA_RE.findall(str(requirement.marker or ""))
        extras.extend(canonicalize_name(e) for e in found)
        plain = plain or not found
    return plain, sorted(set(extras))


def _verify_failure(package, version, module, error, profile):
    """The import-failed Problem of a root's module, with a fix that can change the outcome."""
    text, missing = error["error"], error.get("missing")
    if text.startswith("MemoryError"):  # the sandbox's memory, not the wheel: fixed here
        return Problem("import-failed", module, "%s (from %s) does not import: %s; %s is "
                       "installed, but importing it needs more memory than this sandbox "
                       "gives" % (module, package, text, package), required_by=[package],
                       details={"remedy": "memory"})
    if missing:
        requirement = missing.split(".")[0].lstrip("_").replace("_", "-") or missing
        message = "%s (from %s) does not import: %s; %s is not installed here" % (
            module, package, text, missing.split(".")[0])
        hint = "bundle %s for this sandbox, upload it and install it next to %s" % (
            requirement, package)
    else:
        requirement = "%s==%s" % (package, version)
        message = "%s (from %s) does not import: %s" % (module, package, text)
        hint = ("a system library it links to is missing: a wheel that bundles it (manylinux) "
                "is needed, or the library itself installed in the sandbox"
                if "cannot open shared object" in text or "DLL load" in text
                else "a wheel of %s built for this interpreter is needed" % package)
    fix = online_fix(profile, [requirement]) if profile is not None else None
    if fix is not None:
        fix["hint"] = hint
    return Problem("import-failed", module, message, required_by=[package], fix=fix)


def _verify_note(package, module, error, requires):
    """The note for a root's module that needs an extra or an undeclared dependency; None
    when its failure is the root's."""
    missing = (error.get("missing") or "").split(".")[0]
    plain, extras = _declared(requires, missing) if missing else (False, [])
    if extras and not plain:
        return ("%s (from %s) needs %s, which %s lists only under the extra %s; add %s[%s] "
                "(or %s) to the requirements if you use %s" % (
                    module, package, missing, package, " or ".join(
                        "%s[%s]" % (package, e) for e in extras), package, extras[0],
                    missing.replace("_", "-"), module))
    if missing and not plain:
        return ("%s (from %s) imports %s, which %s does not declare as a dependency and which "
                "is not installed; bundle %s too if you use %s" % (
                    module, package, missing, package,
                    missing.lstrip("_").replace("_", "-") or missing, module))
    return None


def _as_result(error):
    """An importer's result for one module as {"error", "missing"} (text-only importers too)."""
    if isinstance(error, str):
        found = re.search(r"No module named '([^']+)'", error)
        return {"error": error, "missing": found.group(1) if found else None}
    return error


def verify_imports(modules_by_package, extra_path=None, roots=None, requires=None,
                   versions=None, profile=None, importer=None):
    """(import-failed Problems, notes) from importing the roots' modules in one fresh
    interpreter.

    Only the roots' modules (``roots``: package names; default all) are imported: a failure of
    a root's own module is import-failed, one of a module beside it that needs an extra or an
    undeclared dependency is a note; the other packages' modules are not imported (what the
    roots do not import cannot break them). ``requires``: {package: Requires-Dist}.
    ``importer``: (modules, extra_path) -> results, the seam for the streaming interpreter
    (_Verifier.results) and for platforms without processes."""
    roots = set(modules_by_package if roots is None else roots)
    order = sorted(package for package in modules_by_package if package in roots)
    wanted = []
    for package in order:
        wanted.extend(m for m in modules_by_package[package] if m not in wanted)
    if not wanted:
        return [], []
    results = (importer or _import_modules)(wanted, extra_path)
    problems, notes = [], []
    for package in order:
        modules = modules_by_package[package]
        main = _main_modules(package, modules)
        for module in modules:
            error = _as_result(results.get(module))
            if not error:
                continue
            if (error.get("missing") or "").split(".")[0] in [m.split(".")[0] for m in modules]:
                error = dict(error, missing=None)  # its own module is missing: a broken wheel
            note = None if module in main else _verify_note(
                package, module, error, (requires or {}).get(package, ()))
            if note:
                notes.append(note)
            else:
                problems.append(_verify_failure(package, (versions or {}).get(package, "?"),
                                                module, error, profile))
    return problems, sorted(notes)


def _activate(lib_dir, new_files):
    """Make what was just installed importable in this process, without a restart."""
    import importlib
    import site
    if lib_dir not in sys.path:
        site.addsitedir(lib_dir)
    else:
        for name in sorted(new_files):
            if name.endswith(".pth") and "/" not in name:
                site.addpackage(lib_dir, name, None)
    importlib.invalidate_caches()


def _loaded_elsewhere(module_name, lib_dir):
    """Whether a module is already imported in this process from outside ``lib_dir``."""
    module = sys.modules.get(module_name)
    if module is None:
        return False
    location = getattr(module, "__file__", None) or next(iter(
        getattr(module, "__path__", None) or []), None)
    if not location:
        return False
    return not os.path.realpath(location).startswith(os.path.realpath(lib_dir) + os.sep)


def _restart_needed(results, modules_by_package):
    """restart-needed Problems for packages this process already imported from elsewhere (an
    older version, or the base a new one now shadows): the old code stays in use until then."""
    problems = []
    for item in results:
        loaded = [m for m in modules_by_package.get(item["name"], ())
                  if m.split(".")[0] in sys.modules and (
                      item.get("replaced") or _loaded_elsewhere(m.split(".")[0],
                                                                item["location"]))]
        if loaded:
            problems.append(Problem(
                "restart-needed", item["name"],
                "%s was already imported in this process (%s); %s %s is now installed but the "
                "one in use stays until a restart" % (
                    item["name"], item.get("replaced") or "from another location",
                    item["name"], item["version"]),
                fix={"where": "sandbox", "command": "restart the kernel (or the interpreter)"}))
    return problems


# == 12. Environment modes (I/O) ==============================================================
# -- Environment modes: layered venvs, overlays, baked runtimes, conda-pack archives ------------
# Three ways people already solve this problem. A layered venv (a kernel's venv over a base
# venv, joined by a .pth file) is detected and installed into, never its base. An overlay is a
# folder whose packages take precedence over the base in the running interpreter, discarded by
# `overlay --reset`. A --target folder is a baked runtime: reproducible, with a written
# activation. A conda-pack archive is unpacked, fixed up by its own conda-unpack, and made
# importable when its interpreter matches this one.


def write_activation(folder):
    """How to activate a --target folder in another process (baked runtimes): PYTHONPATH, or a
    .pth file written beside the folder (not in it: the folder holds only packages) to copy
    into the runtime's site-packages. Both put the folder before the runtime's own packages,
    as the verifying interpreter saw it: a runtime's older copy of a package never wins over
    the folder's. A .pth line that names a folder would append it, after them; so the line
    is an import line that inserts it, ASCII whatever the path (site reads .pth files in the
    locale's encoding before 3.13)."""
    folder = os.path.abspath(folder.rstrip(os.sep))
    pth = folder + "-activate.pth"
    line = _pth_line(folder)
    try:
        with open(pth, "w") as f:
            f.write(line + "\n")
    except OSError:
        pth = None
    return collections.OrderedDict([
        ("pythonpath", "PYTHONPATH=%s" % _quote(folder)),
        ("pth_file", pth),
        ("pth_line", line),
        ("how", "set PYTHONPATH=%s%s" % (folder, ", or copy %s into the runtime's site-packages "
                                         "(it too puts the folder before the runtime's own "
                                         "packages)" % pth if pth else ""))])


def _pth_line(folder):
    """The .pth line that puts ``folder`` first on sys.path, where PYTHONPATH would (site reads
    .pth files before the script's folder is put in front), once."""
    literal = ascii(folder)
    return "import sys; %s in sys.path or sys.path.insert(0, %s)" % (literal, literal)


def _activate_first(folder):
    """Put a folder first on sys.path, so its packages take precedence over the base: an
    overlay; a --target folder, as its verifying interpreter and its activation (PYTHONPATH)
    see it, not the base's older copy of a package beside the folder's new one."""
    import importlib
    import site
    if folder in sys.path:
        sys.path.remove(folder)
    sys.path.insert(0, folder)
    for name in sorted(os.listdir(folder)):
        if name.endswith(".pth"):
            site.addpackage(folder, name, None)
    importlib.invalidate_caches()


def _mark_overlay(folder):
    marker = os.path.join(folder, OVERLAY_MARKER)
    if not os.path.exists(marker):
        with open(marker, "w") as f:
            json.dump({"base_prefix": sys.prefix, "created_by": "sandbox-bootstrap"}, f)


def _claim_overlay(folder, rerun):
    """Make ``folder`` an overlay (its marker written first), or the not-writable Problem
    that says why not: an overlay is made only in an empty folder or one bootstrap made. Its
    fix is the install (``rerun``: its _rerun_command) with another --overlay."""
    folder = os.path.abspath(folder)
    try:
        entries = sorted(os.listdir(folder)) if os.path.isdir(folder) else None
        if entries is None and os.path.lexists(folder):
            entries = [os.path.basename(folder)]
        if entries and OVERLAY_MARKER not in entries:
            return Problem(
                "not-writable", folder, "%s already holds files that bootstrap did not put "
                "there (%s); an overlay is made only in an empty folder, so that `overlay "
                "--reset` can never remove anything else" % (folder, _short(entries, 3)),
                fix={"where": "sandbox", "command": rerun(
                    overlay=folder.rstrip(os.sep) + "-overlay")})
        _makedirs(folder)
        _mark_overlay(folder)
    except OSError as error:
        cause = _sandbox_cause(error, folder)
        return Problem("not-writable", folder, "%s cannot be made an overlay: %s" % (
            folder, error.strerror or error), fix=_sandbox_fix(
                cause[1] if cause else "permission", rerun, folder, moves="overlay"))
    return None


def _overlay_paths(folder):
    """What bootstrap put in an overlay: the files its distributions' RECORDs name (inside
    the folder), their .dist-info folders, the staging folder and the marker."""
    folder = os.path.abspath(folder)
    paths, trees = [], [os.path.join(folder, STAGING_DIR)]
    for entry in sorted(os.listdir(folder)):
        if entry.endswith(".dist-info") and os.path.isdir(os.path.join(folder, entry)):
            trees.append(os.path.join(folder, entry))
            paths.extend(p for p in _distribution_paths(os.path.join(folder, entry))
                         if p.startswith(folder + os.sep) and (
                             os.path.isfile(p) or os.path.islink(p)))
    return paths, trees


def reset_overlay(folder):
    """Discard an overlay: off sys.path, its modules unloaded, what bootstrap put there
    removed (anything else is kept, and named). Returns a Report. Only a folder that bootstrap
    made an overlay (it holds the marker) is touched."""
    import importlib
    import shutil
    folder = os.path.abspath(folder)
    if not os.path.isfile(os.path.join(folder, OVERLAY_MARKER)):
        raise UsageError("%s is not an overlay made by bootstrap.py (no %s in it)" % (
            folder, OVERLAY_MARKER), folder)
    while folder in sys.path:
        sys.path.remove(folder)
    unloaded = sorted(name for name, module in list(sys.modules.items())
                      if (getattr(module, "__file__", None) or "").startswith(folder + os.sep))
    for name in unloaded:
        del sys.modules[name]
    paths, trees = _overlay_paths(folder)
    for path in paths:
        os.remove(path)
    for tree in trees:
        shutil.rmtree(tree, ignore_errors=True)
    os.remove(os.path.join(folder, OVERLAY_MARKER))
    _prune(Scheme(*[folder] * len(SCHEME_KEYS)), paths)
    _remove_empty(os.path.join(folder, "__pycache__"))
    kept = sorted(os.path.relpath(os.path.join(root, name), folder)
                  for root, dirs, files in os.walk(folder) for name in files + [
                      d for d in dirs if not os.listdir(os.path.join(root, d))])
    _remove_empty(folder)
    importlib.invalidate_caches()
    steps = ["Modules already bound to names in this process still refer to the overlay's "
             "code until a restart."] if unloaded else []
    if kept:
        steps.append("%s still holds %d file(s) bootstrap did not put there (%s): kept" % (
            folder, len(kept), _short(kept, 3)))
    report = Report(schema=REPORT_SCHEMA, command="overlay-reset", status="ok",
                    target=Profile.current().target_tag, removed=folder, unloaded=unloaded,
                    kept=kept, problems=[], next_steps=steps)
    return report


def _is_conda_pack(path, limit=20000):
    """Whether an upload is a conda-pack archive (conda-meta/ and bin/conda-unpack inside).
    Only an upload that intake reads as an archive is looked into: a file named *.whl (or
    *.whl saved twice by a browser) is installed as a wheel whatever it holds, unopened here."""
    import zipfile
    if _browser_name(os.path.basename(path)).endswith(".whl"):
        return False
    kind = _sniff(path) if os.path.isfile(path) else None
    if kind is None:
        return False
    names = []
    try:
        if kind == "zip":
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()[:limit]
        else:  # up to a wheel or manifest: a bundle of wheels, extracted next
            names = _tar_member_names(path, kind, limit, ENVIRONMENT_LIMITS,
                                      (".whl", "manifest.json"))
    except _archive_read_errors():  # unreadable: reading it as a bundle reports it
        return False
    names = [n[2:] if n.startswith("./") else n for n in names]
    if names and names[-1].endswith((".whl", "manifest.json")):
        return False
    return (any(n.startswith("conda-meta/") for n in names)
            and any(n in ("bin/conda-unpack", "Scripts/conda-unpack-script.py") for n in names))


_ENV_INFO_CODE = ("import json, sys, sysconfig; print(json.dumps({'version': '%d.%d.%d' % "
                  "sys.version_info[:3], 'soabi': sysconfig.get_config_var('SOABI'), "
                  "'platform': sysconfig.get_platform(), 'site': sysconfig.get_paths()['purelib'], "
                  "'implementation': sys.implementation.name}))")


def _refuse_existing(path, folder):
    """A conda-pack archive is never unpacked over an existing folder (an empty one is fine)."""
    if os.path.lexists(folder) and not (os.path.isdir(folder) and not os.listdir(folder)):
        error = BootstrapError("%s already exists; %s is unpacked only into a new folder, so "
                               "nothing there is overwritten" % (folder, os.path.basename(path)),
                               folder, code="environment-failed")
        error.remedy, error.folder = "occupied", folder  # the install phrases its fix
        raise error


def _conda_unpack(python, folder, path):
    """Run the environment's conda-unpack with its own Python, then describe that Python
    (version, soabi, platform, implementation, site); environment-failed when either fails."""
    import subprocess
    fixer = subprocess.run([python, os.path.join(folder, "bin", "conda-unpack")], cwd=folder,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
    if fixer.returncode != 0:
        raise BootstrapError("conda-unpack of %s failed: %s" % (
            path, " | ".join(fixer.stdout.strip().splitlines()[-3:])), path,
            code="environment-failed")
    probe = subprocess.run([python, "-I", "-c", _ENV_INFO_CODE], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True)
    try:
        return json.loads(probe.stdout)
    except ValueError:
        raise BootstrapError("the interpreter in %s does not run here: %s" % (
            folder, probe.stderr.strip().splitlines()[-1:] or "?"), path,
            code="environment-failed")


def unpack_conda_env(path, folder=None):
    """Unpack a conda-pack archive, run its conda-unpack with its own Python, describe its
    interpreter, and, when it matches this one, append its site-packages to sys.path."""
    stem = re.sub(r"\.(tar\.gz|tgz|tar\.bz2|tar\.xz|tar|zip)$", "", os.path.basename(path))
    if folder is None:
        folder = os.path.join("/mnt/data" if os.path.isdir("/mnt/data") else os.getcwd(), stem)
    folder = os.path.abspath(folder)
    _refuse_existing(path, folder)
    partial = os.path.join(os.path.dirname(folder), STAGING_DIR + "-" + os.path.basename(folder))
    import shutil
    shutil.rmtree(partial, ignore_errors=True)
    try:
        extract_archive(path, partial, ENVIRONMENT_LIMITS, environment=True)
        _remove_empty(folder)
        os.rename(partial, folder)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    python = next((os.path.join(folder, "bin", name) for name in ("python", "python3")
                   if os.path.exists(os.path.join(folder, "bin", name))), None)
    if python is None:
        raise BootstrapError("%s has no bin/python: cannot run its conda-unpack" % path, path,
                             code="environment-failed")
    info = _conda_unpack(python, folder, path)
    matches = (info["version"].split(".")[:2] == [str(x) for x in sys.version_info[:2]]
               and info["soabi"] == sysconfig.get_config_var("SOABI")
               and info["platform"] == sysconfig.get_platform()
               and info["implementation"] == sys.implementation.name)
    if matches and info["site"] not in sys.path:
        import importlib
        sys.path.append(info["site"])  # after the current paths: nothing loaded changes
        importlib.invalidate_caches()
    return collections.OrderedDict([
        ("archive", os.path.basename(path)), ("path", folder), ("python", python),
        ("version", info["version"]), ("abi", info["soabi"]), ("platform", info["platform"]),
        ("site_packages", info["site"]), ("matches_this_interpreter", matches),
        ("importable_here", matches),
        ("run_with", "%s your_script.py" % _quote(python))])


# == 13. install: check, install, verify, report (I/O) ========================================
# -- Progress ---------------------------------------------------------------------------------


class Progress(object):
    """Package k of n, bytes and elapsed time: on a terminal in place, in a notebook as one
    display updated in place (never stderr, which notebooks show as errors), nothing when
    quiet (--json, MCP) or on a pipe."""

    def __init__(self, stream=None, quiet=False):
        import threading
        import time
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.terminal = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.notebook = stream is None and "ipykernel" in sys.modules and _in_ipython()
        self.handle = None
        self.start = time.monotonic()
        self.last = 0.0
        self.lock = threading.Lock()

    def __call__(self, done, total, name, size):
        import time
        if self.quiet or not (self.terminal or self.notebook):
            return
        now = time.monotonic()
        with self.lock:
            if now - self.last < 0.25 and done < total and self.last:
                return
            self.last = now
            text = "installing %d of %d: %s (%.1f MB) %.1fs" % (
                done, total, name, size / 1e6, now - self.start)
            if self.notebook:
                self._display(text, done, total)
            else:
                self.stream.write("\r" + text[:100].ljust(100) + ("\n" if done == total else ""))
                self.stream.flush()

    def _display(self, text, done, total):
        """One display, created at the first package and updated after each."""
        data = {"text/plain": text, "text/html": "<div class='sandbox-bootstrap-progress'>"
                "<progress value='%d' max='%d'></progress> <code>%s</code></div>" % (
                    done, total, _escape_html(text))}
        try:
            from IPython.display import display
            if self.handle is None:
                self.handle = display(data, raw=True, display_id=True)
            else:
                self.handle.update(data, raw=True)
        except Exception:  # no display after all: progress is only a courtesy
            self.notebook = False


# -- install: check, install, verify, report ---------------------------------------------------


class Destination(collections.namedtuple("Destination", "kind lib_dir target_dir user")):
    """Where an install goes: kind is target, site-packages or user-site; target_dir is the
    --target folder (else None)."""

    __slots__ = ()

    def scheme(self, dist_name):
        return install_scheme(dist_name, target=self.target_dir, user=self.user)


def choose_destination(target=None, bundles=(), rerun=None):
    """The Destination of an install, or a not-writable Problem naming what works instead."""
    if target:
        target = os.path.abspath(target)
        if _is_writable(target):
            return Destination("target", target, target, False), None
        subject = target
    else:
        paths = _detect_paths()
        if paths["purelib_writable"]:
            return Destination("site-packages", paths["purelib"], None, False), None
        user_path, user_enabled = _user_site()
        if user_enabled and user_path and _is_writable(user_path):
            return Destination("user-site", user_path, None, True), None
        subject = paths["purelib"]
    path = _writable_alternative()
    command = (rerun or _install_rerun(bundles))(target=path)
    return None, Problem("not-writable", subject,
                         "%s cannot be written by this user; install into a folder that can be, "
                         "and put it on PYTHONPATH" % subject,
                         fix={"where": "sandbox", "command": command,
                              "then": "PYTHONPATH=%s python ..." % path})


def _install_options(require, target, overlay, upgrade, budget, work_dir, verify, jobs, limits):
    """The command-line words of install()'s arguments (for _install_rerun)."""
    return _option_words(require, [("--target", target), ("--overlay", overlay),
                                   ("--budget", budget), ("--work-dir", work_dir),
                                   ("--jobs", jobs)], upgrade,
                         [] if verify else ["--no-verify"], limits)


def _target_profile(destination):
    """This interpreter's profile, seen from the install destination: a --target folder is
    self-contained (only what it holds counts as installed, as with pip --target); an overlay
    sees its own packages first, then the base's."""
    profile = Profile.current()
    if destination is not None and destination.kind == "target":
        profile.build_installed = profile.installed
        profile.installed = find_distributions([destination.lib_dir])
    elif destination is not None and destination.kind == "overlay":
        present = find_distributions([destination.lib_dir])
        names = set(d.name for d in present)
        profile.installed = present + [d for d in profile.installed if d.name not in names]
    return profile


def _build_environment(backend_wheels, folder):
    """Install the bundle's build-backend wheels into a private folder for one build."""
    for wheel in backend_wheels:
        _WheelInstall(wheel, install_scheme(wheel.name, target=folder), False).run()
    return folder


def _build_kept_from_starting(sdist, error):
    """The build-failed error of a build that a limit of the sandbox kept from starting its
    process: the number of processes (EAGAIN), open files, memory. Processes can start here,
    so no other bundle is needed: the same command, once the limit allows it (``remedy``,
    the kind _sandbox_fix phrases the fix from)."""
    import errno
    if error.errno == errno.EAGAIN:
        limit = _resource_limit("RLIMIT_NPROC")
        why = "the limit on this user's processes (RLIMIT_NPROC, `ulimit -u`%s) is reached (%s, " \
              "EAGAIN)" % (": %d" % limit[0] if limit and limit[0] is not None else "",
                           error.strerror or os.strerror(error.errno))
        remedy = "processes"
    else:
        why, remedy = _sandbox_cause(error, os.path.dirname(os.path.abspath(sdist.path)))
    result = BootstrapError("building %s offline could not start its process: %s" % (
        sdist.filename, why), sdist.filename, code="build-failed")
    result.remedy = remedy
    return result


def _build_sdist(sdist, out_dir, backend_wheels=()):
    """Build a wheel from an sdist offline with pip and the build backend: this interpreter's
    own, or the wheels of it that the bundle ships (put on PYTHONPATH for this build only)."""
    import subprocess
    _makedirs(out_dir)
    env = dict(os.environ, PIP_CONFIG_FILE=os.devnull, PIP_NO_INPUT="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    if backend_wheels:
        folder = _build_environment(backend_wheels, os.path.join(out_dir, ".build-env"))
        env["PYTHONPATH"] = os.pathsep.join([folder] + ([env["PYTHONPATH"]]
                                                        if env.get("PYTHONPATH") else []))
    for key in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        env.pop(key, None)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
               "--no-index", "--no-cache-dir", "-w", out_dir, sdist.path]
    try:
        proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, env=env)
    except OSError as error:  # no processes here after all (a capability), or a limit
        if _errno_name(error) in ("EAGAIN", "EMFILE", "ENFILE", "ENOMEM"):
            raise _build_kept_from_starting(sdist, error)
        raise BootstrapError("building %s needs a process, and none can start here (%s): a "
                             "wheel built for this platform is needed" % (sdist.filename, error),
                             sdist.filename, code="build-failed")
    built = [f for f in os.listdir(out_dir) if f.endswith(".whl")
             and canonicalize_name(f.split("-")[0]) == sdist.name]
    if proc.returncode != 0 or not built:
        lines = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
        errors = [line for line in lines if re.search(r"error", line, re.IGNORECASE)
                  and not re.search(r"subprocess-exited-with-error|metadata-generation-failed|"
                                    r"originates from a subprocess", line)]
        tail = (errors or lines)[-3:]
        raise BootstrapError("building %s offline failed: %s" % (sdist.filename, " | ".join(tail)),
                             sdist.filename, code="build-failed")
    path = os.path.join(out_dir, built[0])
    return Wheel(path, WheelName.parse(path))


def _file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class _OutOfTime(Exception):
    """A wheel's extraction was not begun before the time budget ran out: it is skipped."""


class _BudgetedExtraction(object):
    """Extract a chunk of a wheel's members (by ``extract``: an extraction worker's, or None:
    in this thread) unless the time budget has run out (``out_of_time()``) before the wheel's
    first chunk began: a wheel begun is extracted whole, one not begun is skipped (_OutOfTime),
    and the first wheel always begins, so that each run places one package at least. Once
    stopped (the install ends early), no chunk is extracted."""

    def __init__(self, extract, out_of_time):
        import threading
        self.extract = extract
        self.out_of_time = out_of_time
        self.begun = set()  # the staging folders of the wheels begun
        self.lock = threading.Lock()
        self.stopped = False

    def stop(self):
        self.stopped = True

    def __call__(self, installation, chunk):
        if self.stopped:
            raise _OutOfTime("stopped before %s" % installation.wheel.filename)
        with self.lock:
            if installation.staging not in self.begun:
                if self.begun and self.out_of_time():
                    raise _OutOfTime(installation.wheel.filename)
                self.begun.add(installation.staging)
        installation.extract(chunk, extract=self.extract)


def _held_names(installation):
    """The top-level import names a prepared wheel installs into the lib folders; None when it
    installs a .pth file (which can add any name)."""
    names = set()
    for key, relative in installation.targets.values():
        if key not in ("purelib", "platlib"):
            continue
        parts = relative.split("/")
        if len(parts) > 1:
            names.add(parts[0])
        elif relative.endswith(".pth"):
            return None
        elif relative.endswith(".py"):
            names.add(relative[:-3])
        elif _EXTENSION_RE.match(relative):
            names.add(relative.split(".")[0])
    return sorted(n for n in names if n.isidentifier())


_NOTHING_OF_IT = "nothing of it was installed"
_CUT_SHORT = "its commit was cut short, and the next run of bootstrap.py rolls it back"


class _Installer(object):
    """Runs a Plan's installs, in parallel, within a time budget; collects results and problems."""

    def __init__(self, destination, profile, roots, budget, jobs, work, progress=None,
                 bundle_wheels=(), rerun=None, started=None):
        import time
        self.rerun = rerun  # _install_rerun of this install, for the fixes of its problems
        self.unrolled = []  # (problem index, staging) of commits whose rollback failed
        self.stagings = []  # the staging folder of each wheel prepared
        self.bundle_wheels = list(bundle_wheels)
        self.progress = progress or (lambda done, total, name, size: None)
        self.destination = destination
        self.installed_by_name = dict((d.name, d) for d in profile.installed)
        self.build_installed = set(d.name for d in (profile.build_installed
                                                    or profile.installed))
        self.root_names = set(r.key for r in roots)
        # the budget counts from ``started`` (the command's start: reading the uploads too)
        self.deadline = (started or time.monotonic()) + budget if budget else None
        if jobs is not None and jobs < 1:
            raise UsageError("--jobs must be 1 or more, not %s" % jobs, "--jobs")
        self.jobs = jobs or _usable_cores()
        self.owner_index = None
        self.notes = []
        self.work = work
        self.results = []
        self.problems = []
        self.modules = {}
        self.requires = {}
        self.pth_files = []
        self.verifier = None  # a _Verifier that imports the roots as their packages land
        self.held = {}  # {package: top-level names the verifier holds until it is placed}
        self.pool = self.workers = None  # extraction threads, and their worker processes
        self.extraction = None  # what the threads run: a _BudgetedExtraction
        self.warm_stop = None  # a file: once it exists, the warming worker stops

    def _rerun(self):
        return self.rerun or _install_rerun(())

    def _out_of_time(self):
        import time
        return self.deadline is not None and time.monotonic() > self.deadline

    def run(self, candidates):
        wheels = []
        for candidate in candidates:
            wheel = candidate.wheel
            if candidate.sdist is not None:
                try:
                    wheel = _build_sdist(candidate.sdist, os.path.join(self.work, "built"),
                                         self._backend_wheels(candidate.sdist))
                except BootstrapError as error:
                    remedy = getattr(error, "remedy", None)
                    self.problems.append(Problem(
                        error.code, error.subject, error.message, fix=_sandbox_fix(
                            remedy, self._rerun(), parallel=True)
                        if remedy else {"where": "online", "command": "python tools/bundle.py "
                                        "%s==%s --profile sandbox-profile.json -o %s" % (
                                            candidate.name, candidate.version,
                                            FIX_BUNDLE_NAME)}))
                    continue
            wheels.append((candidate, wheel))
        # Largest first, and members (not wheels) shared among the workers: one big wheel's
        # decompression spreads over every core, and small wheels fill the gaps.
        wheels.sort(key=lambda item: -_file_size(item[1].path))
        outcomes = self._install_all(wheels)
        skipped = [c for c, outcome in zip(wheels, outcomes) if outcome == "budget"]
        if skipped:
            self.problems.append(Problem(
                "budget-exhausted", "install",
                "the time budget ran out before %d of %d packages (%s); what is installed is "
                "complete; the same command continues where it stopped" % (
                    len(skipped), len(wheels), _short([c.name for c, _ in skipped])),
                fix={"where": "sandbox", "command": self._rerun()()}))

    def _backend_wheels(self, sdist):
        """The bundle's wheels that provide an sdist's build requirements missing here, with
        their own requirements (wheel needs packaging, ...), newest version of each."""
        best = {}
        for wheel in self.bundle_wheels:
            if wheel.name not in best or wheel.version > best[wheel.name].version:
                best[wheel.name] = wheel
        environment = dict(default_environment(), extra="")
        queue, chosen = list(sdist.requires) + ["wheel", "pip"], {}
        while queue:
            try:
                requirement = _requirement(queue.pop())
                if requirement.marker and not requirement.marker.evaluate(environment):
                    continue
            except (InvalidRequirement, UndefinedComparison, UndefinedEnvironmentName):
                continue
            name = requirement.key
            if name in chosen or name in self.build_installed or name not in best:
                continue
            chosen[name] = best[name]
            try:
                queue.extend(best[name].metadata.requires_dist)
            except BootstrapError:
                continue
        return [chosen[name] for name in sorted(chosen)]

    def _install_all(self, wheels):
        """Prepare each wheel, extract all members on a shared pool (of extraction workers,
        for a large bundle), commit each wheel whole."""
        outcomes = [None] * len(wheels)
        prepared = []
        for index, (candidate, wheel) in enumerate(wheels):
            if prepared and self._out_of_time():  # the first always goes: a rerun progresses
                outcomes[index] = "budget"
                continue
            try:
                prepared.append((index, candidate, _WheelInstall(
                    wheel, self.destination.scheme(candidate.name),
                    candidate.name in self.root_names).prepare()))
            except (BootstrapError, OSError, ValueError, MemoryError) as error:
                outcomes[index] = self._failed(wheel, error, self._replaced(candidate))
        self.stagings = [installation.staging for _, _, installation in prepared]
        self.workers = self._extraction_workers(sum(len(i.members) for _, _, i in prepared))
        self.pool = _extraction_pool(self.jobs)
        self.extraction = _BudgetedExtraction(
            self.workers.extract if self.workers is not None else None, self._out_of_time)
        pending = [(index, candidate, installation, [
            _submit(self.pool, functools.partial(self.extraction, installation), chunk)
            for chunk in installation.chunks()]) for index, candidate, installation in prepared]
        self._start_verifier([(c, i) for _, c, i in prepared])
        for done, (index, candidate, installation, futures) in enumerate(pending, 1):
            outcomes[index] = self._finish_one(candidate, installation, futures)
            self.progress(done, len(pending), candidate.name,
                          _file_size(installation.wheel.path))
        self._roll_back_unrolled()
        if self.verifier is not None and self.workers is not None:
            self._start_warming()
        else:
            self.close()
        return outcomes

    def _start_warming(self):
        """While the verifying interpreter imports the roots, one worker (one: the verifier
        needs a core too) compiles ahead of it what those imports will run, so that more of it
        is warm when the verifier gets there. close() stops it."""
        modules = list(self.verifier.queued)
        if not modules or _cuts_bytecode():
            return
        scheme = self.destination.scheme("")
        folders = sorted(set([scheme.purelib, scheme.platlib]))
        self.warm_stop = os.path.join(self.work, "warm-stop")
        # Its outcome is not waited for: warming only saves time, and an error in it (a
        # module too deep to compile) only ends it early.
        _submit(self.pool, functools.partial(self.workers.warm, modules, folders),
                self.warm_stop)

    def close(self):
        """Stop the warming, end the extraction threads and workers (idempotent). Chunks not
        begun are not extracted (an interrupt, an error: nothing more is placed), so that the
        threads end once those they hold are done."""
        if self.extraction is not None:
            self.extraction.stop()
        if self.warm_stop is not None:
            try:
                with open(self.warm_stop, "w"):
                    pass
            except OSError:  # the warming then runs to its end: a bounded walk
                pass
        pool, workers, self.pool, self.workers = self.pool, self.workers, None, None
        if pool is not None:
            pool.shutdown(wait=True)
        if workers is not None:
            workers.close()

    def _extraction_workers(self, members):
        """_ExtractionWorkers for ``members`` files, where there are enough of them to repay
        starting processes and this interpreter can start them; else None (threads)."""
        if members < _WORKER_MEMBERS or self.jobs < 2 or not _can_start_processes():
            return None
        return _ExtractionWorkers()

    def _start_verifier(self, prepared):
        """Start the verifying interpreter before the first package is placed, holding the
        top-level names of every (candidate, installation) being unpacked; where one installs
        a .pth file (read only at start-up), it starts once every package is placed."""
        if self.verifier is None or not any(c.name in self.root_names for c, _ in prepared):
            return
        held = []
        for candidate, installation in prepared:
            names = _held_names(installation)
            if names is None:
                return
            self.held[candidate.name] = names
            held.extend(names)
        self.verifier.start(held)

    def _placed(self, candidate, modules):
        """Tell the verifier a package is done (placed, or failed: no modules): its names are
        released, and a root's modules queued for import."""
        if self.verifier is not None:
            self.verifier.placed(self.held.pop(candidate.name, ()),
                                 modules if candidate.name in self.root_names else ())

    def _failed(self, wheel, error, kept=None, staging=None):
        """Record why ``wheel`` was not installed (``kept``: the distribution still there;
        ``staging``: its staging folder, whose journal may have begun a commit)."""
        still = ("; %s %s is still installed, as it was" % (kept.name, kept.version)
                 if kept is not None else "")
        cause = _sandbox_cause(error, self.destination.lib_dir)
        if cause is not None:  # the sandbox's doing, never the wheel's: fixed here
            name = _errno_name(error)
            journaled = staging is not None and os.path.isfile(os.path.join(staging, "READY"))
            if journaled:  # its rollback failed too: tried again once no thread holds files
                self.unrolled.append((len(self.problems), staging))
            self.problems.append(Problem(
                "not-writable", wheel.filename, "%s could not be installed: %s; %s%s" % (
                    wheel.filename, cause[0], _CUT_SHORT if journaled else _NOTHING_OF_IT,
                    still),
                fix=_sandbox_fix(cause[1], self._rerun(), self.destination.lib_dir, "target",
                                 True, self.destination.kind != "target"),
                details=dict([("remedy", cause[1])] + ([("errno", name)] if name else []))))
            return "failed"
        if getattr(error, "remedy", None):  # the sandbox stopped reading it: fixed here too
            problem = _problem_from_error(error)
            self.problems.extend(_with_sandbox_fixes([problem._replace(
                message=problem.message + still)], self._rerun(), [self.work], True))
            return "failed"
        if isinstance(error, FileConflict):
            self.problems.append(Problem(
                "file-conflict", wheel.filename, error.message + still, details={
                    "owner": error.owner, "files": error.files[:20]},
                fix={"where": "sandbox", "command": "keep one of the two: pip uninstall -y %s, "
                     "then rerun the same install (or leave %s out of the bundle)" % (
                         error.owner, error.project)}))
            return "failed"
        if isinstance(error, BootstrapError):
            code, message = error.code, error.message
        else:
            code, message = "invalid-wheel", "%s cannot be installed: %s" % (wheel.filename, error)
        self.problems.append(Problem(code if code in PROBLEM_CODES else "invalid-wheel",
                                     wheel.filename, message + still, fix=getattr(
                                         error, "fix", None) or _reupload_fix(wheel.filename)))
        return "failed"

    def _roll_back_unrolled(self):
        """Roll back again the commits whose rollback failed (at the open-file limit, while
        other threads held files): once it succeeds, nothing of that wheel was installed."""
        for index, staging in self.unrolled:
            try:
                rollback_staging(staging)
            except (OSError, BootstrapError):
                continue  # the journal stays: the next run rolls it back, as the problem says
            problem = self.problems[index]
            self.problems[index] = problem._replace(
                message=problem.message.replace(_CUT_SHORT, _NOTHING_OF_IT))
        self.unrolled = []

    def _replaced(self, candidate):
        """The installed distribution an install of ``candidate`` replaces, or None (a
        distribution elsewhere, shadowed by a --target folder, is not replaced)."""
        previous = self.installed_by_name.get(candidate.name)
        if previous is not None and previous.location != self.destination.lib_dir:
            return None
        return previous

    def _owners(self):
        if self.owner_index is None:
            self.owner_index = _owners(self.destination.lib_dir)
        return self.owner_index

    def _finish_one(self, candidate, installation, futures):
        wheel = installation.wheel
        previous = self._replaced(candidate)
        try:
            for future in futures:
                future.result()
            installation.finish(replaces=previous, owners=self._owners)
        except Exception as error:
            for future in futures:  # the wheel's other chunks may still write to its staging
                try:
                    future.result()
                except Exception:
                    pass
            installation.discard()
            if isinstance(error, _OutOfTime):  # not begun before the budget ran out
                self._placed(candidate, ())
                return "budget"
            if not isinstance(error, (BootstrapError, OSError, ValueError, MemoryError)):
                raise
            self._placed(candidate, ())
            return self._failed(wheel, error, kept=previous, staging=installation.staging)
        self.owner_index = None  # the installed files changed
        self.notes.extend(wheel.notes)
        self.modules[candidate.name] = installation.top_level_modules()
        self._placed(candidate, self.modules[candidate.name])
        self.requires[candidate.name] = candidate.requires
        self.pth_files.extend(relative for key, relative, _, _ in installation.installed
                              if key == installation.lib_key and "/" not in relative
                              and relative.endswith(".pth"))
        self.results.append(collections.OrderedDict([
            ("name", candidate.name), ("version", str(candidate.version)),
            ("wheel", wheel.filename), ("location", installation.lib_dir),
            ("replaced", previous.version if previous is not None else None)]))
        return "ok"


_BUDGET_UNVERIFIED_NOTE = (
    "the roots were not imported: the time budget left packages they may need for the same "
    "command, which imports them once every package is in place")


def _check_installed(installer, profile, satisfied=()):
    """(problems, notes) of verifying the roots: those the installer placed, and those
    already installed (``satisfied``: Candidates), so that an install run again over a root
    that does not import never says OK; none without its verifier (--no-verify)."""
    verifier = installer.verifier
    if verifier is None:
        return [], []
    if any(problem.code == "budget-exhausted" for problem in installer.problems):
        verifier.stop()  # the roots' closures are not all in place yet: the next run imports
        return [], [_BUDGET_UNVERIFIED_NOTE]
    modules, requires = dict(installer.modules), dict(installer.requires)
    versions = dict((item["name"], item["version"]) for item in installer.results)
    for candidate in satisfied:
        if candidate.name in installer.root_names and candidate.name not in modules:
            modules[candidate.name] = _installed_modules(installer, candidate)
            requires[candidate.name] = candidate.requires
            versions[candidate.name] = str(candidate.version)
    problems, notes = verify_imports(modules, verifier.extra_path, roots=installer.root_names,
                                     requires=requires, versions=versions, profile=profile,
                                     importer=verifier.results)
    return _with_sandbox_fixes(problems, installer._rerun()), notes


def _installed_modules(installer, candidate):
    """The top-level modules of an installed distribution, from its RECORD ([] without
    one: a distribution that no installer recorded is not verified)."""
    installed = installer.installed_by_name.get(candidate.name)
    location = getattr(installed, "location", None)
    dist_info = location and _installed_dist_info(location, candidate.name, candidate.version)
    if not dist_info:
        return []
    relatives = [os.path.relpath(path, location) for path in _distribution_paths(dist_info)]
    return _top_level_modules([r.replace(os.sep, "/") for r in relatives], location)


def _end_installer(installer):
    """End what an installer started: its verifying interpreter, the warming, the extraction
    workers (each end is idempotent)."""
    if installer.verifier is not None:
        installer.verifier.stop()
    installer.close()


def _unpack_environments(bundles, target):
    """(the other uploads, environments unpacked, their Problems): conda-pack archives among
    the uploads are unpacked as environments, not installed as bundles."""
    others, environments, problems = [], [], []
    for upload in bundles:
        if not _is_conda_pack(upload):
            others.append(upload)
            continue
        try:
            environments.append(unpack_conda_env(upload, target))
        except BootstrapError as error:
            if error.code in ("corrupt-archive", "unsafe-archive-member", "not-writable") or \
                    getattr(error, "remedy", None):
                problems.append(_problem_from_error(error))  # a sandbox's: fixed by install()
                continue
            problems.append(Problem("environment-failed", error.subject, error.message,
                                    fix=getattr(error, "fix", None) or {
                                        "where": "sandbox", "command": "check that %s was "
                                        "packed on a machine like this one (conda-pack -n ENV "
                                        "-o env.tar.gz)" % os.path.basename(upload)}))
    return others, environments, problems


def _install_destination(target, overlay, bundles, work_dir, rerun):
    """(Destination, None) of an install, or (None, the Problem that stops it, whose fix is
    the install, ``rerun``, changed)."""
    destination, problem = choose_destination(overlay or target, bundles, rerun)
    problem = problem or _work_dir_problem(work_dir)
    if problem is None and overlay:
        destination = destination._replace(kind="overlay")
        problem = _claim_overlay(overlay, rerun)
    return (None, problem) if problem is not None else (destination, None)


def _run_installer(installer, plan, verify):
    """Install the plan's candidates; with ``verify``, the roots' imports start beside them."""
    installer.verifier = _Verifier(
        installer.destination.lib_dir if installer.destination.target_dir else None
    ) if verify else None
    try:
        installer.run(plan.install)
    except BaseException:
        _end_installer(installer)
        raise
    return installer


def _make_usable(installer, profile):
    """After the packages are placed: what a fix must keep (the profile it names), no staging
    folder left, and the destination importable in this process."""
    destination = installer.destination
    if installer.results:
        profile.installed_after = _target_profile(destination).installed
    _sweep_staging(destination.lib_dir, installer.stagings)
    if destination.kind == "overlay":
        _mark_overlay(destination.lib_dir)
    if destination.kind in ("overlay", "target"):
        _activate_first(destination.lib_dir)
    else:
        _activate(destination.lib_dir, installer.pth_files)


def _installed_facts(report, installer, profile, environments):
    """Add to an install's report where it went, what it shadows, how to activate it."""
    destination = installer.destination
    report["location"] = destination.lib_dir
    report["shadowed"] = [collections.OrderedDict([
        ("name", d.name), ("version", d.version), ("location", d.location),
        ("by", next(i["version"] for i in installer.results if i["name"] == d.name))])
        for d in profile.installed if d.location != destination.lib_dir
        and any(i["name"] == d.name for i in installer.results)]
    if destination.kind == "target":
        report["activation"] = write_activation(destination.lib_dir)
    if environments:
        report["environments"] = environments
    return report


def install(bundles=None, require=None, target=None, upgrade=False, budget=None, work_dir=None,
            verify=True, jobs=None, progress=None, overlay=None, limits=None,
            max_upload_size=None, max_members=None, max_nesting=None):
    """Check, install, verify imports, report. Returns a Report (installed, problems, ...).

    Without ``bundles``, installs the uploads found by find_uploads(). ``progress`` is a
    callable (done, total, name, bytes); the default shows progress on a terminal or notebook.
    ``max_upload_size``, ``max_members``, ``max_nesting``: the intake limits, as check's.
    """
    import time
    started = time.monotonic()  # where the time budget starts
    bundles = [bundles] if isinstance(bundles, str) else list(bundles or find_uploads())
    limits = _api_limits(limits, max_upload_size, max_members, max_nesting)
    rerun = _install_rerun(bundles, _install_options(require, target, overlay, upgrade, budget,
                                                     work_dir, verify, jobs, limits))
    _load_modules_first(installing=True)
    bundles, environments, problems = _unpack_environments(bundles, target)
    problems = _with_sandbox_fixes(problems, rerun)
    if (environments or problems) and not bundles:
        report = build_report("install", Profile.current(), None, None, problems, [],
                              rerun=rerun, installed=[])
        report["environments"] = environments
        return report
    destination, problem = _install_destination(target, overlay, bundles, work_dir, rerun)
    if problem is not None:
        return build_report("install", Profile.current(), None, None, _with_sandbox_fixes(
            [problem], rerun, [work_dir]), bundles, rerun=rerun)
    _makedirs(destination.lib_dir)
    with _WorkDir(work_dir) as work, _Lock(destination.lib_dir):
        notes = recover_staging(destination.lib_dir, destination.scheme)
        profile, bundle, plan, found, verdicts, sdists = plan_bundle(
            bundles, work, require, _target_profile(destination), upgrade,
            shadow=destination.lib_dir if destination.kind == "target" else None, limits=limits)
        problems = _with_sandbox_fixes(found, rerun, [work]) + problems
        if any(p.code in _INPUT_PROBLEMS for p in problems):
            return build_report("install", profile, bundle, plan, problems, bundles, verdicts,
                                sdists, rerun=rerun,
                                notes=notes + ["nothing was installed: fix the uploads"])
        installer = _run_installer(_Installer(
            destination, profile, [Requirement(r) for r in plan.roots], budget, jobs, work,
            progress or Progress(), getattr(plan, "wheels", ()), rerun, started), plan, verify)
        try:
            _make_usable(installer, profile)
            checked, verify_notes = _check_installed(installer, profile, plan.satisfied)
        finally:  # also on an error or a KeyboardInterrupt: the children end with it
            _end_installer(installer)
        if installer.results and _cuts_bytecode():
            verify_notes.append(_CUT_BYTECODE_NOTE)
        problems += installer.problems + checked + _restart_needed(installer.results,
                                                                   installer.modules)
        report = build_report("install", profile, bundle, plan, problems, bundles, verdicts,
                              sdists, rerun=rerun, notes=notes + installer.notes + verify_notes,
                              installed=installer.results)
    return _installed_facts(report, installer, profile, environments)


# == 14. Entry points: the command line, the API, notebooks, MCP (I/O) ========================
# -- Where the user is: the CLI, a notebook, a tool call ---------------------------------------
# Steps and sandbox fixes name the CLI command they need (`python bootstrap.py install ...`);
# a notebook shows the same step as the Python call (`bootstrap.install([...])`), a tool
# result as the tool call (`sandbox_install with arguments {...}`). Reports are phrased so by
# the Phrasing that the end of this file gives Report (_phrase_command).


def _phrase_command(arguments, place):
    """The CLI command `python bootstrap.py ARGUMENTS` as it reads at ``place`` ("cli",
    "notebook" or "tool"): the call there, else the shell command (see Phrasing)."""
    call = _as_call(arguments, place) if place != "cli" else None
    return call or "%s %s" % (_cli_command(), arguments)

def _as_call(command, place):
    """`check`/`install` command-line arguments as a Python call or a tool call, or None."""
    import shlex
    try:
        words = shlex.split(command)
        args = _build_parser(words[0] if words else None).parse_args(words)
    except (ValueError, BootstrapError, _ParserExit):
        return None
    if args.command not in ("check", "install"):
        return None
    keywords = collections.OrderedDict(
        (key, getattr(args, key, None)) for key in ("require", "profile", "target", "overlay",
                                                   "budget", "jobs", "work_dir",
                                                   "max_upload_size", "max_members",
                                                   "max_nesting"))
    keywords["upgrade"] = args.upgrade or None
    keywords["verify"] = False if getattr(args, "no_verify", False) else None
    keywords = collections.OrderedDict((k, v) for k, v in keywords.items() if v is not None)
    if place == "tool":
        name = "sandbox_" + args.command
        schema = dict((n, s) for n, _, s in TOOLS)[name]
        arguments = collections.OrderedDict([("bundles", args.bundles)] if args.bundles else [])
        arguments.update(keywords)
        if any(key not in schema["properties"] for key in arguments):
            return None
        return "%s with arguments %s" % (name, json.dumps(arguments))
    return "bootstrap.%s(%s)" % (args.command, ", ".join(
        [repr(list(args.bundles))] + ["%s=%r" % item for item in keywords.items()]))


# -- Command line -----------------------------------------------------------------------------


class _ParserExit(Exception):
    """--help or --version was answered: main() returns ``status`` (no SystemExit, for %run)."""

    def __init__(self, status):
        Exception.__init__(self, status)
        self.status = status


class _ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of exiting the process: UsageError for a mistake,
    _ParserExit after --help and --version."""

    def error(self, message):
        raise UsageError(message)

    def exit(self, status=0, message=None):
        if message:
            sys.stderr.write(message)
        raise _ParserExit(status)


def _build_parser(command=None):
    """The command line's parser. With ``command`` (one of _COMMANDS, the first argument), only
    that command's sub-parser is built: argparse sets up every argument and help formatter
    when it is added, a few milliseconds of a short command such as `inspect`; what it parses
    and the messages it gives are the same."""
    installed = os.path.basename((getattr(sys, "argv", None) or [""])[0] or "").startswith(
        "sandbox-bootstrap")  # the console script of an installed wheel
    parser = _ArgumentParser(
        prog="sandbox-bootstrap" if installed else "bootstrap.py",
        description="Install Python packages into a sandbox that has no internet.")
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for name, help_text, add_arguments in _COMMAND_PARSERS:
        if command not in _COMMANDS or command == name:
            add_arguments(commands.add_parser(name, help=help_text))
    return parser


def _inspect_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print the profile as JSON")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the profile as JSON to FILE")


def _check_arguments(parser):
    _add_bundle_arguments(parser)
    parser.add_argument("--profile", metavar="FILE",
                        help="judge for the interpreter this profile describes")


def _install_arguments(parser):
    _add_bundle_arguments(parser)
    parser.add_argument("--target", metavar="DIR",
                        help="install into DIR instead of this interpreter's site-packages")
    parser.add_argument("--overlay", metavar="DIR",
                        help="install into a layer at DIR that takes precedence over the base "
                             "(made active in this interpreter)")
    parser.add_argument("--budget", type=float, metavar="SECONDS",
                        help="stop cleanly between packages after this long; a rerun continues")
    parser.add_argument("--jobs", type=int, metavar="N",
                        help="workers that unpack wheels: processes for a large install, else "
                             "threads (default: the usable cores, at most 4)")
    parser.add_argument("--no-verify", action="store_true",
                        help="only unpack: do not import the roots in a fresh interpreter "
                             "(nor write their bytecode)")


def _tool_schema_arguments(parser):
    parser.add_argument("--format", choices=["openai", "responses", "mcp"], default="openai",
                        help="openai: Chat Completions functions; responses: the Responses "
                             "API's function tools; mcp: MCP tools")


def _overlay_arguments(parser):
    parser.add_argument("--reset", metavar="DIR", required=True,
                        help="discard the overlay at DIR; the base stays as it was")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--report", metavar="FILE", help="also write the JSON report")


#: The commands in the order --help lists them: (name, help, function adding its arguments).
_COMMAND_PARSERS = (
    ("inspect", "describe this interpreter (its profile)", _inspect_arguments),
    ("check", "dry run: which wheels fit, what would be installed, what is missing",
     _check_arguments),
    ("install", "check, install, verify imports, report", _install_arguments),
    ("tool-schema", "print the tool definitions for LLM function calling",
     _tool_schema_arguments),
    ("mcp", "serve the tools over MCP (JSON-RPC on stdin/stdout)", lambda parser: None),
    ("overlay", "manage an overlay made by --overlay", _overlay_arguments),
)


def _add_bundle_arguments(parser):
    parser.add_argument("bundles", nargs="*" if parser.prog.endswith("install") else "+",
                        metavar="BUNDLE",
                        help="archives, folders, wheels or split parts that were uploaded")
    parser.add_argument("--require", action="append", metavar="REQ",
                        help="a root requirement (PEP 508); repeatable. Default: the bundle "
                             "manifest's roots, else the projects in the uploads that no "
                             "other project in them requires")
    parser.add_argument("--upgrade", action="store_true",
                        help="allow replacing preinstalled packages (never when that breaks one)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--report", metavar="FILE", help="also write the JSON report to FILE")
    parser.add_argument("--work-dir", metavar="DIR",
                        help="where uploads are extracted (default: a temporary folder)")
    parser.add_argument("--max-upload-size", type=_parse_size, metavar="SIZE",
                        help="the most one upload may expand to, nested archives included "
                             "(default 8G, and 200 times its own size past 64M)")
    parser.add_argument("--max-members", type=int, metavar="N",
                        help="the most files, folders and links one upload may hold "
                             "(default %d)" % DEFAULT_LIMITS.max_members)
    parser.add_argument("--max-nesting", type=int, metavar="N",
                        help="how deep archives may nest in an upload (default %d)"
                             % DEFAULT_LIMITS.max_depth)


def _write_file(path, text):
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError as error:
        raise UsageError("cannot write %s: %s" % (path, error.strerror or error), path)


def _command_inspect(args, out):
    profile = Profile.current()
    data = profile.to_json()
    if args.output:
        _write_file(args.output, _dump_json(data))
    if args.json:
        out.write(_dump_json(data))
    else:
        out.write(render_profile(profile, _bundle_tool()) + "\n")
        if args.output:
            out.write("Profile written to %s; pass it as --profile %s\n"
                      % (args.output, args.output))
    return 0


def _emit_report(report, args, out):
    if args.report:
        _write_file(args.report, _dump_json(report))
    if args.json:
        out.write(_dump_json(report))
    elif out is sys.stdout and _in_ipython():  # %run: displayed, rendered for a notebook
        _show(report)
    else:
        out.write(render_report(report) + "\n")
    return report.exit_code


def _limits_of(args):
    """The intake limits of the command line's arguments."""
    return _intake_limits(args.max_upload_size, args.max_members, args.max_nesting)


def _command_check(args, out):
    report = check(args.bundles, require=args.require, profile=args.profile,
                   upgrade=args.upgrade, work_dir=args.work_dir, limits=_limits_of(args))
    return _emit_report(report, args, out)


def _command_install(args, out):
    report = install(args.bundles, require=args.require, target=args.target,
                     upgrade=args.upgrade, budget=args.budget, work_dir=args.work_dir,
                     verify=not args.no_verify, jobs=args.jobs,
                     progress=Progress(quiet=args.json), overlay=args.overlay,
                     limits=_limits_of(args))
    return _emit_report(report, args, out)


def _command_overlay(args, out):
    report = reset_overlay(args.reset)
    if args.report:
        _write_file(args.report, _dump_json(report))
    out.write(_dump_json(report) if args.json else "overlay %s removed; this interpreter is "
              "back to its base\n" % report["removed"])
    return 0


def _command_tool_schema(args, out):
    out.write(_dump_json(tool_schemas(args.format)))
    return 0


def _command_mcp(args, out):
    return serve_mcp()


_COMMANDS = {"inspect": _command_inspect, "check": _command_check, "install": _command_install,
             "tool-schema": _command_tool_schema, "mcp": _command_mcp,
             "overlay": _command_overlay}


def _implied_command(argv):
    """The arguments with their command made explicit: a first argument that is an upload
    (an existing file or folder, or a name like one) means `install`; none at all is None."""
    if not argv:
        return None
    first = argv[0]
    if first in _COMMANDS or first.startswith("-"):
        return argv
    if os.path.exists(first) or first.endswith(ARCHIVE_SUFFIXES + (".whl",)) \
            or _split_part(os.path.basename(first)):
        return ["install"] + argv
    return argv


def main(argv=None, out=None, err=None):
    """Run one command; returns the exit code (0 ok, 1 missing or failed, 2 usage or input)."""
    out = out or sys.stdout
    err = err or sys.stderr
    if argv is None:
        argv = sys.argv[1:]
    argv = _implied_command(list(argv))
    if argv is None:  # no argument at all: what the exec cell does
        result = notebook_run()
        return 1 if result is None else result.exit_code
    args = None
    try:
        args = _build_parser(argv[0] if argv else None).parse_args(argv)
        return _COMMANDS[args.command](args, out)
    except _ParserExit as stop:
        return stop.status
    except BootstrapError as error:
        err.write("bootstrap.py: error: %s\n" % error)
        return 2
    except KeyboardInterrupt:
        err.write("bootstrap.py: interrupted\n")
        return 1
    except Exception as error:  # bootstrap's own bug (or a limit): reported, exit code 1
        if isinstance(error, MemoryError):  # let go of the frames of what ran out of memory
            error.__traceback__ = error.__context__ = error.__cause__ = None
        rerun, parallel = _rerun_command(argv), bool(args and args.command == "install")
        try:
            problem = _limit_problem(error, rerun, parallel) or internal_problem(error)
        except MemoryError as tight:  # describing a bug (its traceback) took more memory
            problem = _limit_problem(tight, rerun, parallel)
        if args is not None and args.command in ("check", "install"):
            return _emit_report(_bug_report(args.command, problem), args, out)
        err.write("bootstrap.py: error: %s\n%s" % (problem.message,
                                                   problem.details.get("traceback", "")))
        return 1


def _bug_report(command, problem):
    """The Report of a check or install that met bootstrap's own bug (``problem``)."""
    try:
        target = Profile.current().target_tag
    except Exception:  # the bug may be in the profile itself
        target = "unknown-unknown-unknown"
    return error_report(command, problem, target)


# -- The Python API ---------------------------------------------------------------------------


def inspect():
    """This interpreter's profile (sandbox-bootstrap.profile/1) as a ProfileReport."""
    report = ProfileReport(Profile.current().to_json())
    report.tool = _bundle_tool()
    return report


# -- Showing a report in a notebook -----------------------------------------------------------


def _show(report):
    """Display a report: rendered in a notebook, as short text elsewhere."""
    if _in_ipython():
        try:
            from IPython.display import display
            display(report)
            return
        except Exception:
            pass
    sys.stdout.write(str(report) + "\n")


# -- Notebook cells: exec(open('bootstrap.py').read()) -----------------------------------------


def _write_profile_for_upload():
    """Write sandbox-profile.json where uploads go; returns its path (or None)."""
    folder = "/mnt/data" if os.path.isdir("/mnt/data") else os.getcwd()
    path = os.path.join(folder, "sandbox-profile.json")
    try:
        with open(path, "w") as f:
            f.write(_dump_json(Profile.current().to_json()))
    except OSError:
        return None
    return path


def notebook_run():
    """What a notebook cell that exec()s this file does: install the uploads found, or, with
    none, describe this interpreter and say how to build a bundle for it. Never raises."""
    uploads = None
    try:
        uploads = find_uploads()
        if uploads:
            report = install(uploads)
            report.found_uploads = True  # "next" steps may say: re-run the cell
            _show(report)
            return report
        profile = inspect()
        path = _write_profile_for_upload()
        _show(profile)
        sys.stdout.write(
            "No bundle found in %s.\nUpload %s to a machine with internet and run: %s; then "
            "upload bundle.tar.gz here and %s.\n" % (
                " or ".join(upload_folders()) or "the current folder", path or "the profile",
                _bundle_command(os.path.basename(path) if path else profile["target"]),
                "run this cell again" if _in_ipython() else "run %s again" % _cli_command()))
        return profile
    except BootstrapError as error:
        sys.stdout.write("bootstrap.py: %s\n" % error)
    except Exception as error:  # never take the kernel down: a bug is shown as one
        if not uploads:
            _unexpected(error)
            return None
        report = _bug_report("install", internal_problem(error))
        _show(report)
        return report
    return None


def _cli_command():
    """How a shell runs this file: the console script, or python bootstrap.py."""
    prog = _build_parser().prog
    return prog if prog == "sandbox-bootstrap" else "python " + prog


def _unexpected(error):
    """Say in one line that something unexpected happened; keep the traceback for a report."""
    import traceback
    sys.stdout.write("bootstrap.py: unexpected %s: %s (the traceback is in "
                     "bootstrap.last_traceback)\n" % (type(error).__name__, error))
    sys.modules[__name__].last_traceback = traceback.format_exc()


def _as_module(namespace, code):
    """This file's code (``code``, the running module's) run again in a real module named
    `bootstrap`, registered in sys.modules: the one object a notebook is left with."""
    import types
    module = types.ModuleType("bootstrap", namespace.get("__doc__"))
    if namespace.get("__file__"):
        module.__file__ = namespace["__file__"]
    exec(code, module.__dict__)
    sys.modules["bootstrap"] = module
    return module


def _give_back(namespace, before, module):
    """The caller's namespace as it was ``before`` this file ran, plus `bootstrap`."""
    for name in list(namespace):
        if name not in before:
            del namespace[name]
        elif namespace[name] is not before[name]:
            namespace[name] = before[name]
    namespace["bootstrap"] = module


def _notebook_exec(namespace, before):
    """Run this file's code again as a real module, give the caller's namespace back as it
    was, and bind `bootstrap` there: the only new name a notebook cell is left with."""
    module = _as_module(namespace, sys._getframe(1).f_code)
    _give_back(namespace, before, module)
    module.notebook_run()


def _ipython_run(namespace, before=None):
    """`%run bootstrap.py [ARGS]` in IPython: main() on %run's sys.argv, in a real `bootstrap`
    module; never SystemExit. %run copies the script's namespace into the user's when the
    script ends, so that namespace is left holding `bootstrap` alone; `%run -i` runs the
    script in the user's own namespace (``before`` is it as it was), which is given back."""
    module = _as_module(namespace, sys._getframe(1).f_code)
    if before is not None:
        _give_back(namespace, before, module)
    else:
        namespace.clear()  # no global of this function is looked up after this line
        namespace["bootstrap"] = module
    try:
        module.main()
    except Exception as error:  # a bug: one line, the traceback kept, the kernel unharmed
        module._unexpected(error)


# -- Tools for LLM agents: schemas and an MCP server over stdio ---------------------------------

_FIX_HELP = ("Read `status` (ok | partial | failed) and `problems`: each problem has a stable "
             "`code`, a `message`, and a `fix` whose `where` says where to act ('sandbox': do "
             "`command` here, often a call of one of these tools with the arguments shown; "
             "'online': the sandbox has no internet, so tell the user to run `command` on a "
             "machine with internet and upload the result). `next_steps` lists what to do, in "
             "order; `blocked_roots` names the requested projects that were not installed.")

_STRINGS = {"type": "array", "items": {"type": "string"}}

#: What sandbox_check and sandbox_install return (structuredContent): the report's stable core.
REPORT_OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "schema": {"const": REPORT_SCHEMA},
        "command": {"enum": ["check", "install"]},
        "status": {"enum": ["ok", "partial", "failed"]},
        "target": {"type": "string"},
        "roots": _STRINGS,
        "blocked_roots": _STRINGS,
        "would_install": {"type": "array", "items": {"type": "object"}},
        "installed": {"type": "array", "items": {"type": "object"}},
        "satisfied": {"type": "array", "items": {"type": "object"}},
        "problems": {"type": "array", "items": {
            "type": "object", "required": ["code", "subject", "message", "fix"],
            "properties": {"code": {"type": "string"}, "subject": {"type": "string"},
                           "message": {"type": "string"},
                           "fix": {"type": ["object", "null"]}}}},
        "fix": {"type": ["object", "null"]},
        "next_steps": _STRINGS,
        "notes": _STRINGS},
    "required": ["schema", "command", "status", "target", "roots", "problems", "next_steps"]}

#: What sandbox_inspect returns: a profile.
PROFILE_OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "schema": {"const": PROFILE_SCHEMA},
        "target": {"type": "string"},
        "marker_environment": {"type": "object", "additionalProperties": {"type": "string"}},
        "compatible_tags": _STRINGS,
        "paths": {"type": "object"},
        "installed": {"type": "array", "items": {"type": "object"}}},
    "required": ["schema", "target", "marker_environment", "compatible_tags"]}

#: The intake limits a tool call may raise, as --max-upload-size, --max-members and
#: --max-nesting do (only for an upload the caller trusts: they keep decompression bombs out).
_INTAKE_PROPERTIES = [
    ("max_upload_size", {"type": "integer", "exclusiveMinimum": 0,
                         "description": "bytes an upload may expand to (only if trusted)"}),
    ("max_members", {"type": "integer", "exclusiveMinimum": 0,
                     "description": "files an upload may hold (only if trusted)"}),
    ("max_nesting", {"type": "integer", "exclusiveMinimum": 0,
                     "description": "how deep archives may nest in an upload (only if trusted)"})]


def _with_intake_limits(properties):
    """A tool's ``properties``, then the intake limits it takes."""
    return collections.OrderedDict(list(properties.items()) + _INTAKE_PROPERTIES)


TOOLS = [
    ("sandbox_inspect",
     "Describe this Python interpreter: version, platform, libc, wheel tags, where packages "
     "install and whether that is writable, pip, and installed distributions. Call it first, "
     "when a package is missing, to learn the one-line `target` a bundle must be built for.",
     {"type": "object", "properties": {}, "additionalProperties": False}),
    ("sandbox_check",
     "Dry run on uploaded bundles (wheels, archives, folders): which wheels fit this "
     "interpreter and why not, what would be installed, and what is missing, without "
     "installing anything. " + _FIX_HELP,
     {"type": "object", "properties": _with_intake_limits({
         "bundles": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                     "description": "paths of uploaded archives, wheels or folders"},
         "require": {"type": "array", "items": {"type": "string"},
                     "description": "root requirements (PEP 508); default: the bundle's"},
         "profile": {"type": "string",
                     "description": "a profile JSON file to judge for another interpreter"}}),
      "required": ["bundles"], "additionalProperties": False}),
    ("sandbox_install",
     "Install uploaded bundles offline into this interpreter (or `target`), verify that the "
     "new modules import, and report. With no `bundles`, uses the uploads found in /mnt/data, "
     "the notebook's folder and the current folder. Never upgrades a preinstalled package "
     "unless `upgrade` is true. " + _FIX_HELP,
     {"type": "object", "properties": _with_intake_limits({
         "bundles": {"type": "array", "items": {"type": "string"},
                     "description": "paths of uploaded archives, wheels or folders"},
         "require": {"type": "array", "items": {"type": "string"},
                     "description": "root requirements (PEP 508); default: the bundle's"},
         "target": {"type": "string", "description": "install into this folder instead"},
         "upgrade": {"type": "boolean", "description": "allow replacing preinstalled packages"},
         "budget": {"type": "number", "exclusiveMinimum": 0,
                    "description": "seconds; stops cleanly between packages, rerun continues"}}),
      "additionalProperties": False}),
]

#: MCP tool annotations (hints for clients that ask before running a tool).
TOOL_ANNOTATIONS = {
    "sandbox_inspect": {"title": "Describe this Python", "readOnlyHint": True,
                        "openWorldHint": False},
    "sandbox_check": {"title": "Check uploaded bundles", "readOnlyHint": True,
                      "openWorldHint": False},
    "sandbox_install": {"title": "Install uploaded bundles", "readOnlyHint": False,
                        "destructiveHint": True, "idempotentHint": True,
                        "openWorldHint": False},
}


def _output_schema(name):
    return PROFILE_OUTPUT_SCHEMA if name == "sandbox_inspect" else REPORT_OUTPUT_SCHEMA


def _strict_schema(schema):
    """The schema in the form OpenAI's strict mode takes (every property required, an
    optional one nullable; no other keys), or None when it cannot be put so."""
    if schema.get("additionalProperties") is not False or any(
            isinstance(p.get("type"), list) or p.get("type") == "object"
            for p in schema["properties"].values()):
        return None
    required = set(schema.get("required", ()))
    properties = collections.OrderedDict()
    for key, value in schema["properties"].items():
        value = dict(value)
        if key not in required:
            value["type"] = [value["type"], "null"]
        properties[key] = value
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}


def tool_schemas(format="openai"):
    """The tool definitions: OpenAI Chat Completions function calling ("openai"), the
    Responses API's function tools ("responses", strict where the schema allows), or MCP's
    ("mcp", with outputSchema and annotations)."""
    if format == "mcp":
        return [{"name": name, "title": TOOL_ANNOTATIONS[name]["title"],
                 "description": description, "inputSchema": schema,
                 "outputSchema": _output_schema(name), "annotations": TOOL_ANNOTATIONS[name]}
                for name, description, schema in TOOLS]
    if format == "responses":
        tools = []
        for name, description, schema in TOOLS:
            strict = _strict_schema(schema)
            tools.append({"type": "function", "name": name, "description": description,
                          "parameters": strict or schema, "strict": strict is not None})
        return tools
    return [{"type": "function", "function": {"name": name, "description": description,
                                              "parameters": schema}}
            for name, description, schema in TOOLS]


def call_tool(name, arguments):
    """Run one tool by name with JSON arguments; returns a Report whose next steps and fixes
    name tool calls. Bad input raises UsageError; a null argument counts as left out (the
    strict Responses shape sends null for what the caller leaves out)."""
    schemas = dict((n, s) for n, _, s in TOOLS)
    if name not in schemas:
        raise UsageError("unknown tool %r" % (name,), name)
    if arguments is not None and not isinstance(arguments, dict):
        raise UsageError("%s: arguments must be an object" % name, name)
    arguments = dict((k, v) for k, v in (arguments or {}).items() if v is not None)
    _validate_arguments(name, schemas[name], arguments)
    if name == "sandbox_inspect":
        return inspect()
    if name == "sandbox_check":
        report = check(arguments["bundles"], require=arguments.get("require"),
                       profile=arguments.get("profile"), **_intake_arguments(arguments))
    else:
        report = install(arguments.get("bundles") or find_uploads(),
                         require=arguments.get("require"), target=arguments.get("target"),
                         upgrade=bool(arguments.get("upgrade")), budget=arguments.get("budget"),
                         progress=Progress(quiet=True), **_intake_arguments(arguments))
    return _phrase_report(report, "tool")


def _intake_arguments(arguments):
    """The intake limits a tool call gives, as check()'s and install()'s keywords."""
    return dict((name, arguments[name]) for name, _ in _INTAKE_PROPERTIES if name in arguments)


def _validate_arguments(name, schema, arguments):
    """Check arguments against the (small) schemas above; every mistake in one error."""
    problems = []
    properties = schema.get("properties", {})
    for key in schema.get("required", ()):
        if key not in arguments:
            problems.append("%s is required" % key)
    kinds = {"string": str, "boolean": bool, "number": (int, float), "integer": int,
             "array": list}
    for key, value in arguments.items():
        if key not in properties:
            problems.append("unknown argument %s (this tool takes: %s)" % (
                key, ", ".join(properties) or "no arguments"))
            continue
        expected = properties[key]["type"]
        if not isinstance(value, kinds[expected]) or (expected in ("number", "integer")
                                                      and isinstance(value, bool)):
            problems.append("%s must be %s %s" % (key, "an" if expected[0] in "aeiou" else "a",
                                                   expected))
        elif expected == "array" and not all(isinstance(v, str) for v in value):
            problems.append("%s must be a list of strings" % key)
        elif expected == "array" and len(value) < properties[key].get("minItems", 0):
            problems.append("%s must not be empty" % key)
        elif expected in ("number", "integer") and value <= properties[key].get(
                "exclusiveMinimum", value - 1):
            problems.append("%s must be positive" % key)
    if problems:
        raise UsageError("%s: %s" % (name, "; ".join(problems)), name)


#: The protocol revisions this server speaks (all through the initialize handshake), newest
#: last; a client asking for another gets the newest (the MCP lifecycle's negotiation).
MCP_PROTOCOL_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
MCP_PROTOCOL_VERSION = MCP_PROTOCOL_VERSIONS[-1]


def _mcp_response(message_id, result=None, error=None):
    response = {"jsonrpc": "2.0", "id": message_id}
    if error is not None:
        response["error"] = error
    else:
        response["result"] = result
    return response


def _mcp_tool_result(report=None, error=None):
    """A tools/call result: the report as text and as structuredContent, or a tool error
    (isError, the message as text) that the model reads and can correct."""
    if error is not None:
        return {"content": [{"type": "text", "text": error}], "isError": True}
    return {"content": [{"type": "text", "text": json.dumps(report, indent=1)}],
            "structuredContent": dict(report), "isError": not report.ok}


def _mcp_call(params):
    """(result, error) of a tools/call: an unknown tool is a protocol error (-32602); bad
    arguments and failures are tool results with isError."""
    if not isinstance(params.get("name"), str):
        return None, {"code": -32602, "message": "params.name is required"}
    if params["name"] not in [name for name, _, _ in TOOLS]:
        return None, {"code": -32602, "message": "Unknown tool: %s" % params["name"]}
    try:
        return _mcp_tool_result(call_tool(params["name"], params.get("arguments"))), None
    except BootstrapError as error:
        return _mcp_tool_result(error="%s (the arguments this tool takes are in its "
                                "inputSchema)" % error if isinstance(error, UsageError)
                                else str(error)), None
    except Exception as error:  # bootstrap's own bug: a report saying so, isError
        problem = internal_problem(error)
        if params["name"] == "sandbox_inspect":
            return _mcp_tool_result(error=problem.message), None
        return _mcp_tool_result(_phrase_report(_bug_report(
            params["name"][len("sandbox_"):], problem), "tool")), None


def _mcp_handle(message):
    """The response to one JSON-RPC message (None for a notification)."""
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" or not isinstance(
            message.get("method"), str):
        return _mcp_response(message.get("id") if isinstance(message, dict) else None,
                             error={"code": -32600, "message": "Invalid Request"})
    method, message_id = message["method"], message.get("id")
    params = message.get("params")
    if "id" not in message:
        return None  # notifications (initialized, cancelled, ...) get no answer
    if params is None:
        params = {}
    elif not isinstance(params, dict):
        return _mcp_response(message_id, error={"code": -32602,
                                                "message": "params must be an object"})
    if method == "initialize":
        asked = params.get("protocolVersion")
        return _mcp_response(message_id, {
            "protocolVersion": asked if asked in MCP_PROTOCOL_VERSIONS else MCP_PROTOCOL_VERSION,
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": "sandbox-bootstrap", "version": __version__},
            "instructions": "Install Python packages offline from uploaded bundles. " + _FIX_HELP})
    if method == "ping":
        return _mcp_response(message_id, {})
    if method == "tools/list":
        return _mcp_response(message_id, {"tools": tool_schemas("mcp")})
    if method == "tools/call":
        result, error = _mcp_call(params)
        return _mcp_response(message_id, result, error)
    return _mcp_response(message_id, error={"code": -32601, "message": "Method not found: %s"
                                            % method})


def serve_mcp(stdin=None, stdout=None):
    """An MCP server over stdio: one JSON-RPC message per line, until stdin closes. Nothing
    but protocol messages goes to stdout; anything else printed goes to stderr."""
    stdin = stdin or sys.stdin
    saved_fd = None
    if stdout is None:
        try:  # the protocol keeps descriptor 1; anything else writing to it goes to stderr
            sys.stdout.flush()
            saved_fd = os.dup(1)
            os.dup2(2, 1)
            stdout = os.fdopen(os.dup(saved_fd), "w")
        except (OSError, AttributeError, ValueError):
            saved_fd, stdout = None, sys.stdout
    real_stdout, sys.stdout = sys.stdout, sys.stderr
    try:
        for line in stdin:
            line = line.strip()
            if not line:
                continue
            try:
                message = json.loads(line)
            except ValueError:
                response = _mcp_response(None, error={"code": -32700, "message": "Parse error"})
            else:
                try:
                    response = _mcp_handle(message)
                except Exception as error:  # a bug must not end the session
                    response = _mcp_response(message.get("id") if isinstance(message, dict)
                                             else None,
                                             error={"code": -32603, "message": "Internal error: "
                                                    "%s: %s" % (type(error).__name__, error)})
            if response is not None:
                stdout.write(json.dumps(response) + "\n")
                stdout.flush()
    finally:
        sys.stdout = real_stdout
        if saved_fd is not None:
            stdout.close()
            os.dup2(saved_fd, 1)
            os.close(saved_fd)
    return 0


# == 15. main (I/O) ===========================================================================
# -- Entry points: API, notebooks, agents -----------------------------------------------------
#
# The ways bootstrap.py is started (SPEC 2.1): `python bootstrap.py ...` (main), `%run` in
# IPython (main, but never SystemExit), exec(open(...).read()) in a kernel cell (the end of this
# file), `import bootstrap` (the functions below), and an LLM agent (tool-schema, mcp).


# The one piece of wiring: reports (wherever they are shown, also what bootstrap.check()
# returns in a notebook) phrase their commands as the entry points above know them. The
# report model cannot look them up itself: it comes before every entry point.
Report.phrasing = Phrasing("cli", _phrase_command)

if __name__ == "__main__" and _CALLER_NAMESPACE is None:
    if _in_ipython():
        _ipython_run(globals())  # %run: the report is displayed; never SystemExit
    else:
        sys.exit(main())
elif __name__ == "__main__" and _CALLER_NAMESPACE is not None:
    if "__file__" in _CALLER_NAMESPACE and _in_ipython() and not \
            sys._getframe(0).f_code.co_filename.startswith("<"):
        _ipython_run(globals(), _CALLER_NAMESPACE)  # %run -i: in the user's own namespace
    else:
        _notebook_exec(globals(), _CALLER_NAMESPACE)

