"""Forms of the desk pages.

Forms only parse and present input; the actions in `tugi.desk.actions` (cases) and
`tugi.desk.admin_actions` (settings) decide what is valid and save. What an action refuses is
put back on the form with `add_action_errors`, field by field.
"""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Q, Value
from django.urls import reverse
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tugi.access.forms import DateTimeLocalInput
from tugi.access.models import TargetSystem
from tugi.desk import attachments, queries
from tugi.desk.actions import PLACEHOLDERS
from tugi.desk.models import (
    Case,
    Escalation,
    Queue,
    ReplyTemplate,
    RoutingRule,
    SlaPolicy,
    Tag,
)
from tugi.desk.queries import Tab
from tugi.people.forms import (
    FastSelect,
    IdChoiceField,
    LoadOnceChoices,
    PersonByEmailField,
    add_action_errors,
)

__all__ = ["add_action_errors"]

Level = Case.Level

# Impact and urgency as a requester would say them; the desk sees the same words.
IMPACT_CHOICES = [
    (Level.LOW, _("Only me, or one person")),
    (Level.MEDIUM, _("Several people, or one person's important work")),
    (Level.HIGH, _("Many people, a whole unit, or our clients")),
]
URGENCY_CHOICES = [
    (Level.LOW, _("It can wait a few days")),
    (Level.MEDIUM, _("Work is hampered: it is needed today or tomorrow")),
    (Level.HIGH, _("Work has stopped: it is needed now")),
]
CATEGORY_CHOICES = [
    (Case.Category.QUESTION, _("A question: how do I do something?")),
    (Case.Category.MALFUNCTION, _("Something does not work as it should")),
    (Case.Category.DATA, _("Data is wrong or missing")),
    (Case.Category.ACCESS, _("Access or rights: I cannot get in or cannot see something")),
]


# --- attachments --------------------------------------------------------------------------------


class MultipleFileInput(forms.FileInput):
    """A file input that takes several files at once."""

    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several uploaded files; the action checks their size and type (and says which is wrong)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Attachments"))
        kwargs.setdefault("help_text", attachment_help())
        kwargs.setdefault(
            "widget",
            MultipleFileInput(
                attrs={"accept": ",".join(f".{e}" for e in attachments.allowed_extensions())}
            ),
        )
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else [data]
        # Empty files are the action's to refuse, with the file's name in the message.
        return [f for f in files if f]


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MB"
    return f"{n / 1024:g} KB" if n >= 1024 else f"{n} B"


def _attachment_help() -> str:
    return gettext("Up to %(limit)s each. Accepted: %(types)s.") % {
        "limit": _size(attachments.max_bytes()),
        "types": ", ".join(attachments.allowed_extensions()),
    }


attachment_help = lazy(_attachment_help, str)


def _attachment_short_help() -> str:
    return gettext("Up to %(limit)s each; documents, images, text and ZIP files.") % {
        "limit": _size(attachments.max_bytes())
    }


attachment_short_help = lazy(_attachment_short_help, str)


# --- the portal ---------------------------------------------------------------------------------


class SystemChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class PortalCaseForm(forms.Form):
    """Ask for help: what it is about, what happened, how bad it is."""

    system = SystemChoiceField(
        label=_("Application"),
        queryset=TargetSystem.objects.filter(active=True).order_by("name"),
        required=False,
        empty_label=_("Other, or I do not know"),
    )
    module = forms.CharField(
        label=_("Part of the application"),
        max_length=100,
        required=False,
        help_text=_("For example the screen or function: “pension calculation”, “reports”."),
    )
    category = forms.TypedChoiceField(
        label=_("What kind of help do you need?"),
        choices=CATEGORY_CHOICES,
        initial=Case.Category.QUESTION,
        widget=forms.RadioSelect,
    )
    subject = forms.CharField(
        label=_("Subject"),
        max_length=300,
        help_text=_("A few words that say what the case is about."),
    )
    body = forms.CharField(
        label=_("Description"),
        widget=forms.Textarea(attrs={"rows": 7}),
        help_text=_(
            "What did you try to do, what happened, and what did you expect? Add the error "
            "message if there was one. Do not write personal codes of clients here."
        ),
    )
    attachments = MultipleFileField()
    impact = forms.TypedChoiceField(
        label=_("Who is affected?"),
        choices=IMPACT_CHOICES,
        coerce=int,
        initial=Level.LOW,
        widget=forms.RadioSelect,
    )
    urgency = forms.TypedChoiceField(
        label=_("How soon is it needed?"),
        choices=URGENCY_CHOICES,
        coerce=int,
        initial=Level.LOW,
        widget=forms.RadioSelect,
    )
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["module"].widget.attrs.update({"list": "module-options", "autocomplete": "off"})
        # Choosing the application offers its modules (htmx; without it the field is free text).
        self.fields["system"].widget.attrs.update(
            {
                "hx-get": reverse("desk:module_options"),
                "hx-target": "#module-options",
                "hx-swap": "outerHTML",
                "hx-trigger": "change",
            }
        )
        self.fields["subject"].widget.attrs.update({"autocomplete": "off"})


class DeskCaseForm(PortalCaseForm):
    """The desk logs a case for someone (a phone call, a visit): the portal form plus who asked,
    how, and optionally the queue and tags."""

    requester = PersonByEmailField(
        label=_("Requester's e-mail"),
        help_text=_("The staff member who asked: their work e-mail address."),
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[
            (Case.Channel.PHONE, Case.Channel.PHONE.label),
            (Case.Channel.EMAIL, Case.Channel.EMAIL.label),
            (Case.Channel.PORTAL, Case.Channel.PORTAL.label),
        ],
        initial=Case.Channel.PHONE,
    )
    queue = forms.ModelChoiceField(
        label=_("Queue"),
        queryset=Queue.objects.filter(active=True).order_by("name"),
        required=False,
        empty_label=_("As the routing rules decide"),
    )
    tags = forms.CharField(
        label=_("Tags"), required=False, max_length=1000, help_text=_("Separate tags with commas.")
    )

    def clean_tags(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]


class RequesterMessageForm(forms.Form):
    """The requester writes to their case."""

    body = forms.CharField(
        label=_("Your message"), widget=forms.Textarea(attrs={"rows": 5}), required=False
    )
    attachments = MultipleFileField()


class RatingForm(forms.Form):
    """One click: a score, and a comment if they wish."""

    score = forms.TypedChoiceField(
        label=_("How well did we help?"),
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
    )
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


# --- the queue ----------------------------------------------------------------------------------


class _FilterChoices:
    """The queue, application and tag choices of the queue's filters, read in one statement.

    Three small tables, but three round trips; on PostgreSQL each costs more than its rows.
    Read only when the form is drawn (an htmx request for the results never needs them).
    """

    def __init__(self) -> None:
        self.loaded: dict[str, list[tuple[int, str]]] | None = None

    def _load(self) -> dict[str, list[tuple[int, str]]]:
        if self.loaded is None:
            queues = Queue.objects.filter(active=True).values_list(Value("q"), "id", "name")
            systems = TargetSystem.objects.filter(active=True).values_list(Value("s"), "id", "name")
            tags = Tag.objects.values_list(Value("t"), "id", "name")
            self.loaded = {"q": [], "s": [], "t": []}
            for kind, pk, name in queues.order_by().union(
                systems.order_by(), tags.order_by(), all=True
            ):
                self.loaded[kind].append((pk, name))
            for rows in self.loaded.values():
                rows.sort(key=lambda row: (row[1], row[0]))
        return self.loaded

    def queues(self) -> list[tuple[Any, Any]]:
        return [("", _("All queues")), *self._load()["q"]]

    def systems(self) -> list[tuple[Any, Any]]:
        return [("", _("All applications")), *self._load()["s"]]

    def tags(self) -> list[tuple[Any, Any]]:
        return [("", _("Any tag")), *self._load()["t"]]


def status_choices() -> list[tuple[str, Any]]:
    return [("", _("Any open status")), *Case.Status.choices]


class QueueFilterForm(forms.Form):
    """The queue's tab and filters; choices are read only when the form is drawn."""

    tab = forms.CharField(required=False, widget=forms.HiddenInput)
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        help_text=_("Words in the subject, or a case number."),
    )
    queue = IdChoiceField(label=_("Queue"))
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=status_choices, widget=FastSelect
    )
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Any priority")), *queries.PRIORITY_LABELS.items()],
        widget=FastSelect,
    )
    system = IdChoiceField(label=_("Application"))
    category = forms.ChoiceField(
        label=_("Category"),
        required=False,
        choices=[("", _("Any category")), *Case.Category.choices],
        widget=FastSelect,
    )
    tag = IdChoiceField(label=_("Tag"))

    def __init__(self, *args: Any, tabs: tuple[str, ...] = Tab.DESK, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tabs = tabs
        # Read only when the form is drawn: an htmx request for the results never loads them.
        choices = _FilterChoices()
        for name, load in (
            ("queue", choices.queues),
            ("system", choices.systems),
            ("tag", choices.tags),
        ):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = LoadOnceChoices(load)

    def filters(self) -> queries.QueueFilters:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        tab = data.get("tab") or ""
        if tab not in self.tabs:
            tab = self.tabs[0]
        # Ids, not rows: an id that names nothing simply matches no case.
        return queries.QueueFilters(
            tab=tab,
            queue_id=data.get("queue"),
            status=data.get("status") or "",
            priority=data.get("priority"),
            system_id=data.get("system"),
            category=data.get("category") or "",
            tag_id=data.get("tag"),
            q=data.get("q") or "",
        )


# --- working a case -----------------------------------------------------------------------------

AFTER_REPLY_CHOICES = [
    ("", _("Keep the case open")),
    (Case.Status.WAITING_REQUESTER, _("Wait for the requester (pauses the SLA clock)")),
]


class ReplyForm(forms.Form):
    """A public reply to the requester."""

    template = forms.ModelChoiceField(
        label=_("Reply template"),
        queryset=ReplyTemplate.objects.order_by("name"),
        required=False,
        empty_label=_("No template"),
    )
    body = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 7}),
        required=False,
        help_text=_("The requester receives this by e-mail and sees it on the portal."),
    )
    attachments = MultipleFileField(help_text=attachment_short_help())
    set_status = forms.ChoiceField(
        label=_("After sending"),
        choices=AFTER_REPLY_CHOICES,
        required=False,
        widget=forms.RadioSelect,
        initial="",
    )


class NoteForm(forms.Form):
    """An internal note: never shown or mailed to the requester or a third party."""

    body = forms.CharField(
        label=_("Note"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text=_("Only the desk and the specialists the case is escalated to see notes."),
    )
    attachments = MultipleFileField(help_text=attachment_short_help())


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return queries.user_label(obj)


class AssignForm(forms.Form):
    queue = forms.ModelChoiceField(
        label=_("Queue"), queryset=Queue.objects.filter(active=True).order_by("name")
    )
    assignee = UserChoiceField(
        label=_("Assignee"),
        queryset=queries.active_users(),
        required=False,
        empty_label=_("Nobody"),
    )

    def __init__(self, *args: Any, assignable: list[User] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if assignable is not None:
            # Offered: who may work the queue. Accepted: any active user, so that the action can
            # say why someone cannot take the case rather than "not one of the choices".
            self.fields["assignee"].widget.choices = [
                ("", _("Nobody")),
                *((u.pk, queries.user_label(u)) for u in assignable),
            ]


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[
            (Case.Status.OPEN, Case.Status.OPEN.label),
            (Case.Status.WAITING_REQUESTER, Case.Status.WAITING_REQUESTER.label),
            (Case.Status.WAITING_THIRD_PARTY, Case.Status.WAITING_THIRD_PARTY.label),
        ],
    )
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300)


class PriorityForm(forms.Form):
    impact = forms.TypedChoiceField(label=_("Impact"), choices=IMPACT_CHOICES, coerce=int)
    urgency = forms.TypedChoiceField(label=_("Urgency"), choices=URGENCY_CHOICES, coerce=int)


class TagsForm(forms.Form):
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=1000,
        help_text=_("Separate tags with commas."),
    )

    def clean_tags(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]


class ClassifyForm(forms.Form):
    """What the case is about: category, application and module; optionally routed again."""

    category = forms.ChoiceField(label=_("Category"), choices=Case.Category.choices)
    system = SystemChoiceField(
        label=_("Application"),
        queryset=TargetSystem.objects.filter(active=True).order_by("name"),
        required=False,
        empty_label=_("None, or not known"),
    )
    module = forms.CharField(label=_("Module"), max_length=100, required=False)
    reroute = forms.BooleanField(
        label=_("Route again by the routing rules"),
        required=False,
        help_text=_("Moves the case to the queue the rules choose for the new classification."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["module"].widget.attrs.update({"list": "module-options", "autocomplete": "off"})
        # Choosing the application offers its modules (htmx; without it the field is free text).
        self.fields["system"].widget.attrs.update(
            {
                "hx-get": reverse("desk:module_options"),
                "hx-target": "#module-options",
                "hx-swap": "outerHTML",
                "hx-trigger": "change",
            }
        )


class RequesterForm(forms.Form):
    """The known person who wrote from an address the desk did not know."""

    requester = PersonByEmailField(
        label=_("The person's e-mail"),
        help_text=_("Their work e-mail address, as in the organisation's records."),
    )

    def __init__(self, *args: Any, suggestions: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.suggestions = suggestions or []
        self.fields["requester"].widget.attrs.update(
            {"list": "requester-suggestions", "autocomplete": "off"}
        )


class TimeForm(forms.Form):
    minutes = forms.IntegerField(label=_("Minutes"), min_value=1, max_value=24 * 60)
    note = forms.CharField(label=_("What was done"), required=False, max_length=300)


class EscalateForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Escalate to"),
        choices=Escalation.Kind.choices,
        initial=Escalation.Kind.SPECIALISTS,
        widget=forms.RadioSelect,
    )
    queue = forms.ModelChoiceField(
        label=_("Specialist group"),
        queryset=Queue.objects.filter(active=True, kind=Queue.Kind.SPECIALISTS).order_by("name"),
        required=False,
        empty_label=_("Choose a group"),
    )
    party_name = forms.CharField(label=_("Third party"), required=False, max_length=200)
    party_email = forms.EmailField(label=_("Their e-mail address"), required=False)
    summary = forms.CharField(
        label=_("What we ask"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text=_(
            "The other side receives only this text: never the internal notes or the "
            "requester's messages."
        ),
    )
    due_at = forms.DateTimeField(
        label=_("Answer due"),
        required=False,
        widget=DateTimeLocalInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
    )
    external_reference = forms.CharField(label=_("Their reference"), required=False, max_length=100)
    external_url = forms.URLField(
        label=_("Link in their system"), required=False, assume_scheme="https"
    )


class ReferenceForm(forms.Form):
    external_reference = forms.CharField(label=_("Their reference"), required=False, max_length=100)
    external_url = forms.URLField(
        label=_("Link in their system"), required=False, assume_scheme="https"
    )


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        label=_("Resolution"),
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        help_text=_("Sent to the requester as the answer that resolves the case."),
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(label=_("Why is it reopened?"), required=False, max_length=500)


class CaseNumberForm(forms.Form):
    """A case given by its number (“123”, “#123” or “Tugi #123”)."""

    number = forms.CharField(label=_("Case number"), max_length=30, required=False)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, required: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.number_required = required
        self.fields["number"].widget.attrs.update({"inputmode": "numeric", "autocomplete": "off"})

    def clean_number(self) -> Case | None:
        raw = self.cleaned_data["number"].strip()
        if not raw:
            if self.number_required:
                raise ValidationError(_("Give the case number."))
            return None
        number = queries.case_number(raw)
        if number is None:
            raise ValidationError(_("Give the case number, for example 1234."))
        case = Case.objects.filter(pk=number).first()
        if case is None:
            raise ValidationError(_("There is no case %(n)s.") % {"n": number})
        return case


# --- desk settings ------------------------------------------------------------------------------


class UserCheckboxes(forms.ModelMultipleChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "queryset",
            queries.active_users(),
        )
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return queries.user_label(obj)


class QueueForm(forms.ModelForm):
    members = UserCheckboxes(label=_("Members"))

    class Meta:
        model = Queue
        fields = ["code", "name", "name_en", "kind", "email", "active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["members"] = list(self.instance.members.values_list("id", flat=True))

    def action_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in [*self.Meta.fields, "members"]}


class SlaPolicyForm(forms.ModelForm):
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        coerce=int,
        choices=[(n, f"{n} – {label}") for n, label in queries.PRIORITY_LABELS.items()],
    )
    category = forms.ChoiceField(
        label=_("Category"),
        required=False,
        choices=[("", _("Any category")), *Case.Category.choices],
        help_text=_("A policy for one category wins over the policy for every category."),
    )

    class Meta:
        model = SlaPolicy
        fields = [
            "name",
            "priority",
            "category",
            "first_response_minutes",
            "resolution_minutes",
            "warn_before_minutes",
        ]
        help_texts = {
            "first_response_minutes": _("Working minutes: a working day is 8 h 30 min = 510."),
            "resolution_minutes": _("Working minutes from the case's creation."),
        }

    def action_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class RoutingRuleForm(forms.ModelForm):
    system = SystemChoiceField(
        label=_("Application"),
        queryset=TargetSystem.objects.order_by("name"),
        required=False,
        empty_label=_("Any application"),
    )
    assignee = UserChoiceField(
        label=_("Assignee"),
        queryset=queries.active_users(),
        required=False,
        empty_label=_("Nobody (the queue)"),
    )

    class Meta:
        model = RoutingRule
        fields = ["order", "name", "system", "category", "keyword", "queue", "assignee", "active"]
        help_texts = {"order": _("Rules are tried from the lowest number; the first match wins.")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        queue = self.fields["queue"]
        assert isinstance(queue, forms.ModelChoiceField)
        current = self.instance.queue_id if self.instance.pk else None
        queue.queryset = Queue.objects.filter(Q(active=True) | Q(pk=current)).order_by("name")
        category = self.fields["category"]
        assert isinstance(category, forms.ChoiceField)
        category.choices = [("", _("Any category")), *Case.Category.choices]

    def action_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class ReplyTemplateForm(forms.ModelForm):
    class Meta:
        model = ReplyTemplate
        fields = ["name", "language", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 10})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"] = forms.ChoiceField(
            label=_("Language"), choices=settings.LANGUAGES, initial="et"
        )
        self.fields["body"].help_text = gettext("Placeholders you can use: %(names)s.") % {
            "names": ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
        }

    def action_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
