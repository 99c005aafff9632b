"""Call escbench's own commands in this process: the stages run exactly what a user would type,
parsed by the same argparse definitions (defaults and checks included), without a subprocess
and without importing other plugins' modules directly."""
from __future__ import annotations

import shlex
import sys
from typing import Sequence

from escbench.harness.errors import ConfigError, EscbenchError

_PARSER = None


def parser():
    """escbench's argument parser with every plugin's commands (built once)."""
    global _PARSER
    if _PARSER is None:
        from escbench.harness.cli import build_parser

        _PARSER = build_parser()
    return _PARSER


def accepts(command: str, flag: str) -> bool:
    """Whether ``escbench COMMAND`` has ``flag`` (for options other branches add)."""
    sub = next(a for a in parser()._subparsers._group_actions if a.dest == "command")  # noqa: SLF001
    chosen = sub.choices.get(command)
    return chosen is not None and flag in chosen._option_string_actions  # noqa: SLF001


def call(argv: Sequence[str], unit: str) -> int:
    """Run ``escbench ARGV`` here; returns its exit status. EscbenchError gets the unit's name
    in front; argparse errors (a bug of the stage) become ConfigError instead of exiting."""
    args_list = [str(a) for a in argv]
    print(f"[{unit}] escbench {shlex.join(args_list)}", file=sys.stderr, flush=True)
    try:
        args = parser().parse_args(args_list)
    except SystemExit as stop:
        raise ConfigError(f"{unit}: escbench {shlex.join(args_list)} was refused by its argument parser "
                          f"(exit {stop.code})") from None
    try:
        return int(args.handler(args) or 0)
    except EscbenchError as error:
        raise StageError(f"{unit}: {error}") from error


class StageError(EscbenchError):
    """A command called by a stage failed; the message names the unit first."""
