"""One adapter per framework: ``from d2l_optim.backends import torch as d2l``.

Each adapter holds only what differs between frameworks; see
:class:`d2l_optim.backend.Backend`. Importing this package imports no framework.
"""
