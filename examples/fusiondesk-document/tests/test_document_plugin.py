"""The document plugin: PDF extraction, refusals, the SDK contract and real embeddings."""

from __future__ import annotations

import io

import numpy as np
import pytest
from fusiondesk import InputTooLargeError, InvalidInputError, Part, UnsupportedInputError
from fusiondesk.plugins.testing import FakeSentenceEncoder, PluginContractTests
from fusiondesk.plugins.text import TEXT_DIM
from fusiondesk.plugins.text.encoder import packaged_minilm_path, shared_sentence_encoder
from pypdf import PdfReader, PdfWriter

from fusiondesk_document import DOCUMENT_SLOT, DocumentConfig, DocumentPlugin
from fusiondesk_document.pdf import extract_text, write_text_pdf

REFUND = write_text_pdf(
    [["Dear support,", "I returned the broken kettle.", "Please refund order 1234 (40 EUR)."]]
)
TWO_PAGES = write_text_pdf([["Invoice 2024-17"], ["Total due: 40 EUR"]])
NO_TEXT = write_text_pdf([[]])


def encrypted(pdf: bytes) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt("secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


class FastDocumentPlugin(DocumentPlugin):
    """The real plugin with a fake encoder, so the contract tests take milliseconds."""

    def setup(self) -> None:
        self.encoder = FakeSentenceEncoder(TEXT_DIM)


class TestDocumentPluginContract(PluginContractTests):
    plugin_class = FastDocumentPlugin
    sample_parts = [
        Part("document", data=REFUND, media_type="application/pdf", filename="refund.pdf"),
        Part("document", data=TWO_PAGES),
    ]
    bad_parts = [
        (Part("document", text="see attached"), InvalidInputError),
        (Part("document", data=b"GIF89a\x01\x00", media_type="image/gif"), UnsupportedInputError),
        (Part("document", data=b"plain text, not a PDF"), UnsupportedInputError),
        (Part("document", data=b"%PDF-1.7\nthis is not really a pdf"), InvalidInputError),
        (Part("document", data=NO_TEXT), InvalidInputError),
        (Part("document", data=encrypted(REFUND)), UnsupportedInputError),
    ]


def test_every_page_is_read_in_order() -> None:
    assert extract_text(TWO_PAGES, max_pages=20, max_chars=1000) == (
        "Invoice 2024-17 Total due: 40 EUR",
        2,
    )


def test_page_and_character_limits_cut_the_text() -> None:
    assert extract_text(TWO_PAGES, max_pages=1, max_chars=1000) == ("Invoice 2024-17", 2)
    assert extract_text(TWO_PAGES, max_pages=20, max_chars=7) == ("Invoice", 2)


def test_a_pdf_over_the_size_limit_is_refused_before_parsing() -> None:
    plugin = FastDocumentPlugin(DocumentConfig(max_bytes=1024))
    big = write_text_pdf([[f"line {n} of a long letter" for n in range(60)]])
    assert len(big) > 1024
    with pytest.raises(InputTooLargeError, match="limit is 1024"):
        plugin.preprocess(Part("document", data=big))


def test_details_show_pages_and_an_excerpt() -> None:
    plugin = FastDocumentPlugin()
    [encoding] = plugin.embed([plugin.preprocess(Part("document", data=TWO_PAGES))])
    assert encoding.details == {"pages": 2, "excerpt": "Invoice 2024-17 Total due: 40 EUR"}


@pytest.mark.slow
def test_real_embeddings_put_a_refund_letter_near_refund_text() -> None:
    plugin = DocumentPlugin()
    [encoding] = plugin.embed([plugin.preprocess(Part("document", data=REFUND))])
    document = encoding.slots[DOCUMENT_SLOT]
    refund, parcel = shared_sentence_encoder(packaged_minilm_path()).encode(
        ["I want my money back for a returned item", "where is my parcel"]
    )
    assert float(np.dot(document, refund)) > float(np.dot(document, parcel)) + 0.1
