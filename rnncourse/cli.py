"""The ``rnncourse`` command.

A small dispatcher: every subcommand is one ``add_*`` function that declares
its arguments and one ``cmd_*`` function that runs it and returns the exit
status.  ::

    rnncourse params rnn --input 234 --hidden 1024 512 --output 15 --no-bias
    rnncourse --version

Errors (bad arguments, impossible sizes) print one line on stderr and exit
with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from . import __version__
from .params import BIAS_CONVENTIONS, GATES, count_parameters

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage block), status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    """argparse type: a positive integer."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


# --------------------------------------------------------------------------- rnncourse params


def add_params(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "params", help="count the parameters of a recurrent network",
        description="Count the parameters of a (stacked, bidirectional) recurrent network "
                    "and print the breakdown, layer by layer.",
    )
    p.add_argument("cell", choices=list(GATES), metavar="CELL",
                   help=f"one of: {', '.join(GATES)}")
    p.add_argument("--input", type=positive_int, required=True, metavar="N", help="input size n")
    p.add_argument("--hidden", type=positive_int, nargs="+", required=True, metavar="H",
                   help="hidden size d of every layer, bottom first (or one size with --layers)")
    p.add_argument("--output", type=positive_int, metavar="K",
                   help="output size k (no output layer if left out)")
    p.add_argument("--layers", type=positive_int, metavar="L",
                   help="number of layers when one --hidden size is given")
    p.add_argument("--no-bias", dest="bias", action="store_false", help="no bias vectors")
    p.add_argument("--bias-convention", choices=list(BIAS_CONVENTIONS), default="textbook",
                   help="textbook: one bias per gate block; pytorch: bias_ih and bias_hh "
                        "(default: textbook)")
    p.add_argument("--bidirectional", action="store_true", help="two directions per layer")
    p.set_defaults(func=cmd_params)


def cmd_params(args: argparse.Namespace) -> int:
    hidden = args.hidden[0] if len(args.hidden) == 1 else args.hidden
    count = count_parameters(
        args.cell, args.input, hidden, args.output, num_layers=args.layers, bias=args.bias,
        bias_convention=args.bias_convention, bidirectional=args.bidirectional,
    )
    print(count.table())
    return 0


# --------------------------------------------------------------------------- the dispatcher


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rnncourse",
        description="Companion tools of the open course on recurrent neural networks.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_params(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version and argument errors
        return exit_.code if isinstance(exit_.code, int) else 2
    try:
        return args.func(args)
    except (ValueError, TypeError) as exc:
        print(f"rnncourse {args.command}: error: {exc}", file=sys.stderr)
        return 2
