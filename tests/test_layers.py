"""The package's imports, counting those inside functions: no circle, and every import goes
down the layers (README, Layout). Read from the source with ``ast``: nothing is imported.

A new module needs a line in :data:`LAYERS` (the test names it until it has one). A module
may import modules of its own layer and of the layers below; the adapters in ``backends/``
(installed as ``d2l_optim.backends``) import the core up to :data:`BACKENDS_IMPORT_UP_TO`,
and the core reaches them only by name, through ``backend.load_backend``.
"""
from __future__ import annotations

import ast
import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: lowest first: (layer, module name patterns, fnmatch style)
LAYERS: list[tuple[str, list[str]]] = [
    ('rules and ops', [
        'd2l_optim',        # the package itself imports nothing: its public names load by name
        'd2l_optim.rules', 'd2l_optim.hyperparams', 'd2l_optim.ops', 'd2l_optim.schedulers',
        'd2l_optim.mistakes', 'd2l_optim.mistakes.*', 'd2l_optim.i18n',
    ]),
    ('data, plotting, files', [
        'd2l_optim.data', 'd2l_optim.fashion_mnist', 'd2l_optim.plotting', 'd2l_optim.files',
        'd2l_optim.output_folders', 'd2l_optim.interrupts', 'd2l_optim.workers', 'd2l_optim.report',
        'd2l_optim.quiet_import',
    ]),
    ("the book's functions and the adapter contract", [
        'd2l_optim.backend', 'd2l_optim.book', 'd2l_optim.harness', 'd2l_optim.airfoil',
        'd2l_optim.trajectories', 'd2l_optim.train_checks', 'd2l_optim.compiled',
        'd2l_optim.classify', 'd2l_optim.optimizers',
    ]),
    ('checker, sweeps, display', [
        'd2l_optim.checker', 'd2l_optim.checker.*', 'd2l_optim.sweeps', 'd2l_optim.sweeps.*',
        'd2l_optim.display',
        'd2l_optim.sliders', 'd2l_optim.zoo', 'd2l_optim.twolayer',
    ]),
    ("the chapter's names bound to a backend", ['d2l_optim.book_api']),
    ('sections, lab, reproduce, bench', [
        'd2l_optim.sections', 'd2l_optim.sections.*', 'd2l_optim.lab', 'd2l_optim.lab_*',
        'd2l_optim.grading', 'd2l_optim.feedback', 'd2l_optim.sandbox',
        'd2l_optim.bench', 'd2l_optim.bench.*',
        'd2l_optim.reproduce', 'd2l_optim.reproduce.*',
    ]),
    ('commands and cli', [
        'd2l_optim.commands', 'd2l_optim.commands.*', 'd2l_optim.cli', 'd2l_optim.__main__',
    ]),
]
#: the adapters: they import the core up to this layer, and nothing in the core imports them
BACKENDS = ['d2l_optim.backends', 'd2l_optim.backends.*']
BACKENDS_IMPORT_UP_TO = "the chapter's names bound to a backend"
BACKENDS_LAYER = 'backends'


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for ``d2l_optim/`` and ``backends/`` (as d2l_optim.backends)."""
    found = {}
    for top, package in (('d2l_optim', 'd2l_optim'), ('backends', 'd2l_optim.backends')):
        for path in sorted((root / top).rglob('*.py'), key=lambda p: (p.name == '__init__.py', str(p))):
            if not path.stem.isidentifier():        # not importable (an editor's harness.new.py)
                continue
            parts = list(path.relative_to(root / top).with_suffix('').parts)
            if parts[-1] == '__init__':
                parts.pop()
            found['.'.join([package, *parts])] = path    # a package shadows a same-named module
    return found


def imports_of(module: str, source: str, is_package: bool, known: set[str]) -> list[tuple[str, int]]:
    """The modules of ``known`` that ``module`` imports anywhere in ``source`` (functions too),
    each with its line: ``from pkg import name`` counts as pkg.name when that is a module."""
    here = module.split('.') if is_package else module.split('.')[:-1]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                stem = here[:len(here) - node.level + 1]
                base = '.'.join(stem + ([node.module] if node.module else []))
            names = [f'{base}.{a.name}' if f'{base}.{a.name}' in known else base for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:      # import d2l_optim.x.y as z: the deepest known
                name = name.rpartition('.')[0]
            if name and name != module:
                found.append((name, node.lineno))
    return found


def import_graph(sources: dict[str, tuple[str, bool]]) -> dict[str, dict[str, int]]:
    """module -> {imported module: first line}, from module -> (source, is_package)."""
    known = set(sources)
    graph: dict[str, dict[str, int]] = {}
    for module, (source, is_package) in sources.items():
        edges = graph.setdefault(module, {})
        for target, line in imports_of(module, source, is_package, known):
            edges.setdefault(target, line)
    return graph


def circles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Every strongly connected group of two or more modules, each as one closed path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups = []

    def visit(v: str) -> None:        # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [closed_path(graph, set(g)) for g in groups]


def closed_path(graph: dict[str, dict[str, int]], group: set[str]) -> list[str]:
    """A path a -> ... -> a through ``group`` (breadth-first, so as short as any)."""
    start = min(group)
    came: dict[str, str] = {}
    todo = [start]
    while todo:
        v = todo.pop(0)
        for w in sorted(graph.get(v, {})):
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(came[path[-1]])
                return path[::-1] + [start]
            if w in group and w not in came:
                came[w] = v
                todo.append(w)
    return sorted(group)


def layer_of(module: str) -> list[int]:
    """The positions in LAYERS (BACKENDS: len(LAYERS)) whose patterns match ``module``."""
    hits = [i for i, (_, patterns) in enumerate(LAYERS)
            if any(fnmatch.fnmatchcase(module, p) for p in patterns)]
    if any(fnmatch.fnmatchcase(module, p) for p in BACKENDS):
        hits.append(len(LAYERS))
    return hits


def layer_name(i: int) -> str:
    return LAYERS[i][0] if i < len(LAYERS) else BACKENDS_LAYER


def upward(graph: dict[str, dict[str, int]], files: dict[str, Path]) -> list[str]:
    """One line per import that goes up (or into the adapters from the core)."""
    ceiling = [name for name, _ in LAYERS].index(BACKENDS_IMPORT_UP_TO)
    found = []
    for module, edges in sorted(graph.items()):
        (mine,) = layer_of(module)
        highest = ceiling if mine == len(LAYERS) else mine
        for target, line in sorted(edges.items()):
            (theirs,) = layer_of(target)
            if theirs == len(LAYERS) == mine:      # an adapter's own pieces
                continue
            if theirs > highest:
                where = files[module].relative_to(ROOT) if module in files else module
                found.append(f'{where}:{line}: {module} ({layer_name(mine)}) imports {target} '
                             f'({layer_name(theirs)})')
    return found


def package_sources() -> tuple[dict[str, tuple[str, bool]], dict[str, Path]]:
    files = module_files()
    return {m: (p.read_text(encoding='utf-8'), p.name == '__init__.py') for m, p in files.items()}, files


def test_every_module_has_exactly_one_layer():
    files = module_files()
    assert len(files) > 60 and 'd2l_optim.rules' in files and 'd2l_optim.backends.torch' in files
    missing = sorted(m for m in files if not layer_of(m))
    assert not missing, ('modules without a layer (add each to LAYERS in tests/test_layers.py): '
                         + ', '.join(missing))
    twice = sorted(f'{m} ({", ".join(layer_name(i) for i in layer_of(m))})'
                   for m in files if len(layer_of(m)) > 1)
    assert not twice, 'modules in more than one layer: ' + '; '.join(twice)


def test_no_import_circles_counting_imports_inside_functions():
    sources, _ = package_sources()
    found = circles(import_graph(sources))
    assert not found, 'import circles:\n' + '\n'.join(' -> '.join(c) for c in found)


def test_imports_go_down_the_layers():
    sources, files = package_sources()
    if any(not layer_of(m) or len(layer_of(m)) > 1 for m in files):
        pytest.skip('a module has no single layer (test_every_module_has_exactly_one_layer says which)')
    found = upward(import_graph(sources), files)
    assert not found, 'imports against the layers:\n' + '\n'.join(found)


def test_the_package_imports_nothing_and_its_lazy_names_are_not_imported_inside():
    """``d2l_optim/__init__.py`` loads ``d2l_optim.check`` & co. on first use, by name; a module
    of the package that took them from there would hide which layer it reaches."""
    sources, files = package_sources()
    assert import_graph(sources)['d2l_optim'] == {}
    found = []
    for module, (source, _) in sources.items():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.module == 'd2l_optim' and not node.level:
                found += [f'{files[module].relative_to(ROOT)}:{node.lineno}: from d2l_optim import {a.name}'
                          for a in node.names if f'd2l_optim.{a.name}' not in sources]
    assert not found, 'import the defining module instead:\n' + '\n'.join(found)


def test_the_checks_see_an_upward_import_a_circle_and_an_import_inside_a_function():
    """The three checks above, on a made-up package, so they can fail."""
    sources = {
        'd2l_optim': ('', True),
        'd2l_optim.rules': ('def f():\n    from .checker import check\n', False),
        'd2l_optim.checker': ('from . import harness\nfrom .rules import RULES\n', False),
        'd2l_optim.harness': ('import numpy\nfrom d2l_optim.backends.torch import x\n', False),
        'd2l_optim.backends': ('', True),
        'd2l_optim.backends.torch': ('from ..book_api import book_api\nfrom ..cli import main\n', False),
        'd2l_optim.book_api': ('', False),
        'd2l_optim.cli': ('', False),
    }
    graph = import_graph(sources)
    assert graph['d2l_optim.rules'] == {'d2l_optim.checker': 2}                  # inside a function
    assert graph['d2l_optim.harness'] == {'d2l_optim.backends.torch': 2}         # numpy is not ours
    assert circles(graph) == [['d2l_optim.checker', 'd2l_optim.rules', 'd2l_optim.checker']]
    files = {m: ROOT / 'x.py' for m in sources}
    found = upward(graph, files)
    assert [line.split(': ', 1)[1].split(' (')[0] for line in found] == [
        'd2l_optim.backends.torch', 'd2l_optim.harness', 'd2l_optim.rules']
    assert 'imports d2l_optim.cli (commands and cli)' in found[0]             # adapters stay low
    assert 'imports d2l_optim.backends.torch (backends)' in found[1]          # only load_backend
    assert "x.py:2: d2l_optim.rules (rules and ops) imports d2l_optim.checker" in found[2]
