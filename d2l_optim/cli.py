"""``d2l-optim`` command line: each subcommand lives in ``d2l_optim/commands/<name>.py``
with ``add_arguments(parser)`` and ``main(args) -> int``, imported only when used."""
from __future__ import annotations

import argparse
import contextlib
import importlib
import sys

#: subcommand -> (module, one-line help)
COMMANDS = {
    'run': ('d2l_optim.commands.run', "train the airfoil regression with one optimizer (the book's train_ch11)"),
    'compare': ('d2l_optim.commands.compare', 'one optimizer on several backends with one seed, curves overlaid'),
    'compare-2d': ('d2l_optim.commands.compare2d', 'the classic optimizer trajectories on x^2/20 + y^2'),
    'reproduce': ('d2l_optim.commands.reproduce', "run the chapter's experiments and write a report against the book"),
    'bench': ('d2l_optim.commands.bench', 'time every backend against a hand-written loop'),
    'lab': ('d2l_optim.commands.lab', 'build student notebooks from the sections, grade submitted ones offline'),
    'sweep': ('d2l_optim.commands.sweep', 'many runs of each optimizer as one batched computation: '
                                          'final loss against lr, best lr, robustness'),
}


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog='d2l-optim', description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', metavar='COMMAND', parser_class=_Parser)
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(_module=module)
        try:
            importlib.import_module(module).add_arguments(p)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
            p.set_defaults(_missing=True)
    return parser


class _Parser(argparse.ArgumentParser):
    """Usage mistakes as one line naming the fix, exit code 2 (argparse prints the whole usage)."""

    def error(self, message: str):
        self.exit(2, f'{self.prog}: error: {message} (see {self.prog} --help)\n')


def main(argv: list[str] | None = None) -> int:
    from .interrupts import EXIT_INTERRUPTED, interrupted_message, signals_as_interrupt
    with signals_as_interrupt():
        args = None
        try:
            parser = build_parser()
            args = parser.parse_args(argv)
            return _dispatch(parser, args)
        except KeyboardInterrupt:
            print(interrupted_message(getattr(args, 'out', None), getattr(args, 'command', None)),
                  file=sys.stderr)
            return EXIT_INTERRUPTED


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, '_missing', False):
        print(f"d2l-optim: '{args.command}' is not available in this version", file=sys.stderr)
        return 2
    from .backend import BackendUnavailable
    from .data import DataError
    from .harness import DivergenceError
    from . import files
    from .commands.common import check_mplbackend, check_out_dir, check_out_file
    from .data import one_try_per_file, require
    out = getattr(args, 'out', None)
    try:
        # every command's --out folder and --json file, checked before any work; and the data
        # a command module lists in NEEDS_DATA, looked up once (offline: one try per file)
        check_mplbackend()
        check_out_dir(out)
        check_out_file(getattr(args, 'json', None))
        module = importlib.import_module(args._module)
        with one_try_per_file(), \
                files.output_folder(out, f'd2l-optim {args.command}') if out else contextlib.nullcontext():
            if getattr(module, 'NEEDS_DATA', None):
                require(*module.NEEDS_DATA)
            return module.main(args) or 0
    except (ValueError, BackendUnavailable, DataError, DivergenceError) as e:
        print(f'd2l-optim {args.command}: error: {_one_line(e)}', file=sys.stderr)
        return 2
    except OSError as e:            # a path the user named: not writable, a file, a folder
        where = f'{files.target_of(e.filename)}: ' if e.filename else ''
        print(f'd2l-optim {args.command}: error: {where}{e.strerror or e}', file=sys.stderr)
        return 2


def _one_line(e: BaseException) -> str:
    return ' '.join(str(e).split('\n'))


if __name__ == '__main__':
    sys.exit(main())
