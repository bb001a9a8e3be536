"""The layering of bootstrap.py (issue 16; docs/one-file.md).

    TestMap        the map of sections at the top of the file is true, and the banners are
                   numbered in order (a section moved without its number fails)
    TestLayering   no section uses a later one; a pure section uses no I/O section (a name
                   defined at module level and used inside a function counts); and the check
                   itself fails on a small module with wrong references
"""
import ast
import textwrap

from tools import sections

import bootstrap

with open(bootstrap.__file__, encoding="utf-8") as _stream:
    SOURCE = _stream.read()


def _defined(node):
    """Module-level names a top-level statement binds."""
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return [node.name]
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]


def _used(node):
    """Names a top-level statement reads, less the ones a function in it binds for itself."""
    local = set()
    for scope in ast.walk(node):
        if isinstance(scope, (ast.FunctionDef, ast.Lambda)):
            local.update(a.arg for a in ast.walk(scope.args) if isinstance(a, ast.arg))
            for inner in scope.body if isinstance(scope.body, list) else [scope.body]:
                local.update(n.id for n in ast.walk(inner)
                             if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return set(n.id for n in ast.walk(node)
               if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)) - local


def violations(source):
    """[(section, name, used from section)] for each reference the layering forbids."""
    found = sections.sections(source.split("\n"))

    def section_of(line):
        return next(s for s in found if s[3] <= line <= s[4])
    tree = ast.parse(source)
    owner = {}
    for node in tree.body:
        for name in _defined(node):
            owner.setdefault(name, section_of(node.lineno))
    wrong = []
    for node in tree.body:
        here = section_of(node.lineno)
        for name in sorted(_used(node)):
            there = owner.get(name, here)
            if there[0] > here[0] or (here[2] == "pure" and there[2] == "I/O"):
                wrong.append((here[0], getattr(node, "name", node.lineno), name, there[0]))
    return wrong


def map_problems(source):
    """What is wrong with the map of sections and the order of the banners."""
    problems = []
    if sections.with_map(source) != source:
        problems.append("the map of sections is stale: run python tools/sections.py --write")
    numbers = [number for number, _, _, _, _ in sections.sections(source.split("\n"))]
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append("the sections are out of order: %s" % numbers)
    return problems


class TestMap:
    def test_map_is_true_and_sections_in_order(self):
        assert map_problems(SOURCE) == []


class TestLayering:
    def test_no_reference_points_later_or_from_pure_to_io(self):
        assert violations(SOURCE) == []

    def test_wrong_references_are_found(self):
        module = textwrap.dedent("""\
            import os
            %s
            LIMIT = 3
            def parse(text, later=None):
                return text.split() + [LIMIT, later, read()]
            %s
            def read():
                return os.listdir(LIMIT)
            class Reader(object):
                def rows(self):
                    parse = read
                    return parse() + [evaluate(1)]
            %s
            def evaluate(value):
                return [parse(value), Reader, lambda read: read]
            """) % (sections.banner(1, "Parsing", "pure"), sections.banner(2, "Reading", "I/O"),
                    sections.banner(3, "Evaluation", "pure"))
        assert violations(module) == [(1, "parse", "read", 2), (2, "Reader", "evaluate", 3),
                                      (3, "evaluate", "Reader", 2)]
        mapped = sections.with_map(module)
        assert map_problems(mapped) == [] and violations(mapped) == violations(module)
        assert map_problems(mapped.replace("LIMIT = 3", "LIMIT = 3\nSTEP = 1")) == [
            "the map of sections is stale: run python tools/sections.py --write"]
        assert map_problems(mapped.replace("# == 2. Reading", "# == 4. Reading"))[1:] == [
            "the sections are out of order: [1, 4, 3]"]
