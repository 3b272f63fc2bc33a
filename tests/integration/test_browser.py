"""
The admin as a person uses it: Debian's Chromium driven by Playwright against a live server, with
a real Celery worker, PostgreSQL, Redis and files on S3 (moto's server), in a 1366x768 window.

Each step saves a screenshot under ``$DXT_ARTIFACTS/browser/``: upload, the preview's table with
identities and old -> new cells, the one-click import of the valid rows (with its "are you sure"
page), the result, the filtered changelist, the target's Import button, an export filled in through
the FilterSet's widgets and downloaded, and the job page in Spanish.
"""

from __future__ import annotations

import csv
import io
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from data_exchange_tool import actions
from data_exchange_tool.admin import GenericImporterModelAdmin
from data_exchange_tool.states import JobState
from example_project.demo.models import StockRecord, StockRecordImportJob
from tests.helpers import csv_bytes, make_catalogue, stock_rows
from tests.integration.conftest import ARTIFACTS, wait_for

# Playwright's sync API runs an event loop in this thread; the ORM calls here are still sync.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Milliseconds a page may take to show a state the worker reaches.
STATE_TIMEOUT = 60_000
#: Rows of the main file. It goes through ``SlowStockRecordImportJob`` (2 ms a row at least, in
#: batches of 100), so each run lasts some seconds however fast the library gets and the page
#: sees the progress bar move.
ROWS = 2_000
#: The admin of that job type.
SLOW_JOBS = "/admin/testapp/slowstockrecordimportjob/"
#: The window of a common laptop: every page must read well at this size.
VIEWPORT = {"width": 1366, "height": 768}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's Chromium (Playwright's own browsers are not installed here)."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """A common laptop's window (1366x768), and downloads allowed."""
    return {**browser_context_args, "viewport": VIEWPORT, "accept_downloads": True}


class Shots:
    """Numbered full-page screenshots of one test, saved as artifacts."""

    def __init__(self, page: Page, name: str) -> None:
        self.page = page
        self.folder = ARTIFACTS / "browser" / name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def __call__(self, step: str) -> None:
        self.count += 1
        self.page.screenshot(path=self.folder / f"{self.count:02d}-{step}.png", full_page=True)


@pytest.fixture
def shots(page: Page, request: pytest.FixtureRequest) -> Shots:
    return Shots(page, request.node.name)


@pytest.fixture
def progress_log(page: Page) -> list[dict[str, Any]]:
    """Every answer of the progress endpoint the page polled (read as it passes through)."""
    answers: list[dict[str, Any]] = []

    def record(route: Any) -> None:
        response = route.fetch()
        if response.ok:
            answers.append(response.json())
        route.fulfill(response=response)

    page.route("**/progress/", record)
    return answers


def log_in(page: Page, base: str, shots: Shots, username: str = "admin") -> None:
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    shots("login")
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()


def upload(
    page: Page,
    base: str,
    shots: Shots,
    name: str,
    content: bytes,
    jobs: str = "/admin/demo/stockrecordimportjob/",
) -> None:
    page.goto(f"{base}{jobs}add/")
    page.set_input_files(
        "input[name=file]", files=[{"name": name, "mimeType": "text/csv", "buffer": content}]
    )
    shots("upload-form")
    page.click("input[type=submit][value='Upload and preview']")
    expect(page.locator(".dxt-job")).to_be_visible()


def badge(page: Page) -> Any:
    return page.locator(".dxt-state-line .dxt-badge")


def wait_for_state(page: Page, state: str) -> None:
    """Wait, without reloading, until the page shows ``state`` (the page polls and reloads)."""
    expect(badge(page)).to_have_attribute("data-state", state, timeout=STATE_TIMEOUT)


def rows_with_errors() -> list[list[Any]]:
    """Enough rows for the progress bar to move, three of them invalid."""
    rows = stock_rows(ROWS)
    rows[10] = ["Nobody", "P-1", "SKU-BAD-1", "1.00", 1, 0]
    rows[1000] = ["ACME", "P-2", "SKU-BAD-2", "2.00", 1, 9]
    rows[ROWS - 10] = ["ACME", "P-404", "<script>alert('x')</script>", "3.00", 1, 0]
    return rows


@pytest.fixture
def admin_user_pw(db: Any) -> User:
    return User.objects.create_superuser("admin", "admin@example.com", "pw")


def test_upload_fix_and_import_in_the_browser(
    page: Page,
    live_server: Any,
    celery_worker: Any,
    admin_user_pw: User,
    shots: Shots,
    progress_log: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # poll faster than people need, so the test sees the bar move (the server runs in-process)
    monkeypatch.setattr(GenericImporterModelAdmin, "poll_interval", 0.25)
    make_catalogue()
    base = live_server.url
    log_in(page, base, shots)
    shots("admin-index")

    upload(page, base, shots, "stock.csv", csv_bytes(rows_with_errors()), SLOW_JOBS)
    shots("job-page-while-previewing")
    wait_for_state(page, JobState.PREVIEW_SUCCEEDED)
    polled = [answer for answer in progress_log if answer["polling"]]
    assert polled, f"the page never saw the preview run: {progress_log}"
    assert any(0 < answer["percent"] < 100 for answer in polled), [
        (answer["state"], answer["percent"], answer["done"], answer["total"]) for answer in polled
    ]
    percents = [answer["percent"] for answer in progress_log]
    assert percents == sorted(percents), percents
    # the page said what the task was doing, with the counts growing and the time left
    checking = [answer for answer in polled if answer["phase"] == "validating"]
    assert checking, [answer["phase"] for answer in polled]
    assert any(0 < answer["counts"]["total"] < ROWS for answer in checking), checking
    assert any("left" in answer["detail"] for answer in checking), checking
    (ARTIFACTS / "browser" / "progress-answers.txt").write_text(repr(progress_log))
    shots("preview-with-invalid-rows")

    # the preview: counts, the invalid rows, escaped values, the refusal in words
    expect(page.locator('[data-count="invalid"]')).to_have_text("3")
    expect(page.locator('[data-count="new"]')).to_have_text(f"{ROWS - 3:,}")
    expect(page.locator("#dxt-refusal")).to_contain_text("The preview found 3 invalid rows")
    expect(page.locator("button.dxt-confirm")).to_have_count(0)
    errors = page.locator("#dxt-preview")  # the table opens on the invalid rows
    expect(errors).to_contain_text("Nobody")
    expect(errors).to_contain_text("More allocated than in stock.")
    expect(errors).to_contain_text("<script>alert('x')</script>")  # shown as text
    assert page.locator("#dxt-errors script").count() == 0

    # the error report, fixed and uploaded again (re-run preview)
    with page.expect_download() as info:
        page.click("a.dxt-download-errors")
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    report = list(csv.reader(io.StringIO(text)))
    assert report[0][-1] == "errors"
    assert [row[2] for row in report[1:]] == [
        "SKU-BAD-1",
        "SKU-BAD-2",
        "<script>alert('x')</script>",
    ]
    fixed = stock_rows(ROWS)
    page.set_input_files(
        ".dxt-rerun input[name=file]",
        files=[{"name": "stock-fixed.csv", "mimeType": "text/csv", "buffer": csv_bytes(fixed)}],
    )
    shots("rerun-with-corrected-file")
    page.click("button[name=rerun]")
    wait_for_state(page, JobState.PREVIEW_SUCCEEDED)
    expect(page.locator('[data-count="invalid"]')).to_have_text("0")
    expect(page.locator('[data-count="new"]')).to_have_text(f"{ROWS:,}")
    expect(page.locator(".dxt-facts")).to_contain_text("stock-fixed.csv")
    shots("clean-preview")

    # confirm, watch the import finish, and find the rows in the target's changelist
    page.click("button.dxt-confirm")
    shots("importing")
    wait_for_state(page, JobState.IMPORT_SUCCEEDED)
    shots("import-succeeded")
    assert StockRecord.objects.count() == ROWS
    page.click("a.dxt-target-link")
    expect(page.locator("#changelist")).to_be_visible()
    expect(page.locator(".paginator")).to_contain_text(f"{ROWS} stock records")
    shots("target-changelist")

    page.goto(f"{base}{SLOW_JOBS}")
    expect(page.locator(".dxt-badge[data-state=IMPORT_SUCCEEDED]")).to_have_count(1)
    shots("job-list")


def test_confirm_refused_while_another_job_holds_the_lock(
    page: Page, live_server: Any, celery_worker: Any, admin_user_pw: User, shots: Shots
) -> None:
    make_catalogue()
    alice = User.objects.create_user("alice", password="pw", is_staff=True)
    base = live_server.url
    log_in(page, base, shots)
    upload(page, base, shots, "stock.csv", csv_bytes(stock_rows(20)))
    wait_for_state(page, JobState.PREVIEW_SUCCEEDED)
    job = StockRecordImportJob.objects.get(file_name="stock.csv")
    expect(page.locator("button.dxt-confirm")).to_be_visible()
    shots("confirm-offered")

    # meanwhile, alice's job starts importing into the same target and holds the lock
    holder = actions.submit_import(
        StockRecordImportJob(file=job.file.name, file_name="alice.csv", created_by=alice)
    )
    wait_for(lambda: refreshed(holder).state == JobState.PREVIEW_SUCCEEDED)
    StockRecordImportJob.objects.filter(pk=holder.pk).update(
        state=JobState.IMPORT_IN_PROGRESS, confirmed_by=alice
    )

    page.click("button.dxt-confirm")
    message = page.locator(".messagelist .error")
    expect(message).to_contain_text("The import was not started")
    expect(message).to_contain_text(f"Job #{holder.pk}")
    expect(message).to_contain_text("started by alice")
    expect(page.locator("#dxt-refusal")).to_contain_text("started by alice")
    expect(page.locator("button.dxt-confirm")).to_have_count(0)
    shots("confirm-refused")
    assert refreshed(job).state == JobState.PREVIEW_SUCCEEDED
    assert StockRecord.objects.count() == 0

    # once alice's import is over, Confirm comes back and works
    StockRecordImportJob.objects.filter(pk=holder.pk).update(state=JobState.IMPORT_FAILED)
    page.reload()
    page.click("button.dxt-confirm")
    wait_for_state(page, JobState.IMPORT_SUCCEEDED)
    assert StockRecord.objects.count() == 20
    shots("confirmed-after-the-lock")


def refreshed(job: Any) -> Any:
    job.refresh_from_db()
    return job


def test_the_overview_lists_jobs_of_every_type(
    page: Page, live_server: Any, celery_worker: Any, admin_user_pw: User, shots: Shots
) -> None:
    make_catalogue()
    base = live_server.url
    log_in(page, base, shots)
    upload(page, base, shots, "stock.csv", csv_bytes(stock_rows(5)))
    wait_for_state(page, JobState.PREVIEW_SUCCEEDED)
    page.goto(f"{base}/admin/demo/productimportjob/add/")
    page.set_input_files(
        "input[name=file]",
        files=[{"name": "p.csv", "mimeType": "text/csv", "buffer": b"sku,title\nP-9,Nine\n"}],
    )
    page.click("input[type=submit][value='Upload and preview']")
    wait_for_state(page, JobState.PREVIEW_SUCCEEDED)
    page.goto(f"{base}/admin/data_exchange_tool/importjob/")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#result_list")).to_contain_text("product import")
    expect(page.locator("#result_list")).to_contain_text("stock record import")
    shots("overview")
    page.click("#result_list a:text('p.csv')")
    expect(page).to_have_url(re.compile(r"/admin/demo/productimportjob/\d+/change/$"))


# --- the preview as a table, one click for the valid rows, the result -------------------------


def update_rows() -> list[list[Any]]:
    """The 20 stored rows again: two prices changed, one row new, two rows invalid."""
    rows = stock_rows(20)
    rows[3][3] = "99.99"
    rows[7][3] = "0.01"
    rows[12] = ["Nobody", "P-1", rows[12][2], "1.00", 1, 0]
    rows[15][5] = 99  # more allocated than in stock
    return [*rows, ["Globex", "P-2", "GLO-NEW", "5.00", 3, 0]]


def test_update_file_table_skip_invalid_result_and_the_written_rows(
    page: Page, live_server: Any, celery_worker: Any, admin_user_pw: User, shots: Shots
) -> None:
    make_catalogue()
    base = live_server.url
    log_in(page, base, shots)
    upload(page, base, shots, "stock.csv", csv_bytes(stock_rows(20)))
    wait_for_state(page, JobState.PREVIEW_SUCCEEDED)
    page.click("button.dxt-confirm")
    wait_for_state(page, JobState.IMPORT_SUCCEEDED)
    assert StockRecord.objects.count() == 20

    upload(page, base, shots, "stock-update.csv", csv_bytes(update_rows()))
    wait_for_state(page, JobState.PREVIEW_SUCCEEDED)
    shots("update-preview-invalid-tab")
    table = page.locator(".dxt-preview-table")
    # the file's own headers, in its order; each row says which record it is
    headers = table.locator("thead th").all_inner_texts()
    assert headers[3:] == [
        "partner",
        "product",
        "partner_sku",
        "price",
        "num_in_stock",
        "num_allocated",
    ]
    expect(table.locator("tbody tr")).to_have_count(2)
    invalid_cell = table.locator("td.dxt-cell-invalid").first
    expect(invalid_cell).to_contain_text("Nobody")
    expect(invalid_cell.locator(".dxt-cell-error")).to_contain_text("does not exist")
    expect(table).to_contain_text("More allocated than in stock.")

    page.click("a.dxt-tab-updated")
    expect(page.locator(".dxt-tab-updated")).to_have_class(re.compile("dxt-tab-active"))
    rows = page.locator(".dxt-preview-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first.locator("td.dxt-identity")).to_have_text("ACME · SKU-000003")
    changed = rows.first.locator("td.dxt-cell-changed")
    expect(changed).to_have_text("3.50 → 99.99")
    shots("update-preview-updated-tab")

    # one click for the valid rows, after an "are you sure" page
    expect(page.locator("button.dxt-confirm")).to_have_count(0)
    skip = page.locator("button.dxt-skip-invalid")
    expect(skip).to_have_text("Import the 19 valid rows (skip 2 invalid)")
    skip.click()
    expect(page.locator(".dxt-question")).to_contain_text(
        "Import the 19 valid rows and skip the 2 invalid rows?"
    )
    shots("skip-invalid-are-you-sure")
    page.click(".dxt-ask button[type=submit]")
    wait_for_state(page, JobState.IMPORT_SUCCEEDED)
    shots("update-import-result")
    expect(page.locator("#dxt-result-line")).to_have_text(
        "1 created, 2 updated, 16 unchanged, 2 skipped."
    )
    expect(page.locator(".messagelist .warning")).to_have_count(0)
    expect(page.locator("#dxt-refusal")).to_have_count(0)
    # the import's own errors once each, apart from the preview's table
    skipped = page.locator("#dxt-import-errors tbody tr")
    expect(skipped).to_have_count(2)
    assert sorted(skipped.locator("td.dxt-row-number").all_inner_texts()) == ["14", "17"]
    assert StockRecord.objects.get(partner_sku="SKU-000003").price == Decimal("99.99")

    # the link opens the changelist filtered to exactly the rows the import wrote
    page.click("a.dxt-target-link")
    expect(page.locator("#changelist")).to_be_visible()
    expect(page.locator("#result_list tbody tr")).to_have_count(3)
    expect(page.locator("#result_list")).to_contain_text("GLO-NEW")
    shots("written-rows-changelist")


def test_import_button_on_the_targets_changelist(
    page: Page, live_server: Any, admin_user_pw: User, shots: Shots
) -> None:
    make_catalogue()
    base = live_server.url
    log_in(page, base, shots)
    page.goto(f"{base}/admin/demo/stockrecord/")
    shots("target-changelist-with-import")
    page.click("a.dxt-import-link")
    # two job types write stock records in the tests: a page to choose one
    expect(page.locator(".dxt-import-choices li")).to_have_count(2)
    shots("import-choice")
    page.click(".dxt-import-choices a:text('Stock record import')")
    expect(page).to_have_url(re.compile(r"/admin/demo/stockrecordimportjob/add/$"))
    expect(page.locator("input[name=file]")).to_be_visible()
    page.goto(f"{base}/admin/demo/product/")
    page.click("a.dxt-import-link")  # one job type: straight to its upload page
    expect(page).to_have_url(re.compile(r"/admin/demo/productimportjob/add/$"))


def test_an_export_filled_in_through_the_filtersets_widgets(
    page: Page, live_server: Any, celery_worker: Any, admin_user_pw: User, shots: Shots
) -> None:
    catalogue = make_catalogue()
    acme, globex = catalogue["partners"]
    for i, partner in enumerate([acme, acme, globex, globex, globex]):
        StockRecord.objects.create(
            partner=partner,
            product=catalogue["products"][0],
            partner_sku=f"S-{i}",
            price=Decimal(i),
            num_in_stock=i,
        )
    base = live_server.url
    log_in(page, base, shots)
    page.goto(f"{base}/admin/demo/stockrecordexportjob/add/")
    shots("export-form")
    page.select_option("select[name=filter-partner]", "Globex")
    page.fill("input[name=filter-price_min]", "3")
    page.click("input[type=submit]")
    expect(page.locator(".errornote")).to_be_visible()  # no format chosen: nothing started
    expect(page.locator("input[name=format][value=xlsx]")).not_to_be_checked()
    shots("export-form-format-required")
    page.check("input[name=format][value=csv]")
    page.click("input[type=submit]")
    expect(page.locator(".dxt-export")).to_be_visible()
    download = page.locator("a.dxt-download")
    expect(download).to_be_visible(timeout=STATE_TIMEOUT)
    expect(page.locator(".dxt-filters-words")).to_contain_text("Partner name: Globex")
    expect(page.locator(".dxt-filters-words")).to_contain_text("Lowest price: 3")
    shots("export-page")
    with page.expect_download() as info:
        download.click()
    lines = Path(info.value.path()).read_text(encoding="utf-8").splitlines()
    assert [line.split(",")[2] for line in lines[1:]] == ["S-3", "S-4"]
    page.goto(f"{base}/admin/demo/stockrecordexportjob/")
    expect(page.locator("a.dxt-download-link")).to_have_count(1)
    shots("export-list")


def test_the_job_page_speaks_spanish(
    browser: Any, live_server: Any, celery_worker: Any, admin_user_pw: User
) -> None:
    make_catalogue()
    context = browser.new_context(viewport=VIEWPORT, locale="es-ES")
    page = context.new_page()
    shots = Shots(page, "test_the_job_page_speaks_spanish")
    try:
        base = live_server.url
        log_in(page, base, shots)
        rows = [*stock_rows(5), ["Nobody", "P-1", "SKU-X", "1.00", 1, 0]]
        page.goto(f"{base}/admin/demo/stockrecordimportjob/add/")
        page.set_input_files(
            "input[name=file]",
            files=[{"name": "s.csv", "mimeType": "text/csv", "buffer": csv_bytes(rows)}],
        )
        page.click("input[type=submit][name=_save]")
        wait_for_state(page, JobState.PREVIEW_SUCCEEDED)
        shots("job-page-es")
        expect(badge(page)).to_have_text("Vista previa correcta")
        expect(page.locator("#dxt-refusal")).to_contain_text(
            "La vista previa encontró 1 fila no válida"
        )
        expect(page.locator("button.dxt-skip-invalid")).to_have_text(
            "Importar las 5 filas válidas (omitir 1 con errores)"
        )
        expect(page.locator(".dxt-tab-invalid")).to_contain_text("No válidas")
        expect(page.locator("#dxt-downloads h2")).to_have_text("Descargas")
    finally:
        context.close()
