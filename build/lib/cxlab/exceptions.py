"""Errors and warnings that cxlab raises for its users."""

from __future__ import annotations

from typing import Any


class DataContractError(ValueError):
    """The input cannot be analysed: a missing table or column, a bad mapping or parameter.

    The message names the file, the column and what to do. The command line turns it
    into exit status 2 with the message and no traceback. ``report`` holds the load
    report when rows had been read, so that rejected rows can still be written.
    """

    def __init__(self, message: str, *, report: Any = None):
        super().__init__(message)
        self.report = report
