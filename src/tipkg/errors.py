"""Errors a user can cause. Each carries a one-line message and the place it points at."""

from __future__ import annotations

from pathlib import Path


class TipkgError(Exception):
    """Base of every user-facing error; the CLI prints ``str(error)`` and exits ``exit_code``."""

    exit_code = 2

    def __init__(
        self, message: str, path: Path | str | None = None, line: int | None = None
    ) -> None:
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        where = display_path(self.path)
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.message}"


def display_path(path: Path) -> str:
    """A path as a user can type it: relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(path)


class InputError(TipkgError):
    """A project file is missing, unreadable or malformed (exit status 2)."""

    exit_code = 2


class ValidationFailed(TipkgError):
    """The assembled graph violates the SHACL shapes (exit status 1)."""

    exit_code = 1


class SearchError(TipkgError):
    """A search the index cannot answer as typed: a query syntax error, an unknown filter
    (exit status 2)."""

    exit_code = 2
