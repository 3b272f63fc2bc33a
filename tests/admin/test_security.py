"""Who sees which jobs: per-type view permission, own jobs, other types' ids, the overview."""

from __future__ import annotations

import pytest
from django.test import Client

from example_project.demo.models import ProductImportJob
from tests.admin.conftest import STOCK, admin_url
from tests.helpers import create_job, csv_bytes, stock_rows

PRODUCT = "demo_productimportjob"


def product_job():
    return create_job(
        csv_bytes([["P-9", "Nine"]], headers=["sku", "title"]), "p.csv", ProductImportJob
    )


@pytest.mark.parametrize("name", ["change", "progress", "file", "errors"])
def test_a_job_id_of_another_type_is_not_found(admin_client, catalogue, name):
    job = product_job()
    assert admin_client.get(admin_url(name, job.pk, prefix=PRODUCT)).status_code == 200
    response = admin_client.get(admin_url(name, job.pk, prefix=STOCK))
    assert response.status_code == 404


@pytest.mark.parametrize("action", ["confirm", "cancel", "rerun"])
def test_a_post_with_an_id_of_another_type_is_not_found(admin_client, catalogue, action):
    job = product_job()
    assert admin_client.post(admin_url(action, job.pk, prefix=STOCK)).status_code == 404


def test_each_type_lists_only_its_own_jobs(admin_client, catalogue):
    product_job()
    create_job(csv_bytes(stock_rows(1)))
    create_job(csv_bytes(stock_rows(1)))
    stock = admin_client.get(admin_url("changelist"))
    products = admin_client.get(admin_url("changelist", prefix=PRODUCT))
    assert stock.context["cl"].result_count == 2
    assert products.context["cl"].result_count == 1


def test_users_without_the_view_permission_see_no_jobs_of_the_type(make_staff, catalogue):
    job = create_job(csv_bytes(stock_rows(1)))
    client = Client()
    user = make_staff("products_only", "demo.view_productimportjob")
    client.force_login(user)
    assert client.get(admin_url("changelist")).status_code == 403
    assert client.get(admin_url("change", job.pk)).status_code == 403
    assert client.get(admin_url("progress", job.pk)).status_code == 403
    index = client.get("/admin/").content.decode()
    assert "Stock record imports" not in index
    assert "Product imports" in index


def test_without_view_all_a_user_sees_only_their_own_jobs(
    clerk, clerk_client, make_staff, catalogue
):
    mine = create_job(csv_bytes(stock_rows(1)), created_by=clerk)
    theirs = create_job(csv_bytes(stock_rows(1)), created_by=make_staff("someone"))
    listed = clerk_client.get(admin_url("changelist")).context["cl"].result_list
    assert [job.pk for job in listed] == [mine.pk]
    assert clerk_client.get(admin_url("change", theirs.pk)).status_code == 404
    assert clerk_client.get(admin_url("file", theirs.pk)).status_code == 404


def test_view_all_shows_every_users_jobs(clerk, make_staff, catalogue):
    from tests.admin.conftest import grant

    create_job(csv_bytes(stock_rows(1)), created_by=clerk)
    theirs = create_job(csv_bytes(stock_rows(1)), created_by=make_staff("someone"))
    client = Client()
    client.force_login(grant(clerk, "demo.view_all_stockrecordimportjob"))
    assert client.get(admin_url("changelist")).context["cl"].result_count == 2
    assert client.get(admin_url("change", theirs.pk)).status_code == 200


def test_the_overview_lists_every_type_for_superusers(admin_client, catalogue):
    product = product_job()
    stock = create_job(csv_bytes(stock_rows(1)))
    response = admin_client.get("/admin/data_exchange_tool/importjob/")
    assert response.status_code == 200
    body = response.content.decode()
    assert response.context["cl"].result_count == 2
    assert admin_url("change", product.pk, prefix=PRODUCT) in body
    assert admin_url("change", stock.pk) in body
    assert "product import" in body
    redirect = admin_client.get(f"/admin/data_exchange_tool/importjob/{stock.pk}/change/")
    assert redirect.status_code == 302
    assert redirect.url == admin_url("change", stock.pk)
    only_products = admin_client.get(
        "/admin/data_exchange_tool/importjob/", {"job_type": "demo.productimportjob"}
    )
    assert [job.pk for job in only_products.context["cl"].result_list] == [product.pk]
    assert "Stock record import</a>" in body  # the filter names types by verbose name


def test_the_overview_is_hidden_from_staff(clerk_client):
    assert clerk_client.get("/admin/data_exchange_tool/importjob/").status_code == 403
    assert "/admin/data_exchange_tool/" not in clerk_client.get("/admin/").content.decode()


def test_the_overview_is_read_only(admin_client):
    assert admin_client.get("/admin/data_exchange_tool/importjob/add/").status_code == 403


def test_url_names_of_several_types_do_not_collide():
    from django.urls import reverse

    assert reverse(f"admin:{STOCK}_confirm", args=[1]) != reverse(
        f"admin:{PRODUCT}_confirm", args=[1]
    )
