"""Helpers of tests/test_notebook.py and tests/test_mcp.py: the real hosts bootstrap.py meets.

The hosts are real programs, not mocks: an ipykernel driven through ``jupyter_client`` (or
executing a notebook with ``nbclient``, exported by ``nbconvert``), and the official ``mcp``
SDK's stdio client. They live in one cached virtual environment, ``.cache/venv-hosts``, made
once with ``python -m venv`` and ``pip install ipykernel jupyter_client mcp jsonschema nbclient
nbconvert`` (with this machine's ordinary pip configuration, for this download step only) and
reused while its stamp file matches. When that set-up cannot be done (no network),
``require_hosts()`` skips with a plain reason. Nothing is ever installed into this
machine's own site-packages.

The kernel under test never runs from the cached venv itself: ``make_kernel_venv()`` creates a
throwaway venv (no pip) whose site-packages holds only a .pth line that points at the cached
venv's site-packages. ipykernel imports from there, while whatever bootstrap installs lands in
the throwaway venv and disappears with the test's temporary folder.

The test process (``.cache/venv-main``) does not import jupyter_client or mcp: it starts this
file as a script under the cached venv's python (``python hostkit.py drive-kernel CONFIG``,
``python hostkit.py mcp-session CONFIG`` or ``python hostkit.py render-notebook CONFIG``) and
talks to it in JSON lines. Everything the test
side uses is standard library only.
"""

import fcntl
import json
import os
import pty
import queue
import re
import select
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
BOOTSTRAP_DIR = os.path.join(ROOT, "bootstrap")
BOOTSTRAP_PY = os.path.join(BOOTSTRAP_DIR, "bootstrap.py")
CACHE = os.path.join(ROOT, ".cache")
HOSTS_VENV = os.path.join(CACHE, "venv-hosts")
HOST_REQUIREMENTS = ("ipykernel", "jupyter_client", "mcp", "jsonschema", "nbclient",
                     "nbconvert")
STAMP_NAME = ".hostkit-stamp.json"
PIP_TIMEOUT = 900
TIMEOUT = 180
KERNEL_NAME = "sandbox-bootstrap-test"

#: IPython's own bookkeeping names in a kernel's namespace (input/output history).
IPYTHON_BOOKKEEPING = re.compile(r"^(_|__|___|_i|_ii|_iii|_i\d+|_\d+|In|Out|_ih|_oh|_dh)$")


# -- environments ----------------------------------------------------------------------------------


def clean_env(**extra):
    """The environment of a user's sandbox: none of this machine's pip or Python settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "PYTHON", "JPY_", "JUPYTER", "IPYTHON"))}
    env.pop("VIRTUAL_ENV", None)
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def venv_python(venv):
    return os.path.join(venv, "bin", "python")


def purelib_of(python):
    """The purelib folder of an interpreter (asked in a subprocess)."""
    proc = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                                         "['purelib'])"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=TIMEOUT, env=clean_env())
    if proc.returncode != 0:
        raise RuntimeError("cannot ask %s for its purelib: %s" % (python, proc.stderr))
    return proc.stdout.strip()


def _stamp():
    return {"requirements": list(HOST_REQUIREMENTS), "python": sys.version.split()[0],
            "base": getattr(sys, "_base_executable", sys.executable)}


_HOSTS = {}  # this process's verdict: {"python": path} or {"reason": text}


def hosts_python():
    """The python of .cache/venv-hosts, set up once; returns (path, None) or (None, reason)."""
    if not _HOSTS:
        try:
            _HOSTS["python"] = _ensure_hosts_venv()
        except Exception as error:  # no network, no venv module, ...: the tests skip
            _HOSTS["reason"] = str(error)
    return _HOSTS.get("python"), _HOSTS.get("reason")


def require_hosts(note=""):
    """The cached hosts venv's python, or pytest.skip with a plain reason (and ``note``)."""
    python, reason = hosts_python()
    if python is None:
        import pytest
        pytest.skip("the test hosts (%s) could not be installed into %s: %s%s" % (
            " ".join(HOST_REQUIREMENTS), HOSTS_VENV, reason, note))
    return python


def _ensure_hosts_venv():
    os.makedirs(CACHE, exist_ok=True)
    with open(HOSTS_VENV + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp_path = os.path.join(HOSTS_VENV, STAMP_NAME)
        try:
            with open(stamp_path) as f:
                if json.load(f) == _stamp() and os.path.exists(venv_python(HOSTS_VENV)):
                    return venv_python(HOSTS_VENV)
        except (OSError, ValueError):
            pass
        shutil.rmtree(HOSTS_VENV, ignore_errors=True)
        try:
            _run_setup([sys.executable, "-m", "venv", HOSTS_VENV], "creating the venv")
            _run_setup([venv_python(HOSTS_VENV), "-m", "pip", "install", "--retries", "1",
                        "--disable-pip-version-check"] + list(HOST_REQUIREMENTS),
                       "pip install")
        except Exception:
            shutil.rmtree(HOSTS_VENV, ignore_errors=True)
            raise
        with open(stamp_path, "w") as f:
            json.dump(_stamp(), f)
        return venv_python(HOSTS_VENV)


def _run_setup(cmd, what):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.pop("VIRTUAL_ENV", None)
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, env=env,
                              timeout=PIP_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise RuntimeError("%s timed out after %ds" % (what, PIP_TIMEOUT))
    if proc.returncode != 0:
        tail = [line for line in proc.stdout.strip().splitlines() if line.strip()][-1:]
        raise RuntimeError("%s failed (exit %d): %s" % (what, proc.returncode,
                                                        " ".join(tail) or "no output"))


def make_overlay_venv(folder, packages_of):
    """A throwaway venv (no pip) on the base interpreter of ``packages_of``, that imports the
    packages of ``packages_of`` through a .pth line; returns its python. What is installed
    into it lands in its own site-packages, never in ``packages_of``'s."""
    base = subprocess.run([packages_of, "-c", "import sys; print(sys._base_executable)"],
                          stdout=subprocess.PIPE, universal_newlines=True, env=clean_env(),
                          timeout=TIMEOUT, check=True).stdout.strip()
    subprocess.run([base, "-m", "venv", "--without-pip", str(folder)], env=clean_env(),
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=TIMEOUT,
                   check=True)
    python = venv_python(str(folder))
    with open(os.path.join(purelib_of(python), "_sandbox_bootstrap_overlay.pth"), "w") as f:
        f.write(purelib_of(packages_of) + "\n")
    return python


def make_kernel_venv(folder, hosts):
    """The venv a test kernel runs on: ipykernel from the hosts venv, installs its own."""
    return make_overlay_venv(folder, hosts)


# -- bundles ---------------------------------------------------------------------------------------


def pack_bundle(path, files, arcdir="wheels", manifest=None):
    """A .tar.gz holding ``files`` under ``arcdir/`` (and a manifest.json when given)."""
    path = str(path)
    with tarfile.open(path, "w:gz") as archive:
        for file in files:
            archive.add(str(file), arcname="%s/%s" % (arcdir, os.path.basename(str(file))))
        if manifest is not None:
            data = json.dumps(manifest).encode("utf-8")
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            import io
            archive.addfile(info, io.BytesIO(data))
    return path


def make_sdist(directory, name, version, setup_py, module_source):
    """A setuptools sdist ``name-version.tar.gz`` (PKG-INFO, pyproject.toml, setup.py and one
    module named like the project)."""
    import io
    module = name.replace("-", "_")
    base = "%s-%s" % (module, version)
    members = {
        "PKG-INFO": "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version),
        "pyproject.toml": '[build-system]\nrequires = ["setuptools"]\n'
                          'build-backend = "setuptools.build_meta"\n',
        "setup.py": setup_py,
        "%s.py" % module: module_source,
    }
    path = os.path.join(str(directory), base + ".tar.gz")
    with tarfile.open(path, "w:gz") as archive:
        for member, text in sorted(members.items()):
            data = text.encode("utf-8")
            info = tarfile.TarInfo("%s/%s" % (base, member))
            info.size = len(data)
            info.mtime = 315532800
            archive.addfile(info, io.BytesIO(data))
    return path


# -- one kernel, driven from the test process ------------------------------------------------------


class Cell(object):
    """What one executed cell produced: the execute_reply's status and every iopub output."""

    def __init__(self, data):
        self.status = data.get("status")
        self.reply = data.get("reply") or {}
        self.outputs = data.get("outputs") or []

    def _stream(self, name):
        return "".join(o["content"]["text"] for o in self.outputs
                       if o["type"] == "stream" and o["content"].get("name") == name)

    @property
    def stdout(self):
        return self._stream("stdout")

    @property
    def stderr(self):
        return self._stream("stderr")

    @property
    def displays(self):
        """The data bundles ({mime: value}) of display_data messages, in order."""
        return [o["content"].get("data") or {} for o in self.outputs
                if o["type"] in ("display_data", "update_display_data")]

    @property
    def results(self):
        """The data bundles of execute_result messages."""
        return [o["content"].get("data") or {} for o in self.outputs
                if o["type"] == "execute_result"]

    @property
    def errors(self):
        return [o["content"] for o in self.outputs if o["type"] == "error"]

    @property
    def text(self):
        """Everything a user would see: streams, every text mime of every display, errors."""
        parts = []
        for output in self.outputs:
            content = output["content"]
            if output["type"] == "stream":
                parts.append(content.get("text", ""))
            elif output["type"] == "error":
                parts.append("%s: %s\n%s" % (content.get("ename"), content.get("evalue"),
                                             "\n".join(content.get("traceback") or [])))
            else:
                for mime, value in sorted((content.get("data") or {}).items()):
                    if mime.startswith("text/") and isinstance(value, str):
                        parts.append(value)
        reply = self.reply
        if reply.get("status") == "error":
            parts.append("%s: %s\n%s" % (reply.get("ename"), reply.get("evalue"),
                                         "\n".join(reply.get("traceback") or [])))
        return "\n".join(parts)

    def __repr__(self):
        return "Cell(status=%r, text=%r)" % (self.status, self.text[-3000:])


def without_mnt_data(folder=None):
    """A command prefix that runs a child as on a machine without /mnt/data: in its own mount
    namespace, an empty ``folder`` over /mnt (bootstrap looks for uploads in /mnt/data and
    writes the profile there). [] on a machine without /mnt/data. With /mnt/data but no
    ``unshare``, the calling test is skipped with that reason (a missing tool, said plainly)."""
    if not os.path.isdir("/mnt/data"):
        return []
    unshare = shutil.which("unshare")
    if unshare is None:
        import pytest
        pytest.skip("this machine has /mnt/data and no unshare(1) to hide it from the kernel")
    if folder is None:
        folder = tempfile.mkdtemp(prefix="empty-mnt-")
    os.makedirs(folder, exist_ok=True)
    flags = "-m" if os.geteuid() == 0 else "-rm"  # a user namespace only when not root
    return [unshare, flags, "sh", "-c", 'mount --bind "$0" /mnt && exec "$@"', str(folder)]


class KernelSession(object):
    """A real ipykernel on ``python`` with ``cwd``, run by a jupyter_client driver process."""

    def __init__(self, hosts, python, cwd, workdir, env=None):
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        share = os.path.join(self.workdir, "share", "jupyter")
        spec_dir = os.path.join(share, "kernels", KERNEL_NAME)
        os.makedirs(spec_dir, exist_ok=True)
        with open(os.path.join(spec_dir, "kernel.json"), "w") as f:
            argv = without_mnt_data(os.path.join(self.workdir, "empty-mnt")) + [
                python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
            json.dump({"argv": argv,
                       "display_name": "sandbox-bootstrap test", "language": "python"}, f)
        dirs = dict((name, os.path.join(self.workdir, name.lower()))
                    for name in ("JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR",
                                 "IPYTHONDIR"))
        for folder in dirs.values():
            os.makedirs(folder, exist_ok=True)
        kernel_env = clean_env(**dirs)
        kernel_env.update(env or {})
        config = {"kernel_name": KERNEL_NAME, "cwd": str(cwd), "env": kernel_env}
        driver_env = clean_env(JUPYTER_PATH=share, **dirs)
        self.stderr_path = os.path.join(self.workdir, "driver-stderr.txt")
        self._stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(
            [hosts, os.path.abspath(__file__), "drive-kernel", json.dumps(config)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            universal_newlines=True, env=driver_env, cwd=self.workdir)
        self._lines = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        started = self._receive(TIMEOUT)
        if not started.get("ready"):
            self.close()
            raise RuntimeError("the kernel did not start: %s" % started)

    def _pump(self):
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _receive(self, timeout):
        try:
            line = self._lines.get(timeout=timeout + 30)
        except queue.Empty:
            line = None
        if line is None:
            return {"driver_error": "no answer from the kernel driver; its stderr: %s"
                    % self._driver_stderr()}
        return json.loads(line)

    def _driver_stderr(self):
        try:
            with open(self.stderr_path) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def _request(self, request, timeout):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._receive(timeout)

    def execute(self, code, timeout=TIMEOUT):
        """Run one cell (stored in history, as a user's cell is); returns a Cell."""
        answer = self._request({"op": "execute", "code": code, "timeout": timeout}, timeout)
        if "driver_error" in answer:
            raise RuntimeError(answer["driver_error"])
        return Cell(answer)

    def alive(self):
        """Whether the kernel process lives and answers a cell."""
        answer = self._request({"op": "alive"}, 60)
        if not answer.get("alive"):
            return False
        cell = self.execute("1+1", timeout=60)
        return cell.status == "ok" and any(r.get("text/plain") == "2" for r in cell.results)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()


def exec_cell(path=BOOTSTRAP_PY):
    """The cell a user types to run an uploaded bootstrap.py."""
    return "exec(open(%r).read())" % str(path)


def _kernel_dirs(workdir, python):
    """(JUPYTER_PATH, {JUPYTER_*/IPYTHONDIR: folder}) of a private Jupyter set-up in
    ``workdir`` whose kernel spec KERNEL_NAME runs ipykernel on ``python``."""
    share = os.path.join(str(workdir), "share", "jupyter")
    spec_dir = os.path.join(share, "kernels", KERNEL_NAME)
    os.makedirs(spec_dir, exist_ok=True)
    with open(os.path.join(spec_dir, "kernel.json"), "w") as f:
        json.dump({"argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                   "display_name": "sandbox-bootstrap test", "language": "python"}, f)
    dirs = dict((name, os.path.join(str(workdir), name.lower()))
                for name in ("JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR",
                             "IPYTHONDIR"))
    for folder in dirs.values():
        os.makedirs(folder, exist_ok=True)
    return share, dirs


def render_notebook(hosts, python, cells, cwd, workdir, html_path, timeout=TIMEOUT):
    """Execute a notebook of ``cells`` (code) with nbclient on a kernel running on ``python``
    in ``cwd``, and write nbconvert's HTML (the classic "lab" template) to ``html_path``.
    Returns the executed notebook as JSON (nbformat 4)."""
    share, dirs = _kernel_dirs(workdir, python)
    config = {"kernel_name": KERNEL_NAME, "cwd": str(cwd), "cells": list(cells),
              "html": str(html_path), "timeout": timeout}
    proc = subprocess.run([hosts, os.path.abspath(__file__), "render-notebook",
                           json.dumps(config)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          env=clean_env(JUPYTER_PATH=share, **dirs), cwd=str(workdir),
                          timeout=timeout * (len(cells) + 1))
    if proc.returncode != 0:
        raise AssertionError("rendering the notebook failed (exit %d)\n%s" % (
            proc.returncode, proc.stderr[-5000:]))
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- a CLI with a terminal on stderr ---------------------------------------------------------------


def run_with_tty_stderr(cmd, cwd=None, env=None, timeout=TIMEOUT):
    """Run ``cmd`` with stderr on a pseudo-terminal and stdout on a pipe: (rc, stdout, tty)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(c) for c in cmd], cwd=str(cwd) if cwd else None,
                            env=env or clean_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    out_chunks, tty_chunks = [], []
    out_thread = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()),
                                  daemon=True)
    out_thread.start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every writer of the terminal has closed it
                    break
                if not data:
                    break
                tty_chunks.append(data)
            elif proc.poll() is not None and not out_thread.is_alive():
                # drain what is left, then stop
                while select.select([master], [], [], 0.1)[0]:
                    try:
                        data = os.read(master, 65536)
                    except OSError:
                        data = b""
                    if not data:
                        break
                    tty_chunks.append(data)
                break
        else:
            proc.kill()
    finally:
        os.close(master)
    proc.wait(timeout=timeout)
    out_thread.join(timeout)
    return (proc.returncode, b"".join(out_chunks).decode("utf-8", "replace"),
            b"".join(tty_chunks).decode("utf-8", "replace"))


# -- an MCP client session with the official SDK ---------------------------------------------------


def mcp_session(hosts, server_command, env, calls, workdir, timeout=TIMEOUT):
    """Run one real MCP client session (the ``mcp`` SDK's stdio_client and ClientSession) under
    the hosts venv against ``server_command``; ``calls`` is a list of [tool, arguments].

    Returns {"initialize": ..., "tools": [...], "calls": [{"result": ...} or {"error": ...}],
    "ping": ...}, every SDK object dumped in its wire shape (camelCase)."""
    config = {"command": server_command[0], "args": list(server_command[1:]), "env": env,
              "cwd": str(workdir), "calls": calls}
    proc = subprocess.run([hosts, os.path.abspath(__file__), "mcp-session", json.dumps(config)],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          env=clean_env(), cwd=str(workdir), timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError("the MCP client session failed (exit %d)\n--- stdout\n%s\n"
                             "--- stderr\n%s" % (proc.returncode, proc.stdout,
                                                 proc.stderr[-5000:]))
    return json.loads(proc.stdout.strip().splitlines()[-1])


# == The drivers: run under .cache/venv-hosts, never imported by the test process ==================


def _drive_kernel(config):
    """JSON lines on stdin ({"op": "execute"|"alive"}), one JSON answer per line on stdout."""
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever jupyter_client prints must not mix with the answers
    sys.stdout = sys.stderr
    from jupyter_client import KernelManager
    manager = KernelManager(kernel_name=config["kernel_name"])
    manager.start_kernel(cwd=config["cwd"], env=config["env"])
    client = manager.client()
    client.start_channels()

    def answer(data):
        out.write(json.dumps(data) + "\n")
        out.flush()

    try:
        client.wait_for_ready(timeout=TIMEOUT)
        answer({"ready": True})
        for line in sys.stdin:
            request = json.loads(line)
            if request["op"] == "alive":
                answer({"alive": bool(manager.is_alive())})
                continue
            outputs = []

            def hook(message):
                kind = message["header"]["msg_type"]
                if kind in ("stream", "display_data", "update_display_data", "execute_result",
                            "error"):
                    outputs.append({"type": kind, "content": message["content"]})

            try:
                reply = client.execute_interactive(request["code"], store_history=True,
                                                   allow_stdin=False, timeout=request["timeout"],
                                                   output_hook=hook)
                content = reply["content"]
                answer({"status": content.get("status"), "outputs": outputs,
                        "reply": {k: content.get(k) for k in ("status", "ename", "evalue",
                                                              "traceback")}})
            except Exception as error:  # a timeout or a dead kernel
                answer({"status": "driver-error: %s: %s" % (type(error).__name__, error),
                        "outputs": outputs})
    except Exception as error:
        answer({"ready": False, "error": "%s: %s" % (type(error).__name__, error)})
    finally:
        try:
            client.stop_channels()
        finally:
            manager.shutdown_kernel(now=False)


def _wire(obj):
    """An SDK (pydantic) object in its wire shape."""
    return obj.model_dump(mode="json", by_alias=True, exclude_none=True)


def _run_mcp_session(config):
    import anyio
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    async def session():
        params = StdioServerParameters(command=config["command"], args=config["args"],
                                       env=config["env"], cwd=config["cwd"])
        result = {"calls": []}
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as client:
                result["initialize"] = _wire(await client.initialize())
                result["tools"] = [_wire(t) for t in (await client.list_tools()).tools]
                for name, arguments in config["calls"]:
                    try:
                        result["calls"].append(
                            {"result": _wire(await client.call_tool(name, arguments))})
                    except Exception as error:  # a JSON-RPC error: the SDK raises it
                        data = getattr(error, "error", None)
                        result["calls"].append({"error": {
                            "type": type(error).__name__,
                            "code": getattr(data, "code", None),
                            "message": getattr(data, "message", str(error))}})
                result["ping"] = _wire(await client.send_ping())
        return result

    print(json.dumps(anyio.run(session)))


def _render_notebook(config):
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in config["cells"]]
    notebook.metadata["kernelspec"] = {"name": config["kernel_name"], "language": "python",
                                       "display_name": "Python 3"}
    client = NotebookClient(notebook, kernel_name=config["kernel_name"],
                            timeout=config["timeout"], allow_errors=True,
                            resources={"metadata": {"path": config["cwd"]}})
    client.execute()
    html, _ = HTMLExporter().from_notebook_node(notebook)
    with open(config["html"], "w", encoding="utf-8") as f:
        f.write(html)
    print(json.dumps(notebook))


if __name__ == "__main__":
    if sys.argv[1] == "render-notebook":
        _render_notebook(json.loads(sys.argv[2]))
    elif sys.argv[1] == "drive-kernel":
        _drive_kernel(json.loads(sys.argv[2]))
    elif sys.argv[1] == "mcp-session":
        _run_mcp_session(json.loads(sys.argv[2]))
    else:
        sys.exit("usage: hostkit.py drive-kernel|mcp-session|render-notebook CONFIG")
