"""The benchmark of ``make bench``: library preview and import against a floor and COPY."""

from __future__ import annotations
