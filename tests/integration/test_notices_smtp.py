"""Notices through a real SMTP server on loopback: what arrives, in which words, after a refusal.

Every notice goes `tugi.core.notices.queue_notice` → the Huey task `send_notice_task` → Django's
SMTP backend → aiosmtpd (tests.integration.mailservers). The tests run the action or the periodic
job that causes the notice, with real commits (on-commit hooks fire as in production), and read
the bytes the server received with the `email` package. Huey runs tasks at once (tests/conftest.py
sets `HUEY.immediate`, the same as TUGI_HUEY_IMMEDIATE=true): a send that fails is caught by Huey
and put in its (in-memory) schedule for a retry, which the tests run as the consumer would.

The notices speak the agency's language: these tests run with Tugi's real default (Estonian).
"""

from __future__ import annotations

import datetime
import re
import smtplib
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email import policy as email_policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from tests.access.factories import AccountFactory, GrantFactory, RoleFactory, request_world
from tests.access.substitution_support import TALLINN, World, build_world
from tests.api.access_helpers import request_grant
from tests.desk.factories import CaseFactory, SlaPolicyFactory
from tests.factories import PersonFactory, make_user
from tests.integration.mailservers import Delivered, SmtpSink, free_port
from tugi.access import policy
from tugi.access.actions import requests
from tugi.access.actions import substitution as substitution_actions
from tugi.access.lifecycle import alerts, notice_tasks, plan, substitution_notices
from tugi.access.lifecycle.plan import day_start
from tugi.access.models import AccessRequest, Change, Grant, Substitution
from tugi.core import notices
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.desk import sla
from tugi.desk.tasks import run_sla_check

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.estonian]

BASE = "https://tugi.sotsiaalkindlustusamet.ee"
FROM_NAME = "Kasutajatugi – Sotsiaalkindlustusameti tööportaal"
FROM_ADDRESS = "tugi@sotsiaalkindlustusamet.ee"
DESK = "kasutajatugi@sotsiaalkindlustusamet.ee"
# Every one of õ ä ö ü š ž, upper and lower case, in a person's name.
FIRST, LAST = "Žanna-Ülle", "Šmidt-Jõeäär-Öövel"
NAME = f"{FIRST} {LAST}"


@pytest.fixture
def smtp(settings, smtp_settings: SmtpSink) -> SmtpSink:
    """Tugi's SMTP backend on the loopback server; links start with the agency's address."""
    assert HUEY.immediate  # tests/conftest.py: tasks run at once, in memory
    assert settings.LANGUAGE_CODE == "et"  # the real default, not the English of other tests
    settings.TUGI_BASE_URL = BASE + "/"  # a trailing slash must not double in the links
    settings.TUGI_MAIL_FROM = f"{FROM_NAME} <{FROM_ADDRESS}>"
    return smtp_settings


@pytest.fixture(autouse=True)
def _huey_schedule_restored() -> Iterator[set[str]]:
    """What a test leaves in Huey's in-memory schedule (retries, exact-time lifecycle runs) is
    taken off it afterwards, so no later test runs it."""
    before = {task.id for task in HUEY.scheduled()}
    yield before
    for task in HUEY.read_schedule(datetime.datetime(9999, 1, 1)):
        if task.id in before:
            HUEY.add_schedule(task)


@pytest.fixture
def huey_retries(_huey_schedule_restored: set[str]) -> Callable[[], list[Any]]:
    """The sends Huey has put in its schedule for a retry since the test began."""

    def scheduled_sends() -> list[Any]:
        return [
            task
            for task in HUEY.scheduled()
            if task.id not in _huey_schedule_restored
            and isinstance(task, notices.send_notice_task.task_class)
        ]

    return scheduled_sends


def run_due_retries(due: list) -> None:
    """What the consumer does when a retry's time comes: take it off the schedule and run it."""
    latest = max(task.eta for task in due)
    for task in HUEY.read_schedule(latest):
        HUEY.execute(task, timestamp=latest)  # run as at that time, not a minute early


def only_mail_to(smtp: SmtpSink, address: str) -> Delivered:
    (delivered,) = smtp.to(address.lower())
    return delivered


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return part.get_content().replace("\r\n", "\n")  # lines travel CRLF-terminated


def subject_of(message: EmailMessage) -> str:
    # Django folds a long encoded subject onto a continuation line: the parsed value may start
    # with that line's whitespace (as in test_mail_round_trip); nothing inside may change.
    return str(message["Subject"]).strip()


def decoded(delivered: Delivered, name: str) -> str:
    """A header as a mail client shows it: RFC 2047 decoded, adjacent encoded words joined.

    (Python 3.11's `policy.default` puts a space between two encoded words of a display name
    that Django split mid-word, "tööportaa l": so addresses are decoded this way instead.)
    """
    raw = message_from_bytes(delivered.content, policy=email_policy.compat32)[name]
    return str(make_header(decode_header(raw)))


def assert_well_formed(delivered: Delivered, recipients: list[str]) -> EmailMessage:
    """The headers every notice carries, the envelope, and a plain UTF-8 text body."""
    message = delivered.message
    for header in ("From", "To", "Subject", "Date", "Message-ID"):
        assert message[header], f"{header} missing"
        assert len(message.get_all(header)) == 1, f"{header} twice"
    assert parseaddr(decoded(delivered, "From")) == (FROM_NAME, FROM_ADDRESS)
    assert decoded(delivered, "Subject") == subject_of(message)
    assert delivered.mail_from == FROM_ADDRESS
    to = sorted(address for _name, address in getaddresses([str(message["To"])]))
    assert to == sorted(recipients)
    assert sorted(delivered.rcpt_tos) == sorted(recipients)
    sent = parsedate_to_datetime(str(message["Date"]))
    if sent.tzinfo is None:  # "-0000": Django writes UTC without claiming a zone (RFC 5322 3.3)
        sent = sent.replace(tzinfo=datetime.UTC)
    assert abs(sent - timezone.now()) < datetime.timedelta(minutes=5)
    assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", str(message["Message-ID"]))
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    # Without SMTPUTF8 the header section must be ASCII: non-ASCII words travel RFC 2047-encoded.
    head = re.split(rb"\r?\n\r?\n", delivered.content, maxsplit=1)[0]
    head.decode("ascii")
    return message


def follow(link: str, user) -> str:
    """Open a link from a mail as its recipient would; the page's HTML."""
    assert link.startswith(BASE + "/") and "//" not in link.removeprefix("https://")
    client = Client()
    client.force_login(user)
    response = client.get(link.removeprefix(BASE), HTTP_ACCEPT_LANGUAGE="et")
    assert response.status_code == 200, link
    return response.content.decode()


# --- 1. an access request asks its approver ----------------------------------------------------


def test_filing_a_request_mails_the_approver_in_estonian_with_the_link_to_decide(
    smtp, requester_user, desk_user
):
    w = request_world(requester_user, desk_user)
    w.person.first_name, w.person.last_name = FIRST, LAST
    w.person.save(update_fields=["first_name", "last_name"])
    w.unit_head.first_name, w.unit_head.last_name = "Jüri", "Õunapuu"
    w.unit_head.email = "Juri.Ounapuu@Sotsiaalkindlustusamet.ee"
    w.unit_head.save(update_fields=["first_name", "last_name", "email"])

    request = requests.file_request(
        w.requester,
        w.person,
        [{"kind": "grant_role", "role": w.star_role}],
        "Vajan ligipääsu STAR-i juhtumitele.",
    )

    assert request.state == AccessRequest.State.SUBMITTED
    assert policy.current_approval(request).approver == w.unit_head
    assert len(smtp.messages) == 1  # only the approver whose turn it is
    delivered = only_mail_to(smtp, "juri.ounapuu@sotsiaalkindlustusamet.ee")
    message = assert_well_formed(delivered, ["juri.ounapuu@sotsiaalkindlustusamet.ee"])
    assert subject_of(message) == f"Juurdepääsutaotlus {request.pk} ({NAME}) ootab sinu otsust"
    link = BASE + reverse("access:request_detail", kwargs={"pk": request.pk})
    assert text_of(message) == (
        f"Juurdepääsutaotlus {request.pk} ({NAME}) ootab sinu otsust.\n"
        "Palun kooskõlasta, lükka tagasi või tagasta see muutmiseks:\n"
        "\n"
        f"{link}\n"
    )
    # The link opens the request with the approver's decision form on it.
    page = follow(link, w.unit_head_user)
    assert reverse("access:request_decide", kwargs={"pk": request.pk}) in page
    assert NAME in page


def test_each_step_asks_its_approver_then_the_desk_is_told_and_a_return_tells_the_filer(
    smtp, requester_user, desk_user
):
    """The whole chain over SMTP. The desk's address is not configured: the mail goes to the
    users who may fulfil requests (found through the role permissions)."""
    w = request_world(requester_user, desk_user)
    w.person.first_name, w.person.last_name = FIRST, LAST
    w.person.save(update_fields=["first_name", "last_name"])
    until = timezone.now() + datetime.timedelta(days=90)
    request = requests.file_request(
        w.requester,
        w.person,
        [{"kind": "grant_role", "role": w.pension_role, "valid_to": until}],
        "Pensionide menetlemine asendajana.",
    )
    users = {w.unit_head.pk: w.unit_head_user, w.dept_head.pk: w.dept_head_user}
    users[w.owner.pk] = w.owner_user
    asked = []
    while (step := policy.current_approval(request)) is not None:
        asked.append(step.approver)
        message = assert_well_formed(smtp.messages[-1], [step.approver.email])
        assert subject_of(message) == f"Juurdepääsutaotlus {request.pk} ({NAME}) ootab sinu otsust"
        requests.approve(users[step.approver_id], step, "Nõus.")
        request.refresh_from_db()
    assert request.state == AccessRequest.State.APPROVED
    assert w.unit_head in asked and w.owner in asked  # the sensitive role asks its owner too
    assert len(smtp.messages) == len(asked) + 1
    told = assert_well_formed(smtp.messages[-1], [w.desk_person.email])
    assert subject_of(told) == f"Juurdepääsutaotlus {request.pk} ({NAME}) on kooskõlastatud"
    assert text_of(told) == (
        f"Juurdepääsutaotlus {request.pk} ({NAME}) on kooskõlastatud.\n"
        "Taotlus ootab täitmist rakendustoe töönimekirjas.\n"
        "\n"
        f"{BASE}{reverse('access:request_detail', kwargs={'pk': request.pk})}\n"
    )

    second = requests.file_request(
        w.requester, w.person, [{"kind": "grant_role", "role": w.star_role}], "Vajan STAR-i."
    )
    requests.return_for_changes(
        w.unit_head_user, policy.current_approval(second), "Palun täpsusta põhjendust."
    )
    back = assert_well_formed(smtp.messages[-1], [w.person.email])  # the filer's own address
    subject = f"Juurdepääsutaotlus {second.pk} ({NAME}) tagastati muutmiseks"
    assert subject_of(back) == subject
    link = BASE + reverse("access:request_detail", kwargs={"pk": second.pk})
    assert text_of(back) == f"{subject}.\nOtsus ja selle põhjus:\n\n{link}\n"
    assert "Palun täpsusta põhjendust." in follow(link, w.requester)


# --- 2. a time-limited grant nearing its end ---------------------------------------------------


def _ends_in_four_days() -> tuple[datetime.datetime, str]:
    """The end of a grant whose last day is three days from today, and that day as written."""
    last_day = timezone.localdate() + datetime.timedelta(days=3)
    return day_start(last_day + datetime.timedelta(days=1)), f"{last_day:%d.%m.%Y}"


def test_a_grant_on_a_request_nearing_its_end_mails_the_filer_the_link_to_extend(
    smtp, settings, desk_user
):
    settings.TUGI_GRANT_END_NOTICE_DAYS = 14
    person = PersonFactory(first_name=FIRST, last_name=LAST)
    desk = PersonFactory(first_name="Kalle", last_name="Kuusk", user=desk_user)
    role = RoleFactory(name="Hüvitiste menetleja (žürii)", system__name="SKAIS2 – Hüvitised")
    end, last_day = _ends_in_four_days()
    grant = request_grant(person, role, valid_to=end)
    # The desk filed it for her (the desk may file for others, so the link works for it).
    AccessRequest.objects.filter(pk=grant.basis_item.request_id).update(requested_by=desk_user)

    assert notice_tasks.send_grant_end_notices.call_local() == 1

    assert len(smtp.messages) == 1
    message = assert_well_formed(only_mail_to(smtp, desk.email), [desk.email])
    assert subject_of(message) == (
        f"Juurdepääs lõpeb {last_day} lõpus: Hüvitiste menetleja (žürii) ({NAME})"
    )
    link = f"{BASE}{reverse('access:request_create')}?person={person.pk}&role={role.pk}"
    assert text_of(message) == (
        "Juurdepääs lõpeb 14 päeva jooksul:\n"
        "\n"
        f"- {NAME}: roll „Hüvitiste menetleja (žürii)” süsteemis SKAIS2 – Hüvitised lõpeb "
        f"{last_day} lõpus (juurdepääsutaotlus {grant.basis_item.request_id}).\n"
        "  Pikendamiseks esita õigel ajal uus taotlus:\n"
        f"  {link}\n"
        "\n"
        "Kui juurdepääsu ei ole enam vaja, ei pea midagi tegema.\n"
    )
    # The link opens the request form for her, with the ending role already chosen.
    page = follow(link, desk_user)
    assert NAME in page
    assert re.search(rf'<option value="{role.pk}"[^>]*\bselected\b', page), "role not chosen"
    # Told once: the next hourly run sends nothing more.
    assert notice_tasks.send_grant_end_notices.call_local() == 0
    assert len(smtp.messages) == 1


def test_a_job_description_grant_nearing_its_end_mails_the_person_and_the_manager(smtp, settings):
    settings.TUGI_GRANT_END_NOTICE_DAYS = 14
    manager = PersonFactory(first_name="Jüri", last_name="Õunapuu")
    manager_user = make_user("juri", AppRole.APPROVER, person=manager)
    person = PersonFactory(first_name=FIRST, last_name=LAST, manager=manager)
    person_user = make_user("zanna", AppRole.REQUESTER, person=person)
    role = RoleFactory(name="Šõiduki registri päring", system__name="Liiklusregister")
    end, last_day = _ends_in_four_days()
    # A grant on the job description with an end: a mover's grace period, say.
    GrantFactory(account=AccountFactory(person=person, system=role.system), role=role, valid_to=end)

    assert notice_tasks.send_grant_end_notices.call_local() == 1

    assert len(smtp.messages) == 2  # one each
    subject = f"Juurdepääs lõpeb {last_day} lõpus: Šõiduki registri päring ({NAME})"
    own = assert_well_formed(only_mail_to(smtp, person.email), [person.email])
    assert subject_of(own) == subject
    extend = f"{BASE}{reverse('access:request_create')}?person={person.pk}&role={role.pk}"
    own_text = text_of(own)
    assert own_text.startswith("Juurdepääs lõpeb 14 päeva jooksul:\n")
    assert (
        f"- Sinu roll „Šõiduki registri päring” süsteemis Liiklusregister lõpeb {last_day} "
        "lõpus.\n  Kui vajad seda edasi, taotle seda õigel ajal:\n"
        f"  {extend}\n"
    ) in own_text
    page = follow(extend, person_user)
    assert re.search(rf'<option value="{role.pk}"[^>]*\bselected\b', page), "role not chosen"

    managers = assert_well_formed(only_mail_to(smtp, manager.email), [manager.email])
    assert subject_of(managers) == subject
    access_page = BASE + reverse("access:person_access", args=[person.pk])
    assert (
        f"- {NAME}: roll „Šõiduki registri päring” süsteemis Liiklusregister lõpeb {last_day} "
        "lõpus.\n  Kui isik vajab seda edasi, saab tema või rakendustugi esitada taotluse:\n"
        f"  {access_page}\n"
    ) in text_of(managers)
    assert NAME in follow(access_page, manager_user)


# --- 3. a substitution about to start ----------------------------------------------------------


@pytest.fixture
def world() -> World:
    world = build_world(timezone.now() - datetime.timedelta(days=60))
    world.absentee.first_name, world.absentee.last_name = FIRST, LAST
    world.absentee.save(update_fields=["first_name", "last_name"])
    world.unit_head.email = "jaan.jogi@sotsiaalkindlustusamet.ee"
    world.unit_head.save(update_fields=["email"])
    return world


def test_a_substitution_starting_soon_mails_the_substitute_and_the_manager(smtp, settings, world):
    settings.TUGI_SUBSTITUTION_NOTICE_DAYS = 2
    first = timezone.localdate() + datetime.timedelta(days=1)
    last = first + datetime.timedelta(days=2)

    order = substitution_actions.order_substitution(
        world.dept_head_user,
        absentee=world.absentee,
        substitute=world.substitute,
        starts_at=day_start(first),
        ends_at=day_start(last + datetime.timedelta(days=1)),
        ordered_by=world.dept_head,
        directive="Käskkiri 1-3/26 „Asendamine puhkuse ajal”",
        exclusive=True,
    )

    assert order.state == Substitution.State.ORDERED
    to = [world.substitute.email, world.unit_head.email]
    assert len(smtp.messages) == 1  # one mail to both
    message = assert_well_formed(smtp.messages[0], to)
    period = f"{first:%d.%m.%Y}–{last:%d.%m.%Y}"
    assert subject_of(message) == f"Asendamine {period}: Kati Kask asendab isikut {NAME}"
    link = BASE + reverse("access:substitution_detail", kwargs={"pk": order.pk})
    assert text_of(message) == (
        f"Kati Kask asendab isikut {NAME}: {period}.\n"
        "Edasi antud rollid: Pensionide menetleja (SKAIS2), Registri vaataja (SKAIS2).\n"
        "Korraldus: Käskkiri 1-3/26 „Asendamine puhkuse ajal”.\n"
        "Välistav asendamine: eemalviibija enda õigused on asendamise ajaks peatatud.\n"
        "\n"
        "Korraldus ja selle alusel antud õigused:\n"
        f"{link}\n"
    )
    assert NAME in follow(link, world.unit_head_user)
    # Once per order: the hourly run finds it told.
    assert substitution_notices.send_due_notices() == 0
    assert len(smtp.messages) == 1


def test_the_hourly_run_tells_of_an_order_made_earlier_when_its_start_comes_near(
    smtp, settings, world
):
    settings.TUGI_SUBSTITUTION_NOTICE_DAYS = 2
    first = timezone.localdate() + datetime.timedelta(days=10)
    order = substitution_actions.order_substitution(
        world.unit_head_user,
        absentee=world.absentee,
        substitute=world.substitute,
        roles=[world.benefits],
        starts_at=day_start(first),
        ends_at=day_start(first + datetime.timedelta(days=1)),
        ordered_by=world.unit_head,
    )
    assert smtp.messages == []  # too far ahead to tell yet

    settings.TUGI_SUBSTITUTION_NOTICE_DAYS = 10  # as if the days had passed
    assert substitution_notices.send_due_notices() == 1

    message = assert_well_formed(
        only_mail_to(smtp, world.substitute.email), [world.substitute.email, world.unit_head.email]
    )
    assert subject_of(message) == (f"Asendamine {first:%d.%m.%Y}: Kati Kask asendab isikut {NAME}")
    body = text_of(message)
    assert "Edasi antud rollid: Hüvitiste menetleja (SKAIS2).\n" in body
    assert "Välistav" not in body and "Korraldus:" not in body
    assert body.endswith(BASE + reverse("access:substitution_detail", args=[order.pk]) + "\n")


# --- 4. the desk's alert of late and failed changes --------------------------------------------


def _ending_grant(person, ends: datetime.datetime, role_name: str = "") -> Grant:
    """A grant whose end the engine has planned (a pending change due when it ends)."""
    account = AccountFactory(person=person)
    role = RoleFactory(system=account.system, **({"name": role_name} if role_name else {}))
    grant = GrantFactory(account=account, role=role, valid_to=ends)
    plan.sync_grants([grant.pk])
    return grant


def test_an_overdue_and_a_failed_change_alert_the_desk_once(smtp, settings):
    settings.TUGI_DESK_EMAIL = DESK
    settings.TUGI_CHANGE_OVERDUE_MINUTES = 5
    now = timezone.now()
    failing = _ending_grant(
        PersonFactory(first_name=FIRST, last_name=LAST),
        now + datetime.timedelta(hours=1),
        "Hüvitiste menetleja (žürii)",
    )
    late = _ending_grant(
        PersonFactory(first_name="Õnne", last_name="Pärnpuu"), now + datetime.timedelta(hours=2)
    )
    Change.objects.filter(grant=failing).update(
        state=Change.State.FAILED, attempts=5, error="Sihtsüsteem ei vasta: ühendus katkes (õäöüšž)"
    )
    # The reconciler's pass three hours on: one change failed, the other was never applied.
    later = now + datetime.timedelta(hours=3)

    assert alerts.tell_desk_of_trouble(later) == 2

    message = assert_well_formed(only_mail_to(smtp, DESK), [DESK])
    assert subject_of(message) == "2 juurdepääsumuudatust on hilinenud või ebaõnnestunud"
    body = text_of(message)
    page = BASE + reverse("access:changes")

    def due(grant: Grant) -> str:
        return f"{timezone.localtime(grant.valid_to):%d.%m.%Y %H:%M}"

    failing_system, late_system = failing.account.system.code, late.account.system.code
    assert body == (
        "Elutsüklimootor ei jõustanud neid juurdepääsumuudatusi õigel ajal. Kuni seda ei ole "
        "tehtud, ei pruugi infosüsteemide seis vastata Tugis registreeritule.\n"
        "\n"
        "Ebaõnnestusid ka korduval proovimisel: kõrvalda põhjus ja vali siis „Proovi uuesti”:\n"
        f"- õiguse lõpp, {NAME}, {failing_system}, Hüvitiste menetleja (žürii); "
        f"tähtaeg {due(failing)}\n"
        "  Viga: Sihtsüsteem ei vasta: ühendus katkes (õäöüšž)\n"
        f"{page}?show=failed\n"
        "\n"
        "Tähtaja möödudes endiselt ootel (mootor proovib edasi; kui ühtegi ei rakendata, "
        "kontrolli, kas taustaprotsess töötab):\n"
        f"- õiguse lõpp, Õnne Pärnpuu, {late_system}, {late.role.name}; tähtaeg {due(late)}\n"
        f"{page}?show=overdue\n"
        "\n"
        "Kõik hilinenud muudatused on lehel „Muudatused”:\n"
        f"{page}?late=1\n"
    )
    # Told once: the reconciler's next pass (a minute later) mails nothing more.
    assert alerts.tell_desk_of_trouble(later + datetime.timedelta(minutes=1)) == 0
    assert len(smtp.messages) == 1


def test_without_a_desk_address_the_alert_goes_to_the_desk_users(smtp, settings, desk_user):
    settings.TUGI_DESK_EMAIL = ""
    PersonFactory(
        first_name="Kalle", last_name="Kuusk", email="Kalle.Kuusk@ska.example", user=desk_user
    )
    admin = make_user("juhan", AppRole.ADMINISTRATOR)
    admin.email, admin.is_superuser = "juhan@ska.example", True  # superusers are not the desk
    admin.save(update_fields=["email", "is_superuser"])
    grant = _ending_grant(
        PersonFactory(first_name=FIRST, last_name=LAST),
        timezone.now() + datetime.timedelta(minutes=10),
    )

    assert alerts.tell_desk_of_trouble(timezone.now() + datetime.timedelta(hours=1)) == 1

    assert len(smtp.messages) == 1
    message = assert_well_formed(smtp.messages[0], ["kalle.kuusk@ska.example"])
    assert subject_of(message) == "1 juurdepääsumuudatus on hilinenud või ebaõnnestunud"
    assert f"- õiguse lõpp, {NAME}, {grant.account.system.code}, {grant.role.name}; " in (
        text_of(message)
    )


# --- the desk's SLA notices ---------------------------------------------------------------------


def test_an_sla_breach_mails_the_assignee_in_estonian(smtp):
    SlaPolicyFactory(priority=4, first_response_minutes=240, resolution_minutes=2400)
    agent = make_user("kalle", AppRole.DESK_AGENT)
    PersonFactory(
        first_name="Kalle", last_name="Kuusk", email="kalle.kuusk@ska.example", user=agent
    )
    case = CaseFactory(subject="STAR ei salvesta: õäöüšž ÕÄÖÜŠŽ", assignee=agent, requester=None)
    # Monday 9:00 in Tallinn: the first response falls due at 13:00 (four working hours).
    sla.start(case, datetime.datetime(2026, 3, 9, 9, tzinfo=TALLINN))
    case.save()
    moment = datetime.datetime(2026, 3, 9, 14, tzinfo=TALLINN)

    with time_machine.travel(moment, tick=False):
        run_sla_check(moment)
        # (the Date header is of the travelled clock: checked while it runs)
        message = assert_well_formed(
            only_mail_to(smtp, "kalle.kuusk@ska.example"), ["kalle.kuusk@ska.example"]
        )

    assert len(smtp.messages) == 1
    assert subject_of(message) == (
        f"SLA tähtaeg ületatud: Tugi #{case.pk} STAR ei salvesta: õäöüšž ÕÄÖÜŠŽ"
    )
    assert text_of(message) == (
        f"Pöördumise Tugi #{case.pk} SLA tähtaeg (esmane vastus) on ületatud.\n"
        "\n"
        f"Pöördumine: Tugi #{case.pk} „STAR ei salvesta: õäöüšž ÕÄÖÜŠŽ”\n"
        "SLA tähtaeg: esmane vastus (P4)\n"
        "Tähtaeg: 9. märts 2026 13:00\n"
        "\n"
        f"{BASE}{reverse('desk:case', kwargs={'pk': case.pk})}\n"
    )


# --- 5. non-ASCII through SMTP -----------------------------------------------------------------


def test_estonian_letters_survive_the_smtp_round_trip_in_headers_and_body(smtp):
    subject = "Teade: õäöüšž ÕÄÖÜŠŽ – „jutumärgid” … " + NAME + " pikk" * 12
    body = f"Tere, {NAME}!\n\nÕäöüšž ÕÄÖÜŠŽ „jutumärgid” – lõpp.\n" + "ä" * 1200 + "\n"
    assert notices.queue_notice(subject, body, [" Zanna.Smidt@Sotsiaalkindlustusamet.ee "])

    address = "zanna.smidt@sotsiaalkindlustusamet.ee"
    delivered = only_mail_to(smtp, address)
    message = assert_well_formed(delivered, [address])
    assert subject_of(message) == subject.strip()
    assert set("õäöüšž") <= set(subject_of(message))
    assert text_of(message) == body
    # The raw mail holds no undeclared 8-bit header: the subject is RFC 2047-encoded.
    raw = message_from_bytes(delivered.content, policy=email_policy.compat32)
    raw_subject = str(raw["Subject"])
    assert raw_subject.isascii() and "=?utf-8?" in raw_subject.lower()


# --- 6. the SMTP server refuses ----------------------------------------------------------------


@pytest.mark.parametrize(
    "refusal", ["451 4.3.0 Mailbox temporarily unavailable", "down"], ids=["4xx", "server-down"]
)
def test_the_send_task_raises_when_the_server_refuses(smtp, settings, refusal):
    if refusal == "down":
        settings.EMAIL_PORT = free_port()  # nobody listens there
        expected: type[Exception] = ConnectionRefusedError
    else:
        smtp.refuse = refusal
        expected = smtplib.SMTPDataError
    with pytest.raises(expected) as raised:
        notices.send_notice_task.call_local("Proov õäöüšž", "Keha", [DESK])
    if refusal != "down":
        assert raised.value.smtp_code == 451
    assert smtp.messages == []


def test_a_refused_approval_notice_is_retried_and_the_filing_stands(
    smtp, huey_retries, requester_user, desk_user
):
    w = request_world(requester_user, desk_user)
    smtp.refuse = "451 4.3.0 Mailbox temporarily unavailable"

    request = requests.file_request(
        w.requester, w.person, [{"kind": "grant_role", "role": w.star_role}], "Vajan ligipääsu."
    )

    # The action succeeded and is on record; the mail did not go.
    request.refresh_from_db()
    assert request.state == AccessRequest.State.SUBMITTED
    assert AuditEvent.objects.filter(
        action="access.request.file", object_id=str(request.pk)
    ).exists()
    assert smtp.messages == []
    # Huey caught the task's exception and holds the mail for a retry a minute later.
    (retry,) = huey_retries()
    assert retry.retries == notices.SEND_RETRIES - 1
    assert retry.args[2] == [w.unit_head.email.lower()]
    assert HUEY.utc  # Huey's times are naive UTC
    wait = retry.eta - datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    assert datetime.timedelta(seconds=50) < wait <= datetime.timedelta(seconds=61)

    smtp.refuse = ""  # the server is back
    run_due_retries(huey_retries())

    message = assert_well_formed(only_mail_to(smtp, w.unit_head.email), [w.unit_head.email])
    assert subject_of(message) == (
        f"Juurdepääsutaotlus {request.pk} ({w.person}) ootab sinu otsust"
    )
    assert text_of(message).endswith(
        BASE + reverse("access:request_detail", kwargs={"pk": request.pk}) + "\n"
    )
    assert huey_retries() == []


def test_a_grant_end_notice_sent_while_the_server_is_down_arrives_on_the_retry(
    smtp, settings, huey_retries
):
    """The notice is once per grant (its audit event is written with the run): the retry is
    the only way the mail can still arrive, so it must be kept."""
    settings.TUGI_GRANT_END_NOTICE_DAYS = 14
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # the server is down
    manager = PersonFactory(first_name="Jüri", last_name="Õunapuu")
    person = PersonFactory(first_name=FIRST, last_name=LAST, manager=manager)
    end, last_day = _ends_in_four_days()
    grant = GrantFactory(account=AccountFactory(person=person), valid_to=end)

    assert notice_tasks.send_grant_end_notices.call_local() == 1

    assert AuditEvent.objects.filter(action="access.grant.end_notice").count() == 1
    assert smtp.messages == []
    retries = huey_retries()
    assert sorted(r.args[2][0] for r in retries) == sorted([person.email, manager.email])
    assert notice_tasks.send_grant_end_notices.call_local() == 0  # not noticed twice

    settings.EMAIL_PORT = port  # the server is back
    run_due_retries(retries)

    for address in (person.email, manager.email):
        message = assert_well_formed(only_mail_to(smtp, address), [address])
        assert subject_of(message) == (
            f"Juurdepääs lõpeb {last_day} lõpus: {grant.role.name} ({NAME})"
        )
    assert huey_retries() == []


def test_a_desk_alert_refused_by_the_server_is_retried(smtp, settings, huey_retries):
    settings.TUGI_DESK_EMAIL = DESK
    settings.TUGI_CHANGE_OVERDUE_MINUTES = 5
    grant = _ending_grant(
        PersonFactory(first_name=FIRST, last_name=LAST),
        timezone.now() + datetime.timedelta(minutes=30),
    )
    smtp.refuse = "421 4.7.0 Try again later"

    assert alerts.tell_desk_of_trouble(timezone.now() + datetime.timedelta(hours=1)) == 1

    assert smtp.messages == []
    assert Change.objects.get(grant=grant).alerted_at is not None  # it is not alerted again…
    (retry,) = huey_retries()  # …so the retry must carry it
    smtp.refuse = ""
    run_due_retries([retry])
    message = assert_well_formed(only_mail_to(smtp, DESK), [DESK])
    assert subject_of(message) == "1 juurdepääsumuudatus on hilinenud või ebaõnnestunud"
    assert NAME in text_of(message)
