"""The Documents step: import files and support tickets, chunk them, redact personal data.

Parsers (pypdf, python-docx, BeautifulSoup) and the redactor load only when a file is
imported, so importing this package stays cheap for the GUI's start-up.
"""

from core.documents.chunking import count_tokens
from core.documents.formats import SUPPORTED_SUFFIXES
from core.documents.importer import ImportResult, expand_paths, import_files
from core.documents.library import (
    always_redact,
    document_chunks,
    forget_document,
    forget_impact,
    import_settings,
    list_documents,
    never_redact,
    set_max_file_mb,
    set_redaction_active,
)
from core.documents.tickets import TicketMapping, guess_ticket_mapping, ticket_columns

__all__ = [
    "SUPPORTED_SUFFIXES",
    "ImportResult",
    "TicketMapping",
    "always_redact",
    "count_tokens",
    "document_chunks",
    "expand_paths",
    "forget_document",
    "forget_impact",
    "guess_ticket_mapping",
    "import_files",
    "import_settings",
    "list_documents",
    "never_redact",
    "set_max_file_mb",
    "set_redaction_active",
    "ticket_columns",
]
