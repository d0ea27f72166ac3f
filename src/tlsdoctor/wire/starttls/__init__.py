"""STARTTLS preambles as sans-IO state machines: the plaintext a client must speak before TLS can start.

One import point. ``machine_for(protocol, servername)`` gives a fresh machine; feed it the server's bytes
with ``receive_data`` (``b""`` on EOF) and act on ``next_event()``:

- :class:`Send` — write these bytes;
- :class:`Received` — what the server said, as text (for the transcript);
- :data:`NEED_DATA` — read more and feed it;
- a terminal event, repeated from then on: :class:`Ready` (the next bytes are the ClientHello),
  :class:`Refused` (the server speaks the protocol but will not start TLS), :class:`NotThisProtocol`
  (its first bytes are something else), :class:`Malformed` (it broke the protocol or a cap),
  :class:`Closed` (EOF while waiting).

Every line, packet and the whole preamble (``MAX_PREAMBLE_BYTES``) are capped.
"""

from __future__ import annotations

from tlsdoctor.wire.starttls.base import (
    MAX_PREAMBLE_BYTES,
    NEED_DATA,
    Closed,
    Event,
    Malformed,
    NotThisProtocol,
    Preamble,
    Ready,
    Received,
    Refused,
    Send,
    Terminal,
    printable,
)
from tlsdoctor.wire.starttls.binary import Ldap, Mysql, Postgres
from tlsdoctor.wire.starttls.lines import Ftp, Imap, Pop3, Smtp
from tlsdoctor.wire.starttls.xmpp import Xmpp

# The --starttls values, in the order the CLI lists them (contract/cli.md).
MACHINES: dict[str, type[Preamble]] = {
    "smtp": Smtp,
    "imap": Imap,
    "pop3": Pop3,
    "ftp": Ftp,
    "ldap": Ldap,
    "xmpp": Xmpp,
    "postgres": Postgres,
    "mysql": Mysql,
}
PROTOCOLS: tuple[str, ...] = tuple(MACHINES)


def machine_for(protocol: str, servername: str | None = None) -> Preamble:
    """A fresh machine for ``protocol`` (a key of MACHINES); ``servername`` is used where the protocol
    names the server (the XMPP stream's ``to``). ValueError for an unknown protocol: a caller's bug."""
    try:
        return MACHINES[protocol](servername)
    except KeyError:
        expected = ", ".join(PROTOCOLS)
        raise ValueError(f"unknown STARTTLS protocol {protocol!r}; expected one of {expected}") from None


def label(protocol: str) -> str:
    """The protocol's display name (``postgres`` -> ``PostgreSQL``), or the id itself when unknown."""
    machine = MACHINES.get(protocol)
    return machine.label if machine is not None else protocol


__all__ = [
    "MACHINES",
    "MAX_PREAMBLE_BYTES",
    "NEED_DATA",
    "PROTOCOLS",
    "Closed",
    "Event",
    "Ftp",
    "Imap",
    "Ldap",
    "Malformed",
    "Mysql",
    "NotThisProtocol",
    "Pop3",
    "Postgres",
    "Preamble",
    "Ready",
    "Received",
    "Refused",
    "Send",
    "Smtp",
    "Terminal",
    "Xmpp",
    "label",
    "machine_for",
    "printable",
]
