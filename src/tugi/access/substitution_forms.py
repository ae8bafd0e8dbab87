"""Forms of the substitution pages. They parse input; the actions in
`tugi.access.actions.substitution` decide what is valid.

Periods are entered as whole Tallinn days, first and last day included, as orders and the
vacation schedule state them: the order runs from the first day's midnight to the midnight after
the last day (`lifecycle.plan.day_start`), whatever daylight saving does in between.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tugi.access.lifecycle.plan import day_start
from tugi.access.models import Role, Substitution
from tugi.access.substitution_queries import (
    ACTIVE,
    ALL,
    CURRENT,
    PAST,
    UPCOMING,
    SubstitutionFilters,
)
from tugi.people.forms import DateInput, PersonByEmailField
from tugi.people.models import Absence

WHEN_CHOICES = [
    (ACTIVE, _("In force or to come")),
    (CURRENT, _("In force now")),
    (UPCOMING, _("To come")),
    (PAST, _("Past")),
    (ALL, _("All")),
]


def period_from_days(first: datetime.date, last: datetime.date) -> tuple[datetime.datetime, ...]:
    """Whole days, the last one included, as the order's [start, end)."""
    return day_start(first), day_start(last + datetime.timedelta(days=1))


def days_of(start: datetime.datetime, end: datetime.datetime) -> tuple[datetime.date, ...]:
    """The first and last day (Tallinn) a period touches."""
    return (
        timezone.localdate(start),
        timezone.localdate(end - datetime.timedelta(microseconds=1)),
    )


class SubstitutionFilterForm(forms.Form):
    """The list's filters (GET; a bad value just drops that filter)."""

    when = forms.ChoiceField(label=_("When"), choices=WHEN_CHOICES, required=False)
    state = forms.ChoiceField(
        label=_("State"),
        choices=[("", _("Any state")), *Substitution.State.choices],
        required=False,
    )
    person = PersonByEmailField(
        label=_("Person"),
        required=False,
        help_text=_("E-mail of the absent person or the substitute."),
    )

    def filters(self) -> SubstitutionFilters:
        if not self.is_valid():
            data: dict[str, Any] = {
                k: v for k, v in self.cleaned_data.items() if k not in self.errors
            }
        else:
            data = self.cleaned_data
        return SubstitutionFilters(
            when=data.get("when") or ACTIVE,
            state=data.get("state") or "",
            person=data.get("person"),
        )


class AbsenteeForm(forms.Form):
    """Step one of the order form: whose substitution (GET)."""

    absentee = PersonByEmailField(
        label=_("Absent person"), help_text=_("The e-mail of the person to be substituted.")
    )


class PeriodDaysForm(forms.Form):
    """A period in whole days."""

    first_day = forms.DateField(label=_("First day"), widget=DateInput())
    last_day = forms.DateField(label=_("Last day"), widget=DateInput())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("first_day"), data.get("last_day")
        if first and last and last < first:
            self.add_error("last_day", _("The last day cannot be before the first day."))
        return data

    def period(self) -> tuple[datetime.datetime, ...]:
        return period_from_days(self.cleaned_data["first_day"], self.cleaned_data["last_day"])


class RoleCheckboxes(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj: Any) -> str:
        marks = f"{obj.name} ({obj.system.code})"
        if obj.sensitivity == Role.Sensitivity.PENSION_INSURANCE:
            marks += " · " + str(_("pension-insurance register data"))
        return marks


class AbsenceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.get_kind_display()}: {obj.starts_on:%d.%m.%Y}–{obj.ends_on:%d.%m.%Y}"


class OrderForm(PeriodDaysForm):
    """Step two: the order itself, for one absentee."""

    substitute = PersonByEmailField(
        label=_("Substitute"), help_text=_("The e-mail of the person who substitutes.")
    )
    roles = RoleCheckboxes(
        label=_("Roles to pass on"),
        queryset=Role.objects.none(),
        help_text=_(
            "The absent person's own delegable roles. Pension-insurance roles are chosen to "
            "start with."
        ),
    )
    absence = AbsenceChoiceField(
        label=_("Absence"),
        queryset=Absence.objects.none(),
        required=False,
        empty_label=_("(none)"),
    )
    exclusive = forms.BooleanField(
        label=_("Exclusive: suspend the absent person's own rights in these roles for the period"),
        required=False,
    )
    directive = forms.CharField(
        label=_("Order or directive"),
        max_length=100,
        required=False,
        help_text=_("E.g. the number of the directive, if there is one."),
    )
    ordered_by = PersonByEmailField(
        label=_("Ordered by"),
        required=False,
        help_text=_("Who gave the order, if not you: their e-mail."),
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(
        self,
        *args: Any,
        roles: Sequence[Role],
        absences: Sequence[Absence],
        may_record_for_others: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["roles"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = Role.objects.filter(pk__in=[r.pk for r in roles]).select_related("system")
        absence = self.fields["absence"]
        assert isinstance(absence, forms.ModelChoiceField)
        absence.queryset = Absence.objects.filter(pk__in=[a.pk for a in absences])
        if not may_record_for_others:
            del self.fields["ordered_by"]
        self.order_fields(
            [
                "substitute",
                "absence",
                "first_day",
                "last_day",
                "roles",
                "exclusive",
                "directive",
                "ordered_by",
                "note",
            ]
        )


class ConfirmForm(forms.Form):
    """Confirming a proposal: the order's directive, and whether it is exclusive."""

    directive = forms.CharField(label=_("Order or directive"), max_length=100, required=False)
    exclusive = forms.BooleanField(
        label=_("Exclusive: suspend the absent person's own rights in these roles for the period"),
        required=False,
    )


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Why is it cancelled?"), max_length=300)
