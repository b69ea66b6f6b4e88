"""The CLI's subcommands, one module each (see :mod:`d2l_optim.cli`)."""
