"""Fixtures of the API tests: users holding chosen permissions, and an API client per user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

STOCK = "/api/imports/stock-record/"
#: Every permission of the stock record job type.
STOCK_PERMS = {
    word: f"demo.{word}_stockrecordimportjob" for word in ("add", "view", "confirm", "view_all")
}


def grant(user: Any, *names: str) -> Any:
    """Give ``user`` the permissions ``"app_label.codename"``; return the user read again."""
    for name in names:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return get_user_model().objects.get(pk=user.pk)


@pytest.fixture
def make_user(db) -> Callable[..., Any]:
    """Return ``make_user(username, *permissions)``."""

    def make(username: str, *permissions: str) -> Any:
        user = get_user_model().objects.create_user(username, password="pw")
        return grant(user, *permissions)

    return make


@pytest.fixture
def client_for() -> Callable[[Any], APIClient]:
    """Return ``client_for(user)``: an API client authenticated as ``user``."""

    def build(user: Any) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return build


@pytest.fixture
def alice(make_user):
    """A user who may start, read and confirm stock record imports."""
    return make_user("alice", STOCK_PERMS["add"], STOCK_PERMS["view"], STOCK_PERMS["confirm"])


@pytest.fixture
def api(client_for, alice) -> APIClient:
    """An API client authenticated as alice."""
    return client_for(alice)


@pytest.fixture
def upload(api, run_on_commit) -> Callable[..., Any]:
    """Return ``upload(content, name=..., **fields)``: POST start as alice, tasks run."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    def post(content: bytes, name: str = "stock.csv", client: APIClient | None = None, **fields):
        data = {"file": SimpleUploadedFile(name, content), **fields}
        with run_on_commit():
            return (client or api).post(f"{STOCK}start/", data, format="multipart")

    return post
