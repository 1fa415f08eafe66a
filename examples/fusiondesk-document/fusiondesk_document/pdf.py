"""PDF text with pypdf: extraction for the plugin, and a small writer for tests and demos."""

from __future__ import annotations

import io
from collections.abc import Sequence

from fusiondesk import InvalidInputError, UnsupportedInputError
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

PDF_MAGIC = b"%PDF-"


def extract_text(data: bytes, *, max_pages: int, max_chars: int) -> tuple[str, int]:
    """Whitespace-normalised text of the first ``max_pages`` pages, cut at ``max_chars``,
    and the document's page count."""
    if not data.startswith(PDF_MAGIC):
        raise UnsupportedInputError("The document is not a PDF.", code="not_a_pdf")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnsupportedInputError(
                "The PDF is encrypted; send it without a password.", code="encrypted_pdf"
            )
        page_count = len(reader.pages)
        texts = [page.extract_text() for page in reader.pages[:max_pages]]
    except UnsupportedInputError:
        raise
    except Exception as error:
        # A damaged file can fail inside pypdf in many ways; each means the customer's file
        # is broken, which is theirs to fix (422), not a server fault (500).
        raise InvalidInputError(
            f"The PDF cannot be read ({type(error).__name__}).", code="unreadable_pdf"
        ) from error
    text = " ".join(" ".join(texts).split())[:max_chars]
    if not text:
        raise InvalidInputError(
            "The PDF has no text layer (a scan?); send it as an image instead.",
            code="pdf_without_text",
        )
    return text, page_count


def write_text_pdf(pages: Sequence[Sequence[str]]) -> bytes:
    """A PDF with one page per item, each a list of lines in Helvetica (Latin-1 text)."""
    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
        }
    )
    for lines in pages:
        page = writer.add_blank_page(width=612, height=792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        shown = " T* ".join(f"({_escape(line)}) Tj" for line in lines)
        content = DecodedStreamObject()
        content.set_data(f"BT /F1 12 Tf 14 TL 72 720 Td {shown} ET".encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(content)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
