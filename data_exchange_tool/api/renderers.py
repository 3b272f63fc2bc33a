"""
The API's renderers for downloads: they let clients ask for ``text/csv`` or any media type.

The files themselves are built by ``data_exchange_tool.downloads`` (as for the admin); these
renderers only make content negotiation accept the request, and errors are rendered as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import BaseRenderer


class CSVRenderer(BaseRenderer):
    """Lets clients ask for ``text/csv``; the CSV itself is streamed by the view."""

    media_type = "text/csv"
    format = "csv"
    charset: str | None = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        """Return bytes unchanged (views stream their CSV; errors are rendered as JSON)."""
        return data if isinstance(data, bytes) else str(data).encode()


class FileRenderer(CSVRenderer):
    """Lets clients ask for any media type for the stored file."""

    media_type = "*/*"
    format = "file"
    charset = None
