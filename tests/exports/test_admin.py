"""The admin: export actions on the target's changelist, export pages, progress and download."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from data_exchange_tool import actions
from data_exchange_tool.models import ExportJob
from data_exchange_tool.states import ExportState
from example_project.demo.models import StockRecord, StockRecordExportJob
from tests.helpers import new_export

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/demo/stockrecord/"
EXPORTS = "/admin/demo/stockrecordexportjob/"


@pytest.fixture
def records(catalogue):
    acme, globex = catalogue["partners"]
    product = catalogue["products"][0]
    made = []
    for i, partner in enumerate([acme, acme, acme, globex, globex]):
        made.append(
            StockRecord.objects.create(
                partner=partner, product=product, partner_sku=f"S{i}", price=Decimal("1.00")
            )
        )
    return made


def csv_rows(job: ExportJob) -> list[dict[str, str]]:
    from data_exchange_tool.storage import get_storage

    with get_storage().open(job.file.name, "rb") as stored:
        return list(csv.DictReader(io.StringIO(stored.read().decode())))


def post_action(client, run_on_commit, query: str, action: str, pks, select_across: bool):
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(pk) for pk in pks], "index": 0}
    if select_across:
        data["select_across"] = "1"
    with run_on_commit():
        return client.post(f"{CHANGELIST}{query}", data)


def test_export_action_with_select_all_uses_the_changelist_filters(
    admin_client, records, run_on_commit
):
    globex = records[3].partner
    query = f"?partner__id__exact={globex.pk}&o=-3"
    response = post_action(
        admin_client, run_on_commit, query, "export_as_csv", [records[3].pk], True
    )
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{EXPORTS}{job.pk}/change/"
    job.refresh_from_db()
    assert job.state == ExportState.EXPORT_SUCCEEDED, job.message
    assert job.options["changelist"]["params"]["partner__id__exact"] == [str(globex.pk)]
    assert [r["partner_sku"] for r in csv_rows(job)] == ["S3", "S4"]


def test_export_action_without_select_all_takes_the_ticked_rows(
    admin_client, records, run_on_commit
):
    picked = [records[0].pk, records[4].pk]
    post_action(admin_client, run_on_commit, "", "export_as_xlsx", picked, False)
    job = ExportJob.objects.get()
    job.refresh_from_db()
    assert job.format == "xlsx"
    assert job.total_rows == 2
    assert sorted(job.options["pks"]) == picked


def test_the_actions_need_the_add_permission(client, records):
    user = get_user_model().objects.create_user("clerk", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_stockrecord"))
    client.force_login(user)
    page = client.get(CHANGELIST).content.decode()
    assert "export_as_csv" not in page
    user.user_permissions.add(Permission.objects.get(codename="add_stockrecordexportjob"))
    assert "export_as_csv" in client.get(CHANGELIST).content.decode()


def test_export_pages_show_progress_and_a_download_link(admin_client, records, run_on_commit):
    with run_on_commit():
        job = actions.start_export(StockRecordExportJob, filters={"partner": "ACME"})
    listing = admin_client.get(EXPORTS).content.decode()
    assert f"{EXPORTS}{job.pk}/download/" in listing
    page = admin_client.get(f"{EXPORTS}{job.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "dxt-progress" in html
    assert "100%" in html
    assert "Export succeeded" in html
    progress = admin_client.get(f"{EXPORTS}{job.pk}/progress/").json()
    assert progress["state"] == ExportState.EXPORT_SUCCEEDED
    assert (progress["percent"], progress["done"], progress["polling"]) == (100, 3, False)
    download = admin_client.get(f"{EXPORTS}{job.pk}/download/")
    assert download.status_code == 200
    text = b"".join(download.streaming_content).decode()
    assert text.splitlines()[0] == "partner,product,partner_sku,price,num_in_stock,num_allocated"


def test_a_running_export_polls_its_progress(admin_client, records):
    job = new_export()
    html = admin_client.get(f"{EXPORTS}{job.pk}/change/").content.decode()
    assert f'data-url="{EXPORTS}{job.pk}/progress/"' in html
    assert admin_client.get(f"{EXPORTS}{job.pk}/download/").status_code == 404


def test_the_add_page_starts_an_export_and_refuses_bad_filters(
    admin_client, records, run_on_commit
):
    # the filters are the FilterSet's own fields (prefix "filter-"), no longer a JSON text (#12)
    page = admin_client.get(f"{EXPORTS}add/").content.decode()
    assert 'name="filter-partner"' in page
    assert 'name="filter-price_min"' in page
    assert 'type="radio" name="format"' in page
    assert "---------" not in page.split('name="format"')[1].split("</div>")[0]
    bad = admin_client.post(f"{EXPORTS}add/", {"format": "csv", "filter-partner": "Nobody"})
    assert bad.status_code == 200
    assert "The export was not started" in bad.content.decode()
    assert "Select a valid choice" in bad.content.decode()
    assert not ExportJob.objects.exists()
    with run_on_commit():
        good = admin_client.post(
            f"{EXPORTS}add/", {"format": "csv", "filter-partner": "Globex", "bom": "on"}
        )
    assert good.status_code == 302
    job = ExportJob.objects.get()
    assert good["Location"] == f"{EXPORTS}{job.pk}/change/"  # saving opens the export's page
    assert job.options == {"bom": True}
    assert job.filters == {"partner": "Globex"}
    assert job.created_by.username == "admin"
    job.refresh_from_db()
    assert job.total_rows == 2


def test_the_format_must_be_chosen(admin_client, records):
    response = admin_client.post(f"{EXPORTS}add/", {"filter-partner": "Globex"})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not ExportJob.objects.exists()


def test_empty_filters_and_ranges_are_no_filter(admin_client, records, run_on_commit):
    with run_on_commit():
        admin_client.post(
            f"{EXPORTS}add/",
            {
                "format": "xlsx",
                "filter-partner": "",
                "filter-price_min": "0.5",
                "filter-in_stock": "unknown",
            },
        )
    job = ExportJob.objects.get()
    assert job.filters == {"price_min": "0.5"}
    assert job.format == "xlsx"


def test_the_export_page_says_which_rows_in_words(admin_client, records, run_on_commit):
    globex = records[3].partner
    query = f"?partner__id__exact={globex.pk}"
    post_action(admin_client, run_on_commit, query, "export_as_csv", [records[3].pk], True)
    job = ExportJob.objects.get()
    html = admin_client.get(f"{EXPORTS}{job.pk}/change/").content.decode()
    assert "Partner: <strong>Globex</strong>" in html  # the changelist's filter, by name
    assert f'href="{EXPORTS}{job.pk}/download/"' in html
    assert "dxt-download" in html
    with run_on_commit():
        other = actions.start_export(StockRecordExportJob, filters={"price_min": "0.5"})
    html = admin_client.get(f"{EXPORTS}{other.pk}/change/").content.decode()
    assert "Lowest price: <strong>0.5</strong>" in html


def test_users_see_only_their_own_exports(client, records):
    owner = get_user_model().objects.create_user("owner", password="pw")
    other = get_user_model().objects.create_user("other", password="pw", is_staff=True)
    other.user_permissions.add(Permission.objects.get(codename="view_stockrecordexportjob"))
    job = new_export(user=owner)
    client.force_login(other)
    assert client.get(f"{EXPORTS}{job.pk}/progress/").status_code == 404
    other.user_permissions.add(Permission.objects.get(codename="view_all_stockrecordexportjob"))
    assert client.get(f"{EXPORTS}{job.pk}/progress/").status_code == 200


def test_cancel_action(admin_client, records):
    job = new_export()
    admin_client.post(
        EXPORTS, {"action": "cancel_selected", ACTION_CHECKBOX_NAME: [str(job.pk)], "index": 0}
    )
    job.refresh_from_db()
    assert job.state == ExportState.CANCELLED
