"""XMPP STARTTLS: stream header, <stream:features> with <starttls/>, <starttls/>, <proceed/> (RFC 6120 §5.4).

The stream is one XML document that never closes, read with the standard library's incremental
``XMLPullParser`` (pure: it is fed bytes, it yields elements). RFC 6120 §11.1 forbids DTDs, comments and
entity declarations in a stream, so any ``<!`` ends the exchange before expat sees it: no entity
expansion, whatever the server sends. The byte cap of the preamble bounds the rest.
"""

from __future__ import annotations

from collections.abc import Generator
from xml.etree.ElementTree import Element, ParseError, XMLPullParser

from tlsdoctor.wire.starttls.base import (
    Closed,
    Malformed,
    Preamble,
    Received,
    Refused,
    Script,
    Send,
    _End,
    _Want,
    printable,
)

STREAMS = "{http://etherx.jabber.org/streams}"
TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls"
TLS = "{" + TLS_NS + "}"
STANZAS = "urn:ietf:params:xml:ns:xmpp-streams"
STARTTLS_COMMAND = f"<starttls xmlns='{TLS_NS}'/>".encode()


def stream_header(domain: str | None) -> bytes:
    """The initial stream header of a client (RFC 6120 §4.7); ``to`` names the XMPP domain when known."""
    to = f" to='{_attr(domain)}'" if domain else ""
    return (
        f"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
        f"xmlns:stream='http://etherx.jabber.org/streams'{to} version='1.0'>"
    ).encode()


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace("'", "&apos;").replace("<", "&lt;")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class Xmpp(Preamble):
    """XMPP client-to-server STARTTLS. ``servername`` is the XMPP domain for the stream's ``to``."""

    protocol = "xmpp"
    label = "XMPP"

    def __init__(self, servername: str | None = None) -> None:
        self._parser: XMLPullParser[Element] = XMLPullParser(events=("start", "end"))
        self._depth = 0
        self._last = b""
        super().__init__(servername)

    def _next(self) -> Generator[_Want, None, Element]:
        """The root once its start tag is complete, then each complete child of the root."""
        while True:
            try:
                for event in self._parser.read_events():
                    kind, element = event[0], event[-1]
                    if not isinstance(element, Element):
                        continue
                    if kind == "start":
                        self._depth += 1
                        if self._depth == 1:
                            return element
                    else:
                        self._depth -= 1
                        if self._depth == 1:
                            return element
                        if self._depth == 0:
                            raise _End(Closed("more of the stream (the server closed </stream:stream>)"))
            except ParseError as exc:
                raise self._not_this(f"not well-formed XML ({exc})") from None
            if self._buffer:
                data = bytes(self._buffer)
                self._buffer.clear()
                if b"<!" in self._last + data:  # a DTD, entity or comment: forbidden (RFC 6120 §11.1)
                    raise self._not_this("a DTD, entity declaration or comment in the stream")
                self._last = data[-1:]
                if not self._greeted and data.lstrip()[:1] not in (b"", b"<"):
                    raise self._not_this("not XML")
                try:
                    self._parser.feed(data)
                except ParseError as exc:
                    raise self._not_this(f"not well-formed XML ({exc})") from None
                continue
            if self._eof:
                raise _End(Closed(self.stage))
            yield _Want.MORE

    def _script(self) -> Script:
        self.stage = "the server's stream header"
        yield Send(stream_header(self.servername))
        root = yield from self._next()
        if root.tag != STREAMS + "stream":
            raise self._not_this(f"the root element is <{_local(root.tag)}>, not <stream:stream>")
        self._greeted = True
        yield Received(
            f"stream header from={printable(root.get('from', '').encode(), 80)} "
            f"version={printable(root.get('version', '').encode(), 10)}"
        )
        self.stage = "the stream features"
        element = yield from self._next()
        if element.tag == STREAMS + "error":
            return self._stream_error(element)
        if element.tag != STREAMS + "features":
            if not root.get("version"):  # pre-1.0 servers send no features (RFC 6120 §4.7.5)
                return Refused("the server speaks pre-1.0 XMPP, which has no STARTTLS")
            return Malformed(f"<{_local(element.tag)}> where <stream:features> was expected")
        offer = element.find(TLS + "starttls")
        self.advertised = offer is not None
        names = " ".join(_local(child.tag) for child in element)
        yield Received(f"features: {printable(names.encode())}")
        if offer is None:  # a client must not ask for what is not offered (RFC 6120 §5.4.2.1)
            return Refused("the stream features do not offer <starttls/>", names)
        self.stage = "the answer to <starttls/>"
        yield Send(STARTTLS_COMMAND)
        element = yield from self._next()
        yield Received(f"STARTTLS: <{_local(element.tag)}/>")
        if element.tag == TLS + "proceed":
            return self._ready()
        if element.tag == TLS + "failure":
            return Refused("the server answered <failure/> to <starttls/>", "failure")
        if element.tag == STREAMS + "error":
            return self._stream_error(element)
        return Malformed(f"<{_local(element.tag)}> where <proceed/> or <failure/> was expected")

    def _stream_error(self, element: Element) -> Refused:
        """A stream error and its defined condition (RFC 6120 §4.9.3), e.g. host-unknown."""
        defined = [c.tag for c in element if c.tag.startswith("{" + STANZAS)]
        conditions = [_local(tag) for tag in defined if _local(tag) != "text"]
        condition = conditions[0] if conditions else "undefined-condition"
        return Refused(f"the server ended the stream with the error <{condition}/>", condition)
