"""Guards around Django's admin: autocomplete widget, model choice fields, change lists.

Re-rendering a form with errors, ``AutocompleteSelect`` looks up the submitted
values as they are: a member id of "abc" (ValueError) or 10**30 (OverflowError on
SQLite) becomes a 500 instead of the form's "Select a valid choice" error.  Every
admin (both apps use ``autocomplete_fields``) gets the guarded widget from
``OncallConfig.ready``; the apps never import the project plumbing.

The same holds for a change list filtered by an id past the database's range
(``/admin/alerts/route/?team=9223372036854775808``): SQLite refuses the query with
OverflowError. Django answers a lookup it cannot run (``?team=abc``) by redirecting
to ``?e=1``; an id too large for the database gets that same answer.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import AutocompleteMixin
from django.core.exceptions import ValidationError
from django.forms.models import ModelChoiceField, ModelMultipleChoiceField

_optgroups = AutocompleteMixin.optgroups
_to_python = ModelChoiceField.to_python
_get_results = ChangeList.get_results
# Django's private step that checks submitted pks (the stubs do not declare it).
_check_values = ModelMultipleChoiceField._check_values  # type: ignore[attr-defined]


def _guarded_optgroups(
    self: AutocompleteMixin, name: str, value: Any, attr: Any = None
) -> Any:
    try:
        return _optgroups(self, name, value, attr)
    except (ValueError, TypeError, OverflowError):
        # Not an id of the field's model: nothing to show as selected; the form
        # field has already said why the value was refused.
        return _optgroups(self, name, [], attr)


def _guarded_to_python(self: ModelChoiceField, value: Any) -> Any:
    try:
        return _to_python(self, value)
    except OverflowError:
        # An id past the database's integer range (10**30 on SQLite) is no
        # choice at all: the form's error, not a 500.
        raise ValidationError(
            self.error_messages["invalid_choice"], code="invalid_choice"
        ) from None


def _guarded_check_values(self: ModelMultipleChoiceField, value: Any) -> Any:
    try:
        return _check_values(self, value)
    except OverflowError:
        raise ValidationError(
            self.error_messages["invalid_pk_value"],
            code="invalid_pk_value",
            params={"pk": "?"},
        ) from None


def _guarded_get_results(self: ChangeList, request: Any) -> Any:
    try:
        return _get_results(self, request)
    except OverflowError:
        # The filter names an id the database cannot hold: Django's answer to a
        # lookup it cannot run (a redirect to ``?e=1``), not a 500.
        raise IncorrectLookupParameters from None


def install() -> None:
    # Replacing the method on the class is the point: every admin's widget gets
    # the guard (mypy refuses method assignment unless told it is meant).
    AutocompleteMixin.optgroups = _guarded_optgroups  # type: ignore[method-assign]
    # The same for model choice fields (Django's own Group admin among them): an id
    # too large for the database is refused as a choice.
    ModelChoiceField.to_python = _guarded_to_python  # type: ignore[method-assign]
    ModelMultipleChoiceField._check_values = _guarded_check_values  # type: ignore[attr-defined]
    # And for every change list: a filter id past the database's range.
    ChangeList.get_results = _guarded_get_results  # type: ignore[method-assign]
