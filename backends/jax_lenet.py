"""JAX pieces for 11.11: not written yet. Importing this module says so in one sentence.

``from d2l_optim.backends import jax as d2l`` still offers the chapter's LeNet names;
each raises the same sentence (see :data:`NOT_YET`), so a notebook or ``reproduce
--sections 11.11 --backends jax`` stops with it instead of a traceback.
"""
from d2l_optim.backend import BackendUnavailable

NOT_YET = ("11.11's LeNet is not on the JAX backend yet: run 11.11 with BACKEND = 'torch', "
           "'tensorflow' or 'mxnet' (or 'numpy' for its MLP); the schedulers themselves "
           "(d2l.SquareRootScheduler, ...) work on JAX")

raise BackendUnavailable(NOT_YET)
