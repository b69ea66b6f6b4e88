"""11.3 Gradient Descent: 1-D descent at three learning rates, a nonconvex function, the 2-D
quadratic, and Newton's method (digits in float32, as the book's tensors)."""
from __future__ import annotations

import numpy as np

from ..trajectories import trainer_2d
from .objectives import f_2d, f_2d_grad, f_nonconvex, f_nonconvex_grad, f_nonconvex_grad32, f_nonconvex_hess
from .registry import experiment
from .traces import gd_1d_result, newton_result, train_2d_result

for _eta, _book in ((0.2, 'gd x^2 eta 0.2'), (0.05, 'gd x^2 eta 0.05'), (1.1, 'gd x^2 eta 1.1')):
    experiment('11.3', f'gd-x2-eta{_eta}', f'1-D gradient descent on x^2, eta {_eta}',
               per_backend=False, book=_book)(
        lambda d2l, ctx, eta=_eta: gd_1d_result(eta, lambda x: x ** 2, lambda x: 2 * x))

experiment('11.3', 'gd-nonconvex-eta2', 'gradient descent on x cos(0.15 pi x), eta 2',
           per_backend=False, book='gd nonconvex eta 2')(
    lambda d2l, ctx: gd_1d_result(2, f_nonconvex, f_nonconvex_grad))
experiment('11.3', 'gd-2d-eta0.1', 'gradient descent on x1^2 + 2 x2^2, eta 0.1',
           per_backend=False, book='gd 2d eta 0.1')(
    lambda d2l, ctx: train_2d_result(trainer_2d('sgd', f_2d_grad, eta=0.1), f_2d))


def _cosh_grad(x):
    c = np.float32(0.5)
    return c * np.sinh(c * x)


def _cosh_hess(x):
    c = np.float32(0.5)
    return c ** 2 * np.cosh(c * x)


experiment('11.3', 'newton-cosh', "Newton's method on cosh(0.5 x)", per_backend=False,
           book='newton cosh')(
    lambda d2l, ctx: newton_result(1, lambda x: np.cosh(0.5 * x), _cosh_grad, _cosh_hess))
for _eta in (1, 0.5):
    experiment('11.3', f'newton-nonconvex-eta{_eta}', f"Newton's method on x cos(0.15 pi x), eta {_eta}",
               per_backend=False, book=f'newton nonconvex eta {_eta}')(
        lambda d2l, ctx, eta=_eta: newton_result(eta, f_nonconvex, f_nonconvex_grad32, f_nonconvex_hess))
