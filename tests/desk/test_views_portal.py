"""The portal: asking for help, the requester's own cases, writing to them, rating them.

A requester sees only their own cases and only the public conversation: internal notes and the
mail with third parties never reach these pages.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.access.factories import RoleFactory
from tests.access.views_support import login
from tests.desk.views_support import (
    EXE,
    PDF,
    World,
    catch_mail,
    desk_world,
    english_client,
)
from tests.factories import PersonFactory, make_user
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.desk import actions
from tugi.desk.models import Attachment, Case, Escalation, Message, Rating

pytestmark = pytest.mark.django_db


@pytest.fixture
def en(client):
    return english_client(client)


@pytest.fixture
def mail(monkeypatch):
    return catch_mail(monkeypatch)


@pytest.fixture
def w(requester_user, desk_user, admin_user, time_machine, settings, tmp_path, mail) -> World:
    return desk_world(requester_user, desk_user, admin_user, time_machine, settings, tmp_path)


NEW = reverse("desk:case_new")
PORTAL = reverse("desk:portal")


def _form(**extra) -> dict:
    data = {
        "system": "",
        "module": "",
        "category": "malfunction",
        "subject": "SKAIS2 ei avane",
        "body": "Pärast uuendust tuleb avalehel viga 500.",
        "impact": "2",
        "urgency": "1",
    }
    data.update(extra)
    return data


def test_requester_asks_for_help_and_the_case_is_acknowledged(
    en, w: World, mail, django_capture_on_commit_callbacks
):
    login(en, w.requester)
    page = en.get(NEW)
    assert page.status_code == 200
    assert "Who is affected?" in page.content.decode()
    upload = SimpleUploadedFile("kuvatõmmis.pdf", PDF, content_type="application/pdf")
    with django_capture_on_commit_callbacks(execute=True):
        response = en.post(
            NEW, {**_form(system=str(w.system.pk), module="Pensionid"), "attachments": [upload]}
        )
    case = Case.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("desk:my_case", args=[case.pk])
    assert (case.requester, case.channel, case.system, case.module) == (
        w.person,
        "portal",
        w.system,
        "Pensionid",
    )
    assert (case.category, case.impact, case.urgency, case.priority) == ("malfunction", 2, 1, 2)
    assert case.queue == w.desk_queue and case.sla_due is not None
    first = case.messages.get()
    assert first.author == w.requester and first.attachments.get().filename == "kuvatõmmis.pdf"
    assert mail.acks == [case.pk]
    page = en.get(response.url)
    html = page.content.decode()
    assert "SKAIS2 ei avane" in html and "was received" in html
    assert "kuvatõmmis.pdf" in html


def test_the_form_says_what_is_missing(en, w: World):
    login(en, w.requester)
    response = en.post(NEW, _form(subject="", body=""))
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem" in html and "Error:" in html
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("programm.pdf", EXE, "is a program"),
        ("leht.html", b"<script>alert(1)</script>", "this type of file is not accepted"),
        ("suur.pdf", PDF + b"0" * 2048, "is too large"),
    ],
)
def test_a_bad_attachment_is_refused_with_its_reason_and_no_case(
    en, w: World, settings, name, content, reason
):
    settings.TUGI_MAX_ATTACHMENT_BYTES = 1024
    login(en, w.requester)
    upload = SimpleUploadedFile(name, content)
    response = en.post(NEW, {**_form(), "attachments": [upload]})
    assert response.status_code == 200
    html = response.content.decode()
    assert reason in html and name in html
    assert "choose them again" in html
    assert not Case.objects.exists()
    assert not Attachment.objects.exists()


def test_a_user_without_a_person_record_is_told_so(en, db, mail):
    login(en, make_user("nobody", AppRole.REQUESTER))
    assert "not linked to a person" in en.get(NEW).content.decode()
    assert "not linked to a person" in en.get(PORTAL).content.decode()


def test_module_suggestions_follow_the_application(en, w: World):
    RoleFactory(system=w.system, module="Pensionid")
    RoleFactory(system=w.system, module="Aruanded")
    login(en, w.requester)
    html = en.get(reverse("desk:module_options"), {"system": w.system.pk}).content.decode()
    assert '<option value="Aruanded">' in html and '<option value="Pensionid">' in html


def test_my_cases_lists_only_my_own_newest_first_by_keyset(en, w: World, settings):
    mine = [w.open(subject=f"Minu pöördumine {i}") for i in range(3)]
    w.open(actor=w.other, subject="Teise pöördumine")
    login(en, w.requester)
    html = en.get(PORTAL).content.decode()
    assert "Teise pöördumine" not in html
    positions = [html.index(f"Minu pöördumine {i}") for i in (2, 1, 0)]
    assert positions == sorted(positions)
    assert all(reverse("desk:my_case", args=[c.pk]) in html for c in mine)


def test_my_cases_pages_by_key(en, w: World, monkeypatch):
    from tugi.desk import queries

    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    cases = [w.open(subject=f"Pöördumine number {i}") for i in range(5)]
    login(en, w.requester)
    seen: list[str] = []
    page = en.get(PORTAL)
    while True:
        rows = page.context["page"].rows
        seen += [c.subject for c in rows]
        cursor = page.context["page"].next_cursor
        if not cursor:
            break
        page = en.get(PORTAL, {"cursor": cursor})
    assert seen == [c.subject for c in reversed(cases)]


def test_a_requester_cannot_open_another_persons_case(en, w: World):
    theirs = w.open(actor=w.other)
    login(en, w.requester)
    assert en.get(reverse("desk:my_case", args=[theirs.pk])).status_code == 404
    assert en.get(reverse("desk:my_case", args=[99999])).status_code == 404
    response = en.post(reverse("desk:my_case_message", args=[theirs.pk]), {"message-body": "x"})
    assert response.status_code == 404
    assert en.get(reverse("desk:case", args=[theirs.pk])).status_code == 403


def test_the_requester_never_sees_internal_notes_or_party_mail(en, w: World):
    case = w.open()
    actions.reply(w.desk, case, "Vaatame üle.")
    actions.add_note(w.desk, case, "SALAJANE MÄRGE: kasutaja on varem sama viga teatanud.")
    escalation = actions.escalate(
        w.desk,
        case,
        kind=Escalation.Kind.THIRD_PARTY,
        party_email="tugi@tarnija.ee",
        summary="PARTNERILE: palun kontrollige logisid.",
    )
    actions.record_party_reply(
        escalation,
        body="PARTNERI VASTUS: viga on meie poolel.",
        author_email="tugi@tarnija.ee",
        message_id="<x@tarnija.ee>",
    )
    login(en, w.requester)
    html = en.get(reverse("desk:my_case", args=[case.pk])).content.decode()
    assert "Vaatame üle." in html and "Avalehel tuleb viga 500." in html
    assert "SALAJANE MÄRGE" not in html
    assert "PARTNERILE" not in html and "PARTNERI VASTUS" not in html
    # The requester is sent to the portal from the desk's address of their case.
    desk_url = en.get(reverse("desk:case", args=[case.pk]))
    assert desk_url.status_code == 302
    assert desk_url.url == reverse("desk:my_case", args=[case.pk])


def test_the_requester_writes_and_a_waiting_case_opens_again(en, w: World):
    case = w.open()
    actions.reply(w.desk, case, "Saatke kuvatõmmis.", set_status="waiting_requester")
    login(en, w.requester)
    page = en.get(reverse("desk:my_case", args=[case.pk]))
    assert "waiting for your answer" in page.content.decode()
    upload = SimpleUploadedFile("pilt.png", b"\x89PNG\r\n\x1a\n" + b"0" * 20)
    response = en.post(
        reverse("desk:my_case_message", args=[case.pk]),
        {"message-body": "Kuvatõmmis on lisatud.", "message-attachments": [upload]},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN
    last = case.messages.order_by("-id").first()
    assert last.kind == Message.Kind.FROM_REQUESTER and last.author == w.requester
    assert last.attachments.get().filename == "pilt.png"


def test_an_empty_message_is_refused_on_the_form(en, w: World):
    case = w.open()
    login(en, w.requester)
    response = en.post(reverse("desk:my_case_message", args=[case.pk]), {"message-body": " "})
    assert response.status_code == 200
    assert "Write a message." in response.content.decode()
    assert case.messages.count() == 1


def test_a_closed_case_offers_a_follow_up_case(en, w: World):
    case = w.open()
    actions.resolve(w.desk, case, resolution="Parandatud.")
    actions.close(w.desk, case)
    login(en, w.requester)
    html = en.get(reverse("desk:my_case", args=[case.pk])).content.decode()
    assert "Ask for help again" in html and 'name="message-body"' not in html
    page = en.get(NEW, {"follow_up": case.pk})
    assert "This case continues" in page.content.decode()
    en.post(NEW, _form(parent=str(case.pk)))
    follow_up = Case.objects.exclude(pk=case.pk).get()
    assert follow_up.parent == case


def test_one_click_rating_on_a_resolved_case(en, w: World):
    case = w.open()
    actions.resolve(w.desk, case, resolution="Parandatud.")
    login(en, w.requester)
    html = en.get(reverse("desk:my_case", args=[case.pk])).content.decode()
    assert "Was your question answered?" in html
    response = en.post(
        reverse("desk:my_case_rate", args=[case.pk]),
        {"rating-score": "5", "rating-comment": "Kiire abi!"},
    )
    assert response.status_code == 302
    rating = Rating.objects.get(case=case)
    assert (rating.score, rating.comment) == (5, "Kiire abi!")
    assert "You rated this case 5 of 5" in en.get(response.url).content.decode()


def test_an_open_case_cannot_be_rated(en, w: World):
    case = w.open()
    login(en, w.requester)
    assert (
        "Was your question answered?"
        not in en.get(reverse("desk:my_case", args=[case.pk])).content.decode()
    )
    response = en.post(reverse("desk:my_case_rate", args=[case.pk]), {"rating-score": "3"})
    assert response.status_code == 200
    assert "Only a resolved case can be rated" in response.content.decode()
    assert not Rating.objects.exists()


def test_rating_by_the_mailed_link_works_without_signing_in(client, w: World):
    case = w.open()
    actions.resolve(w.desk, case, resolution="Parandatud.")
    token = actions.make_rating_token(case)
    url = reverse("desk:rate_token", kwargs={"token": token})
    client.cookies["django_language"] = "en"
    # Opening the link (mail scanners do) changes nothing; it shows the buttons.
    page = client.get(url, {"score": "4"})
    assert page.status_code == 200
    assert not Rating.objects.exists()
    assert 'value="4" class="rating__button rating__button--chosen"' in page.content.decode()
    response = client.post(url, {"rating-score": "4", "rating-comment": ""})
    assert response.status_code == 200
    assert "You rated the case 4 of 5" in response.content.decode()
    assert Rating.objects.get(case=case).score == 4
    event = AuditEvent.objects.get(action="desk.case.rate")
    assert event.basis == "rating link" and event.actor is None


def test_a_forged_rating_link_is_refused(client, w: World):
    case = w.open()
    actions.resolve(w.desk, case, resolution="Parandatud.")
    client.cookies["django_language"] = "en"
    forged = actions.make_rating_token(case)[:-2] + "xx"
    response = client.post(
        reverse("desk:rate_token", kwargs={"token": forged}), {"rating-score": "1"}
    )
    assert response.status_code == 404
    assert "does not work" in response.content.decode()
    assert not Rating.objects.exists()


def test_portal_pages_need_signing_in(client, db):
    for url in (PORTAL, NEW):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response.url


def test_anyone_signed_in_sees_help_in_the_navigation(en, w: World):
    login(en, w.requester)
    labels = {str(i["label"]) for i in en.get(PORTAL).context["nav_items"]}
    assert "Help" in labels and "Cases" not in labels and "Desk settings" not in labels
    login(en, w.desk)
    labels = {str(i["label"]) for i in en.get(PORTAL).context["nav_items"]}
    assert {"Help", "Cases"} <= labels
    PersonFactory()  # unused persons do not matter
