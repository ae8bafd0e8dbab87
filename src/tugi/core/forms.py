"""Forms of the core pages: the audit filter and user management."""

from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from tugi.core.roles import ROLE_LABELS
from tugi.people.models import Person


class AuditFilterForm(forms.Form):
    """Filters of the audit page: whose data, who acted, what, and when."""

    person = forms.IntegerField(label=_("Person (id)"), required=False, min_value=1)
    actor = forms.CharField(label=_("Actor (username)"), required=False, max_length=150)
    action = forms.CharField(label=_("Action"), required=False, max_length=100)
    object_type = forms.CharField(label=_("Object type"), required=False, max_length=100)
    object_id = forms.CharField(label=_("Object id"), required=False, max_length=64)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end of the period is before its start."))
        if data.get("object_id") and not data.get("object_type"):
            self.add_error("object_type", _("Give the object type with the object id."))
        return data


_ROLE_CHOICES = [(role.value, label) for role, label in ROLE_LABELS.items()]


class UserCreateForm(forms.Form):
    """A new Tugi user: username, optional password, app roles and the person it belongs to."""

    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(
        label=_("Password"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty to create the user without password sign-in."),
    )
    roles = forms.MultipleChoiceField(
        label=_("App roles"),
        choices=_ROLE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    person_email = forms.EmailField(
        label=_("Person's e-mail"),
        required=False,
        help_text=_("Links the user to the staff member with this e-mail."),
    )

    def clean_person_email(self) -> Person | None:
        email = (self.cleaned_data.get("person_email") or "").strip().lower()
        if not email:
            return None
        person = Person.objects.filter(email=email).first()
        if person is None:
            raise forms.ValidationError(
                _("No person has the e-mail %(email)s."), params={"email": email}
            )
        if person.user_id:
            raise forms.ValidationError(
                _("%(person)s already has a user."), params={"person": person}
            )
        return person

    def clean_password(self) -> str:
        from django.contrib.auth.password_validation import validate_password

        password: str = self.cleaned_data.get("password") or ""
        if password:
            validate_password(password, User(username=self.data.get("username", "")))
        return password


class UserRolesForm(forms.Form):
    """The app roles of an existing user."""

    roles = forms.MultipleChoiceField(
        label=_("App roles"),
        choices=_ROLE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    is_active = forms.BooleanField(label=_("May sign in"), required=False)
