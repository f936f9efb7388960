"""Domain exceptions.

Every error a user can fix by changing their input is an :class:`InputError`; the command line
turns it into exit code 2 and prints its message alone, without a traceback. The message names
the file, the column, a few offending rows and what to do.
"""

import signal


class KeyclientsError(Exception):
    """Base class of the errors this package raises on purpose."""


class InputError(KeyclientsError):
    """Bad input or usage: a file, column, value or option the user must fix (exit code 2)."""


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
