"""The compliance evaluation: each finding kind opens when its rule breaks, resolves when fixed,
keeps its first sighting, agrees between the full and the per-person run, and costs a constant
number of queries."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.access.factories import (
    AccountFactory,
    DutyFactory,
    EntitlementFactory,
    GrantFactory,
    JobDescriptionFactory,
    RoleFactory,
)
from tests.factories import PersonFactory, PositionFactory, make_user
from tugi.access import compliance
from tugi.access.compliance import evaluate_all, evaluate_person, fix_hint
from tugi.access.models import (
    AccessRequest,
    AccessRequestItem,
    Account,
    Finding,
    Grant,
    GrantSuspension,
    SodException,
    SodRule,
)
from tugi.core.audit import verify_chain
from tugi.core.models import AuditEvent
from tugi.people.models import Absence, Person

pytestmark = pytest.mark.django_db

Kind = Finding.Kind
DAY = datetime.timedelta(days=1)


# --- helpers ----------------------------------------------------------------------------------


def _holder(role=None, *, person=None, position=None):
    """A person whose position's job description justifies `role`, holding it on that basis."""
    role = role or RoleFactory()
    if person is None:
        position = position or PositionFactory()
        person = PersonFactory(position=position)
    position = person.position
    duty = (
        DutyFactory(job_description=position.job_descriptions.order_by("-valid_from").first())
        if position.job_descriptions.exists()
        else DutyFactory(job_description=JobDescriptionFactory(position=position))
    )
    EntitlementFactory(duty=duty, role=role)
    account = Account.objects.filter(person=person, system=role.system).first() or AccountFactory(
        person=person, system=role.system
    )
    grant = GrantFactory(account=account, role=role, basis_duty=duty)
    return person, grant


def _request_grant(person, role, *, item_state=AccessRequestItem.State.FULFILLED, item_role=None):
    """A grant of `role` to `person` on a request item in the given state."""
    request = AccessRequest.objects.create(
        person=person,
        requested_by=make_user(f"filer{person.pk}-{role.pk}"),
        justification="Tööülesanded",
        state=AccessRequest.State.FULFILLED,
    )
    item = AccessRequestItem.objects.create(
        request=request,
        kind=AccessRequestItem.Kind.GRANT_ROLE,
        system=role.system,
        role=item_role or role,
        state=item_state,
    )
    account = Account.objects.filter(person=person, system=role.system).first() or AccountFactory(
        person=person, system=role.system
    )
    return GrantFactory(
        account=account,
        role=role,
        basis=Grant.Basis.REQUEST,
        basis_duty=None,
        basis_item=item,
    )


def _open() -> dict[str, Finding]:
    return {f.key: f for f in Finding.objects.filter(resolved_at__isnull=True)}


def _open_keys() -> set[str]:
    return set(_open())


def _end(grant, *, reason="Tööülesanded muutusid"):
    grant.valid_to = timezone.now() - datetime.timedelta(seconds=1)
    grant.ended_reason = reason
    grant.save(update_fields=["valid_to", "ended_reason"])


# --- no finding when all is well ---------------------------------------------------------------


def test_a_justified_grant_is_no_finding():
    _holder()
    summary = evaluate_all()
    assert summary.total_open == 0
    assert not Finding.objects.exists()


# --- UNJUSTIFIED_GRANT -------------------------------------------------------------------------


def test_grant_no_longer_in_the_current_job_description_is_found_and_resolved_when_restored():
    person, grant = _holder()
    # A new job description in force today, whose duties no longer justify the role.
    newer = JobDescriptionFactory(position=person.position, valid_from=timezone.localdate())
    new_duty = DutyFactory(job_description=newer)
    evaluate_all()
    finding = _open()[f"unjustified_grant:g{grant.pk}"]
    assert finding.kind == Kind.UNJUSTIFIED_GRANT
    assert (finding.person_id, finding.grant_id) == (person.pk, grant.pk)
    assert grant.role.name in finding.detail

    EntitlementFactory(duty=new_duty, role=grant.role)  # the new job description justifies it
    summary = evaluate_all()
    assert summary.resolved[Kind.UNJUSTIFIED_GRANT] == 1
    assert not _open_keys()
    assert Finding.objects.get(pk=finding.pk).resolved_at is not None


def test_a_future_job_description_does_not_change_todays_answer():
    person, _grant = _holder()
    JobDescriptionFactory(position=person.position, valid_from=timezone.localdate() + 10 * DAY)
    assert evaluate_all().total_open == 0


def test_grant_justified_by_another_positions_duty_is_found(settings):
    settings.LANGUAGE_CODE = "en"  # details are written in the installation's language
    person, grant = _holder()
    # The person moves to a position whose job description also lists the role…
    moved_to = PositionFactory()
    _other, _ = _holder(grant.role, position=moved_to)
    Person.objects.filter(pk=person.pk).update(position=moved_to)
    # …but the grant still cites the old position's duty.
    evaluate_all()
    assert _open_keys() == {f"unjustified_grant:g{grant.pk}"}
    assert "another position" in _open()[f"unjustified_grant:g{grant.pk}"].detail


def test_grant_of_a_person_without_position_is_found():
    person, grant = _holder()
    Person.objects.filter(pk=person.pk).update(position=None)
    evaluate_all()
    assert _open_keys() == {f"unjustified_grant:g{grant.pk}"}


def test_position_without_a_job_description_in_force_justifies_nothing():
    person, grant = _holder()
    person.position.job_descriptions.update(valid_from=timezone.localdate() + DAY)
    evaluate_all()
    assert _open_keys() == {f"unjustified_grant:g{grant.pk}"}


def test_request_grant_needs_an_approved_or_fulfilled_item():
    person = PersonFactory()
    role = RoleFactory()
    grant = _request_grant(person, role, item_state=AccessRequestItem.State.CANCELLED)
    evaluate_all()
    assert _open_keys() == {f"unjustified_grant:g{grant.pk}"}

    AccessRequestItem.objects.filter(pk=grant.basis_item_id).update(
        state=AccessRequestItem.State.APPROVED
    )
    evaluate_all()
    assert not _open_keys()


def test_request_item_for_another_role_does_not_justify_the_grant(settings):
    settings.LANGUAGE_CODE = "en"
    person = PersonFactory()
    role = RoleFactory()
    grant = _request_grant(person, role, item_role=RoleFactory(system=role.system))
    evaluate_all()
    assert _open_keys() == {f"unjustified_grant:g{grant.pk}"}
    assert "another person or role" in _open()[f"unjustified_grant:g{grant.pk}"].detail


def _substitution(absentee_grant, *, delegable=True):
    role = absentee_grant.role
    role.delegable = delegable
    role.save(update_fields=["delegable"])
    substitute = PersonFactory()
    account = AccountFactory(person=substitute, system=role.system)
    return GrantFactory(
        account=account,
        role=role,
        basis=Grant.Basis.SUBSTITUTION,
        basis_duty=None,
        acting_for=absentee_grant.person,
    )


def test_substitution_holds_while_the_absentee_holds_the_role_even_if_suspended():
    _absentee, own = _holder()
    _substitution(own)
    # An exclusive substitution suspends the absentee's own grant: the basis still stands.
    GrantSuspension.objects.create(grant=own, starts_at=timezone.now() - DAY, reason="asendus")
    assert evaluate_all().total_open == 0


def test_substitution_is_found_when_the_absentee_no_longer_holds_the_role():
    _absentee, own = _holder()
    sub = _substitution(own)
    _end(own)
    evaluate_all()
    assert _open_keys() == {f"unjustified_grant:g{sub.pk}"}


def test_substitution_of_a_role_that_is_not_delegable_is_found():
    _absentee, own = _holder()
    sub = _substitution(own, delegable=False)
    evaluate_all()
    assert _open_keys() == {f"unjustified_grant:g{sub.pk}"}


def test_substitution_does_not_chain():
    _absentee, own = _holder()
    first = _substitution(own)
    # The substitute's own substitute: the first substitute holds the role only as a substitute.
    second = GrantFactory(
        account=AccountFactory(person=PersonFactory(), system=own.role.system),
        role=own.role,
        basis=Grant.Basis.SUBSTITUTION,
        basis_duty=None,
        acting_for=first.person,
    )
    evaluate_all()
    assert _open_keys() == {f"unjustified_grant:g{second.pk}"}


def test_an_ended_or_future_or_suspended_grant_is_not_unjustified():
    person, ended = _holder()
    future = GrantFactory(
        account=ended.account,
        role=RoleFactory(system=ended.role.system),
        basis_duty=ended.basis_duty,
        valid_from=timezone.now() + DAY,
    )
    suspended = GrantFactory(
        account=ended.account,
        role=RoleFactory(system=ended.role.system),
        basis_duty=ended.basis_duty,
    )
    GrantSuspension.objects.create(grant=suspended, starts_at=timezone.now() - DAY, reason="x")
    _end(ended)
    Person.objects.filter(pk=person.pk).update(position=None)  # nothing is justified any more
    assert evaluate_all().total_open == 0
    assert future.valid_from > timezone.now()
    assert not _open_keys()


# --- PAST_END ----------------------------------------------------------------------------------


def _lapsed(**account):
    """A grant that ran out on its own end date yesterday, no action recording it."""
    _person, grant = _holder()
    if account:
        Account.objects.filter(pk=grant.account_id).update(**account)
    Grant.objects.filter(pk=grant.pk).update(valid_to=timezone.now() - DAY)
    return grant


def test_grant_lapsed_on_an_active_account_is_past_end_until_the_account_closes():
    grant = _lapsed()
    evaluate_all()
    finding = _open()[f"past_end:g{grant.pk}"]
    assert finding.kind == Kind.PAST_END
    assert timezone.localdate(timezone.now() - DAY).strftime("%d.%m.%Y") in finding.detail

    Account.objects.filter(pk=grant.account_id).update(
        state=Account.State.CLOSED, closed_at=timezone.now()
    )
    evaluate_all()
    assert not _open_keys()


def test_grant_ended_by_an_action_is_not_past_end():
    _person, grant = _holder()
    _end(grant)
    assert evaluate_all().total_open == 0


def test_grant_continued_by_a_later_grant_is_not_past_end():
    grant = _lapsed()
    GrantFactory(
        account=grant.account,
        role=grant.role,
        basis_duty=grant.basis_duty,
        valid_from=timezone.now() - DAY,
    )
    assert evaluate_all().total_open == 0


def _successor(grant, *, start, end, reason="", account=None):
    """Another grant of the same role from `start` to `end` (ended by an action if `reason`)."""
    return GrantFactory(
        account=account or grant.account,
        role=grant.role,
        basis_duty=grant.basis_duty,
        valid_from=start,
        valid_to=end,
        ended_reason=reason,
    )


def _past_end_everywhere(person) -> set[int]:
    """The grants PAST_END finds for the person; evaluate_all and evaluate_person must agree."""
    found = {f.grant_id for f in evaluate_person(person) if f.kind == Kind.PAST_END}
    summary = evaluate_all()
    assert (summary.total_opened, summary.total_resolved) == (0, 0)
    return found


def test_a_renewed_link_of_a_chain_is_not_past_end_even_when_the_renewal_ended_since():
    """A renewal took over as the grant lapsed; the desk ended the renewal later."""
    grant = _lapsed()
    lapse = timezone.now() - DAY
    Grant.objects.filter(pk=grant.pk).update(valid_from=lapse - 300 * DAY, valid_to=lapse)
    _successor(grant, start=lapse, end=timezone.now() - DAY / 2, reason="Ülesanded muutusid")
    assert _past_end_everywhere(grant.person) == set()


def test_only_the_last_lapsed_link_of_a_renewed_chain_is_past_end():
    first = _lapsed()
    now = timezone.now()
    Grant.objects.filter(pk=first.pk).update(valid_from=now - 400 * DAY, valid_to=now - 200 * DAY)
    # Renewed a day before the first link lapsed (an overlap), then lapsed itself.
    last = _successor(first, start=now - 201 * DAY, end=now - 10 * DAY)
    assert _past_end_everywhere(first.person) == {last.pk}


def test_a_grant_started_after_the_lapse_and_ended_since_is_no_renewal():
    grant = _lapsed()
    now = timezone.now()
    Grant.objects.filter(pk=grant.pk).update(valid_from=now - 100 * DAY, valid_to=now - 50 * DAY)
    # A gap of a day: for that day the role was past its end and still in the system.
    _successor(grant, start=now - 49 * DAY, end=now - DAY, reason="Ülesanded muutusid")
    assert _past_end_everywhere(grant.person) == {grant.pk}


def test_a_grant_that_ended_with_the_lapsed_one_or_on_another_account_is_no_renewal():
    grant = _lapsed()
    now = timezone.now()
    Grant.objects.filter(pk=grant.pk).update(valid_from=now - 100 * DAY, valid_to=now - 50 * DAY)
    _successor(grant, start=now - 150 * DAY, end=now - 50 * DAY, reason="Topelt")
    other_account = AccountFactory(
        person=grant.person,
        system=grant.role.system,
        state=Account.State.CLOSED,
        closed_at=now - DAY,
    )
    _successor(grant, start=now - 60 * DAY, end=now - DAY, reason="Muu", account=other_account)
    assert _past_end_everywhere(grant.person) == {grant.pk}


@pytest.mark.parametrize("state", [Account.State.SUSPENDED, Account.State.CLOSED])
def test_lapsed_grant_of_an_account_not_active_is_not_past_end(state):
    _lapsed(state=state)
    assert evaluate_all().open[Kind.PAST_END] == 0


def test_account_whose_grants_all_ended_is_not_a_finding():
    _person, grant = _holder()
    _end(grant)
    assert Account.objects.get(pk=grant.account_id).state == Account.State.ACTIVE
    assert evaluate_all().total_open == 0


# --- SOD_CONFLICT ------------------------------------------------------------------------------


def _conflict():
    """A person holding both roles of an active SoD rule."""
    role_a = RoleFactory()
    role_b = RoleFactory(system=role_a.system)
    person, grant_a = _holder(role_a)
    _person, grant_b = _holder(role_b, person=person)
    rule = SodRule.objects.create(name="Määraja ja maksja", role_a=role_a, role_b=role_b)
    return person, rule, grant_a, grant_b


def test_sod_conflict_is_found_and_resolved_when_one_role_ends():
    person, rule, _grant_a, grant_b = _conflict()
    evaluate_all()
    finding = _open()[f"sod_conflict:p{person.pk}:r{rule.pk}"]
    assert (finding.kind, finding.person_id, finding.rule_id) == (
        Kind.SOD_CONFLICT,
        person.pk,
        rule.pk,
    )
    assert rule.name in finding.detail

    _end(grant_b)
    evaluate_all()
    assert not _open_keys()


def test_valid_sod_exception_suppresses_the_conflict_until_it_expires():
    person, rule, _a, _b = _conflict()
    exception = SodException.objects.create(
        rule=rule, person=person, valid_to=timezone.now() + DAY, justification="Väike üksus"
    )
    assert evaluate_all().total_open == 0
    assert evaluate_person(person) == []
    SodException.objects.filter(pk=exception.pk).update(valid_to=timezone.now() - DAY)
    assert [f.kind for f in evaluate_person(person)] == [Kind.SOD_CONFLICT]
    assert evaluate_all().open[Kind.SOD_CONFLICT] == 1


def test_suspended_grant_or_inactive_rule_is_no_conflict():
    _person, rule, grant_a, _b = _conflict()
    GrantSuspension.objects.create(grant=grant_a, starts_at=timezone.now() - DAY, reason="x")
    assert evaluate_all().total_open == 0
    GrantSuspension.objects.filter(grant=grant_a).update(ends_at=timezone.now() - 1 * DAY / 2)
    assert evaluate_all().open[Kind.SOD_CONFLICT] == 1
    SodRule.objects.filter(pk=rule.pk).update(active=False)
    assert evaluate_all().total_open == 0


# --- LEAVER_ACCOUNT ----------------------------------------------------------------------------


def test_open_account_of_a_person_who_left_is_found_and_resolved_when_closed():
    account = AccountFactory(person=PersonFactory(status=Person.Status.LEFT))
    evaluate_all()
    finding = _open()[f"leaver_account:a{account.pk}"]
    assert (finding.kind, finding.account_id) == (Kind.LEAVER_ACCOUNT, account.pk)
    assert account.system.name in finding.detail

    Account.objects.filter(pk=account.pk).update(state=Account.State.CLOSED)
    evaluate_all()
    assert not _open_keys()


def test_employment_ended_before_today_is_a_leaver_but_ending_today_is_not():
    today = timezone.localdate()
    start = datetime.date(2020, 1, 1)
    gone = AccountFactory(person=PersonFactory(employment_start=start, employment_end=today - DAY))
    AccountFactory(person=PersonFactory(employment_start=start, employment_end=today))
    AccountFactory(person=PersonFactory(status=Person.Status.LEFT), state=Account.State.CLOSED)
    evaluate_all()
    assert _open_keys() == {f"leaver_account:a{gone.pk}"}
    assert (today - DAY).strftime("%d.%m.%Y") in _open()[f"leaver_account:a{gone.pk}"].detail


# --- ABSENT_ACTIVE_GRANT -----------------------------------------------------------------------


def _absent_holder(*, suspend_during_absence=True, **absence):
    role = RoleFactory(suspend_during_absence=suspend_during_absence)
    person, grant = _holder(role)
    today = timezone.localdate()
    Absence.objects.create(
        person=person,
        starts_on=absence.pop("starts_on", today - DAY),
        ends_on=absence.pop("ends_on", today + DAY),
        **absence,
    )
    return person, grant


def test_active_grant_of_an_absent_person_is_found_and_resolved_when_suspended():
    _person, grant = _absent_holder()
    evaluate_all()
    finding = _open()[f"absent_active_grant:g{grant.pk}"]
    assert finding.kind == Kind.ABSENT_ACTIVE_GRANT
    assert grant.role.name in finding.detail

    GrantSuspension.objects.create(grant=grant, starts_at=timezone.now(), reason="puhkus")
    evaluate_all()
    assert not _open_keys()


def test_absence_rule_applies_only_to_marked_roles_and_current_absences():
    _absent_holder(suspend_during_absence=False)
    _absent_holder(cancelled=True)
    today = timezone.localdate()
    _absent_holder(starts_on=today + DAY, ends_on=today + 5 * DAY)
    _absent_holder(starts_on=today - 5 * DAY, ends_on=today - DAY)
    assert evaluate_all().total_open == 0


def test_absence_covering_today_by_its_first_or_last_day_counts():
    today = timezone.localdate()
    _absent_holder(starts_on=today, ends_on=today + DAY)
    _absent_holder(starts_on=today - DAY, ends_on=today)
    assert evaluate_all().open[Kind.ABSENT_ACTIVE_GRANT] == 2


# --- storing: stable findings, one audit event per run -----------------------------------------


def test_first_seen_is_kept_across_evaluations_and_a_recurrence_is_a_new_finding(time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    person, grant = _holder()
    Person.objects.filter(pk=person.pk).update(position=None)
    evaluate_all()
    first = _open()[f"unjustified_grant:g{grant.pk}"]

    time_machine.shift(datetime.timedelta(hours=2))
    summary = evaluate_all()
    assert summary.opened[Kind.UNJUSTIFIED_GRANT] == 0
    again = _open()[f"unjustified_grant:g{grant.pk}"]
    assert (again.pk, again.first_seen, again.detail) == (first.pk, first.first_seen, first.detail)

    # Fixed, then broken again: the old finding stays resolved, a new one opens.
    Person.objects.filter(pk=person.pk).update(position=grant.basis_duty.job_description.position)
    evaluate_all()
    Person.objects.filter(pk=person.pk).update(position=None)
    time_machine.shift(datetime.timedelta(hours=2))
    evaluate_all()
    rows = Finding.objects.filter(key=f"unjustified_grant:g{grant.pk}").order_by("id")
    assert [r.resolved_at is None for r in rows] == [False, True]
    assert rows[1].first_seen > rows[0].first_seen


def test_evaluate_all_records_one_audit_event_with_the_counts(admin_user):
    _conflict()
    AccountFactory(person=PersonFactory(status=Person.Status.LEFT))
    evaluate_all(actor=admin_user)
    evaluate_all()
    events = list(AuditEvent.objects.filter(action=compliance.ACTION).order_by("id"))
    assert len(events) == 2
    assert events[0].actor_id == admin_user.pk
    assert events[0].after["opened"][Kind.SOD_CONFLICT] == 1
    assert events[0].after["opened"][Kind.LEAVER_ACCOUNT] == 1
    assert events[1].after["opened"] == dict.fromkeys(Kind.values, 0)
    assert events[1].after["open"][Kind.SOD_CONFLICT] == 1
    assert verify_chain().ok


def test_evaluate_person_writes_no_audit_event_when_nothing_changed():
    person, grant = _holder()
    assert evaluate_person(person) == []
    assert not AuditEvent.objects.filter(action=compliance.ACTION).exists()

    Person.objects.filter(pk=person.pk).update(position=None)
    findings = evaluate_person(person)
    assert [f.key for f in findings] == [f"unjustified_grant:g{grant.pk}"]
    event = AuditEvent.objects.get(action=compliance.ACTION)
    assert event.subject_person_id == person.pk
    assert event.after["opened"] == {Kind.UNJUSTIFIED_GRANT: 1}

    assert [f.pk for f in evaluate_person(person)] == [findings[0].pk]
    assert AuditEvent.objects.filter(action=compliance.ACTION).count() == 1


def _every_kind():
    """Persons with every kind of finding, and bystanders with none."""
    _conflict()
    _absent_holder()
    _lapsed()
    AccountFactory(person=PersonFactory(status=Person.Status.LEFT))
    person, _grant = _holder()
    Person.objects.filter(pk=person.pk).update(position=None)
    _request_grant(PersonFactory(), RoleFactory(), item_state=AccessRequestItem.State.PENDING)
    _absentee, own = _holder()
    _substitution(own, delegable=False)
    _holder()
    _holder()


def test_evaluate_person_agrees_with_evaluate_all():
    _every_kind()
    persons = list(Person.objects.all())
    expected = compliance.compute()
    assert {f.kind for f in expected.values()} == set(Kind.values)

    by_person = {p.pk: {f.key for f in evaluate_person(p)} for p in persons}
    for person in persons:
        assert by_person[person.pk] == {
            key for key, f in expected.items() if f.person_id == person.pk
        }
    # The full run finds the same: nothing to open, nothing to resolve.
    summary = evaluate_all()
    assert (summary.total_opened, summary.total_resolved) == (0, 0)
    assert summary.total_open == len(expected)
    # And the other way round: after a full run, per-person runs change nothing.
    Finding.objects.update(resolved_at=timezone.now())
    evaluate_all()
    events = AuditEvent.objects.count()
    for person in persons:
        evaluate_person(person)
    assert AuditEvent.objects.count() == events


def test_evaluate_person_resolves_only_that_persons_findings():
    a = AccountFactory(person=PersonFactory(status=Person.Status.LEFT))
    b = AccountFactory(person=PersonFactory(status=Person.Status.LEFT))
    evaluate_all()
    Account.objects.filter(pk__in=[a.pk, b.pk]).update(state=Account.State.CLOSED)
    assert evaluate_person(a.person) == []
    assert _open_keys() == {f"leaver_account:a{b.pk}"}


# --- cost --------------------------------------------------------------------------------------


def _population(n: int):
    """n persons, each with a justified grant; every fifth has a finding of some kind."""
    for i in range(n):
        person, grant = _holder()
        if i % 5 == 0:
            Person.objects.filter(pk=person.pk).update(position=None)
        elif i % 5 == 1:
            Grant.objects.filter(pk=grant.pk).update(valid_to=timezone.now() - DAY)


def _queries_of_evaluate_all() -> int:
    with CaptureQueriesContext(connection) as ctx:
        evaluate_all()
    return len(ctx.captured_queries)


def test_evaluate_all_issues_the_same_number_of_queries_for_10_or_100_persons():
    _conflict()
    _absent_holder()
    AccountFactory(person=PersonFactory(status=Person.Status.LEFT))
    _population(10)
    small_first = _queries_of_evaluate_all()  # opens findings
    small_again = _queries_of_evaluate_all()  # nothing changes
    Finding.objects.update(resolved_at=timezone.now())
    _population(90)
    assert _queries_of_evaluate_all() == small_first
    assert _queries_of_evaluate_all() == small_again
    assert small_first <= 25


def test_evaluate_person_is_three_queries_when_nothing_changes(django_assert_num_queries):
    _every_kind()
    person, _grant = _holder()
    _holder(person=person)
    conflicted, _rule, _a, _b = _conflict()
    for someone in (person, conflicted):
        evaluate_person(someone)
        # The person with their job descriptions and the SoD rules, the grants, the findings.
        with django_assert_num_queries(3):
            evaluate_person(someone)


def test_evaluate_persons_queries_written_once_answer_as_the_orm_does():
    """_Prepared reuses the SQL the ORM wrote for other values: same rows, same types."""
    person, rule, grant_a, _b = _conflict()
    SodException.objects.create(
        rule=rule, person=person, valid_to=timezone.now() + DAY, justification="Väike üksus"
    )
    Absence.objects.create(
        person=person, starts_on=timezone.localdate(), ends_on=timezone.localdate() + DAY
    )
    GrantSuspension.objects.create(grant=grant_a, starts_at=timezone.now() - DAY, reason="x")
    _successor(grant_a, start=timezone.now() - 9 * DAY, end=timezone.now() - 2 * DAY)
    now = timezone.now()
    values = {"person_id": person.pk, "today": timezone.localdate(now), "now": now}
    for prepared, build in (
        (compliance._PERSON_ROWS, compliance._person_rows),
        (compliance._PERSON_GRANTS, compliance._person_grants),
    ):
        assert prepared.rows(**values) == list(build(**values))
    grants = compliance._PERSON_GRANTS.rows(**values)
    assert {type(v) for row in grants for v in row[4:6] if v} == {datetime.datetime}
    assert all(row[4].tzinfo is not None for row in grants)
    assert {row[-2] for row in grants} == {True, False}  # suspended, as booleans


def test_a_query_whose_sql_depends_on_the_values_is_refused():
    def build(person_id, today, now):
        return Person.objects.filter(pk__in=range(-person_id % 3 + 1)).values_list("id")

    with pytest.raises(ValueError, match="depends on the values"):
        compliance._Prepared(build).rows(person_id=1, today=None, now=None)


def test_evaluate_person_needs_more_only_for_substitutes_and_leavers(django_assert_num_queries):
    _absentee, own = _holder()
    substitute = _substitution(own).person
    Person.objects.filter(pk=substitute.pk).update(
        status=Person.Status.LEFT, position=own.person.position
    )
    evaluate_person(substitute)
    # …plus the substituted persons' own grants, and the leaver's accounts.
    with django_assert_num_queries(5):
        evaluate_person(substitute)


# --- the way to a fix, the command ---------------------------------------------------------------


def test_fix_hint_names_a_page_for_every_kind():
    _every_kind()
    evaluate_all()
    hints = {f.kind: fix_hint(f) for f in Finding.objects.all()}
    assert set(hints) == set(Kind.values)
    for kind in (Kind.UNJUSTIFIED_GRANT, Kind.PAST_END, Kind.ABSENT_ACTIVE_GRANT):
        name, kwargs, label = hints[kind]
        assert name == "access:grant_detail" and set(kwargs) == {"pk"} and label
    assert hints[Kind.LEAVER_ACCOUNT][0] == "access:account_detail"
    assert hints[Kind.SOD_CONFLICT][0] == "access:sod_rule_detail"
    sod = Finding.objects.get(kind=Kind.SOD_CONFLICT)
    assert hints[Kind.SOD_CONFLICT][1] == {"pk": sod.rule_id}


def test_fix_hint_falls_back_to_the_person_access_page():
    finding = Finding(kind=Kind.UNJUSTIFIED_GRANT, person_id=7, key="x")
    assert fix_hint(finding)[:2] == ("access:person_access", {"pk": 7})


def test_command_evaluates_everyone_or_one_person():
    account = AccountFactory(person=PersonFactory(status=Person.Status.LEFT))
    out = StringIO()
    call_command("compliance", "evaluate", stdout=out)
    assert "leaver_account" in out.getvalue()
    assert _open_keys() == {f"leaver_account:a{account.pk}"}

    out = StringIO()
    call_command("compliance", "evaluate", "--person", str(account.person_id), stdout=out)
    assert "1 open findings" in out.getvalue()
    assert f"leaver_account:a{account.pk}" in out.getvalue()
