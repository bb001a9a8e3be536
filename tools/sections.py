"""The map of sections at the top of bootstrap/bootstrap.py (issue 16).

    python tools/sections.py            print the sections: number, layer, lines, title
    python tools/sections.py --write    rewrite the map in bootstrap.py so its lines are true
    python tools/sections.py --check    exit 1 when the map is stale (tests/test_layering.py)

bootstrap.py is divided into numbered sections, each opened by a banner line

    # == 3. The standards (pure) =================================================

whose layer is ``pure`` (the deciding core: no disk, no processes, no later section) or
``I/O``. Smaller ``# -- Title ---`` heads inside a section stay as they are. Section 1 starts
at line 1 (the glossary, the version gate and the imports come before its banner's siblings).
The map is a comment block just above the first banner, one line per section; this module
writes it and tests/test_layering.py holds it true. docs/one-file.md explains the layering.
"""

import argparse
import os
import re
import sys

BOOTSTRAP_PY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "bootstrap", "bootstrap.py")
BANNER_RE = re.compile(r"^# == (\d+)\. (.+?) \((pure|I/O)\) =+$")
MAP_FIRST = "# Map of sections (written by `python tools/sections.py --write`; see docs/one-file.md)."
MAP_LAST = "# End of the map."
MAP_HEAD = [
    MAP_FIRST,
    "# A section uses only the sections above it, and a pure one only pure ones; a class, a",
    "# function or a constant lives in the first section that needs it (tests/test_layering.py).",
    "#        lines  layer  section",
]
WIDTH = 95


def banner(number, title, layer):
    """The banner line that opens a section."""
    text = "# == %d. %s (%s) " % (number, title, layer)
    return text + "=" * max(3, WIDTH - len(text))


def sections(lines):
    """[(number, title, layer, first, last)] of the banners in ``lines`` (1-based, inclusive);
    section 1 starts at line 1 and the last one ends at the last line."""
    found = [(int(m.group(1)), m.group(2), m.group(3), index + 1)
             for index, m in enumerate(BANNER_RE.match(line) for line in lines) if m]
    result = []
    for position, (number, title, layer, first) in enumerate(found):
        last = found[position + 1][3] - 1 if position + 1 < len(found) else len(lines)
        result.append((number, title, layer, 1 if position == 0 else first, last))
    return result


def map_span(lines):
    """(start, stop) indexes of the map block in ``lines``, or None."""
    if MAP_FIRST not in lines:
        return None
    start = lines.index(MAP_FIRST)
    return start, lines.index(MAP_LAST, start) + 1


def render_map(found):
    rows = ["#   %5d-%-5d  %-5s  %d. %s" % (first, last, layer, number, title)
            for number, title, layer, first, last in found]
    return MAP_HEAD + rows + [MAP_LAST]


def with_map(text):
    """``text`` with a true map (inserted above the first banner when there is none)."""
    return mapped(text)[0]


def mapped(text):
    """(with_map(text), the map's lines). The map has a line per section, so its length is
    known before its line numbers are: a block of that length goes in first, and the map is
    rendered once."""
    lines = text.split("\n")
    span = map_span(lines)
    if span is None:
        first = next(i for i, line in enumerate(lines) if BANNER_RE.match(line))
        lines[first:first] = [""]  # the blank line between the map and the first banner
        span = (first, first)
    count = len(sections(lines))
    lines[span[0]:span[1]] = [""] * (len(MAP_HEAD) + count + 1)  # MAP_HEAD, the rows, MAP_LAST
    block = render_map(sections(lines))
    lines[span[0]:span[0] + len(block)] = block
    return "\n".join(lines), block


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=BOOTSTRAP_PY)
    parser.add_argument("--write", action="store_true", help="rewrite the map in place")
    parser.add_argument("--check", action="store_true", help="exit 1 when the map is stale")
    options = parser.parse_args(argv)
    with open(options.path, encoding="utf-8", newline="") as stream:
        text = stream.read()
    fresh, block = mapped(text)
    if options.write and fresh != text:
        with open(options.path, "w", encoding="utf-8", newline="") as stream:
            stream.write(fresh)
    elif options.check and fresh != text:
        print("the map of sections in %s is stale: run python tools/sections.py --write"
              % options.path)
        return 1
    for row in block[len(MAP_HEAD):-1]:
        print(row[1:].strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
