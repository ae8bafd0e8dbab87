"""Forms of the absence pages. They parse input; `record_absence`, `change_absence` and
`cancel_absence` in `tugi.people.actions` decide what is valid and save."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tugi.people import absence_queries as queries
from tugi.people.forms import (
    DateInput,
    IdChoiceField,
    LoadOnceChoices,
    PersonByEmailField,
    _unit_choices,
)
from tugi.people.models import Absence, OrgUnit

WHEN_CHOICES = [
    (queries.ACTIVE, _("Now or to come")),
    (queries.CURRENT, _("Now")),
    (queries.UPCOMING, _("To come")),
    (queries.PAST, _("Past")),
    (queries.ALL, _("All")),
]


class AbsenceFilterForm(forms.Form):
    """The absence list's filters (GET; a bad value just drops that filter)."""

    when = forms.ChoiceField(label=_("When"), choices=WHEN_CHOICES, required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("Any kind")), *Absence.Kind.choices], required=False
    )
    source = forms.ChoiceField(
        label=_("Source"),
        choices=[("", _("Any source")), *Absence.Source.choices],
        required=False,
    )
    org_unit = IdChoiceField(label=_("Org unit"))
    person = PersonByEmailField(label=_("Person"), required=False, help_text=_("Their e-mail."))
    cancelled = forms.BooleanField(label=_("Show cancelled absences too"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].choices = LoadOnceChoices(_unit_choices)  # type: ignore[attr-defined]

    def filters(self) -> queries.AbsenceFilters:
        self.is_valid()
        data = {k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors}
        unit_id = data.get("org_unit")
        return queries.AbsenceFilters(
            when=data.get("when") or queries.ACTIVE,
            kind=data.get("kind") or "",
            source=data.get("source") or "",
            org_unit=OrgUnit.objects.filter(pk=unit_id).first() if unit_id else None,
            person=data.get("person"),
            cancelled=bool(data.get("cancelled")),
        )


class AbsenceForm(forms.Form):
    """Record or change an absence: whole days, the last one included."""

    person = PersonByEmailField(label=_("Person"), help_text=_("The absent person's e-mail."))
    kind = forms.ChoiceField(label=_("Kind"), choices=Absence.Kind.choices)
    starts_on = forms.DateField(label=_("First day"), widget=DateInput())
    ends_on = forms.DateField(label=_("Last day"), widget=DateInput())
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args: Any, fixed_person: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if fixed_person:
            del self.fields["person"]
        else:
            self.fields["person"].widget.attrs["autocomplete"] = "off"


class CancelAbsenceForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is it cancelled?"),
        max_length=300,
        help_text=_("Substitutions ordered for this absence are cancelled with it."),
    )
