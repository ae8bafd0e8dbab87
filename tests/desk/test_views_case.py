"""The desk's case page: what it shows, every panel's action, refusals on the form, downloads.

Every panel calls an action; a refusal shows the page again with the panel open and the error
on its field, and nothing is saved.
"""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.access.views_support import login
from tests.desk.views_support import (
    NOW,
    PDF,
    World,
    catch_mail,
    desk_world,
    english_client,
)
from tugi.desk import actions
from tugi.desk.attachments import IncomingFile
from tugi.desk.models import Case, Escalation, Message, ReplyTemplate, TimeEntry

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


Status = Case.Status
Kind = Message.Kind


def _url(name: str, case: Case, *more) -> str:
    return reverse(f"desk:{name}", args=[case.pk, *more])


def test_the_case_page_shows_the_case_and_its_full_history(en, w: World):
    case = w.open(system=w.system, module="Pensionid")
    actions.reply(w.desk, case, "Vaatame üle.")
    actions.add_note(w.desk, case, "Sisemine märge kolleegidele.")
    actions.assign(w.desk, case, assignee=w.desk)
    actions.set_tags(w.desk, case, ["uuendus"])
    actions.log_time(w.desk, case, 25, "Logide kontroll")
    login(en, w.desk)
    response = en.get(_url("case", case))
    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        "SKAIS ei avane",
        "Mari Jõgi",
        "SKAIS2",
        "Pensionid",
        "Vaatame üle.",
        "Sisemine märge kolleegidele.",
        "message--note",
        "Case assigned to Kalle Kask.",
        "uuendus",
        "25 minutes",
        "First response",
    ):
        assert text in html, text
    assert html.index("Avalehel tuleb viga 500.") < html.index("Vaatame üle.")
    assert reverse("people:person_detail", args=[w.person.pk]) in html


def test_mail_html_is_shown_sanitised(en, w: World):
    case = w.open()
    actions.add_requester_message(
        case,
        body="Tekst",
        body_html='<p>Tere <b>desk</b></p><script>alert("x")</script><img src=x onerror=alert(1)>',
        author_email=w.person.email,
    )
    login(en, w.desk)
    html = en.get(_url("case", case)).content.decode()
    assert "<b>desk</b>" in html
    assert 'alert("x")' not in html and "onerror" not in html


def test_reply_through_the_page_is_mailed_and_can_wait_for_the_requester(
    en, w: World, mail, django_capture_on_commit_callbacks
):
    case = w.open()
    login(en, w.desk)
    with django_capture_on_commit_callbacks(execute=True):
        response = en.post(
            _url("case_reply", case),
            {"reply-body": "Palun saatke kuvatõmmis.", "reply-set_status": "waiting_requester"},
        )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.WAITING_REQUESTER and case.first_responded_at == NOW
    reply = case.messages.get(kind=Kind.REPLY)
    assert reply.body == "Palun saatke kuvatõmmis." and reply.author == w.desk
    assert mail.messages == [reply.pk]
    assert "waits for the requester" in en.get(response.url).content.decode()


def test_an_empty_reply_shows_the_error_on_the_form(en, w: World):
    case = w.open()
    login(en, w.desk)
    response = en.post(_url("case_reply", case), {"reply-body": "  "})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Write the reply." in html and "There is a problem" in html
    assert not case.messages.filter(kind=Kind.REPLY).exists()


def test_the_template_picker_fills_the_reply(en, w: World):
    template = ReplyTemplate.objects.create(
        name="Tervitus", body="Tere, {requester_name}! Teie pöördumine {case_reference}."
    )
    case = w.open()
    login(en, w.desk)
    fragment = en.get(
        _url("template_text", case),
        {"reply-template": template.pk},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert f"Tere, Mari Jõgi! Teie pöördumine Tugi #{case.pk}." in fragment
    assert "<html" not in fragment
    # Without JavaScript the page itself fills it.
    page = en.get(_url("case", case), {"reply-template": template.pk}).content.decode()
    assert f"Teie pöördumine Tugi #{case.pk}." in page


def test_internal_note_through_the_page(en, w: World):
    case = w.open()
    login(en, w.desk)
    upload = SimpleUploadedFile("logi.txt", b"ERROR 500 at /avaleht\n")
    response = en.post(
        _url("case_note", case),
        {"note-body": "Logis on viga 500.", "note-attachments": [upload]},
    )
    assert response.status_code == 302
    note = case.messages.get(kind=Kind.NOTE)
    assert note.body == "Logis on viga 500." and note.attachments.get().filename == "logi.txt"


def test_assign_through_the_page_and_take_it(en, w: World):
    case = w.open()
    login(en, w.desk)
    response = en.post(
        _url("case_assign", case),
        {"assign-queue": w.second_queue.pk, "assign-assignee": w.admin.pk},
    )
    assert response.status_code == 200  # the admin neither works cases nor is a member
    assert "is not a member of the queue" in response.content.decode()
    case.refresh_from_db()
    assert case.queue == w.desk_queue and case.assignee is None
    w.second_queue.members.add(w.admin)
    response = en.post(
        _url("case_assign", case),
        {"assign-queue": w.second_queue.pk, "assign-assignee": w.admin.pk},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.queue, case.assignee) == (w.second_queue, w.admin)
    en.post(_url("case_take", case))
    case.refresh_from_db()
    assert case.assignee == w.desk


def test_status_priority_tags_and_time_through_the_page(en, w: World):
    case = w.open()
    login(en, w.desk)
    assert (
        en.post(_url("case_status", case), {"status-status": "waiting_third_party"}).status_code
        == 302
    )
    assert (
        en.post(
            _url("case_priority", case), {"priority-impact": "1", "priority-urgency": "1"}
        ).status_code
        == 302
    )
    assert en.post(_url("case_tags", case), {"tags-tags": "uuendus, SKAIS2 ,"}).status_code == 302
    assert (
        en.post(_url("case_time", case), {"time-minutes": "15", "time-note": "Kõne"}).status_code
        == 302
    )
    case.refresh_from_db()
    assert case.status == Status.WAITING_THIRD_PARTY
    assert case.priority == 1
    assert sorted(case.tags.values_list("name", flat=True)) == ["SKAIS2", "uuendus"]
    assert TimeEntry.objects.get(case=case).minutes == 15
    bad = en.post(_url("case_time", case), {"time-minutes": "0"})
    assert bad.status_code == 200 and "panel-time" in bad.content.decode()


def test_classify_through_the_page(en, w: World):
    from tests.desk.factories import SlaPolicyFactory

    access = SlaPolicyFactory(
        priority=4, category="access", first_response_minutes=60, resolution_minutes=480
    )
    case = w.open(module="Vana")
    login(en, w.desk)
    html = en.get(_url("case", case)).content.decode()
    assert 'id="panel-classify"' in html and _url("case_classify", case) in html
    # The application's modules are offered as the portal offers them (htmx).
    assert 'hx-get="' + reverse("desk:module_options") + '"' in html
    response = en.post(
        _url("case_classify", case),
        {
            "classify-category": "access",
            "classify-system": str(w.system.pk),
            "classify-module": "Pensionid",
        },
        follow=True,
    )
    assert "the SLA follows the new category" in response.content.decode()
    case.refresh_from_db()
    assert (case.category, case.system, case.module) == ("access", w.system, "Pensionid")
    assert case.sla_policy == access
    html = en.get(_url("case", case)).content.decode()
    assert "Classified: category “access”, application SKAIS2, module “Pensionid”." in html


def test_classify_refusal_shows_on_the_form(en, w: World):
    case = w.open()
    login(en, w.desk)
    bad = en.post(_url("case_classify", case), {"classify-category": "wish"})
    assert bad.status_code == 200
    html = bad.content.decode()
    assert 'id="panel-classify" open' in html
    assert "field--error" in html
    case.refresh_from_db()
    assert case.category == "question"


def test_classify_and_route_again_through_the_page(en, w: World):
    from tugi.desk.models import RoutingRule

    RoutingRule.objects.create(name="Access", category="access", queue=w.second_queue)
    case = w.open()
    login(en, w.desk)
    response = en.post(
        _url("case_classify", case),
        {"classify-category": "access", "classify-reroute": "on"},
        follow=True,
    )
    assert "routed to the queue “SKAIS-i tugi”" in response.content.decode()
    case.refresh_from_db()
    assert case.queue == w.second_queue


def test_link_a_case_from_an_unknown_sender_through_the_page(en, w: World):
    case = actions.create_case(
        None,
        channel=Case.Channel.EMAIL,
        subject="Ei pääse ligi",
        body="Tere",
        requester_email="mari.jogi@gmail.com",
        requester_name="Mari Jõgi",
    )
    login(en, w.desk)
    html = en.get(_url("case", case)).content.decode()
    assert 'id="panel-requester"' in html
    # The person with the sender's name is suggested.
    assert f'<option value="{w.person.email}">Mari Jõgi</option>' in html
    bad = en.post(_url("case_requester", case), {"requester-requester": "nobody@example.ee"})
    assert bad.status_code == 200 and "No person has this e-mail address." in bad.content.decode()
    response = en.post(
        _url("case_requester", case),
        {"requester-requester": w.person.email.upper()},
        follow=True,
    )
    assert "Mari Jõgi is now the requester of the case." in response.content.decode()
    case.refresh_from_db()
    assert case.requester == w.person
    html = en.get(_url("case", case)).content.decode()
    assert 'id="panel-requester"' not in html  # a case with a requester has nothing to link
    assert "Linked to the person Mari Jõgi." in html


def test_resolve_through_the_page_mentions_and_resolves_the_children(en, w: World, mail):
    parent = w.open(subject="SKAIS2 on maas")
    children = [w.open(subject=f"Ka minul ei avane {i}", actor=w.other) for i in range(2)]
    for child in children:
        actions.link_parent(w.desk, child, parent)
    login(en, w.desk)
    page = en.get(_url("case", parent)).content.decode()
    assert "also resolves its 2 open child cases" in page
    assert f"#{children[0].pk}, #{children[1].pk}" in page
    response = en.post(
        _url("case_resolve", parent), {"resolve-resolution": "Server taaskäivitati."}
    )
    assert response.status_code == 302
    after = en.get(response.url).content.decode()
    assert "The case and its 2 open child cases were resolved." in after
    for case in [parent, *children]:
        case.refresh_from_db()
        assert case.status == Status.RESOLVED
    child_message = children[0].messages.get(kind=Kind.REPLY)
    assert f"Resolved together with Tugi #{parent.pk}" in child_message.body


def test_resolve_needs_a_resolution_text(en, w: World):
    case = w.open()
    login(en, w.desk)
    response = en.post(_url("case_resolve", case), {"resolve-resolution": ""})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Write the resolution for the requester." in html
    assert 'id="panel-resolve" open' in html
    case.refresh_from_db()
    assert case.status == Status.NEW


def test_close_and_reopen_through_the_page(en, w: World):
    case = w.open()
    actions.resolve(w.desk, case, resolution="Tehtud.")
    login(en, w.desk)
    en.post(_url("case_close", case))
    case.refresh_from_db()
    assert case.status == Status.CLOSED
    missing = en.post(_url("case_reopen", case), {"reopen-reason": ""})
    assert "Say why the case is reopened." in missing.content.decode()
    en.post(_url("case_reopen", case), {"reopen-reason": "Viga kordus."})
    case.refresh_from_db()
    assert case.status == Status.OPEN


def test_link_parent_duplicate_and_merge_with_a_confirm_step(en, w: World):
    case, parent, original, target = (w.open(subject=f"Juhtum {i}") for i in range(4))
    login(en, w.desk)
    en.post(_url("case_parent", case), {"parent-number": f"Tugi #{parent.pk}"})
    case.refresh_from_db()
    assert case.parent == parent
    cycle = en.post(_url("case_parent", parent), {"parent-number": str(case.pk)})
    assert "would form a cycle" in cycle.content.decode()
    unknown = en.post(_url("case_duplicate", case), {"duplicate-number": "999999"})
    assert "There is no case 999999." in unknown.content.decode()
    en.post(_url("case_duplicate", original), {"duplicate-number": str(parent.pk)})
    original.refresh_from_db()
    assert (original.status, original.duplicate_of) == (Status.RESOLVED, parent)
    # Merge: the first post only asks to confirm.
    confirm = en.post(_url("case_merge", case), {"merge-number": str(target.pk)})
    assert confirm.status_code == 200
    assert "This cannot be undone." in confirm.content.decode()
    case.refresh_from_db()
    assert case.merged_into is None
    done = en.post(
        _url("case_merge", case), {"merge-number": str(target.pk), "merge-confirm": "True"}
    )
    assert done.status_code == 302 and done.url == _url("case", target)
    case.refresh_from_db()
    assert (case.status, case.merged_into) == (Status.CLOSED, target)
    self_merge = en.post(
        _url("case_merge", target), {"merge-number": str(target.pk), "merge-confirm": "True"}
    )
    assert "cannot be merged into itself" in self_merge.content.decode()


def test_escalate_to_specialists_and_to_a_third_party(
    en, w: World, mail, django_capture_on_commit_callbacks
):
    case = w.open()
    login(en, w.desk)
    missing = en.post(
        _url("case_escalate", case), {"escalate-kind": "specialists", "escalate-summary": "Abi"}
    )
    assert "Choose the specialist group." in missing.content.decode()
    en.post(
        _url("case_escalate", case),
        {
            "escalate-kind": "specialists",
            "escalate-queue": w.specialists.pk,
            "escalate-summary": "Kas arvutus on õige?",
        },
    )
    due = (NOW + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    with django_capture_on_commit_callbacks(execute=True):
        en.post(
            _url("case_escalate", case),
            {
                "escalate-kind": "third_party",
                "escalate-party_name": "Tarnija AS",
                "escalate-party_email": "tugi@tarnija.ee",
                "escalate-summary": "Palun kontrollige logisid.",
                "escalate-due_at": due,
            },
        )
    specialists, party = case.escalations.order_by("id")
    assert specialists.queue == w.specialists
    assert party.party_email == "tugi@tarnija.ee"
    assert party.due_at == NOW + datetime.timedelta(days=2)
    assert mail.messages == [case.messages.get(kind=Kind.TO_PARTY).pk]
    response = en.post(
        _url("escalation_reference", case, party.pk),
        {
            f"ref{party.pk}-external_reference": "INC-778",
            f"ref{party.pk}-external_url": "https://tarnija.ee/inc/778",
        },
    )
    assert response.status_code == 302
    page = en.get(_url("case", case)).content.decode()
    assert "INC-778" in page and "https://tarnija.ee/inc/778" in page and "Tarnija AS" in page
    en.post(_url("escalation_close", case, party.pk))
    party.refresh_from_db()
    assert party.status == Escalation.Status.CLOSED


def test_a_specialist_sees_the_escalated_case_with_notes_only(en, w: World):
    case = w.open()
    other = w.open(subject="Mitte neile")
    actions.escalate(
        w.desk, case, kind=Escalation.Kind.SPECIALISTS, queue=w.specialists, summary="Palun abi"
    )
    login(en, w.specialist)
    assert en.get(_url("case", other)).status_code == 403
    page = en.get(_url("case", case))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'action="' + _url("case_note", case) in html
    assert _url("case_reply", case) not in html and _url("case_resolve", case) not in html
    assert en.post(_url("case_reply", case), {"reply-body": "x"}).status_code == 403
    assert en.post(_url("case_note", case), {"note-body": "Arvutus on õige."}).status_code == 302
    escalation = case.escalations.get()
    assert escalation.status == Escalation.Status.ANSWERED


def test_a_requester_has_no_desk_actions(en, w: World):
    case = w.open()
    login(en, w.requester)
    for name in ("case_reply", "case_note", "case_assign", "case_resolve"):
        assert en.post(_url(name, case), {}).status_code == 403, name


# --- downloads ----------------------------------------------------------------------------------


def test_download_sends_the_file_as_an_attachment_never_inline(en, w: World):
    case = w.open(attachments=[IncomingFile("otsus.pdf", PDF, "application/pdf")])
    attachment = case.messages.get().attachments.get()
    login(en, w.requester)
    response = en.get(reverse("desk:attachment", args=[attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="otsus.pdf"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == PDF


def test_download_is_refused_to_others_and_notes_stay_with_the_desk(en, w: World):
    case = w.open(attachments=[IncomingFile("otsus.pdf", PDF, "application/pdf")])
    public = case.messages.get().attachments.get()
    note = actions.add_note(
        w.desk, case, "Sisemine", attachments=[IncomingFile("sisemine.pdf", PDF, "application/pdf")]
    )
    internal = note.attachments.get()
    login(en, w.other)
    assert en.get(reverse("desk:attachment", args=[public.pk])).status_code == 404
    login(en, w.requester)
    assert en.get(reverse("desk:attachment", args=[internal.pk])).status_code == 404
    login(en, w.specialist)  # not escalated to their group
    assert en.get(reverse("desk:attachment", args=[public.pk])).status_code == 404
    login(en, w.desk)
    assert en.get(reverse("desk:attachment", args=[internal.pk])).status_code == 200


def test_the_desk_logs_a_phone_case_for_someone(
    en, w: World, mail, django_capture_on_commit_callbacks
):
    url = reverse("desk:case_create")
    login(en, w.requester)
    assert en.get(url).status_code == 403
    login(en, w.desk)
    assert "Who is asking?" in en.get(url).content.decode()
    data = {
        "requester": w.other_person.email.upper(),
        "channel": "phone",
        "queue": str(w.second_queue.pk),
        "tags": "telefon, parool",
        "category": "access",
        "subject": "Parool aegus",
        "body": "Helistas: ei pääse SKAIS2-sse.",
        "impact": "3",
        "urgency": "2",
    }
    unknown = en.post(url, {**data, "requester": "keegi@muu.ee"})
    assert "No person has this e-mail address." in unknown.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = en.post(url, data)
    case = Case.objects.get()
    assert response.status_code == 302 and response.url == _url("case", case)
    assert (case.requester, case.channel, case.queue) == (w.other_person, "phone", w.second_queue)
    assert sorted(case.tags.values_list("name", flat=True)) == ["parool", "telefon"]
    assert mail.acks == [case.pk]


def test_the_case_page_query_count_does_not_grow_with_its_history(en, w: World):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    case = w.open()
    actions.reply(w.desk, case, "Esimene vastus.")
    login(en, w.desk)
    en.get(_url("case", case))

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert en.get(_url("case", case)).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for i in range(8):
        actions.add_note(
            w.desk,
            case,
            f"Märge {i}",
            attachments=[IncomingFile(f"m{i}.pdf", PDF, "application/pdf")],
        )
        actions.add_requester_message(case, body=f"Veel {i}", author=w.requester)
        actions.escalate(
            w.desk,
            case,
            kind=Escalation.Kind.SPECIALISTS,
            queue=w.specialists,
            summary=f"Küsimus {i}",
        )
        actions.set_tags(w.desk, case, [f"silt{i}"])
        actions.assign(w.desk, case, assignee=w.desk if i % 2 else None)
    many = count()
    assert many <= few + 2  # a few lookups appear once there are escalations and events
