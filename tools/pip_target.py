"""Run pip as if it ran on the target interpreter (what pex does for "complete platforms").

    python pip_target.py CONFIG.json PIP-ARGS...

or, once per process, in the caller's own process: ``run_in_process(CONFIG.json, PIP-ARGS,
environment)`` (tools/fetch.py's first pip run: pip's imports, half of a resolution's CPU time,
then share the interpreter and the standard library the builder has loaded already).

CONFIG.json (written by tools/fetch.py) holds the target's PEP 508 marker environment, its
wheel tags best first, its Python version, optionally a folder of stub ``.dist-info``
directories that stand for the sandbox's installed distributions, and the path of a JSON-lines
file where sdists whose metadata cannot be prepared on this machine are recorded.

Patches, each on one documented seam of pip, before pip's own main() runs:

* ``pip._vendor.packaging.markers.default_environment`` returns the target's environment, so
  every marker (``importlib-metadata; python_version < "3.10"``) is evaluated for the target;
* ``TargetPython.get_tags`` (``get_sorted_tags``/``get_unsorted_tags`` on newer pip) returns the
  target's tags, and ``py_version_info`` is the target's, so wheels and Requires-Python are
  judged for the target (no --platform/--abi flags, so sdists stay allowed);
* the default environment of installed distributions is the stub folder: pip's resolver then
  keeps what the sandbox has when it satisfies, as pip would in the sandbox itself;
* preparing an sdist's metadata that fails here (a setup.py that refuses this interpreter) is
  recorded in the failures file (project, version, URL) before pip reports its error;
* every file pip downloads while it resolves is kept (hard-linked) in ``keep_dir``, so that a
  dry run's downloads need no second pip process (the caller hashes each kept file once before
  it ships it: a file changed after pip kept it is downloaded again); the distribution pip
  prepared from it is the one ``--report`` describes (pip would otherwise open every wheel
  twice more: once for the report, once for its "Would install" line).
"""

import json
import os
import sys


def _patch_markers(environment):
    from pip._vendor.packaging import markers

    def default_environment():
        return dict(environment)

    markers.default_environment = default_environment


def _patch_target_python(tags, version_info):
    from pip._internal.models import target_python
    from pip._vendor.packaging.tags import Tag

    parsed = []
    for text in tags:
        interpreter, abi, platform = text.split("-")
        parsed.append(Tag(interpreter, abi, platform))
    cls = target_python.TargetPython
    original_init = cls.__init__

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.py_version_info = tuple(version_info)
        self.py_version = ".".join(str(part) for part in version_info[:2])

    unsorted = set(parsed)  # made once, as pip caches its own: pip asks for it per wheel link

    def get_tags(self):
        return parsed

    def get_unsorted_tags(self):
        return unsorted

    cls.__init__ = __init__
    for name, function in (("get_tags", get_tags), ("get_sorted_tags", get_tags),
                           ("get_unsorted_tags", get_unsorted_tags)):
        if hasattr(cls, name):
            setattr(cls, name, function)


def _patch_installed(folder):
    from pip._internal import metadata
    backends = ("importlib", "pkg_resources")
    uses_importlib = getattr(metadata, "_should_use_importlib_metadata", None)
    if uses_importlib is not None:  # only the backend pip uses (pkg_resources takes ~10 ms)
        backends = ("importlib",) if uses_importlib() else ("pkg_resources",)
    for backend_name in backends:
        try:
            backend = __import__("pip._internal.metadata." + backend_name,
                                 fromlist=["Environment"])
        except ImportError:
            continue
        environment = backend.Environment

        def default(cls, _folder=folder):
            return cls.from_paths([_folder])

        environment.default = classmethod(default)


def _patch_sdist_failures(path):
    from pip._internal.distributions import sdist

    original = sdist.SourceDistribution.prepare_distribution_metadata

    def prepare_distribution_metadata(self, *args, **kwargs):
        try:
            return original(self, *args, **kwargs)
        except Exception:
            req = self.req
            link = getattr(req, "link", None)
            record = {"name": req.name, "url": link.url_without_fragment if link else None,
                      "filename": link.filename if link else None}
            with open(path, "a") as f:
                f.write(json.dumps(record) + "\n")
            raise

    sdist.SourceDistribution.prepare_distribution_metadata = prepare_distribution_metadata


def _patch_keep_downloads(folder):
    from pip._internal.operations import prepare

    original = prepare.RequirementPreparer._prepare_linked_requirement

    def _prepare_linked_requirement(self, req, *args, **kwargs):
        dist = original(self, req, *args, **kwargs)
        req._sandbox_prepared = dist  # what get_dist() would read again from the same file
        path, link = getattr(req, "local_file_path", None), getattr(req, "link", None)
        if path and link is not None and os.path.isfile(path) and (
                os.path.basename(path) == link.filename):
            target = os.path.join(folder, link.filename)
            if not os.path.exists(target):
                os.makedirs(folder, exist_ok=True)
                link_or_copy(path, target)
        return dist

    prepare.RequirementPreparer._prepare_linked_requirement = _prepare_linked_requirement
    _patch_get_dist()


def link_or_copy(source, target):
    """A hard link (no second copy of a large wheel), or a copy across file systems."""
    try:
        os.link(source, target)
    except OSError:
        import shutil
        shutil.copy2(source, target)


def _patch_get_dist():
    """``InstallRequirement.get_dist`` gives the distribution pip prepared for the requirement
    (the same file, read once) instead of opening it again."""
    from pip._internal.req import req_install

    cls = req_install.InstallRequirement
    original = cls.get_dist

    def get_dist(self):
        prepared = getattr(self, "_sandbox_prepared", None)
        return prepared if prepared is not None else original(self)

    cls.get_dist = get_dist


def main(argv):
    with open(argv[0]) as f:
        config = json.load(f)
    _patch_markers(config["marker_environment"])
    _patch_target_python(config["tags"], config["python_version"])
    if config.get("installed_dir"):
        _patch_installed(config["installed_dir"])
    if config.get("failures"):
        _patch_sdist_failures(config["failures"])
    if config.get("keep_dir"):
        _patch_keep_downloads(config["keep_dir"])
    from pip._internal.cli.main import main as pip_main
    return pip_main(list(argv[1:]))


_RAN_IN_PROCESS = []  # the patches are for good: a process runs pip this way once


def can_run_in_process():
    """Whether run_in_process may run: not yet in this process, and file descriptors 1 and 2
    (which it redirects meanwhile) are open."""
    if _RAN_IN_PROCESS:
        return False
    try:
        os.fstat(1)
        os.fstat(2)
    except OSError:
        return False
    return True


def run_in_process(config, arguments, environment=None):
    """``main([config] + arguments)`` in this process, as the command line runs it in its own:
    ``environment`` added to os.environ meanwhile, file descriptors 1 and 2 (pip's output, and
    that of any process it starts) into one file. Returns (exit code, that output). Once per
    process (can_run_in_process): the patches stay, and pip's main() is not made to run
    twice in one interpreter."""
    import locale
    import tempfile
    if not can_run_in_process():
        raise RuntimeError("pip ran in this process already" if _RAN_IN_PROCESS else
                           "file descriptor 1 or 2 is closed")
    _RAN_IN_PROCESS.append(config)
    saved_environ, saved_locale = dict(os.environ), locale.setlocale(locale.LC_ALL)
    os.environ.update(environment or {})
    with tempfile.TemporaryFile() as output, _Interrupts() as interrupts:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
        saved = [os.dup(1), os.dup(2)]
        os.dup2(output.fileno(), 1)
        os.dup2(output.fileno(), 2)
        try:
            code = main([config] + list(arguments))
        except SystemExit as exit:  # pip's own usage errors
            code = exit.code if isinstance(exit.code, int) else 1
        finally:
            for stream in (sys.stdout, sys.stderr):
                if stream is not None:
                    stream.flush()
            for fd, copy in ((1, saved[0]), (2, saved[1])):
                os.dup2(copy, fd)
                os.close(copy)
            os.environ.clear()
            os.environ.update(saved_environ)
            locale.setlocale(locale.LC_ALL, saved_locale)  # pip's main() sets the user's
        interrupts.reraise()
        output.seek(0)
        return code, output.read().decode("utf-8", "replace")


class _Interrupts(object):
    """Ctrl-C during an in-process pip run: pip turns KeyboardInterrupt into an exit code,
    where its own process would have been interrupted; reraise() raises it again after."""

    def __init__(self):
        self.seen = False
        self._previous = None

    def __enter__(self):
        import signal
        try:
            self._previous = signal.signal(signal.SIGINT, self._interrupted)
        except ValueError:  # not the main thread: Ctrl-C does not come here anyway
            self._previous = None
        return self

    def _interrupted(self, signum, frame):
        self.seen = True
        raise KeyboardInterrupt

    def __exit__(self, *exc):
        import signal
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def reraise(self):
        if self.seen:
            raise KeyboardInterrupt


if __name__ == "__main__":
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(
        os.path.abspath(__file__))]  # this folder is not a package pip should see
    sys.exit(main(sys.argv[1:]))
