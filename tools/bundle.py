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

Exit codes: 0 written; 1 the bundle would not install (nothing written unless --force);
2 usage error or unusable input.
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
    except ImportError:
        sys.stderr.write("bundle.py: error: the bundle builder needs packaging and wheel; "
                         "install them with: %s -m pip install packaging wheel\n"
                         % sys.executable)
        sys.exit(2)

import bootstrap  # noqa: E402  (the single-file bootstrap.py, for its resolver and check)

from . import build, fetch, profiles, write  # noqa: E402

MAX_ROUNDS = 12


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


def read_requirements(paths):
    requirements = []
    for path in paths or ():
        with open(path) as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line and not line.startswith("-"):
                    requirements.append(line)
    return requirements


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="bundle.py", description="Build a bundle for a sandbox's profile.")
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


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)

    def log(message):
        sys.stderr.write("bundle.py: %s\n" % message)

    try:
        data, label = profiles.load_profile(args.profile)
        profile = bootstrap.Profile.from_json(data, source=label)
        roots = list(args.requirements) + read_requirements(args.requirement)
        for root in roots:
            bootstrap.Requirement(root)
    except (profiles.ProfileError, bootstrap.BootstrapError, OSError) as error:
        log("error: %s" % error)
        return 2
    if not roots:
        log("error: no requirements given")
        return 2
    work = tempfile.mkdtemp(prefix="bundle-")
    try:
        builder = Builder(profile, roots, work, log).run()
        for error in builder.errors:
            log(error)
        report = bootstrap.check([builder.wheels], require=roots, profile=profile)
        summary = [line for line in bootstrap.render_report(report).splitlines()
                   if not line.startswith("Next:")]  # next steps name this tool's scratch folder
        sys.stderr.write("\n".join(summary) + "\n")
        if not report.ok and not args.force:
            log("not written: the bundle would not install as it is (--force writes it anyway)")
            return 1
        written = write.write_bundle(
            builder.files(), roots, profile, args.output, builder.notes,
            write.parse_size(args.max_part_size) if args.max_part_size else None)
        for path in written:
            print(path)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
