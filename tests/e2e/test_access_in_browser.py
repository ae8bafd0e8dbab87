"""The access pages in a real browser, in Estonian (and once in English), as their users take them.

1. A request with four eyes: the requester files it, cannot decide it, the unit head approves it
   in the inbox, the desk fulfils it in the queue, and the role shows on the requester's page.
2. The Changes page: the desk confirms a change of a manual system and it leaves "to confirm".
3. Substitution: the unit head orders one for an absence; the substitute's rights cover exactly
   the absence's days.
4. The HR import: upload, preview with the refused row and its reason, apply, the joiner appears.

Users sign in one after another in the same browser: `switch_to` clears the session cookie first.
"""

import datetime
import re

import pytest
from django.utils import timezone

from tests.access.factories import (
    AccountFactory,
    GrantFactory,
    RoleFactory,
    TargetSystemFactory,
    request_world,
)
from tests.access.substitution_support import build_world as substitution_world
from tests.e2e.conftest import sign_in
from tests.factories import PersonFactory, make_user
from tests.people.imports_support import NEW_1, NEW_2, csv_bytes, joiner_row
from tests.people.imports_support import build_world as import_world
from tugi.access.actions import grants as grant_actions
from tugi.access.lifecycle.plan import day_start
from tugi.access.models import (
    AccessRequest,
    AccessRequestItem,
    Account,
    Approval,
    Change,
    Grant,
    Substitution,
    TargetSystem,
)
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.people.actions import record_absence
from tugi.people.models import Absence, DataImport, Person

pytestmark = [pytest.mark.e2e, pytest.mark.estonian, pytest.mark.django_db(transaction=True)]

DAY = datetime.timedelta(days=1)


def switch_to(page, username: str) -> None:
    """Sign out whoever is signed in (by dropping the cookies) and sign in as `username`."""
    page.context.clear_cookies()
    sign_in(page, username)


def stamp(moment: datetime.datetime) -> str:
    """A moment as the pages print it (SHORT_DATETIME_FORMAT, Tallinn time)."""
    return f"{timezone.localtime(moment):%d.%m.%Y %H:%M}"


def events(action: str, **filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, **filters))


# --- 1. an access request with four eyes ----------------------------------------------------------


def test_request_approve_fulfil_with_four_eyes(page):
    world = request_world(
        make_user("taotleja", AppRole.REQUESTER), make_user("kalle", AppRole.DESK_AGENT)
    )
    mari, role = world.person, world.benefits_role  # an ordinary role: the unit head alone approves

    # The requester asks for the role, saying why.
    sign_in(page, "taotleja")
    page.click("nav >> text=Taotlused")
    page.click("main a.button:has-text('Uus taotlus')")
    page.wait_for_selector("h1:has-text('Taotle juurdepääsu')")
    page.select_option("#id_item-0-role", str(role.pk))
    page.fill("#id_justification", "Toetuste menetlemine, käskkiri 1-2/26")
    page.click("main .form-actions button[type=submit]:has-text('Esita taotlus')")
    page.wait_for_url(re.compile(r"/access/requests/\d+/$"))

    req = AccessRequest.objects.get(person=mari)
    assert f"Taotlus {req.pk} on esitatud ja ootab nüüd kooskõlastamist." in page.inner_text(
        ".messages"
    )
    assert req.state == AccessRequest.State.SUBMITTED and req.requested_by == world.requester
    assert req.justification == "Toetuste menetlemine, käskkiri 1-2/26"
    step = req.approvals.get()
    assert step.approver == world.unit_head and step.decision == Approval.Decision.PENDING
    assert len(events("access.request.file", object_id=str(req.pk))) == 1

    # Four eyes: the requester sees no decision form and a forged decision is refused.
    main = page.inner_text("main")
    assert "Sinu otsus" not in main
    assert page.locator("#decide").count() == 0
    assert page.locator("button[name=decision]").count() == 0
    assert "Kooskõlastused" not in page.inner_text("nav")
    token = page.input_value("#cancel input[name=csrfmiddlewaretoken]")
    forged = page.request.post(
        f"/access/requests/{req.pk}/decide/",
        form={"csrfmiddlewaretoken": token, "decision": "approve", "comment": "ise"},
        headers={"Referer": page.url},
    )
    assert forged.status == 403
    assert "Sellele lehele puudub juurdepääs" in forged.text()  # Tugi's 403, not a CSRF failure
    req.refresh_from_db()
    step.refresh_from_db()
    assert req.state == AccessRequest.State.SUBMITTED
    assert step.decision == Approval.Decision.PENDING
    assert not events("access.approval.approve")

    # The unit head approves it from the inbox.
    switch_to(page, "juhataja")
    page.click("nav >> text=Kooskõlastused")
    page.wait_for_selector("h1:has-text('Ootab sinu otsust')")
    inbox = page.inner_text("main .inbox")
    assert f"Taotlus {req.pk}: {mari.full_name}" in inbox
    assert role.name in inbox and "käskkiri 1-2/26" in inbox
    # The inbox's link names the request as the purpose of reading the person's data.
    page.click(
        f"main .inbox a.button[href='/access/requests/{req.pk}/?ctx=request-{req.pk}#decide']"
    )
    page.wait_for_selector("#decide")
    page.fill("#decide textarea[name=comment]", "Sobib")
    page.click("#decide button[name=decision][value=approve]")
    page.wait_for_selector(f".messages >> text=Kooskõlastasid taotluse {req.pk}.")
    assert page.locator("#decide").count() == 0  # decided: the form is gone

    req.refresh_from_db()
    step.refresh_from_db()
    assert req.state == AccessRequest.State.APPROVED
    assert step.decision == Approval.Decision.APPROVED and step.decided_by == world.unit_head_user
    assert step.comment == "Sobib"
    [approved] = events("access.approval.approve", object_id=str(step.pk))
    assert approved.actor == world.unit_head_user and approved.subject_person_id == mari.pk
    assert len(events("access.request.approve", object_id=str(req.pk))) == 1

    # The desk fulfils it from the queue, naming the new account.
    item = AccessRequestItem.objects.get(request=req)
    switch_to(page, "kalle")
    page.click("nav >> text=Täitmine")
    page.wait_for_selector("h1:has-text('Täitmist ootavad muudatused')")
    row = page.locator("main table tbody tr", has_text=f"nr {req.pk}")
    assert mari.full_name in row.inner_text() and role.name in row.inner_text()
    row.locator(f"#username-{item.pk}").fill("mari.toetused")
    row.locator("button[type=submit]").click()
    page.wait_for_selector("main .empty-state >> text=Midagi ei ole vaja täita")
    assert f"(taotlus {req.pk})" in page.inner_text(".messages")

    req.refresh_from_db()
    item.refresh_from_db()
    assert req.state == AccessRequest.State.FULFILLED
    assert item.state == AccessRequestItem.State.FULFILLED and item.fulfilled_by == world.desk
    grant = Grant.objects.get(person=mari, role=role)
    assert grant.basis == Grant.Basis.REQUEST and grant.basis_item == item
    assert grant.valid_to is None and grant.valid_from <= timezone.now()
    assert grant.account.username == "mari.toetused"
    assert grant.account.state == Account.State.ACTIVE
    assert len(events("access.request_item.fulfil", object_id=str(item.pk))) == 1
    assert len(events("access.request.fulfil", object_id=str(req.pk))) == 1
    [created] = events("access.grant.create", object_id=str(grant.pk))
    assert created.actor == world.desk

    # The grant shows on the person's access page, for the desk and for the requester herself.
    page.goto(f"/access/people/{mari.pk}/")
    current = page.inner_text("section[aria-labelledby=current-heading]")
    assert role.name in current and "tähtajatu" in current

    switch_to(page, "taotleja")
    page.click("nav >> text=Minu juurdepääsud")
    current = page.inner_text("section[aria-labelledby=current-heading]")
    assert "Praegu kehtivad rollid" in current and role.name in current

    # In English.
    page.click("button[name=language][value=en]")
    page.wait_for_selector("html[lang=en]")
    current = page.inner_text("section[aria-labelledby=current-heading]")
    assert "Roles in force now" in current and role.name in current and "open-ended" in current
    assert "My access" in page.inner_text("nav")


def test_an_approver_cannot_decide_their_own_request(page):
    world = request_world(
        make_user("taotleja", AppRole.REQUESTER), make_user("kalle", AppRole.DESK_AGENT)
    )
    # The unit head asks for access himself: the step goes to the head above him.
    sign_in(page, "juhataja")
    page.goto("/access/requests/new/")
    page.select_option("#id_item-0-role", str(world.star_role.pk))
    page.fill("#id_justification", "Asendan sotsiaaltöötajat")
    page.click("main .form-actions button[type=submit]")
    page.wait_for_url(re.compile(r"/access/requests/\d+/$"))
    req = AccessRequest.objects.get(person=world.unit_head)
    step = req.approvals.get()
    assert step.approver == world.dept_head
    assert page.locator("#decide").count() == 0
    assert world.dept_head.full_name in page.inner_text("main .page-header")

    page.click("nav >> text=Kooskõlastused")
    page.wait_for_selector("main .empty-state >> text=Sinu otsust ei oota midagi")
    page.goto(f"/access/requests/{req.pk}/")
    token = page.input_value("#cancel input[name=csrfmiddlewaretoken]")
    forged = page.request.post(
        f"/access/requests/{req.pk}/decide/",
        form={"csrfmiddlewaretoken": token, "decision": "approve"},
        headers={"Referer": page.url},
    )
    assert forged.status == 403
    assert "Sellele lehele puudub juurdepääs" in forged.text()  # Tugi's 403, not a CSRF failure
    step.refresh_from_db()
    assert step.decision == Approval.Decision.PENDING
    assert not events("access.approval.approve")

    # The department head has it in her inbox.
    switch_to(page, "osakonnajuhataja")
    page.click("nav >> text=Kooskõlastused")
    assert f"Taotlus {req.pk}: {world.unit_head.full_name}" in page.inner_text("main .inbox")


# --- 2. the Changes page: confirming a change of a manual system ----------------------------------


def test_desk_confirms_a_manual_change_and_it_leaves_the_list(page):
    make_user("kalle", AppRole.DESK_AGENT)
    kadri = make_user("kadri", AppRole.DESK_AGENT)
    register = TargetSystemFactory(
        code="PABER",
        name="Paberarhiiv",
        kind=TargetSystem.Kind.EXTERNAL,
        connector_kind=TargetSystem.Connector.MANUAL,
    )
    role = RoleFactory(system=register, name="Arhiivi lugeja")
    person = PersonFactory(first_name="Peeter", last_name="Pärn")
    grant = GrantFactory(account=AccountFactory(person=person, system=register), role=role)
    # Another agent ends the grant; the engine (Huey runs at once in tests) applies it in Tugi,
    # and in a manual system the desk still has to make it by hand and confirm.
    grant_actions.end_grant(kadri, grant, reason="Ülesanded muutusid")
    change = Change.objects.get(grant=grant, kind=Change.Kind.GRANT_END)
    assert change.state == Change.State.APPLIED and change.confirmed_at is None

    sign_in(page, "kalle")
    page.click("nav >> text=Muudatused")
    page.wait_for_selector("h1:has-text('Muudatused')")
    tab = page.locator("a.tabs__link", has_text="Ootab kinnitamist")
    assert tab.locator(".tabs__count").inner_text() == "1"
    tab.click()  # htmx: only the results are swapped
    page.wait_for_selector("a.tabs__link[aria-current=page]:has-text('Ootab kinnitamist')")
    page.wait_for_url(re.compile(r"show=confirm"))
    row = page.locator("#change-results tbody tr", has_text="Pärn, Peeter")
    assert "õiguse lõpp" in row.inner_text() and "Arhiivi lugeja" in row.inner_text()
    assert "PABER" in row.inner_text()

    row.locator(f"button[formaction='/access/changes/{change.pk}/confirm/']").click()
    page.wait_for_selector(".messages >> text=Muudatus on kinnitatud infosüsteemis tehtuks.")
    assert "show=confirm" in page.url  # back on the same list
    page.wait_for_selector("#change-results .empty-state >> text=Midagi ei ole vaja kinnitada")
    assert "Pärn" not in page.inner_text("#change-results")
    assert (
        page.locator("a.tabs__link", has_text="Ootab kinnitamist").locator(".tabs__count").count()
        == 0
    )

    change.refresh_from_db()
    assert change.confirmed_at is not None and change.confirmed_by.username == "kalle"
    [confirmed] = events("access.change.confirm", object_id=str(change.pk))
    assert confirmed.actor.username == "kalle" and confirmed.subject_person_id == person.pk


# --- 3. substitution for an absence ---------------------------------------------------------------


def test_unit_head_orders_a_substitution_for_exactly_the_absence(page):
    world = substitution_world(timezone.now() - 60 * DAY)
    first = timezone.localdate() + 7 * DAY
    last = first + 4 * DAY
    absence = record_absence(
        None, world.absentee, kind=Absence.Kind.VACATION, starts_on=first, ends_on=last
    )
    starts, ends = day_start(first), day_start(last + DAY)

    sign_in(page, "jaan")
    page.click("nav >> text=Asendamised")
    page.click("main .page-header a.button[href='/access/substitutions/new/']")
    page.fill("input[name=absentee]", world.absentee.email)
    page.click("main form[method=get] button[type=submit]")
    page.wait_for_selector("h2:has-text('Asendamine: Mari Maasikas')")
    # The period comes from the absence.
    page.click(f"main a[href*='absence={absence.pk}']")
    page.wait_for_url(re.compile(rf"absence={absence.pk}"))
    assert page.input_value("input[name=first_day]") == first.isoformat()
    assert page.input_value("input[name=last_day]") == last.isoformat()
    # Her own delegable roles are offered (pension-insurance ones ticked); the rest is not.
    roles = page.locator("main form[method=post] input[name=roles]")
    assert roles.count() == 3
    assert page.is_checked(f"input[name=roles][value='{world.pension.pk}']")
    assert page.is_checked(f"input[name=roles][value='{world.register.pk}']")
    assert not page.is_checked(f"input[name=roles][value='{world.benefits.pk}']")
    assert page.locator(f"input[name=roles][value='{world.decide.pk}']").count() == 0
    page.check(f"input[name=roles][value='{world.benefits.pk}']")
    page.fill("input[name=substitute]", world.substitute.email)
    page.fill("input[name=directive]", "KK 1-5/26")
    page.click("main form[method=post] .form-actions button[type=submit]")
    page.wait_for_url(re.compile(r"/access/substitutions/\d+/$"))

    order = Substitution.objects.get(state=Substitution.State.ORDERED)
    assert "Asendamine on korraldatud: Kati Kask asendab isikut Mari Maasikas." in (
        page.inner_text(".messages")
    )
    assert order.absence == absence and order.ordered_by == world.unit_head
    assert (order.starts_at, order.ends_at) == (starts, ends)
    assert order.directive == "KK 1-5/26"
    acting = list(Grant.objects.filter(substitution=order))
    assert {g.role for g in acting} == {world.pension, world.register, world.benefits}
    assert all(g.person == world.substitute and g.acting_for == world.absentee for g in acting)
    assert {(g.valid_from, g.valid_to) for g in acting} == {(starts, ends)}
    [ordered] = events("access.substitution.order", object_id=str(order.pk))
    assert ordered.actor == world.unit_head_user and ordered.basis == "KK 1-5/26"

    # The order's page lists the substitute's rights for exactly that period.
    rights = page.locator("section[aria-labelledby=grants-heading] tbody tr")
    assert rights.count() == 3
    for n in range(3):
        cells = rights.nth(n).locator("td")
        assert cells.nth(0).inner_text() == stamp(starts)
        assert cells.nth(1).inner_text() == stamp(ends)
    listed = page.inner_text("section[aria-labelledby=grants-heading]")
    for role in (world.pension, world.register, world.benefits):
        assert role.name in listed
    assert world.decide.name not in listed

    # On the substitute's access page: nothing in force yet; the start and the end scheduled.
    page.goto(f"/access/people/{world.substitute.pk}/")
    current = page.inner_text("section[aria-labelledby=current-heading]")
    assert "Praegu ei kehti ühtegi rolli." in current
    scheduled = page.locator("section[aria-labelledby=upcoming-heading] tbody tr")
    rows = [scheduled.nth(n).inner_text() for n in range(scheduled.count())]
    starts_rows = [r for r in rows if "õiguse algus" in r]
    ends_rows = [r for r in rows if "õiguse lõpp" in r]
    assert len(starts_rows) == len(ends_rows) == 3 and len(rows) == 6
    assert all(r.startswith(stamp(starts)) for r in starts_rows)
    assert all(r.startswith(stamp(ends)) for r in ends_rows)


# --- 4. the HR import -----------------------------------------------------------------------------


def test_hr_specialist_imports_a_joiner_and_sees_the_refused_row(page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TUGI_JOINER_POLICY = "grant"
    import_world()  # units PENS and AREN with positions, and the HR user "personal"
    start = f"{timezone.localdate() + 3 * DAY:%d.%m.%Y}"
    upload = tmp_path / "personal.csv"
    upload.write_bytes(
        csv_bytes(
            [
                joiner_row(NEW_1, "Peeter", "Pärn", start=start),
                joiner_row(NEW_2, "Kadri", "Kask", start=start, unit="XXX"),
            ]
        )
    )
    persons = Person.objects.count()

    sign_in(page, "personal")
    page.click("nav >> text=Personaliandmete import")
    assert page.is_checked("input[name=kind][value=persons]")
    page.set_input_files("input[name=file]", str(upload))
    page.click("main form[enctype='multipart/form-data'] button[type=submit]")
    page.wait_for_url(re.compile(r"/people/imports/\d+/$"))

    data_import = DataImport.objects.get()
    assert data_import.state == DataImport.State.PREVIEWED
    assert (data_import.total_rows, data_import.valid_rows) == (2, 1)
    assert "Mida rakendamine teeks" in page.inner_text("main")
    refused = page.locator("#refused-rows tbody tr")
    assert refused.count() == 1
    refused_row = refused.first.inner_text()
    assert "Koodiga „XXX” üksust ei ole." in refused_row and "üksuse kood" in refused_row
    assert "Peeter Pärn" in page.inner_text("main")
    assert Person.objects.count() == persons  # a preview changes nothing
    assert len(events("people.import.preview", object_id=str(data_import.pk))) == 1

    page.click(f"main form[action='/people/imports/{data_import.pk}/apply/'] button")
    page.wait_for_selector(".messages >> text=Import on rakendatud, ridu: 1.")
    assert "Mida tehti" in page.inner_text("main")

    data_import.refresh_from_db()
    assert data_import.state == DataImport.State.APPLIED
    joiner = Person.objects.get(personal_code=NEW_1)
    assert (joiner.first_name, joiner.last_name, joiner.org_unit.code) == ("Peeter", "Pärn", "PENS")
    assert not Person.objects.filter(personal_code=NEW_2).exists()
    assert len(events("people.import.apply", object_id=str(data_import.pk))) == 1
    assert len(events("people.person.create", object_id=str(joiner.pk))) == 1

    # The joiner is in the people list.
    page.click("nav >> text=Teenistujad")
    page.fill("input[name=q]", "parn")
    page.wait_for_selector("#person-results >> text=Pärn")
    assert "Peeter" in page.inner_text("#person-results")
    assert "Kask" not in page.inner_text("#person-results")
