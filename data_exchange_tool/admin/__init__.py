"""
Admin integration: ``GenericImporterModelAdmin`` gives a job type its own admin section.

Register it for a job type (the seed's name)::

    @admin.register(StockRecordImportJob)
    class StockRecordImporterAdmin(GenericImporterModelAdmin):
        pass
"""

from __future__ import annotations

from data_exchange_tool.admin.imports import GenericImporterModelAdmin

__all__ = ["GenericImporterModelAdmin"]
