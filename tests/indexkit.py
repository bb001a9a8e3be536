"""Helpers of tests/test_bundle_tool.py: a local PEP 503 index on loopback, the bundle builder
run against it with pip's configuration neutralised, and sandbox-like venvs without network.

* ``build_index(root, paths)``: copy real files (from tests/realwheels.py sets) into
  ``root/files/`` and write ``root/simple/index.html`` and ``root/simple/<project>/index.html``
  with ``<a href="../../files/X#sha256=..." data-requires-python="...">`` links (PEP 503/345).
* ``LocalIndex(root)``: serves ``root`` over HTTP on 127.0.0.1 (port 0) from a thread; it stops
  by itself after ``lifetime`` seconds at the latest, and counts the requests it answered.
* ``tool_env(index_url)``: an environment in which pip sees no configuration but the index:
  PIP_CONFIG_FILE=/dev/null, PIP_INDEX_URL, no find-links, extra index or constraint.
* ``run_bundle(args, index_url)``: ``python tools/bundle.py ARGS`` in the repository root.
* ``pip_dry_run(args, env)``: what pip's own ``install --dry-run --report`` would install for
  ARGS (the oracle of the builder's resolution).
* ``Sandbox(path, python)``: a venv with ``bootstrap.py`` copied beside it (as an upload would
  be), whose commands run under ``unshare -rn`` (no network) with pip's configuration
  neutralised.
* ``read_bundle(path)``: the manifest, the pylock.toml text and the members of a bundle.

Standard library only.
"""
import email.parser
import hashlib
import html
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOTSTRAP_PY = os.path.join(ROOT, "bootstrap", "bootstrap.py")
BUNDLE_PY = os.path.join(ROOT, "tools", "bundle.py")
TIMEOUT = 300  # seconds for one child process
INDEX_LIFETIME = 900  # seconds a LocalIndex serves at most


def canonicalize_name(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- the index --------------------------------------------------------------------------------

def project_of(filename):
    """The canonical project name of a wheel or sdist file name."""
    if filename.endswith(".whl"):
        return canonicalize_name(filename.split("-")[0])
    match = re.match(r"^(.+)-[0-9][^-]*\.(tar\.gz|zip|tar\.bz2)$", filename)
    if not match:
        raise ValueError("not a distribution file name: %s" % filename)
    return canonicalize_name(match.group(1))


def _metadata_text(path):
    name = os.path.basename(path)
    if name.endswith(".whl"):
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if member.count("/") == 1 and member.endswith(".dist-info/METADATA"):
                    return archive.read(member).decode("utf-8", "replace")
        return ""
    with tarfile.open(path, "r:*") as archive:
        for member in archive:
            parts = member.name.strip("/").split("/")
            if len(parts) == 2 and parts[1] == "PKG-INFO" and member.isfile():
                return archive.extractfile(member).read().decode("utf-8", "replace")
    return ""


def requires_python(path):
    """The Requires-Python of a wheel's METADATA or an sdist's PKG-INFO, or None."""
    message = email.parser.Parser().parsestr(_metadata_text(path), headersonly=True)
    value = message.get("Requires-Python")
    return value.strip() if value else None


def build_index(root, paths):
    """Copy the files ``paths`` into root/files and write a PEP 503 simple/ tree for them.
    Returns {project: [file names]}."""
    files_dir = os.path.join(root, "files")
    os.makedirs(files_dir, exist_ok=True)
    projects = {}
    for source in paths:
        name = os.path.basename(source)
        destination = os.path.join(files_dir, name)
        if not os.path.exists(destination):
            shutil.copyfile(source, destination)
        projects.setdefault(project_of(name), set()).add(name)
    simple = os.path.join(root, "simple")
    os.makedirs(simple, exist_ok=True)
    top = ['<!DOCTYPE html>', '<html><body>']
    for project in sorted(projects):
        top.append('<a href="%s/">%s</a><br>' % (project, project))
        links = ['<!DOCTYPE html>', '<html><body>', '<h1>Links for %s</h1>' % project]
        for name in sorted(projects[project]):
            path = os.path.join(files_dir, name)
            attribute = ""
            python = requires_python(path)
            if python:
                attribute = ' data-requires-python="%s"' % html.escape(python, quote=True)
            links.append('<a href="../../files/%s#sha256=%s"%s>%s</a><br>'
                         % (name, sha256_of(path), attribute, name))
        links.append('</body></html>')
        os.makedirs(os.path.join(simple, project), exist_ok=True)
        with open(os.path.join(simple, project, "index.html"), "w") as f:
            f.write("\n".join(links) + "\n")
    top.append('</body></html>')
    with open(os.path.join(simple, "index.html"), "w") as f:
        f.write("\n".join(top) + "\n")
    return dict((k, sorted(v)) for k, v in projects.items())


class LocalIndex(object):
    """An HTTP server for ``root`` on 127.0.0.1 (port 0), in a thread, for at most ``lifetime``
    seconds. ``url`` is the simple index's URL; ``requests`` lists the paths it answered."""

    def __init__(self, root, lifetime=INDEX_LIFETIME):
        self.root = root
        self.lifetime = lifetime
        self.requests = []
        self._server = None
        self._timer = None

    def __enter__(self):
        requests = self.requests
        root = self.root

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=root, **kwargs)

            def log_message(self, format, *args):  # noqa: A002  (the base class's name)
                requests.append(self.path)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                  daemon=True)
        thread.start()
        self._timer = threading.Timer(self.lifetime, self._server.shutdown)
        self._timer.daemon = True
        self._timer.start()
        return self

    @property
    def url(self):
        return "http://127.0.0.1:%d/simple/" % self._server.server_address[1]

    def files_served(self):
        return sorted(set(os.path.basename(p.split("#")[0]) for p in self.requests
                          if p.startswith("/files/")))

    def __exit__(self, *exc):
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()


# -- running the builder ----------------------------------------------------------------------

def clean_env(**extra):
    """os.environ without any PIP_* or PYTHON* variable, with pip's configuration file off."""
    env = dict((k, v) for k, v in os.environ.items()
               if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV")))
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    env.update(extra)
    return env


def tool_env(index_url):
    """What the builder runs with: only the local index, no cache, few retries."""
    return clean_env(PIP_INDEX_URL=index_url, PIP_NO_CACHE_DIR="1", PIP_RETRIES="0",
                     PIP_DEFAULT_TIMEOUT="20")


def run(cmd, cwd=None, env=None, timeout=TIMEOUT):
    return subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=timeout)


def run_bundle(args, index_url, cwd=ROOT):
    """``python tools/bundle.py ARGS`` with this interpreter, in ``cwd``, against the index."""
    return run([sys.executable, BUNDLE_PY] + list(args), cwd=cwd, env=tool_env(index_url))


def run_shell_command(command, index_url, cwd=ROOT):
    """A report's fix command as written: only ``python`` becomes this interpreter."""
    import shlex
    words = shlex.split(command)
    if words and words[0] in ("python", "python3"):
        words[0] = sys.executable
    return run(words, cwd=cwd, env=tool_env(index_url))


def pip_dry_run(args, env, cwd=None):
    """The ``install`` entries of pip's own ``install --dry-run --ignore-installed --report -``
    for ARGS, run quietly by this interpreter in ``env`` (e.g. tool_env's): the oracle of what
    the builder resolves and fetches."""
    proc = run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
                "--report", "-", "--quiet"] + [str(arg) for arg in args], cwd=cwd, env=env)
    assert proc.returncode == 0, output_of(proc)
    return json.loads(proc.stdout)["install"]


def output_of(proc):
    return "exit %s\n--- stdout\n%s\n--- stderr\n%s" % (proc.returncode, proc.stdout, proc.stderr)


# -- bundles ----------------------------------------------------------------------------------

class BundleContents(object):
    """The members of a written bundle (.tar.gz, or its parts joined)."""

    def __init__(self, data):
        self.members = {}
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for member in archive:
                if member.isfile():
                    self.members[member.name.lstrip("./")] = archive.extractfile(member).read()
        self.manifest = json.loads(self.members["manifest.json"].decode("utf-8"))
        self.pylock = self.members.get("pylock.toml", b"").decode("utf-8")

    @property
    def wheel_files(self):
        """Names of the distribution files under wheels/."""
        return sorted(n.split("/", 1)[1] for n in self.members if n.startswith("wheels/"))

    @property
    def projects(self):
        return sorted(set(project_of(n) for n in self.wheel_files))


def read_bundle(*paths):
    data = b""
    for path in paths:
        with open(path, "rb") as f:
            data += f.read()
    return BundleContents(data)


# -- sandboxes --------------------------------------------------------------------------------

def have_unshare():
    try:
        return run(["unshare", "-rn", "true"], timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class Sandbox(object):
    """A venv of ``python`` at ``path``/venv with bootstrap.py uploaded to ``path``/data; its
    commands run offline (``unshare -rn``) with pip's configuration neutralised."""

    def __init__(self, path, python, with_pip=False):
        self.path = str(path)
        self.venv = os.path.join(self.path, "venv")
        self.data = os.path.join(self.path, "data")
        os.makedirs(self.data, exist_ok=True)
        cmd = [python, "-m", "venv"] + ([] if with_pip else ["--without-pip"]) + [self.venv]
        proc = run(cmd, env=clean_env())
        if proc.returncode != 0:
            raise RuntimeError("cannot make a venv: %s" % output_of(proc))
        self.python = os.path.join(self.venv, "bin", "python")
        self.bootstrap_py = os.path.join(self.data, "bootstrap.py")
        shutil.copyfile(BOOTSTRAP_PY, self.bootstrap_py)

    def upload(self, path):
        """Copy a file next to bootstrap.py, as a user uploads it; returns the new path."""
        destination = os.path.join(self.data, os.path.basename(path))
        shutil.copyfile(path, destination)
        return destination

    def run(self, args, offline=True, timeout=TIMEOUT):
        cmd = ([("unshare"), "-rn"] if offline else []) + [self.python] + list(args)
        return run(cmd, cwd=self.data, env=clean_env(PIP_NO_INDEX="1"), timeout=timeout)

    def bootstrap(self, *args, **kwargs):
        return self.run([self.bootstrap_py] + list(args), **kwargs)

    def bootstrap_json(self, *args, **kwargs):
        """(process, report) of a bootstrap.py command run with --json."""
        proc = self.bootstrap(*(list(args) + ["--json"]), **kwargs)
        try:
            report = json.loads(proc.stdout)
        except ValueError:
            raise AssertionError("no JSON report:\n%s" % output_of(proc))
        return proc, report

    def inspect(self, output):
        proc = self.bootstrap("inspect", "-o", output)
        if proc.returncode != 0:
            raise AssertionError("inspect failed:\n%s" % output_of(proc))
        return output

    def imports(self, *modules):
        code = "; ".join("import %s" % m for m in modules) + "; print('ok')"
        return self.run(["-c", code])

    def installed(self):
        """{canonical name: version} of the venv's site-packages (its .dist-info folders)."""
        proc = self.run(["-c", "import importlib.metadata as m, json; print(json.dumps("
                               "{d.metadata['Name']: d.version for d in m.distributions()}))"])
        data = json.loads(proc.stdout)
        return dict((canonicalize_name(k), v) for k, v in data.items())
