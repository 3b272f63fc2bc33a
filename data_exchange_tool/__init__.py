"""Tracked, previewed, batched imports of CSV and XLSX files into Django models."""

from __future__ import annotations

__version__ = "0.1.0"
