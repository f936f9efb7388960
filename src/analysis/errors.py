"""Domain exceptions.

Every error a user can fix by changing their input is an :class:`InputError`; the command line
turns it into exit code 2 and prints its message alone, without a traceback. The message names
the file, the column, a few offending rows and what to do.
"""

import signal
from pathlib import Path

import yaml


class KeyclientsError(Exception):
    """Base class of the errors this package raises on purpose."""


class InputError(KeyclientsError):
    """Bad input or usage: a file, column, value or option the user must fix (exit code 2)."""


class TooFewRowsError(InputError):
    """A model has fewer complete rows than it has parameters (plus two residual degrees of
    freedom): the data are too short for it, not wrong (callers report it as a reason)."""


def read_yaml(path: str | Path, *, missing: str) -> object:
    """The user's YAML file at ``path``, parsed; an :class:`InputError` naming the file when it is
    not there (``missing`` says what to do) or is not valid YAML (the parser's problem said)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: {missing}")
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", "") or ""
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        detail = f"{exc.__class__.__name__}{': ' + problem if problem else ''}"
        raise InputError(f"{p}: not valid YAML{where} ({detail}); fix the file") from None


class Stopped(BaseException):
    """A run stopped by SIGINT or SIGTERM (a ``BaseException``, like ``KeyboardInterrupt``).

    ``exit_code`` is the shell's convention for a process ended by the signal: 130 for SIGINT,
    143 for SIGTERM.
    """

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum
