"""Uploads as everyday tools make them, and the usages the README promises, word for word.

Every archive here is made by the real tool (GNU tar, zip, ...), never by our own code, and
every install runs bootstrap.py as a user does: a script in a pip-less venv, pip's machine-wide
configuration switched off, with the result checked by importing the package in that venv.
"""

import os
import shutil
import subprocess
import sys

import pytest

from installkit import Venv, clean_env, find_python, run
from wheelmaker import make_wheel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOTSTRAP_PY = os.path.join(ROOT, "bootstrap", "bootstrap.py")


def _tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.skip("%s is not installed on this machine" % name)
    return path


@pytest.fixture
def venv(tmp_path):
    return Venv(str(tmp_path / "venv"), find_python("3.11"))


@pytest.fixture
def wheels(tmp_path):
    folder = tmp_path / "wheels"
    folder.mkdir()
    make_wheel(str(folder), "fieldpkg", "1.0", files={"fieldpkg/__init__.py": b"VALUE = 42\n"})
    return folder


def _imports(venv, module="fieldpkg"):
    proc = run([venv.python, "-c", "import %s; print(%s.VALUE)" % (module, module)])
    return proc.returncode == 0 and proc.stdout.strip() == "42"


class TestTarOfAFolder:
    def test_gnu_tar_of_dot_installs(self, tmp_path, venv, wheels):
        """`tar czf b.tgz -C dir .` has a `./` member: the archive's own folder."""
        tar = _tool("tar")
        bundle = tmp_path / "bundle.tar.gz"
        subprocess.run([tar, "czf", str(bundle), "-C", str(wheels), "."], check=True)
        listing = subprocess.run([tar, "tzf", str(bundle)], check=True, stdout=subprocess.PIPE,
                                 universal_newlines=True).stdout.split()
        assert "./" in listing
        proc = run([venv.python, BOOTSTRAP_PY, "install", str(bundle)], cwd=str(tmp_path))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert _imports(venv)


class TestImpliedInstall:
    def test_first_argument_that_is_an_upload_means_install(self, tmp_path, venv, wheels):
        bundle = tmp_path / "bundle.tar.gz"
        subprocess.run([_tool("tar"), "czf", str(bundle), "-C", str(wheels), "."], check=True)
        proc = run([venv.python, BOOTSTRAP_PY, "bundle.tar.gz"], cwd=str(tmp_path))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert proc.stdout.startswith("install: OK")
        assert _imports(venv)

    def test_a_missing_upload_is_a_one_line_error(self, tmp_path, venv):
        proc = run([venv.python, BOOTSTRAP_PY, "nothing-here.tar.gz"], cwd=str(tmp_path))
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr

    def test_no_argument_installs_the_uploads_in_the_current_folder(self, tmp_path, venv, wheels):
        """`python bootstrap.py` alone does what the exec cell does: it finds the uploads."""
        bundle = tmp_path / "bundle.tar.gz"
        subprocess.run([_tool("tar"), "czf", str(bundle), "-C", str(wheels), "."], check=True)
        shutil.rmtree(str(wheels))  # only the upload is left in the folder
        proc = run([venv.python, BOOTSTRAP_PY], cwd=str(tmp_path))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert _imports(venv)

    def test_no_argument_and_no_upload_describes_the_interpreter(self, tmp_path, venv):
        proc = run([venv.python, BOOTSTRAP_PY], cwd=str(tmp_path))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "No bundle found" in proc.stdout
        assert (tmp_path / "sandbox-profile.json").is_file()
