"""Errors and warnings raised by openldn.

Every error derives from :class:`OpenLDNError` and from the builtin exception that matches its meaning, so callers
can catch either. Messages are one line: what (file, key or value), the problem, and the fix.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataAccessError",
    "EmptyAOIError",
    "GridMismatchError",
    "InputDataError",
    "InputFileError",
    "LegendError",
    "MissingYearError",
    "OpenLDNError",
    "OpenLDNWarning",
    "OutputWriteError",
    "PRAISValidationError",
    "PeriodError",
]


class OpenLDNError(Exception):
    """Root of every error raised by openldn for a user mistake or a bad input."""


class ConfigError(OpenLDNError, ValueError):
    """A run file or a parameter is malformed or inconsistent."""


class InputFileError(OpenLDNError, FileNotFoundError):
    """An input file is missing, unreadable or not of the expected kind."""


class InputDataError(OpenLDNError, ValueError):
    """An input's values are wrong for what it is (out of range, undeclared scale or nodata, fractional codes)."""


class GridMismatchError(OpenLDNError, ValueError):
    """Rasters that must share a grid do not, or cannot be aligned."""


class LegendError(OpenLDNError, ValueError):
    """A class code is not in the legend, or a legend / nesting / matrix file is invalid."""


class PeriodError(OpenLDNError, ValueError):
    """A period or year range is malformed."""


class MissingYearError(OpenLDNError, ValueError):
    """A year that a computation needs is not in an input."""


class EmptyAOIError(OpenLDNError, ValueError):
    """The area of interest is empty or does not overlap the input rasters."""


class PRAISValidationError(OpenLDNError, ValueError):
    """A PRAIS table breaks a validation rule (the message names the table, row and rule)."""


class DataAccessError(OpenLDNError, ConnectionError):
    """A remote dataset could not be reached or is not cached."""


class OutputWriteError(OpenLDNError, OSError):
    """An output cannot be written: the folder is not writable, the disk is full, or a path is too long."""


class OpenLDNWarning(UserWarning):
    """Warning about a substitution or an assumption made during a run."""
