"""Forms of the people pages.

Forms only parse and present input; the actions in `tugi.people.actions` decide what is valid and
save. ModelForms are used for their field types and widgets, and their model validation gives
early, field-level messages; whatever the action still refuses is put back on the form by
`add_action_errors`.
"""

import re
from collections.abc import Callable, Iterator
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Case, When
from django.forms.utils import flatatt
from django.urls import reverse
from django.utils.choices import BaseChoiceIterator
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from tugi.people import queries
from tugi.people.models import JobDescription, OrgUnit, Person, Position

# Indent by depth with no-break spaces: <option> collapses ordinary ones.
_INDENT = "\u00a0\u00a0\u00a0"


class FastSelect(forms.Select):
    """A select whose options are rendered in Python rather than one template each.

    Django renders every <option> through a template, about 50 µs apiece: with the thousands of
    positions of a large agency that alone is 100 ms a page. The output is the same markup.
    """

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts: list[str] = [
            format_html('<select name="{}"{}>', widget["name"], flatatt(widget["attrs"]))
        ]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('<optgroup label="{}">', group_name))
            parts.extend(
                f'<option value="{escape(option["value"])}"'
                f"{' selected' if option['selected'] else ''}>{escape(option['label'])}</option>"
                for option in options
            )
            if group_name:
                parts.append("</optgroup>")
        parts.append("</select>")
        return mark_safe("".join(parts))  # noqa: S308 - every value is escaped above


def unit_label(unit: OrgUnit) -> str:
    return f"{_INDENT * unit.depth}{unit.name}"


def add_action_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Put an action's ValidationError on the form: field errors on their fields, others on top.

    An action may name a field the form does not show; that message goes to the top so it is
    never lost.
    """
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            target = name if name in form.fields else None
            if name == NON_FIELD_ERRORS:
                target = None
            form.add_error(target, errors)
    else:
        form.add_error(None, exc)


class UnitChoiceField(forms.ModelChoiceField):
    """An org-unit select ordered by the tree and indented by depth."""

    widget = FastSelect

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", OrgUnit.objects.order_by("path"))
        super().__init__(**kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return unit_label(obj)


class PositionChoiceField(forms.ModelChoiceField):
    """A position select that says which unit each position is in (titles repeat across units)."""

    widget = FastSelect

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "queryset",
            Position.objects.select_related("org_unit").order_by("title", "org_unit__name", "id"),
        )
        super().__init__(**kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.title} ({obj.org_unit.name})"


class PersonByEmailField(forms.ModelChoiceField):
    """Choose a person by typing their e-mail, with suggestions from a <datalist>.

    A select of every person does not scale to the whole agency; an e-mail is unique, known to
    the desk, and the browser's own datalist suggests the likely managers and heads.
    """

    widget = forms.EmailInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", Person.objects.all())
        kwargs.setdefault("to_field_name", "email")
        kwargs.setdefault(
            "error_messages",
            {"invalid_choice": _("No person has this e-mail address.")},
        )
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        # Initial data holds the person's id; the input must show their e-mail.
        if isinstance(value, int):
            person = Person.objects.filter(pk=value).only("email").first()
            return person.email if person else ""
        return super().prepare_value(value)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower()
        return super().to_python(value)


class DateInput(forms.DateInput):
    """A native date picker; the value travels as ISO 8601 whatever the language."""

    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("format", "%Y-%m-%d")
        super().__init__(**kwargs)


# --- person list filters --------------------------------------------------------------------------


class IdChoiceField(forms.TypedChoiceField):
    """A select of ids whose options are only read when the field is drawn.

    Any whole number passes validation; whether the row exists is the caller's question. So an
    htmx request that only redraws the results never loads the option lists.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(coerce=int, empty_value=None, required=False, widget=FastSelect, **kwargs)

    def valid_value(self, value: Any) -> bool:
        return True


class LoadOnceChoices(BaseChoiceIterator):
    """Choices read from the database on first use and then kept (for one form instance)."""

    def __init__(self, load: Callable[[], list[tuple[Any, Any]]]) -> None:
        self.load = load
        self.loaded: list[tuple[Any, Any]] | None = None

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        if self.loaded is None:
            self.loaded = self.load()
        return iter(self.loaded)


def _unit_choices() -> list[tuple[Any, Any]]:
    units = OrgUnit.objects.order_by("path").values_list("id", "name", "depth")
    return [("", _("All units")), *((pk, f"{_INDENT * depth}{name}") for pk, name, depth in units)]


# The position filter lists at most this many positions: a department's fit, whereas all of a
# large agency's (thousands) would cost more to draw than the rest of the page (25-100 ms).
POSITION_CHOICES_MAX = 300


class PersonFilterForm(forms.Form):
    """The search box and filters of the person list (GET; a bad value just drops that filter).

    The selects are built from plain value rows, not model instances, and only when drawn: the
    list is the most used page. The position filter offers only the positions of the chosen
    unit and the units below it, so it stays short in an agency with thousands of positions; with
    no unit chosen it offers none, its one option saying "Choose a unit first" (the position in
    force is still shown if the address names one). With htmx, choosing a unit redraws the
    position filter along with the results (see the view).
    """

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        help_text=_("Name or e-mail. Letters õ, ä, ö, ü may be typed as o, a, o, u."),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    org_unit = IdChoiceField(label=_("Org unit"))
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *Person.Status.choices],
    )
    position = IdChoiceField(label=_("Position"))

    def __init__(self, *args: Any, can_search_code: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # What filters() found; the position options depend on the unit.
        self.unit: OrgUnit | None = None
        self.position_id: int | None = None
        # Per form instance: the widget reads the choices twice while drawing the select.
        self.fields["org_unit"].choices = LoadOnceChoices(_unit_choices)  # type: ignore[attr-defined]
        self.fields["position"].choices = LoadOnceChoices(self._position_choices)  # type: ignore[attr-defined]
        # Each select reloads the results when changed (the form around them says where to put
        # them); the unit select's request also brings its positions, which is why every select
        # asks for itself instead of the form listening for changes.
        url = reverse("people:person_list")
        for name in ("org_unit", "status", "position"):
            self.fields[name].widget.attrs.update({"hx-get": url, "hx-include": "closest form"})
        if can_search_code:
            self.fields["q"].help_text = _(
                "Name, e-mail or a full personal code. "
                "Letters õ, ä, ö, ü may be typed as o, a, o, u."
            )

    def filters(self) -> queries.PersonFilters:
        """The valid part of the input as filters; ids that name nothing are dropped.

        So is a position outside the chosen unit's subtree: after a change of unit the position
        chosen before would otherwise narrow the list to no one.
        """
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        unit_id, position_id = data.get("org_unit"), data.get("position")
        unit = OrgUnit.objects.filter(pk=unit_id).first() if unit_id is not None else None
        if position_id is not None:
            positions = Position.objects.filter(pk=position_id)
            if unit is not None:
                positions = positions.filter(queries.in_subtree(unit))
            if not positions.exists():
                position_id = None
        self.unit, self.position_id = unit, position_id
        return queries.PersonFilters(
            q=data.get("q") or "",
            org_unit=unit,
            status=data.get("status") or "",
            position_id=position_id,
        )

    def _position_choices(self) -> list[tuple[Any, Any]]:
        """The position filter's options; where there are none to offer, the first says why."""
        positions = Position.objects.order_by("title", "org_unit__name", "id").values_list(
            "id", "title", "org_unit__name"
        )
        rows: list[tuple[int, str, str]] = []
        if self.unit is None:
            why = _("Choose a unit first")
        else:
            rows = list(positions.filter(queries.in_subtree(self.unit))[: POSITION_CHOICES_MAX + 1])
            why = _("Any position")
            if len(rows) > POSITION_CHOICES_MAX:
                rows, why = [], _("Too many to list: choose a smaller unit")
        if not rows and self.position_id is not None:
            # A position in force is always shown, or the select would hide a filter in force.
            rows = list(positions.filter(pk=self.position_id))
        first = _("Any position") if rows else why
        return [("", first), *((pk, f"{t} ({unit})") for pk, t, unit in rows)]


# --- persons --------------------------------------------------------------------------------------


class PersonForm(forms.ModelForm):
    """Create or edit a person."""

    org_unit = UnitChoiceField(label=_("Org unit"), empty_label=_("Choose a unit"))
    position = PositionChoiceField(label=_("Position"), required=False, empty_label=_("(none)"))
    manager = PersonByEmailField(
        label=_("Manager"),
        required=False,
        help_text=_("The manager's e-mail address. Start typing to see suggestions."),
    )

    class Meta:
        model = Person
        fields = [
            "first_name",
            "last_name",
            "email",
            "phone",
            "personal_code",
            "foreign_id_country",
            "foreign_id_code",
            "org_unit",
            "position",
            "manager",
            "employment_start",
            "employment_end",
            "status",
        ]
        widgets = {
            "employment_start": DateInput(),
            "employment_end": DateInput(),
            "personal_code": forms.TextInput(
                attrs={"inputmode": "numeric", "autocomplete": "off", "maxlength": 11}
            ),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        }
        error_messages = {
            "personal_code": {"unique": _("A person with this personal code already exists.")},
            "email": {"unique": _("A person with this e-mail address already exists.")},
        }

    # Identifiers an edit form never shows: who may edit a person may not see their codes (that
    # takes people.view_personal_code and a logged purpose). Left empty, they stay as they are.
    HIDDEN_WHEN_EDITING = ("personal_code", "foreign_id_code")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["foreign_id_country"].widget.attrs.update(
            {"maxlength": 2, "size": 3, "autocapitalize": "characters"}
        )
        self.fields["email"].widget.attrs["autocomplete"] = "off"
        self.fields["manager"].widget.attrs["list"] = "person-suggestions"
        self._kept: dict[str, Any] = {}
        if self.instance.pk is not None:
            for name in self.HIDDEN_WHEN_EDITING:
                present = getattr(self.instance, name)
                self._kept[name] = present
                self.initial[name] = ""
                if present:
                    self.fields[name].help_text = _(
                        "Recorded and hidden. Leave empty to keep it; type a new one to replace it."
                    )

    def _keep_hidden(self, name: str) -> Any:
        value = self.cleaned_data.get(name)
        if not value and self._kept.get(name):
            return self._kept[name]
        return value

    def clean_personal_code(self) -> Any:
        return self._keep_hidden("personal_code")

    def clean_foreign_id_code(self) -> Any:
        return self._keep_hidden("foreign_id_code")

    def action_data(self) -> dict[str, Any]:
        """The cleaned values as keyword arguments for create_person / update_person."""
        data = dict(self.cleaned_data)
        for name in ("personal_code",):
            data[name] = data.get(name) or None
        return data


# --- org units ------------------------------------------------------------------------------------


class OrgUnitForm(forms.ModelForm):
    """Create or edit an org unit."""

    parent = UnitChoiceField(label=_("Parent unit"), required=False, empty_label=_("(top level)"))
    head = PersonByEmailField(
        label=_("Head"),
        required=False,
        help_text=_("The head's e-mail address. Start typing to see suggestions."),
    )

    class Meta:
        model = OrgUnit
        fields = ["name", "name_en", "code", "kind", "parent", "head", "active"]
        error_messages = {"code": {"unique": _("Another unit already has this code.")}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["head"].widget.attrs["list"] = "person-suggestions"


# --- positions and job descriptions ---------------------------------------------------------------


class PositionFilterForm(forms.Form):
    """Search and unit filter of the position list."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        help_text=_("Title or code."),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    org_unit = UnitChoiceField(label=_("Org unit"), required=False, empty_label=_("All units"))


class PositionForm(forms.ModelForm):
    """Create or edit a position."""

    org_unit = UnitChoiceField(label=_("Org unit"), empty_label=_("Choose a unit"))

    class Meta:
        model = Position
        fields = ["title", "title_en", "code", "org_unit", "active"]
        error_messages = {"code": {"unique": _("Another position already has this code.")}}


# A duty line: "description — expected result" (em dash, or " | " on keyboards without one).
_DUTY_SPLIT = re.compile(r"\s+(?:—|\|)\s+")


def parse_duties(text: str) -> list[dict[str, str]]:
    """One duty per non-empty line, with an optional expected result after " — " or " | "."""
    duties = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        description, _sep, result = (part.strip() for part in _split_once(line))
        duties.append({"description": description, "expected_result": result})
    return duties


def _split_once(line: str) -> tuple[str, str, str]:
    match = _DUTY_SPLIT.search(line)
    if match is None:
        return line, "", ""
    return line[: match.start()], match.group(0), line[match.end() :]


def format_duties(job_description: JobDescription) -> str:
    """The duties as the textarea shows them, so editing round-trips."""
    lines = []
    for duty in job_description.duties.all():
        if duty.expected_result:
            lines.append(f"{duty.description} — {duty.expected_result}")
        else:
            lines.append(duty.description)
    return "\n".join(lines)


class PositionCheckboxes(forms.ModelMultipleChoiceField):
    """Positions as a list of checkboxes, each labelled with its unit."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "queryset",
            Position.objects.select_related("org_unit").filter(active=True).order_by("title", "id"),
        )
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.title} ({obj.org_unit.name})"


class JobDescriptionForm(forms.Form):
    """Create or edit a job description; duties are typed one per line."""

    valid_from = forms.DateField(label=_("In force from"), widget=DateInput())
    directive = forms.CharField(
        label=_("Approved by directive"),
        required=False,
        max_length=100,
        help_text=_("Number and date of the directive, e.g. 1-1/23/45 of 01.02.2024."),
    )
    purpose = forms.CharField(
        label=_("Purpose of the post"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    duties = forms.CharField(
        label=_("Duties"),
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_(
            "One duty per line. Add the expected result after a dash with spaces ( — ) or a "
            "vertical bar ( | ), e.g. “Answers support cases — cases are answered within the SLA”."
        ),
    )
    substitutes = PositionCheckboxes(label=_("The holder substitutes"))
    substituted_by = PositionCheckboxes(label=_("The holder is substituted by"))

    def __init__(self, *args: Any, position: Position, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.position = position
        for name in ("substitutes", "substituted_by"):
            field = self.fields[name]
            assert isinstance(field, forms.ModelMultipleChoiceField) and field.queryset is not None
            chosen = self._chosen_ids(name)
            # A position cannot substitute itself: not offering it avoids the error altogether.
            # The chosen ones come first, so a long list never hides what is already ticked.
            field.queryset = (
                field.queryset.exclude(pk=position.pk)
                .annotate(_unchosen=Case(When(pk__in=chosen, then=0), default=1))
                .order_by("_unchosen", "title", "id")
            )

    def _chosen_ids(self, name: str) -> list[int]:
        if self.is_bound:
            values = self.data.getlist(name) if hasattr(self.data, "getlist") else []
        else:
            values = [getattr(p, "pk", p) for p in self.initial.get(name) or []]
        return [int(v) for v in values if str(v).isdigit()]

    @classmethod
    def initial_from(cls, jd: JobDescription) -> dict[str, Any]:
        return {
            "valid_from": jd.valid_from,
            "directive": jd.directive,
            "purpose": jd.purpose,
            "duties": format_duties(jd),
            "substitutes": list(jd.substitutes.all()),
            "substituted_by": list(jd.substituted_by.all()),
        }

    def clean_duties(self) -> list[dict[str, str]]:
        duties = parse_duties(self.cleaned_data["duties"])
        if not duties:
            raise ValidationError(_("A job description needs at least one duty."))
        return duties

    def action_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "position": self.position,
            "valid_from": data["valid_from"],
            "directive": data["directive"],
            "purpose": data["purpose"],
            "duties": data["duties"],
            "substitutes": list(data["substitutes"]),
            "substituted_by": list(data["substituted_by"]),
        }


# --- personal code --------------------------------------------------------------------------------


class PersonalCodePurposeForm(forms.Form):
    """Why the user needs to see a personal code; it goes into the audit log."""

    purpose = forms.CharField(
        label=_("Purpose"),
        max_length=300,
        help_text=_("Why you need to see it, e.g. the case number. This is recorded."),
    )
