"""Reads of one person's data through the API, logged as the pages log them (`view_log`).

A list narrowed to one person (`?person=`, `?absentee=`, …) shows that person's data: accounts,
grants, access requests and their items, findings, lifecycle changes, substitutions. Such a
filter is a `OnePersonFilter`: it loads the person to check the id (as any id filter does) and
leaves them on the request, and the view's `PersonListLogMixin` logs the read of each person so
named (`access.person.view`) for callers who may read everyone's rows. A caller who may not reads
only their own rows, is not logged, and may name only the persons of those rows: any other id is
the same 400 as an id that does not exist, so the answer does not tell who exists. A filter that
names one record of a person (the item list's `request`) is a `OneRecordFilter`: the same, with
the record's person.

One record that shows a person's access (a grant, an account, an access request or one of its
items, a finding, a change, a substitution) is a logged read of its person, or of each of its
persons (a substitution's absent person and substitute), by anyone but that person:
`PersonViewLogMixin`, whose `persons_of` names them.

Within the ten-minute window a logged read costs one SELECT more per person than an unlogged one
(the duplicate check); the person is the one the filter or the record's query already loaded.
"""

from collections.abc import Callable
from typing import Any, cast

import django_filters
from django.db.models import Q, QuerySet
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from tugi.api.people import ViewPurposeSerializer
from tugi.people import view_log
from tugi.people.models import Person

# Where the person filters leave the persons a list is narrowed to, for the view to log.
_VIEWED_PERSONS = "_tugi_viewed_persons"


def read_query(request: Request, serializer_class: type[serializers.Serializer[Any]]) -> Any:
    """Query parameters validated by a serializer: a bad one is a 400 naming it."""
    given = serializer_class(data=request.query_params)
    given.is_valid(raise_exception=True)
    return given.validated_data


def log_person_views(request: Request, persons: list[Person]) -> None:
    """Log that the caller read each person's access (`access.person.view`), with `?purpose=`
    or else their role duty; nothing for their own, and nothing more for the same caller, person
    and purpose within ten minutes. Called before the answer is built: a read that cannot be
    logged is not answered."""
    if not persons:
        return
    given = read_query(request, ViewPurposeSerializer).get("purpose", "")
    for person in persons:
        view_log.log_view(request.user, person, view_log.VIEW_PERSON_ACCESS, given=given)


def viewed_persons(request: Request) -> list[Person]:
    """The persons the request's filters narrowed the list to, each once."""
    return list(getattr(request, _VIEWED_PERSONS, []))


def _remember(request: Request | None, person: Person | None) -> None:
    if person is None or request is None:
        return
    persons: list[Person] = getattr(request, _VIEWED_PERSONS, [])
    if all(p.pk != person.pk for p in persons):
        setattr(request, _VIEWED_PERSONS, [*persons, person])


def own_person(user: Any) -> Q:
    """The caller's own person: the rows a caller without the read permission has of grants and
    accounts."""
    return Q(user_id=user.pk)


class OnePersonFilter(django_filters.ModelChoiceFilter):
    """One person's rows. Such a list shows that person's data, so the person found (already
    read to check the id) is left on the request for the view to log.

    Only the persons whose rows the caller may read are valid ids: everyone with `permission`,
    else the persons of the caller's own rows (`own`, by default the caller's own person). Any
    other id is the same 400 as one that does not exist. `lookups` are the row's fields that name
    the person (several: a row of either).
    """

    def __init__(
        self,
        permission: str,
        *args: Any,
        own: Callable[[Any], Q] = own_person,
        lookups: tuple[str, ...] = (),
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("help_text", "The rows of this person; reading them is logged.")
        self.lookups = lookups

        def persons(request: Any) -> QuerySet[Person]:
            user = getattr(request, "user", None)
            if user is None:  # the OpenAPI generator
                return Person.objects.none()
            if user.has_perm(permission):
                return Person.objects.all()
            return Person.objects.filter(own(user))

        super().__init__(*args, queryset=persons, **kwargs)

    def filter(self, qs: QuerySet[Any], value: Person | None) -> QuerySet[Any]:
        _remember(self.parent.request, value)
        if value is None or not self.lookups:
            return super().filter(qs, value)
        either = Q()
        for lookup in self.lookups:
            either |= Q(**{lookup: value})
        return qs.filter(either)


class OneRecordFilter(django_filters.ModelChoiceFilter):
    """One record's rows (the items of one request): they show the record's person, who is left
    on the request for the view to log, as `OnePersonFilter` does. `person_of` names the person of
    a record; the queryset should load them with it (no query more)."""

    def __init__(self, *args: Any, person_of: Callable[[Any], Person], **kwargs: Any) -> None:
        self.person_of = person_of
        super().__init__(*args, **kwargs)

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        if value is not None:
            _remember(self.parent.request, self.person_of(value))
        return super().filter(qs, value)


class PersonListLogMixin:
    """A list narrowed to one person by a `OnePersonFilter` is a logged read of that person, for
    callers who may read everyone's rows (`read_permission`): without it a list holds only the
    caller's own rows, and they are not logged."""

    read_permission: str

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        view = cast(viewsets.GenericViewSet[Any], self)
        queryset = view.filter_queryset(view.get_queryset())
        persons = viewed_persons(request)
        if persons and request.user.has_perm(self.read_permission):
            log_person_views(request, persons)
        page = view.paginate_queryset(queryset)
        if page is not None:
            return view.get_paginated_response(view.get_serializer(page, many=True).data)
        return Response(view.get_serializer(queryset, many=True).data)


class PersonViewLogMixin(PersonListLogMixin):
    """As `PersonListLogMixin`, and one record of a person (`persons_of`: `row.person`) is a
    logged read of that person too, by anyone but that person: whoever may open the record sees
    the person's data in it."""

    def persons_of(self, row: Any) -> list[Person]:
        """The persons whose data the record shows (loaded with it)."""
        return [row.person]

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        view = cast(viewsets.GenericViewSet[Any], self)
        row = view.get_object()
        persons: list[Person] = []
        for person in self.persons_of(row):
            if all(p.pk != person.pk for p in persons):
                persons.append(person)
        log_person_views(request, persons)
        return Response(view.get_serializer(row).data)


# The OpenAPI description of a logged read of one record.
LOGGED_ONE = (
    "Reading anyone's but one's own is written to the audit log (`access.person.view`) with "
    "the purpose (`purpose`, else the caller's role duty), at most once in ten minutes for the "
    "same caller, person and purpose."
)


def logged_list(filters: str, *, own_rows: bool = True) -> str:
    """The sentences a list's OpenAPI description gains: which filters make it a logged read, and
    (`own_rows`: the list is open to callers without the read permission) which ids they name."""
    text = (
        f" Narrowed to one person ({filters}), the list is a read of that person's data: it is "
        "written to the audit log (`access.person.view`) with the purpose (`purpose`, else the "
        "caller's role duty), unless the person is the caller, at most once in ten minutes for "
        "the same caller, person and purpose."
    )
    if own_rows:
        text += (
            " Without the read permission only the caller's own rows are listed and nothing is "
            "logged; only the persons of those rows may be named, any other id is a 400, as for "
            "an id that does not exist."
        )
    return text
