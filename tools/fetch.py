"""Resolving and fetching for a target with pip's own resolver, as if pip ran in the sandbox.

pip runs through tools/pip_target.py, which makes it see the target's marker environment, wheel
tags and Python version, and the sandbox's installed distributions (stub ``.dist-info``
folders made from the profile): pip's backtracking resolver then answers what
``pip install`` would answer inside the sandbox. One pip run resolves a whole round
(``pip install --dry-run --report``: machine-readable, no log scraping); the files it
downloaded to read their metadata are kept, and only what it did not download is fetched by
one more (``pip download --no-deps`` of the exact URLs, from pip's cache when it has them).
The first pip run of a process runs in that process (pip_target.run_in_process: pip's imports
are half of a round's CPU time); any later one in a process of its own.

Installed versions are kept in three steps, the first that pip can solve wins:

1. ``pinned``: every installed distribution pinned (``-c``: name==version): the newest
   versions that work with what the sandbox has;
2. ``upgrade``: no pins, but every installed distribution's own requirements are constraints,
   so nothing that stays installed is broken; installed versions are still preferred;
3. ``free``: only the requests; whatever this replaces is said, and what it breaks too.

A Pyodide profile's own packages (``sandbox.pyodide.packages``: its pyodide-lock.json) are
provided by the platform, not shipped: pip sees each as installed at the lock's version, and
that version is a constraint at every level, so pip neither downloads nor replaces them (no
index has wheels of Pyodide's binary packages). They are loaded in the sandbox with micropip
or ``pyodide.loadPackage``.
"""

import hashlib
import json
import os
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
PIP_TARGET = os.path.join(HERE, "pip_target.py")
LEVELS = ("pinned", "upgrade", "free")
QUIET = ["--disable-pip-version-check", "--no-input", "--progress-bar", "off", "--quiet"]


class FetchError(Exception):
    """pip could not resolve or download; ``output`` has pip's last lines."""

    def __init__(self, message, output=""):
        Exception.__init__(self, message)
        self.output = output


class Item(object):
    """One distribution of pip's report: name, version, URL, sha256, requirements."""

    def __init__(self, data):
        metadata = data["metadata"]
        info = data["download_info"]
        self.name = _canonical(metadata["name"])
        self.version = metadata["version"]
        self.requires = list(metadata.get("requires_dist") or ())
        self.url = info["url"]
        hashes = (info.get("archive_info") or {}).get("hashes") or {}
        self.sha256 = hashes.get("sha256")
        self.filename = self.url.rsplit("/", 1)[-1].split("#", 1)[0]

    @property
    def is_wheel(self):
        return self.filename.endswith(".whl")

    def __repr__(self):
        return "%s==%s" % (self.name, self.version)


def _canonical(name):
    import re
    return re.sub(r"[-_.]+", "-", name).lower()


class Resolution(object):
    """What one resolution decided: the items to ship and which installed ones they replace."""

    def __init__(self, items, level, replaces, stubbed):
        self.items = items
        self.level = level
        self.replaces = replaces  # [(name, installed version, new version)]
        self.stubbed = stubbed    # {name: sdist path} of sdists whose metadata came from PKG-INFO


class TargetPip(object):
    """pip, seeing the profile's interpreter instead of this one."""

    def __init__(self, profile, work, log, index_options=(), index_env=None):
        self.profile = profile
        self.index_options = list(index_options)  # --index-url ...: given to every pip run
        self.index_env = dict(index_env or {})    # and what they imply for pip's configuration
        self.work = work
        self.log = log
        self.installed = dict((d.name, d) for d in profile.installed)
        self.platform = platform_packages(profile)
        os.makedirs(work, exist_ok=True)
        self.stubs = os.path.join(work, "stubs")      # find-links: metadata-only wheels
        self.sdists = os.path.join(work, "sdists")
        self.stubbed = {}
        self.failures = os.path.join(work, "metadata-failures.jsonl")
        self.kept = os.path.join(work, "kept")  # what pip downloaded while resolving
        self.config = self._write_config()

    # -- running pip ---------------------------------------------------------------------

    def _write_config(self):
        environment = dict(self.profile.marker_environment)
        full = environment.get("python_full_version") or environment.get("python_version", "3")
        version = []
        for part in full.split("."):
            digits = "".join(c for c in part if c.isdigit())
            version.append(int(digits or 0))
        path = os.path.join(self.work, "pip-target.json")
        with open(path, "w") as f:
            json.dump({"marker_environment": environment,
                       "tags": [str(tag) for tag in self.profile.tags],
                       "python_version": (version + [0, 0])[:3],
                       "installed_dir": self._write_installed(),
                       "failures": self.failures, "keep_dir": self.kept}, f)
        return path

    def _write_installed(self):
        """Stub .dist-info folders of the sandbox's installed distributions."""
        import bootstrap
        folder = os.path.join(self.work, "installed")
        os.makedirs(folder, exist_ok=True)
        provided = [bootstrap.Distribution(name, version, [], None)
                    for name, version in sorted(self.platform.items())]
        for dist in list(self.profile.installed) + provided:
            try:
                bootstrap.Version(dist.version)
            except (bootstrap.BootstrapError, ValueError):
                continue  # pip cannot compare it either; it cannot be kept by version
            info = os.path.join(folder, "%s-%s.dist-info" % (
                dist.name.replace("-", "_"), dist.version))
            os.makedirs(info, exist_ok=True)
            lines = ["Metadata-Version: 2.1", "Name: %s" % dist.name,
                     "Version: %s" % dist.version]
            lines += ["Requires-Dist: %s" % r for r in dist.requires]
            with open(os.path.join(info, "METADATA"), "w") as f:
                f.write("\n".join(lines) + "\n")
        return folder

    def pip(self, arguments):
        """pip_target.py with ``arguments``: (returncode, output) as a CompletedProcess. The
        process's first pip run is in this process (pip_target.run_in_process), the rest
        each in a process of their own."""
        arguments = list(arguments)
        arguments = arguments[:1] + self.index_options + arguments[1:]
        from . import pip_target
        if pip_target.can_run_in_process():
            code, output = pip_target.run_in_process(self.config, arguments, self.index_env)
            return subprocess.CompletedProcess(arguments, code, output)
        return subprocess.run([sys.executable, PIP_TARGET, self.config] + arguments,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, stdin=subprocess.DEVNULL,
                              env=dict(os.environ, **self.index_env))

    # -- resolution ----------------------------------------------------------------------

    def constraints(self, level):
        import bootstrap
        lines = []
        if level == "pinned":
            for dist in self.profile.installed:
                try:
                    bootstrap.Version(dist.version)  # pip refuses a file with a bad pin
                except (bootstrap.BootstrapError, ValueError):
                    continue
                lines.append("%s==%s" % (dist.name, dist.version))
        elif level == "upgrade":
            environment = dict(self.profile.marker_environment, extra="")
            for dist in self.profile.installed:
                for text in dist.requires:
                    try:
                        requirement = bootstrap.Requirement(text)
                        if requirement.marker and not requirement.marker.evaluate(environment):
                            continue
                    except (bootstrap.BootstrapError, ValueError):
                        continue
                    if requirement.url is None and str(requirement.specifier):
                        lines.append("%s%s" % (requirement.name, requirement.specifier))
        lines += ["%s==%s" % item for item in self.platform.items()]
        path = os.path.join(self.work, "constraints-%s.txt" % level)
        with open(path, "w") as f:
            f.write("\n".join(sorted(set(lines))) + "\n")
        return path

    def resolve(self, roots, levels=LEVELS):
        """The first level at which pip solves ``roots``: a Resolution, or FetchError."""
        output = ""
        for level in levels:
            for _ in range(8):  # each retry stubs one more sdist that cannot prepare here
                report, output = self._resolve_once(roots, level)
                if report is not None:
                    return self._resolution(report, level)
                if not self._stub_failed_sdists():
                    break
        raise FetchError("pip finds no set of versions for %s on %s%s" % (
            " ".join(roots), self.profile.target_tag, self._platform_conflicts(roots)),
            "\n".join(output.splitlines()[-12:]))

    def _platform_conflicts(self, roots):
        """Why a root cannot be met when the platform provides its project at another version
        (Pyodide's packages are fixed by its lock): '' when none is."""
        import bootstrap
        said = []
        for root in roots:
            try:
                requirement = bootstrap.Requirement(root)
            except (bootstrap.BootstrapError, ValueError):
                continue
            version = self.platform.get(requirement.key)
            if version is not None and not requirement.specifier.contains(
                    version, prereleases=True):
                said.append("%s (Pyodide provides %s %s, which a bundle cannot replace)" % (
                    root, requirement.key, version))
        return ": %s" % "; ".join(said) if said else ""

    def _resolve_once(self, roots, level):
        report_path = os.path.join(self.work, "report-%s.json" % level)
        if os.path.exists(report_path):
            os.remove(report_path)
        arguments = ["install", "--dry-run", "--report", report_path, "-c",
                     self.constraints(level)] + QUIET
        if os.path.isdir(self.stubs):
            arguments += ["--find-links", self.stubs]
        self.log("resolving %s (%s, one pip run)" % (" ".join(roots), level))
        proc = self.pip(arguments + list(roots))
        if proc.returncode != 0 or not os.path.isfile(report_path):
            return None, proc.stdout
        with open(report_path) as f:
            return json.load(f), proc.stdout

    def _resolution(self, report, level):
        items = [Item(entry) for entry in report.get("install", ())]
        replaces = []
        for item in items:
            dist = self.installed.get(item.name)
            if dist is not None and dist.version != item.version:
                replaces.append((item.name, dist.version, item.version))
        return Resolution(items, level, replaces, dict(self.stubbed))

    def _stub_failed_sdists(self):
        """A metadata-only wheel (from PKG-INFO) for each sdist that failed to prepare here,
        so that pip resolves through it; the real sdist ships. False when there is none new."""
        if not os.path.isfile(self.failures):
            return False
        with open(self.failures) as f:
            records = [json.loads(line) for line in f if line.strip()]
        os.remove(self.failures)
        added = False
        for record in records:
            if not record.get("url") or record["filename"] in (
                    os.path.basename(p) for p in self.stubbed.values()):
                continue
            sdist = fetch_url(record["url"], self.sdists)
            name = make_stub_wheel(sdist, self.stubs)
            if name:
                self.log("%s cannot prepare its metadata on this interpreter: resolving with "
                         "its PKG-INFO, and shipping the sdist" % record["filename"])
                self.stubbed[name] = sdist
                added = True
        return added

    # -- downloading ---------------------------------------------------------------------

    def download(self, items, dest):
        """Every item into ``dest``: what pip kept while it resolved, where it has the item's
        sha256 when read again (one read: a changed kept file is not trusted on its word);
        the other wheels by one ``pip download --no-deps`` of their URLs, sdists by their URL
        (sha256 checked). Returns {item name: path}."""
        os.makedirs(dest, exist_ok=True)
        paths = {}
        for item in items:
            kept = os.path.join(self.kept, item.filename)
            if item.name not in self.stubbed and os.path.isfile(kept) and _sha256_ok(
                    kept, item.sha256):
                target = os.path.join(dest if item.is_wheel else self.sdists, item.filename)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                if not os.path.exists(target):
                    os.replace(kept, target)
        wheels = [i for i in items if i.is_wheel and i.name not in self.stubbed]
        missing = [i for i in wheels if not os.path.isfile(os.path.join(dest, i.filename))]
        if missing:
            self.log("downloading %d wheels (one pip process)" % len(missing))
            urls = [i.url + ("#sha256=%s" % i.sha256 if i.sha256 else "") for i in missing]
            proc = self.pip(["download", "--no-deps", "-d", dest] + QUIET + urls)
            if proc.returncode != 0:
                raise FetchError("pip could not download %s" % ", ".join(
                    repr(i) for i in missing), "\n".join(proc.stdout.splitlines()[-8:]))
        for item in wheels:
            path = os.path.join(dest, item.filename)
            if not os.path.isfile(path):
                raise FetchError("pip did not write %s" % item.filename)
            paths[item.name] = path
        for item in items:
            if item.name in self.stubbed:
                paths[item.name] = self.stubbed[item.name]
            elif not item.is_wheel:
                paths[item.name] = fetch_url(item.url, self.sdists, item.sha256)
        return paths


def platform_packages(profile):
    """{name: version} that the sandbox's own installer provides (a Pyodide profile's
    pyodide-lock.json packages) and that are not installed there yet; versions pip could not
    compare are left out."""
    import bootstrap
    packages = ((profile.sandbox or {}).get("pyodide") or {}).get("packages") or {}
    installed = set(_canonical(d.name) for d in profile.installed)
    provided = {}
    for name, version in packages.items():
        try:
            bootstrap.Version(version)
        except (bootstrap.BootstrapError, ValueError, TypeError):
            continue
        if _canonical(name) not in installed:
            provided[_canonical(name)] = version
    return provided


def _sha256_ok(path, sha256):
    if not sha256:
        return True
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest() == sha256


def fetch_url(url, dest, sha256=None):
    """Download one file by URL (an sdist pip has already resolved) into ``dest``."""
    os.makedirs(dest, exist_ok=True)
    path = os.path.join(dest, url.rsplit("/", 1)[-1].split("#", 1)[0])
    if not os.path.isfile(path):
        import urllib.request  # only sdists come this way; its import is ~0.05 s
        with urllib.request.urlopen(url, timeout=60) as response:
            data = response.read()
        if sha256 and hashlib.sha256(data).hexdigest() != sha256:
            raise FetchError("%s does not match the index's sha256" % url)
        with open(path + ".part", "wb") as f:
            f.write(data)
        os.replace(path + ".part", path)
    return path


def make_stub_wheel(sdist, dest):
    """A py3-none-any wheel holding only the sdist's PKG-INFO as METADATA; its name or None."""
    import bootstrap
    try:
        info = bootstrap.read_sdist(sdist)
    except bootstrap.BootstrapError:
        return None
    metadata = info.metadata
    lines = ["Metadata-Version: 2.1", "Name: %s" % info.name, "Version: %s" % info.version]
    if metadata is not None and metadata.requires_python:
        lines.append("Requires-Python: %s" % metadata.requires_python)
    for requirement in (metadata.requires_dist if metadata is not None else ()):
        lines.append("Requires-Dist: %s" % requirement)
    escaped = "%s-%s" % (info.name.replace("-", "_"), info.version)
    os.makedirs(dest, exist_ok=True)
    with zipfile.ZipFile(os.path.join(dest, escaped + "-py3-none-any.whl"), "w") as archive:
        archive.writestr(escaped + ".dist-info/METADATA", "\n".join(lines) + "\n")
        archive.writestr(escaped + ".dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: "
                         "sandbox-bootstrap stub\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr(escaped + ".dist-info/RECORD", "")
    return _canonical(info.name)
