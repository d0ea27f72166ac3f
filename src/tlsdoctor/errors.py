"""The only exceptions that leave the package.

Network failures are never exceptions here: they are observations. These three
exist for the command-line boundary, which maps each to an exit status.
"""

from __future__ import annotations


class TlsDoctorError(Exception):
    """Base of the package's own exceptions."""

    exit_status = 3


class UsageError(TlsDoctorError):
    """The user asked for something malformed: a bad target, option or value (exit 2)."""

    exit_status = 2


class InputError(TlsDoctorError):
    """An input the user named cannot be read or is not what it should be (exit 2)."""

    exit_status = 2


class InternalError(TlsDoctorError):
    """The diagnosis itself could not run (exit 3)."""

    exit_status = 3
