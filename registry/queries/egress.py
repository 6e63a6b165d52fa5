"""Where the exchange may reach provider nodes: an allow-list of networks and host names, and one guarded
fetch of a node's `GET /identity` (no redirects, a short timeout, a size cap, the checked address pinned).

Registration (and listing, which asks the registered node again: `registry.queries.serving`) are the only
requests the exchange makes to a URL a participant chose, so they are where a server-side request forgery
would start. Every failure, whatever its cause (address not allowed, no
answer, a redirect, a non-JSON or oversized answer, an identity that does not match), is reported as
the one `NodeUnverified` error, so the answer tells a caller nothing about the exchange's network.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

IDENTITY_TIMEOUT = 3.0
MAX_IDENTITY_BYTES = 16 * 1024

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

LOOPBACK: tuple[IPNetwork, ...] = tuple(ipaddress.ip_network(n) for n in ("127.0.0.0/8", "::1/128"))
# Never reachable, whatever the allow-list says: unspecified, link-local (cloud metadata), multicast.
NEVER: tuple[IPNetwork, ...] = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "::/128", "fe80::/10", "ff00::/8"))


def _within(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def _overlaps(net: IPNetwork, others: Iterable[IPNetwork]) -> bool:
    return any(net.version == o.version and net.overlaps(o) for o in others)


class NodeUnverified(Exception):
    """The node could not be reached at an allowed address or did not prove its identity."""


@dataclass(frozen=True)
class NodeAddressPolicy:
    """Networks (CIDR) and host names provider nodes may be registered at; loopback only in dev."""

    networks: tuple[IPNetwork, ...]
    hosts: frozenset[str]

    @classmethod
    def from_settings(cls, allow: Iterable[str], dev: bool) -> NodeAddressPolicy:
        """`allow` entries are CIDR networks or host names. Outside dev, loopback entries are dropped."""
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in (e.strip() for e in allow if e.strip()):
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        if dev:
            networks += LOOPBACK
        else:
            networks = [n for n in networks if not _overlaps(n, LOOPBACK)]
        return cls(tuple(networks), frozenset(hosts))

    def address_allowed(self, address: IPAddress) -> bool:
        return not _within(address, NEVER) and _within(address, self.networks)

    def resolve(self, host: str, port: int) -> IPAddress:
        """The address to connect to. Every address `host` resolves to must be allowed, unless `host` is an
        allowed name; even then never a NEVER address, and loopback only when loopback is allowed (dev)."""
        name = host.lower().rstrip(".")
        try:
            infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
            addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        except (OSError, UnicodeError, ValueError) as exc:
            raise NodeUnverified from exc
        if not addresses:
            raise NodeUnverified
        for a in addresses:
            named_ok = name in self.hosts and not _within(a, NEVER) and (
                not _within(a, LOOPBACK) or _within(a, self.networks))
            if not (named_ok or self.address_allowed(a)):
                raise NodeUnverified
        return addresses[0]


def fetch_identity(url: str, policy: NodeAddressPolicy) -> dict[str, Any]:
    """GET <url>/identity at an allowed, pinned address; NodeUnverified for any failure."""
    return fetch_node_json(url, "/identity", policy)


def fetch_node_json(url: str, path: str, policy: NodeAddressPolicy) -> dict[str, Any]:
    """GET <url><path> (a JSON object) at an allowed, pinned address; NodeUnverified for any failure."""
    try:
        target = httpx.URL(url.rstrip("/") + path)
        if target.scheme not in ("http", "https") or not target.host or target.userinfo:
            raise NodeUnverified
        port = target.port or (443 if target.scheme == "https" else 80)
        address = policy.resolve(target.host, port)
        pinned = target.copy_with(host=str(address))
        headers = {"Host": target.netloc.decode("ascii"), "Accept": "application/json"}
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        with httpx.Client(follow_redirects=False, timeout=IDENTITY_TIMEOUT, trust_env=False) as client, \
                client.stream("GET", pinned, headers=headers, extensions=extensions) as r:
            if r.status_code != 200:
                raise NodeUnverified
            body = b""
            for chunk in r.iter_bytes():
                body += chunk
                if len(body) > MAX_IDENTITY_BYTES:
                    raise NodeUnverified
        ident = json.loads(body)
    except NodeUnverified:
        raise
    except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError, UnicodeError) as exc:
        raise NodeUnverified from exc
    if not isinstance(ident, dict):
        raise NodeUnverified
    return ident
