"""ValidationPlan gives what serializer.run_validation gives: same data, same errors, same codes."""

from __future__ import annotations

import datetime
import itertools
import random
from decimal import Decimal
from typing import Any

import pytest
from django.core import validators
from django.core.exceptions import ValidationError as DjangoValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from data_exchange_tool.imports.plan import ValidationPlan, column_passes, passes
from example_project.demo.models import Partner, Product
from example_project.demo.serializers import ImportStockRecordSerializer

CELLS = [
    "",
    " ",
    "abc",
    "  padded  ",
    "12",
    "007",
    "-3",
    "1.5",
    "1e3",
    "12345678901234567890",
    "true",
    "no",
    "red",
    "2024-02-29",
    "2023-02-29",
    "a@example.com",
    "x" * 40,
    "\ud800",
    "MISSING",
]


def no_thirteen(value: Any) -> None:
    if value == 13:
        raise DjangoValidationError("13 is unlucky.", code="unlucky")


class ContextValidator:
    requires_context = True

    def __call__(self, value: Any, field: serializers.Field) -> None:
        if str(value).startswith("1") and field.field_name == "count":
            raise serializers.ValidationError(f"{field.field_name} starts with 1.")


class Everything(serializers.Serializer):
    name = serializers.CharField(max_length=20)
    note = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    count = serializers.IntegerField(
        min_value=0, max_value=1000, validators=[no_thirteen, ContextValidator()]
    )
    ratio = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    flag = serializers.BooleanField(required=False)
    colour = serializers.ChoiceField(choices=["red", "green"], required=False)
    day = serializers.DateField(required=False, allow_null=True)
    email = serializers.EmailField(required=False)
    size = serializers.FloatField(required=False, default=1.0)
    hidden = serializers.HiddenField(default="h")
    shown = serializers.CharField(read_only=True, default="r")
    nested_name = serializers.CharField(source="nested.name", required=False)

    def validate_name(self, value: str) -> str:
        if value == "abc":
            raise serializers.ValidationError("abc is taken.")
        return value.upper()

    def validate(self, attrs: dict) -> dict:
        if attrs.get("count") == 7 and attrs.get("flag") is False:
            raise serializers.ValidationError({"flag": "7 needs the flag."})
        if attrs.get("name") == "12":
            raise DjangoValidationError("twelve")
        return attrs


class WithSerializerValidator(serializers.Serializer):
    a = serializers.IntegerField()
    b = serializers.IntegerField(required=False)

    class Meta:
        validators: list = []

    def get_validators(self) -> list:
        def a_below_b(attrs: dict) -> None:
            if "b" in attrs and attrs["a"] >= attrs["b"]:
                raise serializers.ValidationError("a must be below b.")

        return [a_below_b]


class ShoutingField(serializers.CharField):
    def run_validation(self, data: Any = serializers.empty) -> Any:
        return super().run_validation(data).upper() + "!"


class OwnSteps(serializers.Serializer):
    loud = ShoutingField()
    n = serializers.IntegerField()

    def to_internal_value(self, data: Any) -> Any:
        data = {**data, "n": str(data.get("n", "")).replace(",", "")}
        return super().to_internal_value(data)


def outcome(call: Any, data: dict) -> Any:
    try:
        return ("ok", call(data))
    except ValidationError as exc:
        return ("error", exc.detail, exc.get_codes())


def rows_for(serializer: serializers.Serializer, count: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    names = [n for n, f in serializer.fields.items() if not f.read_only] + ["shown", "unknown"]
    rows = []
    for _ in range(count):
        row = {name: rng.choice(CELLS) for name in names}
        rows.append({k: v for k, v in row.items() if v != "MISSING"})
    return rows


@pytest.mark.parametrize("serializer_class", [Everything, WithSerializerValidator, OwnSteps])
def test_same_results_and_errors_as_run_validation(serializer_class: type) -> None:
    serializer = serializer_class()
    plan = ValidationPlan(serializer)
    rows = rows_for(serializer, 3000)
    # Rows built to pass (the random ones rarely do), so the success path is compared too.
    rows += [
        {"name": "ok", "count": "5", "ratio": "1.25", "flag": "yes", "day": "2024-01-02"},
        {"name": " Bob ", "count": "7", "ratio": "", "flag": "no"},
        {"name": "12", "count": "2", "ratio": " ", "nested_name": "inner"},
        {"a": "1", "b": "2"},
        {"a": "3", "b": "2"},
        {"loud": "hey", "n": "1,000"},
    ]
    expected = [outcome(serializer.run_validation, dict(row)) for row in rows]
    got = [outcome(plan.run_validation, dict(row)) for row in rows]
    assert got == expected
    kinds = {result[0] for result in expected}
    assert kinds == {"ok", "error"}


def test_dict_data_is_never_treated_as_an_html_form() -> None:
    plan = ValidationPlan(Everything())
    assert plan.fast
    assert all(step.get_value is None for step in plan.steps if step.name != "hidden")


def test_overridden_steps_are_called_as_they_are() -> None:
    plan = ValidationPlan(OwnSteps())
    assert not plan.fast
    assert plan.run_validation({"loud": "hi", "n": "1,234"}) == {"loud": "HI!", "n": 1234}
    step = {s.name: s for s in ValidationPlan(Everything()).steps}
    assert step["name"].plain
    assert step["ratio"].plain
    assert step["count"].plain
    loud = ValidationPlan(type("S", (serializers.Serializer,), {"loud": ShoutingField()})())
    assert not loud.steps[0].plain
    assert loud.run_validation({"loud": "hi"}) == {"loud": "HI!"}


def test_a_field_patched_on_the_instance_is_respected() -> None:
    serializer = Everything()
    serializer.fields["count"].run_validation = lambda data=None: 99
    plan = ValidationPlan(serializer)
    data = plan.run_validation({"name": "x", "count": "5", "ratio": "1"})
    assert data["count"] == 99


@pytest.mark.django_db
def test_related_fields_through_the_database() -> None:
    partner = Partner.objects.create(name="Acme")
    Product.objects.create(sku="P-1", title="One")
    serializer = ImportStockRecordSerializer()
    serializer.validators = []  # the unique-together check is the engine's, per batch
    plan = ValidationPlan(serializer)
    cells = {
        "partner": ["Acme", "Nobody", "", " "],
        "product": ["P-1", "P-2", ""],
        "partner_sku": ["S-1", "", "x" * 200],
        "price": ["9.99", "abc", "", "1234567890123"],
        "num_in_stock": ["5", "-1", ""],
        "num_allocated": ["2", "9", "x"],
    }
    rows = [dict(zip(cells, values, strict=True)) for values in itertools.product(*cells.values())]
    expected = [outcome(serializer.run_validation, row) for row in rows]
    assert [outcome(plan.run_validation, row) for row in rows] == expected
    valid = [result[1] for result in expected if result[0] == "ok"]
    assert valid
    assert valid[0]["partner"] == partner
    assert valid[0]["price"] == Decimal("9.99")


def test_dates_and_defaults() -> None:
    plan = ValidationPlan(Everything())
    data = plan.run_validation({"name": "n", "count": "20", "ratio": "", "day": "2024-02-29"})
    assert data == {
        "name": "N",
        "count": 20,
        "ratio": None,
        "day": datetime.date(2024, 2, 29),
        "size": 1.0,
        "hidden": "h",
    }


# Values of every kind a field's internal value can be, the edges of the limits included.
LIMIT_VALUES: list[Any] = [
    0,
    -1,
    1,
    9,
    10,
    11,
    2**31,
    -(2**31) - 1,
    Decimal("9.99"),
    Decimal("10.00"),
    Decimal("10.01"),
    Decimal("NaN"),
    10.0,
    float("nan"),
    "",
    "a",
    "abcdefghij",
    "abcdefghijk",
    "a\x00b",
    "\x00",
    "\ud800",
    "ok \udfff",
    "Ünïcödé",
    "日本語",
    None,
    [1, 2],
    datetime.date(2024, 1, 1),
    True,
]
LIMITED_VALIDATORS = [
    validators.MaxValueValidator(10),
    validators.MinValueValidator(0),
    validators.MaxValueValidator(Decimal("10.00")),
    validators.MaxLengthValidator(10),
    validators.MinLengthValidator(1),
    validators.ProhibitNullCharactersValidator(),
    ProhibitSurrogateCharactersValidator(),
]


def validator_raises(validator: Any, value: Any) -> bool:
    try:
        validator(value)
    except (DjangoValidationError, ValidationError, TypeError):
        return True
    return False


@pytest.mark.parametrize("validator", LIMITED_VALIDATORS, ids=repr)
def test_an_inline_test_passes_only_what_the_validator_passes(validator: Any) -> None:
    test = passes(validator)
    assert test is not None
    judged = []
    for value in LIMIT_VALUES:
        try:
            passed = test(value)
        except Exception:
            passed = False  # the plan then asks the validator
        if passed:
            assert not validator_raises(validator, value), value
        judged.append(passed)
    assert any(judged)  # the inline test does spare the common value a call
    assert not all(judged) or isinstance(validator, validators.MinLengthValidator)


def test_a_validator_whose_test_is_not_known_has_none() -> None:
    class Stricter(validators.MaxValueValidator):
        def compare(self, a: Any, b: Any) -> bool:
            return a >= b

    assert passes(Stricter(10)) is None
    assert passes(validators.MaxValueValidator(lambda: 10)) is None
    assert passes(validators.RegexValidator("x")) is None
    assert passes(no_thirteen) is None
    step = {s.name: s for s in ValidationPlan(Everything()).steps}
    assert step["count"].tests is None  # no_thirteen and the context validator have no test
    assert step["name"].tests is not None


def test_an_integer_cell_of_digits_reads_as_the_field_reads_it() -> None:
    step = {s.name: s for s in ValidationPlan(Everything()).steps}
    assert step["count"].digits == serializers.IntegerField.MAX_STRING_LENGTH
    assert step["name"].digits == 0
    rng = random.Random(7)
    texts = ["0", "007", "-0", "12", "1" * 1000, "1" * 1001, "١٢", "1.0", " 12", "+3", "-5"]
    texts += [
        "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 40))) for _ in range(500)
    ]
    serializer = type(
        "S", (serializers.Serializer,), {"n": serializers.IntegerField(max_value=10**30)}
    )()
    plan = ValidationPlan(serializer)
    assert plan.steps[0].digits
    results = [outcome(plan.run_validation, {"n": text}) for text in texts]
    assert results == [outcome(serializer.run_validation, {"n": text}) for text in texts]
    assert {result[0] for result in results} == {"ok", "error"}


@pytest.mark.parametrize(
    ("max_digits", "decimal_places"), [(6, 2), (12, 2), (5, 0), (3, 3), (30, 10), (40, 1)]
)
def test_a_decimal_cell_reads_as_the_field_reads_it(max_digits: int, decimal_places: int) -> None:
    field = serializers.DecimalField(max_digits=max_digits, decimal_places=decimal_places)
    serializer = type("S", (serializers.Serializer,), {"d": field})()
    plan = ValidationPlan(serializer)
    assert (plan.steps[0].decimal is not None) == (max_digits > decimal_places)
    rng = random.Random(max_digits * 100 + decimal_places)
    texts = ["0", "-0", "0.0", "007.50", "1.", ".5", "+1", "1e2", " 1", "1_0", "NaN", "-1.005"]
    for _ in range(600):
        whole = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, max_digits + 2)))
        places = "".join(
            rng.choice("0123456789") for _ in range(rng.randint(0, decimal_places + 2))
        )
        texts.append(rng.choice(["", "-"]) + whole + ("." + places if places else ""))
    results = [outcome(plan.run_validation, {"d": text}) for text in texts]
    expected = [outcome(serializer.run_validation, {"d": text}) for text in texts]
    assert results == expected
    # Same value, exponent included (``Decimal`` equality ignores trailing zeros).
    assert [str(r[1]["d"]) for r in results if r[0] == "ok"] == [
        str(r[1]["d"]) for r in expected if r[0] == "ok"
    ]
    assert {result[0] for result in results} == {"ok", "error"}


def test_a_decimal_field_of_its_own_kind_reads_every_cell_itself() -> None:
    class Rounded(serializers.DecimalField):
        def quantize(self, value: Decimal) -> Decimal:
            return value

    plan = ValidationPlan(
        type("S", (serializers.Serializer,), {"d": Rounded(max_digits=6, decimal_places=2)})()
    )
    assert plan.steps[0].decimal is None
    assert plan.run_validation({"d": "1.5"}) == {"d": Decimal("1.5")}
    localized = serializers.DecimalField(max_digits=6, decimal_places=2, localize=True)
    plan = ValidationPlan(type("S", (serializers.Serializer,), {"d": localized})())
    assert plan.steps[0].decimal is None


# --- a batch read column by column (``validate_batch``) ---------------------------------------


class Columnar(serializers.Serializer):
    """Every field of a kind a batch reads as one column (no ``validate_<field>``, validators
    with inline tests only)."""

    name = serializers.CharField(max_length=20, min_length=2)
    note = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    count = serializers.IntegerField(min_value=0, max_value=1000)
    big = serializers.IntegerField(required=False, max_value=10**25, min_value=-5)
    ratio = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    flag = serializers.BooleanField(required=False)
    colour = serializers.ChoiceField(choices=["red", "green"], required=False)
    day = serializers.DateField(required=False, allow_null=True)
    size = serializers.FloatField(required=False, default=1.0, max_value=100, min_value=-1)
    shown = serializers.CharField(read_only=True, default="r")

    def validate(self, attrs: dict) -> dict:
        if attrs.get("count") == 7 and attrs.get("flag") is False:
            raise serializers.ValidationError({"flag": "7 needs the flag."})
        return attrs


COLUMN_CELLS = [
    *CELLS,
    "a\x00b",
    "1000",
    "1001",
    "-0",
    "-5",
    "-6",
    "١٢",
    "x" * 20,
    "x" * 21,
    "ab",
    "a",
    "99.99",
    "100.5",
    "ünï",
    "10000000000000000000000000",
    "NaN",
]


def batch_outcomes(plan: ValidationPlan, rows: list[dict]) -> list[Any]:
    results = plan.validate_batch([dict(row) for row in rows], lambda i: None)
    return [
        ("ok", value) if detail is None else ("error", detail, ValidationError(detail).get_codes())
        for value, detail in results
    ]


@pytest.mark.parametrize(
    ("serializer_class", "columnar"),
    [(Columnar, True), (WithSerializerValidator, True), (Everything, False), (OwnSteps, False)],
)
def test_a_batch_gives_what_run_validation_gives_row_by_row(
    serializer_class: type, columnar: bool
) -> None:
    serializer = serializer_class()
    plan = ValidationPlan(serializer)
    assert plan.columnar is columnar
    rng = random.Random(11)
    names = [n for n, f in serializer.fields.items() if not f.read_only] + ["unknown"]
    rows = []
    for _ in range(4000):
        # Most rows from a few cells, so whole columns pass their tests; some from every cell.
        pool = COLUMN_CELLS if rng.random() < 0.3 else ["12", "ab", "1.5", "2024-02-29", "no"]
        row = {name: rng.choice(pool) for name in names}
        rows.append({k: v for k, v in row.items() if v != "MISSING"})
    rows += [
        {"name": "ok", "count": "5", "ratio": "1.25", "flag": "yes", "day": "2024-01-02"},
        {"name": " Bob ", "count": "7", "ratio": "", "flag": "no"},
        {"a": "1", "b": "2"},
        {"a": "3", "b": "2"},
    ]
    expected = [outcome(serializer.run_validation, dict(row)) for row in rows]
    got = []
    for start in range(0, len(rows), 500):
        got += batch_outcomes(plan, rows[start : start + 500])
    assert got == expected
    assert {result[0] for result in expected} == {"ok", "error"}


def test_a_column_that_passes_its_tests_and_one_that_does_not() -> None:
    plan = ValidationPlan(Columnar())
    good = [{"name": f"n{i}", "count": str(i), "ratio": "1.5", "big": "9" * 25} for i in range(50)]
    bad = [*good, {"name": "x" * 21, "count": "1001", "ratio": "1.5", "big": "-6"}]
    assert all(kind == "ok" for kind, *_ in batch_outcomes(plan, good))
    *_, last = batch_outcomes(plan, bad)
    assert last[0] == "error"
    assert set(last[1]) == {"name", "count", "big"}
    assert batch_outcomes(plan, bad) == [
        outcome(Columnar().run_validation, dict(row)) for row in bad
    ]
    # One value alone breaks each test of a column whose other values all pass.
    for offence in [
        {"name": "a\x00b"},
        {"name": "ab\ud800"},
        {"name": "x" * 21},
        {"name": "x"},
        {"count": "1001"},
        {"count": "-1"},
        {"big": "-6"},
        {"big": "2" + "0" * 25},
    ]:
        rows = [*good, {**good[0], **offence}]
        expected = [outcome(Columnar().run_validation, dict(row)) for row in rows]
        assert expected[-1][0] == "error", offence
        assert batch_outcomes(plan, rows) == expected, offence


def test_the_serializer_validators_see_the_rows_in_order_after_their_fields() -> None:
    plan = ValidationPlan(WithSerializerValidator())
    rows = [{"a": "1", "b": "2"}, {"a": "x"}, {"a": "3", "b": "2"}, {"a": "4"}]
    seen: list[int] = []
    results = plan.validate_batch(rows, seen.append)
    assert seen == [0, 2, 3]  # the row whose field failed never reaches the validators
    assert [detail is None for _, detail in results] == [True, False, False, True]


@pytest.mark.django_db
def test_related_fields_of_a_batch_through_the_database() -> None:
    Partner.objects.create(name="Acme")
    Product.objects.create(sku="P-1", title="One")
    serializer = ImportStockRecordSerializer()
    serializer.validators = []
    plan = ValidationPlan(serializer)
    assert plan.columnar
    cells = {
        "partner": ["Acme", "Nobody", "", " "],
        "product": ["P-1", "P-2", ""],
        "partner_sku": ["S-1", "", "x" * 200, "a\x00b"],
        "price": ["9.99", "abc", "", "1234567890123"],
        "num_in_stock": ["5", "-1", ""],
        "num_allocated": ["2", "9", "x"],
    }
    rows = [dict(zip(cells, values, strict=True)) for values in itertools.product(*cells.values())]
    expected = [outcome(serializer.run_validation, dict(row)) for row in rows]
    assert batch_outcomes(plan, rows) == expected
    assert {result[0] for result in expected} == {"ok", "error"}


@pytest.mark.parametrize(
    ("validator", "passing", "failing"),
    [
        (validators.MaxValueValidator(10), [1, 10, -3], [1, 11]),
        (validators.MinValueValidator(0), [0, 5], [3, -1]),
        (validators.MaxLengthValidator(3), ["abc", "a"], ["ab", "abcd"]),
        (validators.MinLengthValidator(2), ["ab", "abc"], ["abc", "a"]),
        (validators.ProhibitNullCharactersValidator(), ["ab", "c"], ["a", "b\x00"]),
        (ProhibitSurrogateCharactersValidator(), ["ab", "ünï"], ["ab", "x\ud800"]),
    ],
)
def test_a_column_test_answers_for_the_whole_column(
    validator: Any, passing: list, failing: list
) -> None:
    test = column_passes(validator)
    assert test is not None
    assert test(passing, set(map(type, passing))) is True  # no value asked one by one
    assert not test(failing, set(map(type, failing)))
    mixed = [*passing, 1.5] if isinstance(passing[0], int) else [*passing, 1]
    assert not test(mixed, set(map(type, mixed)))  # other types: asked value by value


class NotingIntegerField(serializers.IntegerField):
    """An ``IntegerField`` of its own kind (read through its ``to_internal_value``) that notes
    every text it is asked, as a field looking texts up in the database would query."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.asked: list[Any] = []

    def to_internal_value(self, data: Any) -> int:
        self.asked.append(data)
        return super().to_internal_value(data)


def test_a_batch_asks_a_field_each_cell_once_as_run_validation_does() -> None:
    def serializer() -> serializers.Serializer:
        fields = {"n": NotingIntegerField(max_value=10), "name": serializers.CharField()}
        return type("Noting", (serializers.Serializer,), fields)()

    rows = [{"n": n, "name": "a"} for n in ["1", "x", "12", "", "2.5", "3", "y"]]
    by_row = serializer()
    expected = [outcome(by_row.run_validation, dict(row)) for row in rows]
    plan = ValidationPlan(serializer())
    assert plan.columnar
    assert batch_outcomes(plan, rows) == expected
    # Each cell once (in the column's order: the blank one, read by the field itself, last).
    assert by_row.fields["n"].asked == ["1", "x", "12", "", "2.5", "3", "y"]
    assert plan.steps[0].field.asked == ["1", "x", "12", "2.5", "3", "y", ""]


# --- generated serializers and batches -------------------------------------------------------


class Text(str):
    """A subclass of ``str``: the fast readings and the column tests leave it to the field."""


class OwnCharField(serializers.CharField):
    """A ``CharField`` of its own kind: read through its ``to_internal_value``."""


def _field_kinds() -> st.SearchStrategy[serializers.Field]:
    maybe = st.booleans()
    return st.one_of(
        st.builds(
            serializers.CharField,
            max_length=st.none() | st.integers(1, 6),
            min_length=st.none() | st.integers(0, 3),
            allow_blank=maybe,
            allow_null=maybe,
            trim_whitespace=maybe,
            required=maybe,
        ),
        st.builds(
            serializers.IntegerField,
            max_value=st.none() | st.sampled_from([10, 10**20]),
            min_value=st.none() | st.sampled_from([-5, 0]),
            allow_null=maybe,
            required=maybe,
        ),
        st.builds(
            serializers.DecimalField,
            max_digits=st.integers(3, 6),
            decimal_places=st.integers(0, 2),
            allow_null=maybe,
            max_value=st.none() | st.just(Decimal("10")),
        ),
        st.builds(
            serializers.FloatField, max_value=st.none() | st.just(100), required=st.just(False)
        ),
        st.builds(serializers.FloatField, default=st.just(0.5)),
        st.builds(serializers.BooleanField, allow_null=maybe, required=st.just(False)),
        st.builds(
            serializers.ChoiceField,
            choices=st.just(["red", "1", 1]),
            allow_blank=maybe,
            allow_null=maybe,
            required=maybe,
        ),
        st.builds(serializers.DateTimeField, allow_null=maybe, required=st.just(False)),
        st.builds(serializers.DateField, required=maybe),
        st.builds(OwnCharField, max_length=st.none() | st.just(4), required=st.just(False)),
        st.builds(NotingIntegerField, max_value=st.just(10), required=st.just(False)),
    )


GENERATED_TEXTS = [
    *(cell for cell in COLUMN_CELLS if cell != "MISSING"),
    "2024-02-29T10:00:00",
    "2023-02-30",
    "red",
    "1",
    "inf",
    "9.995",
]
GENERATED_CELLS = st.one_of(
    st.sampled_from(GENERATED_TEXTS),
    st.sampled_from(["", "1", "12", "abc", "red", "true", "1.5"]).map(Text),
    st.sampled_from([None, 3, True, 1.5, [], "MISSING"]),
)


def shape(value: Any) -> Any:
    """A value with what ``==`` overlooks spelt out: key order, types, error codes."""
    if isinstance(value, dict):
        return ("dict", [(key, shape(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [shape(item) for item in value])
    return (type(value).__name__, value, getattr(value, "code", None))


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_generated_batch_gives_what_run_validation_gives(data: st.DataObject) -> None:
    fields = data.draw(st.lists(_field_kinds(), min_size=1, max_size=4), label="fields")
    names = [f"f{i}" for i in range(len(fields))]
    attrs: dict[str, Any] = dict(zip(names, fields, strict=True))
    if data.draw(st.booleans(), label="read-only default"):
        attrs["shown"] = serializers.CharField(read_only=True, default="r")
    if data.draw(st.booleans(), label="validate()"):

        def validate(self: Any, values: dict) -> dict:
            if values.get("f0") in ("abc", 1):
                raise serializers.ValidationError({"f0": "Not that."}, code="that")
            return values

        attrs["validate"] = validate
    serializer_class = type("Generated", (serializers.Serializer,), attrs)
    rows = data.draw(
        st.lists(st.fixed_dictionaries(dict.fromkeys(names, GENERATED_CELLS)), max_size=12),
        label="rows",
    )
    rows = [{k: v for k, v in row.items() if v != "MISSING"} for row in rows]

    by_row = serializer_class()
    expected = []
    for row in rows:
        try:
            expected.append(("ok", shape(by_row.run_validation(dict(row)))))
        except ValidationError as exc:
            expected.append(("error", shape(exc.detail)))
    plan = ValidationPlan(serializer_class())
    got = [
        ("ok", shape(value)) if detail is None else ("error", shape(detail))
        for value, detail in plan.validate_batch([dict(row) for row in rows], lambda i: None)
    ]
    assert got == expected
    asked = {name: f.asked for name, f in by_row.fields.items() if hasattr(f, "asked")}
    for step in plan.steps:  # a field is asked each cell as often as run_validation asks it
        if step.name in asked:
            assert sorted(map(repr, step.field.asked)) == sorted(map(repr, asked[step.name]))
