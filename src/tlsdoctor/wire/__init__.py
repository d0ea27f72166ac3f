"""Sans-IO TLS codec: bytes in, values and events out (no sockets, clocks or logging).

Import from the modules: ``reader`` (DecodeError, Reader), ``writer``, ``codepoints``
(open enums), ``registry`` (IANA tables), ``records``, ``extensions``, ``handshake``,
``server_messages``, ``hello`` + ``variants`` (ClientHello building), ``keyshares``,
``conversation`` (ClientConversation). ``DecodeError`` is the only exception raised on
peer data.
"""
