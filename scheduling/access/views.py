"""The one detail view of the API's configuration objects, and the error shape.

Teams, members, rotations, contact methods, integrations, routes, escalation
policies and maintenance windows all answer the same four verbs the same way:

* ``GET`` the object, found among what the caller may read (else 404);
* ``PUT`` the whole object: left-out optional fields take their defaults, and the
  service saves only what differs, so the same body twice changes nothing the
  second time (idempotent apply);
* ``PATCH`` some fields: left-out fields stay;
* ``DELETE`` it (a service that refuses -- history, the last catch-all route --
  answers 409 with its reason).

Who may write is asked twice: before the body is parsed (a member who may only
read gets a 403 whatever they send) and with the fields the body names (a member
may change their own phone, not their name).  A resource says which of PUT,
PATCH and DELETE it has through ``http_method_names``, so the permission matrix
(built from the URL conf) sees exactly what exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor as Cursor_
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from scheduling.access.permissions import require_staff_config

# The one JSON error shape (oncall/api_errors.py): every 4xx and 5xx.
ERROR: dict[str, Any] = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "detail": {}},
    "required": ["error"],
}


@contextmanager
def service_errors() -> Iterator[None]:
    """A service's ``ValidationError`` as the API's 400, keyed by field."""
    try:
        yield
    except DjangoValidationError as exc:
        if hasattr(exc, "error_dict"):
            raise serializers.ValidationError(exc.message_dict) from None
        raise serializers.ValidationError({"non_field_errors": exc.messages}) from None


class Cursor(CursorPagination):
    """Cursor pagination for the large collections: no OFFSET and no COUNT, so a
    page deep in the list costs what the first does.  ``?cursor=`` from
    ``next``/``previous``, ``?page_size=`` up to 500.  A cursor this list did not
    give out is bad input (400), not a missing page."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request: Request) -> Cursor_ | None:
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise serializers.ValidationError(
                {"cursor": ["not a cursor of this list: follow next or previous"]}
            ) from None


def refused(exc: DjangoValidationError) -> Response:
    """A service refusing a change the object's state does not allow: 409."""
    return Response({"error": " ".join(exc.messages)}, status=409)


class CollectionView(generics.ListAPIView):
    # ``GET`` (the caller's share of a collection, filtered and paginated as the
    # subclass says) and ``POST`` (one service call) of a collection.
    #
    # A subclass names ``serializer_class``, ``filterset_class``,
    # ``pagination_class`` and ``input_serializer``, and implements
    # ``get_queryset`` (what the caller may read) and ``create`` (the parsed body
    # to one service call; returns the 201's body).  Its schema goes on the class
    # with ``extend_schema_view(get=..., post=...)``.  (A comment, not a
    # docstring: drf-spectacular would show an inherited docstring as every
    # subclass' description.)

    input_serializer: type[serializers.Serializer]
    filter_backends = [DjangoFilterBackend]

    def may_create(self, request: Request) -> None:
        """403 unless the caller may create here (default: staff)."""
        require_staff_config(request)

    def input_context(self, request: Request) -> dict[str, Any]:
        return {}

    def create(self, request: Request, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.may_create(request)
        payload = self.input_serializer(
            data=request.data, context=self.input_context(request)
        )
        payload.is_valid(raise_exception=True)
        with service_errors():
            body = self.create(request, dict(payload.validated_data))
        return Response(body, status=201)


class ObjectView(APIView):
    """``GET``, ``PUT`` (whole, idempotent), ``PATCH`` and ``DELETE`` of one object.

    A subclass names its ``input_serializer`` and implements ``find`` (the object
    among what the caller may read, else ``Http404``), ``show`` (the answer's
    body), ``write`` (one service call) and, if it has ``DELETE``, ``remove``.
    """

    input_serializer: type[serializers.Serializer]
    http_method_names = ["get", "put", "patch", "delete", "head", "options"]

    # --- what a resource says -------------------------------------------------

    def find(self, request: Request, **kwargs: Any) -> Any:
        raise NotImplementedError

    def show(self, request: Request, obj: Any) -> Any:
        raise NotImplementedError

    def write(self, request: Request, obj: Any, data: dict, *, partial: bool) -> Any:
        """Call the service with the parsed body; return the object to show."""
        raise NotImplementedError

    def remove(self, request: Request, obj: Any) -> None:
        raise NotImplementedError

    def may_write(self, request: Request, obj: Any) -> None:
        """403 unless the caller may change ``obj`` at all (default: staff)."""
        require_staff_config(request)

    def may_write_fields(self, request: Request, obj: Any, fields: set[str]) -> None:
        """403 unless the caller may change these fields (default: any)."""

    def input_context(self, request: Request, obj: Any) -> dict[str, Any]:
        return {}

    # --- the verbs ------------------------------------------------------------

    def get(self, request: Request, **kwargs: Any) -> Response:
        return Response(self.show(request, self.find(request, **kwargs)))

    def put(self, request: Request, **kwargs: Any) -> Response:
        return self._write(request, kwargs, partial=False)

    def patch(self, request: Request, **kwargs: Any) -> Response:
        return self._write(request, kwargs, partial=True)

    def delete(self, request: Request, **kwargs: Any) -> Response:
        obj = self.find(request, **kwargs)
        self.may_write(request, obj)
        try:
            self.remove(request, obj)
        except DjangoValidationError as exc:
            return refused(exc)
        return Response(status=204)

    def _write(self, request: Request, kwargs: dict, *, partial: bool) -> Response:
        obj = self.find(request, **kwargs)
        self.may_write(request, obj)
        payload = self.input_serializer(
            data=request.data,
            partial=partial,
            context=self.input_context(request, obj),
        )
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        fields = set(data) if partial else set(payload.fields)
        self.may_write_fields(request, obj, fields)
        with service_errors():
            saved = self.write(request, obj, data, partial=partial)
        return Response(self.show(request, saved))
