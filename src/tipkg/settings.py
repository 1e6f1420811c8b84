"""The one registry of every setting: its default, its type, and a line that says what it does.

Each setting can be overridden from the environment (``TIPKG_<NAME>``) and from the CLI.
The README lists them all; ``tests/test_settings.py`` fails when one is undocumented.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from tipkg.errors import InputError


@dataclass(frozen=True)
class Setting:
    """One declared setting."""

    name: str
    default: Any
    parse: Callable[[str], Any]
    description: str

    @property
    def env_var(self) -> str:
        return "TIPKG_" + self.name.upper()


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


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "base_iri",
        "https://w3id.org/tipkg/",
        _parse_base_iri,
        "Base IRI every minted resource, graph and ontology term lives under.",
    ),
    Setting("host", "127.0.0.1", str, "Address `tipkg serve` binds to (loopback by default)."),
    Setting("port", 8080, int, "TCP port `tipkg serve` listens on."),
    Setting(
        "public_url",
        "",
        str,
        "URL the server is reached at, if not http://HOST:PORT/ (e.g. behind a proxy).",
    ),
    Setting(
        "query_timeout",
        10.0,
        float,
        "Seconds a SPARQL query may run before it is stopped and answered with 503.",
    ),
    Setting(
        "max_rows",
        10_000,
        int,
        "Most result rows (or triples) a query returns; more are cut and the cut is signalled.",
    ),
    Setting("max_query_bytes", 20_000, int, "Largest SPARQL query text accepted, in bytes."),
    Setting("max_body_bytes", 100_000, int, "Largest HTTP request body accepted, in bytes."),
    Setting(
        "max_concurrent_queries",
        4,
        int,
        "SPARQL queries evaluated at once (worker processes); more wait their turn.",
    ),
    Setting(
        "federation", False, _parse_bool, "Allow SPARQL SERVICE calls at all (off by default)."
    ),
    Setting(
        "federation_allow",
        (),
        _parse_list,
        "Comma-separated endpoint URLs SERVICE may call when federation is on.",
    ),
    Setting("gzip_min_bytes", 1_000, int, "Responses larger than this are gzip-compressed."),
    Setting(
        "query_cache_bytes",
        64 * 1024 * 1024,
        int,
        "Memory for cached SPARQL answers (the data is immutable per build); 0 turns it off.",
    ),
)

SETTINGS_BY_NAME: Mapping[str, Setting] = {setting.name: setting for setting in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """Resolved values: defaults, then environment, then explicit overrides (the CLI)."""

    base_iri: str = SETTINGS_BY_NAME["base_iri"].default
    host: str = SETTINGS_BY_NAME["host"].default
    port: int = SETTINGS_BY_NAME["port"].default
    public_url: str = SETTINGS_BY_NAME["public_url"].default
    query_timeout: float = SETTINGS_BY_NAME["query_timeout"].default
    max_rows: int = SETTINGS_BY_NAME["max_rows"].default
    max_query_bytes: int = SETTINGS_BY_NAME["max_query_bytes"].default
    max_body_bytes: int = SETTINGS_BY_NAME["max_body_bytes"].default
    max_concurrent_queries: int = SETTINGS_BY_NAME["max_concurrent_queries"].default
    federation: bool = SETTINGS_BY_NAME["federation"].default
    federation_allow: tuple[str, ...] = field(default=SETTINGS_BY_NAME["federation_allow"].default)
    gzip_min_bytes: int = SETTINGS_BY_NAME["gzip_min_bytes"].default
    query_cache_bytes: int = SETTINGS_BY_NAME["query_cache_bytes"].default
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
        for setting in SETTINGS:
            raw = environ.get(setting.env_var)
            if raw is not None:
                values[setting.name] = _convert(setting, raw, source=setting.env_var)
        for name, value in (overrides or {}).items():
            if value is None:
                continue
            setting = SETTINGS_BY_NAME[name]
            values[name] = (
                _convert(setting, value, source=f"--{name.replace('_', '-')}")
                if isinstance(value, str)
                else value
            )
        return cls(**values, explicit=frozenset(values))


def _convert(setting: Setting, raw: str, source: str) -> Any:
    try:
        return setting.parse(raw)
    except ValueError as error:
        raise InputError(f"{source}: {error}") from None


assert {f.name for f in fields(Settings)} - {"explicit"} == set(SETTINGS_BY_NAME), (
    "registry and Settings differ"
)
