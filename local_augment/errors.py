"""The two error classes a user sees as one clean line; anything else is a bug with a traceback."""

from __future__ import annotations


class UserError(Exception):
    """Bad input, bad config or a missing model: something the user can fix.

    The message says what is wrong, where (file, line, field) and what to do.
    """


class ModelError(UserError):
    """A model is missing, corrupt or unusable; the message names it and the command that fixes it."""


class BadRow(UserError):
    """One input row cannot be used; the run goes on and the row becomes a `bad_input` reject."""

    def __init__(self, path: str, line: int, message: str, raw: str | None = None) -> None:
        self.path = path
        self.line = line
        self.detail = message
        self.raw = raw
        super().__init__(f"{path}:{line}: {message}")

    @property
    def reason(self) -> str:
        return f"bad_input:line {self.line}: {self.detail}"
