"""The STARTTLS state machines (wire/starttls): golden exchanges per protocol, fed whole and byte by byte,
with trailing data; refusals; other protocols; hostile servers (endless banners, huge packets) -> bounded."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlsdoctor.wire.starttls import (
    MAX_PREAMBLE_BYTES,
    NEED_DATA,
    PROTOCOLS,
    Closed,
    Malformed,
    NotThisProtocol,
    Ready,
    Received,
    Refused,
    Send,
    Terminal,
    machine_for,
)
from tlsdoctor.wire.starttls.binary import LDAP_START_TLS, PG_SSL_REQUEST, mysql_ssl_request
from tlsdoctor.wire.starttls.xmpp import STARTTLS_COMMAND, stream_header

# A golden exchange: (what the server sends at that point, what the client must send next).
# Server chunks are fed when the machine asks for data; each client message is checked when it comes.
Exchange = Sequence[tuple[bytes, bytes]]


def run(
    proto: str,
    exchange: Exchange,
    *,
    bytewise: bool = False,
    eof: bool = True,
    servername: str | None = "example.test",
) -> tuple[Terminal, list[bytes], list[str]]:
    """Play the server's side; return the terminal event, what the client sent, and what it noted."""
    machine = machine_for(proto, servername)
    chunks = [server for server, _ in exchange if server]
    sent: list[bytes] = []
    notes: list[str] = []
    steps = 0
    while True:
        steps += 1
        assert steps < 200_000, "the machine does not make progress"
        event = machine.next_event()
        if event is NEED_DATA:
            if not chunks:
                assert eof, "the machine wanted more than the exchange holds"
                machine.receive_data(b"")
                continue
            chunk = chunks.pop(0)
            for piece in [chunk[i : i + 1] for i in range(len(chunk))] if bytewise else [chunk]:
                machine.receive_data(piece)
        elif isinstance(event, Send):
            sent.append(event.data)
        elif isinstance(event, Received):
            notes.append(event.text)
        else:
            assert machine.next_event() == event, "a terminal event repeats"
            return event, sent, notes


def expected_sends(exchange: Exchange) -> list[bytes]:
    return [client for _, client in exchange if client]


SMTP = [
    (b"", b""),
    (b"220 mail.test ESMTP Postfix\r\n", b"EHLO tlsdoctor.invalid\r\n"),
    (
        b"250-mail.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250 8BITMIME\r\n",
        b"STARTTLS\r\n",
    ),
    (b"220 2.0.0 Ready to start TLS\r\n", b""),
]
IMAP = [
    (b"", b""),
    (
        b"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS STARTTLS LOGINDISABLED] Dovecot ready.\r\n",
        b"A2 STARTTLS\r\n",
    ),
    (b"A2 OK Begin TLS negotiation now.\r\n", b""),
]
IMAP_ASKING = [
    (b"", b""),
    (b"* OK imap.test ready\r\n", b"A1 CAPABILITY\r\n"),
    (b"* CAPABILITY IMAP4rev1 STARTTLS\r\nA1 OK done\r\n", b"A2 STARTTLS\r\n"),
    (b"A2 OK go\r\n", b""),
]
POP3 = [
    (b"", b""),
    (b"+OK Dovecot ready.\r\n", b"CAPA\r\n"),
    (b"+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nSTLS\r\nSASL PLAIN\r\n.\r\n", b"STLS\r\n"),
    (b"+OK Begin TLS negotiation now.\r\n", b""),
]
FTP = [
    (b"", b""),
    (b"220-Welcome to ftp.test\r\n This is line two\r\n220 ProFTPD Server ready.\r\n", b"AUTH TLS\r\n"),
    (b"234 AUTH TLS successful\r\n", b""),
]
LDAP = [
    (b"", LDAP_START_TLS),
    # LDAPMessage { 1, ExtendedResponse { success, "", "", responseName 1.3.6.1.4.1.1466.20037 } }
    (bytes.fromhex("3024020101781f0a0100040004008a16") + b"1.3.6.1.4.1.1466.20037", b""),
]
XMPP_FEATURES = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    b"xmlns:stream='http://etherx.jabber.org/streams' id='c2s_1' from='example.test' version='1.0' "
    b"xml:lang='en'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
    b"</starttls><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism>"
    b"</mechanisms></stream:features>"
)
XMPP = [
    (b"", stream_header("example.test")),
    (XMPP_FEATURES, STARTTLS_COMMAND),
    (b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", b""),
]
POSTGRES = [(b"", PG_SSL_REQUEST), (b"S", b"")]
MYSQL_GREETING = bytes.fromhex(
    "4a0000"
    "00"  # length 74, sequence 0
    "0a"
    "382e302e333600"  # protocol 10, "8.0.36"
    "07000000"
    "6162636465666768"
    "00"  # connection id, auth data part 1, filler
    "ffff"
    "2d"
    "0200"
    "ff0f"
    "15"
    "00000000000000000000"  # caps low (0x800 set), charset, status, caps high
    "696a6b6c6d6e6f7071727374"
    "00"
    "63616368696e675f736861325f70617373776f726400"
)
MYSQL = [(b"", b""), (MYSQL_GREETING, mysql_ssl_request(0x0FFFFFFF))]

GOLDEN = {
    "smtp": SMTP,
    "imap": IMAP,
    "pop3": POP3,
    "ftp": FTP,
    "ldap": LDAP,
    "xmpp": XMPP,
    "postgres": POSTGRES,
    "mysql": MYSQL,
}


@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])
@pytest.mark.parametrize("proto", [*GOLDEN, "imap-asking"])
def test_golden_exchange_ends_ready(proto: str, bytewise: bool) -> None:
    name, exchange = ("imap", IMAP_ASKING) if proto == "imap-asking" else (proto, GOLDEN[proto])
    final, sent, notes = run(name, exchange, bytewise=bytewise, eof=False)
    assert final == Ready(b"")
    assert sent == expected_sends(exchange)
    assert notes, "the exchange is narrated for the transcript"


def test_every_protocol_has_a_golden_exchange() -> None:
    assert set(GOLDEN) == set(PROTOCOLS)


@pytest.mark.parametrize("proto", ["smtp", "imap", "pop3", "ftp", "ldap"])
def test_bytes_after_the_go_ahead_are_reported_not_swallowed(proto: str) -> None:
    exchange = list(GOLDEN[proto])
    exchange[-1] = (exchange[-1][0] + b"INJECTED\r\n", b"")
    final, _, _ = run(proto, exchange, eof=False)
    assert final == Ready(b"INJECTED\r\n")


def test_postgres_s_with_more_bytes_at_once_is_not_a_go_ahead() -> None:
    final, _, _ = run("postgres", [(b"", PG_SSL_REQUEST), (b"S\x16\x03\x03", b"")])
    assert isinstance(final, NotThisProtocol) and "more bytes" in final.reason


def test_mysql_ssl_request_packet() -> None:
    packet = mysql_ssl_request(0x0FFFFFFF)
    assert len(packet) == 36 and packet[:4] == b"\x20\x00\x00\x01"  # 32-byte payload, sequence 1
    flags = int.from_bytes(packet[4:8], "little")
    assert flags & 0x800 and flags & 0x200  # CLIENT_SSL, CLIENT_PROTOCOL_41
    assert packet[8:12] == (1 << 24).to_bytes(4, "little") and packet[13:] == bytes(23)


def test_ldap_request_is_the_rfc_4511_extended_request() -> None:
    assert LDAP_START_TLS.hex() == "301d02010177188016" + b"1.3.6.1.4.1.1466.20037".hex()


# -- refusals ---------------------------------------------------------------------------------------------

REFUSALS: list[tuple[str, Exchange, str]] = [
    ("postgres", [(b"", PG_SSL_REQUEST), (b"N", b"")], "does not support SSL"),
    (
        "postgres",
        [(b"", PG_SSL_REQUEST), (b"E\x00\x00\x00\x1eSFATAL\x00C08P01\x00Mbad proto\x00\x00", b"")],
        "bad proto",
    ),
    (
        "smtp",
        [
            *SMTP[:2],
            (b"250-mail.test\r\n250 8BITMIME\r\n", b"STARTTLS\r\n"),
            (b"502 5.5.1 command not implemented\r\n", b""),
        ],
        "did not advertise",
    ),
    ("smtp", [(b"", b""), (b"554 5.7.1 no service for you\r\n", b"")], "554"),
    ("smtp", [*SMTP[:3], (b"454 4.7.0 TLS not available due to local problem\r\n", b"")], "454"),
    ("imap", [(b"", b""), (b"* PREAUTH logged in as joe\r\n", b"")], "PREAUTH"),
    ("imap", [(b"", b""), (b"* BYE too many connections\r\n", b"")], "BYE"),
    ("imap", [*IMAP[:2], (b"A2 NO [UNAVAILABLE] TLS not configured\r\n", b"")], "NO"),
    (
        "pop3",
        [
            (b"", b""),
            (b"+OK hi\r\n", b"CAPA\r\n"),
            (b"-ERR unknown\r\n", b"STLS\r\n"),
            (b"-ERR command not recognised\r\n", b""),
        ],
        "-ERR",
    ),
    ("ftp", [*FTP[:2], (b"530 Please login with USER and PASS.\r\n", b"")], "530"),
    ("ldap", [(b"", LDAP_START_TLS), (bytes.fromhex("300c02010178070a010204000400"), b"")], "protocolError"),
    (
        "xmpp",
        [
            XMPP[0],
            (
                XMPP_FEATURES.replace(
                    b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>", b""
                ),
                b"",
            ),
        ],
        "do not offer",
    ),
    (
        "xmpp",
        [*XMPP[:2], (b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>", b"")],
        "failure",
    ),
    (
        "xmpp",
        [
            XMPP[0],
            (
                XMPP_FEATURES.split(b"<stream:features>")[0] + b"<stream:error><host-unknown xmlns="
                b"'urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
                b"",
            ),
        ],
        "host-unknown",
    ),
    ("mysql", [(b"", b""), (MYSQL_GREETING[:25] + b"\xff\xf7" + MYSQL_GREETING[27:], b"")], "CLIENT_SSL"),
    ("mysql", [(b"", b""), (b"\x17\x00\x00\x00\xff\x10\x04Too many connections", b"")], "1040"),
]


@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])
@pytest.mark.parametrize(
    ("proto", "exchange", "words"), REFUSALS, ids=[f"{p}-{i}" for i, (p, _, _) in enumerate(REFUSALS)]
)
def test_refusals_say_why(proto: str, exchange: Exchange, words: str, bytewise: bool) -> None:
    final, sent, _ = run(proto, exchange, bytewise=bytewise)
    assert isinstance(final, Refused), final
    assert words in final.reason
    assert sent == expected_sends(exchange)


def test_ldap_notice_of_disconnection_is_a_refusal() -> None:
    notice = bytes.fromhex("3032020100782d0a01340400040f") + b"shutting down.." + bytes.fromhex("8a16")
    notice += b"1.3.6.1.4.1.1466.20036"
    notice = notice[:1] + bytes([len(notice) - 2]) + notice[2:6] + bytes([len(notice) - 7]) + notice[7:]
    final, _, _ = run("ldap", [(b"", LDAP_START_TLS), (notice, b"")])
    assert (
        isinstance(final, Refused)
        and "Notice of Disconnection" in final.reason
        and "unavailable" in final.reason
    )


# -- another protocol, or the connection ends --------------------------------------------------------------

TLS_ALERT = bytes.fromhex("15030300020246")
SSH = b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize(
    "first", [TLS_ALERT, SSH, b"HTTP/1.1 400 Bad Request\r\n\r\n"], ids=["tls", "ssh", "http"]
)
def test_another_protocol_is_named_by_its_first_bytes(proto: str, first: bytes) -> None:
    exchange = [(b"", b""), (first, b"")]
    final, _, _ = run(proto, exchange)
    assert isinstance(final, NotThisProtocol | Closed), final
    if isinstance(final, NotThisProtocol):
        assert final.first_bytes == first[: len(final.first_bytes)] and final.first_bytes


@pytest.mark.parametrize("proto", ["smtp", "imap", "pop3", "ftp"])
def test_server_first_protocols_name_tls_at_once_without_waiting_for_a_line(proto: str) -> None:
    machine = machine_for(proto)
    assert machine.next_event() is NEED_DATA
    machine.receive_data(TLS_ALERT[:1])
    assert isinstance(machine.next_event(), NotThisProtocol)


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_eof_at_once_is_closed_with_the_stage(proto: str) -> None:
    final, _, _ = run(proto, [(b"", b"")])
    assert isinstance(final, Closed) and final.stage


def test_xmpp_rejects_a_dtd_before_the_parser_sees_it() -> None:
    bomb = b"<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>]><stream:stream>"
    final, _, _ = run("xmpp", [(b"", b""), (bomb, b"")])
    assert isinstance(final, NotThisProtocol) and "DTD" in final.reason


# -- hostile servers: everything bounded -------------------------------------------------------------------

HOSTILE: list[tuple[str, bytes]] = [
    ("smtp", b"220-endless banner line\r\n" * 5000),
    ("ftp", b"220-welcome\r\n" + b" and more\r\n" * 5000),
    ("imap", b"* OK hi\r\n" + b"* CAPABILITY X\r\n" * 5000),  # untagged lines, never the tagged reply
    ("pop3", b"+OK hi\r\n" + b"+OK\r\n" + b"CAP\r\n" * 5000),
    ("smtp", b"220 " + b"x" * 100_000),  # a line that never ends
    ("imap", b"* OK " + b"x" * 100_000),
    ("postgres", b"E\x7f\xff\xff\xff" + b"x" * 1000),  # an ErrorResponse claiming 2 GB
    ("mysql", b"\xff\xff\xff\x00\x0a" + b"x" * 1000),  # a 16 MB greeting
    ("ldap", b"\x30\x84\x7f\xff\xff\xff" + b"x" * 1000),  # a 2 GB LDAPMessage
    ("ldap", b"\x30\x80" + b"x" * 1000),  # indefinite length: forbidden in LDAP
    (
        "xmpp",
        b"<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>"
        + b"<a>" * 30_000,
    ),  # endless nesting
]


@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])
@pytest.mark.parametrize(("proto", "data"), HOSTILE, ids=[f"{p}-{i}" for i, (p, _) in enumerate(HOSTILE)])
def test_hostile_servers_end_bounded(proto: str, data: bytes, bytewise: bool) -> None:
    machine = machine_for(proto, "example.test")
    ended = None
    for i in range(0, len(data), 1 if bytewise else 4096):
        event = machine.next_event()
        while isinstance(event, Send | Received):
            event = machine.next_event()
        if event is not NEED_DATA:
            ended = event
            break
        machine.receive_data(data[i : i + (1 if bytewise else 4096)])
        assert len(machine._buffer) <= MAX_PREAMBLE_BYTES
    while ended is None or isinstance(ended, Send | Received):
        ended = machine.next_event()
        if ended is NEED_DATA:
            machine.receive_data(b"")
            ended = None
    assert isinstance(ended, Malformed | NotThisProtocol | Closed), ended
    assert machine.received <= len(data)


def test_more_than_the_preamble_cap_is_malformed() -> None:
    machine = machine_for("smtp")
    machine.next_event()
    for _ in range(MAX_PREAMBLE_BYTES // 1000 + 2):
        machine.receive_data(b"220-" + b"x" * 994 + b"\r\n")
    final = machine.next_event()
    assert isinstance(final, Malformed), final
    assert not machine._buffer


@settings(max_examples=150, deadline=None)
@given(proto=st.sampled_from(PROTOCOLS), chunks=st.lists(st.binary(max_size=300), max_size=8))
def test_arbitrary_bytes_give_events_never_exceptions(proto: str, chunks: list[bytes]) -> None:
    machine = machine_for(proto, "example.test")
    for chunk in [*chunks, b""]:
        for _ in range(50):
            event = machine.next_event()
            if event is NEED_DATA or isinstance(
                event, Ready | Refused | NotThisProtocol | Malformed | Closed
            ):
                break
        if event is not NEED_DATA:
            break
        machine.receive_data(chunk)


def test_unknown_protocol_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="gopher"):
        machine_for("gopher")
