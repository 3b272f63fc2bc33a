"""filter_in on PostgreSQL: the array form finds what ``__in`` finds."""

from __future__ import annotations

import pytest

from tests.imports.test_queries import (  # noqa: F401 - the same tests, run on PostgreSQL here
    test_a_value_longer_than_the_column_is_not_cut_to_match,
    test_awkward_texts_are_matched_exactly,
    test_filter_keys_matches_pairs,
    test_filter_keys_on_one_field_and_no_keys,
    test_filters_on_pks_and_foreign_keys,
    test_filters_on_text_values,
    test_no_values_find_nothing,
    test_other_types_go_as_lists,
    test_the_sql_has_one_parameter_per_field_on_postgresql,
)

pytestmark = pytest.mark.django_db
