"""The language of what a learner reads: ``check``'s messages, the lab's feedback and README.

Messages are marked in the code with ``_()`` (:func:`gettext`) where they are used, or with
:func:`N_` where they are defined ahead of use, and translated through the standard library's
:mod:`gettext` from the catalogs shipped in ``d2l_optim/locale/<zh_CN|ja>/LC_MESSAGES/``
(extracted and compiled with Babel; see ``tests/test_i18n.py``). A message with
placeholders is translated as a template first, then formatted.

The language is, first found: :func:`set_language` (``d2l.set_language('ja')``), the
environment variable :data:`LANGUAGE_ENV` (``D2L_OPTIM_LANG``), the locale variables in
gettext's order (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``), else English.
What a notebook's own code prints (``train_ch11``'s ``loss: ...``) is never translated.
"""
from __future__ import annotations

import contextlib
import contextvars
import gettext as stdlib_gettext
import os
from functools import lru_cache
from pathlib import Path
from typing import Iterator

#: the gettext domain: the catalogs are ``locale/<folder>/LC_MESSAGES/d2l_optim.mo``
DOMAIN = 'd2l_optim'
LOCALE_DIR = Path(__file__).resolve().with_name('locale')
#: language code -> its catalog's folder (None: the messages as written, English)
LANGUAGES: dict[str, str | None] = {'en': None, 'zh': 'zh_CN', 'ja': 'ja'}
#: the environment variable that chooses the language (after set_language)
LANGUAGE_ENV = 'D2L_OPTIM_LANG'
#: the locale variables, in the order gettext reads them
LOCALE_VARIABLES = ('LANGUAGE', 'LC_ALL', 'LC_MESSAGES', 'LANG')
#: other spellings of a language, lower case with '_' (encoding and modifier removed)
ALIASES = {'zh_cn': 'zh', 'zh_hans': 'zh', 'zh_sg': 'zh', 'zh_hans_cn': 'zh', 'zh_hans_sg': 'zh',
           'ja_jp': 'ja', 'c': 'en', 'posix': 'en'}

_chosen: str | None = None
_scoped: contextvars.ContextVar[str | None] = contextvars.ContextVar('d2l_optim_language', default=None)


def known_language(code: str) -> str | None:
    """``code`` ('ja', 'zh_CN.UTF-8', 'zh-Hans', 'en_US') as one of :data:`LANGUAGES`, or None."""
    key = code.strip().split('.')[0].split('@')[0].replace('-', '_').lower()
    if key in LANGUAGES:
        return key
    if key in ALIASES:
        return ALIASES[key]
    return 'en' if key.startswith('en_') else None


def language_code(code: str, where: str = 'language') -> str:
    """``code`` as one of :data:`LANGUAGES`; ValueError naming it and the choices otherwise."""
    found = known_language(code) if isinstance(code, str) else None
    if found is None:
        raise ValueError(f"unknown {where} {code!r}: choose one of {', '.join(LANGUAGES)} "
                         f"(zh is Simplified Chinese; zh_CN, zh-Hans and zh_SG mean it too)")
    return found


def set_language(lang: str | None) -> str:
    """Choose the language of the messages ('en', 'zh' or 'ja'); None goes back to
    ``$D2L_OPTIM_LANG`` and the locale. Returns the language now in use."""
    global _chosen
    _chosen = None if lang is None else language_code(lang)
    return get_language()


def _from_locale() -> str:
    """The first locale variable set, as gettext reads it: a ':' list of preferences."""
    for name in LOCALE_VARIABLES:
        value = os.environ.get(name)
        if value:
            for part in value.split(':'):
                found = known_language(part) if part else None
                if found is not None:
                    return found
            return 'en'
    return 'en'


def get_language() -> str:
    """The language messages are in now: 'en', 'zh' or 'ja' (see the module docstring)."""
    scoped = _scoped.get()
    if scoped is not None:
        return scoped
    if _chosen is not None:
        return _chosen
    env = os.environ.get(LANGUAGE_ENV)
    if env:
        return language_code(env, f'${LANGUAGE_ENV}')
    return _from_locale()


@contextlib.contextmanager
def language(lang: str | None) -> Iterator[str]:
    """Messages in ``lang`` inside the ``with`` block, in this thread only (None: unchanged)."""
    token = _scoped.set(None if lang is None else language_code(lang))
    try:
        yield get_language()
    finally:
        _scoped.reset(token)


@lru_cache(maxsize=None)
def translations(lang: str) -> stdlib_gettext.NullTranslations:
    """The catalog of ``lang`` (English: the messages as written)."""
    folder = LANGUAGES[language_code(lang)]
    if folder is None:
        return stdlib_gettext.NullTranslations()
    return stdlib_gettext.translation(DOMAIN, LOCALE_DIR, languages=[folder])


def gettext(message: str) -> str:
    """``message`` in the current language (the English text when it has no translation)."""
    if not message:             # gettext('') is the catalog's header
        return message
    return translations(get_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form of a message for ``n``, in the current language."""
    return translations(get_language()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for translation where it is defined; :func:`gettext` translates it at use."""
    return message


_ = gettext
