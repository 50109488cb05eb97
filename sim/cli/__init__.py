"""``python -m sim`` / ``dorasim``: the command-line interface (docs/cli.md).

Each subcommand lives in its own ``sim/cli/<name>.py`` module exposing ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. This module only dispatches and turns
user mistakes (:class:`sim.errors.InputError`) into one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

COMMANDS = (
    "run",
    "compare",
    "events",
    "score",
    "plan",
    "forecast",
    "calibrate",
    "backtest",
    "sweep",
    "bench",
    "import",
)
MODULES = {"import": "import_logs"}  # a command whose module name differs (``import`` is a keyword)


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message: str):  # pragma: no cover - exercised through main()
        from sim.errors import one_line

        sys.stderr.write(f"{one_line(f'{self.prog}: {message}')}\n")
        raise SystemExit(2)


def static_help(name: str) -> str | None:
    """A command's one-line ``HELP``, read from its module's source without importing it (``--help`` stays fast:
    importing every command would load the whole numeric stack)."""
    import ast
    import importlib.util

    spec = importlib.util.find_spec(f"sim.cli.{MODULES.get(name, name)}")
    if spec is None or spec.origin is None:
        return None
    with open(spec.origin, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "HELP" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    return None


def build_parser(only: str | None = None, full: bool = True) -> argparse.ArgumentParser:
    """The full parser, or (``only``) one that imports just the chosen command: a fast start. Without a chosen
    command and ``full=False``, the commands are listed with their help read from source (``--help``)."""
    import sim

    parser = _Parser(prog="dorasim", description="Simulate delivery and score it with the DORA metrics.")
    parser.add_argument("--version", action="version", version=f"dorasim {sim.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMANDS:
        if only is not None and name != only:
            sub.add_parser(name)
            continue
        if only is None and not full:  # no command chosen (--help, a typo): list them without importing them
            sub.add_parser(name, help=static_help(name))
            continue
        try:
            module = importlib.import_module(f"sim.cli.{MODULES.get(name, name)}")
        except ModuleNotFoundError as exc:  # a command not built into this installation
            if exc.name != f"sim.cli.{MODULES.get(name, name)}":
                raise
            continue
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(cmd)
        cmd.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    from sim.errors import InputError, one_line

    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
    parser = build_parser(chosen, full=False)
    args = parser.parse_args(argv)  # --help and usage errors end here, before the numeric stack is imported
    from sim.cli.common import cap_workers

    note = cap_workers(args)
    try:
        code = int(args._module.run(args) or 0)
        sys.stdout.flush()  # a full disk or a closed pipe shows here, not at exit
    except InputError as exc:
        sys.stderr.write(f"dorasim {args.command}: {exc}\n")
        return 2
    except OSError as exc:  # the system refused (stdout on a full disk, a closed pipe): not a bug of ours
        _silence_stdout()
        where = f"{exc.filename}: " if exc.filename else ""
        sys.stderr.write(
            one_line(f"dorasim {args.command}: {where}{exc.strerror or type(exc).__name__}") + "\n"
        )
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("dorasim: interrupted\n")
        return 130
    if note:
        sys.stderr.write(f"dorasim {args.command}: note: {note}\n")
    return code


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
