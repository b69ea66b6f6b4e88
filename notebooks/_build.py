"""Writes the chapter notebooks 11.1-11.10 (without outputs) from the text below.

    python notebooks/_build.py          # (re)write notebooks/*.ipynb
    python notebooks/_build.py --check  # exit 1 if a notebook differs from this file

Each notebook starts with a cell ``BACKEND = "numpy"`` tagged ``parameters`` (papermill
and the tests set it), then loads that backend as ``d2l``. The computations are the
library's (``d2l.*`` from the core, ``ex.*`` from :mod:`d2l_optim.experiments`); the
notebooks hold the explanations, the equations and the calls.
"""
from __future__ import annotations

import sys
from pathlib import Path
from textwrap import dedent

import nbformat

HERE = Path(__file__).resolve().parent

SETUP = '''\
%matplotlib inline
import math
import numpy as np
from d2l_optim import experiments as ex, load_backend

d2l = load_backend(BACKEND)    # the framework every training cell below runs on'''


def md(text: str) -> tuple[str, str]:
    return 'markdown', dedent(text).strip('\n')


def code(text: str) -> tuple[str, str]:
    return 'code', dedent(text).strip('\n')


def intro(title: str, text: str) -> list:
    return [md(f'# {title}\n\n' + dedent(text).strip('\n')),
            md('Pick the framework here: `"numpy"`, `"torch"`, `"tensorflow"` or `"mxnet"`.'),
            ('parameters', 'BACKEND = "numpy"'), code(SETUP)]


def overlay(rule: str, hp: str, extra: str = '') -> list:
    return [md(f'''
        ## The same rule on every framework

        The update above is written once in `d2l_optim/rules.py`; each framework only supplies
        arrays, gradients and in-place writes. With one seed every backend starts from the same
        weights and sees the same minibatches, so the curves should lie on top of each other
        (differences are float32 round-off). The cell uses every installed framework, or those
        listed in the environment variable `D2L_OPTIM_BACKENDS`.
        '''),
        code(f"runs, fig = ex.overlay_backends('{rule}', {hp}, seed=0{extra})")]


NOTEBOOKS: dict[str, list] = {}

# ---------------------------------------------------------------------------- 11.1
NOTEBOOKS['11.1-optimization-intro'] = intro('11.1 Optimization and Deep Learning', r'''
    Training a network means minimizing a loss, so optimization algorithms are the engine of
    deep learning. But the two fields want different things: optimization wants the lowest
    value of the function it is given, deep learning wants a model that does well on data it
    has not seen. This notebook draws the section's pictures: why the minimum we find is not
    the one we want, and three things that make the search hard (local minima, saddle points
    and vanishing gradients).
    ''') + [
    md(r'''
    ## Risk and empirical risk

    The *risk* is the expected loss over the whole data distribution,
    $R(f) = E_{(\mathbf{x}, y) \sim p}[l(f(\mathbf{x}), y)]$. We can only compute the
    *empirical risk*, the average over the $n$ training examples,
    $\hat{R}(f) = \frac{1}{n} \sum_{i=1}^n l(f(\mathbf{x}_i), y_i)$.
    Optimization minimizes $\hat{R}$; generalization is about $R$. Below, the risk is
    $f(x) = x \cos(\pi x)$ and the empirical risk adds a wiggle that a finite sample
    might produce, $g(x) = f(x) + 0.2 \cos(5 \pi x)$: their minima are at different places.
    '''),
    code('''
    fig, where = ex.risk_figure()
    where'''),
    md(r'''
    ## Local minima

    $x^*$ is a *local minimum* of $f$ if $f(x^*) \le f(x)$ for every $x$ near $x^*$, and the
    *global minimum* if that holds for every $x$. Gradient descent only sees the slope where
    it stands, so it can settle in a local minimum. The minibatch noise of stochastic
    gradient descent is one way out: it can shake the parameters out of a shallow dip.
    '''),
    code('''
    fig, where = ex.local_minima_figure()
    where'''),
    md(r'''
    ## Saddle points

    A zero gradient does not mean a minimum. $f(x) = x^3$ has $f'(0) = f''(0) = 0$ and no
    minimum at 0. In several dimensions the Hessian decides: at a point where the gradient
    vanishes, all eigenvalues positive means a local minimum, all negative a local maximum,
    mixed signs a *saddle point*. $f(x, y) = x^2 - y^2$ has Hessian
    $\operatorname{diag}(2, -2)$: a minimum along $x$ and a maximum along $y$.
    '''),
    code('fig, _ = ex.saddle_figure()'),
    code('fig, _ = ex.saddle_3d_figure()'),
    md(r'''
    ## Vanishing gradients

    Where a function is nearly flat, gradient steps are tiny. $\tanh$ saturates: at $x = 4$
    its derivative is $1 - \tanh^2(4) \approx 0.0013$, so a parameter that lands there barely
    moves. ReLU activations were one answer to this.
    '''),
    code('''
    fig, value = ex.vanishing_gradient_figure()
    value'''),
    md(r'''
    ## Exercises

    **Saddles outnumber minima in high dimensions.** Think of a random symmetric $d \times d$
    matrix as the Hessian at a critical point. It is a minimum only if all $d$ eigenvalues are
    positive. For Gaussian entries the chance of that drops very quickly with $d$: a random
    critical point of a function of many parameters is almost always a saddle.
    '''),
    code('ex.positive_definite_fraction(dims=(1, 2, 3, 4, 5, 6), trials=20000, seed=0)'),
    md(r'''
    **Symmetric local minima.** In a one-hidden-layer MLP, permuting the hidden units (and the
    matching rows and columns of the weights) gives the same function, so every minimum comes
    with $h!$ copies for $h$ hidden units; none of them is better than the others.
    '''),
]

# ---------------------------------------------------------------------------- 11.2
NOTEBOOKS['11.2-convexity'] = intro('11.2 Convexity', r'''
    Convex problems are the ones we can analyse completely, and many results about deep
    learning optimizers are first proved for them. Near a good minimum a deep network's loss
    often looks convex, so the intuition carries over.
    ''') + [
    md(r'''
    ## Convex sets and functions

    A set $\mathcal{X}$ is convex if the segment between any two of its points stays inside:
    for $a, b \in \mathcal{X}$ and $\lambda \in [0, 1]$, $\lambda a + (1-\lambda) b \in \mathcal{X}$.
    A function $f$ on a convex set is convex if its graph lies below every chord:

    $$f(\lambda x + (1-\lambda) x') \le \lambda f(x) + (1-\lambda) f(x').$$

    The figure draws three functions with the chord between $x = -1.5$ and $x = 1$. The
    values are $\max_\lambda$ (function minus chord) on that segment: positive only for the
    nonconvex $\cos(\pi x)$.
    '''),
    code('''
    fig, gaps = ex.convexity_figure(segment=(-1.5, 1.0))
    gaps'''),
    md(r'''
    ## Jensen's inequality

    Applied to a weighted average with weights $\alpha_i \ge 0$, $\sum_i \alpha_i = 1$,
    convexity gives $\sum_i \alpha_i f(x_i) \ge f(\sum_i \alpha_i x_i)$, and for a random
    variable $X$, $E_X[f(X)] \ge f(E_X[X])$: the average of a convex function is at least the
    function of the average. For $f(x) = e^{x/2}$ and $X \sim N(0, 1)$, $E[f(X)] = e^{1/8}$
    while $f(E[X]) = 1$.
    '''),
    code('''
    fig, values = ex.jensen_figure(seed=0)
    values'''),
    md(r'''
    ## Local minima of convex functions are global

    If $x^*$ were a local minimum with some $x'$ lower, then points on the segment from $x^*$
    towards $x'$ would lie below $f(x^*)$ by convexity, arbitrarily close to $x^*$, a
    contradiction. So for a convex function, descending is enough. The same argument shows
    that the *below sets* $\{x : f(x) \le b\}$ are convex. The example is $f(x) = (x-1)^2$.
    '''),
    code('''
    fig, gap = ex.convex_local_minimum_figure()
    gap'''),
    md(r'''
    ## Convexity and second derivatives

    A twice-differentiable $f: \mathbb{R} \to \mathbb{R}$ is convex exactly when
    $f''(x) \ge 0$ everywhere; in several dimensions, when the Hessian is positive
    semidefinite, $\nabla^2 f \succeq 0$.

    ## Constraints

    Constrained problems $\min_\mathbf{x} f(\mathbf{x})$ subject to $c_i(\mathbf{x}) \le 0$
    are handled with the Lagrangian
    $L(\mathbf{x}, \alpha_1, \ldots, \alpha_n) = f(\mathbf{x}) + \sum_i \alpha_i c_i(\mathbf{x})$,
    $\alpha_i \ge 0$, which turns constraints into penalties (weight decay is the penalty
    $\frac{\lambda}{2} \|\mathbf{w}\|^2$), or with projections
    $\operatorname{Proj}_\mathcal{X}(\mathbf{x}) = \operatorname{argmin}_{\mathbf{x}' \in \mathcal{X}} \|\mathbf{x} - \mathbf{x}'\|$,
    as gradient clipping projects onto a ball.
    '''),
    md(r'''
    ## Exercises

    **Log-sum-exp is convex.** Check the chord inequality numerically for
    $f(\mathbf{x}) = \log \sum_i e^{x_i}$ on many random segments in $\mathbb{R}^3$: the largest
    excess of the function over its chord should never be positive.
    '''),
    code('''
    rng = np.random.default_rng(0)
    logsumexp = lambda x: np.log(np.exp(x).sum(axis=-1))
    max(ex.secant_gap(logsumexp, rng.normal(size=3), rng.normal(size=3)) for _ in range(1000))'''),
    md(r'''
    **Projection onto a ball.** For the ball $\|\mathbf{x}\| \le r$ the projection is
    $\mathbf{x} \min(1, r / \|\mathbf{x}\|)$: points inside stay, points outside are pulled
    straight to the sphere.
    '''),
    code('''
    x, r = np.array([3.0, 4.0]), 1.0
    x * min(1.0, r / np.linalg.norm(x))'''),
]

# ---------------------------------------------------------------------------- 11.3
NOTEBOOKS['11.3-gd'] = intro('11.3 Gradient Descent', r'''
    Gradient descent is rarely used as is in deep learning, but every algorithm of this
    chapter refines it, so it is worth seeing clearly: what the learning rate does, why it can
    diverge, and how second-order information (Newton's method, preconditioning) helps.
    ''') + [
    md(r'''
    ## One dimension

    By Taylor's theorem $f(x + \epsilon) = f(x) + \epsilon f'(x) + O(\epsilon^2)$. Taking the
    step $\epsilon = -\eta f'(x)$ with a small learning rate $\eta > 0$ gives
    $f(x - \eta f'(x)) = f(x) - \eta f'^2(x) + O(\eta^2 f'^2(x))$, which is below $f(x)$ when
    $f'(x) \neq 0$. Hence the iteration

    $$x \leftarrow x - \eta f'(x).$$

    `d2l.gd_1d` runs it (the core SGD rule on a Python float) from $x = 10$ for 10 steps on
    $f(x) = x^2$.
    '''),
    code('''
    f = lambda x: x ** 2        # the objective
    f_grad = lambda x: 2 * x    # its derivative
    results = d2l.gd_1d(0.2, f_grad)
    d2l.show_trace(results, f)'''),
    md(r'''
    ### The learning rate

    Too small and progress is slow: with $\eta = 0.05$ we are still far from 0 after 10 steps.
    Too large and each step overshoots: with $\eta = 1.1$ every step multiplies $x$ by
    $1 - 2\eta = -1.2$ and the iterates diverge.
    '''),
    code('d2l.show_trace(d2l.gd_1d(0.05, f_grad), f)'),
    code('d2l.show_trace(d2l.gd_1d(1.1, f_grad), f)'),
    md(r'''
    ### Local minima

    On the nonconvex $f(x) = x \cos(cx)$ with $c = 0.15\pi$, a large learning rate ($\eta = 2$)
    jumps over the nearby minimum and ends in a poor one. The plotted function is evaluated
    with the chosen framework's `cos`.
    '''),
    code('''
    c = 0.15 * math.pi
    f = lambda x: x * d2l.cos(c * x)
    d2l.show_trace(d2l.gd_1d(2, ex.f_nonconvex_grad), f)'''),
    md(r'''
    ## Several dimensions

    With the gradient $\nabla f(\mathbf{x}) = [\partial_{x_1} f, \ldots, \partial_{x_d} f]^\top$,
    $f(\mathbf{x} + \boldsymbol{\epsilon}) = f(\mathbf{x}) + \boldsymbol{\epsilon}^\top \nabla f(\mathbf{x}) + O(\|\boldsymbol{\epsilon}\|^2)$
    and the step becomes $\mathbf{x} \leftarrow \mathbf{x} - \eta \nabla f(\mathbf{x})$.
    On $f(\mathbf{x}) = x_1^2 + 2x_2^2$ from $(-5, -2)$ with $\eta = 0.1$: `d2l.trainer_2d`
    builds the book-style trainer from the core rule, `d2l.train_2d` runs 20 steps.
    '''),
    code('''
    f_2d = lambda x1, x2: x1 ** 2 + 2 * x2 ** 2
    f_2d_grad = lambda x1, x2: (2 * x1, 4 * x2)
    d2l.show_trace_2d(f_2d, d2l.train_2d(d2l.trainer_2d('sgd', f_2d_grad, eta=0.1)))'''),
    md(r'''
    ## Newton's method

    The second-order expansion
    $f(\mathbf{x} + \boldsymbol{\epsilon}) = f(\mathbf{x}) + \boldsymbol{\epsilon}^\top \nabla f(\mathbf{x}) + \frac{1}{2} \boldsymbol{\epsilon}^\top \mathbf{H} \boldsymbol{\epsilon} + O(\|\boldsymbol{\epsilon}\|^3)$
    with Hessian $\mathbf{H} = \nabla^2 f(\mathbf{x})$ is minimized by
    $\boldsymbol{\epsilon} = -\mathbf{H}^{-1} \nabla f(\mathbf{x})$. In one dimension:
    $x \leftarrow x - \eta f'(x) / f''(x)$. On the convex $f(x) = \cosh(cx)$, $c = 0.5$, it
    reaches the minimum in a few steps (computed in float32, as the book's tensors are).
    '''),
    code('''
    c = np.float32(0.5)
    f = lambda x: d2l.cosh(0.5 * x)
    f_grad = lambda x: c * np.sinh(c * x)
    f_hess = lambda x: c ** 2 * np.cosh(c * x)
    d2l.show_trace(d2l.newton(1, f_grad, f_hess), f)'''),
    md(r'''
    On the nonconvex $x \cos(0.15\pi x)$ the Hessian is negative near the start, so Newton's
    step goes *uphill*, towards a maximum. Scaling the step by $\eta = 0.5$ changes where we
    end, but the cure is to fix the curvature (for example use $|f''|$), not the step size.
    '''),
    code('''
    c = 0.15 * math.pi
    f = lambda x: x * d2l.cos(c * x)
    d2l.show_trace(d2l.newton(1, ex.f_nonconvex_grad32, ex.f_nonconvex_hess), f)'''),
    code('d2l.show_trace(d2l.newton(0.5, ex.f_nonconvex_grad32, ex.f_nonconvex_hess), f)'),
    md(r'''
    ## Convergence and preconditioning

    For a convex, three-times-differentiable $f$ with $f''(x^*) > 0$, the error
    $e^{(k)} = x^{(k)} - x^*$ of Newton's method satisfies
    $e^{(k+1)} \le c \, (e^{(k)})^2$ near the optimum: *quadratic* convergence, the number of
    correct digits doubles each step. Computing and inverting the full Hessian costs
    $O(d^2)$ memory and $O(d^3)$ time, far too much for a network. A cheap approximation keeps
    only its diagonal: $\mathbf{x} \leftarrow \mathbf{x} - \eta \operatorname{diag}(\mathbf{H})^{-1} \nabla f(\mathbf{x})$,
    which fixes badly scaled coordinates (one in millimetres, another in kilometres).
    Adagrad, RMSProp and Adam estimate such a per-coordinate scale from gradients.
    Gradient descent can also pick $\eta$ per step by *line search*, which needs the whole
    dataset per evaluation and is therefore not used in deep learning.
    '''),
    md(r'''
    ## Exercises

    **An objective on which gradient descent is slow.** Stretch one axis:
    $f(\mathbf{x}) = 0.01 x_1^2 + x_2^2$. The learning rate is capped by the steep direction
    ($\eta < 1$), and then the flat one shrinks by only $1 - 0.02\eta$ per step.
    '''),
    code('''
    flat = lambda x1, x2: 0.01 * x1 ** 2 + x2 ** 2
    flat_grad = lambda x1, x2: (0.02 * x1, 2 * x2)
    d2l.show_trace_2d(flat, d2l.train_2d(d2l.trainer_2d('sgd', flat_grad, eta=0.9), steps=20))'''),
    md(r'''
    **Diagonal preconditioning.** On $x_1^2 + 2x_2^2$ the Hessian is $\operatorname{diag}(2, 4)$.
    Dividing each gradient coordinate by its curvature makes the problem perfectly
    conditioned: with $\eta = 1$ one step lands on the minimum.
    '''),
    code('''
    preconditioned_grad = lambda x1, x2: (2 * x1 / 2, 4 * x2 / 4)
    d2l.train_2d(d2l.trainer_2d('sgd', preconditioned_grad, eta=1.0), steps=1)[-1]'''),
]

# ---------------------------------------------------------------------------- 11.4
NOTEBOOKS['11.4-sgd'] = intro('11.4 Stochastic Gradient Descent', r'''
    When the objective is an average over $n$ training examples, a gradient step costs $O(n)$.
    Stochastic gradient descent replaces the full gradient by the gradient of one example
    picked at random: much cheaper, right on average, and noisy. This notebook simulates the
    noise and shows why the learning rate then has to decay.
    ''') + [
    md(r'''
    ## Stochastic gradient updates

    With $f(\mathbf{x}) = \frac{1}{n} \sum_{i=1}^n f_i(\mathbf{x})$, SGD samples an index $i$
    uniformly and steps

    $$\mathbf{x} \leftarrow \mathbf{x} - \eta \nabla f_i(\mathbf{x}).$$

    The step is unbiased, $E_i \nabla f_i(\mathbf{x}) = \nabla f(\mathbf{x})$. To see its
    behaviour we take $f(\mathbf{x}) = x_1^2 + 2 x_2^2$ and add $N(0, 1)$ noise to each gradient
    coordinate. `ex.noisy_sgd` builds that trainer on the core SGD rule; the step is
    $\eta \cdot \text{lr}()$ for a schedule `lr`, and the noise is seeded so the picture is
    repeatable. With a constant learning rate the iterates reach the optimum's neighbourhood
    and then keep jittering around it.
    '''),
    code('''
    trainer = ex.noisy_sgd(ex.f_2d_grad, eta=0.1, lr=ex.constant_lr(), seed=0)
    d2l.show_trace_2d(ex.f_2d, d2l.train_2d(trainer, steps=50))'''),
    md(r'''
    ## Dynamic learning rates

    Replacing $\eta$ by a time-dependent $\eta(t)$ trades progress against noise. Common choices:

    * piecewise constant: $\eta(t) = \eta_i$ for $t_i \le t \le t_{i+1}$,
    * exponential decay: $\eta(t) = \eta_0 e^{-\lambda t}$,
    * polynomial decay: $\eta(t) = \eta_0 (\beta t + 1)^{-\alpha}$.

    Exponential decay $e^{-0.1t}$ shrinks the step so fast that the iterates stop long before
    the optimum, even after 1000 steps.
    '''),
    code('''
    trainer = ex.noisy_sgd(ex.f_2d_grad, eta=0.1, lr=ex.exponential_lr(), seed=0)
    d2l.show_trace_2d(ex.f_2d, d2l.train_2d(trainer, steps=1000))'''),
    md(r'''
    Polynomial decay with $\alpha = 0.5$, $\eta(t) = \eta_0 (1 + 0.1 t)^{-1/2}$, keeps making
    progress while damping the noise: in 50 steps it ends closer to the optimum than the
    constant rate.
    '''),
    code('''
    trainer = ex.noisy_sgd(ex.f_2d_grad, eta=0.1, lr=ex.polynomial_lr(), seed=0)
    d2l.show_trace_2d(ex.f_2d, d2l.train_2d(trainer, steps=50))'''),
    md(r'''
    ## Convergence for convex objectives

    For convex $f$ with gradients bounded by $L$ and a start at distance $r$ from the optimum,
    averaging the iterates of SGD gives

    $$E[R(\bar{\mathbf{x}})] - R^* \le \frac{r^2 + L^2 \sum_{t=1}^T \eta_t^2}{2 \sum_{t=1}^T \eta_t},$$

    so with $\eta = r / (L\sqrt{T})$ the gap is $rL/\sqrt{T}$: SGD converges at rate
    $O(1/\sqrt{T})$, and only with a decreasing (or $T$-dependent) step.

    ## Finite training sets

    In practice we do not sample with replacement but shuffle and pass over the data. Sampling
    $n$ times with replacement from $n$ examples picks a given example at least once with
    probability $1 - (1 - 1/n)^n \approx 1 - e^{-1} \approx 0.63$, so about a third of the
    data is never seen in such an "epoch"; a shuffled pass sees every example exactly once.
    '''),
    code('ex.sampling_with_replacement(n=1000, trials=200, seed=0)'),
    md(r'''
    ## Exercises

    **Compare the schedules over many noise draws.** One run is one sample of the noise. The
    mean distance from the optimum over 20 seeds: exponential decay stops far away, polynomial
    decay ends closest.
    '''),
    code('ex.schedule_study(seeds=range(20))'),
] + overlay('sgd', "{'lr': 0.005}", ', batch_size=1, num_epochs=1')

# ---------------------------------------------------------------------------- 11.5
NOTEBOOKS['11.5-minibatch-sgd'] = intro('11.5 Minibatch Stochastic Gradient Descent', r'''
    Full-batch gradient descent wastes effort on redundant data; single-example SGD wastes the
    hardware, which is built for big vectorized operations. Minibatches sit in between. This
    notebook measures both sides: how much faster a machine computes with blocks, and how the
    batch size changes the training curve of the airfoil regression.
    ''') + [
    md(r'''
    ## Vectorization and caches

    We compute $\mathbf{A} = \mathbf{B}\mathbf{C}$ for $256 \times 256$ matrices four ways:
    element by element ($\mathbf{A}_{ij} = \mathbf{B}_{i,:} \mathbf{C}_{:,j}$), one column at a
    time ($\mathbf{A}_{:,j} = \mathbf{B} \mathbf{C}_{:,j}$), in one call, and in blocks of 64
    columns. A product of two $n \times n$ matrices takes $n^3$ multiplications and about as many
    additions, so the speed is $2n^3 / t$ floating-point operations per second. (The book's
    code divides 2 by the time instead, which overstates GFLOPS about 60 times for $n = 256$.)
    `ex.matmul_gflops` runs the four versions in the chosen framework; the element-wise loop
    makes 65536 framework calls, so only as many rows as fit in a quarter of a second are timed
    and the time is scaled to all rows (`element_rows` says how many). `ex.peak_gflops` is the
    best speed of a single large product on this machine.
    '''),
    code('''
    gflops = ex.matmul_gflops(BACKEND, n=256, block=64)
    gflops['peak'] = ex.peak_gflops(BACKEND)
    {k: round(v, 3) for k, v in gflops.items()}'''),
    md(r'''
    One call and blocks of 64 columns are orders of magnitude faster than the loops: the
    per-call overhead of Python and the framework dominates small operations. That is the
    computational case for minibatches.

    ## Minibatches

    A minibatch $\mathcal{B}_t$ of $b$ examples gives the gradient
    $\mathbf{g}_t = \partial_\mathbf{w} \frac{1}{|\mathcal{B}_t|} \sum_{i \in \mathcal{B}_t} f(\mathbf{x}_i, \mathbf{w})$.
    Its expectation is the full gradient, and averaging $b$ independent gradients divides the
    standard deviation by $\sqrt{b}$. Beyond some size the variance gain no longer pays for
    the linearly growing cost.

    ## The airfoil data

    The chapter's benchmark is NASA's airfoil self-noise data: the first 1500 examples, 5
    features, every column standardized. `d2l.get_data_ch11(batch_size)` returns a loader that
    reshuffles on every pass, and the feature dimension.
    '''),
    code('''
    data_iter, feature_dim = d2l.get_data_ch11(batch_size=10)
    feature_dim, len(data_iter)'''),
    md(r'''
    ## From scratch

    `d2l.sgd(params, ...)` is the core rule $\mathbf{w} \leftarrow \mathbf{w} - \eta \mathbf{g}$
    written for this framework, and `d2l.train_ch11` trains a linear regression with it:
    weights $N(0, 0.01^2)$, the loss $\frac{1}{2}(\hat{y} - y)^2$ averaged over the minibatch,
    the loss on all 1500 examples recorded every 200 examples. `ex.train_sgd(lr, batch_size,
    num_epochs)` is the section's helper around it. With the full batch (1500) it is gradient
    descent: one update per epoch, here 10 epochs.
    '''),
    code('print(d2l.sgd.__doc__)'),
    code('gd_res = ex.train_sgd(1, 1500, 10, d2l=d2l)'),
    md('With batch size 1 it is SGD: 1500 updates per epoch, and much slower per epoch.'),
    code('sgd_res = ex.train_sgd(0.005, 1, d2l=d2l)'),
    md('Batch sizes 100 and 10 sit in between.'),
    code('mini1_res = ex.train_sgd(0.4, 100, d2l=d2l)'),
    code('mini2_res = ex.train_sgd(0.05, 10, d2l=d2l)'),
    md(r'''
    Loss against training time (evaluation excluded), on a log time axis. In examples seen, SGD
    makes progress fastest; in seconds, the vectorized minibatches win, and batch size 100
    often beats even gradient descent.
    '''),
    code('''
    fig = ex.time_vs_loss_figure({'gd': gd_res, 'sgd': sgd_res, 'batch size=100': mini1_res,
                                  'batch size=10': mini2_res})'''),
    md(r'''
    ## With the framework's optimizer

    `ex.concise_trainer` holds the chapter's choice per framework: `torch.optim.SGD`,
    `tf.keras.optimizers.SGD`, Gluon's `'sgd'`, and for NumPy the core rule. Our concise loss
    is $\frac{1}{2}(\hat{y} - y)^2$ everywhere; the book's PyTorch and TensorFlow tabs use the
    mean squared error, whose gradient is twice as large, so their learning rates are doubled
    to take the book's steps (see `docs/book-bugs.md`).
    '''),
    code('''
    trainer, hyperparams = ex.concise_trainer('sgd', BACKEND)
    print(trainer, hyperparams)
    data_iter, _ = d2l.get_data_ch11(10)
    d2l.train_concise_ch11(trainer, hyperparams, data_iter)'''),
    md(r'''
    ## Exercises

    **Batch size and learning rate.** Batch size 50 with a learning rate between those of
    batch sizes 10 and 100:
    '''),
    code('_ = ex.train_sgd(0.2, 50, d2l=d2l)'),
] + overlay('sgd', "{'lr': 0.05}")

# ---------------------------------------------------------------------------- 11.6
NOTEBOOKS['11.6-momentum'] = intro('11.6 Momentum', r'''
    Momentum replaces the gradient by a leaky average of past gradients. On ill-conditioned
    problems it damps the oscillation across a narrow valley while speeding up the slow
    direction along it, and it averages out minibatch noise.
    ''') + [
    md(r'''
    ## Leaky averages

    The *velocity*

    $$\mathbf{v}_t = \beta \mathbf{v}_{t-1} + \mathbf{g}_{t, t-1} = \sum_{\tau = 0}^{t-1} \beta^\tau \mathbf{g}_{t-\tau, t-\tau-1}$$

    weighs the gradient from $\tau$ steps ago by $\beta^\tau$. Large $\beta$ means a long memory.
    '''),
    code('fig = ex.beta_powers_figure(betas=(0.95, 0.9, 0.6, 0))'),
    md(r'''
    ## An ill-conditioned problem

    $f(\mathbf{x}) = 0.1 x_1^2 + 2 x_2^2$ is 20 times steeper in $x_2$ than in $x_1$. Gradient
    descent with $\eta = 0.4$ converges in $x_2$ but crawls in $x_1$.
    '''),
    code('''
    d2l.show_trace_2d(ex.f_ill, d2l.train_2d(d2l.trainer_2d('sgd', ex.f_ill_grad, eta=0.4)))'''),
    md(r'''
    A larger step, $\eta = 0.6$, helps $x_1$ but makes $x_2$ diverge: each step multiplies it by
    $1 - 4\eta = -1.4$.
    '''),
    code('''
    d2l.show_trace_2d(ex.f_ill, d2l.train_2d(d2l.trainer_2d('sgd', ex.f_ill_grad, eta=0.6)))'''),
    md(r'''
    ## The momentum method

    $$\mathbf{v}_t \leftarrow \beta \mathbf{v}_{t-1} + \mathbf{g}_{t, t-1}, \qquad
      \mathbf{x}_t \leftarrow \mathbf{x}_{t-1} - \eta_t \mathbf{v}_t.$$

    With $\beta = 0$ it is gradient descent. With $\beta = 0.5$ and the diverging $\eta = 0.6$:
    the alternating $x_2$ gradients cancel in the average, the consistent $x_1$ gradients add up.
    '''),
    code('''
    trainer = d2l.trainer_2d('momentum', ex.f_ill_grad, eta=0.6, momentum=0.5)
    d2l.show_trace_2d(ex.f_ill, d2l.train_2d(trainer))'''),
    md(r'''
    Halving $\beta$ to 0.25 brings back some of the oscillation; the method still converges,
    more slowly.
    '''),
    code('''
    trainer = d2l.trainer_2d('momentum', ex.f_ill_grad, eta=0.6, momentum=0.25)
    d2l.show_trace_2d(ex.f_ill, d2l.train_2d(trainer))'''),
    md(r'''
    ## From scratch on the airfoil data

    `d2l.sgd_momentum` is the core momentum rule for this framework, with one velocity per
    parameter from `d2l.init_momentum_states`. First $\eta = 0.02$, $\beta = 0.5$.
    '''),
    code('''
    print(d2l.sgd_momentum.__doc__)
    data_iter, feature_dim = d2l.get_data_ch11(batch_size=10)

    def train_momentum(lr, momentum, num_epochs=2):
        d2l.train_ch11(d2l.sgd_momentum, d2l.init_momentum_states(feature_dim),
                       {'lr': lr, 'momentum': momentum}, data_iter, feature_dim, num_epochs)

    train_momentum(0.02, 0.5)'''),
    md(r'''
    With $\beta = 0.9$ the velocity sums about $1/(1 - 0.9) = 10$ gradients, so the effective
    step is ten times larger: $\eta = 0.01$ is too much (noisier), $\eta = 0.005$ works well.
    '''),
    code('train_momentum(0.01, 0.9)'),
    code('train_momentum(0.005, 0.9)'),
    md('## With the framework\'s optimizer'),
    code('''
    trainer, hyperparams = ex.concise_trainer('momentum', BACKEND)
    print(trainer, hyperparams)
    d2l.train_concise_ch11(trainer, hyperparams, data_iter)'''),
    md(r'''
    ## Why it works: quadratic functions

    For $h(\mathbf{x}) = \frac{1}{2} \mathbf{x}^\top \mathbf{Q} \mathbf{x} + \mathbf{x}^\top \mathbf{c} + b$
    with $\mathbf{Q} \succ 0$ the minimizer is $\mathbf{x}^* = -\mathbf{Q}^{-1} \mathbf{c}$.
    Writing $\mathbf{Q} = \mathbf{O}^\top \boldsymbol{\Lambda} \mathbf{O}$ and changing
    coordinates, both gradient descent and momentum decouple into one scalar problem per
    eigenvalue. For $f(x) = \frac{\lambda}{2} x^2$ gradient descent gives
    $x_{t+1} = (1 - \eta\lambda) x_t$: it converges when $0 < \eta\lambda < 2$, and the
    eigenvalues far from $1/\eta$ converge slowly.
    '''),
    code('fig = ex.eigen_decay_figure(lambdas=(0.1, 1, 10, 19), eta=0.1)'),
    md(r'''
    With momentum the pair $(v_t, x_t)$ evolves linearly,

    $$\begin{bmatrix} v_{t+1} \\ x_{t+1} \end{bmatrix} =
      \begin{bmatrix} \beta & \lambda \\ -\eta \beta & (1 - \eta \lambda) \end{bmatrix}
      \begin{bmatrix} v_{t} \\ x_{t} \end{bmatrix},$$

    and converges for $0 < \eta \lambda < 2 + 2 \beta$: a wider range of step sizes than
    gradient descent's $0 < \eta\lambda < 2$.
    '''),
    md(r'''
    ## Exercises

    **The effective sample weight.** The weights $\beta^\tau$ sum to $1/(1 - \beta)$: the velocity
    is (up to that factor) an average over about $1/(1-\beta)$ recent gradients, and half of
    the total weight comes from the last few. `ex.effective_sample_weight` computes both.
    '''),
    code('{beta: ex.effective_sample_weight(beta) for beta in (0.5, 0.9, 0.99)}'),
    md(r'''
    **Many eigenvalues.** Take $f(\mathbf{x}) = \frac{1}{2} \sum_i \lambda_i x_i^2$ with
    $\lambda_i = 2^{-i}$, $i = 0, \ldots, 9$, from $x_i = 1$. Gradient descent with $\eta = 1$
    leaves the small eigenvalues almost untouched; momentum ($\beta = 0.9$) makes much more
    progress on them. `ex.quadratic_descent` runs the core rules on the vector.
    '''),
    code('''
    lambdas = [2.0 ** -i for i in range(10)]
    gd = ex.quadratic_descent('sgd', lambdas, steps=50, lr=1.0)
    mom = ex.quadratic_descent('momentum', lambdas, steps=50, lr=1.0, momentum=0.9)
    d2l.plot(np.arange(51), [np.linalg.norm(gd, axis=1), np.linalg.norm(mom, axis=1)], 'step',
             '||x||', legend=['gradient descent', 'momentum 0.9'], yscale='log')'''),
] + overlay('momentum', "{'lr': 0.005, 'momentum': 0.9}")

# ---------------------------------------------------------------------------- 11.7
NOTEBOOKS['11.7-adagrad'] = intro('11.7 Adagrad', r'''
    Features that occur rarely get few gradient updates; a single global learning rate that
    decays over time then stops them from ever being learned. Adagrad gives every coordinate
    its own step size, scaled by the gradients that coordinate has seen so far.
    ''') + [
    md(r'''
    ## Preconditioning

    For $f(\mathbf{x}) = \frac{1}{2} \mathbf{x}^\top \mathbf{Q} \mathbf{x} + \mathbf{c}^\top \mathbf{x} + b$
    the speed of gradient descent depends on the condition number
    $\kappa = \Lambda_1 / \Lambda_d$, the ratio of the largest to the smallest eigenvalue of
    $\mathbf{Q}$. Rescaling by the diagonal,
    $\tilde{\mathbf{Q}} = \operatorname{diag}^{-\frac{1}{2}}(\mathbf{Q}) \mathbf{Q} \operatorname{diag}^{-\frac{1}{2}}(\mathbf{Q})$,
    often improves $\kappa$ a lot. In deep learning we do not have $\mathbf{Q}$, but the
    magnitude of the gradients is a proxy for it.

    ## The algorithm

    $$\mathbf{g}_t = \partial_\mathbf{w} l(y_t, f(\mathbf{x}_t, \mathbf{w})), \quad
      \mathbf{s}_t = \mathbf{s}_{t-1} + \mathbf{g}_t^2, \quad
      \mathbf{w}_t = \mathbf{w}_{t-1} - \frac{\eta}{\sqrt{\mathbf{s}_t + \epsilon}} \cdot \mathbf{g}_t,$$

    with squares and roots per coordinate and $\mathbf{s}_0 = \mathbf{0}$. Since $\mathbf{s}_t$
    grows roughly linearly, the effective step decays like $t^{-1/2}$ per coordinate.
    On $0.1 x_1^2 + 2 x_2^2$ with $\eta = 0.4$ the decay is too strong: $x_1$ stalls.
    '''),
    code('''
    d2l.show_trace_2d(ex.f_ill, d2l.train_2d(d2l.trainer_2d('adagrad', ex.f_ill_grad, eta=0.4)))'''),
    md('With $\\eta = 2$ both coordinates reach the optimum in 20 steps.'),
    code('''
    d2l.show_trace_2d(ex.f_ill, d2l.train_2d(d2l.trainer_2d('adagrad', ex.f_ill_grad, eta=2)))'''),
    md('## From scratch on the airfoil data'),
    code('''
    print(d2l.adagrad.__doc__)
    data_iter, feature_dim = d2l.get_data_ch11(batch_size=10)
    d2l.train_ch11(d2l.adagrad, d2l.init_adagrad_states(feature_dim), {'lr': 0.1}, data_iter,
                   feature_dim)'''),
    md(r'''
    ## With the framework's optimizer

    Framework versions differ in details: PyTorch adds $\epsilon$ outside the root, Keras starts
    $\mathbf{s}$ at 0.1.
    '''),
    code('''
    trainer, hyperparams = ex.concise_trainer('adagrad', BACKEND)
    print(trainer, hyperparams)
    d2l.train_concise_ch11(trainer, hyperparams, data_iter)'''),
    md(r'''
    ## Exercises

    **Rotate the problem.** Adagrad rescales the coordinate axes. On
    $f(\mathbf{x}) = 0.1 (x_1 + x_2)^2 + 2 (x_1 - x_2)^2$, the same function turned by 45
    degrees, the curvature no longer lines up with the axes and the per-coordinate scaling
    cannot undo the bad conditioning. Compare $f$ after 20 steps with $\eta = 0.4$.
    '''),
    code('''
    traces = ex.rotated_comparison('adagrad', eta=0.4)
    print('axis-aligned f:', ex.f_ill(*traces['axis-aligned'][-1]))
    print('rotated f:     ', ex.f_rotated(*traces['rotated'][-1]))
    d2l.show_trace_2d(ex.f_rotated, traces['rotated'])'''),
] + overlay('adagrad', "{'lr': 0.1}")

# ---------------------------------------------------------------------------- 11.8
NOTEBOOKS['11.8-rmsprop'] = intro('11.8 RMSProp', r'''
    Adagrad's sum of squared gradients only grows, so its steps shrink forever. That suits
    convex problems, less so deep networks. RMSProp keeps a leaky average instead, decoupling
    the per-coordinate scaling from the learning-rate schedule.
    ''') + [
    md(r'''
    ## The algorithm

    $$\mathbf{s}_t \leftarrow \gamma \mathbf{s}_{t-1} + (1 - \gamma) \mathbf{g}_t^2, \qquad
      \mathbf{x}_t \leftarrow \mathbf{x}_{t-1} - \frac{\eta}{\sqrt{\mathbf{s}_t + \epsilon}} \odot \mathbf{g}_t.$$

    Expanding the recursion,

    $$\mathbf{s}_t = (1 - \gamma) \left(\mathbf{g}_t^2 + \gamma \mathbf{g}_{t-1}^2 + \gamma^2 \mathbf{g}_{t-2}^2 + \ldots\right),$$

    every term squared (the book prints $\mathbf{g}_{t-2}$ without the square). The weights
    $(1 - \gamma)\gamma^\tau$ sum to 1, so $\mathbf{s}_t$ is an average over about
    $1/(1 - \gamma)$ recent squared gradients.
    '''),
    code('fig = ex.rmsprop_weights_figure(gammas=(0.95, 0.9, 0.8, 0.7))'),
    md(r'''
    On $0.1 x_1^2 + 2 x_2^2$ with $\eta = 0.4$ (where Adagrad stalled), $\gamma = 0.9$:
    '''),
    code('''
    trainer = d2l.trainer_2d('rmsprop', ex.f_ill_grad, eta=0.4, gamma=0.9)
    d2l.show_trace_2d(ex.f_ill, d2l.train_2d(trainer))'''),
    md('## From scratch on the airfoil data'),
    code('''
    print(d2l.rmsprop.__doc__)
    data_iter, feature_dim = d2l.get_data_ch11(batch_size=10)
    d2l.train_ch11(d2l.rmsprop, d2l.init_rmsprop_states(feature_dim), {'lr': 0.01, 'gamma': 0.9},
                   data_iter, feature_dim)'''),
    md(r'''
    ## With the framework's optimizer

    PyTorch calls $\gamma$ `alpha`, Keras `rho`, Gluon `gamma1`. PyTorch and Gluon put
    $\epsilon$ outside the root, Keras 3 inside it, as the book does.
    '''),
    code('''
    trainer, hyperparams = ex.concise_trainer('rmsprop', BACKEND)
    print(trainer, hyperparams)
    d2l.train_concise_ch11(trainer, hyperparams, data_iter)'''),
    md(r'''
    ## Exercises

    **What happens with $\gamma = 1$?** Then $\mathbf{s}_t = \gamma \mathbf{s}_{t-1}$ never
    leaves its initial 0, so every step is $\eta \mathbf{g} / \sqrt{\epsilon}$, a thousand
    times the gradient step for $\epsilon = 10^{-6}$, and the iterates explode. The core
    refuses $\gamma = 1$; `ex.rmsprop_gamma_one` sets it after building the trainer to show
    what would happen.
    '''),
    code('_ = ex.rmsprop_gamma_one(steps=20, eta=0.4)'),
    md(r'''
    **Rotate the problem** to $f(\mathbf{x}) = 0.1 (x_1 + x_2)^2 + 2 (x_1 - x_2)^2$. Like
    Adagrad, RMSProp scales coordinates, not directions; after the rotation convergence is
    much slower.
    '''),
    code('''
    traces = ex.rotated_comparison('rmsprop', eta=0.4, gamma=0.9)
    print('axis-aligned f:', ex.f_ill(*traces['axis-aligned'][-1]))
    print('rotated f:     ', ex.f_rotated(*traces['rotated'][-1]))
    d2l.show_trace_2d(ex.f_rotated, traces['rotated'])'''),
] + overlay('rmsprop', "{'lr': 0.01, 'gamma': 0.9}")

# ---------------------------------------------------------------------------- 11.9
NOTEBOOKS['11.9-adadelta'] = intro('11.9 Adadelta', r'''
    Adadelta is another fix for Adagrad's shrinking steps. It has no learning rate: the size
    of recent parameter changes sets the step instead.
    ''') + [
    md(r'''
    ## The algorithm

    Two leaky averages, of squared gradients and of squared updates:

    $$\begin{aligned}
    \mathbf{s}_t &= \rho \mathbf{s}_{t-1} + (1 - \rho) \mathbf{g}_t^2, \\
    \mathbf{g}_t' &= \frac{\sqrt{\Delta\mathbf{x}_{t-1} + \epsilon}}{\sqrt{\mathbf{s}_t + \epsilon}} \odot \mathbf{g}_t, \\
    \mathbf{x}_t &= \mathbf{x}_{t-1} - \mathbf{g}_t', \\
    \Delta \mathbf{x}_t &= \rho \Delta\mathbf{x}_{t-1} + (1 - \rho) {\mathbf{g}_t'}^2,
    \end{aligned}$$

    with $\mathbf{s}_0 = \Delta\mathbf{x}_0 = \mathbf{0}$ and $\epsilon = 10^{-5}$. The ratio
    carries the units of $\mathbf{x}$, so no learning rate is needed.
    '''),
    md('## From scratch on the airfoil data'),
    code('''
    print(d2l.adadelta.__doc__)
    data_iter, feature_dim = d2l.get_data_ch11(batch_size=10)
    d2l.train_ch11(d2l.adadelta, d2l.init_adadelta_states(feature_dim), {'rho': 0.9}, data_iter,
                   feature_dim)'''),
    md(r'''
    ## With the framework's optimizer

    The frameworks multiply $\mathbf{g}_t'$ by a learning rate after all: 1.0 in PyTorch and
    Gluon, and Keras defaults to 0.001, far too small here; the book's TensorFlow tab uses 5.0.
    '''),
    code('''
    trainer, hyperparams = ex.concise_trainer('adadelta', BACKEND)
    print(trainer, hyperparams)
    d2l.train_concise_ch11(trainer, hyperparams, data_iter)'''),
    md(r'''
    ## Exercises

    **Adjust $\rho$.** A short memory ($\rho = 0.5$) follows the latest gradients closely;
    a long one ($\rho = 0.99$) adapts slowly from its zero start.
    '''),
    code('''
    for rho in (0.5, 0.9, 0.99):
        run = ex.train_scratch(d2l, 'adadelta', {'rho': rho}, verbose=False)
        print(f'rho {rho}: {ex.book_line(run)}')'''),
    md(r'''
    **Is Adadelta really free of a learning rate?** At the start $\Delta\mathbf{x}_0 = 0$, so
    the first steps are $\sqrt{\epsilon} / \sqrt{\mathbf{s}_t + \epsilon} \, \mathbf{g}_t$:
    $\epsilon$ plays the role of the initial learning rate. From $(-5, -2)$ on
    $0.1 x_1^2 + 2 x_2^2$, 20 steps barely move:
    '''),
    code('''
    trace = d2l.train_2d(d2l.trainer_2d('adadelta', ex.f_ill_grad, rho=0.9))
    d2l.show_trace_2d(ex.f_ill, trace)'''),
] + overlay('adadelta', "{'rho': 0.9}")

# ---------------------------------------------------------------------------- 11.10
NOTEBOOKS['11.10-adam'] = intro('11.10 Adam', r'''
    Adam combines the chapter's ideas: a leaky average of gradients as in momentum, a leaky
    average of squared gradients as in RMSProp, and a correction for starting both at zero.
    It is the default optimizer of much of deep learning; it can also fail to converge, and
    Yogi is one repair.
    ''') + [
    md(r'''
    ## The algorithm

    $$\mathbf{v}_t \leftarrow \beta_1 \mathbf{v}_{t-1} + (1 - \beta_1) \mathbf{g}_t, \qquad
      \mathbf{s}_t \leftarrow \beta_2 \mathbf{s}_{t-1} + (1 - \beta_2) \mathbf{g}_t^2,$$

    with $\beta_1 = 0.9$, $\beta_2 = 0.999$. Started at zero, both are too small early on;
    since the weights sum to $1 - \beta^t$, the corrected estimates are
    $\hat{\mathbf{v}}_t = \mathbf{v}_t / (1 - \beta_1^t)$ and
    $\hat{\mathbf{s}}_t = \mathbf{s}_t / (1 - \beta_2^t)$. The update is

    $$\mathbf{g}_t' = \frac{\eta \hat{\mathbf{v}}_t}{\sqrt{\hat{\mathbf{s}}_t} + \epsilon}, \qquad
      \mathbf{x}_t \leftarrow \mathbf{x}_{t-1} - \mathbf{g}_t',$$

    with $\epsilon = 10^{-6}$ outside the root. The step count $t$ lives in
    `hyperparams['t']`, advanced once per step.
    '''),
    md('## From scratch on the airfoil data'),
    code('''
    print(d2l.adam.__doc__)
    data_iter, feature_dim = d2l.get_data_ch11(batch_size=10)
    d2l.train_ch11(d2l.adam, d2l.init_adam_states(feature_dim), {'lr': 0.01, 't': 1}, data_iter,
                   feature_dim)'''),
    md('## With the framework\'s optimizer'),
    code('''
    trainer, hyperparams = ex.concise_trainer('adam', BACKEND)
    print(trainer, hyperparams)
    d2l.train_concise_ch11(trainer, hyperparams, data_iter)'''),
    md(r'''
    ## Yogi

    Rewrite Adam's second moment as
    $\mathbf{s}_t \leftarrow \mathbf{s}_{t-1} + (1 - \beta_2) (\mathbf{g}_t^2 - \mathbf{s}_{t-1})$:
    the size of the change follows $\mathbf{s}_{t-1}$, so when it is large and gradients become
    small, $\mathbf{s}$ forgets quickly, and the step can blow up. Yogi (Zaheer et al., 2018)
    moves by the gradient's size only, in the direction of the difference:

    $$\mathbf{s}_t \leftarrow \mathbf{s}_{t-1} + (1 - \beta_2) \mathbf{g}_t^2 \odot \operatorname{sgn}(\mathbf{g}_t^2 - \mathbf{s}_{t-1}),$$

    with $\epsilon = 10^{-3}$ as in the paper.
    '''),
    code('''
    d2l.train_ch11(d2l.yogi, d2l.init_yogi_states(feature_dim), {'lr': 0.01, 't': 1}, data_iter,
                   feature_dim)'''),
    md(r'''
    ## Exercises

    **Adjust the learning rate.** Adam's step is roughly $\eta$ per coordinate whatever the
    gradient's scale, so $\eta$ sets how far the parameters can move: too small is slow, too
    large stays noisy.
    '''),
    code('''
    for lr in (0.001, 0.01, 0.1):
        run = ex.train_scratch(d2l, 'adam', {'lr': lr}, verbose=False)
        print(f'lr {lr}: {ex.book_line(run)}')'''),
    md(r'''
    **A problem where Adam fails and Yogi converges.** Reddi, Kale and Kumar (2018) built an
    online problem on $x \in [-1, 1]$: the loss is $f_t(x) = C x$ every third step and $-x$
    otherwise. On average $(C - 2)/3 \cdot x$ with $C = 3$, so the best point is $x = -1$. With
    $\beta_1 = 0$, $\beta_2 = 1/(1 + C^2)$ and steps $\eta / \sqrt{t}$, Adam's second moment
    forgets the rare large gradient within one step, each step becomes about $\pm\eta_t$, and the
    two small gradients win: Adam drifts to $x = +1$, the *worst* point. Yogi's additive
    update keeps $\mathbf{s}$ near the large value, the rare step dominates, and it converges to
    $-1$. Both runs use the core rules, projected back onto $[-1, 1]$ after each step.
    '''),
    code('''
    fig, ends = ex.adam_vs_yogi_figure(C=3.0, steps=3000)
    ends'''),
] + overlay('adam', "{'lr': 0.01}") + [
    code("runs, fig = ex.overlay_backends('yogi', {'lr': 0.01}, seed=0)"),
]


_QUIET = {'show_trace', 'show_trace_2d', 'plot', 'train_ch11', 'train_concise_ch11'}


def _quiet(source: str) -> str:
    """End a cell whose last statement is a plotting or training call with ';', so Jupyter
    shows the figure and the printed line but not the returned axes or (times, losses)."""
    import ast
    try:
        body = ast.parse(source).body
    except SyntaxError:          # IPython magics
        return source
    last = body[-1] if body else None
    if (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
            and getattr(last.value.func, 'attr', None) in _QUIET):
        return source + ';'
    return source


def build(name: str, cells: list) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        'kernelspec': {'display_name': 'Python 3', 'language': 'python', 'name': 'python3'},
        'language_info': {'name': 'python'},
    }
    for i, (kind, source) in enumerate(cells):
        if kind == 'markdown':
            cell = nbformat.v4.new_markdown_cell(source)
        else:
            cell = nbformat.v4.new_code_cell(_quiet(source))
            if kind == 'parameters':
                cell.metadata['tags'] = ['parameters']
        cell.id = f'{name.split("-")[0].replace(".", "-")}-{i:02d}'
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def main(argv: list[str]) -> int:
    check = '--check' in argv
    stale = []
    for name, cells in NOTEBOOKS.items():
        path = HERE / f'{name}.ipynb'
        text = nbformat.writes(build(name, cells)) + '\n'
        if check:
            if not path.is_file() or path.read_text(encoding='utf-8') != text:
                stale.append(path.name)
        else:
            tmp = path.with_suffix('.ipynb.part')
            tmp.write_text(text, encoding='utf-8')
            tmp.replace(path)
    if stale:
        print('out of date (run python notebooks/_build.py):', ', '.join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
