"""Writers and sinks: CSV/XLSX cells, formula neutralisation, streaming to S3 in parts."""

from __future__ import annotations

import io
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws

from data_exchange_tool import writers
from data_exchange_tool.formulas import neutralize, restore
from data_exchange_tool.writers import (
    BaseSink,
    CSVWriter,
    S3MultipartSink,
    XLSXWriter,
    get_writer_class,
    open_sink,
    text_cell,
)
from tests.helpers import new_export


class MemorySink(BaseSink):
    def __init__(self) -> None:
        super().__init__(None, "x", "")
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data
        self.size += len(data)

    def commit(self) -> str:
        return self.name


@pytest.mark.parametrize(
    "value",
    [-5, -5.5, Decimal("-5.00"), "-5", "-5.00", "+3", "-1e5", "1e-5", "007", "", None, 0, True],
)
def test_numbers_and_plain_text_are_never_touched(value):
    expected = "" if value is None else value
    assert text_cell(value, True) == expected
    if isinstance(value, str):
        assert neutralize(value) == value


@pytest.mark.parametrize(
    "text", ["=1+1", "+SUM(A1)", "-A1", "@cmd", "\tx", "\rx", "-", "'=x", "''-y", "=-5"]
)
def test_formula_text_gains_one_quote_and_restore_takes_it_off(text):
    assert text_cell(text, True) == "'" + text
    assert restore(text_cell(text, True)) == text


def test_restore_leaves_other_quotes_alone():
    assert restore("'hello") == "'hello"
    assert restore("it's") == "it's"
    assert restore("'-5") == "-5"  # a spreadsheet's own text marker before a number


def test_neutralisation_follows_the_setting(settings):
    settings.DATA_EXCHANGE_NEUTRALIZE_FORMULAS = False
    assert neutralize("=1+1") == "=1+1"
    sink = MemorySink()
    writer = CSVWriter(sink, ["a"])
    writer.write_rows([["=1+1"]])
    writer.close()
    assert sink.data.decode() == "a\r\n=1+1\r\n"


def test_csv_writer_quotes_and_neutralises():
    sink = MemorySink()
    writer = CSVWriter(sink, ["a", "b", "c"], neutralize=True, bom=True)
    writer.write_rows([['x, "y"', None, -5], ["=2", "é", Decimal("1.50")]])
    writer.close()
    text = bytes(sink.data).decode("utf-8")
    assert text == '\ufeffa,b,c\r\n"x, ""y""",,-5\r\n\'=2,é,1.50\r\n'


@pytest.mark.django_db
@pytest.mark.parametrize("values_path", [True, False])
def test_renderer_writes_containers_as_json_on_both_paths(values_path):
    from rest_framework import serializers

    from data_exchange_tool.exports.rendering import RowRenderer
    from data_exchange_tool.models import ExportJob

    class JobRow(serializers.ModelSerializer):
        class Meta:
            model = ExportJob
            fields = ("id", "options", "total_rows")

    class WithMethod(JobRow):
        extra = serializers.SerializerMethodField()

        class Meta(JobRow.Meta):
            fields = (*JobRow.Meta.fields, "extra")

        def get_extra(self, obj):
            return ["x", 1]

    job = new_export(options={"pks": [1, 2]})
    renderer = RowRenderer(JobRow() if values_path else WithMethod(), ExportJob)
    assert (renderer.paths is not None) == values_path
    rows = renderer.render_chunk(list(renderer.prepare(ExportJob.objects.filter(pk=job.pk))))
    assert rows[0][:3] == [job.pk, '{"pks": [1, 2]}', 0]
    if not values_path:
        assert rows[0][3] == '["x", 1]'


def test_xlsx_writer_keeps_text_as_text_and_drops_illegal_characters():
    from openpyxl import load_workbook

    sink = MemorySink()
    writer = XLSXWriter(sink, ["a", "b", "c"], neutralize=False)
    writer.write_rows([["=1+1", "bell\x07", 12]])
    writer.close()
    sheet = load_workbook(io.BytesIO(bytes(sink.data))).active
    a, b, c = next(sheet.iter_rows(min_row=2))
    assert (a.value, a.data_type) == ("=1+1", "s")
    assert b.value == "bell"
    assert (c.value, c.data_type) == (12, "n")


def test_unknown_format():
    from data_exchange_tool.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match="csv, xlsx"):
        get_writer_class("pdf")


@pytest.fixture
def s3_storage():
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="bucket")
        from storages.backends.s3 import S3Storage

        yield S3Storage(bucket_name="bucket", location="base", access_key="k", secret_key="s")


def test_s3_sink_streams_in_parts_with_flat_memory(s3_storage, monkeypatch):
    monkeypatch.setattr(writers, "PART_SIZE", 5 * 1024 * 1024)  # S3's smallest part
    sink = open_sink(s3_storage, "exports/big.csv", "text/csv")
    assert isinstance(sink, S3MultipartSink)
    writer = CSVWriter(sink, ["n", "text"])
    largest = 0
    for start in range(0, 120_000, 10_000):
        writer.write_rows([i, "x" * 100] for i in range(start, start + 10_000))
        largest = max(largest, len(sink.buffer))
    writer.close()
    name = sink.commit()
    assert name == "exports/big.csv"
    assert len(sink.parts) >= 2  # sent as parts while rows were written
    assert largest < writers.PART_SIZE + 2 * 1024 * 1024  # never the whole file in memory
    obj = s3_storage.bucket.Object("base/exports/big.csv").get()
    assert obj["ContentLength"] == sink.size
    assert obj["ContentType"] == "text/csv"
    body = obj["Body"].read().decode()
    assert body.count("\r\n") == 120_001


def test_s3_sink_small_file_is_one_put_and_abort_leaves_nothing(s3_storage):
    sink = open_sink(s3_storage, "small.csv", "text/csv")
    sink.write(b"a\r\n1\r\n")
    sink.commit()
    with s3_storage.open("small.csv") as stored:
        assert stored.read() == b"a\r\n1\r\n"

    aborted = open_sink(s3_storage, "aborted.csv", "text/csv")
    aborted.write(b"x" * (writers.PART_SIZE + 1))
    assert aborted.upload_id is not None
    aborted.abort()
    assert not s3_storage.exists("aborted.csv")
    client = s3_storage.bucket.meta.client
    assert not client.list_multipart_uploads(Bucket="bucket").get("Uploads")
