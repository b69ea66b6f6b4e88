"""README.md's Layout table names every module of ``d2l_optim/`` and ``backends/``, each under
the layer tests/test_layers.py gives it, and its layers are those of test_layers, in order."""
from __future__ import annotations

import fnmatch
import posixpath
import re

from test_layers import BACKENDS_LAYER, LAYERS, ROOT, layer_name, layer_of, module_files

#: the Layout's closing group: what lies beside the package, in no layer
BESIDE = 'beside the package'


def layout() -> list[tuple[str, list[str]]]:
    """(layer heading, the path patterns of each row under it), in the README's order. A row's
    first path gives the folder for the bare file names after it (`d2l_optim/zoo.py`, `twolayer.py`)."""
    text = (ROOT / 'README.md').read_text(encoding='utf-8')
    table = text.split('\n## Layout\n', 1)[1].split('\n## ', 1)[0]
    groups: list[tuple[str, list[str]]] = []
    for line in table.splitlines():
        heading = re.match(r'\| \*\*(.+?)\*\*', line)
        if heading:
            groups.append((heading.group(1), []))
        elif line.startswith('| `') and groups:
            names = re.findall(r'`([^`\s]+)`', line)
            folder = names[0] if names[0].endswith('/') else posixpath.dirname(names[0]) + '/'
            groups[-1][1].extend(n if '/' in n else folder + n for n in names)
    return groups


def named(path: str, patterns: list[str]) -> bool:
    """Whether a row's patterns name the file ``path`` (a folder names its ``__init__.py``)."""
    return any(fnmatch.fnmatchcase(path, p) or path == p + '__init__.py' for p in patterns)


def test_layout_has_the_layers_of_test_layers_in_order():
    headings = [h for h, _ in layout()]
    assert headings == [name for name, _ in LAYERS] + [BACKENDS_LAYER, BESIDE]


def test_layout_names_every_module_under_its_layer():
    groups = layout()
    wrong = []
    for module, file in sorted(module_files().items()):
        path = file.relative_to(ROOT).as_posix()
        under = [h for h, patterns in groups if named(path, patterns)]
        want = [layer_name(i) for i in layer_of(module)]
        if under != want:
            wrong.append(f'{path}: named under {under or "no layer"}, test_layers puts it in {want}')
    assert not wrong, 'README.md, Layout:\n' + '\n'.join(wrong)
