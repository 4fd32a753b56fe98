"""`tinygrad-rnn`: run the seed documents' examples and draw their graphs from the command line.

    tinygrad-rnn demo --list
    tinygrad-rnn demo echo --steps 2000 --out out/echo
    tinygrad-rnn graph char_rnn --rolled --format png

Bad arguments print one line and exit with status 2; a run that fails on a file (a missing
checkpoint, an unreadable text) prints one line and exits with status 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from . import __version__
from .errors import GraphvizNotFoundError, SerializationError, StateDictError
from .examples import EXAMPLES, Run, build_parser, load, run_example
from .examples._common import UsageError

PROG = "tinygrad-rnn"
# Failures a user can cause and fix; anything else is a bug and keeps its traceback.
USER_ERRORS = (OSError, SerializationError, StateDictError, GraphvizNotFoundError)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _listing() -> str:
    width = max(map(len, EXAMPLES))
    lines = [f"  {name:<{width}}  seed {info.seed}  {info.summary}" for name, info in EXAMPLES.items()]
    return "examples:\n" + "\n".join(lines)


def build_cli(prog: str = PROG) -> argparse.ArgumentParser:
    """The whole command line: `demo [--list | NAME options]` and `graph NAME options`."""
    parser = _Parser(prog=prog, description="Examples and graph drawings of tinygrad_rnn, the "
                     "seed documents' recurrent networks on a small autodiff engine.",
                     epilog=f"Start with `{prog} demo echo`; every command takes --help.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser("demo", help="run an example (train, print, write pictures)",
                               description="Run one of the examples.", epilog=_listing(),
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    demo.add_argument("--list", action="store_true", help="list the examples and exit")
    demo.set_defaults(demo_parser=demo)
    names = demo.add_subparsers(dest="name", metavar="NAME", title="examples")
    for name, info in EXAMPLES.items():
        build_parser(name, names.add_parser(name, help=info.summary))

    graph = commands.add_parser("graph", help="write an example's computation graph (SVG, PNG or PDF)",
                                description="Draw the computation graph of one small step of an "
                                            "example with tinygrad_rnn.viz.draw_graph.")
    graph.add_argument("name", choices=list(EXAMPLES), metavar="NAME",
                       help="the example: " + ", ".join(EXAMPLES))
    graph.add_argument("--format", choices=("svg", "png", "pdf"), default="svg",
                       help="picture format (default: svg)")
    graph.add_argument("--rolled", action="store_true",
                       help="draw one time step of each recurrent module with its recurrent edge")
    graph.add_argument("--seed", type=int, default=0, help="random seed of the weights (default: 0)")
    graph.add_argument("--out", type=Path, default=None, metavar="DIR",
                       help="folder for the picture (default: out/NAME)")
    return parser


def _graph(args: argparse.Namespace, prog: str) -> None:
    options = build_parser(args.name, _Parser(prog=f"{prog} graph {args.name}")).parse_args([])
    options.seed = args.seed
    options.out = args.out or Path("out") / args.name
    run = Run(args.name, options)
    drawing = load(args.name).draw(run, rolled=args.rolled)
    run.save_graph(drawing, f"{args.name}_graph", format=args.format)
    run.report_files()


def _one_line(error: BaseException) -> str:
    return "; ".join(line.strip() for line in str(error).splitlines() if line.strip())


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    """Run the command line `argv` (default: sys.argv[1:]); returns the exit status."""
    parser = build_cli(prog)
    args = parser.parse_args(argv)
    if args.command == "graph":
        return _guarded(lambda: _graph(args, prog), prog)
    if args.list:
        print(_listing())
        return 0
    if args.name is None:
        args.demo_parser.error(f"demo needs an example NAME, one of: {', '.join(EXAMPLES)} (or demo --list)")
    return _guarded(lambda: run_example(args.name, run=Run(args.name, args)), prog)


def run_script(name: str, argv: Sequence[str] | None = None) -> int:
    """`python examples/NAME.py [options]`: example `name` with the command line's options."""
    prog = f"python examples/{name}.py"
    parser = build_parser(name, _Parser(prog=prog, description=EXAMPLES[name].summary))
    args = parser.parse_args(argv)
    return _guarded(lambda: run_example(name, run=Run(name, args)), prog)


def _guarded(action: Callable[[], object], prog: str) -> int:
    """Run `action`; a failure the user can fix becomes one line on stderr and status 1."""
    try:
        action()
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except UsageError as error:
        print(f"{prog}: error: {error} (see --help)", file=sys.stderr)
        return 2
    except USER_ERRORS as error:
        print(f"{prog}: error: {_one_line(error)}", file=sys.stderr)
        return 1
    return 0
