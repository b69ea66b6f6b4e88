"""The message catalogs of ``d2l_optim/locale``: extract, update, compile (Babel).

    python tests/i18n_catalogs.py          # after changing a marked message

extracts every message marked with ``_()``, ``gettext``, ``ngettext`` or ``N_`` from the
package's Python files and ``_()`` from its Jinja2 templates, merges them into each
language's ``d2l_optim.po`` (new ones empty, to translate; changed ones fuzzy; gone ones
dropped) and compiles each ``.po`` into the ``.mo`` the package ships. ``tests/test_i18n.py``
uses the same functions to find the catalogs complete and the shipped ``.mo`` up to date.
Babel is a test dependency only (tests/requirements.txt); at run time the standard
library's :mod:`gettext` reads the ``.mo``.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / 'd2l_optim'
LOCALE = PACKAGE / 'locale'
DOMAIN = 'd2l_optim'
#: catalog folder -> the language Babel knows it as
CATALOGS = {'zh_CN': 'zh_Hans_CN', 'ja': 'ja'}
KEYWORDS = {'_': None, 'gettext': None, 'ngettext': (1, 2), 'N_': None}
METHODS = [('**.py', 'python'), ('templates/**.j2', 'jinja2.ext:babel_extract')]
OPTIONS = {'templates/**.j2': {'extensions': 'jinja2.ext.i18n'}}


def po_path(folder: str) -> Path:
    return LOCALE / folder / 'LC_MESSAGES' / f'{DOMAIN}.po'


def extract() -> Catalog:
    """Every marked message of the package, as a template catalog."""
    template = Catalog(project='d2l-optim', domain=DOMAIN, charset='utf-8')
    for filename, lineno, message, comments, context in extract_from_dir(
            str(PACKAGE), METHODS, OPTIONS, KEYWORDS, strip_comment_tags=True):
        template.add(message, None, [(f'd2l_optim/{filename}', lineno)], auto_comments=comments,
                     context=context)
    return template


def read(folder: str) -> Catalog:
    with open(po_path(folder), 'rb') as f:
        return read_po(f, locale=CATALOGS[folder], domain=DOMAIN)


def compiled(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def po_text(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_po(buf, catalog, width=100, omit_header=False, sort_output=False, include_lineno=False)
    return buf.getvalue()


def _entries(catalog: Catalog) -> list:
    return [(m.id, m.string, m.fuzzy, sorted({f for f, _ in m.locations})) for m in catalog if m.id]


def update() -> None:
    """Merge the extracted messages into each .po, then compile every .po into its .mo."""
    template = extract()
    for folder in CATALOGS:
        path = po_path(folder)
        if path.exists():
            catalog = read(folder)
        else:
            catalog = Catalog(locale=CATALOGS[folder], domain=DOMAIN, project='d2l-optim', charset='utf-8')
        before = _entries(catalog)
        created = catalog.creation_date
        catalog.update(template, no_fuzzy_matching=False)
        catalog.obsolete.clear()
        if _entries(catalog) == before:       # nothing changed: the file stays byte for byte
            catalog.creation_date = created
        path.parent.mkdir(parents=True, exist_ok=True)
        _replace(path, po_text(catalog))
        _replace(path.with_suffix('.mo'), compiled(read(folder)))


def _replace(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it: never half-written."""
    part = path.with_name(path.name + '.part')
    part.write_bytes(data)
    os.replace(part, path)


if __name__ == '__main__':
    update()
