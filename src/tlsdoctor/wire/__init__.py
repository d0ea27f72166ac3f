"""Sans-IO TLS codec: bytes in, values and events out (no sockets, clocks or logging).

Import from the modules: ``reader`` (DecodeError, Reader), ``writer``, ``codepoints``
(open enums), ``registry`` (IANA tables), ``records``, ``extensions``, ``handshake``,
``server_messages``, ``hello`` + ``variants`` (ClientHello building), ``keyshares``,
``conversation`` (ClientConversation). ``DecodeError`` is the only exception raised on
peer data.

Parsed records, messages and extensions, conversation events and registry rows are
``NamedTuple``s: immutable like frozen dataclasses, and a tenth of their cost to define (a
scan's process defines some fifty of these types before its first probe; a frozen slotted
dataclass costs ~1.3 ms on CPython 3.11). Match them by type, never by truth or tuple
equality: a value without fields (ServerHelloDoneEvent, ExtendedMasterSecret) is an empty
tuple. An extension's type code is a property, as a NamedTuple holds no class constants.
"""
