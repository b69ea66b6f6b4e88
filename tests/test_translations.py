"""The chapter in Simplified Chinese and Japanese: ``notebooks/zh`` and ``notebooks/ja`` hold every
section notebook under the English file name, with the same cells in the same order (types, ids,
tags, metadata such as folded answers), the same code once comments are removed, and the prose
translated; each names its language once, in ``set_language("..")`` in its setup cell.

The localized notebooks are executed on NumPy by ``tests/test_notebooks.py`` and
``tests/test_lenet.py`` with the English notebooks' asserted numbers.
"""
from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

nbformat = pytest.importorskip('nbformat')

ROOT = Path(__file__).resolve().parents[1] / 'notebooks'
ENGLISH = sorted(ROOT.glob('11.*-*.ipynb'))
LANGS = ('zh', 'ja')
SET_LANGUAGE = re.compile(r'set_language\("(\w+)"\)')


def code_without_comments(source: str) -> str:
    """The cell's code with comments and trailing spaces removed (IPython magics kept as lines)."""
    lines = []
    for line in source.split('\n'):
        if line.lstrip().startswith(('%', '!')):
            lines.append(line.rstrip())
            continue
        lines.append(line)
    text = '\n'.join(lines)
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline)
                  if t.type != tokenize.COMMENT]
        text = tokenize.untokenize(tokens)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        text = re.sub(r'#[^\n]*', '', text)
    return '\n'.join(line.rstrip() for line in text.split('\n') if line.strip())


def pairs():
    return [(lang, path) for lang in LANGS for path in ENGLISH]


def test_every_section_notebook_exists_in_each_language():
    assert len(ENGLISH) == 11
    for lang in LANGS:
        assert sorted(p.name for p in (ROOT / lang).glob('*.ipynb')) == [p.name for p in ENGLISH]
        assert (ROOT / lang / 'GLOSSARY.md').is_file()


@pytest.mark.parametrize('lang,path', pairs(), ids=lambda x: x if isinstance(x, str) else x.stem)
def test_same_cells_same_code_prose_translated(lang, path):
    en = nbformat.read(path, as_version=4)
    tr = nbformat.read(ROOT / lang / path.name, as_version=4)
    assert [c.cell_type for c in tr.cells] == [c.cell_type for c in en.cells]
    assert [c.id for c in tr.cells] == [c.id for c in en.cells]
    assert [c.metadata for c in tr.cells] == [c.metadata for c in en.cells]     # tags, folded answers
    assert not any(c.get('outputs') for c in tr.cells)
    languages = []
    for e, t in zip(en.cells, tr.cells):
        if e.cell_type == 'code':
            languages += SET_LANGUAGE.findall(t.source)
            assert code_without_comments(SET_LANGUAGE.sub('set_language(L)', t.source)) == \
                code_without_comments(SET_LANGUAGE.sub('set_language(L)', e.source)), e.id
        else:
            assert t.source != e.source or not re.search(r'[A-Za-z]{4}', _words(e.source)), e.id
            assert _cjk(t.source) or not re.search(r'[A-Za-z]{4}', _words(e.source)), e.id
            # the mathematics and the structure stay: every formula (a translation may repeat
            # one for clarity), every code span, and the headings' levels and section numbers
            assert set(_formulas(e.source)) <= set(_formulas(t.source)), e.id
            assert set(re.findall(r'`[^`]+`', e.source)) <= set(re.findall(r'`[^`]+`', t.source)), e.id
            assert _headings(t.source) == _headings(e.source), e.id
    assert languages == [lang]
    assert SET_LANGUAGE.findall(''.join(c.source for c in en.cells if c.cell_type == 'code')) == ['en']


def _words(markdown: str) -> str:
    """The prose of a Markdown cell: without formulas, code spans and link targets."""
    text = re.sub(r'\$\$.*?\$\$|\$[^$]*\$|`[^`]*`|\]\([^)]*\)|<[^>]+>', ' ', markdown, flags=re.S)
    return text


def _formulas(markdown: str) -> list[str]:
    return re.findall(r'\$\$.*?\$\$|\$[^$]+\$', markdown, flags=re.S)


def _cjk(text: str) -> bool:
    return bool(re.search(r'[\u3040-\u30ff\u4e00-\u9fff]', text))


def _headings(markdown: str) -> list[str]:
    """Each heading's level and section number (``## 11.8.1``), which translations keep."""
    out = []
    for line in markdown.split('\n'):
        m = re.match(r'^(#+)\s+((?:\d+\.)+\d+)?', line)
        if m:
            out.append(m.group(1) + (m.group(2) or ''))
    return out


@pytest.mark.parametrize('path', ENGLISH, ids=lambda p: p.stem)
def test_japanese_uses_the_glossary_names_of_the_algorithms(path):
    text = ''.join(c.source for c in nbformat.read(ROOT / 'ja' / path.name, as_version=4).cells)
    for machine in ('アダム', 'アダグラッド', 'アダデルタ', 'ヨギ', 'モメンタム'):
        assert machine not in text, machine
    if 'learning rate' in _words(''.join(c.source for c in nbformat.read(path, as_version=4).cells
                                         if c.cell_type == 'markdown')):
        assert '学習率' in text


@pytest.mark.parametrize('path', ENGLISH, ids=lambda p: p.stem)
def test_chinese_uses_the_glossary_terms(path):
    en = _words(''.join(c.source for c in nbformat.read(path, as_version=4).cells
                        if c.cell_type == 'markdown'))
    zh = ''.join(c.source for c in nbformat.read(ROOT / 'zh' / path.name, as_version=4).cells)
    if 'learning rate' in en:
        assert '学习率' in zh
    if 'momentum' in en.lower():
        assert '动量' in zh
    assert not re.search(r'[\u3040-\u30ff]', zh)        # no kana in the Chinese notebooks


def test_code_comparison_ignores_only_comments():
    assert code_without_comments('x = 1  # one\ny = 2') == code_without_comments('x = 1  # 一\ny = 2')
    assert code_without_comments('x = 1') != code_without_comments('x = 2')
    assert code_without_comments('%matplotlib inline\nx = "#"') == '%matplotlib inline\nx = "#"'
