"""11.10 Adam: the airfoil runs of Adam and Yogi, and the exercise where Adam fails and
Yogi converges (Reddi, Kale and Kumar)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..ops import scalar_ops
from ..plotting import plot
from ..rules import apply_rule, get_rule
from .airfoil_runs import concise_run, register_run, scratch_run
from .registry import Context, Result, experiment, new_figure

register_run('11.10', 'adam-scratch', 'adam scratch (lr 0.01)', 'adam scratch', scratch_run('adam', {'lr': 0.01}))
register_run('11.10', 'adam-concise', 'adam concise', 'adam concise', concise_run('adam'))
register_run('11.10', 'yogi-scratch', 'yogi scratch (lr 0.01)', 'yogi scratch', scratch_run('yogi', {'lr': 0.01}))


def reddi_problem(rule: str, C: float = 3.0, steps: int = 3000, lr: float = 0.5) -> np.ndarray:
    """The online problem of Reddi, Kale and Kumar (ICLR 2018) on x in [-1, 1]:
    f_t(x) = C x when t mod 3 = 1, else -x. The average loss (C - 2)/3 x is least at x = -1.
    With beta1 = 0, beta2 = 1/(1 + C^2) and step lr/sqrt(t), Adam is drawn to x = +1, the worst
    point, while Yogi's additive second moment keeps the rare large gradient in memory and
    reaches -1. The core rule on floats, projected back onto [-1, 1] after each step."""
    rule_ = get_rule(rule)
    hp = {'lr': lr, 'beta1': 0.0, 'beta2': 1 / (1 + C ** 2)}
    x, states, xs = 0.0, None, []
    for t in range(1, steps + 1):
        g = C if t % 3 == 1 else -1.0
        hp['lr'] = lr / math.sqrt(t)
        (x,), states = apply_rule(rule_, [x], [g], states, hp, scalar_ops)
        x = min(1.0, max(-1.0, x))
        xs.append(x)
    return np.array(xs)


def adam_vs_yogi_figure(C: float = 3.0, steps: int = 3000):
    """The iterates of Adam and Yogi on :func:`reddi_problem`."""
    fig, ax = new_figure((4.5, 2.5))
    traces = {rule: reddi_problem(rule, C, steps) for rule in ('adam', 'yogi')}
    plot(np.arange(1, steps + 1), list(traces.values()), 't', 'x_t', legend=list(traces),
         xlim=[1, steps], xscale='log', axes=ax)
    return fig, {k: float(v[-1]) for k, v in traces.items()}


@experiment('11.10', 'adam-vs-yogi', 'exercise: Adam fails, Yogi converges (Reddi et al.)',
            per_backend=False)


def _adam_vs_yogi(d2l: Any, ctx: Context) -> Result:
    fig, ends = adam_vs_yogi_figure()
    text = f"x after 3000 steps (optimum -1): adam {ends['adam']:+.3f}, yogi {ends['yogi']:+.3f}"
    return Result(ends, text, {'adam-vs-yogi': fig})
