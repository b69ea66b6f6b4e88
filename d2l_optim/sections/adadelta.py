"""11.9 Adadelta: the airfoil runs (scratch and concise)."""
from __future__ import annotations

from .airfoil_rows import concise_run, register_run, scratch_run

register_run('11.9', 'scratch', 'adadelta scratch (rho 0.9)', 'adadelta scratch',
              scratch_run('adadelta', {'rho': 0.9}))
register_run('11.9', 'concise', 'adadelta concise', 'adadelta concise', concise_run('adadelta'))
