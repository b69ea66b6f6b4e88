"""11.10 Adam: the airfoil runs of Adam and Yogi. The exercises (the learning rate sweep,
Adam without bias correction, the problem where Adam fails and Yogi converges) are
computed in the notebook's cells."""
from __future__ import annotations

from .airfoil_rows import concise_run, register_run, scratch_run

register_run('11.10', 'adam-scratch', 'adam scratch (lr 0.01)', 'adam scratch', scratch_run('adam', {'lr': 0.01}))
register_run('11.10', 'adam-concise', 'adam concise', 'adam concise', concise_run('adam'))
register_run('11.10', 'yogi-scratch', 'yogi scratch (lr 0.01)', 'yogi scratch', scratch_run('yogi', {'lr': 0.01}))
