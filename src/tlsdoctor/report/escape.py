"""The one escaping of text for a terminal: every string a reporter or an error line shows.

Certificate names, banners, alert and proxy texts, DNS answers, HTTP headers and the user's own
files are hostile by design of the tool (it is pointed at broken and malicious servers). Written raw,
``ESC]52;c;...BEL`` sets the user's clipboard (OSC 52), ``ESC[2J`` clears the screen, a CSI
introduced by the one-byte C1 ``U+009B`` does the same on terminals that honour C1, and a
right-to-left override (``U+202E``) makes a name read backwards (CVE-2021-42574, "Trojan Source").
Observations keep the exact value; the human report, its HTML export, progress and error lines show
it through :func:`escape_controls`. The JSON report keeps every value exact, and :func:`escape_json`
writes the same characters as JSON
``\\uXXXX`` escapes (json.dumps leaves DEL, C1, bidi controls and lone surrogates raw), so ``--json``
on a terminal is safe too and parses back to the same value.

Shown as Python writes them (``repr``): ``\\x1b``, ``\\x9b``, ``\\u202e``, ``\\n``. Rich markup is a
second hazard with the same source: the reporters put such text in ``rich.text.Text`` (never parsed as
markup), so ``[bold]`` in a certificate subject stays literal.
"""

from __future__ import annotations

import re

# C0 controls and DEL, C1 controls, lone surrogates (undecodable bytes kept by surrogateescape: also
# unencodable on stdout), and the invisible formatting characters that reorder or hide text:
# ALM, ZWSP..RLM, LS/PS and the bidi embeddings/overrides, word joiner..PDI (isolates), BOM,
# interlinear annotations (Unicode TR 9; UTS 39 section 3.1).
_BEYOND_C0 = "\x7f-\x9f\ud800-\udfff\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb"
UNSAFE = re.compile(f"[\x00-\x1f{_BEYOND_C0}]")
_JSON_UNSAFE = re.compile(f"[{_BEYOND_C0}]")  # json.dumps escapes C0 itself; its indent is structural
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _SHORT.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def escape_controls(text: object) -> str:
    """``text`` (``str()`` of it) with every control and invisible-formatting character escaped."""
    return UNSAFE.sub(_escaped, str(text))


def escape_json(document: str) -> str:
    """A JSON document with the same characters as ``\\uXXXX`` escapes (same value when parsed).
    Only string contents can hold them, and json.dumps has already escaped C0 and quotes."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", document)
