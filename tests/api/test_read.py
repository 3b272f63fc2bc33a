"""Reading jobs: retrieve, list with filters, the preview sample, the invalid rows, downloads."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from data_exchange_tool.models import ImportJob, ImportJobRowError, Phase
from data_exchange_tool.states import JobState
from example_project.demo.models import StockRecord
from tests.api.conftest import STOCK
from tests.helpers import STOCK_HEADERS, create_job, csv_bytes, stock_rows, xlsx_bytes

BAD_ROWS = [
    ["ACME", "P-1", "BAD-1", "not a price", 1, 0],
    ["ACME", "P-9", '=HYPERLINK("x")', "-3.50", 1, 0],
]


def test_retrieve_shows_state_progress_counts_timings_and_links(upload, api, catalogue):
    job_id = upload(csv_bytes(stock_rows(3))).json()["id"]

    body = api.get(f"{STOCK}{job_id}/").json()

    assert body["state"] == JobState.PREVIEW_SUCCEEDED
    assert body["state_label"] == "Preview succeeded"
    assert body["progress"] == {"percent": 100, "done": 3, "total": 3}
    assert body["counts"] == {"total": 3, "new": 3, "updated": 0, "unchanged": 0, "invalid": 0}
    assert body["timings"]["preview_finished_at"] is not None
    assert body["timings"]["import_started_at"] is None
    assert body["confirm_refusal"] is None
    assert body["created_by"] == "alice"
    assert body["links"]["self"] == f"http://testserver{STOCK}{job_id}/"
    assert body["links"]["error_report"] == f"http://testserver{STOCK}{job_id}/error-report/"
    for name, url in body["links"].items():
        method = "post" if name in ("confirm", "cancel") else "get"
        if method == "get":
            assert api.get(url).status_code == 200, name


def test_list_pages_newest_first(upload, api, catalogue):
    ids = [upload(csv_bytes(stock_rows(1, start=i))).json()["id"] for i in range(3)]

    first = api.get(STOCK, {"page_size": 2}).json()
    second = api.get(first["next"]).json()

    assert first["count"] == 3
    assert [job["id"] for job in first["results"] + second["results"]] == ids[::-1]


def test_list_filters_by_state_and_orders(upload, api, catalogue):
    good = upload(csv_bytes(stock_rows(2))).json()["id"]
    failed = upload(b"colour\r\nred\r\n").json()["id"]

    only_failed = api.get(STOCK, {"state": JobState.PREVIEW_FAILED}).json()
    both = api.get(
        f"{STOCK}?state={JobState.PREVIEW_FAILED}&state={JobState.PREVIEW_SUCCEEDED}&ordering=id"
    ).json()

    assert [job["id"] for job in only_failed["results"]] == [failed]
    assert [job["id"] for job in both["results"]] == [good, failed]


def test_list_filters_by_creation_dates_and_uploader(upload, api, alice, catalogue):
    old = upload(csv_bytes(stock_rows(1))).json()["id"]
    new = upload(csv_bytes(stock_rows(1, start=5))).json()["id"]
    last_week = timezone.now() - timedelta(days=7)
    ImportJob.objects.filter(pk=old).update(created_at=last_week)
    yesterday = (timezone.now() - timedelta(days=1)).date().isoformat()

    after = api.get(STOCK, {"created_after": yesterday}).json()
    before = api.get(STOCK, {"created_before": yesterday}).json()
    mine = api.get(STOCK, {"created_by": alice.pk}).json()
    nobody = api.get(STOCK, {"created_by": alice.pk + 100}).json()

    assert [job["id"] for job in after["results"]] == [new]
    assert [job["id"] for job in before["results"]] == [old]
    assert mine["count"] == 2
    assert nobody["count"] == 0


def test_invalid_filters_are_a_400(api):
    assert api.get(STOCK, {"state": "DANCING"}).status_code == 400
    assert api.get(STOCK, {"created_after": "last tuesday"}).status_code == 400
    assert api.get(STOCK, {"page": 7}).status_code == 404


def test_preview_pages_the_sample_and_filters_by_action(upload, api, catalogue):
    job_id = upload(csv_bytes(stock_rows(3))).json()["id"]
    upload(csv_bytes(stock_rows(3)), skip_preview_confirmation="true")
    updating = upload(csv_bytes([["ACME", "P-1", "SKU-000000", "99.00", 10, 0]])).json()["id"]

    page = api.get(f"{STOCK}{job_id}/preview/", {"page_size": 2}).json()
    updates = api.get(f"{STOCK}{updating}/preview/", {"action": "update"}).json()
    news = api.get(f"{STOCK}{updating}/preview/", {"action": "new"}).json()

    assert page["count"] == 3
    assert [row["row_number"] for row in page["results"]] == [2, 3]
    assert page["results"][0]["action"] == "new"
    assert page["results"][0]["values"]["partner_sku"] == "SKU-000000"
    assert updates["count"] == 1
    assert updates["results"][0]["changes"]["price"] == ["0.50", "99.00"]
    assert news["count"] == 0
    assert api.get(f"{STOCK}{updating}/preview/", {"action": "fly"}).status_code == 400


def test_preview_lists_the_invalid_rows_with_their_problems(upload, api, catalogue):
    rows = [*stock_rows(2), ["Nobody", "P-1", "SKU-X", "1.00", 1, 0]]
    job_id = upload(csv_bytes(rows)).json()["id"]

    invalid = api.get(f"{STOCK}{job_id}/preview/", {"action": "invalid"}).json()

    assert invalid["count"] == 1
    row = invalid["results"][0]
    assert (row["row_number"], row["action"]) == (4, "invalid")
    assert row["errors"][0][0] == "partner"
    assert row["values"]["partner"] == "Nobody"


def test_errors_pages_the_invalid_rows(upload, api, catalogue):
    job_id = upload(csv_bytes([*stock_rows(2), *BAD_ROWS])).json()["id"]

    body = api.get(f"{STOCK}{job_id}/errors/").json()
    by_column = api.get(f"{STOCK}{job_id}/errors/", {"column": "price"}).json()
    of_import = api.get(f"{STOCK}{job_id}/errors/", {"phase": "import"}).json()

    assert body["count"] == 2
    assert [(e["row_number"], e["column"]) for e in body["results"]] == [
        (4, "price"),
        (5, "product"),
    ]
    assert body["results"][0]["values"]["price"] == "not a price"
    assert body["results"][0]["phase"] == "preview"
    assert [e["row_number"] for e in by_column["results"]] == [4]
    assert of_import["count"] == 0


def read_csv(response) -> list[list[str]]:
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff")
    return list(csv.reader(io.StringIO(content[1:])))


def test_error_report_is_a_csv_of_the_invalid_rows_in_the_files_columns(upload, api, catalogue):
    headers = ["num_in_stock", *STOCK_HEADERS[:3], "price", "num_allocated", "note"]
    rows = [[r[4], r[0], r[1], r[2], r[3], r[5], "n"] for r in [*stock_rows(2), *BAD_ROWS]]
    job_id = upload(csv_bytes(rows, headers=headers)).json()["id"]

    response = api.get(f"{STOCK}{job_id}/error-report/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="stock-errors.csv"' in response["Content-Disposition"]
    lines = read_csv(response)
    assert lines[0] == [*headers, "errors"]
    assert lines[1][:7] == ["1", "ACME", "P-1", "BAD-1", "not a price", "0", "n"]
    assert lines[1][7].startswith("price: ")
    # A formula is neutralized; a negative number is left a number.
    assert lines[2][3] == '\'=HYPERLINK("x")'
    assert lines[2][4] == "-3.50"
    assert lines[2][7].startswith("product: ")
    assert len(lines) == 3


def test_error_report_of_an_xlsx_upload_keeps_its_columns(upload, api, catalogue):
    job_id = upload(xlsx_bytes([*stock_rows(1), BAD_ROWS[0]]), name="stock.xlsx").json()["id"]

    response = api.get(f"{STOCK}{job_id}/error-report/", HTTP_ACCEPT="text/csv")

    lines = read_csv(response)
    assert 'filename="stock-errors.csv"' in response["Content-Disposition"]
    assert lines[0] == [*STOCK_HEADERS, "errors"]
    assert lines[1][2] == "BAD-1"


def test_error_report_defaults_to_the_imports_errors_when_it_recorded_some(upload, api, catalogue):
    job_id = upload(csv_bytes([*stock_rows(1), BAD_ROWS[0]])).json()["id"]
    ImportJobRowError.objects.create(
        job_id=job_id,
        phase=Phase.IMPORT,
        row_number=2,
        column="",
        message="Changed meanwhile.",
        values={"partner_sku": "SKU-000000"},
    )

    default = read_csv(api.get(f"{STOCK}{job_id}/error-report/"))
    preview = read_csv(api.get(f"{STOCK}{job_id}/error-report/", {"phase": "preview"}))
    bad = api.get(f"{STOCK}{job_id}/error-report/", {"phase": "later"}, HTTP_ACCEPT="text/csv")

    assert [line[-1] for line in default[1:]] == ["Changed meanwhile."]
    assert [line[2] for line in preview[1:]] == ["BAD-1"]
    assert bad.status_code == 400
    assert bad["Content-Type"] == "application/json"
    assert "phase" in bad.json()


def test_error_report_of_a_clean_job_has_only_the_header(upload, api, catalogue):
    job_id = upload(csv_bytes(stock_rows(2))).json()["id"]

    lines = read_csv(api.get(f"{STOCK}{job_id}/error-report/"))

    assert lines == [[*STOCK_HEADERS, "errors"]]


def test_error_report_of_an_empty_file_answers_without_a_traceback(
    api, alice, catalogue, run_on_commit, caplog
):
    with run_on_commit():  # an empty file never passes the upload check: stored another way
        job = create_job(b"", created_by=alice)
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_FAILED

    with caplog.at_level("DEBUG"):
        response = api.get(f"{STOCK}{job.pk}/error-report/")
        lines = read_csv(response)

    assert response.status_code == 200
    assert lines == [["errors"]]
    assert not [record for record in caplog.records if record.exc_info]


def test_file_downloads_the_upload_as_it_was(upload, api, catalogue):
    content = csv_bytes(stock_rows(2))
    job_id = upload(content).json()["id"]

    response = api.get(f"{STOCK}{job_id}/file/", HTTP_ACCEPT="application/octet-stream")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert 'filename="stock.csv"' in response["Content-Disposition"]


def test_file_gone_from_the_storage_is_a_404(upload, api, catalogue):
    job_id = upload(csv_bytes(stock_rows(1))).json()["id"]
    job = ImportJob.objects.get(pk=job_id)
    job.file.storage.delete(job.file.name)

    response = api.get(f"{STOCK}{job_id}/file/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert StockRecord.objects.count() == 0


def count_queries(call) -> int:
    """Return how many SQL statements ``call()`` runs (the request resets Django's own log)."""
    from django.db import connection

    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        call()
    return len(statements)


def test_the_list_costs_the_same_queries_for_two_jobs_or_six(upload, api, catalogue):
    for i in range(2):
        upload(csv_bytes(stock_rows(1, start=i)))
    two = count_queries(lambda: api.get(STOCK))
    for i in range(4):
        upload(csv_bytes(stock_rows(1, start=10 + i)))

    six = count_queries(lambda: api.get(STOCK))

    assert api.get(STOCK).json()["count"] == 6
    assert six == two


def test_the_list_names_the_lock_holder_in_confirm_refusal(upload, api, catalogue):
    holder = upload(csv_bytes(stock_rows(1))).json()["id"]
    waiting = upload(csv_bytes(stock_rows(1, start=5))).json()["id"]
    api.post(f"{STOCK}{holder}/confirm/")  # importing: its task is not run

    listed = {job["id"]: job for job in api.get(STOCK).json()["results"]}
    single = api.get(f"{STOCK}{waiting}/").json()

    assert listed[holder]["confirm_refusal"] == "This file is being imported now."
    assert listed[waiting]["confirm_refusal"].startswith(f"Job #{holder} ")
    assert listed[waiting]["confirm_refusal"] == single["confirm_refusal"]


@pytest.mark.parametrize("name", ["created_after", "created_before"])
def test_date_filters_take_any_offset(api, catalogue, name):
    # PostgreSQL refuses offsets past 15:59; the filter turns every date-time into UTC first.
    for value in ("2026-01-01T00:00:00+16:00", "2026-01-01T00:00:00-23:59"):
        assert api.get(STOCK, {name: value}).status_code == 200


@pytest.mark.parametrize("name", ["created_after", "created_before"])
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("9999-12-31T23:59:59-10:00", "between the years 1 and 9999 once in UTC"),
        ("0001-01-01T00:00:00+10:00", "between the years 1 and 9999 once in UTC"),
        ("2026-01-01T00:00:00+99:00", "valid date/time"),
        ("\x00", "valid date/time"),
    ],
)
def test_date_filters_out_of_range_or_not_dates_are_a_400_with_the_reason(api, name, value, reason):
    response = api.get(STOCK, {name: value})
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert name in response.content.decode()
