"""Entry point of the ``mixcore`` command.

Each command is a module ``mixcore/cli/cmd_<name>.py`` that defines ``NAME``,
``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``. Errors a user can
cause are raised as :class:`mixcore.errors.MixcoreError` (or OSError) and
printed as one line on stderr, with exit status 2; never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from .. import __version__
from ..errors import MixcoreError


def _commands():
    from . import __path__ as path

    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            yield importlib.import_module(f"{__package__}.{info.name}")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, like every other error
        self.exit(2, f"mixcore: error: {message} (see 'mixcore {self.prog.split()[-1]} --help')\n"
                  if " " in self.prog else f"mixcore: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mixcore", description="Mix and master audio from Python.")
    parser.add_argument("--version", action="version", version=f"mixcore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for mod in _commands():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()  # imports every command: an unbuilt source checkout fails here
    except MixcoreError as e:
        print(f"mixcore: error: {e}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except BrokenPipeError:  # e.g. `mixcore analyze ... | head`: the reader left, nothing to report
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except MixcoreError as e:
        print(f"mixcore: error: {e}", file=sys.stderr)
    except (OSError, ValueError, RuntimeError) as e:  # e.g. a file that cannot be read
        print(f"mixcore: error: {_one_line(e)}", file=sys.stderr)
    except KeyboardInterrupt:
        print("mixcore: interrupted", file=sys.stderr)
        return 130
    return 2


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text or type(e).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
