"""Actions on people and organisation: the only code that writes these tables.

Each action checks permission, validates, writes the change and its audit event in one
transaction, and raises ValidationError naming the field and the reason when input is bad, in
which case nothing is saved.
"""

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from tugi.core import audit
from tugi.core.permissions import Actor, require
from tugi.core.text import fold
from tugi.core.validation import assign_fields, save_validated
from tugi.people.models import Absence, Duty, JobDescription, OrgUnit, Person, Position
from tugi.people.signals import absence_changed

ORG_UNIT_FIELDS = ["name", "name_en", "code", "kind", "parent", "head", "active"]
POSITION_FIELDS = ["title", "title_en", "code", "org_unit", "active"]
PERSON_FIELDS = [
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
    "user",
]


# --- org units ---------------------------------------------------------------------------------


def _check_parent(unit: OrgUnit) -> None:
    parent = unit.parent
    if parent is None:
        return
    if unit.pk and (parent.pk == unit.pk or parent.path.startswith(f"{unit.path}")):
        raise ValidationError(
            {
                "parent": _("“%(parent)s” is inside “%(unit)s”: the unit tree would have a cycle.")
                % {"parent": parent, "unit": unit}
            }
        )


def _set_path(unit: OrgUnit) -> None:
    parent = unit.parent
    unit.path = f"{parent.path if parent else '/'}{unit.pk}/"
    unit.depth = parent.depth + 1 if parent else 0


def create_org_unit(actor: Actor, **data: Any) -> OrgUnit:
    """Create an org unit under its parent (or as a root)."""
    require(actor, "people.add_orgunit")
    unit = OrgUnit()
    assign_fields(unit, data, ORG_UNIT_FIELDS)
    with transaction.atomic():
        unit.path = "/pending/"
        save_validated(unit)
        _set_path(unit)
        unit.save(update_fields=["path", "depth"])
        audit.record(actor, "people.org_unit.create", unit, after=audit.snapshot(unit))
    return unit


def update_org_unit(actor: Actor, unit: OrgUnit, **data: Any) -> OrgUnit:
    """Change an org unit; moving it re-roots its whole subtree, refusing cycles."""
    require(actor, "people.change_orgunit")
    with transaction.atomic():
        unit = OrgUnit.objects.select_for_update().get(pk=unit.pk)
        before = audit.snapshot(unit)
        old_path = unit.path
        assign_fields(unit, data, ORG_UNIT_FIELDS)
        _check_parent(unit)
        _set_path(unit)
        save_validated(unit)
        if unit.path != old_path:
            # One statement re-roots every descendant: new prefix + the rest of the old path.
            OrgUnit.objects.filter(path__startswith=old_path).exclude(pk=unit.pk).update(
                path=Concat(Value(unit.path), Substr("path", len(old_path) + 1)),
                depth=F("depth") - (old_path.count("/") - unit.path.count("/")),
            )
        b, a = audit.diff(before, audit.snapshot(unit))
        audit.record(actor, "people.org_unit.update", unit, before=b, after=a)
    return unit


# --- positions and job descriptions ------------------------------------------------------------


def create_position(actor: Actor, **data: Any) -> Position:
    """Create a position in an org unit."""
    require(actor, "people.add_position")
    position = Position()
    assign_fields(position, data, POSITION_FIELDS)
    with transaction.atomic():
        save_validated(position)
        audit.record(actor, "people.position.create", position, after=audit.snapshot(position))
    return position


def update_position(actor: Actor, position: Position, **data: Any) -> Position:
    """Change a position's title, code, unit or activity."""
    require(actor, "people.change_position")
    with transaction.atomic():
        position = Position.objects.select_for_update().get(pk=position.pk)
        before = audit.snapshot(position)
        assign_fields(position, data, POSITION_FIELDS)
        save_validated(position)
        b, a = audit.diff(before, audit.snapshot(position))
        audit.record(actor, "people.position.update", position, before=b, after=a)
    return position


def _job_description_snapshot(jd: JobDescription) -> dict[str, Any]:
    data = audit.snapshot(jd)
    data["substitutes"] = sorted(jd.substitutes.values_list("id", flat=True))
    data["substituted_by"] = sorted(jd.substituted_by.values_list("id", flat=True))
    data["duties"] = [
        {"description": d.description, "expected_result": d.expected_result}
        for d in jd.duties.all()
    ]
    return data


def save_job_description(
    actor: Actor,
    job_description: JobDescription | None = None,
    *,
    position: Position,
    valid_from: datetime.date,
    directive: str = "",
    purpose: str = "",
    duties: list[dict[str, str]],
    substitutes: list[Position] | None = None,
    substituted_by: list[Position] | None = None,
) -> JobDescription:
    """Create or replace a job description with its duties and substitution positions."""
    require(
        actor, "people.change_jobdescription" if job_description else "people.add_jobdescription"
    )
    if not any(d.get("description", "").strip() for d in duties):
        raise ValidationError({"duties": _("A job description needs at least one duty.")})
    if position in (substitutes or []) or position in (substituted_by or []):
        raise ValidationError({"substitutes": _("A position cannot substitute itself.")})
    with transaction.atomic():
        jd = job_description or JobDescription()
        before = _job_description_snapshot(jd) if jd.pk else None
        jd.position, jd.valid_from, jd.directive, jd.purpose = (
            position,
            valid_from,
            directive,
            purpose,
        )
        save_validated(jd)
        jd.substitutes.set(substitutes or [])
        jd.substituted_by.set(substituted_by or [])
        _replace_duties(jd, [d for d in duties if d.get("description", "").strip()])
        audit.record(
            actor,
            "people.job_description.update" if before else "people.job_description.create",
            jd,
            before=before,
            after=_job_description_snapshot(jd),
        )
    return jd


def _duty_references(duty: Duty) -> list[str]:
    """What still points at a duty (the roles it justifies, grants made on it), by kind."""
    return [
        str(rel.related_model._meta.verbose_name_plural)
        for rel in Duty._meta.related_objects
        if rel.related_model._default_manager.filter(**{rel.field.name: duty}).exists()
    ]


def _replace_duties(jd: JobDescription, duties: list[dict[str, str]]) -> None:
    """Update the duties in place so that the roles they justify stay linked to them.

    A new duty takes over the existing duty with the same text, else the next unclaimed one in
    order (a reworded duty). A dropped duty that still justifies roles or grants is refused by
    name: removing it would silently take away the basis of people's access.
    """
    existing = list(jd.duties.order_by("order", "id"))
    texts = [d["description"].strip() for d in duties]
    claimed: dict[int, Duty] = {}
    for i, text in enumerate(texts):
        same = next(
            (d for d in existing if d.description == text and d not in claimed.values()), None
        )
        if same is not None:
            claimed[i] = same
    unclaimed = iter([d for d in existing if d not in claimed.values()])
    for i, data in enumerate(duties):
        duty = claimed.get(i) or next(unclaimed, None) or Duty(job_description=jd)
        duty.order, duty.description = i, texts[i]
        duty.expected_result = data.get("expected_result", "").strip()
        duty.save()
        claimed[i] = duty
    kept = {d.pk for d in claimed.values()}
    for duty in (d for d in existing if d.pk not in kept):
        if refs := _duty_references(duty):
            raise ValidationError(
                {
                    "duties": _(
                        "The duty “%(duty)s” cannot be removed: %(refs)s still refer to it. "
                        "Keep the duty, or move those to another duty first."
                    )
                    % {"duty": duty.description[:80], "refs": ", ".join(refs)}
                }
            )
        duty.delete()


# --- persons ----------------------------------------------------------------------------------


def _check_person(person: Person) -> None:
    errors: dict[str, str] = {}
    if person.personal_code == "":
        person.personal_code = None
    if person.foreign_id_code and not person.foreign_id_country:
        errors["foreign_id_country"] = _("Say which country issued the foreign id.")
    if person.foreign_id_country and person.foreign_id_country.upper() == "EE":
        errors["foreign_id_country"] = _("An Estonian id goes in the personal code field.")
    person.foreign_id_country = person.foreign_id_country.upper()
    if person.email:
        person.email = person.email.strip().lower()
    position = person.position
    if position is not None and person.org_unit_id and position.org_unit_id != person.org_unit_id:
        errors["position"] = _("The position “%(position)s” belongs to another unit.") % {
            "position": person.position
        }
    manager = person.manager
    if manager is not None:
        if person.pk and manager.pk == person.pk:
            errors["manager"] = _("A person cannot be their own manager.")
        else:
            seen = {person.pk}
            node: Person | None = manager
            while node is not None:
                if node.pk in seen:
                    errors["manager"] = _(
                        "%(manager)s reports (directly or not) to %(person)s: "
                        "managers would form a cycle."
                    ) % {"manager": manager, "person": person}
                    break
                seen.add(node.pk)
                node = node.manager
    if person.status == Person.Status.LEFT and not person.employment_end:
        errors["employment_end"] = _("A person who has left needs an employment end date.")
    if errors:
        raise ValidationError(errors)
    person.search_text = fold(f"{person.first_name} {person.last_name} {person.email}")


def create_person(actor: Actor, **data: Any) -> Person:
    """Add a person to the organisation."""
    require(actor, "people.add_person")
    person = Person()
    assign_fields(person, data, PERSON_FIELDS)
    with transaction.atomic():
        _check_person(person)
        save_validated(person)
        audit.record(
            actor,
            "people.person.create",
            person,
            after=person_audit(person),
            subject_person_id=person.pk,
        )
    return person


def update_person(actor: Actor, person: Person, **data: Any) -> Person:
    """Change a person's data; the audit event keeps what changed, never the personal code."""
    require(actor, "people.change_person")
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        before = person_audit(person)
        old_ids = {name: getattr(person, name) for name in IDENTIFIERS}
        assign_fields(person, data, PERSON_FIELDS)
        _check_person(person)
        save_validated(person)
        b, a = audit.diff(before, person_audit(person))
        for name, old in old_ids.items():
            if getattr(person, name) != old:
                b[name], a[name] = "•", "changed"
        if b or a:
            audit.record(
                actor,
                "people.person.update",
                person,
                before=b,
                after=a,
                subject_person_id=person.pk,
            )
    return person


# The identifiers the audit log never holds: it records *that* one changed, not its value, since
# the log is read more widely than the codes may be.
IDENTIFIERS = ("personal_code", "foreign_id_code")
_AUDITED_FIELDS = [
    f.attname
    for f in Person._meta.concrete_fields
    if f.attname not in {*IDENTIFIERS, "search_text"}
]


def person_audit(person: Person) -> dict[str, Any]:
    """What the audit log records of a person: every field but the identifiers' values."""
    data = audit.snapshot(person, _AUDITED_FIELDS)
    data["has_personal_code"] = bool(person.personal_code)
    data["has_foreign_id"] = bool(person.foreign_id_code)
    return data


def view_personal_code(actor: Actor, person: Person, purpose: str) -> str:
    """Reveal a person's personal code, logging who saw it and why."""
    require(actor, "people.view_personal_code")
    purpose = purpose.strip()
    if len(purpose) < 3:
        raise ValidationError({"purpose": _("Say why you need to see the personal code.")})
    with transaction.atomic():
        audit.record(
            actor,
            "people.person.view_personal_code",
            person,
            subject_person_id=person.pk,
            purpose=purpose,
        )
    return person.personal_code or ""


# --- absences ---------------------------------------------------------------------------------

ABSENCE_FIELDS = ["person_id", "kind", "starts_on", "ends_on", "source", "note", "cancelled"]


def _absence_require(actor: Actor, perm: str) -> None:
    # None is the system or the operator on the server (an HR import), as in tugi.api.actions.
    if actor is not None:
        require(actor, perm)


def _day(value: datetime.date) -> str:
    return value.strftime("%d.%m.%Y")


def _check_absence(absence: Absence) -> None:
    """The period is the right way round, the person still works here then, and the person is
    not already absent on any of its days (another absence that is not cancelled)."""
    errors: dict[str, str] = {}
    person = absence.person
    if absence.kind not in Absence.Kind.values:
        errors["kind"] = _("Choose the kind of absence.")
    if absence.ends_on < absence.starts_on:
        errors["ends_on"] = _("The last day (%(end)s) is before the first day (%(start)s).") % {
            "end": _day(absence.ends_on),
            "start": _day(absence.starts_on),
        }
    if person.status == Person.Status.LEFT or (
        person.employment_end is not None and person.employment_end < absence.starts_on
    ):
        errors["person"] = _("%(person)s has left the agency: no absence can be recorded.") % {
            "person": person
        }
    elif person.employment_end is not None and person.employment_end < absence.ends_on:
        errors["ends_on"] = _(
            "%(person)s works here only until %(day)s: the absence cannot last longer."
        ) % {"person": person, "day": _day(person.employment_end)}
    if not errors:
        other = (
            Absence.objects.filter(person=person, cancelled=False)
            .filter(starts_on__lte=absence.ends_on, ends_on__gte=absence.starts_on)
            .exclude(pk=absence.pk)
            .order_by("starts_on")
            .first()
        )
        if other is not None:
            errors["starts_on"] = _(
                "%(person)s is already absent from %(start)s to %(end)s (%(kind)s): change "
                "or cancel that absence first."
            ) % {
                "person": person,
                "start": _day(other.starts_on),
                "end": _day(other.ends_on),
                "kind": other.get_kind_display(),
            }
    if errors:
        raise ValidationError(errors)


def _announce_absence(
    actor: Actor, absence: Absence, event: str, before: dict[str, Any] | None
) -> None:
    # Inside the transaction: see tugi.people.signals for why.
    absence_changed.send(sender=Absence, absence=absence, event=event, before=before, actor=actor)


def record_absence(
    actor: Actor,
    person: Person,
    *,
    kind: str,
    starts_on: datetime.date,
    ends_on: datetime.date,
    source: str = Absence.Source.MANUAL,
    note: str = "",
) -> Absence:
    """Record that a person is away on these days (inclusive), by hand or from the schedule."""
    _absence_require(actor, "people.add_absence")
    if source not in Absence.Source.values:
        raise ValidationError({"source": _("Say where the absence comes from.")})
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        absence = Absence(
            person=person,
            kind=kind,
            starts_on=starts_on,
            ends_on=ends_on,
            source=source,
            note=note.strip()[:300],
        )
        _check_absence(absence)
        save_validated(absence)
        audit.record(
            actor,
            "people.absence.create",
            absence,
            after=audit.snapshot(absence, ABSENCE_FIELDS),
            subject_person_id=person.pk,
        )
        _announce_absence(actor, absence, "recorded", None)
    return absence


def change_absence(
    actor: Actor,
    absence: Absence,
    *,
    starts_on: datetime.date,
    ends_on: datetime.date,
    kind: str | None = None,
    note: str | None = None,
) -> Absence:
    """Move an absence's days (or change its kind or note); linked substitutions follow."""
    _absence_require(actor, "people.change_absence")
    with transaction.atomic():
        # The person's row first, as record_absence does: two changes of one person's absences
        # are checked for overlap one after the other.
        Person.objects.select_for_update().get(pk=absence.person_id)
        absence = Absence.objects.select_for_update().select_related("person").get(pk=absence.pk)
        if absence.cancelled:
            raise ValidationError(_("This absence is cancelled and cannot be changed."))
        before = audit.snapshot(absence, ABSENCE_FIELDS)
        period_before = {"starts_on": absence.starts_on, "ends_on": absence.ends_on}
        absence.starts_on, absence.ends_on = starts_on, ends_on
        if kind is not None:
            absence.kind = kind
        if note is not None:
            absence.note = note.strip()[:300]
        _check_absence(absence)
        save_validated(absence)
        b, a = audit.diff(before, audit.snapshot(absence, ABSENCE_FIELDS))
        if not a:
            return absence
        audit.record(
            actor,
            "people.absence.update",
            absence,
            before=b,
            after=a,
            subject_person_id=absence.person_id,
        )
        if "starts_on" in a or "ends_on" in a:
            _announce_absence(actor, absence, "changed", period_before)
    return absence


def cancel_absence(actor: Actor, absence: Absence, *, reason: str) -> Absence:
    """Cancel an absence (it is kept, marked cancelled); its substitution orders are cancelled."""
    _absence_require(actor, "people.change_absence")
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the absence is cancelled.")})
    with transaction.atomic():
        absence = Absence.objects.select_for_update().select_related("person").get(pk=absence.pk)
        if absence.cancelled:
            return absence  # idempotent: an import may cancel the same row twice
        absence.cancelled = True
        absence.save(update_fields=["cancelled"])
        audit.record(
            actor,
            "people.absence.cancel",
            absence,
            before={"cancelled": False},
            after={"cancelled": True},
            basis=reason.strip()[:300],
            subject_person_id=absence.person_id,
        )
        _announce_absence(
            actor,
            absence,
            "cancelled",
            {"starts_on": absence.starts_on, "ends_on": absence.ends_on},
        )
    return absence
