"""The service desk in a real browser: a requester asks for help on the portal, the desk works the
case from its queue, escalates and resolves it, and the requester rates the help.

Each test follows one path people take, in Estonian (Tugi's default) and once in English, and
checks what matters beyond the page: the rows written, the audit events and the mail sent. Mail
goes to Django's in-memory outbox (pytest-django's test environment); background tasks run at
once (tests/conftest.py), so a mail is in the outbox when the page that sent it has loaded.

What a requester may never see, the desk's internal notes and the mail with third parties, is
checked in the requester's own browser, against the whole page source.
"""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core import mail as django_mail
from playwright.sync_api import Page, expect

from tests.access.factories import RoleFactory, TargetSystemFactory
from tests.desk.factories import QueueFactory, SlaPolicyFactory
from tests.e2e.conftest import sign_in
from tests.factories import PersonFactory, make_user
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.desk import actions, sla
from tugi.desk.models import Case, Escalation, Message, Queue, Rating, ReplyTemplate

pytestmark = [pytest.mark.e2e, pytest.mark.estonian, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
FIRST_TEXT = "Pärast uuendust tuleb avalehel viga 500."
REPLY = "Tere! Palun tühjendage brauseri vahemälu ja proovige uuesti."
NOTE = "SISEMÄRGE: sama viga oli eile ka kahel teisel kasutajal, vt intsidenti INC-77."
PARTY_SUMMARY = "SKAIS2 avalehe päring annab vea 500 alates tänasest uuendusest. Palun uurige."
SPECIALIST_SUMMARY = "Kas pensioni ümberarvutus peaks seda juhtumit puudutama?"
SPECIALIST_NOTE = "SPETSIALIST: ümberarvutus jooksis öösel, andmed on korras."
RESOLUTION = "Viga on parandatud: SKAIS2 uuendati versioonile 2.14.1."


# --- the desk's world ---------------------------------------------------------------------------


class World:
    """A requester (Mari Jõgi), another requester, a desk agent (Kalle Kask) in the desk queue,
    a domain specialist in a specialist group, an application; SLA policies for each priority."""

    def __init__(self, settings, tmp_path: Path) -> None:
        settings.MEDIA_ROOT = tmp_path  # attachments are stored here, not in var/
        for priority, first, resolution in [
            (1, 30, 240),
            (2, 60, 480),
            (3, 240, 1440),
            (4, 480, 2400),
        ]:
            SlaPolicyFactory(
                priority=priority, first_response_minutes=first, resolution_minutes=resolution
            )
        self.person = PersonFactory(
            first_name="Mari", last_name="Jõgi", email="mari.jogi@sotsiaalkindlustusamet.ee"
        )
        self.requester = make_user("mari", AppRole.REQUESTER, person=self.person)
        self.other = make_user("toomas", AppRole.REQUESTER)
        self.other_person = PersonFactory(first_name="Toomas", last_name="Tamm", user=self.other)
        self.agent = make_user("kalle", AppRole.DESK_AGENT)
        self.agent_person = PersonFactory(first_name="Kalle", last_name="Kask", user=self.agent)
        self.specialist = make_user("piret", AppRole.DOMAIN_SPECIALIST)
        PersonFactory(first_name="Piret", last_name="Pärn", user=self.specialist)
        self.desk_queue = QueueFactory(code="DESK", name="Rakendustugi", kind=Queue.Kind.DESK)
        self.desk_queue.members.add(self.agent)
        self.specialists = QueueFactory(
            code="PENS",
            name="Pensionide spetsialistid",
            kind=Queue.Kind.SPECIALISTS,
            members=[self.specialist],
        )
        self.system = TargetSystemFactory(code="SKAIS2", name="SKAIS2")
        RoleFactory(system=self.system, module="Pensionid")

    def open_case(self, subject: str = "SKAIS2 ei avane", *, by=None) -> Case:
        """A case opened on the portal, as the portal form opens it (acknowledgement included)."""
        user = by or self.requester
        person = self.person if user == self.requester else self.other_person
        return actions.create_case(
            user,
            channel=Case.Channel.PORTAL,
            subject=subject,
            body=FIRST_TEXT,
            requester=person,
            system=self.system,
        )


@pytest.fixture
def w(settings, tmp_path) -> World:
    world = World(settings, tmp_path)
    django_mail.outbox.clear()
    return world


@pytest.fixture
def second_page(browser, live_server) -> Iterator[Page]:
    """Another person's browser (own cookies), next to `page`."""
    context = browser.new_context(locale="en-GB", base_url=live_server.url)
    other = context.new_page()
    other.set_default_timeout(10_000)
    yield other
    context.close()


def _nav(page: Page, label: str) -> None:
    page.locator("nav.site-nav").get_by_role("link", name=label, exact=True).click()


def _events(case: Case, action: str) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(action=action, object_type="desk.case", object_id=str(case.pk))
    )


# Waits until the queue shows exactly one row, the one with this text.
_only_row = """text => {
    const rows = [...document.querySelectorAll('#queue-results tbody tr')];
    return rows.length === 1 && rows[0].innerText.includes(text);
}"""


def _mails_to(address: str) -> list[django_mail.EmailMessage]:
    return [m for m in django_mail.outbox if any(address in to for to in m.to)]


# --- 1. asking for help -------------------------------------------------------------------------


def test_requester_asks_for_help_on_the_portal(page: Page, w: World, mailoutbox):
    sign_in(page, "mari")
    _nav(page, "Abi")
    page.wait_for_selector("#my-cases >> text=Sul ei ole veel pöördumisi")
    page.locator(".page-header").get_by_role("link", name="Küsi abi").click()
    page.wait_for_url("**/desk/help/new/")

    # Sent empty: refused with what to fix, nothing saved, no mail.
    page.click("form.desk-form button[type=submit]")
    summary = page.wait_for_selector(".error-summary")
    assert "Pealkiri" in summary.inner_text()
    assert "Kirjeldus" in summary.inner_text()
    assert not Case.objects.exists()

    # Choosing the application offers its modules (htmx).
    page.select_option("select[name=system]", label="SKAIS2")
    page.wait_for_selector("#module-options option[value=Pensionid]", state="attached")
    page.fill("input[name=module]", "Pensionid")
    page.check("input[name=category][value=malfunction]")
    page.fill("input[name=subject]", "SKAIS2 ei avane")
    page.fill("textarea[name=body]", FIRST_TEXT)
    page.set_input_files(
        "input[name=attachments]",
        files=[{"name": "kuvatõmmis.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    page.check("input[name=impact][value='2']")
    page.check("input[name=urgency][value='1']")
    page.click("form.desk-form button[type=submit]")
    page.wait_for_url(re.compile(r"/desk/help/cases/\d+/$"))

    case = Case.objects.get()
    assert (case.channel, case.requester, case.queue, case.system, case.module) == (
        Case.Channel.PORTAL,
        w.person,
        w.desk_queue,
        w.system,
        "Pensionid",
    )
    assert (case.category, case.status) == (Case.Category.MALFUNCTION, Case.Status.NEW)
    assert case.priority == sla.priority_from(2, 1)
    assert case.sla_policy is not None and case.resolution_due is not None
    first = Message.objects.get(case=case)
    assert (first.kind, first.body, first.author) == ("from_requester", FIRST_TEXT, w.requester)
    assert [a.filename for a in first.attachments.all()] == ["kuvatõmmis.pdf"]
    assert len(_events(case, "desk.case.create")) == 1

    notice = page.inner_text(".messages")
    assert f"Sinu pöördumine Tugi #{case.pk} on kätte saadud" in notice
    assert w.person.email in notice
    assert page.inner_text("h1") == "SKAIS2 ei avane"
    assert FIRST_TEXT in page.inner_text("#conversation")
    # The acknowledgement went to the requester.
    assert len(mailoutbox) == 1
    assert _mails_to(w.person.email) == mailoutbox
    assert mailoutbox[0].subject == f"[Tugi #{case.pk}] SKAIS2 ei avane"

    # Their own attachment downloads as the file they sent.
    with page.expect_download() as download:
        page.click("#conversation .attachments__link")
    assert download.value.suggested_filename == "kuvatõmmis.pdf"
    assert Path(download.value.path()).read_bytes() == PDF

    # And the case is in their list.
    page.locator(".breadcrumbs").get_by_role("link", name="Abi").click()
    row = page.wait_for_selector(f"#my-cases tr:has(a[href='/desk/help/cases/{case.pk}/'])")
    assert "SKAIS2 ei avane" in row.inner_text()
    assert "uus" in row.inner_text()


# --- 2. the queue, a reply and an internal note ----------------------------------------------


def test_agent_answers_from_the_queue_and_the_note_stays_internal(
    page: Page, second_page: Page, w: World, mailoutbox
):
    case = w.open_case("SKAIS2 ei avane")
    w.open_case("Palgaleht puudub", by=w.other)
    other_case = w.open_case("Õppepuhkuse taotlus ei liigu", by=w.other)
    mailoutbox.clear()

    sign_in(page, "kalle")
    _nav(page, "Pöördumised")
    page.wait_for_url("**/desk/cases/")
    # The first tab is "mine": nothing assigned yet.
    assert "Sinu menetluses ei ole avatud pöördumisi." in page.inner_text("#queue-results")
    page.locator("nav.tabs").get_by_role("link", name="Menetlejata").click()
    page.wait_for_url(re.compile(r"/desk/cases/\?tab=unassigned$"))
    results = page.inner_text("#queue-results")
    assert "SKAIS2 ei avane" in results
    assert "Palgaleht puudub" in results
    assert "Õppepuhkuse taotlus ei liigu" in results

    # The search box filters the rows without reloading the page; the address follows.
    # Case is ignored, Estonian letters included.
    page.evaluate("window.stillTheSamePage = true")
    page.fill("input[name=q]", "õppepuhkus")
    page.wait_for_function(_only_row, arg="Õppepuhkuse taotlus")
    page.fill("input[name=q]", "skais")
    page.wait_for_function(_only_row, arg="SKAIS2 ei avane")
    assert page.evaluate("window.stillTheSamePage") is True
    page.wait_for_url(re.compile(r"[?&]q=skais"))

    page.locator("#queue-results").get_by_role("link", name="SKAIS2 ei avane").click()
    page.wait_for_url(f"**/desk/cases/{case.pk}/")
    assert page.inner_text("h1") == "SKAIS2 ei avane"
    assert FIRST_TEXT in page.inner_text("#history")

    page.get_by_role("button", name="Võta endale").click()
    page.wait_for_selector("text=Pöördumine on nüüd sinu menetleda.")
    assert "Kalle Kask" in page.inner_text("#details-heading + dl")

    page.fill("#reply textarea[name=reply-body]", REPLY)
    page.click("#reply button[type=submit]")
    page.wait_for_selector("text=Vastus on pöördumise esitajale saadetud.")
    page.fill("#note textarea[name=note-body]", NOTE)
    page.set_input_files(
        "#note input[name=note-attachments]",
        files=[{"name": "serverilogi.txt", "mimeType": "text/plain", "buffer": b"HTTP 500\n"}],
    )
    page.click("#note button[type=submit]")
    page.wait_for_selector("text=Sisemärge on lisatud.")
    assert REPLY in page.inner_text("#history .message--reply")
    assert NOTE in page.inner_text("#history .message--note")
    assert "serverilogi.txt" in page.inner_text("#history .message--note")
    note_file = Message.objects.get(case=case, kind="note").attachments.get()

    case.refresh_from_db()
    assert (case.assignee, case.status) == (w.agent, Case.Status.OPEN)
    assert case.first_responded_at is not None
    assert list(case.messages.values_list("kind", "body").order_by("id")) == [
        ("from_requester", FIRST_TEXT),
        ("reply", REPLY),
        ("note", NOTE),
    ]
    for action in ("desk.case.assign", "desk.case.reply", "desk.case.note"):
        assert len(_events(case, action)) == 1, action
    # One mail: the reply, to the requester. The note is never mailed.
    assert len(mailoutbox) == 1
    assert _mails_to(w.person.email) == mailoutbox
    assert REPLY in mailoutbox[0].body
    assert not any(NOTE in m.body for m in mailoutbox)

    # The case is now in "mine", with its assignee, and no longer unassigned.
    page.locator(".breadcrumbs").get_by_role("link", name="Pöördumised").click()
    page.wait_for_url("**/desk/cases/")
    assert "SKAIS2 ei avane" in page.inner_text("#queue-results")
    assert "Palgaleht puudub" not in page.inner_text("#queue-results")
    page.locator("nav.tabs").get_by_role("link", name="Kõik avatud").click()
    page.wait_for_url(re.compile(r"/desk/cases/\?tab=all$"))
    row = page.locator("#queue-results tr", has_text="SKAIS2 ei avane")
    expect(row).to_contain_text("Kalle Kask")
    expect(page.locator("#queue-results tr", has_text="Palgaleht puudub")).to_have_count(1)

    # The requester sees the reply, never the note.
    sign_in(second_page, "mari")
    _nav(second_page, "Abi")
    second_page.locator("#my-cases").get_by_role("link", name="SKAIS2 ei avane").click()
    second_page.wait_for_url(f"**/desk/help/cases/{case.pk}/")
    conversation = second_page.inner_text("#conversation")
    assert REPLY in conversation
    assert "Kalle Kask" in conversation
    assert "SISEMÄRGE" not in second_page.content()
    assert "Palgaleht" not in second_page.content()
    # The desk's address of the case sends the requester back to their own view of it.
    second_page.goto(f"/desk/cases/{case.pk}/")
    second_page.wait_for_url(f"**/desk/help/cases/{case.pk}/")
    assert "SISEMÄRGE" not in second_page.content()
    # Neither the note's file nor another person's case opens by its address.
    assert second_page.goto(f"/desk/attachments/{note_file.pk}/").status == 404
    assert second_page.goto(f"/desk/help/cases/{other_case.pk}/").status == 404
    second_page.goto(f"/desk/help/cases/{case.pk}/")

    # The requester answers; the desk's history has it.
    second_page.fill("#write textarea[name=message-body]", "Aitäh, nüüd töötab!")
    second_page.click("#write button[type=submit]")
    second_page.wait_for_selector("text=Sinu sõnum on pöördumisele lisatud.")
    assert "Aitäh, nüüd töötab!" in second_page.inner_text("#conversation")
    assert "SISEMÄRGE" not in second_page.content()
    page.goto(f"/desk/cases/{case.pk}/")
    assert "Aitäh, nüüd töötab!" in page.inner_text("#history")


# --- 3. a third party, the resolution and the one-click rating ---------------------------------


def test_agent_escalates_to_a_third_party_resolves_and_the_requester_rates(
    page: Page, second_page: Page, w: World, mailoutbox
):
    case = w.open_case()
    mailoutbox.clear()

    sign_in(page, "kalle")
    page.goto(f"/desk/cases/{case.pk}/")
    page.click("#panel-escalate summary")
    page.check("#panel-escalate input[name=escalate-kind][value=third_party]")
    # The third party's fields show, the specialist group's hide.
    expect(page.locator("#panel-escalate select[name=escalate-queue]")).to_be_hidden()
    page.fill("#panel-escalate input[name=escalate-party_name]", "Arendaja OÜ")
    page.fill("#panel-escalate input[name=escalate-party_email]", "tugi@arendaja.example")
    page.fill("#panel-escalate textarea[name=escalate-summary]", PARTY_SUMMARY)
    page.fill("#panel-escalate input[name=escalate-external_reference]", "AR-4411")
    page.click("#panel-escalate button[type=submit]")
    page.wait_for_selector("text=Pöördumine on eskaleeritud osapoolele Arendaja OÜ")

    escalation = Escalation.objects.get(case=case)
    assert (escalation.kind, escalation.party_email, escalation.external_reference) == (
        Escalation.Kind.THIRD_PARTY,
        "tugi@arendaja.example",
        "AR-4411",
    )
    case.refresh_from_db()
    assert case.status == Case.Status.WAITING_THIRD_PARTY
    assert "ootab kolmanda osapoole vastust" in page.inner_text(".case-header")
    panel = page.inner_text(f"#escalation-{escalation.pk}")
    assert "Arendaja OÜ" in panel
    assert "AR-4411" in panel
    assert len(_events(case, "desk.case.escalate")) == 1
    # The party got only what the agent wrote for them, under their own reference.
    party_mail = _mails_to("tugi@arendaja.example")
    assert len(party_mail) == 1
    assert PARTY_SUMMARY in party_mail[0].body
    assert FIRST_TEXT not in party_mail[0].body
    assert "AR-4411" in party_mail[0].subject
    assert not _mails_to(w.person.email)
    mailoutbox.clear()

    page.click("#panel-resolve summary")
    page.fill("#panel-resolve textarea[name=resolve-resolution]", RESOLUTION)
    page.click("#panel-resolve button[type=submit]")
    page.wait_for_selector("text=Pöördumine on lahendatud ja lahendus on pöördumise esitajale")
    assert "lahendatud" in page.inner_text(".case-header")
    assert RESOLUTION in page.inner_text("#history .message--resolution")
    case.refresh_from_db()
    assert case.status == Case.Status.RESOLVED and case.resolved_at is not None
    assert len(_events(case, "desk.case.resolve")) == 1

    # The resolution mail carries the one-click rating link.
    (resolution_mail,) = _mails_to(w.person.email)
    assert RESOLUTION in resolution_mail.body
    link = re.search(r"/desk/rate/[^/\s]+/", resolution_mail.body)
    assert link, resolution_mail.body

    # The link works without signing in; opening it changes nothing, one press rates.
    second_page.goto(link.group(0))
    assert second_page.inner_text("h1") == "Kui hästi me aitasime?"
    assert f"Tugi #{case.pk}" in second_page.text_content(".page-header__kicker")
    assert not Rating.objects.exists()
    second_page.fill("textarea[name=rating-comment]", "Kiire ja selge vastus.")
    second_page.click("button[name=rating-score][value='5']")
    second_page.wait_for_selector("text=Aitäh! Hindasid pöördumist: 5 / 5.")
    rating = Rating.objects.get(case=case)
    assert (rating.score, rating.comment) == (5, "Kiire ja selge vastus.")
    (rated,) = _events(case, "desk.case.rate")
    assert (rated.actor_id, rated.basis, rated.after) == (
        None,
        "rating link",
        {"score": 5, "has_comment": True},
    )

    # Signed in, the requester sees the rating on the case, and changes it in English.
    sign_in(second_page, "mari")
    second_page.goto(f"/desk/help/cases/{case.pk}/")
    assert "Hindasid seda pöördumist: 5 / 5." in second_page.inner_text("#rating")
    assert RESOLUTION in second_page.inner_text("#conversation")
    assert PARTY_SUMMARY not in second_page.content()
    second_page.click("button[name=language][value=en]")
    second_page.wait_for_selector("html[lang=en]")
    assert second_page.inner_text("#rating-heading") == "Your rating"
    assert "You rated this case 5 of 5. You can change your rating." in second_page.inner_text(
        "#rating"
    )
    assert "Conversation" in second_page.inner_text("#conversation-heading")
    second_page.click("#rating button[name=rating-score][value='4']")
    second_page.wait_for_selector("text=Thank you for your rating.")
    assert "You rated this case 4 of 5." in second_page.inner_text("#rating")
    rating.refresh_from_db()
    assert rating.score == 4
    assert len(_events(case, "desk.case.rate")) == 2


# --- 4. a specialist group ----------------------------------------------------------------------


def test_specialists_answer_an_escalation_with_a_note_the_requester_never_sees(
    page: Page, second_page: Page, w: World, mailoutbox
):
    case = w.open_case("Pension arvutatakse valesti")
    mailoutbox.clear()

    sign_in(page, "kalle")
    page.goto(f"/desk/cases/{case.pk}/")
    page.click("#panel-escalate summary")
    # A specialist group is the default choice; its field shows, the party's fields hide.
    expect(page.locator("#panel-escalate input[name=escalate-party_email]")).to_be_hidden()
    page.select_option("#panel-escalate select[name=escalate-queue]", label=w.specialists.name)
    page.fill("#panel-escalate textarea[name=escalate-summary]", SPECIALIST_SUMMARY)
    page.click("#panel-escalate button[type=submit]")
    page.wait_for_selector("text=Pöördumine on eskaleeritud rühmale Pensionide spetsialistid.")
    escalation = Escalation.objects.get(case=case)
    assert (escalation.kind, escalation.queue, escalation.status) == (
        Escalation.Kind.SPECIALISTS,
        w.specialists,
        Escalation.Status.OPEN,
    )
    assert not mailoutbox  # specialists work in Tugi: nothing is mailed

    # The specialist finds it in their only view, and answers with a note.
    sign_in(second_page, "piret")
    _nav(second_page, "Pöördumised")
    tabs = second_page.inner_text("nav.tabs")
    assert "Minu rühmadele eskaleeritud" in tabs
    assert "Menetlejata" not in tabs
    second_page.locator("#queue-results").get_by_role(
        "link", name="Pension arvutatakse valesti"
    ).click()
    second_page.wait_for_url(f"**/desk/cases/{case.pk}/")
    assert SPECIALIST_SUMMARY in second_page.inner_text("#history")
    expect(second_page.locator("#reply")).to_have_count(0)  # only the desk replies
    second_page.fill("#note textarea[name=note-body]", SPECIALIST_NOTE)
    second_page.click("#note button[type=submit]")
    second_page.wait_for_selector("text=Sisemärge on lisatud.")
    escalation.refresh_from_db()
    assert escalation.status == Escalation.Status.ANSWERED
    note = Message.objects.get(case=case, body=SPECIALIST_NOTE)
    assert (note.kind, note.author, note.escalation) == ("note", w.specialist, escalation)
    assert len(_events(case, "desk.case.note")) == 1
    assert not mailoutbox

    # The desk sees the answer, linked to the escalation.
    page.reload()
    answer = page.locator("#history .message--note", has_text=SPECIALIST_NOTE)
    expect(answer).to_contain_text("Piret Pärn")
    expect(answer.locator(".message__escalation")).to_have_text(w.specialists.name)
    expect(page.locator(f"#escalation-{escalation.pk}")).to_contain_text("vastatud")

    # The requester sees neither the question to the specialists nor their answer.
    second_page.get_by_role("button", name="Logi välja").click()
    second_page.wait_for_url("**/login/")
    sign_in(second_page, "mari")
    second_page.goto(f"/desk/help/cases/{case.pk}/")
    assert FIRST_TEXT in second_page.inner_text("#conversation")
    source = second_page.content()
    assert SPECIALIST_SUMMARY not in source
    assert SPECIALIST_NOTE not in source
    assert "Pensionide spetsialistid" not in source


# --- 5. a phone call, a template reply, and the requester's answer ------------------------------


def test_desk_logs_a_phone_call_asks_with_a_template_and_the_requester_answers(
    page: Page, second_page: Page, w: World, mailoutbox
):
    ReplyTemplate.objects.create(
        name="Küsi kuvatõmmist",
        language="et",
        body="Tere, {requester_name}!\n\nPalun saatke {case_reference} kohta kuvatõmmis.\n\n"
        "{agent_name}",
    )

    sign_in(page, "kalle")
    _nav(page, "Pöördumised")
    page.locator(".page-header").get_by_role("link", name="Registreeri pöördumine").click()
    page.wait_for_url("**/desk/cases/new/")
    page.fill("input[name=requester]", w.person.email.upper())  # typed as it was said
    expect(page.locator("select[name=channel]")).to_have_value("phone")
    page.select_option("select[name=system]", label="SKAIS2")
    page.check("input[name=category][value=question]")
    page.fill("input[name=subject]", "Kuidas pensioniotsust parandada?")
    page.fill("textarea[name=body]", "Helistas: otsuses on vale kuupäev.")
    page.fill("input[name=tags]", "telefon, otsused")
    page.click("form.desk-form button[type=submit]")
    page.wait_for_selector("text=on registreeritud, esitaja Mari Jõgi.")
    case = Case.objects.get()
    page.wait_for_url(f"**/desk/cases/{case.pk}/")
    assert (case.channel, case.requester, case.queue) == ("phone", w.person, w.desk_queue)
    assert sorted(case.tags.values_list("name", flat=True)) == ["otsused", "telefon"]
    first = case.messages.get()
    assert (first.kind, first.author) == ("from_requester", None)  # the desk wrote it down
    (created,) = _events(case, "desk.case.create")
    assert created.actor_id == w.agent.pk
    assert "telefon" in page.text_content(".page-header__kicker")
    assert _mails_to(w.person.email) == mailoutbox  # the acknowledgement
    mailoutbox.clear()

    # Picking a template fills the reply (htmx), names filled in; the case then waits.
    page.select_option("#reply select[name=reply-template]", label="Küsi kuvatõmmist")
    page.wait_for_function(
        "document.querySelector('#reply-body textarea').value.includes('Tere, Mari Jõgi!')"
    )
    text = page.input_value("#reply-body textarea")
    assert f"Palun saatke Tugi #{case.pk} kohta kuvatõmmis." in text
    assert text.rstrip().endswith("Kalle Kask")
    page.check("#reply input[name=reply-set_status][value=waiting_requester]")
    page.click("#reply button[type=submit]")
    page.wait_for_selector("text=Vastus on saadetud, pöördumine ootab pöörduja vastust.")
    assert "ootab pöörduja vastust" in page.inner_text(".case-header")
    expect(page.locator(".case-header .sla-badge--paused")).to_have_text("SLA peatatud")
    case.refresh_from_db()
    assert case.status == Case.Status.WAITING_REQUESTER
    assert case.sla_due is None  # the clock stands
    assert len(mailoutbox) == 1 and "Tere, Mari Jõgi!" in mailoutbox[0].body

    # The requester finds the case the desk logged for them, and answers with a file.
    sign_in(second_page, "mari")
    _nav(second_page, "Abi")
    second_page.locator("#my-cases").get_by_role(
        "link", name="Kuidas pensioniotsust parandada?"
    ).click()
    second_page.wait_for_url(f"**/desk/help/cases/{case.pk}/")
    assert "Rakendustugi ootab sinu vastust." in second_page.inner_text("#write")
    assert "Tere, Mari Jõgi!" in second_page.inner_text("#conversation")
    second_page.fill("#write textarea[name=message-body]", "Kuvatõmmis on manuses.")
    second_page.set_input_files(
        "#write input[name=message-attachments]",
        files=[{"name": "otsus.png", "mimeType": "image/png", "buffer": PNG}],
    )
    second_page.click("#write button[type=submit]")
    second_page.wait_for_selector("text=Sinu sõnum on pöördumisele lisatud.")
    assert "otsus.png" in second_page.inner_text("#conversation")

    case.refresh_from_db()
    assert case.status == Case.Status.OPEN
    assert case.sla_due is not None  # the clock runs again
    answer = case.messages.order_by("id").last()
    assert (answer.kind, answer.author, answer.body) == (
        "from_requester",
        w.requester,
        "Kuvatõmmis on manuses.",
    )
    assert [a.filename for a in answer.attachments.all()] == ["otsus.png"]
    assert len(_events(case, "desk.case.requester_message")) == 1
    page.reload()
    assert "avatud" in page.inner_text(".case-header")
    assert "otsus.png" in page.inner_text("#history")
