"""A faster ``to_representation`` for read-only serializers of long lists.

DRF serialises each row by asking every field, through the generic
``Field.get_attribute`` path, to walk its ``source`` (with checks for
mappings, callables and missing objects at each step) and then to convert the
value.  For a page of 50 incidents with 29 fields that path is most of the
serializer's time.  :class:`PlannedRepresentation` looks at the fields once per
serializer instance (a ``many=True`` list shares one child), keeps for each a
getter that walks its ``source`` with plain ``getattr`` and the field's own
``to_representation``, and falls back to DRF's generic path for that field of
that row whenever the plain walk meets anything unusual: a ``None`` before the
end of a dotted source (so ``default`` and ``allow_null`` apply exactly as DRF
applies them), a missing related object, a callable, or a ``source="*"``.
The output is therefore DRF's own; ``tests/scheduling/api/test_representation.py``
compares the two on every field kind the API uses.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import ManyRelatedField, PKOnlyObject, RelatedField

_FALLBACK = object()


def _walker(attrs: list[str]) -> Callable[[Any], Any]:
    """Follow ``attrs`` with ``getattr``; ``_FALLBACK`` where DRF's generic walk
    could answer differently (a ``None`` or missing object before the end, or a
    callable, which DRF would call)."""
    if len(attrs) == 1:
        get = attrgetter(attrs[0])

        def one(instance: Any) -> Any:
            try:
                value = get(instance)
            except (ObjectDoesNotExist, AttributeError):
                return _FALLBACK
            return _FALLBACK if callable(value) else value

        return one

    getters = [attrgetter(attr) for attr in attrs]

    def walk(instance: Any) -> Any:
        value = instance
        try:
            for get in getters:
                if value is None:
                    return _FALLBACK
                value = get(value)
        except (ObjectDoesNotExist, AttributeError):
            return _FALLBACK
        return _FALLBACK if callable(value) else value

    return walk


def _generic_only(field: serializers.Field) -> bool:
    """Fields whose value DRF reads differently from a plain attribute walk:
    the whole object, a many-relation, or a related key DRF reads without
    fetching the related row."""
    if field.source == "*" or not field.source_attrs:
        return True
    if isinstance(field, ManyRelatedField):
        return True
    return isinstance(field, RelatedField) and field.use_pk_only_optimization()


class PlannedRepresentation(serializers.Serializer):
    """Mix in before a (Model)Serializer whose rows are read in bulk."""

    def _representation_plan(self) -> list[tuple[str, Any, Any]]:
        plan = self.__dict__.get("_plan")
        if plan is None:
            plan = []
            for field in self._readable_fields:
                if isinstance(field, serializers.SerializerMethodField):
                    method = getattr(self, field.method_name)
                    plan.append((field.field_name, None, method))
                elif _generic_only(field):
                    plan.append((field.field_name, field, None))
                else:
                    plan.append((field.field_name, field, _walker(field.source_attrs)))
            self.__dict__["_plan"] = plan
        return plan

    def to_representation(self, instance: Any) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for name, field, get in self._representation_plan():
            if field is None:  # a SerializerMethodField: its method, as DRF calls it
                row[name] = get(instance)
                continue
            value = _FALLBACK if get is None else get(instance)
            if value is _FALLBACK:
                try:
                    value = field.get_attribute(instance)
                except SkipField:
                    continue
                if isinstance(value, PKOnlyObject) and value.pk is None:
                    value = None
            row[name] = None if value is None else field.to_representation(value)
        return row
