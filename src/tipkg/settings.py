"""The one registry of every setting: its default, its type, and a line that says what it does.

Each setting is declared once, as a field of :class:`Settings` made by :func:`setting`: its
default, its type (that of the default) and its description. ``SETTINGS`` is read from those
fields; from it the environment (``TIPKG_<NAME>``) and the CLI (one typed option each) are
derived, and ``tests/test_settings.py`` checks the README's table against it. A secret (a
password, a token) is read from the environment only, never from the command line (which every
user of the machine can read), and never shown.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from tipkg.errors import InputError

T = TypeVar("T")


@dataclass(frozen=True)
class Setting:
    """One declared setting, as the environment, the CLI and the README see it."""

    name: str
    default: Any
    parse: Callable[[str], Any]
    description: str
    secret: bool = False

    @property
    def env_var(self) -> str:
        return "TIPKG_" + self.name.upper()

    @property
    def option(self) -> str:
        """Its command-line option (``--max-rows``)."""
        return "--" + self.name.replace("_", "-")

    @property
    def kind(self) -> type:
        """The type of its values: that of its default."""
        return type(self.default)


def _parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def _parse_list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _parse_base_iri(text: str) -> str:
    if not (text.startswith("http://") or text.startswith("https://")) or not text.endswith("/"):
        raise ValueError(f"a base IRI must be http(s) and end with '/', got {text!r}")
    return text


PARSERS: dict[type, Callable[[str], Any]] = {
    bool: _parse_bool,
    int: int,
    float: float,
    str: str,
    tuple: _parse_list,
}


def setting(
    default: T, description: str, parse: Callable[[str], T] | None = None, secret: bool = False
) -> T:
    """A field of :class:`Settings` that is a setting; text from the environment or the CLI is
    read with ``parse`` (by default, the parser of the default's type). A ``secret`` has no CLI
    option and is left out of the settings' ``repr``."""
    reader = parse or PARSERS[type(default)]
    metadata = {"description": description, "parse": reader, "secret": secret}
    return field(default=default, metadata=metadata, repr=not secret)


@dataclass(frozen=True)
class Settings:
    """Resolved values: defaults, then environment, then explicit overrides (the CLI)."""

    base_iri: str = setting(
        "https://w3id.org/tipkg/",
        "Base IRI every minted resource, graph and ontology term lives under.",
        _parse_base_iri,
    )
    build_jobs: int = setting(
        0, "Processes that assemble reports in parallel in a build (0: one per CPU core)."
    )
    cache_dir: str = setting(
        "", "Where a build keeps each report's results for the next (default: PROJECT/build/cache)."
    )
    host: str = setting("127.0.0.1", "Address `tipkg serve` binds to (loopback by default).")
    port: int = setting(8080, "TCP port `tipkg serve` listens on.")
    public_url: str = setting(
        "", "URL the server is reached at, if not its base IRI (e.g. behind a proxy)."
    )
    trusted_hosts: tuple[str, ...] = setting(
        (), "Comma-separated Host values (host or host:port) pages may take their URLs from."
    )
    query_timeout: float = setting(
        10.0, "Seconds a SPARQL query may run before it is stopped and answered with 503."
    )
    max_rows: int = setting(
        10_000,
        "Most result rows (or triples) a query returns; more are cut and the cut is signalled.",
    )
    max_response_bytes: int = setting(
        16 * 1024 * 1024,
        "Largest SPARQL answer sent, in bytes; rows past it are cut and the cut is signalled.",
    )
    max_query_bytes: int = setting(20_000, "Largest SPARQL query text accepted, in bytes.")
    max_body_bytes: int = setting(100_000, "Largest HTTP request body accepted, in bytes.")
    max_url_bytes: int = setting(
        65_536, "Longest request line (method, path and query string) accepted, in bytes (414)."
    )
    max_header_bytes: int = setting(
        32_768, "Most bytes of request header names and values accepted, in all (431)."
    )
    max_headers: int = setting(100, "Most request header fields accepted (431).")
    max_accept_bytes: int = setting(2_048, "Longest Accept header accepted, in bytes (431).")
    max_accept_ranges: int = setting(50, "Most media ranges an Accept header may list (431).")
    max_connections: int = setting(
        1_000,
        "Open connections at once; past it the longest idle is closed, or 503 if none is idle.",
    )
    request_read_timeout: float = setting(
        10.0, "Seconds a client has to send a whole request once it connects or starts one (408)."
    )
    keep_alive_timeout: float = setting(
        5.0, "Seconds an idle connection is kept open for the client's next request."
    )
    max_concurrent_queries: int = setting(
        4, "SPARQL queries evaluated at once (worker processes); more wait their turn."
    )
    federation: bool = setting(False, "Allow SPARQL SERVICE calls at all (off by default).")
    federation_allow: tuple[str, ...] = setting(
        (), "Comma-separated endpoint URLs SERVICE may call when federation is on."
    )
    gzip_min_bytes: int = setting(1_000, "Responses larger than this are gzip-compressed.")
    query_cache_bytes: int = setting(
        64 * 1024 * 1024,
        "Memory for cached SPARQL answers (the data is immutable per build); 0 turns it off.",
    )
    publish_connections: int = setting(
        4, "Graphs `tipkg publish` sends to the store at once (HTTP connections)."
    )
    publish_timeout: float = setting(
        120.0, "Seconds `tipkg publish` waits for the store to answer one request."
    )
    publish_retries: int = setting(
        5, "Times `tipkg publish` retries a request after a 5xx, a 429 or a connection error."
    )
    publish_backoff: float = setting(
        0.5, "Seconds `tipkg publish` waits before its first retry; each further wait doubles."
    )
    publish_retry_seconds: float = setting(
        60.0, "Most seconds one request may spend waiting to be retried before the publish fails."
    )
    publish_user: str = setting(
        "", "User name for HTTP Basic authentication to the store.", secret=True
    )
    publish_password: str = setting(
        "", "Password for HTTP Basic authentication to the store.", secret=True
    )
    publish_token: str = setting(
        "", "Bearer token for the store (instead of a user name and password).", secret=True
    )
    # Names set by the environment or an override rather than defaulted: a server must know
    # whether a base IRI was asked for, even when it equals the default.
    explicit: frozenset[str] = frozenset()

    @classmethod
    def load(
        cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Resolve every setting; a malformed value is an ``InputError`` naming its source."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for declared in SETTINGS:
            raw = environ.get(declared.env_var)
            if raw is not None:
                values[declared.name] = _convert(declared, raw, source=declared.env_var)
        for name, value in (overrides or {}).items():
            if value is None:
                continue
            declared = SETTINGS_BY_NAME[name]
            values[name] = (
                _convert(declared, value, source=declared.option)
                if isinstance(value, str)
                else value
            )
        return cls(**values, explicit=frozenset(values))


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(f.name, f.default, f.metadata["parse"], f.metadata["description"], f.metadata["secret"])
    for f in fields(Settings)
    if "description" in f.metadata
)
SETTINGS_BY_NAME: Mapping[str, Setting] = {setting.name: setting for setting in SETTINGS}


def _convert(declared: Setting, raw: str, source: str) -> Any:
    try:
        return declared.parse(raw)
    except ValueError as error:
        raise InputError(f"{source}: {error}") from None
