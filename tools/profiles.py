"""Profiles for the bundle builder: a file, a one-line target string, or a preset name.

A profile file is what ``bootstrap.py inspect -o`` writes (``sandbox-bootstrap.profile/1``) or
a pex complete-platform file. A target string such as ``cp38-cp38-manylinux_2_31_x86_64`` is
expanded into a full profile: the ordered tags (with packaging, from the glibc, musl or macOS
version it names) and a marker environment derived from it. Presets are stored profile files
in ``tools/presets/``, each noting its source.
"""

import json
import os
import re

from packaging import tags as ptags

HERE = os.path.dirname(os.path.abspath(__file__))
PRESETS = os.path.join(HERE, "presets")
PROFILE_SCHEMA = "sandbox-bootstrap.profile/1"

_TARGET_RE = re.compile(
    r"""^(?P<interpreter>(?P<impl>cp|pp)(?P<major>\d)(?P<minor>\d+))
        -(?P<abi>[a-z0-9_]+)
        -(?P<platform>[a-z0-9_]+)$""", re.VERBOSE)


class ProfileError(ValueError):
    """A --profile that cannot be used: named, with what is wrong."""


def preset_names():
    if not os.path.isdir(PRESETS):
        return []
    return sorted(name[:-5] for name in os.listdir(PRESETS) if name.endswith(".json"))


def _linux_platforms(platform):
    """Every platform a Linux target accepts, best first (as packaging orders them)."""
    many = re.match(r"^manylinux_(\d+)_(\d+)_(\w+)$", platform)
    legacy = {"manylinux2014": (2, 17), "manylinux2010": (2, 12), "manylinux1": (2, 5)}
    legacy_match = re.match(r"^(manylinux2014|manylinux2010|manylinux1)_(\w+)$", platform)
    musl = re.match(r"^musllinux_(\d+)_(\d+)_(\w+)$", platform)
    if many or legacy_match:
        if many:
            major, minor, arch = int(many.group(1)), int(many.group(2)), many.group(3)
        else:
            (major, minor), arch = legacy[legacy_match.group(1)], legacy_match.group(2)
        oldest = 5 if arch in ("x86_64", "i686") else 17
        names = []
        for glibc_minor in range(minor, oldest - 1, -1):
            names.append("manylinux_%d_%d_%s" % (major, glibc_minor, arch))
            alias = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}.get(glibc_minor)
            if major == 2 and alias:
                names.append("%s_%s" % (alias, arch))
        return names + ["linux_%s" % arch], arch, "glibc", "%d.%d" % (major, minor)
    if musl:
        major, minor, arch = int(musl.group(1)), int(musl.group(2)), musl.group(3)
        names = ["musllinux_%d_%d_%s" % (major, m, arch) for m in range(minor, -1, -1)]
        return names + ["linux_%s" % arch], arch, "musl", "%d.%d" % (major, minor)
    plain = re.match(r"^linux_(\w+)$", platform)
    if plain:
        return [platform], plain.group(1), "unknown", None
    return None


def _platforms(platform):
    """(platforms best first, marker facts) of one platform tag."""
    linux = _linux_platforms(platform)
    if linux:
        platforms, arch, libc, libc_version = linux
        return platforms, {"os_name": "posix", "platform_system": "Linux",
                           "sys_platform": "linux", "platform_machine": arch,
                           "libc": {"kind": libc, "version": libc_version}}
    mac = re.match(r"^macosx_(\d+)_(\d+)_(\w+)$", platform)
    if mac:
        version, arch = (int(mac.group(1)), int(mac.group(2))), mac.group(3)
        machine = "arm64" if arch in ("arm64", "universal2") else "x86_64"
        return list(ptags.mac_platforms(version, arch)), {
            "os_name": "posix", "platform_system": "Darwin", "sys_platform": "darwin",
            "platform_machine": machine, "libc": {"kind": None, "version": None}}
    wasm = re.match(r"^(pyodide|pyemscripten|emscripten)_\w+_wasm32$", platform)
    if wasm:  # Pyodide (JupyterLite): no libc, no processes, no compiler
        return [platform], {"os_name": "posix", "platform_system": "Emscripten",
                            "sys_platform": "emscripten", "platform_machine": "wasm32",
                            "libc": {"kind": None, "version": None}}
    windows = {"win_amd64": "AMD64", "win32": "x86", "win_arm64": "ARM64"}
    if platform in windows:
        return [platform], {"os_name": "nt", "platform_system": "Windows",
                            "sys_platform": "win32", "platform_machine": windows[platform],
                            "libc": {"kind": None, "version": None}}
    raise ProfileError("target platform %r is not one this tool knows (manylinux_X_Y_ARCH, "
                       "musllinux_X_Y_ARCH, macosx_X_Y_ARCH, win_amd64, win32, win_arm64, "
                       "pyodide_ABI_wasm32)" % platform)


def profile_from_target(target):
    """A full profile (JSON data) from a one-line target string."""
    match = _TARGET_RE.match(target)
    if not match:
        raise ProfileError("%r is not a target string such as cp311-cp311-manylinux_2_36_x86_64"
                           % target)
    major, minor = int(match.group("major")), int(match.group("minor"))
    platforms, facts = _platforms(match.group("platform"))
    if (major, minor) >= (3, 9):  # packaging 26.3+ (the newest there): native linux_* first
        platforms = ([p for p in platforms if p.startswith("linux_")]
                     + [p for p in platforms if not p.startswith("linux_")])
    if match.group("impl") == "cp":
        abis = [match.group("abi")]
        tags = list(ptags.cpython_tags((major, minor), abis, platforms))
        tags += list(ptags.compatible_tags((major, minor), match.group("interpreter"), platforms))
        implementation, name = "CPython", "cpython"
    else:
        tags = list(ptags.generic_tags(match.group("interpreter"), [match.group("abi")],
                                       platforms))
        tags += list(ptags.compatible_tags((major, minor), "pp3", platforms))
        implementation, name = "PyPy", "pypy"
    full = "%d.%d.0" % (major, minor)
    environment = {
        "implementation_name": name, "implementation_version": full,
        "os_name": facts["os_name"], "platform_machine": facts["platform_machine"],
        "platform_release": "", "platform_system": facts["platform_system"],
        "platform_version": "", "python_full_version": full,
        "platform_python_implementation": implementation,
        "python_version": "%d.%d" % (major, minor), "sys_platform": facts["sys_platform"],
    }
    return {
        "schema": PROFILE_SCHEMA, "target": target,
        "marker_environment": environment,
        "compatible_tags": [str(tag) for tag in tags],
        "python": {"version": full, "derived_from": target},
        "implementation": {"name": name, "interpreter": match.group("interpreter"),
                           "abi": match.group("abi")},
        "libc": facts["libc"], "paths": {}, "pip": None, "installed": [],
        "sandbox": dict({"derived_from_target": True}, **(
            {"kind": "pyodide", "processes": False, "threads": False, "compiler": None}
            if facts["sys_platform"] == "emscripten" else {})),
    }


def load_profile(value):
    """(profile JSON data, how to name it) for a --profile value: file, target or preset."""
    if os.path.isfile(value):
        try:
            with open(value) as f:
                data = json.load(f)
        except (OSError, ValueError) as error:
            raise ProfileError("cannot read profile %s: %s" % (value, error))
        if not isinstance(data, dict) or "compatible_tags" not in data:
            raise ProfileError("%s is not a profile (no compatible_tags)" % value)
        return data, value
    preset = os.path.join(PRESETS, value + ".json")
    if os.path.isfile(preset):
        with open(preset) as f:
            return json.load(f), value
    if _TARGET_RE.match(value):
        return profile_from_target(value), value
    raise ProfileError("--profile %r is neither a file, a preset (%s) nor a target string such "
                       "as cp311-cp311-manylinux_2_36_x86_64" % (value, ", ".join(preset_names())))
