"""Fixtures of the admin tests: users with chosen permissions, jobs uploaded through the admin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from example_project.demo.models import StockRecordImportJob
from tests.helpers import csv_bytes, stock_rows

STOCK = "demo_stockrecordimportjob"


def admin_url(name: str, *args: Any, prefix: str = STOCK) -> str:
    """Return ``admin:<prefix>_<name>`` reversed with ``args``."""
    return reverse(f"admin:{prefix}_{name}", args=args)


def grant(user: User, *perms: str) -> User:
    """Give ``user`` the permissions named ``"app_label.codename"``; return it fresh."""
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return User.objects.get(pk=user.pk)


@pytest.fixture
def make_staff(db) -> Callable[..., User]:
    """Return a factory of staff users holding the given permissions."""

    def factory(username: str, *perms: str) -> User:
        user = User.objects.create_user(username, password="pw", is_staff=True)
        return grant(user, *perms)

    return factory


@pytest.fixture
def clerk(make_staff) -> User:
    """A staff user who may upload and view stock record imports, but not confirm them."""
    return make_staff("clerk", "demo.add_stockrecordimportjob", "demo.view_stockrecordimportjob")


@pytest.fixture
def clerk_client(clerk) -> Client:
    client = Client()
    client.force_login(clerk)
    return client


@pytest.fixture
def upload(run_on_commit) -> Callable[..., Any]:
    """Upload a file through a client's add page; the preview runs; return (response, job)."""

    def uploader(client: Client, content: bytes, name: str = "stock.csv", **data: Any) -> Any:
        from django.core.files.uploadedfile import SimpleUploadedFile

        with run_on_commit():
            response = client.post(
                admin_url("add"), {"file": SimpleUploadedFile(name, content), **data}
            )
        job = StockRecordImportJob.objects.order_by("-pk").first()
        return response, job

    return uploader


def bad_rows() -> list[list[Any]]:
    """Two valid rows and two invalid ones (an unknown partner, more allocated than stocked)."""
    return [
        *stock_rows(2),
        ["Nobody", "P-1", "SKU-X", "1.00", 1, 0],
        ["ACME", "P-2", "SKU-Y", "2.00", 1, 5],
    ]


def bad_csv() -> bytes:
    return csv_bytes(bad_rows())
