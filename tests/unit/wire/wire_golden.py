"""Test helpers: the annotated golden hex files (comment lines start with '#'), hand-made bytes."""

from __future__ import annotations

from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[2] / "golden"


def golden(name: str) -> bytes:
    text = (GOLDEN / f"{name}.hex").read_text()
    return bytes.fromhex("".join(line for line in text.splitlines() if not line.startswith("#")))


def sslv2_server_hello() -> bytes:
    """A hand-made SSLv2 SERVER-HELLO (no server here speaks SSLv2 any more)."""
    cert = b"\x30\x03\x02\x01\x01"
    body = bytes([4, 0, 1]) + b"\x00\x02" + len(cert).to_bytes(2, "big") + b"\x00\x03" + b"\x00\x10"
    body += cert + b"\x07\x00\xc0" + bytes(16)
    return (0x8000 | len(body)).to_bytes(2, "big") + body
