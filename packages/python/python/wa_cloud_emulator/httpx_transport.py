"""Send an httpx-based Graph client (pywa, ...) to the emulator without changing its code.

Clients such as pywa build every URL on ``https://graph.facebook.com`` but accept an
``httpx.Client`` of your own. These transports rewrite the scheme, host and port of requests
for ``graph.facebook.com`` to the emulator's ``base_url`` (path and query unchanged, the
``Host`` header kept, so paging links stay on ``graph.facebook.com`` and come back here too)
and leave every other request alone. Needs ``httpx``, which is not a dependency of this package.

>>> import httpx, pywa                                                    # doctest: +SKIP
>>> from wa_cloud_emulator.httpx_transport import EmulatorTransport
>>> session = httpx.Client(transport=EmulatorTransport(emulator.base_url))
>>> wa = pywa.WhatsApp(phone_id=emulator.phone_number_id, token=emulator.token, session=session)
"""

from __future__ import annotations

from typing import Optional, Sequence

import httpx

__all__ = ["GRAPH_HOSTS", "AsyncEmulatorTransport", "EmulatorTransport", "rewrite"]

#: Hosts whose requests go to the emulator.
GRAPH_HOSTS: Sequence[str] = ("graph.facebook.com",)


def rewrite(request: httpx.Request, base_url: httpx.URL, hosts: Sequence[str] = GRAPH_HOSTS) -> httpx.Request:
    """Points ``request`` at ``base_url`` when its host is one of ``hosts``."""
    if request.url.host in hosts:
        request.url = request.url.copy_with(scheme=base_url.scheme, host=base_url.host, port=base_url.port)
    return request


class EmulatorTransport(httpx.BaseTransport):
    """A synchronous transport that sends Graph requests to the emulator."""

    def __init__(
        self,
        base_url: str,
        *,
        hosts: Sequence[str] = GRAPH_HOSTS,
        inner: Optional[httpx.BaseTransport] = None,
    ) -> None:
        self.base_url = httpx.URL(base_url)
        self.hosts = tuple(hosts)
        self.inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(rewrite(request, self.base_url, self.hosts))

    def close(self) -> None:
        self.inner.close()


class AsyncEmulatorTransport(httpx.AsyncBaseTransport):
    """The asynchronous variant (``httpx.AsyncClient``, e.g. ``pywa_async``)."""

    def __init__(
        self,
        base_url: str,
        *,
        hosts: Sequence[str] = GRAPH_HOSTS,
        inner: Optional[httpx.AsyncBaseTransport] = None,
    ) -> None:
        self.base_url = httpx.URL(base_url)
        self.hosts = tuple(hosts)
        self.inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(rewrite(request, self.base_url, self.hosts))

    async def aclose(self) -> None:
        await self.inner.aclose()
