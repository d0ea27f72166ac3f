"""The colours of a check's status, shared by the report (report/human.py) and the live progress on
stderr (report/progress.py), so a FAIL looks the same in both. Rich style names; no rich import here,
since the progress display loads rich only once it draws."""

from __future__ import annotations

from tlsdoctor.model import Status

STATUS_STYLE = {
    Status.PASS: "green",
    Status.FAIL: "red",
    Status.WARN: "yellow",
    Status.SKIP: "dim",
    Status.ERROR: "magenta",
}
