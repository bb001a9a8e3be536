#!/usr/bin/env python3
"""Build a bundle for a sandbox's profile, verified with bootstrap.py before it is written.

    python tools/bundle.py REQ... [-r requirements.txt] --profile (FILE | TARGET | PRESET)
                           -o bundle.tar.gz [--max-part-size 500M] [--force]

It resolves for the TARGET's marker environment and tags, not this machine's: bootstrap's own
resolver decides what is missing, and pip downloads each file alone (--no-deps) for the
target's platforms, Python version, implementation and ABIs, round after round until the
closure is complete. sdist-only projects become wheels when they are pure Python; otherwise
the sdist ships with its build backend's wheels when the target can compile, or the build
stops and says it must happen on a matching machine. With a profile that lists installed
distributions, only what the sandbox lacks is shipped.

Requirements files are read with pip's own parser (pip-requirements-parser): ``-r`` and
``-c`` files are followed, backslash continuations joined, URLs keep their ``#`` fragment, and
``--hash`` values (pip-compile --generate-hashes) are checked against every shipped file, as
pip's hash-checking mode does; a constraint limits a project the closure needs, never adds one.

Exit codes: 0 written; 1 the bundle would not install, or a file breaks a --hash (nothing
written; --force overrides only the former); 2 usage error or unusable input.
"""

import argparse
import os
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
    try:
        import packaging.utils  # noqa: F401
        import pip_requirements_parser  # noqa: F401
        import tomli_w  # noqa: F401
    except ImportError:
        sys.stderr.write("bundle.py: error: the bundle builder needs packaging, wheel, tomli-w "
                         "and pip-requirements-parser; install them with: %s -m pip install "
                         "packaging wheel tomli-w pip-requirements-parser\n" % sys.executable)
        sys.exit(2)

import bootstrap  # noqa: E402  (the single-file bootstrap.py, for its resolver and check)

from . import build, fetch, profiles, write  # noqa: E402

MAX_ROUNDS = 12
PROG = "sandbox-bundle" if __package__ == "sandbox_bundle" else "bundle.py"


class Builder(object):
    """Fetches files into a folder until bootstrap's check finds nothing more to fetch."""

    def __init__(self, profile, roots, work, log):
        self.profile = profile
        self.roots = roots
        self.work = work
        self.wheels = os.path.join(work, "wheels")
        self.log = log
        self.kinds = {}          # file name -> wheel | sdist | build-backend
        self.build_roots = []    # build requirements of shipped sdists: their closure ships too
        self.attempted = set()
        self.errors = []
        self.notes = []
        os.makedirs(self.wheels)

    def plan(self):
        with tempfile.TemporaryDirectory(dir=self.work) as scratch:
            _, _, plan, problems, _, _ = bootstrap.plan_bundle(
                [self.wheels], scratch, require=self.roots + self.build_roots,
                profile=self.profile)
        return plan, problems

    def run(self):
        for _ in range(MAX_ROUNDS):
            plan, _ = self.plan()
            wanted = [r for r in plan.fetch if r not in self.attempted]
            if not wanted:
                break
            for requirement in wanted:
                self.attempted.add(requirement)
                self.fetch_one(requirement)
        return self

    def fetch_one(self, requirement):
        self.log("fetching %s" % requirement)
        try:
            path = fetch.download_wheel(requirement, self.profile, self.wheels)
            if path is not None:
                self.kinds.setdefault(os.path.basename(path), "wheel")
                return
            sdist = fetch.download_sdist(requirement, os.path.join(self.work, "sdists"))
        except fetch.FetchError as error:
            self.errors.append("%s\n%s" % (error, error.output))
            return
        if sdist is None:
            self.errors.append("%s has no wheel for %s and no sdist" % (
                requirement, self.profile.target))
            return
        self.ship_sdist(requirement, sdist)

    def ship_sdist(self, requirement, sdist):
        """A pure wheel built here, or the sdist plus its build backend, or an error."""
        try:
            built = build.build_wheel(sdist, os.path.join(self.work, "built"))
        except build.BuildError as error:
            built = None
            self.log(str(error))
        if built is not None and build.is_pure(built):
            shutil.copy2(built, self.wheels)
            self.kinds[os.path.basename(built)] = "wheel"
            self.notes.append("%s was built here from %s (pure Python)" % (
                os.path.basename(built), os.path.basename(sdist)))
            return
        if not build.can_compile(self.profile):
            self.errors.append(
                "%s has compiled code and no wheel for %s, and the profile does not say the "
                "sandbox has a compiler and Python headers: build it on a machine matching the "
                "target (`pip wheel --no-deps %s -w wheels/` there) and add the wheel to the "
                "bundle" % (os.path.basename(sdist), self.profile.target, requirement))
            return
        shutil.copy2(sdist, self.wheels)
        self.kinds[os.path.basename(sdist)] = "sdist"
        installed = set(d.name for d in self.profile.installed)
        for backend in bootstrap.read_sdist(sdist).requires + ["wheel"]:
            if bootstrap.Requirement(backend).key in installed:
                continue
            path = fetch.download_wheel(backend, self.profile, self.wheels)
            if path is None:
                self.errors.append("the build backend %s of %s has no wheel for %s" % (
                    backend, os.path.basename(sdist), self.profile.target))
                continue
            self.kinds.setdefault(os.path.basename(path), "build-backend")
            self.build_roots.append(bootstrap.Requirement(backend).key)
        self.notes.append("%s ships as an sdist with its build backend; bootstrap.py builds it "
                          "in the sandbox" % os.path.basename(sdist))

    def files(self):
        backend = set(bootstrap.canonicalize_name(name) for name in self.build_roots)
        files = []
        for name in sorted(os.listdir(self.wheels)):
            kind = self.kinds.get(name, "wheel")
            if kind == "wheel" and name.endswith(".whl") and bootstrap.WheelName.parse(
                    name).name in backend:
                kind = "build-backend"
            files.append((os.path.join(self.wheels, name), kind))
        return files


class Requirements(object):
    """What requirements files say, parsed by pip-requirements-parser (pip's own parser): the
    requirements (PEP 508 strings, markers and URLs kept), the constraints of ``-c`` files, the
    allowed sha256 digests per project (``--hash``), and options this builder does not use."""

    def __init__(self):
        self.requirements = []
        self.constraints = []
        self.hashes = {}   # canonical project name -> set of sha256 hex digests
        self.ignored = []  # option lines (--index-url ...): pip's own configuration applies


def read_requirements(paths):
    """Requirements from pip requirements files, with ``-r``/``-c`` followed, ``\\``
    continuations joined and ``--hash`` options kept. Raises RequirementsError."""
    import pip_requirements_parser

    result = Requirements()
    for path in paths or ():
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
            if set(option.options) - {"requirements", "constraints"}:
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
    parser.add_argument("--profile", required=True,
                        help="a profile file (bootstrap.py inspect -o), a target string such as "
                             "cp311-cp311-manylinux_2_36_x86_64, or a preset: %s"
                             % ", ".join(profiles.preset_names()))
    parser.add_argument("-o", "--output", required=True, help="the bundle to write (.tar.gz)")
    parser.add_argument("--max-part-size", metavar="SIZE",
                        help="split the bundle into parts of at most SIZE (e.g. 500M)")
    parser.add_argument("--force", action="store_true",
                        help="write the bundle even when bootstrap's check finds problems")
    return parser.parse_args(argv)


def build_closure(profile, roots, constraints, work, log):
    """The Builder run for ``roots``, and the roots it was run with. Constraints (``-c``) never
    add a project, as in pip: one whose project the closure holds joins the roots and the
    closure is built again, once, so that its versions hold."""
    builder = Builder(profile, roots, os.path.join(work, "build-1"), log).run()
    if not constraints:
        return builder, roots
    report = bootstrap.check([builder.wheels], require=roots, profile=profile)
    needed = set(item["name"] for item in report["would_install"] + report["satisfied"])
    applied = [c for c in constraints if bootstrap.Requirement(c).key in needed]
    if not applied:
        return builder, roots
    log("constraints apply to %s: building again" % ", ".join(applied))
    roots = roots + applied
    return Builder(profile, roots, os.path.join(work, "build-2"), log).run(), roots


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


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)

    def log(message):
        sys.stderr.write("%s: %s\n" % (PROG, message))

    try:
        data, label = profiles.load_profile(args.profile)
        profile = bootstrap.Profile.from_json(data, source=label)
        given = read_requirements(args.requirement)
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
        log("note: %r in the requirements is not used: pip's own configuration applies" % line)
    work = tempfile.mkdtemp(prefix="bundle-")
    try:
        builder, roots = build_closure(profile, roots, given.constraints, work, log)
        for error in builder.errors:
            log(error)
        report = bootstrap.check([builder.wheels], require=roots, profile=profile)
        summary = [line for line in bootstrap.render_report(report).splitlines()
                   if not line.startswith("Next:")]  # next steps name this tool's scratch folder
        sys.stderr.write("\n".join(summary) + "\n")
        mismatched = hash_errors(builder.files(), given.hashes, work)
        for error in mismatched:
            log("error: %s" % error)
        if mismatched:
            log("not written: files differ from the requirements' hashes (--force does not "
                "override hashes)")
            return 1
        if not report.ok and not args.force:
            log("not written: the bundle would not install as it is (--force writes it anyway)")
            return 1
        written = write.write_bundle(
            builder.files(), roots, profile, args.output, builder.notes,
            write.parse_size(args.max_part_size) if args.max_part_size else None,
            preinstalled=report["satisfied"])
        for path in written:
            print(path)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
