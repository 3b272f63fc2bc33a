"""The library's serializer fields: ``ThroughManyField`` and ``FileFromURLField``, alone."""

from __future__ import annotations

import datetime

import pytest
from rest_framework import serializers

from data_exchange_tool.fields import FileFromURLField, ThroughItem, ThroughManyField
from tests.testapp.models import Artist, Band, Membership
from tests.testapp.serializers import ArtistSerializer

pytestmark = pytest.mark.django_db


@pytest.fixture
def bands(db):
    return {title: Band.objects.create(title=title) for title in ("Walter-Hodges", "Ortiz-Hughes")}


def bands_field() -> ThroughManyField:
    return ArtistSerializer().fields["bands"]


def test_a_cell_gives_related_objects_with_their_through_data(bands):
    value = bands_field().run_validation("Walter-Hodges:1971-09-22; Ortiz-Hughes : 2018-02-02")
    assert value == [
        ThroughItem(bands["Walter-Hodges"], {"date_joined": datetime.date(1971, 9, 22)}),
        ThroughItem(bands["Ortiz-Hughes"], {"date_joined": datetime.date(2018, 2, 2)}),
    ]


def test_an_item_is_split_on_its_first_separators_only():
    field = ThroughManyField(through=Membership, related="band", extra_fields=["date_joined", "at"])
    assert field.parse_item("Walter-Hodges:1971-09-22:10:30:00") == (
        "Walter-Hodges",
        ["1971-09-22", "10:30:00"],
    )
    assert field.parse_item("Walter-Hodges") == ("Walter-Hodges", [])


def test_errors_name_their_item(bands):
    with pytest.raises(serializers.ValidationError) as caught:
        bands_field().run_validation("Walter-Hodges:22/09/1971;Nobody:2000-01-01;Ortiz-Hughes")
    assert [str(m) for m in caught.value.detail] == [
        "Walter-Hodges (date_joined): Date has wrong format. Use one of these formats instead: "
        "YYYY-MM-DD.",
        "Object with title=Nobody does not exist.",
        "Ortiz-Hughes (date_joined): This field is required.",
    ]


def test_an_object_listed_twice_is_an_error(bands):
    with pytest.raises(serializers.ValidationError, match="Walter-Hodges is listed more than"):
        bands_field().run_validation("Walter-Hodges:1971-09-22;Walter-Hodges:1980-01-01")


def test_an_empty_cell_is_no_related_object():
    assert bands_field().run_validation("") == []
    field = ThroughManyField(through=Membership, related="band", allow_empty=False)
    with pytest.raises(serializers.ValidationError, match="may not be empty"):
        field.run_validation([])


def test_the_field_renders_an_instance_as_the_cell_it_reads(bands):
    artist = Artist.objects.create(name="Ann")
    Membership.objects.create(
        artist=artist, band=bands["Ortiz-Hughes"], date_joined=datetime.date(2018, 2, 2)
    )
    Membership.objects.create(
        artist=artist, band=bands["Walter-Hodges"], date_joined=datetime.date(1971, 9, 22)
    )
    assert (
        ArtistSerializer(artist).data["bands"] == "Ortiz-Hughes:2018-02-02;Walter-Hodges:1971-09-22"
    )


def test_the_through_model_is_checked():
    assert bands_field().check_configuration(Artist) == []
    wrong = ThroughManyField(through=Membership, related="singer", extra_fields=["date_joined"])
    assert wrong.check_configuration(Artist) == [
        "ThroughManyField: testapp.Membership has no field 'singer'."
    ]
    missing = ThroughManyField(through=Membership, related="band", extra_fields=["year"])
    assert "no field 'year'" in missing.check_configuration(Artist)[0]
    relation = ThroughManyField(through=Membership, related="band", extra_fields=["artist"])
    assert "must be a plain field" in relation.check_configuration(Artist)[0]
    owner = ThroughManyField(through=Membership, related="band")
    assert "0 foreign keys to testapp.Band" in owner.check_configuration(Band)[0]
    slug = ThroughManyField(through=Membership, related="band", slug_field="name")
    assert "testapp.Band has no field 'name'" in slug.check_configuration(Artist)[0]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("https://cdn.example.com/a.png", None),
        ("http://cdn.example.com/a.png?v=1", None),
        ("/media/catalogue/a.png", None),  # a relative URL: only as the row's current file
        ("", None),
        ("ftp://cdn.example.com/a.png", "Only http:// and https:// URLs can be downloaded."),
        ("https://", "Enter a valid URL: it names no host."),
        ("//cdn.example.com/a.png", "Only http:// and https:// URLs can be downloaded."),
    ],
)
def test_a_file_url_is_checked_for_its_form(text, error):
    field = FileFromURLField(allow_blank=True)
    if error is None:
        assert field.run_validation(text) == text
    else:
        with pytest.raises(serializers.ValidationError) as caught:
            field.run_validation(text)
        assert [str(m) for m in caught.value.detail] == [error]


def test_a_stored_file_is_written_as_its_url(rf):
    class Stored:
        url = "/media/catalogue/a.png"

        def __bool__(self):
            return True

    assert FileFromURLField().to_representation(Stored()) == "/media/catalogue/a.png"
    field = FileFromURLField()
    field.bind("image", serializers.Serializer(context={"request": rf.get("/")}))
    assert field.to_representation(Stored()) == "http://testserver/media/catalogue/a.png"
    assert field.to_representation(None) == ""
