"""Entry point of the ``mixcore`` command.

Each command is a module ``mixcore/cli/cmd_<name>.py`` that defines ``NAME``,
``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``. Errors a user can
cause are raised as :class:`mixcore.errors.MixcoreError` (or OSError) and
printed as one line on stderr, with exit status 2; never a traceback.
"""
from __future__ import annotations

import os

# numpy's OpenBLAS starts a thread per core at import, which spin while the process starts (about
# 0.1 s of a render's start-up on 2 cores); the CLI's linear algebra is small (mastering's fits), so
# one BLAS thread, unless the user chose otherwise. Set before anything imports numpy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import importlib  # noqa: E402
import pkgutil  # noqa: E402
import sys  # noqa: E402

from .. import __version__  # noqa: E402
from ..errors import MixcoreError  # noqa: E402


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


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C's KeyboardInterrupt so that every cleanup runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, _frame) -> None:
    raise Terminated(signum)


def _install_signal_handlers() -> dict:
    """SIGTERM and SIGHUP end the command like Ctrl-C (main thread only); returns the old handlers."""
    import signal
    import threading

    old = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGHUP"):
            signum = getattr(signal, name, None)
            if signum is not None and signal.getsignal(signum) != signal.SIG_IGN:  # nohup: stay ignored
                old[signum] = signal.signal(signum, _raise_terminated)
    return old


def main(argv: list[str] | None = None) -> int:
    import signal

    try:
        parser = build_parser()  # imports every command: an unbuilt source checkout fails here
    except MixcoreError as e:
        print(f"mixcore: error: {e}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    old = _install_signal_handlers()
    try:
        return _main(args)
    finally:
        for signum, handler in old.items():
            signal.signal(signum, handler)


def _main(args) -> int:
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
    except Terminated as e:
        import signal

        print(f"mixcore: terminated by {signal.Signals(e.signum).name}", file=sys.stderr)
        return 128 + e.signum
    except KeyboardInterrupt:
        print("mixcore: interrupted", file=sys.stderr)
        return 130
    return 2


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text or type(e).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
