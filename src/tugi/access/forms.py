"""Forms of the access pages.

Forms only parse and present input; the actions in `tugi.access.actions` decide what is valid
and save. What an action refuses is put back on the form: `add_action_errors` for a plain form,
`RequestItems.add_action_errors` for the request's item rows (the action names them
``items[<n>].<field>``).
"""

import datetime
import re
from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tugi.access.actions.catalogue import ROLE_FIELDS, SYSTEM_FIELDS
from tugi.access.actions.requests import ItemData
from tugi.access.models import AccessRequest, AccessRequestItem, Finding, Grant, Role, TargetSystem
from tugi.access.page_queries import RoleChoice
from tugi.people.forms import (
    DateInput,
    FastSelect,
    IdChoiceField,
    LoadOnceChoices,
    PersonByEmailField,
    add_action_errors,
)
from tugi.people.models import Duty, OrgUnit, Position

__all__ = ["add_action_errors"]

_INDENT = "\u00a0\u00a0\u00a0"
Kind = AccessRequestItem.Kind


class DateTimeLocalInput(forms.DateTimeInput):
    """A native date-and-time picker; the value travels as ISO 8601 in local (Tallinn) time."""

    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("format", "%Y-%m-%dT%H:%M")
        super().__init__(**kwargs)


def _datetime_field(label: Any, **kwargs: Any) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        widget=DateTimeLocalInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
        **kwargs,
    )


def start_of(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of a day, Tallinn time."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def end_of(day: datetime.date) -> datetime.datetime:
    """The (exclusive) end of a day: access "until 31.12." lasts through that day."""
    return start_of(day + datetime.timedelta(days=1))


def when(value: datetime.datetime | None) -> str:
    """A moment as the pages show it, in local time."""
    if value is None:
        return ""
    return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


def _unit_choices() -> list[tuple[Any, Any]]:
    units = OrgUnit.objects.order_by("path").values_list("id", "name", "depth")
    return [("", _("All units")), *((pk, f"{_INDENT * depth}{name}") for pk, name, depth in units)]


# --- catalogue --------------------------------------------------------------------------------


class HoldersAtForm(forms.Form):
    """ "Who had the role at …": a moment, now when empty."""

    at = _datetime_field(
        gettext_lazy("Date and time"),
        required=False,
        help_text=gettext_lazy("Leave empty for now. A date alone means the start of that day."),
    )

    def moment(self) -> datetime.datetime:
        if self.is_valid() and self.cleaned_data.get("at"):
            return self.cleaned_data["at"]
        return timezone.now()


class SystemForm(forms.ModelForm):
    """Create or edit a target system; `create_system` / `update_system` validate and save."""

    owner = PersonByEmailField(
        label=gettext_lazy("System owner"),
        required=False,
        help_text=gettext_lazy("The owner's e-mail address; approves the sensitive roles."),
    )

    class Meta:
        model = TargetSystem
        fields = SYSTEM_FIELDS
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "application_requirements": forms.Textarea(attrs={"rows": 3}),
        }
        error_messages = {"code": {"unique": gettext_lazy("Another system already has this code.")}}


class RoleForm(forms.ModelForm):
    """Create or edit a role of a system (the system comes from the page, not the form)."""

    class Meta:
        model = Role
        fields = [f for f in ROLE_FIELDS if f != "system"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


def find_position(text: str) -> tuple[Position | None, str]:
    """The position typed as a code (exact) or a title (unique match); else None and why."""
    text = text.strip()
    found = Position.objects.filter(code__iexact=text).first()
    if found is not None:
        return found, ""
    matches = list(Position.objects.filter(title__icontains=text).order_by("code")[:6])
    if len(matches) == 1:
        return matches[0], ""
    if not matches:
        return None, _("No position has this code or title.")
    codes = ", ".join(p.code for p in matches[:5])
    return None, _("Several positions match; type one of the codes: %(codes)s") % {"codes": codes}


class DutyChoiceField(forms.ModelChoiceField):
    widget = FastSelect

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.order}. {obj.description}" if obj.order else str(obj.description)


class EntitlementForm(forms.Form):
    """Justified by duty: a position (code or title), then a duty of its current job
    description. With only the position filled in, the form offers that position's duties."""

    position = forms.CharField(
        label=gettext_lazy("Position"),
        max_length=200,
        help_text=gettext_lazy("The position's code or title."),
    )
    duty = DutyChoiceField(
        label=gettext_lazy("Duty in the job description in force"),
        queryset=Duty.objects.none(),
        required=False,
        empty_label=gettext_lazy("Choose a duty"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.position_obj: Position | None = None
        text = (self.data.get(self.add_prefix("position")) or "") if self.is_bound else ""
        if text.strip():
            self.position_obj, self.position_error = find_position(text)
            if self.position_obj is not None:
                current = self.position_obj.current_job_description()
                if current is not None:
                    self.fields["duty"].queryset = current.duties.order_by("order", "id")  # type: ignore[attr-defined]

    @property
    def has_duties(self) -> bool:
        return self.fields["duty"].queryset.exists()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.position_obj is None and data.get("position"):
            self.add_error("position", self.position_error)
        elif self.position_obj is not None and not self.has_duties:
            self.add_error(
                "position",
                _("%(position)s has no job description in force, or it lists no duties.")
                % {"position": self.position_obj.title},
            )
        return data


class RoleChoiceField(forms.ModelChoiceField):
    widget = FastSelect

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "queryset",
            Role.objects.filter(active=True)
            .select_related("system")
            .order_by("system__name", "name", "id"),
        )
        kwargs.setdefault("empty_label", gettext_lazy("Choose a role"))
        super().__init__(**kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.system.name}: {obj.name} ({obj.code})"


class SodRuleForm(forms.Form):
    """A new segregation-of-duties rule: two roles one person must not hold together."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    role_a = RoleChoiceField(label=gettext_lazy("First role"))
    role_b = RoleChoiceField(label=gettext_lazy("Second role"))
    description = forms.CharField(
        label=gettext_lazy("Why they conflict"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


# --- grants and accounts -------------------------------------------------------------------------


class EndGrantForm(forms.Form):
    """End a grant now or at a later moment, saying why."""

    reason = forms.CharField(label=gettext_lazy("Why does it end?"), max_length=300)
    at = _datetime_field(
        gettext_lazy("End at"), required=False, help_text=gettext_lazy("Leave empty to end it now.")
    )


class SuspendGrantForm(forms.Form):
    """Suspend a grant for a period (or until resumed), saying why."""

    reason = forms.CharField(label=gettext_lazy("Why is it suspended?"), max_length=300)
    starts_at = _datetime_field(
        gettext_lazy("Suspended from"),
        required=False,
        help_text=gettext_lazy("Leave empty to start now."),
    )
    ends_at = _datetime_field(
        gettext_lazy("Resumed at"),
        required=False,
        help_text=gettext_lazy("Leave empty to keep it suspended until someone resumes it."),
    )


class ReasonForm(forms.Form):
    """A reason, for resuming a grant or closing an account."""

    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)


class UsernameForm(forms.Form):
    """The account's name in the target system, when fulfilling opens an account."""

    username = forms.CharField(
        label=gettext_lazy("Username in the system"),
        max_length=150,
        required=False,
        help_text=gettext_lazy("Needed only when a new account is opened."),
    )


# --- requests ---------------------------------------------------------------------------------


class PersonChoiceForm(forms.Form):
    """The desk files on someone's behalf: whose access is to change."""

    email = PersonByEmailField(
        label=gettext_lazy("Whose access"), help_text=gettext_lazy("The person's e-mail address.")
    )


class RequestForm(forms.Form):
    """The request as a whole: why the access is needed."""

    justification = forms.CharField(
        label=gettext_lazy("Justification"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Why the access is needed: the task, the case or the directive."),
        max_length=4000,
    )


def role_choice_groups(choices: Sequence[RoleChoice], *, own: bool) -> list[tuple[str, Any]]:
    """The role picker's options, grouped by system, each saying what the person has of it."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for c in choices:
        label = c.role.name
        if c.role.module:
            label = f"{c.role.module}: {label}"
        if c.held:
            label += " — " + (_("you hold this") if own else _("already held"))
        elif c.justified:
            label += " — " + (
                _("already justified by your job description, no request needed")
                if own
                else _("already justified by the job description, no request needed")
            )
        groups.setdefault(c.role.system.name, []).append((str(c.role.pk), label))
    return [("", _("Choose a role")), *groups.items()]


class RequestItemForm(forms.Form):
    """One change asked for. Which fields count depends on the kind (the page hides the rest)."""

    kind = forms.ChoiceField(
        label=gettext_lazy("Change"), choices=Kind.choices, initial=Kind.GRANT_ROLE
    )
    role = forms.ChoiceField(label=gettext_lazy("Role"), required=False, widget=FastSelect)
    system = forms.ModelChoiceField(
        label=gettext_lazy("System"),
        queryset=TargetSystem.objects.filter(active=True).order_by("name"),
        required=False,
        widget=FastSelect,
        empty_label=gettext_lazy("Choose a system"),
    )
    grant = forms.ChoiceField(
        label=gettext_lazy("Existing grant"), required=False, widget=FastSelect
    )
    valid_from = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        widget=DateInput(),
        help_text=gettext_lazy("Leave empty (or today) to start when the desk fulfils it."),
    )
    valid_to = forms.DateField(
        label=gettext_lazy("Until (inclusive)"),
        required=False,
        widget=DateInput(),
        help_text=gettext_lazy("The access ends at the end of this day."),
    )
    sod_exception_until = forms.DateField(
        label=gettext_lazy("Exception to the conflict until"),
        required=False,
        widget=DateInput(),
        help_text=gettext_lazy(
            "Ask for a time-limited exception to the segregation-of-duties rule; the system "
            "owner decides on it."
        ),
    )

    def __init__(
        self,
        *args: Any,
        roles: dict[str, Role],
        role_groups: list[Any],
        grants: dict[str, Grant],
        grant_choices: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.roles, self.grants = roles, grants
        self.fields["role"].choices = role_groups  # type: ignore[attr-defined]
        self.fields["grant"].choices = grant_choices  # type: ignore[attr-defined]
        # Set by the view: SoD conflicts to warn about before filing.
        self.warnings: list[str] = []
        self.show_exception = False

    def is_blank(self) -> bool:
        """Nothing chosen: an unused row, left out of the request."""
        data = self.cleaned_data
        return not any(
            data.get(name)
            for name in ("role", "system", "grant", "valid_from", "valid_to", "sod_exception_until")
        )

    def item_data(self) -> ItemData:
        """The row as the action's input; dates become moments in Tallinn time."""
        data = self.cleaned_data
        kind = data["kind"]
        item: ItemData = {"kind": kind}
        if data.get("system") is not None:
            item["system"] = data["system"]
        if kind == Kind.GRANT_ROLE:
            item["role"] = self.roles.get(data.get("role") or "")
        if kind in (Kind.SUSPEND_ROLE, Kind.END_ROLE):
            item["grant"] = self.grants.get(data.get("grant") or "")
        start, until = data.get("valid_from"), data.get("valid_to")
        # Today means "as soon as it is fulfilled", not a midnight already past.
        if (
            kind in (Kind.GRANT_ROLE, Kind.SUSPEND_ROLE)
            and start is not None
            and start != timezone.localdate()
        ):
            item["valid_from"] = start_of(start)
        if kind in (Kind.GRANT_ROLE, Kind.SUSPEND_ROLE, Kind.END_ROLE) and until is not None:
            item["valid_to"] = end_of(until)
        exception = data.get("sod_exception_until")
        if kind == Kind.GRANT_ROLE and exception is not None:
            item["sod_exception_until"] = end_of(exception)
        return item


_ITEM_KEY = re.compile(r"^items\[(\d+)\]\.(\w+)$")


class RequestItems:
    """The request form's item rows: plain forms with prefixes ``item-<n>``.

    Rows can be added and removed without JavaScript (buttons re-render the page); rows left
    empty are not sent to the action, and `positions` maps the action's item numbers back to
    the rows they came from.
    """

    MAX_ROWS = 20

    def __init__(
        self,
        data: Any | None,
        *,
        count: int,
        initial: Sequence[dict[str, Any]] = (),
        **form_kwargs: Any,
    ) -> None:
        self.forms = [
            RequestItemForm(
                data,
                prefix=f"item-{i}",
                initial=initial[i] if i < len(initial) else None,
                **form_kwargs,
            )
            for i in range(min(count, self.MAX_ROWS))
        ]
        self.positions: list[int] = []
        self.top_errors: list[str] = []

    def __iter__(self) -> Any:
        return iter(self.forms)

    def __len__(self) -> int:
        return len(self.forms)

    def is_valid(self) -> bool:
        return all([form.is_valid() for form in self.forms])

    def items(self) -> list[ItemData]:
        """The non-blank rows as the action's items (after is_valid)."""
        self.positions = [i for i, form in enumerate(self.forms) if not form.is_blank()]
        return [self.forms[i].item_data() for i in self.positions]

    def add_action_errors(self, exc: ValidationError) -> dict[str, list[str]]:
        """Put the action's ``items[<n>].<field>`` errors on their rows; return the rest."""
        rest: dict[str, list[str]] = {}
        if not hasattr(exc, "error_dict"):
            return {NON_FIELD_ERRORS: list(exc.messages)}
        for key, errors in exc.message_dict.items():
            match = _ITEM_KEY.match(key)
            if match is None:
                rest.setdefault(key, []).extend(errors)
                continue
            n, name = int(match.group(1)), match.group(2)
            if n >= len(self.positions):
                rest.setdefault(NON_FIELD_ERRORS, []).extend(errors)
                continue
            form = self.forms[self.positions[n]]
            form.add_error(name if name in form.fields else None, errors)
        return rest

    @property
    def has_errors(self) -> bool:
        return any(form.is_bound and form.errors for form in self.forms)


def grant_label(grant: Grant) -> str:
    label = f"{grant.role.name} ({grant.role.system.code})"
    if grant.valid_from > timezone.now():
        return label + " — " + _("from %(day)s") % {"day": when(grant.valid_from)}
    return label + " — " + _("since %(day)s") % {"day": when(grant.valid_from)}


def raw_rows(data: Any, count: int) -> list[dict[str, Any]]:
    """The rows as typed, to show again unvalidated when a row is added or removed."""
    names = ("kind", "role", "system", "grant", "valid_from", "valid_to", "sod_exception_until")
    return [{name: data.get(f"item-{i}-{name}", "") for name in names} for i in range(count)]


class DecisionForm(forms.Form):
    """An approver's decision on the current step; the button pressed says which."""

    DECISIONS = ("approve", "return", "reject")

    decision = forms.ChoiceField(
        choices=[(d, d) for d in DECISIONS], widget=forms.HiddenInput, required=True
    )
    comment = forms.CharField(
        label=gettext_lazy("Comment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=gettext_lazy(
            "Required when you return the request (what should change) or reject it (why)."
        ),
    )


class CancelRequestForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why do you withdraw it?"), required=False, max_length=2000
    )


class RequestListForm(forms.Form):
    """The request list's filters: whose requests and in what state."""

    scope = forms.ChoiceField(
        label=gettext_lazy("Whose"),
        required=False,
        choices=[
            ("", gettext_lazy("Mine (filed by me or for me)")),
            ("all", gettext_lazy("Everyone's")),
        ],
    )
    state = forms.ChoiceField(
        label=gettext_lazy("State"),
        required=False,
        choices=[("", gettext_lazy("Any state")), *AccessRequest.State.choices],
    )


# --- compliance ---------------------------------------------------------------------------------


class FindingFilterForm(forms.Form):
    """The compliance page's filters (GET; a bad value just drops that filter)."""

    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        required=False,
        choices=[("", gettext_lazy("Every kind")), *Finding.Kind.choices],
    )
    org_unit = IdChoiceField(label=gettext_lazy("Org unit"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].choices = LoadOnceChoices(_unit_choices)  # type: ignore[attr-defined]

    def values(self) -> tuple[str, OrgUnit | None]:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        unit_id = data.get("org_unit")
        unit = OrgUnit.objects.filter(pk=unit_id).first() if unit_id is not None else None
        return data.get("kind") or "", unit
