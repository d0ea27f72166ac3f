"""Sans-IO TLS codec: bytes in, values and events out (no sockets, clocks or logging).

Import from the modules: ``reader`` (DecodeError, Reader), ``writer``, ``codepoints``
(open enums), ``registry`` (IANA tables), ``records``, ``extensions``, ``handshake``,
``server_messages``, ``hello`` + ``variants`` (ClientHello building), ``keyshares``,
``conversation`` (ClientConversation). ``DecodeError`` is the only exception raised on
peer data.

Parsed records and messages, conversation events and registry rows are ``NamedTuple``s:
immutable like frozen dataclasses, and a tenth of their cost to define (a scan's process
defines some thirty of these types before its first probe; a frozen slotted dataclass costs
~1.3 ms on CPython 3.11). Match them by type, never by truth or tuple equality: an event
without fields is an empty tuple. Extensions stay dataclasses: each carries its type code as
a ``ClassVar``, which a NamedTuple cannot hold.
"""
