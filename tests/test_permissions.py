"""The one permission policy: the table in ``permissions``, asked alike by the admin and the API."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User

from data_exchange_tool import permissions
from data_exchange_tool.models import ExportJob, ImportJob
from example_project.demo.models import ProductImportJob, StockRecordExportJob, StockRecordImportJob

pytestmark = pytest.mark.django_db


def user_with(name: str, *perms: str) -> User:
    user = User.objects.create_user(name)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return User.objects.get(pk=user.pk)


def stock(word: str) -> str:
    return f"demo.{word}_stockrecordimportjob"


def test_a_type_permission_opens_that_type_only():
    user = user_with("u", stock("add"), stock("view"))
    assert permissions.can_start(user, StockRecordImportJob)
    assert permissions.can_read(user, StockRecordImportJob)
    assert not permissions.can_start(user, ProductImportJob)
    assert not permissions.can_confirm(user, StockRecordImportJob)
    assert not permissions.can_view_all(user, StockRecordImportJob)


@pytest.mark.parametrize(
    ("perm", "check"),
    [
        ("data_exchange_tool.add_importjob", permissions.can_start),
        ("data_exchange_tool.confirm_importjob", permissions.can_confirm),
        ("data_exchange_tool.view_all_importjob", permissions.can_view_all),
        ("data_exchange_tool.view_importjob", permissions.can_read),
    ],
)
def test_the_concrete_models_permission_opens_every_import_type(perm, check):
    user = user_with("u", perm)
    assert check(user, StockRecordImportJob)
    assert check(user, ProductImportJob)
    assert not check(user, StockRecordExportJob)


def test_change_implies_reading_as_in_djangos_admin():
    assert permissions.can_read(user_with("u", stock("change")), StockRecordImportJob)


def test_rerun_and_cancel_need_change_or_being_the_uploader_with_add():
    uploader = user_with("uploader", stock("add"))
    other = user_with("other", stock("add"), stock("view_all"))
    editor = user_with("editor", stock("change"))
    confirmer = user_with("confirmer", stock("confirm"))
    job = StockRecordImportJob(created_by=uploader)
    assert permissions.can_rerun(uploader, job)
    assert permissions.can_cancel(uploader, job)
    assert not permissions.can_rerun(other, job)
    assert not permissions.can_cancel(other, job)
    assert permissions.can_rerun(editor, job)
    assert permissions.can_cancel(editor, job)
    assert not permissions.can_rerun(confirmer, job)
    assert permissions.can_cancel(confirmer, job), "who may confirm may cancel an import"
    former = User.objects.create_user("former")  # uploaded once, lost the add permission since
    assert not permissions.can_cancel(former, StockRecordImportJob(created_by=former))


def test_an_export_is_cancelled_by_who_started_it_or_change():
    starter = user_with("starter", "demo.add_stockrecordexportjob")
    other = user_with("other", "demo.add_stockrecordexportjob")
    job = StockRecordExportJob(created_by=starter)
    assert permissions.can_cancel(starter, job)
    assert not permissions.can_cancel(other, job)
    assert permissions.can_cancel(user_with("e", "data_exchange_tool.change_exportjob"), job)


def test_visible_jobs_are_ones_own_unless_view_all():
    alice = user_with("alice", stock("view"))
    boss = user_with("boss", stock("view"), stock("view_all"))
    jobs = StockRecordImportJob.objects.all()
    assert "created_by_id" in str(permissions.visible_jobs(jobs, alice, StockRecordImportJob).query)
    assert permissions.visible_jobs(jobs, boss, StockRecordImportJob) is jobs


def test_inactive_users_may_nothing():
    user = user_with("gone", stock("add"), stock("view"))
    user.is_active = False
    assert not permissions.can_start(user, StockRecordImportJob)
    assert not permissions.can_read(user, StockRecordImportJob)


def test_the_missing_permission_is_named():
    words = ("view", "view_all")
    assert permissions.describe_missing(StockRecordImportJob, words) == (
        "You need the permission demo.view_stockrecordimportjob or "
        "demo.view_all_stockrecordimportjob."
    )
    assert permissions.concrete(StockRecordExportJob) is ExportJob
    assert permissions.concrete(StockRecordImportJob) is ImportJob
