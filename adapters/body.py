"""An upstream's answer, read within a size cap.

`CappedTransport` sits under the client's retries and hands up responses whose body stream
stops at `limit` bytes: a declared `Content-Length` over the cap is refused before a byte of
the body is read, and a body without one (chunked, or until the connection closes) is stopped
as soon as it passes the cap. The cap counts the body as it arrives and again once decompressed
(gzip or deflate, decompressed here a piece at a time, so that a small compressed body that
inflates to gigabytes is stopped at the cap too). Reading past the cap raises `BodyTooLarge`,
an encoding the gateway did not ask for or a corrupt one `UndecodableBody`; neither is an
`httpx.HTTPError`, so no retry repeats the request.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

import httpx

# What the clients ask for in Accept-Encoding, and all that they decompress.
ACCEPT_ENCODING = "gzip, deflate"
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_DROPPED = frozenset({b"content-encoding", b"content-length"})
_KIB = 1024
_MIB = 1024 * _KIB


class BodyTooLarge(Exception):  # noqa: N818 - named as what the upstream did
    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is over {size_text(limit)}")
        self.limit = limit


class UndecodableBody(Exception):  # noqa: N818 - named as what the upstream did
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def size_text(size: int) -> str:
    """A byte count as a person reads it: "8 MiB", "512 KiB", "1000 bytes"."""
    if size >= _MIB and size % _MIB == 0:
        return f"{size // _MIB} MiB"
    if size >= _KIB and size % _KIB == 0:
        return f"{size // _KIB} KiB"
    return f"{size} byte{'s' * (size != 1)}"


class _CappedStream(httpx.AsyncByteStream):
    def __init__(self, response: httpx.Response, limit: int) -> None:
        self._response = response
        self._limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        limit, headers = self._limit, self._response.headers
        declared = headers.get("Content-Length", "").strip()
        if declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(limit)
        encoding = headers.get("Content-Encoding", "identity").strip().lower() or "identity"
        if encoding != "identity" and encoding not in _WBITS:
            raise UndecodableBody(f"the body is in an encoding it was not asked for ({encoding})")
        inflate = zlib.decompressobj(_WBITS[encoding]) if encoding in _WBITS else None
        arrived = kept = 0
        stream = self._response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        async for chunk in stream:
            arrived += len(chunk)
            if arrived > limit:
                raise BodyTooLarge(limit)
            if inflate is not None:
                # At most one byte past the room left: enough to tell that the cap is passed.
                chunk = _inflate(inflate, chunk, limit - kept + 1, encoding)
            kept += len(chunk)
            if kept > limit:
                raise BodyTooLarge(limit)
            if chunk:
                yield chunk
        if inflate is not None:
            rest = _inflate(inflate, b"", limit - kept + 1, encoding)
            if kept + len(rest) > limit:
                raise BodyTooLarge(limit)
            if rest:
                yield rest

    async def aclose(self) -> None:
        await self._response.aclose()


def _inflate(inflate: zlib._Decompress, data: bytes, room: int, encoding: str) -> bytes:
    """What `data` inflates to, at most `room` bytes; no data: what is left to flush."""
    try:
        return inflate.decompress(data, room) if data else inflate.flush(room)
    except zlib.error:
        raise UndecodableBody(f"the body is not valid {encoding}") from None


class CappedTransport(httpx.AsyncBaseTransport):
    """Responses of `inner` whose bodies are read within `limit` bytes (see the module)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, limit: int) -> None:
        if limit < 1:
            raise ValueError("the body cap must be at least 1 byte")
        self._inner = inner
        self._limit = limit

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        # Decompressed here: the response handed up carries the body as it is decoded.
        headers = [(k, v) for k, v in response.headers.raw if k.lower() not in _DROPPED]
        return httpx.Response(
            response.status_code,
            headers=headers,
            stream=_CappedStream(response, self._limit),
            request=request,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()
