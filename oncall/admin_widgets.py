"""A guard around Django's admin autocomplete widget.

Re-rendering a form with errors, ``AutocompleteSelect`` looks up the submitted
values as they are: a member id of "abc" (ValueError) or 10**30 (OverflowError on
SQLite) becomes a 500 instead of the form's "Select a valid choice" error.  Every
admin (both apps use ``autocomplete_fields``) gets the guarded widget from
``OncallConfig.ready``; the apps never import the project plumbing.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.widgets import AutocompleteMixin

_optgroups = AutocompleteMixin.optgroups


def _guarded_optgroups(
    self: AutocompleteMixin, name: str, value: Any, attr: Any = None
) -> Any:
    try:
        return _optgroups(self, name, value, attr)
    except (ValueError, TypeError, OverflowError):
        # Not an id of the field's model: nothing to show as selected; the form
        # field has already said why the value was refused.
        return _optgroups(self, name, [], attr)


def install() -> None:
    # Replacing the method on the class is the point: every admin's widget gets
    # the guard (mypy refuses method assignment unless told it is meant).
    AutocompleteMixin.optgroups = _guarded_optgroups  # type: ignore[method-assign]
