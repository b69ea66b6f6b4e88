r"""Show the library's own code and equations in a notebook, never a copy that can drift.

* :func:`show_source` is any function's or class's source, read with
  :func:`inspect.getsource` when called: highlighted Python in Jupyter, plain text in a
  terminal or a script.
* :func:`show_rule` is a core rule from :mod:`d2l_optim.rules` plus the lines of the
  chosen backend that apply it: the book-form optimizer of :mod:`d2l_optim.book`, and the
  adapter's own pieces taken from its :class:`~d2l_optim.backend.Backend` record (how a
  parameter is written in place, where gradients come from). A new adapter is shown
  without any edit here.
* :func:`show_doc` is a docstring whose ``.. math::`` blocks become ``$$...$$`` in
  Jupyter's Markdown and readable Unicode text (``x ← x − η g``) in a terminal.

Each returns a small object with ``_repr_markdown_``/``_repr_html_`` for Jupyter and a
``str``/``repr`` for everything else, so a cell that ends with ``d2l.show_rule('rmsprop')``
displays it.
"""
from __future__ import annotations

import ast
import contextlib
import html
import inspect
import re
import textwrap
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .rules import RULES, get_rule

__all__ = ['Listing', 'Doc', 'show_source', 'show_rule', 'show_doc', 'latex_to_text']


# ---------------------------------------------------------------- code

def _where(obj: Any) -> str:
    """``d2l_optim/rules.py`` style location of ``obj`` (its module as a path)."""
    module = getattr(obj, '__module__', None) or ''
    if module.startswith('d2l_optim.backends.'):
        return 'backends/' + module.split('.')[-1] + '.py'
    return module.replace('.', '/') + '.py' if module else '?'


def _highlight(code: str) -> str:
    """``code`` as HTML, highlighted by Pygments when it is installed (it is, with Jupyter)."""
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
    except ImportError:
        return f'<pre>{html.escape(code)}</pre>'
    style = HtmlFormatter(style='default').get_style_defs('.d2l-source')
    body = highlight(code, PythonLexer(), HtmlFormatter(cssclass='d2l-source', nowrap=False))
    return f'<style>{style}</style>{body}'


@dataclass
class Listing:
    """Pieces of source, each with a title: Markdown/HTML in Jupyter, text elsewhere."""

    parts: list[tuple[str, str]]          # (title, code)

    @property
    def code(self) -> str:
        """All the code, as one text (what a test compares with ``inspect.getsource``)."""
        return '\n'.join(code for _, code in self.parts)

    def __str__(self) -> str:
        return '\n'.join(f'# --- {title}\n{code}' if title else code for title, code in self.parts)

    __repr__ = __str__

    def _repr_markdown_(self) -> str:
        return '\n\n'.join((f'**{title}**\n\n' if title else '') + f'```python\n{code.rstrip()}\n```'
                           for title, code in self.parts)

    def _repr_html_(self) -> str:
        return ''.join((f'<p><b>{html.escape(title)}</b></p>' if title else '') + _highlight(code.rstrip())
                       for title, code in self.parts)


def show_source(obj: Any, title: str | None = None) -> Listing:
    """The source of a function, class or module as it is in the installed library now.

    ``title`` defaults to ``name (path)``, e.g. ``rmsprop (d2l_optim/rules.py)``.
    """
    obj = inspect.unwrap(obj)
    code = textwrap.dedent(inspect.getsource(obj))
    if title is None:
        title = f"{getattr(obj, '__qualname__', getattr(obj, '__name__', ''))} ({_where(obj)})"
    return Listing([(title, code)])


def _helpers(fn: Callable) -> list[Callable]:
    """The functions of ``fn``'s own module that ``fn`` calls (Adam's ``_adam_step``)."""
    module = inspect.getmodule(fn)
    found = []
    for name in fn.__code__.co_names:
        obj = getattr(module, name, None)
        if inspect.isfunction(obj) and obj.__module__ == fn.__module__ and obj is not fn:
            found.append(obj)
    return found


def _nested(fn: Callable, names: Sequence[str]) -> str:
    """The source of the functions named ``names`` defined inside ``fn``, in that order."""
    source = textwrap.dedent(inspect.getsource(fn))
    lines = source.splitlines()
    defs = {node.name: node for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.FunctionDef)}
    chunks = []
    for name in names:
        node = defs[name]
        chunks.append(textwrap.dedent('\n'.join(lines[node.lineno - 1:node.end_lineno])))
    return '\n\n'.join(chunks) + '\n'


def _piece(label: str, obj: Any) -> tuple[str, str] | None:
    """One adapter piece: its source if it is ours, else the framework name it is bound to."""
    if obj is None or obj is contextlib.nullcontext:
        return None
    module = getattr(obj, '__module__', '') or ''
    if module.startswith('d2l_optim') and (inspect.isfunction(obj) or inspect.isclass(obj)):
        code = textwrap.dedent(inspect.getsource(obj))
        if getattr(obj, '__name__', '') == '<lambda>':
            found = re.search(r'lambda\b[^:]*:\s*[^,\n)]+', code)
            code = (found.group(0) if found else code.strip()) + '\n'
            return (f'{label} ({_where(obj)})', f'{label} = {code}')
        return (f'{label} ({_where(obj)})', code)
    name = getattr(obj, '__qualname__', None) or getattr(obj, '__name__', None) or type(obj).__name__
    return (f'{label} (the framework\'s own)', f'{label} = {module}.{name}\n')


def _backend_record(backend: Any) -> Any:
    """A :class:`~d2l_optim.backend.Backend` from a record, a backend module or a name."""
    from .backend import Backend, load_backend
    if isinstance(backend, Backend):
        return backend
    if isinstance(backend, str):
        backend = load_backend(backend)
    record = getattr(backend, 'BACKEND', None)
    if not isinstance(record, Backend):
        raise TypeError(f'backend must be a backend name, module or Backend record, got {backend!r}')
    return record


def show_rule(rule_name: str, backend: Any = 'numpy') -> Listing:
    """A core rule's code and the lines that apply it on ``backend``.

    Shown in order: the pure rule from :mod:`d2l_optim.rules` (and any helper of that
    module it calls), the book-form optimizer that applies it to every parameter
    (:func:`d2l_optim.book.book_optimizer`: gradients from ``p.grad`` on PyTorch and
    MXNet, a separate list on TensorFlow and NumPy), and the adapter's pieces read from
    its :class:`~d2l_optim.backend.Backend` record: ``assign`` (how a parameter is written
    in place), ``no_grad``, ``gradients`` and, where gradients live on the parameters,
    ``grad`` and ``zero_grad``.
    """
    from . import book
    rule = get_rule(rule_name)
    record = _backend_record(backend)
    parts = [(f'the rule: {rule.update.__name__} (d2l_optim/rules.py)',
              textwrap.dedent(inspect.getsource(rule.update)))]
    parts += [(f'{h.__name__} (d2l_optim/rules.py)', textwrap.dedent(inspect.getsource(h)))
              for h in _helpers(rule.update)]
    form = (f'{book.BOOK_NAMES[rule.name]}(params, states, hyperparams)' if record.grads_on_params
            else f'{book.BOOK_NAMES[rule.name]}(params, grads, states, hyperparams)')
    inner = ['update', 'optimizer'] if record.grads_on_params else ['update']
    parts.append((f'applied to every parameter on {record.name}: d2l.{form} '
                  '(d2l_optim/book.py, book_optimizer)', _nested(book.book_optimizer, inner)))
    pieces = [('assign', record.assign), ('no_grad', record.no_grad), ('gradients', record.gradients)]
    if record.grads_on_params:
        pieces += [('grad', record.extras.get('grad')), ('zero_grad', record.extras.get('zero_grad'))]
    parts += [p for p in (_piece(label, obj) for label, obj in pieces) if p is not None]
    return Listing(parts)


# ---------------------------------------------------------------- docstrings and math

_SYMBOLS = {
    r'\leftarrow': '←', r'\rightarrow': '→', r'\eta': 'η', r'\gamma': 'γ', r'\beta': 'β',
    r'\rho': 'ρ', r'\epsilon': 'ε', r'\lambda': 'λ', r'\alpha': 'α', r'\Delta': 'Δ', r'\nabla': '∇',
    r'\odot': '⊙', r'\cdot': '·', r'\times': '×', r'\le': '≤', r'\ge': '≥', r'\sum': 'Σ',
    r'\qquad': '    ', r'\quad': '  ', r'\,': ' ', r'\;': ' ', r'\top': 'ᵀ', r'\infty': '∞',
    r'\approx': '≈', r'\mid': '|', r'\pi': 'π', r'\sigma': 'σ', r'\tau': 'τ', r'\theta': 'θ',
}
_SUP = str.maketrans('0123456789+-t', '⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻ᵗ')
_SUB = str.maketrans('0123456789t', '₀₁₂₃₄₅₆₇₈₉ₜ')


def _group(s: str, i: int) -> tuple[str, int]:
    """The brace group (or single character) starting at ``s[i]`` and the index after it."""
    while i < len(s) and s[i].isspace():
        i += 1
    if i < len(s) and s[i] == '{':
        depth = 0
        for j in range(i, len(s)):
            depth += {'{': 1, '}': -1}.get(s[j], 0)
            if depth == 0:
                return s[i + 1:j], j + 1
        return s[i + 1:], len(s)
    return s[i:i + 1], i + 1


def _atomic(text: str) -> str:
    """``text`` as it can stand next to ``/`` or ``√``: in parentheses unless it has no space
    or operator outside parentheses already."""
    depth = 0
    for ch in text:
        depth += {'(': 1, ')': -1}.get(ch, 0)
        if depth == 0 and ch in ' +−-*/⊙':
            return f'({text})'
    return text


def latex_to_text(tex: str) -> str:
    r"""The chapter's LaTeX as readable Unicode text: ``\frac{\eta}{\sqrt{s + \epsilon}}``
    becomes ``η/√(s + ε)``, ``\mathbf{x}`` becomes ``x``, ``x^2`` becomes ``x²``."""
    out, i = [], 0
    while i < len(tex):
        c = tex[i]
        if tex.startswith(r'\\', i):
            out.append('\n')
            i += 2
        elif c == '\\':
            m = re.match(r'\\([A-Za-z]+|.)', tex[i:])
            cmd = m.group(0)
            i += len(cmd)
            if cmd in (r'\mathbf', r'\mathrm', r'\text', r'\boldsymbol', r'\operatorname', r'\hat'):
                arg, i = _group(tex, i)
                out.append(latex_to_text(arg) + ('̂' if cmd == r'\hat' else ''))
            elif cmd == r'\frac':
                num, i = _group(tex, i)
                den, i = _group(tex, i)
                num, den = latex_to_text(num), latex_to_text(den)
                out.append(f'{_atomic(num)}/{_atomic(den)}')
            elif cmd == r'\sqrt':
                arg, i = _group(tex, i)
                arg = latex_to_text(arg)
                out.append(f'√{arg}' if _atomic(arg) == arg else f'√({arg})')
            elif cmd in (r'\left', r'\right', r'\big', r'\Big'):
                continue
            else:
                out.append(_SYMBOLS.get(cmd, cmd[1:]))
        elif c in '^_':
            arg, i = _group(tex, i + 1)
            text = latex_to_text(arg)
            table = _SUP if c == '^' else _SUB
            mapped = text.translate(table)
            if all(ch in ''.join(table_chars(table)) for ch in mapped):
                out.append(mapped)
            else:
                out.append(f'{c}({text})' if len(text) > 1 else f'{c}{text}')
        elif c in '{}&':
            i += 1
        elif c == '-':
            out.append('−' if out and out[-1].endswith(' ') else '-')
            i += 1
        else:
            out.append(c)
            i += 1
    return re.sub(r'[ \t]+\n', '\n', ''.join(out))


def table_chars(table: dict) -> list[str]:
    """The characters a ``str.maketrans`` table maps to."""
    return [chr(v) for v in table.values()]


_MATH_BLOCK = re.compile(r'^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<first>.*)\n?'
                         r'(?P<body>(?:(?:(?P=indent)[ \t]+.*)?\n)*)', re.M)


def _math_blocks(doc: str, render: Callable[[str], str]) -> str:
    """Replace every ``.. math::`` block (one-line or indented body) by ``render(latex)``."""
    def sub(m: re.Match) -> str:
        body = textwrap.dedent(m.group('body')).strip()
        tex = ' '.join(x for x in (m.group('first').strip(), body) if x)
        return render(tex) + '\n'
    return _MATH_BLOCK.sub(sub, doc)


def _inline(doc: str, math: Callable[[str], str], code: Callable[[str], str]) -> str:
    doc = re.sub(r':math:`([^`]+)`', lambda m: math(m.group(1)), doc)
    doc = re.sub(r':(?:func|class|mod|data|meth|attr):`~?([^`]+)`', lambda m: code(m.group(1)), doc)
    return re.sub(r'``([^`]+)``', lambda m: code(m.group(1)), doc)


@dataclass
class Doc:
    """A docstring: Markdown with ``$$`` math in Jupyter, Unicode text in a terminal."""

    title: str
    doc: str                       # the docstring as written (reST)

    @property
    def markdown(self) -> str:
        def block(tex: str) -> str:
            if '&' in tex or r'\\' in tex:
                tex = r'\begin{aligned}' + tex + r'\end{aligned}'
            return f'\n$$\n{tex}\n$$\n'
        text = _math_blocks(self.doc, block)
        text = re.sub(r'\n{3,}', '\n\n', _inline(text, lambda t: f'${t}$', lambda t: f'`{t}`'))
        return (f'**{self.title}**\n\n' if self.title else '') + text

    @property
    def text(self) -> str:
        def block(tex: str) -> str:
            lines = [line.strip() for line in latex_to_text(' '.join(tex.split('\n'))).splitlines()]
            return '\n' + '\n'.join('    ' + line for line in lines if line) + '\n'
        text = _math_blocks(self.doc, block)
        text = re.sub(r'\n{3,}', '\n\n', _inline(text, latex_to_text, lambda t: t))
        return (f'{self.title}\n\n' if self.title else '') + text

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__

    def _repr_markdown_(self) -> str:
        return self.markdown


def show_doc(fn: Any) -> Doc:
    """``fn``'s docstring, its equations rendered (Jupyter) or spelled out in text (terminal).

    A rule's name (``'rmsprop'``) is taken as the rule's function in :mod:`d2l_optim.rules`.
    """
    if isinstance(fn, str) and fn in RULES:
        fn = RULES[fn].update
    fn = inspect.unwrap(fn)
    doc = inspect.getdoc(fn) or ''
    name = getattr(fn, '__qualname__', getattr(fn, '__name__', ''))
    return Doc(f'{name} ({_where(fn)})' if name else '', doc)
