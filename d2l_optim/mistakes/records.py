"""The record of a known mistake (:class:`Mistake`), what the checker hands its message
(:class:`Finding`), and :func:`mistake`, the decorator that writes a record into
:data:`MISTAKES` in the order :mod:`d2l_optim.mistakes` lists them.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterator, NamedTuple

from ..i18n import gettext as _
from ..rules import Rule
from .variants import Variant

#: a mistake's variants of ``rule``; the flag says the backend's ``backward`` accumulates (PyTorch)
Build = Callable[[Rule, bool], Iterator[Variant]]


class Finding(NamedTuple):
    """What the checker matched, for a mistake's message: whose function (``who``, "Your
    my_adam"), the reference rule, the variant, the form of the function (``'rule'``,
    ``'book'``, ``'2d'``), the first step it differs and the step the learning rate halved."""
    who: str
    rule: Rule
    variant: Variant
    form: str
    first: int | None
    lr_step: int | None


def eps_text(x: float | None) -> str:
    """An eps as the messages write it (``1e-06``, ``0``)."""
    return '' if x is None else '0' if x == 0 else f'{x:g}'


def both(names: list[str] | tuple[str, ...]) -> str:
    """State names as a message lists them, in the current language: "v and s"."""
    if not names:
        return ''
    out = names[0]
    for name in names[1:]:
        out = _("{first} and {second}").format(first=out, second=name)
    return out


@dataclass(frozen=True)
class Mistake:
    """One known mistake: ``code``, its one-line ``meaning``, the ``message`` for the learner
    (a ``str.format`` template over ``who``, ``r`` (the rule's name), ``states`` (its state
    names, "v and s"), the variant's ``detail`` and ``expected``, ``eps``, ``book_eps``, or a
    function of the :class:`Finding`) and ``build``, its variants of a rule."""
    code: str
    meaning: str
    message: str | Callable[[Finding], str]
    build: Build

    def variants(self, rule: Rule, grads_accumulate: bool = False) -> list[Variant]:
        return [replace(v, code=self.code) for v in self.build(rule, grads_accumulate)]

    def text(self, found: Finding) -> str:
        if callable(self.message):
            return self.message(found)
        v, rule = found.variant, found.rule
        # the template and the variant's words are translated (gettext), then filled in
        return _(self.message).format(who=found.who, r=rule.name, states=both(rule.state_names),
                                      detail=_(v.detail), expected=_(v.expected), eps=eps_text(v.eps),
                                      book_eps=eps_text(rule.eps))


#: every known mistake, in the order the checker tries them (most specific first)
MISTAKES: list[Mistake] = []


def mistake(code: str, meaning: str, message: str | Callable[[Finding], str]) -> Callable[[Build], Build]:
    """Record the decorated builder as mistake ``code``; records keep the order written."""
    def record(build: Build) -> Build:
        MISTAKES.append(Mistake(code, meaning, message, build))
        return build
    return record
