"""1-D and 2-D trajectories as registry results: the core's ``gd_1d``, ``newton`` and
``train_2d`` run with their printed line captured and the trace drawn (11.3, 11.6-11.8).
The exercises' own trajectories (the rotated problem of 11.7/11.8) are computed in the
notebooks' cells, not here."""
from __future__ import annotations

from typing import Callable, Sequence

from ..trajectories import gd_1d, newton, show_trace, show_trace_2d, train_2d
from .registry import Result, captured_figure, printed


def trace_result(results: Sequence, f: Callable, line: str) -> Result:
    """A 2-D trajectory as a result: its end point, the printed line, the contour figure."""
    with captured_figure() as box:
        show_trace_2d(f, results)
    x1, x2 = results[-1]
    return Result({'x1': float(x1), 'x2': float(x2)}, line, {'trace': box[0]})


def gd_1d_result(eta: float, f: Callable, f_grad: Callable) -> Result:
    """The core's ``gd_1d`` from x = 10 with its printed line and the trace over f."""
    results, line = printed(gd_1d, eta, f_grad)
    with captured_figure() as box:
        show_trace(results, f)
    return Result({'x': results[-1]}, line, {'trace': box[0]})


def newton_result(eta: float, f: Callable, f_grad: Callable, f_hess: Callable) -> Result:
    """The core's ``newton`` from x = 10 with its printed line and the trace over f."""
    results, line = printed(newton, eta, f_grad, f_hess)
    with captured_figure() as box:
        show_trace(results, f)
    return Result({'x': results[-1]}, line, {'trace': box[0]})


def train_2d_result(trainer: Callable, f: Callable, steps: int = 20, f_grad=None) -> Result:
    """The core's ``train_2d`` of a book-style trainer, as :func:`trace_result`."""
    results, line = printed(train_2d, trainer, steps, f_grad)
    return trace_result(results, f, line)

