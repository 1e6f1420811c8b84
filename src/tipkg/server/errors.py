"""The server's one error vocabulary: what a client did wrong, or why it cannot be answered now.

A handler raises one of these with a one-line message; one exception handler
(:func:`tipkg.server.pages.errorpage.error_response`) renders every one of them, as a line of
text or, for a browser, a page. No handler builds an error response of its own. This module
imports nothing of Starlette, so the query workers raise the same errors.
"""

from __future__ import annotations

from collections.abc import Mapping

# Every way of asking for a change gets this answer.
UPDATES_REFUSED = "this endpoint is read-only: SPARQL updates are refused"


def one_line(text: str) -> str:
    """A library's message as one line, however many it had."""
    return " ".join(text.split())


class HttpError(Exception):
    """An answer other than success: its ``status``, a one-line ``message`` and extra headers."""

    status = 500

    def __init__(self, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})

    @staticmethod
    def for_status(
        status: int, message: str, headers: Mapping[str, str] | None = None
    ) -> HttpError:
        """The error of our vocabulary for ``status`` (a 500 for a status it has no name for)."""
        kinds = {kind.status: kind for kind in HttpError.__subclasses__()}
        return kinds.get(status, InternalError)(message, headers)


class BadRequest(HttpError):
    status = 400


class Forbidden(HttpError):
    status = 403


class NotFound(HttpError):
    status = 404


class MethodNotAllowed(HttpError):
    status = 405


class NotAcceptable(HttpError):
    status = 406


class ContentTooLarge(HttpError):
    status = 413


class UnsupportedMediaType(HttpError):
    status = 415


class HeaderFieldsTooLarge(HttpError):
    status = 431


class InternalError(HttpError):
    status = 500


class BadGateway(HttpError):
    status = 502


class ServiceUnavailable(HttpError):
    status = 503
