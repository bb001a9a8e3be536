"""The one gate from untrusted names to paths (bootstrap.contained_path).

The oracle is the file system itself: whatever the gate accepts must resolve, through
os.path.realpath of a real folder, to a path strictly inside the root.
"""

import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import bootstrap

HOSTILE = [
    "", "/", "/etc/passwd", "//server/share", "..", "../x", "a/../../x", "a/..", "./..",
    "C:x", "c:/windows", "C:\\windows\\x", "a\\..\\..\\x", "\\\\server\\share", "x\0y",
    "a" * 256, "d/" + "b" * 300 + "/f", ".", "./", "././.",
    ".bootstrap-staging/x/READY", "pkg/.bootstrap-staging", ".bootstrap.lock",
    "\u00e9" * 128, "a/" + "\u00e9" * 128 + "/b",  # 128 characters, 256 bytes in UTF-8
]
FINE = [("a", ["a"]), ("a/b.py", ["a", "b.py"]), ("./a//b/", ["a", "b"]),
        ("a\\b", ["a", "b"]), ("é/ü.py", ["é", "ü.py"]), ("a" * 255, ["a" * 255]),
        ("..a/b..", ["..a", "b.."]), ("a/" + "\u00e9" * 127, ["a", "\u00e9" * 127])]


class TestContainedPath:
    @pytest.mark.parametrize("name", HOSTILE)
    def test_refuses_names_that_could_leave_or_are_reserved(self, tmp_path, name):
        with pytest.raises(bootstrap.UnsafeMemberError) as raised:
            bootstrap.contained_path(str(tmp_path), name, "RECORD entry", "x.whl")
        assert raised.value.code == "unsafe-archive-member"
        assert "x.whl" in str(raised.value)

    @pytest.mark.parametrize("name,parts", FINE)
    def test_keeps_ordinary_names(self, tmp_path, name, parts):
        assert bootstrap.contained_path(str(tmp_path), name) == os.path.join(str(tmp_path), *parts)

    def test_reserved_names_may_be_allowed_for_own_state(self, tmp_path):
        path = bootstrap.contained_path(str(tmp_path), ".bootstrap-staging/a", reserved=False)
        assert path == os.path.join(str(tmp_path), ".bootstrap-staging", "a")

    @settings(max_examples=400, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.text(alphabet=st.sampled_from(list("ab./\\:C\0é")), max_size=24))
    def test_whatever_it_accepts_stays_inside(self, tmp_path, name):
        root = os.path.realpath(str(tmp_path))
        try:
            path = bootstrap.contained_path(root, name)
        except bootstrap.UnsafeMemberError:
            return
        resolved = os.path.realpath(path)
        assert resolved.startswith(root + os.sep), (name, resolved)
