"""Messages a person reads: bounded, free of control characters, whatever path stores them."""

from __future__ import annotations

import os

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from data_exchange_tool import messages
from data_exchange_tool.models import ImportJob, ImportJobRowError
from data_exchange_tool.states import JobState
from example_project.demo.models import StockRecordImportJob
from tests.helpers import create_job, csv_bytes


def test_control_characters_are_dropped_and_tabs_become_spaces():
    raw = "bad\x00 \x1b[31mred\x7f\x85 \u202eevil\u202c\ttab\r\nline\rend\ud800"
    assert messages.clean(raw) == "bad [31mred evil tab\nline\nend"


def test_a_clean_short_message_is_left_alone():
    text = "Missing required column(s): price.\nColumns found: partner."
    assert messages.clean(text) == text


def test_a_long_message_is_cut_with_a_tail_that_counts_what_is_left_out():
    text = "x" * 10_000
    cleaned = messages.clean(text, max_length=100)
    assert len(cleaned) <= 100
    head, tail = cleaned.split(" …and ")
    assert tail == f"{10_000 - len(head):,} more characters"
    assert len(messages.clean(text)) <= messages.MAX_LENGTH


@pytest.mark.parametrize("length", [0, 1, 59, 60, 61, 1000])
def test_the_bound_holds_for_every_length(length):
    for max_length in (40, 60, 80):
        assert len(messages.clean("y" * length, max_length=max_length)) <= max(max_length, 0)


def test_listing_names_the_first_items_and_counts_the_rest():
    assert messages.listing(["a", "b"]) == "a, b"
    names = [f"c{i}" for i in range(10_000)]
    text = messages.listing(names)
    assert text.startswith("c0, c1, ")
    assert text.endswith(", c19, …and 9,980 more")


# --- where messages are stored and shown ---------------------------------------------------


@pytest.mark.django_db
def test_a_header_of_ten_thousand_columns_gives_a_bounded_message(catalogue, run_on_commit):
    headers = [f"column_{i}" for i in range(10_000)]
    with run_on_commit():
        job = create_job(csv_bytes([["x"] * 10_000], headers=headers))
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_FAILED
    assert job.message.startswith("Missing required column(s): partner, product")
    assert "…and 9,980 more" in job.message
    assert len(job.message) <= messages.MAX_LENGTH


@pytest.mark.django_db
def test_a_file_of_random_bytes_gives_a_message_without_control_characters(
    catalogue, run_on_commit
):
    content = os.urandom(4096).replace(b"\x00", b"\x01")
    with run_on_commit():
        job = create_job(content, name="noise.csv")
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_FAILED
    assert job.message == messages.clean(job.message)
    assert not any(ord(c) < 32 and c != "\n" for c in job.message)


@pytest.mark.django_db
def test_every_path_that_stores_a_message_cleans_it(catalogue):
    job = StockRecordImportJob.objects.create(
        state=JobState.PREVIEW_IN_PROGRESS, file=ContentFile(b"a\n", name="a.csv")
    )
    job.fail_preview("broken\x00\x07 " + "z" * 5000)
    job.save()
    assert "\x00" not in job.message
    assert len(job.message) <= messages.MAX_LENGTH

    ImportJobRowError.objects.bulk_create(
        [ImportJobRowError(job=job, row_number=2, message="bad\x1b value\x00")]
    )
    ImportJob.objects.filter(pk=job.pk).update(message="updated\x08")
    assert ImportJobRowError.objects.get(job=job).message == "bad value"
    assert ImportJob.objects.get(pk=job.pk).message == "updated"


@pytest.mark.django_db
def test_a_message_stored_before_the_rule_is_shown_clean(catalogue):
    job = StockRecordImportJob.objects.create(file=ContentFile(b"a\n", name="a.csv"))
    table = connection.ops.quote_name(ImportJob._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET message = %s WHERE id = %s", ["old\x1b[0m", job.pk])  # noqa: S608
    assert ImportJob.objects.get(pk=job.pk).message == "old[0m"
