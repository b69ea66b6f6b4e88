r"""Show the library's own code and equations in a notebook, never a copy that can drift.

* :func:`show_source` is any function's or class's source, read with
  :func:`inspect.getsource` when called: highlighted Python in Jupyter, plain text in a
  terminal or a script.
* :func:`show_rule` is a core rule from :mod:`d2l_optim.rules` as a learner reads it: its
  equations once, rendered; its code without the docstring; then the book's optimizer
  function on the chosen backend, the few lines that write the rule's result in place
  (``p[:] = ...`` under ``torch.no_grad()``, ``p.assign(...)``), which a test runs against
  ``d2l.<rule>``.
* :func:`show_doc` is a docstring whose ``.. math::`` blocks become ``$$...$$`` in
  Jupyter's Markdown, where they render, and stay LaTeX source in a terminal
  (``\mathbf{x} \leftarrow \mathbf{x} - \eta \mathbf{g}``): the book's own notation,
  exact, where a text rendering of nested fractions and hats would be ambiguous.

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
from typing import Any, Callable

from .backend import backend_record
from .rules import EXTRA_RULES, RULES, get_rule

__all__ = ['Listing', 'Doc', 'show_source', 'show_rule', 'show_doc', 'book_loop',
           'source_without_docstring']


# ---------------------------------------------------------------- code

def _where(obj: Any) -> str:
    """``d2l_optim/rules.py`` style location of ``obj`` (its module as a path)."""
    module = getattr(obj, '__module__', None) or ''
    if module.startswith('d2l_optim.backends.'):
        return 'backends/' + module.split('.')[-1] + '.py'
    return module.replace('.', '/') + '.py' if module else '?'


def _highlight(code: str) -> str:
    """``code`` as HTML, highlighted by Pygments when it is installed (it is, with Jupyter)."""
    try:            # optional (it comes with Jupyter): imported only where HTML is asked for
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
    """Pieces of source, each with a title: Markdown/HTML in Jupyter, text elsewhere.

    A listing that starts with equations (``doc``, :func:`show_rule`) is Markdown only in
    Jupyter, where ``$$`` math renders; its text form shows the LaTeX source.
    """

    parts: list[tuple[str, str]]          # (title, code)
    doc: Doc | None = None                # equations shown first, rendered

    @property
    def code(self) -> str:
        """All the code, as one text (what a test compares with ``inspect.getsource``)."""
        return '\n'.join(code for _, code in self.parts)

    def __str__(self) -> str:
        head = [str(self.doc).rstrip() + '\n'] if self.doc is not None else []
        return '\n'.join(head + [f'# --- {title}\n{code}' if title else code
                                  for title, code in self.parts])

    __repr__ = __str__

    def _repr_markdown_(self) -> str:
        head = [self.doc._repr_markdown_().rstrip()] if self.doc is not None else []
        return '\n\n'.join(head + [(f'**{title}**\n\n' if title else '') + f'```python\n{code.rstrip()}\n```'
                                   for title, code in self.parts])

    def _repr_html_(self) -> str | None:
        if self.doc is not None:       # None: Jupyter shows the Markdown, where the math renders
            return None
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


def source_without_docstring(fn: Callable) -> str:
    """``fn``'s source as :func:`inspect.getsource` reads it, minus the lines of its docstring."""
    source = textwrap.dedent(inspect.getsource(inspect.unwrap(fn)))
    body = ast.parse(source).body[0].body
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str):
        lines = source.splitlines(keepends=True)
        del lines[first.lineno - 1:first.end_lineno]
        source = ''.join(lines)
    return source


#: How the book's code for each framework writes a new value into an array: (the write,
#: the context the writes run in, the line that clears a parameter's gradient).
BOOK_WRITES = {
    'numpy': ('{p}[:] = {v}', None, None),
    'mxnet': ('{p}[:] = {v}', None, None),
    'torch': ('{p}[:] = {v}', 'torch.no_grad()', '{p}.grad.zero_()'),
    'tensorflow': ('{p}.assign({v})', None, None),
    'jax': ('{p}.assign({v})', None, None),
}


def book_loop(rule_name: str | Any, backend: Any = 'numpy') -> str:
    """The book's optimizer function for ``rule_name`` on ``backend``, as a learner writes it:
    for every parameter, call the rule, then write the parameter and its states in place.

    ``d2l.<rule>`` (:func:`d2l_optim.book.book_optimizer`) makes the same writes through
    the adapter's ``assign``; tests/test_display.py runs this text on every installed
    backend and compares it with ``d2l.<rule>``. It runs where ``d2l`` is the backend
    module and ``rules`` is :mod:`d2l_optim.rules`.
    """
    rule = get_rule(rule_name)
    record = backend_record(backend)
    write, context, clear = BOOK_WRITES.get(record.name, (
        'd2l.BACKEND.assign({p}, {v})',
        None if record.no_grad is contextlib.nullcontext else 'd2l.BACKEND.no_grad()', None))
    names = rule.state_names
    on_params = record.grads_on_params
    args = 'params, states, hyperparams' if on_params else 'params, grads, states, hyperparams'
    zipped = ['params'] + ([] if on_params else ['grads']) + (['states'] if names else [])
    target = ['p'] + ([] if on_params else ['g']) + (
        [names[0] if len(names) == 1 else '(' + ', '.join(names) + ')'] if names else [])
    new = ['new_' + n for n in names]
    state_in = '(' + ', '.join(names) + (',)' if len(names) == 1 else ')')
    state_out = '_' if not names else '(' + ', '.join(new) + (',)' if len(new) == 1 else ')')
    t = 't' if rule.uses_t else '1'
    grad = 'p.grad' if on_params else 'g'
    loop = [f"for {', '.join(target)} in zip({', '.join(zipped)}):" if len(zipped) > 1
            else f'for {target[0]} in {zipped[0]}:',
            f"    new_p, {state_out} = rules.{rule.name}(p, {grad}, {state_in if names else '()'}, "
            f"hyperparams, {t}, xp)",
            '    ' + write.format(p='p', v='new_p')]
    loop += ['    ' + write.format(p=n, v=m) for n, m in zip(names, new)]
    if on_params and clear:
        loop.append('    ' + clear.format(p='p'))
    body = ['xp = d2l.BACKEND.xp          # this framework\'s sqrt, sign, zeros_like']
    if rule.uses_t:
        body.append("t = hyperparams.setdefault('t', 1)")
    body += ([f'with {context}:'] + ['    ' + line for line in loop]) if context else loop
    if rule.uses_t:
        body.append("hyperparams['t'] = t + 1")
    return f'def {rule.book_name}({args}):\n' + ''.join(f'    {line}\n' for line in body)


def show_rule(rule_name: str, backend: Any = 'numpy') -> Listing:
    """A core rule as a learner should read it: its equations (the docstring's LaTeX,
    rendered), its code without the docstring (and any helper of its module it calls), then
    the book's optimizer function on ``backend``: the few lines that apply the rule to every
    parameter and write the results in place this framework's way (:func:`book_loop`).
    """
    rule = get_rule(rule_name)
    record = backend_record(backend)
    doc = show_doc(rule.update)
    parts = [(f'the rule: {rule.update.__name__} (d2l_optim/rules.py)', source_without_docstring(rule.update))]
    parts += [(f'{h.__name__} (d2l_optim/rules.py)', source_without_docstring(h))
              for h in _helpers(inspect.unwrap(rule.update))]
    call = (f'd2l.{rule.book_name}(params, states, hyperparams)' if record.grads_on_params
            else f'd2l.{rule.book_name}(params, grads, states, hyperparams)')
    parts.append((f'{call} on {record.name}: the rule applied to every parameter, written in place '
                  f'(rules is d2l_optim.rules)', book_loop(rule, record)))
    return Listing(parts, Doc('', doc.doc))


# ---------------------------------------------------------------- docstrings and math

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
    """A docstring: Markdown with ``$$`` math in Jupyter, its LaTeX source in a terminal."""

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
        """The docstring for a terminal: each equation as its LaTeX source on its own
        indented lines (one per row of an aligned block), inline math between ``$``."""
        def block(tex: str) -> str:
            rows = [' '.join(row.split()) for row in tex.split('\\\\')]
            return '\n' + '\n'.join('    ' + row for row in rows if row) + '\n'
        text = _math_blocks(self.doc, block)
        text = re.sub(r'\n{3,}', '\n\n', _inline(text, lambda t: f'${t}$', lambda t: t))
        return (f'{self.title}\n\n' if self.title else '') + text

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__

    def _repr_markdown_(self) -> str:
        return self.markdown


def show_doc(fn: Any) -> Doc:
    """``fn``'s docstring, its equations rendered (Jupyter) or as LaTeX source (terminal).

    A rule's name (``'rmsprop'``) is taken as the rule's function in :mod:`d2l_optim.rules`;
    a rule's docstring is followed by its eps, which lives on the :class:`~d2l_optim.rules.Rule`.
    """
    if isinstance(fn, str) and fn in RULES:
        fn = RULES[fn].update
    fn = inspect.unwrap(fn)
    doc = inspect.getdoc(fn) or ''
    rule = next((r for r in (*RULES.values(), *EXTRA_RULES.values()) if inspect.unwrap(r.update) is fn), None)
    if rule is not None and rule.eps is not None:
        also = ''.join(f'; the book also uses :math:`{_tex_number(x)}`' for x in rule.eps_alternatives)
        doc += f"\n\nHere :math:`\\epsilon = {_tex_number(rule.eps)}` (``Rule.eps``{also})."
    name = getattr(fn, '__qualname__', getattr(fn, '__name__', ''))
    return Doc(f'{name} ({_where(fn)})' if name else '', doc)


def _tex_number(x: float) -> str:
    """``1e-06`` as LaTeX, ``10^{-6}``."""
    mantissa, exponent = f'{x:e}'.split('e')
    power = f'10^{{{int(exponent)}}}'
    return power if float(mantissa) == 1 else f'{float(mantissa):g} \\times {power}'
