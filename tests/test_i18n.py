"""The learner's language (issue 22): the catalogs are complete and compiled, every mistake's
message reads in Chinese and Japanese, the language is chosen in the documented order, and a
Japanese lab is graded in Japanese."""
import csv
import gettext
import html
import re
import string

import pytest

from d2l_optim import i18n
from d2l_optim.checker.result import title
from d2l_optim.mistakes import CODES, Finding, message, variants
from d2l_optim.rules import EXTRA_RULES, RULES

babel = pytest.importorskip('babel', reason='Babel compiles the catalogs: pip install -r tests/requirements.txt')

import i18n_catalogs as catalogs  # noqa: E402  (tests/, next to this file)

LANGS = ('zh', 'ja')
FOLDERS = {'zh': 'zh_CN', 'ja': 'ja'}
CJK = re.compile(r'[\u3040-\u30ff\u4e00-\u9fff]')


@pytest.fixture(autouse=True)
def no_language_chosen(monkeypatch):
    """Each test starts with no language set anywhere (the machine's locale included)."""
    for name in (i18n.LANGUAGE_ENV, *i18n.LOCALE_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    i18n.set_language(None)
    yield
    i18n.set_language(None)


def fields(text: str) -> list[str]:
    """The str.format fields of ``text``, with their format specs: ['who', 'max_abs:.2g']."""
    return sorted(f"{name}:{spec}" for _, name, spec, _ in string.Formatter().parse(text) if name is not None)


# ---------------------------------------------------------------- the catalogs

@pytest.fixture(scope='module')
def extracted():
    return catalogs.extract()


@pytest.mark.parametrize('lang', LANGS)
def test_every_message_is_translated_with_the_same_placeholders(lang, extracted):
    catalog = catalogs.read(FOLDERS[lang])
    ids = {m.id for m in extracted if m.id}
    have = {m.id for m in catalog if m.id}
    assert len(ids) >= 80, 'the marked messages of check, the feedback page and the lab README'
    assert sorted(map(str, ids - have)) == [], f'not in the {lang} catalog: run python tests/i18n_catalogs.py'
    assert sorted(map(str, have - ids)) == [], f'stale in the {lang} catalog: run python tests/i18n_catalogs.py'
    for m in catalog:
        if not m.id:
            continue
        assert not m.fuzzy, f'fuzzy: {m.id!r}'
        singular = m.id[0] if isinstance(m.id, tuple) else m.id
        for form in (m.string if isinstance(m.string, tuple) else (m.string,)):
            assert form and form.strip(), f'untranslated: {singular!r}'
            assert form != singular, f'the English text as its {lang} translation: {singular!r}'
            assert fields(form) == fields(singular), f'placeholders differ: {singular!r} -> {form!r}'
            if CJK.search(singular) is None and re.search(r'[A-Za-z]{4,} [a-z]{3,} [a-z]{3,}', singular):
                assert CJK.search(form), f'not in {lang}: {form!r}'


@pytest.mark.parametrize('lang', LANGS)
def test_shipped_catalogs_are_compiled_from_the_po_files(lang):
    folder = FOLDERS[lang]
    mo = catalogs.po_path(folder).with_suffix('.mo')
    assert mo.read_bytes() == catalogs.compiled(catalogs.read(folder)), \
        f'{mo} is older than its .po: run python tests/i18n_catalogs.py'
    # and the standard library reads it, from where the package looks
    found = gettext.translation(i18n.DOMAIN, i18n.LOCALE_DIR, languages=[folder])
    assert found.gettext('passed') == {'zh': '通过', 'ja': '合格'}[lang]


def test_the_package_data_ships_the_compiled_catalogs():
    text = (catalogs.ROOT / 'pyproject.toml').read_text()
    assert '"locale/*/LC_MESSAGES/*.mo"' in text
    assert sorted(p.relative_to(catalogs.LOCALE).as_posix() for p in catalogs.LOCALE.rglob('*.mo')) == [
        'ja/LC_MESSAGES/d2l_optim.mo', 'zh_CN/LC_MESSAGES/d2l_optim.mo']


# ---------------------------------------------------------------- every mistake, in each language

#: what a translated message keeps of the English one: the code, formulas and names in it
KEEP = re.compile(r"(?<![\w'])(?:[A-Za-z_][\w.]*(?:\*\*\w+)?|\d+(?:\.\d+)?(?:e-?\d+)?)")
NAMES = {'eps', 'sqrt', 'lr', 'gamma', 'rho', 'beta', 'beta1', 'beta2', 'delta', 'momentum', 'v', 's', 'g',
         'p', 't', 'sign', 'NaN', 'Adam', 'Yogi', 'Adadelta', 'RMSProp', 'PyTorch', 'TensorFlow', 'w', 'b'}


def key_terms(text: str) -> set[str]:
    """The tokens of ``text`` a translation must keep: names with '_', '.', '**' or a digit, the
    math names and the library and algorithm names."""
    return {tok for tok in KEEP.findall(text)
            if tok in NAMES or re.search(r'[_.\d]|\*\*', tok) and not tok.endswith('.')}


def findings():
    """Per (rule, variant) of every mistake code and form its message tells apart: a function
    making the finding in the current language, as check makes it (``who`` included)."""
    for rule in [*RULES.values(), *EXTRA_RULES.values()]:
        for variant in variants(rule, grads_accumulate=True):
            for form in ('rule', 'book', '2d'):
                yield lambda rule=rule, variant=variant, form=form: Finding(
                    title({'fn': f'my_{rule.name}'}), rule, variant, form, 7, 26)


def test_every_mistake_message_in_chinese_and_japanese():
    seen = set()
    for finding in findings():
        code = finding().variant.code
        seen.add(code)
        english = message(finding())
        terms = key_terms(english)
        for lang in LANGS:
            with i18n.language(lang):
                text = message(finding())
            assert text != english and CJK.search(text), (code, lang, text)
            missing = {t for t in terms if t not in text}
            assert not missing, f'{code} ({finding().rule.name}, {lang}) lost {sorted(missing)}:\n{text}'
        assert message(finding()) == english          # the language is back to English after the block
    assert seen == set(CODES), f'codes without a finding: {sorted(set(CODES) - seen)}'


def test_key_terms_of_the_eps_message():
    """What the test above asks of each message, on the eps one: its variables and its formula."""
    rule = RULES['rmsprop']
    variant = next(v for v in variants(rule) if v.code == 'eps_outside_sqrt')
    found = Finding('Your my_rmsprop', rule, variant, 'rule', 1, None)
    english = message(found)
    assert english.startswith('Your my_rmsprop adds eps outside the square root: sqrt(s) + eps, with eps = 1e-06.')
    assert {'eps', 'sqrt', 'my_rmsprop', 'lr', 'g', 's', '1e-06', 'PyTorch'} <= key_terms(english)
    with i18n.language('ja'):
        ja = message(found._replace(who=title({'fn': 'my_rmsprop'})))
    with i18n.language('zh'):
        zh = message(found._replace(who=title({'fn': 'my_rmsprop'})))
    assert ja.startswith('あなたの my_rmsprop は eps を平方根の外で足しています: sqrt(s) + eps')
    assert zh.startswith('你的 my_rmsprop 把 eps 加在了平方根外面：sqrt(s) + eps')
    assert 'lr * g / sqrt(s + eps)' in ja and 'lr * g / sqrt(s + eps)' in zh


def test_check_itself_answers_in_the_language_set(monkeypatch):
    from d2l_optim.backends import numpy as d2l

    def my_rmsprop(p, g, state, hp, t, xp):
        (s,) = state
        s = hp['gamma'] * s + (1 - hp['gamma']) * g * g
        return p - hp['lr'] * g / (xp.sqrt(s) + 1e-6), (s,)
    english = d2l.check(my_rmsprop, 'rmsprop', steps=10)
    assert str(english).startswith('Your my_rmsprop adds eps outside the square root')
    assert d2l.set_language('ja') == 'ja'
    ja = d2l.check(my_rmsprop, 'rmsprop', steps=10)
    assert ja.mistake == english.mistake == 'eps_outside_sqrt' and not ja.passed
    assert str(ja).startswith('あなたの my_rmsprop は eps を平方根の外で')
    d2l.set_language('zh')
    wrong_form = d2l.check(lambda p: p, 'rmsprop')
    assert '接受 1 个参数' in str(wrong_form)
    ok = d2l.check(lambda p, g, state, hp, t, xp: (p, state), 'sgd', steps=5)
    assert not ok.passed and '从第 1 步起与参考实现 sgd 不同' in str(ok)


# ---------------------------------------------------------------- choosing the language

def test_language_order(monkeypatch):
    assert i18n.get_language() == 'en'                          # nothing set: English
    monkeypatch.setenv('LANG', 'ja_JP.UTF-8')
    assert i18n.get_language() == 'ja'
    monkeypatch.setenv('LC_MESSAGES', 'en_US.UTF-8')            # LC_MESSAGES before LANG
    assert i18n.get_language() == 'en'
    monkeypatch.setenv('LC_ALL', 'zh_CN.UTF-8')                 # LC_ALL before LC_MESSAGES
    assert i18n.get_language() == 'zh'
    monkeypatch.setenv('LANGUAGE', 'fr:ja')                     # LANGUAGE first, a list of preferences
    assert i18n.get_language() == 'ja'
    monkeypatch.setenv('LANGUAGE', 'fr')                        # the first one set decides: no French
    assert i18n.get_language() == 'en'
    monkeypatch.setenv(i18n.LANGUAGE_ENV, 'zh')                 # D2L_OPTIM_LANG before the locale
    assert i18n.get_language() == 'zh'
    assert i18n.set_language('ja') == 'ja'                      # set_language before everything
    monkeypatch.setenv(i18n.LANGUAGE_ENV, 'en')
    assert i18n.get_language() == 'ja'
    with i18n.language('zh'):                                   # a grading run's scope, then back
        assert i18n.get_language() == 'zh'
    assert i18n.get_language() == 'ja'
    assert i18n.set_language(None) == 'en'                      # back to D2L_OPTIM_LANG


@pytest.mark.parametrize('code, lang', [
    ('zh_CN', 'zh'), ('zh-Hans', 'zh'), ('zh_SG', 'zh'), ('zh-CN', 'zh'), ('zh_CN.UTF-8', 'zh'),
    ('ja', 'ja'), ('ja_JP.UTF-8', 'ja'), ('en_GB', 'en'), ('EN', 'en'), ('C', 'en')])
def test_language_codes(code, lang):
    assert i18n.set_language(code) == lang


@pytest.mark.parametrize('code', ['fr', 'zh_TW', 'zh-Hant', 'japanese', ''])
def test_unknown_language_names_it_and_the_choices(code, monkeypatch):
    with pytest.raises(ValueError, match=rf"unknown language {re.escape(repr(code))}: choose one of en, zh, ja"):
        i18n.set_language(code)
    monkeypatch.setenv(i18n.LANGUAGE_ENV, 'fr')
    with pytest.raises(ValueError, match=r"unknown \$D2L_OPTIM_LANG 'fr': choose one of en, zh, ja"):
        i18n.get_language()
    monkeypatch.setenv(i18n.LANGUAGE_ENV, '')
    monkeypatch.setenv('LANG', 'fr_FR.UTF-8')                   # a locale we have no catalog for: English
    assert i18n.get_language() == 'en'


def test_set_language_on_every_backend_module_and_the_package():
    import d2l_optim
    from d2l_optim.backends import numpy as d2l
    assert d2l.set_language is d2l_optim.set_language is i18n.set_language
    assert d2l_optim.get_language() == 'en'
    for name in ('torch', 'tensorflow', 'mxnet', 'jax'):
        try:
            module = __import__(f'd2l_optim.backends.{name}', fromlist=['set_language'])
        except Exception:        # the framework is not installed here
            continue
        assert module.set_language is i18n.set_language


def test_gettext_of_the_empty_string_is_not_the_catalog_header():
    with i18n.language('ja'):
        assert i18n.gettext('') == ''
        assert i18n.gettext('not a message of ours') == 'not a message of ours'
        assert i18n.ngettext('a {kind} of {n} value', 'a {kind} of {n} values', 3) == '{n} 個の値を持つ {kind}'


# ---------------------------------------------------------------- a Japanese lab

def _lab_modules():
    pytest.importorskip('nbformat')
    pytest.importorskip('nbclient')
    pytest.importorskip('ipykernel')
    import nbformat as nbf
    from d2l_optim.cli import main
    from lab_fixtures import RMSPROP_EPS_OUTSIDE, answer, make_sections
    return nbf, main, RMSPROP_EPS_OUTSIDE, answer, make_sections


def _rows(path):
    with open(path, newline='', encoding='utf-8') as f:
        return list(csv.DictReader(f))


def test_japanese_lab_is_graded_in_japanese(tmp_path, capsys):
    nbf, main, eps_outside, answer, make_sections = _lab_modules()
    english = make_sections(tmp_path / 'notebooks')
    japanese = make_sections(english / 'ja')              # the same file names, in notebooks/ja/
    for path in japanese.glob('*.ipynb'):
        nb = nbf.read(path, 4)
        nb.cells[0].source = nb.cells[0].source.replace('# ', '# 演習 ')
        nbf.write(nb, path)
    out = tmp_path / 'lab'
    assert main(['lab', 'build', '--notebooks', str(english), '--lang', 'ja', '--out', str(out),
                 '--sections', '11.8']) == 0
    readme = (out / 'README.md').read_text(encoding='utf-8')
    assert readme.startswith('# 演習: 11.8\n') and 'd2l-optim lab grade submissions/ --out grades/' in readme
    assert (out / 'solution' / '11.8-rmsprop.ipynb').read_text() == (japanese / '11.8-rmsprop.ipynb').read_text()
    student = nbf.read(out / 'student' / '11.8-rmsprop.ipynb', 4)
    assert student.cells[0].source.startswith('# 演習') and student.metadata['d2l_optim'] == {'language': 'ja'}
    # a student who put eps outside the root
    answer(student, 'def my_rmsprop', eps_outside)
    sub = tmp_path / 'submissions' / 'alice' / '11.8-rmsprop.ipynb'
    sub.parent.mkdir(parents=True)
    nbf.write(student, sub)
    assert main(['lab', 'grade', str(sub.parent), '--out', str(tmp_path / 'g'), '--sandbox', 'none']) == 0
    rows = {r['check']: r for r in _rows(tmp_path / 'g' / 'grades.csv')}
    assert rows['rmsprop']['passed'] == 'False' and rows['rmsprop']['mistake'] == 'eps_outside_sqrt'
    assert rows['rmsprop']['message'].startswith('あなたの my_rmsprop は eps を平方根の外で足しています: sqrt(s) + eps')
    page = html.unescape((tmp_path / 'g' / 'feedback' / '11.8-rmsprop.html').read_text(encoding='utf-8'))
    assert '<html lang="ja">' in page and 'rmsprop: 不合格 (eps_outside_sqrt)' in page
    assert '2 件のチェックのうち 0 件に合格しました。' in page
    assert 'あなたの my_rmsprop は eps を平方根の外で足しています' in page
    assert 'passed' not in page.replace('d2l_optim', '')     # no English word of the page is left
    # --lang on grade overrides what the lab recorded
    assert main(['lab', 'grade', str(sub.parent), '--out', str(tmp_path / 'g-en'), '--sandbox', 'none',
                 '--lang', 'en']) == 0
    rows = {r['check']: r for r in _rows(tmp_path / 'g-en' / 'grades.csv')}
    assert rows['rmsprop']['message'].startswith('Your my_rmsprop adds eps outside the square root')
    page = (tmp_path / 'g-en' / 'feedback' / '11.8-rmsprop.html').read_text(encoding='utf-8')
    assert '<html lang="en">' in page and '0 of 2 checks passed.' in page


def test_lab_build_lang_mistakes(tmp_path, capsys):
    nbf, main, _, _, make_sections = _lab_modules()
    english = make_sections(tmp_path / 'notebooks')
    assert main(['lab', 'build', '--notebooks', str(english), '--lang', 'fr', '--out', str(tmp_path / 'x')]) == 2
    err = capsys.readouterr().err
    assert "unknown --lang 'fr': choose one of en, zh, ja" in err and len(err.strip().splitlines()) == 1
    # a folder without zh/ is taken as a folder of notebooks in that language; the README is Chinese
    assert main(['lab', 'build', '--notebooks', str(english), '--lang', 'zh_CN', '--out', str(tmp_path / 'zh'),
                 '--sections', '11.6']) == 0
    assert (tmp_path / 'zh' / 'README.md').read_text(encoding='utf-8').startswith('# 实验：11.6\n')
    for fmt, first in (('nbgrader', '# 实验 lab：11.6（nbgrader 版）'), ('otter', '# 实验：11.6（otter-grader 版）')):
        assert main(['lab', 'build', '--notebooks', str(english), '--lang', 'zh', '--format', fmt,
                     '--out', str(tmp_path / fmt), '--sections', '11.6']) == 0
        assert (tmp_path / fmt / 'README.md').read_text(encoding='utf-8').startswith(first)


# ---------------------------------------------------------------- the READMEs

@pytest.mark.parametrize('readme, lang', [('README.zh-CN.md', 'zh'), ('README.ja.md', 'ja')])
def test_readme_in_each_language_shows_what_check_says(readme, lang):
    """The README's check example is the message check gives in that language (up to an '…')."""
    from d2l_optim.backends import numpy as d2l
    root = catalogs.ROOT
    assert f'({readme})' in (root / 'README.md').read_text(encoding='utf-8').split('\n\n', 2)[1]
    text = (root / readme).read_text(encoding='utf-8')
    code = text.split("d2l.check(my_rmsprop, 'rmsprop')\n", 1)[1].split('```', 1)[0]
    shown = [line[2:] for line in code.strip().split('\n')]
    namespace = {}
    exec(text.split('```python\ndef my_rmsprop', 1)[1].split('\n\n', 1)[0].join(['def my_rmsprop', '']),
         namespace)
    with i18n.language(lang):
        said = str(d2l.check(namespace['my_rmsprop'], 'rmsprop', steps=10)).split('\n')
    assert len(shown) == len(said)
    for line, want in zip(shown, said):
        assert want == line or line.endswith('…') and want.startswith(line[:-1]), (line, want)
    for command in ('d2l-optim run rmsprop --out out', 'bash tests/run.sh', f'lab build --lang {lang} --out lab/',
                    'd2l-optim lab grade submissions/ --out grades/', f"d2l.set_language('{lang}')"):
        assert command in text
