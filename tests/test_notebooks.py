"""Every chapter notebook (11.1-11.10) runs without error on every installed backend, headless,
and prints the numbers its cells compute (the book's traces and every exercise's answer).

The committed ``.ipynb`` files are the source: they are edited in Jupyter (or with nbformat)
and stored without outputs; no generator rewrites them. Each notebook's first code cell is
``BACKEND = "numpy"`` tagged ``parameters``; the test replaces it (as papermill would; on NumPy
as ``BACKEND = "NUMPY"``, since the name is case-insensitive) and executes the notebook with
nbclient. Answer cells are stored folded (``jupyter.source_hidden``). The cross-backend cells
use every backend on the NumPy run, and NumPy plus the notebook's backend on the others
(``D2L_OPTIM_BACKENDS``), so each framework is imported once per run. Slow (minutes): deselect
with ``-m "not notebooks"``; one notebook on one backend: ``-k "11.3 and numpy"``.
"""
from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path
from typing import Any, Union

import pytest

nbformat = pytest.importorskip('nbformat')
nbclient = pytest.importorskip('nbclient')

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((p for p in (ROOT / 'notebooks').glob('11.*-*.ipynb') if not p.name.startswith('11.11')),
                   key=lambda p: int(p.name.split('-')[0].split('.')[1]))


#: CI's second environment sets this to the backends only it has (``numpy,jax``): the
#: others' notebooks already ran in the first environment
NOTEBOOK_BACKENDS_ENV = 'D2L_OPTIM_NOTEBOOK_BACKENDS'


def notebook_backends() -> list[str]:
    """Installed frameworks whose adapter exists (neither is imported here), limited to
    ``$D2L_OPTIM_NOTEBOOK_BACKENDS`` (comma-separated) when that is set."""
    import os
    from d2l_optim.backend import installed_backends
    found = [b for b in installed_backends() if importlib.util.find_spec(f'd2l_optim.backends.{b}')]
    wanted = [b.strip() for b in os.environ.get(NOTEBOOK_BACKENDS_ENV, '').split(',') if b.strip()]
    return [b for b in found if b in wanted] if wanted else found


#: One printed expectation: an exact line (the whole line, after stripping spaces at its ends),
#: or ``(pattern, value, tol)``: a regex whose first group is a number within ``tol`` of
#: ``value`` on the first line that matches (``tol=0`` for counts and exact integers).
Expect = Union[str, tuple[str, float, float]]

#: the book's per-framework form of 11.8 and 11.10 is ``rmsprop_<backend>``/``adam_<backend>``;
#: each run checks the one for its own backend
BOOK_FORM = '(?:numpy|torch|tensorflow|mxnet|jax)'


#: 11.7 exercise 5's accuracies on the synthetic Fashion-MNIST stand-in; where the real files
#: are in $D2L_OPTIM_DATA_DIR the notebook trains on them (its first line says which) instead
STAND_IN_ACCURACIES = [(r'^best SGD: lr 0\.3, test accuracy (\d\.\d+)$', 0.613, 0.01),
                       (r'^best AdaGrad: lr 0\.01, test accuracy (\d\.\d+)$', 0.848, 0.01)]
REAL_FASHION_MNIST = 'Fashion-MNIST: the first 5000 training and 1000 test images'
#: 11.8 exercise 3 on the stand-in (3 seeds): RMSProp at 0.001 fits it better than SGD at 0.1, and the
#: cosine-decayed 0.003 generalizes best; the real data gives other numbers
STAND_IN_RMSPROP = [(r'^SGD, lr 0\.1\s+(\d\.\d+) \+-', 0.553, 0.05),
                    (r'^RMSProp, lr 0\.001\s+(\d\.\d+) \+-', 0.296, 0.05),
                    (r'^RMSProp, lr 0\.003 cosine to 1e-4\s+\S+ \+- \S+\s+(\d\.\d+) \+-', 0.876, 0.04)]
STAND_IN = STAND_IN_ACCURACIES + STAND_IN_RMSPROP


#: each your-turn expectation's English pattern -> the same check in any language: the line
#: names the learner's function and the rule and ends on the minibatch count (150)
YOUR_TURN_ANY_LANGUAGE: dict[str, tuple[str, float, float]] = {}


def your_turn(name: str, rule: str) -> tuple[str, float, float]:
    """The line ``d2l.check(name, rule)`` shows when the learner's code passes: 50 seeded steps
    and one airfoil epoch of 150 minibatches (a failing check prints another line, and the
    notebook test then fails on the missing one). ``name`` may be a regex."""
    english = (rf'^Your {name} matches the reference {rule}: 50 seeded steps and one airfoil epoch '
               r'\((\d+) minibatches\)\.$', 150, 0)
    YOUR_TURN_ANY_LANGUAGE[english[0]] = (rf'^.*{name}\b.*\b{rule}\b.*\b50\b.*\D(\d+)\D*$', 150, 0)
    return english


#: What each section's notebook must print, on every backend. One entry per section, so the
#: sections' owners edit only their own entry. 11.11's notebook is executed by tests/test_lenet.py.
EXPECTED: dict[str, list[Expect]] = {
    '11.1': ['d = 1: share of random symmetric matrices with all eigenvalues > 0: 0.4980',
             'd = 2: share of random symmetric matrices with all eigenvalues > 0: 0.1450',
             'd = 4: share of random symmetric matrices with all eigenvalues > 0: 0.0024',
             'd = 6: share of random symmetric matrices with all eigenvalues > 0: 0.0000',
             # ex. 2b: an atom at 0 (exactly 23/64, 18/64), and an eigenvalue named by its rank
             'entries in {-1, 0, 1}: P(lambda > 0) = 0.3594, P(lambda = 0) = 0.2812, P(lambda < 0) = 0.3594',
             (r'P\(random eigenvalue > 0\) = (\d\.\d+)', 0.5, 0.01),
             (r'P\(largest > 0\) = (\d\.\d+)', 0.998, 0.003)],
    '11.2': ['disk: 1.000 of 2000 random chords stay inside',                    # convex sets
             'diamond: 1.000 of 2000 random chords stay inside',
             'disks: intersection: 1.000 of 2000 random chords stay inside',
             (r'^crescent: (\d\.\d+) of 2000 random chords stay inside$', 0.926, 0.03),
             (r'^disks: union: (\d\.\d+) of 2000 random chords stay inside$', 0.858, 0.03),
             "x^4 + x^2: smallest f'' on [-2, 2] +2.000, largest excess over 2000 random chords +0.000",  # f'' >= 0
             (r"^cos\(pi x\): smallest f'' on \[-2, 2\] -9\.870, largest excess over 2000 random chords \+(\d\.\d+)$",
              1.956, 0.05),
             (r'^log-sum-exp: smallest Hessian eigenvalue at 1000 random points (\S+)$', 0.0, 1e-12),
             (r'^unit ball: largest \(x - Proj x\)\^T \(z - Proj x\) over 10000 pairs (\S+)$', 0.0, 1e-12),
             (r'^cube: largest \(x - Proj x\)\^T \(z - Proj x\) over 10000 pairs (\S+)$', 0.0, 1e-12),
             (r'^log-sum-exp: largest excess over a chord on 1000 random segments (\S+)$', 0.0, 1e-12),
             'projection of (3, 4) onto the unit ball: [0.6 0.8]',
             (r'^largest \|Proj x - Proj y\| / \|x - y\|: (\d\.\d+)$', 0.4980, 1e-4),
             'max(x^2, (x-2)^2) on [0, 2]: largest excess over the chord +0.000',
             'min(x^2, (x-2)^2) on [0, 2]: largest excess over the chord +1.000'],
    '11.3': ['epoch 10, x: 0.060466', 'epoch 10, x: 3.486784', 'epoch 10, x: 61.917364',
             'epoch 10, x: -1.528166', 'epoch 20, x1: -0.057646, x2: -0.000073',
             'epoch 10, x: 0.000000', 'epoch 10, x: 26.834133', 'epoch 10, x: 7.269860',
             # Newton on x cos(cx): positive curvature at the start, a local maximum at the end
             "f''(10) = +0.9425, f''(5) = +0.1187",
             'eta 1: x = 10.000, 5.000, 24.995, 27.783, ...',
             "eta 1: x after 10 steps 26.834, f''(x) = -6.015, f(x) = +26.751: a local maximum",
             "eta 0.5: x after 10 steps 7.270, f''(x) = +1.814, f(x) = -6.978: a local minimum",
             (r'^step 5: error \S+, error / previous error\^2 (\d\.\d+)$', 0.5, 1e-4),  # quadratic convergence
             'lr 0.50: f after 20 steps 8.000e+00', 'best lr: 0.35',                     # ex. 1
             (r'^bisection minimizer: (-?\d+\.\d+) after', -0.768951, 1e-4),             # ex. 2
             (r'^bisection minimizer: \S+ after (\d+) iterations$', 16, 0),
             (r'^x1\^2 \+ 2 x2\^2, lr 0.3, steps to 1e-3: (\d+)$', 6, 0),                # ex. 3
             (r'^0.005 x1\^2 \+ x2\^2, lr 0.9, steps to 1e-3: (\d+)$', 268, 0),
             (r'^diagonal Newton, lr 1, steps to 1e-3: (\d+)$', 1, 0),                   # ex. 4
             (r'^rotated, gradient descent, lr 0.9, steps to 1e-3: (\d+)$', 266, 0),     # ex. 5
             (r'^rotated, diagonal Newton, lr 1, steps to 1e-3: (\d+)$', 422, 0)],
    '11.4': [your_turn('my_sgd', 'sgd'),
             (r'^T =   10: E\[R\(x_bar\)\] - R\* = (\d\.\d+) .* bound r L / sqrt\(T\) = 0\.6325$', 0.127, 0.01),  # the bound
             (r'^T = 1000: E\[R\(x_bar\)\] - R\* = (\d\.\d+) .* bound r L / sqrt\(T\) = 0\.0632$', 0.0013, 3e-4),
             (r'^constant: mean distance to \(0, 0\) after 100 steps (\d+\.\d+)$', 0.197, 5e-4),  # ex. 1
             (r'^exponential: mean distance to \(0, 0\) after 100 steps (\d+\.\d+)$', 0.801, 5e-4),
             (r'^polynomial: mean distance to \(0, 0\) after 100 steps (\d+\.\d+)$', 0.100, 5e-4),
             (r'^without replacement: final loss (\d+\.\d+) ', 0.2454, 1e-3),          # ex. 3
             (r'^with replacement: final loss (\d+\.\d+) ', 0.2470, 1e-3),
             (r'^with minus without, seed by seed: ([-+]\d\.\d+) ', 0.0015, 1e-3),
             'local minima of x^2 (1 + sin x) on [-20, 20]: 7'],                        # ex. 5
    '11.5': [your_turn('my_minibatch_sgd', 'sgd'),
             "2 n^3 for n = 256: 0.0336 billion; the book's 0.03 is 0.894 of it, an earlier edition's 2 is 59.6 times it",
             (r'^\s+1\s+0.005\s+(\d\.\d+)\s', 0.2462, 1e-3),                                  # ex. 1
             (r'^\s+10\s+0.05\s+(\d\.\d+)\s', 0.2463, 1e-3),
             (r'^\s+100\s+0.4\s+(\d\.\d+)\s', 0.2451, 1e-3),
             (r'^\s+1500\s+1.0\s+(\d\.\d+)\s', 0.2499, 1e-3),
             '1    0.4 diverged', 'lowest loss after 2 epochs: batch size 100, lr 0.4',
             "rates per epoch: ['5e-02', '5e-03', '5e-04', '5e-05']",                      # ex. 2
             (r'^constant lr 0.05:\s+loss: (\d\.\d+),', 0.247, 1e-3),
             (r'^lr / 10 after each epoch:\s+loss: (\d\.\d+),', 0.243, 1e-3),
             (r'^without replacement: final loss (\d\.\d+) ', 0.2449, 1e-3),              # ex. 3
             (r'^with replacement: final loss (\d\.\d+) ', 0.2459, 1e-3),
             (r'^gradient descent: loss after 10 epoch\(s\) (\d\.\d+) on the data', 0.2447, 1e-3),  # ex. 4
             (r'^gradient descent: .* on the data, (\d\.\d+) on it twice', 0.2447, 1e-3),
             (r'^SGD: loss after 1 epoch\(s\) (\d\.\d+) on the data', 0.2483, 1e-3),
             (r'^SGD: .* on the data, (\d\.\d+) on it twice', 0.2438, 1e-3),
             (r'^minibatch SGD: loss after 1 epoch\(s\) (\d\.\d+) on the data', 0.2485, 1e-3),
             (r'^minibatch SGD: .* on the data, (\d\.\d+) on it twice', 0.2439, 1e-3)],
    '11.6': ['epoch 20, x1: -0.943467, x2: -0.000073', 'epoch 20, x1: -0.387814, x2: -1673.365109',
             'epoch 20, x1: 0.007188, x2: 0.002553', 'epoch 20, x1: -0.126340, x2: -0.186632',
             'beta 0.9: sum of the weights 10.00, 1 / (1 - beta) = 10.00',
             your_turn('my_momentum', 'momentum'),                                         # your turn
             (r'^largest \|O \(x_t - x\*\) - z_t\| over 100 momentum steps: (\S+)$', 0.0, 1e-12),  # decoupling
             'beta 0.0: largest |mu| reaches 1 at eta lambda = 2.000, 2 + 2 beta = 2.000',
             'beta 0.5: largest |mu| reaches 1 at eta lambda = 3.000, 2 + 2 beta = 3.000',
             'beta 0.9: largest |mu| reaches 1 at eta lambda = 3.800, 2 + 2 beta = 3.800',
             (r'^best median over 10 seeds: .* median final loss (\d\.\d+)', 0.2433, 5e-4),    # ex. 1
             (r'^gradient descent: f\(x\) <= 1e-3 after (\d+) steps', 205, 0),             # ex. 2
             (r'^momentum 0\.9: f\(x\) <= 1e-3 after (\d+) steps', 56, 0),
             (r'^momentum 0\.9: .* every \|x_i\| <= 1e-3 after (\d+) steps$', 282, 0),
             'gradient descent on lambda = 2^-9 alone needs 3534',
             'mu_+ = 0.9744, 1 - eta lambda / (1 - beta) = 0.9805; steps to 1e-3 at mu_+: 267',
             'A = 1.465: |x_t| <= 1e-3 once A mu_+^t <= 1e-3, after 282 steps',          # the run's 282, predicted
             (r'^\|x_momentum - \(-Q\^-1 c\)\|  = (\S+)$', 0.0, 1e-10),                    # ex. 3
             (r'^\|x_momentum - \(\+Q\^-1 c\)\|  = (\d+\.\d+)', 1.095, 1e-3),
             (r'^h\(x_momentum\) - \(b - c\^T Q\^-1 c / 2\) = (\S+)$', 0.0, 1e-10),
             (r'^h\(-Q\^-1 c\) = (\d+\.\d+) < h\(\+Q\^-1 c\)', 1.124317, 1e-6),
             (r'^at a random x: h\(x\) - \[1/2 \(x \+ Q\^-1 c\)\^T Q \(x \+ Q\^-1 c\) \+ h\*\] = (\S+),', 0.0, 1e-9),
             # ex. 4, 10 seeds: SGD's mean, momentum's mean, their mean paired difference (about 0)
             *[item for batch, lr, sgd, mom in ((1, '0.005', 0.2448, 0.2445), (10, '0.050', 0.2449, 0.2441),
                                                (100, '0.400', 0.2448, 0.2444))
               for item in ((rf'^\s*{batch}\s+{lr}\s+(\d\.\d+) \+-', sgd, 1e-3),
                            (rf'^\s*{batch}\s+{lr}\s+\S+ \+- \S+\s+(\d\.\d+) \+-', mom, 1e-3),
                            (rf'^\s*{batch}\s+{lr}(?:\s+\S+ \+- \S+){{2}}\s+([-+]\d\.\d+) \+-', 0.0, 0.0015))]],
    '11.7': ['epoch 20, x1: -2.382563, x2: -0.158591', 'epoch 20, x1: -0.002295, x2: -0.000000',
             # E[g_i^2] = sigma^2 H_ii at the optimum (sigma^2 = 0.25), for each of the three coordinates
             *[(rf'^at the optimum: mean squared gradient / Hessian diagonal per coordinate \[{skip}(\d\.\d+)', 0.25, 0.01)
               for skip in ('', r'\S+\s+', r'\S+\s+\S+\s+')],
             your_turn('my_adagrad', 'adagrad'),                                           # your turn
             (r'^\|U\^T U - I\| = (\S+),', 0.0, 1e-12),                                   # ex. 1
             'sgd: f after 20 steps, axis-aligned 0.178026, rotated 0.178026',             # ex. 2
             'adagrad: f after 20 steps, axis-aligned 1.235925, rotated 3.879275',
             (r'^axis-aligned: .* preconditioned .* condition (\d+\.\d+)$', 1.0, 1e-3),   # ex. 3, 4
             (r'^rotated: .* preconditioned .* condition (\d+\.\d+)$', 20.0, 0.05),
             *STAND_IN_ACCURACIES],                                                         # ex. 5
    '11.8': ['epoch 20, x1: -0.010599, x2: 0.000000',
             (r'^\s*200\s+(\d\.\d+)\s+\d\.\d+$', 0.7986, 1e-4),                        # s_t / t remembers
             (r'^\s*200\s+\d\.\d+\s+(\d\.\d+)$', 0.0086, 1e-4),                        # the leaky one forgets
             (r'^s_t / t falls below 2 x 0\.01 only at t = (\d+)$', 94635, 100),
             your_turn('my_rmsprop', 'rmsprop'), your_turn(f'rmsprop_{BOOK_FORM}', 'rmsprop'),  # your turn
             'x2 grows by a factor 1599 per step: after 20 steps |x2| = 2.39e+64 = 2 * 1599^20',  # ex. 1
             (r'^step  1: s = \[0\. 0\.\], x1 = \S+, x2 = (\S+)$', 3198.0, 1.0),
             'rmsprop: f after 20 steps, axis-aligned 0.000022, rotated 0.290859',         # ex. 2
             (r'^gamma 0\.0  : median final loss (\d\.\d+) ', 0.2501, 5e-4),              # ex. 4
             (r'^gamma 0\.9  : median final loss (\d\.\d+) ', 0.2429, 5e-4),
             (r'^gamma 0\.999: median final loss (\d\.\d+) ', 0.2447, 5e-4),
             (r'^\s*0\.9\s+(\d\.\d+)$', 0.2455, 5e-4),
             (r'^\s*0\.5 rising to 0\.99\s+(\d\.\d+)$', 0.2454, 5e-4),
             *STAND_IN_RMSPROP],                                                              # ex. 3
    '11.9': [your_turn('my_adadelta', 'adadelta'),                                       # your turn
             (r'^rho 0\.5  : median final loss (\d\.\d+) ', 0.2437, 5e-4),               # ex. 1
             (r'^rho 0\.9  : median final loss (\d\.\d+) ', 0.2427, 5e-4),
             (r'^rho 0\.999: median final loss (\d\.\d+) ', 0.2765, 1e-3),
             'equal to the library rule: True',                                           # ex. 2
             'c =      1: eps 0.001: 29 steps, eps 1e-05: 161 steps, eps 1e-07: 815 steps',  # ex. 3
             'c =    100: eps 0.001: 815 steps, eps 1e-05: 3949 steps, eps 1e-07: 18584 steps',
             'c =  10000: eps 0.001: 18584 steps, eps 1e-05: 86563 steps, eps 1e-07: > 100000 steps',
             (r'^\s*adagrad: loss after 0\.25 epoch (\d\.\d+)', 0.2588, 1e-3),               # ex. 4
             (r'^adadelta: loss after 0\.25 epoch (\d\.\d+)', 0.3147, 1e-3),
             (r'^adadelta: loss after 0\.25 epoch \S+, after 2 epochs (\d\.\d+)$', 0.2445, 5e-4)],
    '11.10': [your_turn('my_adam', 'adam'), your_turn(f'adam_{BOOK_FORM}', 'adam'),        # your turn
              your_turn('my_yogi', 'yogi'),
              (r'^adam: best lr (\d\.\d+), median', 0.0056, 0),                          # ex. 1
              (r'^adam: best lr \S+ median final loss (\d\.\d+)', 0.2433, 5e-4),
              (r'^adam: .* robust width (\d+\.\d)x$', 1.8, 0),
              (r'^rmsprop: best lr (\d\.\d+), median', 0.01, 0),
              (r'over 50 steps: (\S+)$', 0.0, 1e-12),                                     # ex. 2
              'adam: x after 3000 steps +1.000 (the optimum is -1)',                      # ex. 4
              (r'^yogi: x after 3000 steps ([-+]\d\.\d+)', -0.988, 0.002)],
    # ex. 1: lr 0.1 and 0.3 both fit the stand-in's training set and tie on test accuracy
    # (0.887 each here, one test image apart elsewhere), so either may be the best: 0.2 +- 0.1
    '11.11': [(r'^best fixed lr: (\S+) \(test acc', 0.2, 0.1 + 1e-9),                     # ex. 1
              # lr 1.0 does not train: its digits vary with BLAS threads and NumPy versions (2.305,
              # 2.323; single epochs swing by 0.1), so assert that property: the loss near
              # ln 10 = 2.3026 (a trained run is below 1) and both accuracies near chance (0.1)
              (r'^fixed lr 1\.0 : final train loss (\d\.\d+)', math.log(10), 0.15),
              (r'^fixed lr 1\.0 : .*, train acc (\d\.\d+),', 0.1, 0.1),
              (r'^fixed lr 1\.0 : .*, test acc (\d\.\d+)$', 0.1, 0.1),
              (r'^poly power 3: .* test acc (\d\.\d+)$', 0.879, 0.01),                    # ex. 2
              (r'^poly power 0\.5: final train loss (\d\.\d+)', 0.021, 0.005),
              (r'^warmup 10 epochs: .* test acc (\d\.\d+)$', 0.891, 0.01)],              # ex. 4
}
#: notebooks that train on the airfoil data and print the book's "loss: L, T sec/epoch" lines
#: (11.10: Adam, your Adam, the book's form, the built-in, Yogi and your Yogi)
TRAINING = {'11.5': 6, '11.6': 4, '11.7': 2, '11.8': 2, '11.9': 2, '11.10': 6}
#: the sections whose notebooks overlay one seed's run on several backends
OVERLAY = ('11.4', '11.5', '11.6', '11.7', '11.8', '11.9', '11.10')
#: the sections whose notebooks put each framework's own optimizer beside our rule
#: (``cross_backend.add_builtin_runs``): on any backend but NumPy they print a built-in line
BUILTINS = OVERLAY


#: TensorFlow/absl start-up lines that must not reach a learner's output
TF_LOG_MARKERS = ('cpu_feature_guard', 'absl::InitializeLog', 'oneDNN', 'I0000 ', 'W0000 ',
                  'This TensorFlow binary is optimized')


def stream_of(nb, name: str = 'stdout', results: bool = False) -> str:
    """What an executed notebook printed to ``name``, cell after cell (and, with ``results``,
    the plain-text form of each cell's value).

    Stream outputs are concatenated as they are: the kernel flushes on a timer, so one
    ``print(a, b)`` can arrive as two outputs (``'a:'`` then ``' 1\n'``; seen in CI on
    11.3), and joining them with a newline would break that line in two.
    """
    parts = []
    for cell in nb.cells:
        if cell.cell_type != 'code':
            continue
        for o in cell.outputs:
            if o.get('output_type') == 'stream' and o.get('name') == name:
                parts.append(o.get('text', ''))
            elif results and o.get('output_type') == 'execute_result':
                parts.append('\n' + o.get('data', {}).get('text/plain', '') + '\n')
        parts.append('\n')
    return ''.join(parts)


def stderr_of(nb) -> str:
    """Everything an executed notebook printed to stderr."""
    return stream_of(nb, 'stderr')


def check_expected(section: str, text: str, lang: str = 'en') -> list[str]:
    """What ``text`` (a notebook's printed output) misses of ``EXPECTED[section]``, as messages.
    In another ``lang`` the numbers are the same; only ``check``'s sentences are translated."""
    lines = [line.strip() for line in text.splitlines()]
    missing = []
    for item in EXPECTED.get(section, []):
        if item in STAND_IN and REAL_FASHION_MNIST in lines:
            continue
        if lang != 'en' and isinstance(item, tuple) and item[0] in YOUR_TURN_ANY_LANGUAGE:
            item = YOUR_TURN_ANY_LANGUAGE[item[0]]
        if isinstance(item, str):
            if item not in lines:
                missing.append(f'missing line {item!r}')
            continue
        pattern, value, tol = item
        m = re.search(pattern, text, re.M)
        if m is None:
            missing.append(f'no line matches {pattern!r}')
        elif not abs(float(m.group(1)) - value) <= tol:
            missing.append(f'{pattern!r}: got {m.group(1)}, expected {value} +- {tol}')
    return missing


def our_deprecation_warnings(stderr: str) -> list[str]:
    """The DeprecationWarning lines in ``stderr`` raised in our code (d2l_optim or backends)."""
    return re.findall(r'^.*(?:d2l_optim|backends)/\S+\.py:\d+: \w*DeprecationWarning.*$', stderr, re.M)


def stdout_of(nb) -> str:
    """Everything an executed notebook printed to stdout, and the plain-text form of each cell's
    value (a ``d2l.check`` result shows its message), cell after cell."""
    return stream_of(nb, 'stdout', results=True)


def test_a_print_split_across_two_stream_outputs_stays_one_line():
    nbformat = pytest.importorskip('nbformat')
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('print(a, b)'),
                                         nbformat.v4.new_code_cell('x')])
    out = nbformat.v4.new_output
    nb.cells[0].outputs = [out('stream', name='stdout', text='diagonal Newton, lr 1, steps to 1e-3:'),
                           out('stream', name='stdout', text=' 1\n'),
                           out('stream', name='stderr', text='a warning\n')]
    nb.cells[1].outputs = [out('execute_result', data={'text/plain': 'passed'}, execution_count=2)]
    newton = [m for m in check_expected('11.3', '') if "'^diagonal Newton" in m]
    assert len(newton) == 1 and newton[0] not in check_expected('11.3', stdout_of(nb))
    assert stdout_of(nb).splitlines()[0] == 'diagonal Newton, lr 1, steps to 1e-3: 1'
    assert 'passed' in stdout_of(nb).splitlines() and stderr_of(nb).strip() == 'a warning'


def execute(path: Path, backend: str, tmp_path: Path, monkeypatch) -> Any:
    """The notebook at ``path`` executed headless on ``backend`` (outputs kept in the result)."""
    from d2l_optim.sections import available_backends
    ok, skipped = available_backends([backend])
    if not ok:
        pytest.skip(skipped[backend])
    nb = nbformat.read(path, as_version=4)
    params = [c for c in nb.cells if 'parameters' in c.metadata.get('tags', [])]
    assert len(params) == 1
    # the NumPy run writes the name in capitals: every cell must take BACKEND in any case
    params[0].source = f'BACKEND = "{backend.upper() if backend == "numpy" else backend}"'
    monkeypatch.setenv('MPLBACKEND', 'Agg')
    # Python's default filters show a DeprecationWarning only when raised in __main__ (the
    # cell); this shows those raised in library modules too, ours included, so that
    # test_notebook_runs can fail on them
    monkeypatch.setenv('PYTHONWARNINGS', 'default::DeprecationWarning')
    # the cross-backend cells: NumPy beside the notebook's backend (each framework's own run
    # covers its pair, so the NumPy run does not import every framework again)
    monkeypatch.setenv('D2L_OPTIM_BACKENDS', 'numpy' if backend == 'numpy' else f'numpy,{backend}')
    client = nbclient.NotebookClient(nb, timeout=900, kernel_name='python3',
                                      resources={'metadata': {'path': str(tmp_path)}})
    client.execute()      # raises CellExecutionError naming the cell on any error
    return nb


def test_notebooks_found_and_stored_without_outputs():
    assert [p.name.split('-')[0] for p in NOTEBOOKS] == [f'11.{i}' for i in range(1, 11)]
    assert not (ROOT / 'notebooks' / '_build.py').exists()      # the notebooks are the source
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == 'code']
        assert code[0].source == 'BACKEND = "numpy"', path.name
        assert code[0].metadata.get('tags') == ['parameters'], path.name
        assert all(c.outputs == [] and c.execution_count is None for c in code), path.name


def test_expected_has_one_entry_per_section_and_checks_numbers():
    assert list(EXPECTED) == [f'11.{i}' for i in range(1, 12)]
    saved = dict(EXPECTED)
    try:
        EXPECTED['11.1'] = ['epoch 10, x: 0.060466', (r'^iterations: (\d+)$', 22, 0),
                            (r'^minimizer: (-?\d+\.\d+)$', -0.7690, 1e-4)]
        good = '  epoch 10, x: 0.060466\niterations: 22\nminimizer: -0.76903\n'
        assert check_expected('11.1', good) == []
        bad = 'epoch 10, x: 0.0604661\niterations: 23\n'
        assert check_expected('11.1', bad) == [
            "missing line 'epoch 10, x: 0.060466'",
            "'^iterations: (\\\\d+)$': got 23, expected 22 +- 0",
            "no line matches '^minimizer: (-?\\\\d+\\\\.\\\\d+)$'"]
    finally:
        EXPECTED.clear()
        EXPECTED.update(saved)


ALL_NOTEBOOKS = sorted((ROOT / 'notebooks').glob('11.*-*.ipynb'))


def answer_cells(nb) -> list[int]:
    """Indices of the cells holding an answer: a ``# BEGIN SOLUTION`` region, a line ending in
    ``# SOLUTION`` or the ``solution`` tag (the markers ``lab build`` removes)."""
    return [i for i, c in enumerate(nb.cells)
            if c.cell_type == 'code' and ('# BEGIN SOLUTION' in c.source or 'solution' in c.metadata.get('tags', [])
                                          or re.search(r'#\s*SOLUTION\s*$', c.source, re.M))]


@pytest.mark.parametrize('path', ALL_NOTEBOOKS, ids=lambda p: p.stem)
def test_answer_cells_are_folded_after_a_line_inviting_a_try(path: Path):
    """Every answer cell is stored with its input collapsed (``jupyter.source_hidden``, which
    JupyterLab and Notebook 7 honour), right after a markdown cell that invites the learner to
    try first and says how to unfold it."""
    nb = nbformat.read(path, as_version=4)
    for i in answer_cells(nb):
        cell, before = nb.cells[i], nb.cells[i - 1]
        assert cell.metadata.get('jupyter', {}).get('source_hidden') is True, f'{path.name}: cell {cell.id} shows its answer'
        assert before.cell_type == 'markdown' and 'Try it yourself first' in before.source \
            and 'unfold' in before.source, f'{path.name}: no invitation before cell {cell.id}'
    visible = [c.id for c in nb.cells if c.metadata.get('jupyter', {}).get('source_hidden')
               and c.id not in {nb.cells[i].id for i in answer_cells(nb)}]
    assert not visible, f'{path.name}: cells folded that hold no answer: {visible}'


def test_the_notebooks_with_your_turn_cells_have_answers_to_fold():
    folded = [p.name.split('-')[0] for p in ALL_NOTEBOOKS if answer_cells(nbformat.read(p, as_version=4))]
    assert folded == [f'11.{i}' for i in (10, 4, 5, 6, 7, 8, 9)], folded     # sorted by name


@pytest.mark.parametrize('path', ALL_NOTEBOOKS, ids=lambda p: p.stem)
def test_backend_is_case_insensitive_from_the_setup_cell_on(path: Path):
    """The cell after the parameters lowers BACKEND before anything uses it (``BACKEND =
    "NUMPY"`` runs to the end: test_notebook_runs writes it so on NumPy)."""
    code = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == 'code']
    first = [line for line in code[1].splitlines() if 'BACKEND' in line][0]
    assert first.startswith('BACKEND = BACKEND.strip().lower()'), (path.name, first)


def your_turns(nb) -> list[tuple[str, str, str]]:
    """``(solution cell, function name, rule)`` of each "your turn": a code cell with a
    ``# BEGIN SOLUTION`` region and the first ``check(NAME, 'rule')`` call from there on."""
    cells = [c for c in nb.cells if c.cell_type == 'code']
    found = []
    for i, cell in enumerate(cells):
        if '# BEGIN SOLUTION' not in cell.source:
            continue
        for later in cells[i:]:
            m = re.search(r"""\bcheck\(\s*([A-Za-z_]\w*)\s*,\s*['"]([\w-]+)['"]""", later.source)
            if m:
                found.append((cell.source, m.group(1), m.group(2)))
                break
    return found


WITH_SOLUTIONS = [p for p in NOTEBOOKS if '# BEGIN SOLUTION' in p.read_text(encoding='utf-8')]


@pytest.mark.parametrize('path', WITH_SOLUTIONS, ids=lambda p: p.stem)
def test_your_turn_solution_passes_check_and_the_student_version_fails(path: Path):
    """Each solution, run on NumPy, passes ``check``; the same cell as ``lab build`` hands it
    to students (solution regions replaced by ``raise NotImplementedError``) fails it."""
    import math
    import numpy as np
    from d2l_optim import lab, load_backend
    d2l = load_backend('numpy')
    turns = your_turns(nbformat.read(path, as_version=4))
    assert turns, f'{path.name}: a solution region without a check(...) call after it'
    ran = 0
    for source, name, rule in turns:
        for version, should_pass in ((source, True), (lab.strip_solutions(source), False)):
            namespace = {'d2l': d2l, 'np': np, 'math': math, 'BACKEND': 'numpy'}
            try:
                exec(compile(version, f'{path.name}:{name}', 'exec'), namespace)
            except NameError:
                break            # the cell needs earlier cells (a framework's book form): run by test_notebook_runs
            result = d2l.check(namespace[name], rule)
            assert bool(result) is should_pass, f'{path.name} {name} ({"solution" if should_pass else "student"}): {result}'
            ran += 1
    assert ran, f'{path.name}: no your-turn cell could run on NumPy alone'


#: the sections whose notebooks show library code (``show_source``/``show_rule``)
SHOWS_CODE = ('11.3', '11.4', '11.5', '11.6', '11.7', '11.8', '11.9', '11.10')
_LISTED = re.compile(r'^(?:the rule: )?([\w.]+) \(((?:d2l_optim|backends)/[\w/]+)\.py\)$')
_BOOK_LOOP = re.compile(r'^d2l\.(\w+)\(.*\) on (\w+): ')


def listings_not_installed(nb) -> tuple[int, list[str]]:
    """How many listings the executed notebook shows (``# --- title`` parts of a ``show_source``
    or ``show_rule`` output), and what is wrong with them: a raw ``.. math::`` in any output, a
    listing that is not the installed source (a rule's without its docstring), a book loop that
    is not the one :func:`d2l_optim.display.book_loop` makes, or a title naming neither."""
    import importlib
    import inspect
    import textwrap
    from d2l_optim import rules
    from d2l_optim.display import book_loop, source_without_docstring
    checked, wrong = 0, []
    for cell in nb.cells:
        for out in cell.get('outputs', []):
            data = out.get('data', {})
            text = out.get('text', '') + ''.join(str(v) for v in data.values())
            if '.. math::' in text:
                wrong.append(f'cell {cell.id}: raw .. math:: in its output')
            plain = data.get('text/plain', '')
            if 'show_source(' not in cell.source and 'show_rule(' not in cell.source:
                continue
            for part in re.split(r'^# --- ', plain, flags=re.M)[1:]:
                title, _, code = part.partition('\n')
                checked += 1
                listed, loop = _LISTED.match(title), _BOOK_LOOP.match(title)
                if listed:
                    name, where = listed.groups()
                    module = importlib.import_module(where.replace('backends/', 'd2l_optim/backends/').replace('/', '.'))
                    obj = module
                    for attr in name.split('.'):
                        obj = getattr(obj, attr)
                    obj = inspect.unwrap(obj)
                    expected = source_without_docstring(obj) if module is rules or \
                        module.__name__ == 'd2l_optim.rules' else textwrap.dedent(inspect.getsource(obj))
                elif loop:
                    expected = book_loop(rules.ALIASES.get(loop.group(1), loop.group(1)), loop.group(2))
                else:
                    wrong.append(f'cell {cell.id}: a listing titled {title!r} names no installed function')
                    continue
                if code.rstrip() != expected.rstrip():
                    wrong.append(f'cell {cell.id}: {title!r} is not the installed source')
    return checked, wrong


@pytest.mark.notebooks
@pytest.mark.parametrize('backend', notebook_backends())
@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, backend: str, tmp_path, monkeypatch):
    nb = execute(path, backend, tmp_path, monkeypatch)
    section = path.name.split('-')[0]
    text = stdout_of(nb)
    missing = check_expected(section, text)
    assert not missing, f'{path.name} on {backend}: ' + '; '.join(missing)
    listings, wrong = listings_not_installed(nb)
    assert not wrong, f'{path.name} on {backend}: ' + '; '.join(wrong)
    assert listings >= (1 if section in SHOWS_CODE else 0), f'{path.name}: no library code shown'
    noise = stderr_of(nb)
    assert not [line for line in noise.splitlines() if any(m in line for m in TF_LOG_MARKERS)], noise
    ours = our_deprecation_warnings(noise)
    assert not ours, ours                                   # no DeprecationWarning from our code
    if section in TRAINING:
        losses = [float(m) for m in re.findall(r'^loss: (\d+\.\d+), \d+\.\d+ sec/epoch$', text, re.M)]
        assert len(losses) >= TRAINING[section], text          # the book's runs come first
        assert all(0.2415 <= v < 0.30 for v in losses[:TRAINING[section]]), losses
    if section in OVERLAY:
        overlay = re.findall(r'^\s*(\w+): loss: (\d+\.\d+)', text, re.M)
        names = {name for name, _ in overlay}
        assert 'numpy' in names and backend in names, text
    if section in BUILTINS and backend != 'numpy':
        builtin = re.findall(rf'^\s*{backend} built-in \S+: final (\d\.\d+), max \|loss - ours\| (\S+):',
                             text, re.M)
        assert builtin, f'{path.name} on {backend}: no built-in line'
        assert all(0.2415 <= float(final) < 0.30 and float(gap) < 0.05 for final, gap in builtin), builtin


@pytest.mark.notebooks
def test_a_deprecation_warning_from_a_library_module_reaches_stderr(tmp_path, monkeypatch):
    """The kernel that ``execute`` starts shows DeprecationWarnings raised in library modules
    (Python's default filters show only those raised in ``__main__``, so the assertion in
    test_notebook_runs could not fail), and ``our_deprecation_warnings`` finds one of ours."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('BACKEND = "numpy"', metadata={'tags': ['parameters']}),
        nbformat.v4.new_code_cell(
            'import warnings\n'
            "warnings.warn_explicit('probe: this call is deprecated', DeprecationWarning,\n"
            "                       '/somewhere/d2l_optim/sections/probe.py', 7, module='d2l_optim.sections.probe')")])
    path = tmp_path / 'probe.ipynb'
    nbformat.write(nb, path)
    ran = execute(path, 'numpy', tmp_path, monkeypatch)
    assert our_deprecation_warnings(stderr_of(ran)) == [
        '/somewhere/d2l_optim/sections/probe.py:7: DeprecationWarning: probe: this call is deprecated']


def _cells(section: str) -> list[str]:
    (path,) = (ROOT / 'notebooks').glob(f'{section}-*.ipynb')
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == 'code']


#: the SGD notebooks, which test_exercises_late.py's LATE does not cover: rule and your-turn name
EARLY = {'11.4': ('sgd', 'my_sgd'), '11.5': ('sgd', 'my_minibatch_sgd')}
#: library functions that once answered an exercise (as in test_exercises_late.py)
MOVED = ('quadratic_descent', 'effective_sample_weight', 'rmsprop_gamma_one', 'rotated_comparison',
         'reddi_problem', 'adam_vs_yogi_figure', 'train_scratch')


@pytest.mark.parametrize('section', list(EARLY))
def test_sgd_notebooks_compute_their_exercises_and_check_the_learners_rule(section):
    rule, mine = EARLY[section]
    code = _cells(section)
    joined = '\n'.join(c for c in code if not c.startswith('d2l.show_source('))   # shown, not called
    for name in MOVED:
        assert not re.search(rf'\b{name}\b', joined), f'{section} calls {name}; compute it in the cell'
    assert f"d2l.show_rule('{rule}')" in code
    (cell,) = [c for c in code if c.startswith(f'def {mine}(p, g, state, hp, t, xp):')]
    assert '# BEGIN SOLUTION' in cell and '# END SOLUTION' in cell
    assert f"d2l.check({mine}, '{rule}')" in code
    assert any(f"d2l.book_form({mine}, '{rule}')" in c and 'train_ch11' in c for c in code)
    (path,) = (ROOT / 'notebooks').glob(f'{section}-*.ipynb')
    cells = nbformat.read(path, as_version=4).cells
    start = [i for i, c in enumerate(cells) if '## Exercises' in c.source][0]
    end = [i for i, c in enumerate(cells) if '## The same rule on every framework' in c.source][0]
    exercises = ''.join(c.source for c in cells[start:end] if c.cell_type == 'code')
    assert exercises.count('print(') >= 3, f'{section}: exercises print their numbers'


#: the notebooks with a slider cell, and the rule it reruns
SLIDERS = {'11.3': 'sgd', '11.6': 'momentum', '11.7': 'adagrad', '11.8': 'rmsprop', '11.10': 'adam'}


@pytest.mark.parametrize('section', list(SLIDERS))
def test_notebook_has_a_trajectory_sliders_cell(section):
    rules = [m.group(1) for c in _cells(section)
             for m in re.finditer(r"trajectory_sliders\(\s*\w+\s*,\s*\w+\s*,\s*'(\w+)'", c)]
    assert rules == [SLIDERS[section]], f'{section}: {rules}'
    code = '\n'.join(_cells(section))
    assert '.show()' in code[code.index('trajectory_sliders('):], f'{section}: the sliders are never shown'


@pytest.mark.parametrize('section', list(BUILTINS))
def test_builtin_cell_follows_the_overlay_with_its_settings(section):
    """Each section with an overlay has a BUILTINS cell after it, run with the overlay's
    batch size and epochs (different ones would compare curves of different lengths)."""
    code = _cells(section)
    overlays = [i for i, c in enumerate(code) if 'cross_backend.overlay_backends(' in c]
    assert overlays, section
    for i in overlays:
        later = code[i + 1]
        assert later.startswith('BUILTINS = {') and 'cross_backend.add_builtin_runs(runs, BUILTINS' in later, section
        epochs = re.search(r'num_epochs=(\d+)', code[i])
        assert re.search(rf'num_epochs={epochs.group(1)}\b', later) if epochs else 'num_epochs' not in later, section


@pytest.mark.notebooks
def test_optimizer_zoo_notebook_runs_and_prints_the_classes_numbers(tmp_path, monkeypatch):
    """The NumPy optimizer classes' notebook (not a section of the book: NumPy by design)."""
    from d2l_optim import zoo
    nb = execute(ROOT / 'notebooks' / 'optimizer-zoo.ipynb', 'numpy', tmp_path, monkeypatch)
    lines = [line.strip() for line in stream_of(nb).splitlines()]
    for name, pts in zoo.compare(steps=30).items():       # the trajectories the cell printed
        x, y = pts[-1]
        assert f'{name:<9} final point ({x: .6f}, {y: .6f})  f = {zoo.f(x, y):.6f}'.strip() in lines
    assert 'best linear model (least squares): 0.2417' in lines
    finals = {line.split()[0]: float(line.split()[3]) for line in lines if ' final loss ' in line}
    assert len(finals) == 8 and max(finals.values()) < 0.2417      # each beats the best line


def test_the_stand_in_accuracies_apply_only_to_the_stand_in():
    stand_in = ('Fashion-MNIST was not found: the synthetic stand-in, 512 training and 256 test images\n'
                'best SGD: lr 0.3, test accuracy 0.500\nbest AdaGrad: lr 0.01, test accuracy 0.848\n')
    real = stand_in.replace(stand_in.splitlines()[0], REAL_FASHION_MNIST)
    about = [m for m in check_expected('11.7', stand_in) if 'accuracy' in m]
    assert len(about) == 1 and 'got 0.500, expected 0.613' in about[0]
    assert not [m for m in check_expected('11.7', real) if 'accuracy' in m]


#: the Chinese and Japanese notebooks run once, on NumPy, in the first test environment
LOCALIZED = [(lang, path) for lang in ('zh', 'ja') for path in NOTEBOOKS]


@pytest.mark.notebooks
@pytest.mark.skipif(__import__('os').environ.get('D2L_OPTIM_TEST_ENV') == 'numpy2',
                    reason='the localized notebooks run once, in the first test environment')
@pytest.mark.parametrize('lang,path', LOCALIZED, ids=lambda x: x if isinstance(x, str) else x.stem)
def test_localized_notebook_runs(lang: str, path: Path, tmp_path, monkeypatch):
    """The Chinese and Japanese notebooks print the English ones' numbers, and ``check`` speaks
    their language (the notebook sets it; the test environment's own is English)."""
    nb = execute(ROOT / 'notebooks' / lang / path.name, 'numpy', tmp_path, monkeypatch)
    section = path.name.split('-')[0]
    text = stdout_of(nb)
    missing = check_expected(section, text, lang)
    assert not missing, f'{lang}/{path.name}: ' + '; '.join(missing)
    assert 'Glyph' not in stderr_of(nb)             # matplotlib draws no missing-glyph box
    if any(item[0] in YOUR_TURN_ANY_LANGUAGE for item in EXPECTED.get(section, []) if isinstance(item, tuple)):
        assert 'matches the reference' not in text                     # check spoke the notebook's language
        assert re.search(r'[\u3040-\u30ff]' if lang == 'ja' else r'[\u4e00-\u9fff]', text)


def test_your_turn_in_any_language_keeps_the_number():
    english, value, _ = your_turn('my_rmsprop', 'rmsprop')
    pattern, same, tol = YOUR_TURN_ANY_LANGUAGE[english]
    ja = 'あなたの my_rmsprop は参照実装の rmsprop と一致します: シード固定の 50 ステップと翼型データの 1 エポック（150 ミニバッチ）。'
    assert re.search(pattern, ja, re.M).group(1) == '150' and (same, tol) == (value, 0)
    assert not re.search(pattern, ja.replace('150', '149'), re.M).group(1) == '150'
    assert re.search(pattern, 'あなたの my_sgd は参照実装の sgd と一致します: 50 ステップ（150）', re.M) is None
