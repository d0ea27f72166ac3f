"""The line-based preambles: SMTP, IMAP, POP3 and FTP. The server speaks first in all four."""

from __future__ import annotations

import re
from collections.abc import Generator

from tlsdoctor.wire.starttls.base import (
    MAX_REPLY_LINES,
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

EHLO_NAME = "tlsdoctor.invalid"  # RFC 2606 reserved; FQDN syntax so strict HELO checks pass (RFC 5321 §4.1.4)
_CODE = re.compile(rb"^[0-9]{3}([ -]|$)")
_CODE_PREFIX = re.compile(rb"^([0-9]{0,3}$|[0-9]{3}[ \r\n-])")


def _reply_text(code: int, lines: list[bytes]) -> str:
    first = printable(lines[0]) if lines else ""
    more = f" (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
    return f"{code} {first}{more}"


def _refused_session(code: int, lines: list[bytes]) -> Refused:
    """A greeting other than 220: 554 "no service here" (RFC 5321 §3.1), 421 "not available"."""
    text = _reply_text(code, lines)
    return Refused(f"the server refused the session: {text}", text)


def _reply_code_prefix(head: bytes) -> bool:
    """Whether ``head`` can start "ddd " / "ddd-": up to three digits, then a space, dash or line end."""
    return _CODE_PREFIX.match(head[:4]) is not None


class Smtp(Preamble):
    """SMTP STARTTLS: greeting 220, EHLO, STARTTLS, 220 (RFC 3207 §4; replies RFC 5321 §4.2)."""

    protocol = "smtp"
    label = "SMTP"
    max_line = 2048  # RFC 5321 §4.5.3.1.5 allows 512; real servers exceed it a little

    def plausible(self, head: bytes) -> bool:
        return _reply_code_prefix(head)

    def _reply(self) -> Generator[_Want, None, tuple[int, list[bytes]]]:
        """One reply: lines "ddd-text" continue, "ddd text" (or bare "ddd") ends it (RFC 5321 §4.2.1)."""
        texts: list[bytes] = []
        while True:
            line = yield from self._line()
            if not _CODE.match(line):
                raise self._not_this(f"not an SMTP reply line while waiting for {self.stage}")
            texts.append(line[4:])
            if line[3:4] != b"-":
                self._greeted = True
                return int(line[:3]), texts
            if len(texts) >= MAX_REPLY_LINES:
                raise self._too_many()

    def _script(self) -> Script:
        code, lines = yield from self._reply()
        yield Received(f"greeting: {_reply_text(code, lines)}")
        if code != 220:  # 554: "no SMTP service here" (RFC 5321 §3.1); 421: service not available
            return _refused_session(code, lines)
        self.stage = "the EHLO reply"
        yield Send(f"EHLO {EHLO_NAME}\r\n".encode())
        code, lines = yield from self._reply()
        yield Received(f"EHLO: {_reply_text(code, lines)}")
        if code == 250:
            self.advertised = any(ln.split(b" ")[0].upper() == b"STARTTLS" for ln in lines[1:])
        # Ask even when not advertised: some servers accept it anyway, and the refusal text is evidence.
        self.stage = "the STARTTLS reply"
        yield Send(b"STARTTLS\r\n")
        code, lines = yield from self._reply()
        yield Received(f"STARTTLS: {_reply_text(code, lines)}")
        if code == 220:
            return self._ready()
        why = " (and EHLO did not advertise it)" if self.advertised is False else ""
        return Refused(f"STARTTLS was answered {_reply_text(code, lines)}{why}", _reply_text(code, lines))


_IMAP_GREETING = re.compile(rb"^\* (OK|PREAUTH|BYE)\b", re.IGNORECASE)
_IMAP_CAPS = re.compile(rb"\[CAPABILITY ([^\]]*)\]", re.IGNORECASE)


class Imap(Preamble):
    """IMAP STARTTLS: greeting "* OK", CAPABILITY, STARTTLS, tagged OK (RFC 9051 §6.1.1, §6.2.1; RFC 3501)."""

    protocol = "imap"
    label = "IMAP"
    max_line = 16384  # capability lines of big servers run to a few KB

    def plausible(self, head: bytes) -> bool:
        return b"* "[: len(head)] == head[:2]

    def _tagged(self, tag: bytes) -> Generator[_Want, None, tuple[bytes, bytes, list[bytes]]]:
        """Untagged lines until the tagged completion of ``tag``: (status, its line, untagged lines)."""
        untagged: list[bytes] = []
        while True:
            line = yield from self._line()
            if line.startswith(tag + b" "):
                status = line[len(tag) + 1 :].split(b" ", 1)[0].upper()
                return status, line, untagged
            if not line.startswith((b"* ", b"+")):
                raise _End(Malformed(f"not an IMAP response line while waiting for {self.stage}"))
            untagged.append(line)
            if len(untagged) >= MAX_REPLY_LINES:
                raise self._too_many()

    def _script(self) -> Script:
        greeting = yield from self._line()
        found = _IMAP_GREETING.match(greeting)
        if found is None:
            raise self._not_this('not an IMAP greeting ("* OK")')
        self._greeted = True
        yield Received(f"greeting: {printable(greeting)}")
        kind = found.group(1).upper()
        if kind == b"BYE":
            return Refused(f"the server refused the session: {printable(greeting)}", printable(greeting))
        if kind == b"PREAUTH":  # STARTTLS is valid only before authentication (RFC 9051 §6.2.1)
            return Refused(
                "the session is pre-authenticated (* PREAUTH), where STARTTLS is not allowed",
                printable(greeting),
            )
        caps = _IMAP_CAPS.search(greeting)
        if caps is None:
            self.stage = "the CAPABILITY reply"
            yield Send(b"A1 CAPABILITY\r\n")
            _status, _line, untagged = yield from self._tagged(b"A1")
            listed = [u for u in untagged if u.upper().startswith(b"* CAPABILITY ")]
            words = b" ".join(u[13:] for u in listed).upper().split()
        else:
            words = caps.group(1).upper().split()
        self.advertised = b"STARTTLS" in words
        yield Received(f"capabilities: {printable(b' '.join(words))}")
        self.stage = "the STARTTLS reply"
        yield Send(b"A2 STARTTLS\r\n")
        status, line, _ = yield from self._tagged(b"A2")
        yield Received(f"STARTTLS: {printable(line)}")
        if status == b"OK":
            return self._ready()
        why = " (and CAPABILITY did not list it)" if not self.advertised else ""
        return Refused(f"STARTTLS was answered {printable(line)}{why}", printable(line))


class Pop3(Preamble):
    """POP3 STLS: greeting "+OK", CAPA, STLS, "+OK" (RFC 2595 §4; CAPA: RFC 2449 §5)."""

    protocol = "pop3"
    label = "POP3"
    max_line = 2048  # RFC 2449 §4: 512 octets; with room for sloppy servers

    def plausible(self, head: bytes) -> bool:
        return head[:1] in (b"+", b"-")

    def _script(self) -> Script:
        greeting = yield from self._line()
        if greeting.startswith(b"-ERR"):
            return Refused(f"the server refused the session: {printable(greeting)}", printable(greeting))
        if not greeting.startswith(b"+OK"):
            raise self._not_this('not a POP3 greeting ("+OK")')
        self._greeted = True
        yield Received(f"greeting: {printable(greeting)}")
        self.stage = "the CAPA reply"
        yield Send(b"CAPA\r\n")
        status = yield from self._line()
        if status.startswith(b"+OK"):
            caps: list[bytes] = []
            while (line := (yield from self._line())) != b".":  # multi-line, dot-terminated (RFC 1939 §3)
                caps.append(line.split(b" ")[0].upper())
                if len(caps) >= MAX_REPLY_LINES:
                    raise self._too_many()
            self.advertised = b"STLS" in caps
            yield Received(f"capabilities: {printable(b' '.join(caps))}")
        elif not status.startswith(b"-ERR"):
            raise _End(Malformed("the CAPA reply is neither +OK nor -ERR"))
        self.stage = "the STLS reply"
        yield Send(b"STLS\r\n")
        line = yield from self._line()
        yield Received(f"STLS: {printable(line)}")
        if line.startswith(b"+OK"):
            return self._ready()
        if not line.startswith(b"-ERR"):
            raise _End(Malformed("the STLS reply is neither +OK nor -ERR"))
        why = " (and CAPA did not list STLS)" if self.advertised is False else ""
        return Refused(f"STLS was answered {printable(line)}{why}", printable(line))


class Ftp(Preamble):
    """FTP AUTH TLS: greeting 220, AUTH TLS, 234 (RFC 4217 §4; replies RFC 959 §4.2)."""

    protocol = "ftp"
    label = "FTP"
    max_line = 2048

    def plausible(self, head: bytes) -> bool:
        return _reply_code_prefix(head)

    def _reply(self) -> Generator[_Want, None, tuple[int, list[bytes]]]:
        """ "ddd text", or "ddd-text" then any lines up to one starting "ddd " (RFC 959 §4.2)."""
        first = yield from self._line()
        if not _CODE.match(first):
            raise self._not_this(f"not an FTP reply line while waiting for {self.stage}")
        self._greeted = True
        texts = [first[4:]]
        if first[3:4] == b"-":
            end = first[:3] + b" "
            while True:
                line = yield from self._line()
                texts.append(line)
                if line.startswith(end) or line == first[:3]:
                    break
                if len(texts) >= MAX_REPLY_LINES:
                    raise self._too_many()
        return int(first[:3]), texts

    def _script(self) -> Script:
        code, lines = yield from self._reply()
        yield Received(f"greeting: {_reply_text(code, lines)}")
        if code == 120:  # "service ready in nnn minutes": the 220 follows (RFC 959 §5.4)
            code, lines = yield from self._reply()
            yield Received(f"greeting: {_reply_text(code, lines)}")
        if code != 220:
            return _refused_session(code, lines)
        self.stage = "the AUTH TLS reply"
        yield Send(b"AUTH TLS\r\n")
        code, lines = yield from self._reply()
        yield Received(f"AUTH TLS: {_reply_text(code, lines)}")
        if code in (234, 334):  # 234 per RFC 4217 §4; some old servers answer 334 (RFC 2228)
            return self._ready()
        return Refused(f"AUTH TLS was answered {_reply_text(code, lines)}", _reply_text(code, lines))
