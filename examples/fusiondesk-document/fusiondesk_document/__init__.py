"""fusiondesk plugin for PDF documents: the text a customer sends as a file, embedded."""

from fusiondesk_document.plugin import DOCUMENT_SLOT, DocumentConfig, DocumentPlugin

__all__ = ["DOCUMENT_SLOT", "DocumentConfig", "DocumentPlugin"]
