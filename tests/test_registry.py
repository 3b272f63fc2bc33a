"""Job types: the registry, their managers, Meta options as class attributes, permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile

from data_exchange_tool.exceptions import ConfigurationError
from data_exchange_tool.models import ImportJob
from data_exchange_tool.registry import get_job_type, job_types
from example_project.demo.models import Product, ProductImportJob, StockRecord, StockRecordImportJob
from example_project.demo.serializers import ImportStockRecordSerializer
from tests.testapp.models import Tag, TagImportJob
from tests.testapp.serializers import TagSerializer

JOB_TYPES = [StockRecordImportJob, ProductImportJob, TagImportJob]


def make(job_type: type, **fields) -> ImportJob:
    return job_type.objects.create(file=ContentFile(b"a\n", name="f.csv"), **fields)


def test_every_job_type_is_registered_under_its_label():
    for job_type in JOB_TYPES:
        assert get_job_type(job_type._meta.label_lower) is job_type
        assert job_type in job_types()
        assert job_type in job_types(ImportJob)
    assert ImportJob not in job_types()
    assert get_job_type("demo.nothing") is None


def test_job_types_filter_by_base():
    assert job_types(StockRecordImportJob) == [StockRecordImportJob]


def test_meta_options_become_class_attributes():
    assert TagImportJob.target_model == "testapp.Tag"
    assert TagImportJob.serializer_class == "tests.testapp.serializers.TagSerializer"
    assert TagImportJob.natural_key == ("code",)
    assert TagImportJob.column_mapping == {"Tag code": "code"}
    assert TagImportJob.batch_size == 3
    assert "target_model" not in TagImportJob._meta.original_attrs
    assert not hasattr(TagImportJob._meta, "target_model")
    # The base keeps its defaults: a job type's options do not leak into it.
    assert ImportJob.target_model is None
    assert ImportJob.natural_key is None


@pytest.mark.parametrize(
    ("job_type", "model", "serializer", "lookups"),
    [
        (TagImportJob, Tag, TagSerializer, ("code",)),
        (
            StockRecordImportJob,
            StockRecord,
            ImportStockRecordSerializer,
            ("partner", "partner_sku"),
        ),
        (ProductImportJob, Product, None, ("sku",)),
    ],
)
def test_options_resolve(job_type, model, serializer, lookups):
    assert job_type.get_target_model() is model
    if serializer is not None:
        assert job_type.get_serializer_class() is serializer
    assert job_type.get_natural_key() == lookups


def test_getters_fall_back_to_settings(settings):
    settings.DATA_EXCHANGE_BATCH_SIZE = 250
    settings.DATA_EXCHANGE_PREVIEW_SAMPLE_SIZE = 7
    job = StockRecordImportJob()
    assert job.get_batch_size() == 250
    assert job.get_preview_sample_size() == 7
    assert TagImportJob().get_batch_size() == 3
    assert StockRecordImportJob.get_column_mapping() == {}
    assert TagImportJob.get_column_mapping() == {"Tag code": "code"}


@pytest.mark.django_db
def test_a_job_records_its_type_and_target():
    job = make(TagImportJob)
    assert job.job_type == "testapp.tagimportjob"
    assert job.content_type == ContentType.objects.get_for_model(Tag)
    assert job.file_name == "f.csv"
    assert job.file_size == 2
    assert len(job.file_sha256) == 64


@pytest.mark.django_db
def test_the_base_model_refuses_to_create_jobs():
    with pytest.raises(ConfigurationError, match="through a job type"):
        ImportJob.objects.create(file=ContentFile(b"a\n", name="f.csv"))


@pytest.mark.django_db
def test_a_job_types_manager_sees_only_its_jobs():
    stock = make(StockRecordImportJob)
    tag = make(TagImportJob)
    product = make(ProductImportJob)
    assert list(StockRecordImportJob.objects.all()) == [stock]
    assert list(TagImportJob.objects.values_list("pk", flat=True)) == [tag.pk]
    assert ProductImportJob.objects.filter(pk=stock.pk).count() == 0
    with pytest.raises(TagImportJob.DoesNotExist):
        TagImportJob.objects.get(pk=product.pk)
    assert ImportJob.objects.count() == 3


@pytest.mark.django_db
def test_the_base_manager_returns_each_job_as_its_type():
    pks = {make(job_type).pk: job_type for job_type in JOB_TYPES}
    assert {job.pk: type(job) for job in ImportJob.objects.all()} == pks
    for pk, job_type in pks.items():
        assert type(ImportJob.objects.get(pk=pk)) is job_type


@pytest.mark.django_db
def test_a_row_of_an_unknown_type_loads_as_the_base():
    job = make(TagImportJob)
    ImportJob.objects.filter(pk=job.pk).update(job_type="gone.oldimportjob")
    assert type(ImportJob.objects.get(pk=job.pk)) is ImportJob


@pytest.mark.django_db
@pytest.mark.parametrize("job_type", JOB_TYPES)
@pytest.mark.parametrize("action", ["confirm", "view_all"])
def test_each_job_type_has_its_own_permissions(job_type, action):
    codename = f"{action}_{job_type._meta.model_name}"
    content_type = ContentType.objects.get_for_model(job_type, for_concrete_model=False)
    assert Permission.objects.filter(content_type=content_type, codename=codename).exists()
    assert job_type.permission_codename(action) == f"{job_type._meta.app_label}.{codename}"


@pytest.mark.django_db
def test_a_job_type_permission_is_not_another_types():
    user = User.objects.create_user("ana")
    content_type = ContentType.objects.get_for_model(TagImportJob, for_concrete_model=False)
    user.user_permissions.add(
        Permission.objects.get(content_type=content_type, codename="confirm_tagimportjob")
    )
    user = User.objects.get(pk=user.pk)
    assert user.has_perm(TagImportJob.permission_codename("confirm"))
    assert not user.has_perm(StockRecordImportJob.permission_codename("confirm"))
    assert not user.has_perm(ImportJob.permission_codename("confirm"))


def test_base_permissions_cover_every_type():
    codenames = {codename for codename, _ in ImportJob._meta.permissions}
    assert codenames == {"confirm_importjob", "view_all_importjob"}
    assert ImportJob.permission_codename("confirm") == "data_exchange_tool.confirm_importjob"


def test_verbose_name_reaches_the_permission_labels():
    labels = dict(StockRecordImportJob._meta.permissions)
    assert labels["confirm_stockrecordimportjob"] == "Can confirm stock record import"
