"""The SERVICE guard: with federation off no query may call out, and with it on only the
allowed endpoints, named so that a DNS answer cannot turn them into a door to the local network.

It runs in the query worker, on the query text, before pyoxigraph evaluates it.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from tipkg.server.errors import one_line
from tipkg.server.published import Published


def federation_refusal(query: str, published: Published) -> str | None:
    """Why this query's SERVICE calls are refused, or ``None`` when it may run.

    Only queries that could contain SERVICE (the word, or a ``\\u`` escape that might spell it)
    are parsed with rdflib, whose algebra names every SERVICE endpoint.
    """
    lowered = query.lower()
    if "service" not in lowered and "\\u" not in lowered:
        return None
    try:
        endpoints = service_endpoints(query, published)
    except Exception as error:  # rdflib's parser raises several types
        return f"cannot check this query's SERVICE calls: {one_line(str(error))}"
    settings = published.settings
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


def service_endpoints(query: str, published: Published) -> list[str | None]:
    """Every SERVICE endpoint IRI in ``query`` (``None`` for a variable endpoint)."""
    from rdflib import URIRef
    from rdflib.plugins.sparql.algebra import translateQuery, traverse
    from rdflib.plugins.sparql.parser import parseQuery
    from rdflib.plugins.sparql.parserutils import CompValue

    algebra = translateQuery(parseQuery(query), base=published.base_iri, initNs=published.prefixes)
    endpoints: list[str | None] = []

    def visit(node: Any) -> None:
        if isinstance(node, CompValue) and node.name == "ServiceGraphPattern":
            endpoints.append(str(node.term) if isinstance(node.term, URIRef) else None)

    traverse(algebra.algebra, visitPre=visit)
    return endpoints


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
