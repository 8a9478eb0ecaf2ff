"""
A small EDIFACT INVOIC reader, and the generator of the demo inbox the `edi_import` job
reads. Only what the import needs: segments end with `'`, data elements are separated by
`+`, components by `:`, and `?` releases the next character.

    UNH+1+INVOIC:D:96A:UN'BGM+380+INV-1001+9'DTM+137:20261121:102'NAD+BY+++Acme Ltd'
    MOA+77:1250.00'CUX+2:EUR:4'UNT+7+1'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

SEGMENT_END, ELEMENT, COMPONENT, RELEASE = "'", "+", ":", "?"


class EdiError(ValueError):
    """A file that is not a readable INVOIC message."""


@dataclass(frozen=True)
class Invoic:
    number: str
    customer: str
    total: Decimal
    currency: str
    segment_count: int


def _split(text: str, separator: str) -> list[str]:
    """Split on `separator`, honouring the release character; released characters stay released."""
    parts, current, i = [], [], 0
    while i < len(text):
        char = text[i]
        if char == RELEASE and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    return parts


def _unrelease(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == RELEASE and i + 1 < len(value):
            i += 1
        out.append(value[i])
        i += 1
    return "".join(out)


def _escape(value: str) -> str:
    return "".join(RELEASE + c if c in (SEGMENT_END, ELEMENT, COMPONENT, RELEASE) else c for c in value)


def parse_invoic(text: str) -> Invoic:
    """Read one INVOIC message; raises EdiError saying what is wrong."""
    body = text.strip()
    if body.startswith("UNA"):
        body = body[9:]  # the service string advice: we use the default separators
    raw_segments = [s.strip() for s in _split(body, SEGMENT_END) if s.strip()]
    segments = [[_split(e, COMPONENT) for e in _split(s, ELEMENT)] for s in raw_segments]
    tags = [seg[0][0] for seg in segments]
    if "UNH" not in tags:
        raise EdiError("no UNH segment: not an EDIFACT message")
    if "UNT" not in tags:
        raise EdiError("truncated: no UNT segment")
    start, end = tags.index("UNH"), tags.index("UNT")
    message = segments[start : end + 1]
    if segments[start][2][0] != "INVOIC":
        raise EdiError(f"message type {segments[start][2][0]!r} is not INVOIC")
    declared = _element(segments[end], 1, "UNT segment count")
    if not declared.isdigit() or int(declared) != len(message):
        raise EdiError(f"UNT says {declared} segments, the message has {len(message)}")
    number = customer = amount = ""
    currency = "EUR"
    for seg in message:
        tag = seg[0][0]
        if tag == "BGM":
            number = _element(seg, 2, "BGM document number")
        elif tag == "NAD" and seg[1][0] == "BY":
            customer = _element(seg, 4, "NAD+BY party name")
        elif tag == "MOA" and seg[1][0] == "77":
            amount = seg[1][1] if len(seg[1]) > 1 else ""
        elif tag == "CUX" and len(seg[1]) > 1:
            currency = seg[1][1]
    if not number:
        raise EdiError("no invoice number (BGM)")
    if not customer:
        raise EdiError("no buyer (NAD+BY)")
    try:
        total = Decimal(amount)
    except InvalidOperation:
        raise EdiError(f"invoice amount (MOA+77) {amount!r} is not a number") from None
    return Invoic(_unrelease(number), _unrelease(customer), total, currency, len(message))


def _element(segment: Sequence[list[str]], index: int, what: str) -> str:
    if len(segment) <= index or not segment[index][0]:
        raise EdiError(f"missing {what}")
    return segment[index][0]


def render_invoic(*, reference: str, number: str, customer: str, total: Decimal, issued: date) -> str:
    segments = [
        "UNH+1+INVOIC:D:96A:UN",
        f"BGM+380+{_escape(number)}+9",
        f"DTM+137:{issued:%Y%m%d}:102",
        f"NAD+BY+++{_escape(customer)}",
        f"MOA+77:{total:.2f}",
        "CUX+2:EUR:4",
    ]
    segments.append(f"UNT+{len(segments) + 1}+1")
    envelope = [f"UNB+UNOC:3+WAREHOUSE+SYNCLINE+{issued:%y%m%d}:0000+{reference}", *segments, f"UNZ+1+{reference}"]
    return "UNA:+.? '" + "".join(s + SEGMENT_END + "\n" for s in envelope)


# The demo inbox: one file in DAMAGED_EVERY arrives cut off, as an interrupted transfer does.
DAMAGED_EVERY = 10


def write_demo_inbox(directory: Path, count: int, invoices: Sequence[tuple[str, str, Decimal]]) -> list[Path]:
    """`count` INVOIC files made from `(number, customer, total)` (round robin), in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    today = date.today()
    paths = []
    for n in range(1, count + 1):
        number, customer, total = invoices[(n - 1) % len(invoices)]
        text = render_invoic(reference=f"{n:06d}", number=number, customer=customer, total=total, issued=today)
        if n % DAMAGED_EVERY == 0:
            text = text[: len(text) * 2 // 3]
        path = directory / f"invoic-{n:06d}.edi"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
