"""Make docs/notebook-reports.png: what a notebook shows of check and install, ok and failed.

    .cache/venv-main/bin/python tests/notebook_screenshot.py [OUTPUT.png]

The notebook of tests/test_notebook.py's TestRendered (REPORT_CELLS: `%run bootstrap.py check
good.tar.gz`, `... check broken.tar.gz`, `... install good.tar.gz`, `... install broken.tar.gz`)
is executed with nbclient in a real kernel (a throwaway venv over .cache/venv-hosts, see
tests/hostkit.py), exported to HTML by nbconvert, and photographed by headless Chromium (Debian's
`chromium` package: `apt-get install chromium`). Chromium runs with an empty profile, no
background networking and every host name unresolvable, and the exported page is stripped of
its external scripts first, so nothing leaves this machine.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

TESTS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TESTS)

import hostkit  # noqa: E402
import test_notebook  # noqa: E402

DEFAULT_OUTPUT = os.path.join(os.path.dirname(TESTS), "docs", "notebook-reports.png")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND",
                  "--hide-scrollbars", "--window-size=1000,1750"]


def offline_html(html):
    """The page without what it would fetch from the internet (require.js, MathJax)."""
    html = re.sub(r"<script[^>]*\ssrc=['\"]https?://[^>]*>\s*</script>", "", html)
    return re.sub(r"<link[^>]*\shref=['\"]https?://[^>]*>", "", html)


def main(output=DEFAULT_OUTPUT):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium is not installed (Debian: apt-get install chromium)")
    hosts, reason = hostkit.hosts_python()
    if hosts is None:
        sys.exit("the test hosts could not be set up: %s" % reason)
    work = tempfile.mkdtemp(prefix="notebook-screenshot-")
    try:
        python = hostkit.make_kernel_venv(os.path.join(work, "venv"), hosts)
        html_path = os.path.join(work, "reports.html")
        test_notebook.render_reports(hosts, python, os.path.join(work, "nb"), html_path)
        with open(html_path, encoding="utf-8") as f:
            page = offline_html(f.read())
        with open(html_path, "w", encoding="utf-8") as f:
            f.write(page)
        profile = os.path.join(work, "chromium-profile")
        os.makedirs(profile)
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
        subprocess.run([chromium] + CHROMIUM_FLAGS + [
            "--user-data-dir=" + profile, "--screenshot=" + os.path.abspath(output),
            "file://" + html_path], check=True, timeout=180, stdin=subprocess.DEVNULL,
            env=hostkit.clean_env(HOME=work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(output)


if __name__ == "__main__":
    main(*sys.argv[1:])
