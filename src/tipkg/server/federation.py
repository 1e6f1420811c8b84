"""The SERVICE guard: with federation off no query may call out, and with it on only the
allowed endpoints, named so that a DNS answer cannot turn them into a door to the local network.

It runs in the query worker, on the normalised text pyoxigraph then evaluates
(:mod:`.querytext`). With federation off it is the first of two walls: the worker processes
also have no network at all (:mod:`.isolation`).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from tipkg.server.errors import one_line
from tipkg.server.querytext import QueryText
from tipkg.settings import Settings


def federation_refusal(query: QueryText, settings: Settings) -> str | None:
    """Why this query's SERVICE calls are refused, or ``None`` when it may run.

    Only a text in which the engine could read the SERVICE keyword is parsed (with rdflib,
    whose algebra names every SERVICE endpoint); one that rdflib cannot parse is refused.
    """
    if not query.may_call_service:
        return None
    try:
        endpoints = query.service_endpoints()
    except Exception as error:  # rdflib's parser raises several types
        return f"cannot check this query's SERVICE calls: {one_line(str(error))}"
    for endpoint in endpoints:
        if not settings.federation:
            return "SERVICE is disabled on this server (federation is off)"
        if endpoint is None:
            return "SERVICE with a variable endpoint is refused: name the endpoint"
        if endpoint not in settings.federation_allow:
            return f"SERVICE <{endpoint}> is not in the allowed endpoints (federation_allow)"
        refusal = private_address_refusal(endpoint)
        if refusal is not None:
            return refusal
    return None


def private_address_refusal(endpoint: str) -> str | None:
    """Refuse an allowed endpoint named by host name that resolves to a loopback or private
    address: such endpoints must be listed by IP address, so a DNS answer cannot turn an
    allowed public name into a door to the local network."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"SERVICE <{endpoint}> is not an http(s) URL"
    try:
        ipaddress.ip_address(parts.hostname)
    except ValueError:
        pass
    else:
        return None  # listed by IP address: the operator chose it deliberately
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 80)}
    except OSError as error:
        return f"SERVICE <{endpoint}>: cannot resolve {parts.hostname} ({error})"
    for address in sorted(addresses):
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            return (
                f"SERVICE <{endpoint}>: {parts.hostname} resolves to the non-public address "
                f"{ip}; list the endpoint by IP address to allow it"
            )
    return None
