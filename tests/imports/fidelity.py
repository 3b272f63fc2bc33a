"""Compare the library's answer per row with DRF's own ``is_valid()`` on the same row.

``library_answers`` validates rows (lists of cell texts) through ``BatchValidator``, as the
preview and the import do, with a job type whose serializer class is replaced for the call;
``drf_answer`` gives one row's data (as the library hands it to the serializer: ``ColumnMap``
decides what an empty cell means) to a fresh serializer. An answer is ``("valid", validated
data)`` or ``("invalid", {(column, message, code)})``, the column being ``""`` for errors of the
whole row.
"""

from __future__ import annotations

from typing import Any

from data_exchange_tool.imports.validation import BatchValidator

Answer = tuple[str, Any]


def _flatten(detail: Any, column: str = "") -> set[tuple[str, str, str]]:
    if isinstance(detail, dict):
        found: set[tuple[str, str, str]] = set()
        for key, value in detail.items():
            name = "" if key in ("non_field_errors", "__all__") else key
            found |= _flatten(value, name if not column else f"{column}: {key}")
        return found
    if isinstance(detail, list):
        return set().union(*(_flatten(item, column) for item in detail)) if detail else set()
    return {(column, str(detail), getattr(detail, "code", None))}


def drf_answer(serializer_class: type, data: dict[str, Any]) -> Answer:
    """Return DRF's answer for one row's data."""
    serializer = serializer_class(data=data)
    if serializer.is_valid():
        return "valid", dict(serializer.validated_data)
    return "invalid", _flatten(serializer.errors)


def _library_answer(outcome: Any) -> Answer:
    """Return the library's answer for a row, its own refusals left out (see ``compare``)."""
    drf_errors = {
        (column, str(message), message.code)
        for column, message in outcome.errors
        if getattr(message, "code", None) is not None
    }
    if drf_errors or outcome.validated is None:
        return "invalid", drf_errors
    return "valid", dict(outcome.validated)


def validate_rows(
    job_type: type, serializer_class: type, headers: list[str], rows: list[list[str]]
):
    """Return the outcomes of ``rows`` validated as one batch by ``job_type`` with
    ``serializer_class``."""
    job = job_type()
    job.get_serializer = lambda: serializer_class(context={"job": job})  # type: ignore[method-assign]
    validator = BatchValidator(job, headers)
    try:
        return validator.validate([(2 + i, list(row)) for i, row in enumerate(rows)])
    finally:
        validator.close()


def library_answers(
    job_type: type, serializer_class: type, headers: list[str], rows: list[list[str]]
) -> list[Answer]:
    """Return the library's answer for each row."""
    return [_library_answer(o) for o in validate_rows(job_type, serializer_class, headers, rows)]


def compare(
    job_type: type, serializer_class: type, headers: list[str], rows: list[list[str]]
) -> list[Answer]:
    """Assert the library answers each row as DRF does on the data it hands the serializer;
    return the answers compared.

    The library's own refusals (its messages carry no DRF code) are left out: a row with a NUL
    (refused before DRF sees it), a later row of the file repeating a unique key, a value the
    database column would refuse. They only ever refuse a row DRF validates, which keeps its
    validated data.
    """
    outcomes = validate_rows(job_type, serializer_class, headers, rows)
    answers: list[Answer] = []
    for outcome in outcomes:
        if any("\x00" in cell for cell in outcome.cells):
            assert outcome.errors, outcome  # the library's own rule: a NUL never reaches the DB
            continue
        expected = drf_answer(serializer_class, outcome.data)
        found = _library_answer(outcome)
        assert found == expected, (headers, outcome.data, "library:", found, "DRF:", expected)
        answers.append(found)
    return answers
