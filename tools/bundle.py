#!/usr/bin/env python3
"""Build a bundle for a sandbox's profile, verified with bootstrap.py before it is written.

    python tools/bundle.py REQ... [-r requirements.txt] --profile (FILE | TARGET | PRESET)
                           -o bundle.tar.gz [--max-part-size 500M] [--force]
                           [--target TARGET] [--can-compile] [--no-pip]
                           [--installed NAME==VERSION ...] [--reinstall NAME ...]
                           [-i URL] [--extra-index-url URL] [-f URL] [--no-index]
                           [--trusted-host HOST]

It resolves for the TARGET's marker environment and tags, not this machine's: pip's own
backtracking resolver runs as if in the sandbox (tools/pip_target.py, tools/fetch.py), with
the profile's installed distributions kept (pinned first; replaced only when nothing else
works, and then the output says that installing needs --upgrade and what it replaces). One
pip run per round (the first in this process, see tools/fetch.py). sdist-only projects become
wheels when they are pure Python; otherwise the sdist ships with its build backend's wheels
when the target can compile (or when its build cannot run on this interpreter at all), or the
build stops and says it must happen on a matching machine. With a profile that lists
installed distributions, only what the sandbox lacks is shipped. With a Pyodide profile,
Pyodide's own packages (``sandbox.pyodide.packages``, its pyodide-lock.json) count as
installed at the lock's version and are never shipped; the output and the manifest's notes
give the one micropip line that loads those the bundle needs.

The fix commands of bootstrap.py's reports name the profile file the sandbox wrote, with
--target as the fallback when that file is not here, and the facts a build depends on
(--can-compile, --no-pip, --installed) given in the command. ``--reinstall NAME`` (a report's
fix for an installed package that does not import: its build does not fit the sandbox) ships
NAME although the profile lists it installed, and the manifest says so: the sandbox's next
install replaces the installed build of that same version.

Requirements files are read with pip's own parser (pip-requirements-parser): ``-r`` and
``-c`` files are followed, backslash continuations joined, URLs keep their ``#`` fragment, and
``--hash`` values (pip-compile --generate-hashes) are checked against every shipped file, as
pip's hash-checking mode does; a constraint limits a project the closure needs, never adds one.
Index options (``--index-url``, ``--extra-index-url``, ``--find-links``, ``--no-index``,
``--trusted-host``), in the files or on the command line, combine as pip combines them and are
given to every pip process the builder runs (resolving, downloading, building sdists), so a
file compiled against a private index is fetched from that index, not from PyPI.

When it stops, every command it prints runs as printed in the folder it ran in and keeps every
option of the run (rerun_command): the same run with --force (write a bundle the check refuses),
with --can-compile, or with --find-links to the folder of wheels that the printed ``pip wheel``
(with the run's index options) built on a machine matching the target. The check's own fix is
not shown: it is a sandbox's, and would run this tool again without the run's options.

When the target already has every requirement (installed, or among Pyodide's packages),
nothing ships: the output says so, and the bundle written holds no file, only its manifest
(roots, target), so that the sandbox's install of it says that they are already satisfied there
(after the micropip line, for Pyodide's) rather than the builder leaving no file behind.

Exit codes: 0 written (also when nothing ships); 1 the bundle would not install, or a file
breaks a --hash (nothing written; --force overrides only the former); 2 usage error or
unusable input.
"""

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile

if not __package__:  # `python tools/bundle.py` in a checkout: import the folder as `tools`
    ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if sys.path and os.path.abspath(sys.path[0]) == os.path.join(ROOT, "tools"):
        del sys.path[0]  # tools/build.py is no top-level `build`
    for _path in (ROOT, os.path.join(ROOT, "bootstrap")):
        if _path not in sys.path:
            sys.path.insert(0, _path)
    __package__ = "tools"
    import importlib.util  # found, not imported: pip-requirements-parser alone takes ~0.1 s
    _missing = [name for name in ("pip", "packaging", "pip_requirements_parser", "tomli_w")
                if not importlib.util.find_spec(name)]
    if _missing:  # the command runs as printed: with pip first where this Python has none
        _python = shlex.quote(sys.executable)
        sys.stderr.write("bundle.py: error: the bundle builder needs pip, packaging, wheel, "
                         "tomli-w and pip-requirements-parser; install them with: %s%s -m pip "
                         "install packaging wheel tomli-w pip-requirements-parser\n" % (
                             "%s -m ensurepip && " % _python if "pip" in _missing else "",
                             _python))
        sys.exit(2)

import bootstrap  # noqa: E402  (the single-file bootstrap.py, for its resolver and check)

from . import build, fetch, profiles, write  # noqa: E402

PROG = "sandbox-bundle" if __package__ == "sandbox_bundle" else "bundle.py"


class Builder(object):
    """Resolves with pip's resolver for the target (tools/fetch.py), downloads the closure,
    turns sdists into wheels or ships them with their build backend."""

    def __init__(self, profile, roots, work, log, index=None):
        self.profile = profile
        self.index = index or IndexOptions()  # pip's index options, for every pip run
        self.roots = roots
        self.work = work
        self.wheels = os.path.join(work, "wheels")
        self.log = log
        self.pip = fetch.TargetPip(profile, os.path.join(work, "pip"), log,
                                   self.index.arguments(), self.index.environment())
        self.kinds = {}          # file name -> wheel | sdist | build-backend
        self.digests = {}        # file name -> sha256 the index gave and the download checked
        self.errors = []
        self.notes = []
        self.replaces = []       # (name, installed version, shipped version)
        self.unbuilt = []        # NAME==VERSION of compiled sdists the target cannot build
        os.makedirs(self.wheels)

    @property
    def needs_upgrade(self):
        return bool(self.replaces)

    def run(self):
        try:
            resolution = self.pip.resolve(self.roots)
        except fetch.FetchError as error:
            self.errors.append("%s\n%s" % (error, error.output))
            return self
        self.replaces = list(resolution.replaces)
        sdists = self.ship(resolution, "wheel")
        build_roots = self.ship_sdists(sdists, resolution.stubbed)
        if build_roots:
            self.log("build backend for the sandbox: %s" % " ".join(build_roots))
            try:
                backend = self.pip.resolve(build_roots, levels=("pinned", "upgrade"))
            except fetch.FetchError as error:
                self.errors.append("the build backend (%s) cannot be resolved for %s: %s\n%s"
                                   % (" ".join(build_roots), self.profile.target_tag, error,
                                      error.output))
                return self
            left = self.ship(backend, "build-backend")
            for path in left:
                self.errors.append("the build backend %s has no wheel for %s" % (
                    os.path.basename(path), self.profile.target_tag))
        for name, old, new in self.replaces:
            self.notes.append("installing needs --upgrade: %s %s replaces the preinstalled %s"
                              % (name, new, old))
        return self

    def ship(self, resolution, kind):
        """Download a resolution; wheels go to wheels/, the sdists are returned."""
        try:
            paths = self.pip.download(resolution.items, os.path.join(self.work, "downloads"))
        except fetch.FetchError as error:
            self.errors.append("%s\n%s" % (error, error.output))
            return []
        sdists = []
        for item in resolution.items:
            path = paths[item.name]
            if path.endswith(".whl"):
                name = os.path.basename(path)
                if not os.path.exists(os.path.join(self.wheels, name)):
                    write.link_or_copy(path, os.path.join(self.wheels, name))
                    self.kinds[name] = kind
                    if item.sha256:
                        self.digests[name] = item.sha256
            else:
                sdists.append(path)
        return sdists

    def ship_sdists(self, sdists, stubbed):
        """Pure builds ship as wheels; the rest as sdists. Returns the build requirements the
        sandbox lacks for the sdists that ship."""
        stubbed_paths = set(stubbed.values())
        built = build.build_wheels([s for s in sdists if s not in stubbed_paths],
                                   os.path.join(self.work, "built"), self.index.arguments(),
                                   self.index.environment())
        build_roots = []
        for sdist in sdists:
            wheel = built.get(sdist)
            name = os.path.basename(sdist)
            if wheel is not None and build.is_pure(wheel):
                shutil.copy2(wheel, self.wheels)
                self.kinds[os.path.basename(wheel)] = "wheel"
                self.notes.append("%s was built here from %s (pure Python)" % (
                    os.path.basename(wheel), name))
                continue
            if wheel is not None and not build.can_compile(self.profile):
                info = bootstrap.read_sdist(sdist)
                self.errors.append(
                    "%s has compiled code and no wheel for %s, and the profile does not say the "
                    "sandbox has a compiler and Python headers: it must be built on a machine "
                    "matching the target (see below)" % (name, self.profile.target_tag))
                self.unbuilt.append("%s==%s" % (bootstrap.canonicalize_name(info.name),
                                                info.version))
                continue
            shutil.copy2(sdist, self.wheels)
            self.kinds[name] = "sdist"
            self.notes.append("%s ships as an sdist with its build backend; bootstrap.py builds "
                              "it in the sandbox%s" % (name, "" if wheel is not None else
                                                      " (its build does not run on this "
                                                      "machine's interpreter)"))
            for requirement in self.build_requirements(sdist):
                if requirement not in build_roots:
                    build_roots.append(requirement)
        return build_roots

    def build_requirements(self, sdist):
        """What the sandbox lacks to build ``sdist``: its backend's requirements, ``wheel``
        for setuptools without its own bdist_wheel, pip when the sandbox has none."""
        info = bootstrap.read_sdist(sdist)
        wanted = []
        for text in bootstrap.missing_build_requirements(self.profile, info):
            wanted.append(text.split(" (", 1)[0] if text.startswith("wheel (") else text)
        installed = set(d.name for d in self.profile.installed)
        if info.backend.startswith("setuptools") and "wheel" not in installed:
            wanted.append("wheel")
        return wanted

    def files(self):
        files = []
        for name in sorted(os.listdir(self.wheels)):
            files.append((os.path.join(self.wheels, name), self.kinds.get(name, "wheel")))
        return files


class Requirements(object):
    """What requirements files say, parsed by pip-requirements-parser (pip's own parser): the
    requirements (PEP 508 strings, markers and URLs kept), the constraints of ``-c`` files, the
    allowed sha256 digests per project (``--hash``), and options this builder does not use."""

    def __init__(self):
        self.requirements = []
        self.constraints = []
        self.hashes = {}   # canonical project name -> set of sha256 hex digests
        self.index = IndexOptions()
        self.ignored = []  # option lines this builder does not use (--pre, --prefer-binary ...)


class IndexOptions(object):
    """Where pip looks for distributions, as pip's own requirements-file handling builds it
    (pip/_internal/req/req_file.py handle_option_line), line by line in pip's order (a nested
    ``-r``/``-c`` file where its line stands): ``--no-index`` drops every index for good;
    ``--index-url`` replaces the indexes so far (the default one and earlier extra ones);
    ``--extra-index-url`` adds one; ``--find-links`` adds a location (a relative path that
    exists beside the file it is written in is taken from there). ``index_url`` None means
    pip's configured default index. The command line's options are the starting point."""

    def __init__(self, index_url=None, extra_index_urls=(), find_links=(), no_index=False,
                 trusted_hosts=()):
        self.no_index = bool(no_index)
        self.index_url = None if self.no_index else index_url
        self.extra_index_urls = [] if self.no_index else list(extra_index_urls)
        self.find_links = [os.path.abspath(v) if os.path.exists(v) else v for v in find_links]
        self.trusted_hosts = list(trusted_hosts)
        self.replaced = False  # a file's --index-url dropped the configured extra indexes

    def apply(self, options, filename):
        """One option line of a requirements file (pip-requirements-parser's options dict)."""
        if options.get("no_index"):
            self.no_index, self.index_url, self.extra_index_urls = True, None, []
        if options.get("index_url") and not self.no_index:
            self.index_url, self.extra_index_urls = options["index_url"], []
            self.replaced = True
        if options.get("extra_index_urls") and not self.no_index:
            self.extra_index_urls.extend(options["extra_index_urls"])
        if options.get("find_links"):
            value = options["find_links"][0]  # as pip: the first of the line
            beside = os.path.join(os.path.dirname(os.path.abspath(filename)), value)
            self.find_links.append(beside if os.path.exists(beside) else value)
        self.trusted_hosts.extend(options.get("trusted_hosts") or ())

    def arguments(self):
        """The pip options that give every pip process this search scope."""
        arguments = ["--no-index"] if self.no_index else []
        if self.index_url:
            arguments += ["--index-url", self.index_url]
        for url in self.extra_index_urls:
            arguments += ["--extra-index-url", url]
        for value in self.find_links:
            arguments += ["--find-links", value]
        for host in self.trusted_hosts:
            arguments += ["--trusted-host", host]
        return arguments

    def environment(self):
        """Environment variables for pip beside arguments(): when a file's --index-url replaced
        the indexes, pip's configured extra indexes (pip.conf, PIP_EXTRA_INDEX_URL) went too,
        which no command-line option can say; a blank PIP_EXTRA_INDEX_URL does."""
        return {"PIP_EXTRA_INDEX_URL": " "} if self.replaced else {}


INDEX_OPTIONS = {"index_url", "extra_index_urls", "find_links", "no_index", "trusted_hosts"}


def read_requirements(paths, index=None):
    """Requirements from pip requirements files, with ``-r``/``-c`` followed, ``\\``
    continuations joined, ``--hash`` options kept and index options applied to ``index`` (the
    command line's IndexOptions) as pip applies them. Raises RequirementsError."""
    result = Requirements()
    result.index = index if index is not None else IndexOptions()
    for path in paths or ():
        import pip_requirements_parser  # with a file only: its import takes ~0.1 s
        if not os.path.isfile(path):
            raise RequirementsError("%s: no such requirements file" % path)
        try:
            parsed = pip_requirements_parser.RequirementsFile.from_file(
                os.path.abspath(path), include_nested=True)
        except pip_requirements_parser.InstallationError as error:
            raise RequirementsError(str(error).replace("|n", ": ").splitlines()[0])
        for line in parsed.invalid_lines:
            raise RequirementsError("%s line %d: %r is not a requirement (%s)" % (
                line.requirement_line.filename, line.requirement_line.line_number,
                line.requirement_line.line, line.error_message.splitlines()[0]))
        for option in parsed.options:
            result.index.apply(option.options, option.requirement_line.filename)
            if set(option.options) - INDEX_OPTIONS - {"requirements", "constraints"}:
                result.ignored.append(option.requirement_line.line)
        for item in parsed.requirements:
            _add_requirement(result, item)
    return result


def _add_requirement(result, item):
    where = "%s line %d" % (item.requirement_line.filename, item.requirement_line.line_number)
    if item.is_editable or item.req is None:
        raise RequirementsError("%s: %s is a local or editable path; a bundle needs a "
                                "requirement by name (or name @ URL)" % (where, item.line))
    text = str(item.req) + (" ; %s" % item.marker if item.marker is not None else "")
    (result.constraints if item.is_constraint else result.requirements).append(text)
    digests = [h.split(":", 1) for h in item.hash_options]
    bad = [algorithm for algorithm, _ in digests if algorithm != "sha256"]
    if bad:
        raise RequirementsError("%s: --hash=%s: only sha256 hashes can be checked" % (
            where, bad[0]))
    if digests:
        key = bootstrap.canonicalize_name(item.req.name)
        result.hashes.setdefault(key, set()).update(digest.lower() for _, digest in digests)


class RequirementsError(ValueError):
    """A requirements file that cannot be used: named, with the line."""


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog=PROG, description="Build a bundle for a sandbox's profile.")
    parser.add_argument("requirements", nargs="*", metavar="REQ")
    parser.add_argument("-r", "--requirement", action="append", metavar="FILE",
                        help="read requirements from FILE (repeatable)")
    parser.add_argument("-i", "--index-url", metavar="URL",
                        help="the index pip uses instead of its default (as pip's option; a "
                             "requirements file's --index-url replaces it, as in pip)")
    parser.add_argument("--extra-index-url", action="append", default=[], metavar="URL",
                        help="an index pip uses as well (repeatable)")
    parser.add_argument("-f", "--find-links", action="append", default=[], metavar="URL",
                        help="a folder or page of links pip looks in as well (repeatable)")
    parser.add_argument("--no-index", action="store_true", help="pip uses no index at all")
    parser.add_argument("--trusted-host", action="append", default=[], metavar="HOST",
                        help="a host pip trusts without valid HTTPS (repeatable)")
    parser.add_argument("--profile", required=True,
                        help="a profile file (bootstrap.py inspect -o), a target string such as "
                             "cp311-cp311-manylinux_2_36_x86_64, or a preset: %s"
                             % ", ".join(profiles.preset_names()))
    parser.add_argument("--target", metavar="TARGET",
                        help="the target string to use when the --profile file is not there "
                             "(a sandbox's fix command carries both)")
    parser.add_argument("--can-compile", action="store_true",
                        help="the sandbox has a C compiler and Python headers (a profile file "
                             "says so itself)")
    parser.add_argument("--no-pip", action="store_true",
                        help="the sandbox has no pip (a target string alone assumes it has)")
    parser.add_argument("--installed", action="append", metavar="NAME==VERSION", default=[],
                        help="a distribution the sandbox has installed (repeatable; a profile "
                             "file lists them all itself)")
    parser.add_argument("--reinstall", action="append", metavar="NAME", default=[],
                        help="ship NAME although the sandbox has it installed, and have the "
                             "sandbox replace that installed build (repeatable)")
    parser.add_argument("-o", "--output", required=True, help="the bundle to write (.tar.gz)")
    parser.add_argument("--max-part-size", metavar="SIZE",
                        help="split the bundle into parts of at most SIZE (e.g. 500M)")
    parser.add_argument("--force", action="store_true",
                        help="write the bundle even when bootstrap's check finds problems")
    return parser.parse_args(argv)


def load_profile(args, log):
    """The profile: --profile (file, preset or target), or --target when the file named by
    --profile is not there; with the facts --can-compile and --installed added."""
    value = args.profile
    if args.target and not os.path.isfile(value) and value.endswith(".json"):
        log("%s is not here: building for the target %s (installed versions: only those given "
            "with --installed)" % (value, args.target))
        value = args.target
    data, label = profiles.load_profile(value)
    profile = bootstrap.Profile.from_json(data, source=label)
    if args.can_compile:
        profile.sandbox = dict(profile.sandbox, compiler=profile.sandbox.get("compiler") or "cc",
                               python_headers=True)
    known = set(d.name for d in profile.installed)
    for text in args.installed:
        requirement = bootstrap.Requirement(text)
        pins = [s.version for s in requirement.specifier if s.operator in ("==", "===")]
        if len(pins) != 1:
            raise bootstrap.UsageError("--installed %s: expected NAME==VERSION" % text, text)
        if requirement.key not in known:
            profile.installed.append(bootstrap.Distribution(requirement.key, pins[0], [], None))
        if requirement.key == "pip":
            profile.pip = {"version": pins[0]}
    again = set(bootstrap.canonicalize_name(name) for name in args.reinstall)
    profile.installed = [d for d in profile.installed if d.name not in again]
    if (profile.sandbox or {}).get("derived_from_target") and not profile.pip and not (
            args.no_pip):
        profile.pip = {"version": "assumed"}  # a target string says nothing of pip
    return profile


def build_closure(profile, roots, constraints, work, log, index=None):
    """The Builder run for ``roots``, and the roots it was run with. Constraints (``-c``) never
    add a project, as in pip: one whose project the closure holds joins the roots and the
    closure is built again, once, so that its versions hold."""
    builder = Builder(profile, roots, os.path.join(work, "build-1"), log, index).run()
    if not constraints:
        return builder, roots
    report = bootstrap.check([builder.wheels], require=roots, profile=profile)
    needed = set(item["name"] for item in report["would_install"] + report["satisfied"])
    applied = [c for c in constraints if bootstrap.Requirement(c).key in needed]
    if not applied:
        return builder, roots
    log("constraints apply to %s: building again" % ", ".join(applied))
    roots = roots + applied
    return Builder(profile, roots, os.path.join(work, "build-2"), log, index).run(), roots


def platform_notes(problems):
    """The notes for what the sandbox's own installer provides (a Pyodide profile's packages,
    reported by the check with ``available_from``): one line that loads them all with
    micropip (and its pyodide.loadPackage twin), to run in the sandbox before the install."""
    versions = {}
    for problem in problems:  # the subject is the name with the specifier (numpy>=1.20)
        name = bootstrap.Requirement(problem["subject"]).key
        versions[name] = problem.get("available_version")
    names = sorted(versions)
    if not names:
        return []
    fix = bootstrap.platform_install_fix(names)
    return ["not shipped, provided by %s itself: %s; in the sandbox, first run: %s (or, "
            "from JavaScript: %s)" % (
                problems[0]["available_from"].capitalize(),
                ", ".join("%s %s" % (n, versions[n]) for n in sorted(names)),
                fix["command"], fix["alt"])]


def checked_uploads(builder, roots, profile, work):
    """What the check before writing reads: the wheels folder; when nothing ships, a folder
    that holds only the manifest the bundle will have: bootstrap's check tells a bundle empty
    on purpose (a manifest that lists no file) from an upload that holds nothing."""
    if builder.files() or builder.errors:
        return [builder.wheels]
    folder = os.path.join(work, "manifest-only")
    os.makedirs(folder)
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(write.manifest([], roots, profile), f)
    return [folder]


def nothing_to_ship(report, platform):
    """The line that says that nothing ships (``report``: the check of a bundle that holds no
    file, and whose problems are only ``platform``'s, what the sandbox's own installer
    provides): what the target already has, and what its install of the bundle then says."""
    have = ["%s %s (installed)" % (item["name"], item["version"]) for item in report["satisfied"]]
    for problem in platform:
        have.append("%s %s (from %s's own packages)" % (
            bootstrap.Requirement(problem["subject"]).key, problem.get("available_version"),
            problem["available_from"].capitalize()))
    return ("nothing to ship: the target already provides every requirement: %s; the bundle "
            "holds no file, and installing it there reports them already satisfied%s" % (
                ", ".join(sorted(have)),
                " once the line above has loaded them" if platform else ""))


def hash_errors(files, hashes, work):
    """Why shipped files break the requirements' ``--hash`` values (as pip's hash-checking
    mode: once one requirement has hashes, every shipped project needs them, but an sdist's
    build backend does not). A wheel built here passes when the sdist it was built from has
    an allowed hash."""
    if not hashes:
        return []
    errors = []
    for path, kind in files:
        name, _ = write._name_version(os.path.basename(path))
        allowed = hashes.get(name)
        if allowed is None and kind == "build-backend":
            continue  # as pip: build requirements of an sdist are not hash-checked
        if allowed is None:
            errors.append("%s: the requirements give no --hash for %s (with hashes, every "
                          "project that ships needs one, as in pip's hash-checking mode)"
                          % (os.path.basename(path), name))
        elif write.sha256_of(path) not in allowed and not _built_from_allowed(
                name, allowed, work):
            errors.append("%s: its sha256 %s is none of the --hash values given for %s" % (
                os.path.basename(path), write.sha256_of(path), name))
    return errors


def _built_from_allowed(name, allowed, work):
    for folder, _, names in os.walk(work):
        if os.path.basename(folder) != "sdists":
            continue
        for filename in names:
            try:
                sdist_name, _ = write._name_version(filename)
            except ValueError:
                continue
            if sdist_name == name and write.sha256_of(os.path.join(folder, filename)) in allowed:
                return True
    return False


def _reinstalled(args, files):
    """The --reinstall names that the bundle ships (canonical, sorted)."""
    shipped = set(write._name_version(os.path.basename(path))[0] for path, _ in files)
    return sorted(set(bootstrap.canonicalize_name(n) for n in args.reinstall) & shipped)


# -- What to do next: the command that ran, changed -------------------------------------------
# Every command this tool tells its user to run runs verbatim in the folder this run ran in, and
# keeps every option this run was given (requirements, -r files, index options, --profile and
# --target, -o, ...): only what the step changes differs (rerun_command). A step for another
# machine (pip there) carries this run's index options.


def _python_word():
    """This interpreter as a command word: its name when PATH finds this very file under it
    (``python`` in an active venv), else its path."""
    name = os.path.basename(sys.executable)
    found = shutil.which(name)
    if found and os.path.abspath(found) == os.path.abspath(sys.executable):
        return name
    return sys.executable


def _tool_words():
    """The words that start this tool again from the folder it runs in: the console script,
    ``python -m sandbox_bundle.bundle``, or ``python PATH/bundle.py`` with the path as typed."""
    script = sys.argv[0] if sys.argv else ""
    if __package__ == "sandbox_bundle":
        name = os.path.basename(script)
        if name.startswith("sandbox-bundle"):
            found = shutil.which(name)
            same = found and os.path.abspath(found) == os.path.abspath(script)
            return [name if same else script]
        return [_python_word(), "-m", "sandbox_bundle.bundle"]
    if os.path.basename(script) == "bundle.py" and os.path.isfile(script):
        return [_python_word(), script]
    return [_python_word(), os.path.abspath(__file__)]  # main() called from Python


def rerun_command(argv, add=()):
    """The command that ran (``argv``: its arguments as given) as one line to run verbatim in
    the same folder, with the option groups ``add`` (e.g. ``[["--force"]]``) added where the
    parser reads them as options (before a ``--``); a group given already is not repeated."""
    words = list(argv)
    end = words.index("--") if "--" in words else len(words)
    for group in add:
        group = list(group)
        if not any(words[i:i + len(group)] == group for i in range(end)):
            words[end:end] = group
            end += len(group)
    return " ".join(shlex.quote(word) for word in _tool_words() + words)


def unbuilt_steps(unbuilt, profile, index, argv, hashed=False):
    """(what, command) for compiled sdists the target cannot build (``unbuilt``: NAME==VERSION):
    pip wheel on a machine matching the target, with this run's index options (and what they
    imply for pip's configuration: IndexOptions.environment, through ``env``), into a folder
    that this run, repeated with --find-links to it, then ships from; or this run repeated with
    --can-compile. A sandbox that starts no processes (Pyodide) builds nothing, and pip builds
    no wheel for it: its wheels come from Pyodide's own toolchain, into that folder. ``hashed``:
    the requirements have --hash values (pip's hash-checking mode), which a wheel built
    elsewhere must then be given, as pip would need."""
    if not unbuilt:
        return []
    folder = "wheels-%s" % profile.target_tag
    rerun = rerun_command(argv, [["--find-links", folder]])
    hashes = (", add each wheel's --hash=sha256:... to its requirement's line (the "
              "requirements are hash-checked)" if hashed else "")
    if (profile.sandbox or {}).get("processes") is False:
        return [("build wheels of %s for %s with Pyodide's toolchain (pyodide-build) into the "
                 "folder %s here%s, then run" % (", ".join(unbuilt), profile.target_tag, folder,
                                                 hashes), rerun)]
    setting = ["%s=%s" % item for item in sorted(index.environment().items())]
    pip = (["env"] + setting if setting else []) + ["pip", "wheel", "--no-deps", "-w", folder]
    pip += index.arguments() + list(unbuilt)
    return [("on a machine matching %s (Python %s), run" % (
                profile.target_tag, profile.marker_environment.get("python_version")),
             " ".join(shlex.quote(word) for word in pip)),
            ("then copy its folder %s here%s, and run" % (folder, hashes), rerun),
            ("or, if the sandbox has a C compiler and Python headers, run",
             rerun_command(argv, [["--can-compile"]]))]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)

    def log(message):
        sys.stderr.write("%s: %s\n" % (PROG, message))

    try:
        profile = load_profile(args, log)
        given = read_requirements(args.requirement, IndexOptions(
            args.index_url, args.extra_index_url, args.find_links, args.no_index,
            args.trusted_host))
        roots = list(args.requirements) + given.requirements
        for root in roots + given.constraints:
            bootstrap.Requirement(root)
    except (profiles.ProfileError, bootstrap.BootstrapError, RequirementsError,
            OSError) as error:
        log("error: %s" % (str(error).splitlines() or [""])[0])  # one line, as bootstrap's
        return 2
    if not roots:
        log("error: no requirements given")
        return 2
    for line in given.ignored:
        log("note: %r in the requirements is not used by this builder" % line)
    work = tempfile.mkdtemp(prefix="bundle-")
    try:
        builder, roots = build_closure(profile, roots, given.constraints, work, log,
                                       given.index)
        for error in builder.errors:
            log(error)
        report = bootstrap.check(checked_uploads(builder, roots, profile, work), require=roots,
                                 profile=profile, upgrade=builder.needs_upgrade)
        # What the sandbox's own installer provides (Pyodide's packages) is not shipped: the
        # check names each, and the notes the one line that loads them there, first.
        platform = [p for p in report["problems"] if p.get("available_from")]
        builder.notes.extend(platform_notes(platform))
        empty = not builder.files() and not builder.errors and len(platform) == len(
            report["problems"])
        if empty:  # written all the same: the sandbox's install says that nothing is missing
            builder.notes.append(nothing_to_ship(report, platform))
        for note in builder.notes:
            log(note)
        # The check's own fix and next steps are for a sandbox: here they would run this tool
        # again without this run's options, on its scratch folder; this tool says what to do.
        summary = [line for line in bootstrap.render_report(dict(report, fix=None)).splitlines()
                   if not line.startswith("Next:")]
        sys.stderr.write("\n".join(summary) + "\n")
        for what, command in unbuilt_steps(builder.unbuilt, profile, given.index, argv,
                                          bool(given.hashes)):
            log("%s: %s" % (what, command))
        mismatched = hash_errors(builder.files(), given.hashes, work)
        for error in mismatched:
            log("error: %s" % error)
        if mismatched:
            log("not written: files differ from the requirements' hashes (--force does not "
                "override hashes)")
            return 1
        if len(platform) < len(report["problems"]) and not report.ok and not args.force:
            log("not written: the bundle would not install as it is; to write it anyway, run: "
                "%s" % rerun_command(argv, [["--force"]]))
            return 1
        written = write.write_bundle(
            builder.files(), roots, profile, args.output, builder.notes,
            write.parse_size(args.max_part_size) if args.max_part_size else None,
            preinstalled=report["satisfied"], reinstall=_reinstalled(args, builder.files()),
            digests=builder.digests)
        for path in written:
            print(path)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
