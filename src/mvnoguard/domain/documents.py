"""Identity document types and the outcome of checking one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class DocType(StrEnum):
    """Documents a subscriber may register with (``doc_type`` in the data contracts)."""

    RIC = "RIC"  # resident identity card, 2nd generation, 18 characters
    HKMO = "HKMO"  # mainland travel permit for Hong Kong and Macao residents
    TW = "TW"  # mainland travel permit for Taiwan residents (Taiwan compatriot permit)
    PASSPORT = "PASSPORT"  # foreign passport, with ISO 3166 nationality
    FPR = "FPR"  # foreigner permanent residence card
    MILITARY = "MILITARY"  # PLA / armed police identity card
    USCC = "USCC"  # unified social credit code of an organisation


@dataclass(frozen=True, slots=True)
class Document:
    """A document as presented: type, number, and nationality where the type needs one."""

    doc_type: DocType
    number: str
    nationality: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentCheck:
    """What validating one document found. ``code`` is ``"ok"`` when valid.

    ``number`` is the normalised number (upper case, separators removed) when the format was
    readable; ``birth_date`` is set for documents that carry one (RIC, new FPR).
    """

    doc_type: DocType | None
    number: str
    valid: bool
    code: str
    message: str
    birth_date: date | None = None
    nationality: str | None = None

    @property
    def document(self) -> Document:
        if self.doc_type is None:
            raise ValueError("no document type")
        return Document(self.doc_type, self.number, self.nationality)
