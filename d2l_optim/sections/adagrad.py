"""11.7 Adagrad: the ill-conditioned quadratic at two learning rates and the airfoil runs.
The exercises are computed in the notebook's cells."""
from __future__ import annotations

from ..trajectories import trainer_2d
from .airfoil_rows import concise_run, register_run, scratch_run
from .objectives import f_ill, f_ill_grad
from .registry import experiment
from .traces import train_2d_result

for _eta, _book in ((0.4, 'adagrad eta 0.4'), (2, 'adagrad eta 2')):
    experiment('11.7', f'2d-eta{_eta}', f'Adagrad eta {_eta} on 0.1 x1^2 + 2 x2^2', per_backend=False,
               book=_book)(
        lambda d2l, ctx, eta=_eta: train_2d_result(trainer_2d('adagrad', f_ill_grad, eta=eta), f_ill))
register_run('11.7', 'scratch', 'adagrad scratch (lr 0.1)', 'adagrad scratch', scratch_run('adagrad', {'lr': 0.1}))
register_run('11.7', 'concise', 'adagrad concise', 'adagrad concise', concise_run('adagrad'))

