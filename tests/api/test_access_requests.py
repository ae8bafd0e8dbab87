"""Access requests through the API: filing (and every refusal saving nothing), the approval
chain's decisions, fulfilment, and who sees what."""

import pytest

from tests.access.factories import GrantFactory, RequestWorld, request_world
from tests.api.access_helpers import ids, later, query_count, walk, walk_back
from tests.factories import PersonFactory, make_user
from tugi.access.models import AccessRequest, AccessRequestItem, Account, Approval, Grant
from tugi.core.models import AuditEvent
from tugi.core.roles import AppRole
from tugi.people.models import Person

pytestmark = pytest.mark.django_db

REQUESTS = "/api/v1/access-requests/"
ITEMS = "/api/v1/access-request-items/"


@pytest.fixture
def w(requester_user, desk_user) -> RequestWorld:
    return request_world(requester_user, desk_user)


def pension(w: RequestWorld, **extra) -> dict:
    item = {"kind": "grant_role", "role": w.pension_role.pk, "valid_to": later(90).isoformat()}
    item.update(extra)
    return item


def benefits(w: RequestWorld, **extra) -> dict:
    return {"kind": "grant_role", "role": w.benefits_role.pk, **extra}


def body(*items: dict, **extra) -> dict:
    return {
        "justification": "Asun menetlema vanaduspensioni taotlusi.",
        "items": list(items),
        **extra,
    }


def file(client, *items: dict, **extra):
    return client.post(REQUESTS, body(*items, **extra), format="json")


def url(request_id: int, action: str = "") -> str:
    return f"{REQUESTS}{request_id}/{action + '/' if action else ''}"


def assert_nothing_saved() -> None:
    assert not AccessRequest.objects.exists()
    assert not AccessRequestItem.objects.exists()
    assert not Approval.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="access.").exists()


# --- the whole way ----------------------------------------------------------------------------


def test_file_approve_twice_fulfil_and_the_grant_exists_on_the_request(client_for, w):
    requester, head, owner, desk = (
        client_for(w.requester),
        client_for(w.unit_head_user),
        client_for(w.owner_user),
        client_for(w.desk),
    )
    response = file(requester, {"kind": "create_account", "system": w.skais.pk}, pension(w))
    assert response.status_code == 201, response.content
    filed = response.json()
    request_id = filed["id"]
    assert filed["person"] == w.person.pk and filed["state"] == "submitted"
    assert filed["requested_by"] == w.requester.pk
    assert [i["kind"] for i in filed["items"]] == ["create_account", "grant_role"]
    head_step, owner_step = filed["approvals"]
    assert (head_step["step"], head_step["approver"]) == ("unit_head", w.unit_head.pk)
    assert (owner_step["step"], owner_step["approver"]) == ("system_owner", w.owner.pk)
    assert filed["current_approval"] == head_step["id"]

    # The owner's turn has not come: the current step is the unit head's.
    assert owner.post(url(request_id, "approve"), {}, format="json").status_code == 403

    response = head.post(url(request_id, "approve"), {"comment": "Nõustun."}, format="json")
    assert response.status_code == 200, response.content
    after_head = response.json()
    assert after_head["state"] == "submitted"
    assert after_head["approvals"][0]["decision"] == "approved"
    assert after_head["approvals"][0]["comment"] == "Nõustun."
    assert after_head["current_approval"] == owner_step["id"]

    response = owner.post(url(request_id, "approve"), {}, format="json")
    assert response.status_code == 200, response.content
    approved = response.json()
    assert approved["state"] == "approved" and approved["current_approval"] is None
    assert {i["state"] for i in approved["items"]} == {"approved"}

    queue = desk.get(ITEMS, {"state": "approved"})
    account_item, grant_item = ids(queue)
    assert requester.post(f"{ITEMS}{account_item}/fulfil/", {}).status_code == 403
    response = desk.post(f"{ITEMS}{account_item}/fulfil/", {"username": "mari.m"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "fulfilled"
    assert desk.get(url(request_id)).json()["state"] == "approved"  # one item still to do
    response = desk.post(f"{ITEMS}{grant_item}/fulfil/", {}, format="json")
    assert response.status_code == 200, response.content
    assert desk.get(url(request_id)).json()["state"] == "fulfilled"

    grant = Grant.objects.get(person=w.person, role=w.pension_role)
    assert grant.basis == Grant.Basis.REQUEST and grant.basis_item_id == grant_item
    assert Account.objects.get(person=w.person, system=w.skais).username == "mari.m"
    # The requester sees the grant, and on what basis.
    [row] = requester.get("/api/v1/grants/").json()["results"]
    assert row["id"] == grant.pk and row["basis"] == "request"
    assert row["basis_item"] == grant_item and row["basis_request"] == request_id
    access_events = AuditEvent.objects.filter(action__startswith="access.").order_by("id")
    actions = list(access_events.values_list("action", flat=True))
    assert actions[:4] == [
        "access.request.file",
        "access.approval.approve",
        "access.approval.approve",
        "access.request.approve",
    ]
    assert actions[-1] == "access.request.fulfil"


def test_the_desk_files_on_someones_behalf(client_for, w):
    response = file(client_for(w.desk), benefits(w), person=w.person.pk)
    assert response.status_code == 201, response.content
    assert response.json()["person"] == w.person.pk
    assert response.json()["requested_by"] == w.desk.pk


# --- bad input: a 400 naming the field, and nothing saved -------------------------------------


@pytest.mark.parametrize(
    ("item", "field"),
    [
        # the end before the start
        (
            lambda w: benefits(w, valid_from=later(5).isoformat(), valid_to=later(2).isoformat()),
            "items[0].valid_to",
        ),
        # a role of another system
        (lambda w: pension(w, system=w.star.pk), "items[0].role"),
        # a role that is granted only with an end date, without one
        (lambda w: pension(w, valid_to=None), "items[0].valid_to"),
        # longer than the role's maximum (366 days)
        (lambda w: pension(w, valid_to=later(400).isoformat()), "items[0].valid_to"),
        # a start in the past
        (lambda w: benefits(w, valid_from=later(-3).isoformat()), "items[0].valid_from"),
        # type errors, caught before the action
        (lambda w: {"kind": "promote"}, "items[0].kind"),
        (lambda w: {"kind": "grant_role", "role": 99999}, "items[0].role"),
        (lambda w: benefits(w, valid_to="next week"), "items[0].valid_to"),
        (lambda w: {"kind": "end_role", "grant": 99999}, "items[0].grant"),
    ],
)
def test_a_bad_item_is_a_400_naming_it_and_nothing_is_saved(client_for, w, item, field):
    response = file(client_for(w.requester), item(w))
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert list(errors) == [field], errors
    assert errors[field] and all(isinstance(m, str) for m in errors[field])
    assert_nothing_saved()


def test_the_messages_say_what_is_wrong(client_for, w):
    client = client_for(w.requester)
    errors = file(client, pension(w, system=w.star.pk)).json()["errors"]
    assert "belongs to SKAIS2, not to STAR" in errors["items[0].role"][0]
    errors = file(client, pension(w, valid_to=None)).json()["errors"]
    assert "only with an end date" in errors["items[0].valid_to"][0]
    errors = file(client, pension(w, valid_to=later(400).isoformat())).json()["errors"]
    assert "at most 366 days" in errors["items[0].valid_to"][0]


def test_the_index_names_the_bad_item_among_several(client_for, w):
    response = file(client_for(w.requester), benefits(w), pension(w, valid_to=None))
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["items[1].valid_to"]
    assert_nothing_saved()


def test_every_bad_field_is_named_at_once(client_for, w):
    response = client_for(w.requester).post(
        REQUESTS,
        {"justification": "", "items": [benefits(w), {"kind": "grant_role", "role": 99999}]},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["items[1].role"]  # types first, then the rules
    response = client_for(w.requester).post(
        REQUESTS, {"justification": " ", "items": [pension(w, valid_to=None)]}, format="json"
    )
    assert set(response.json()["errors"]) == {"justification", "items[0].valid_to"}
    assert_nothing_saved()


def test_a_request_for_a_person_who_has_left_is_refused(client_for, w):
    leaver = PersonFactory(org_unit=w.unit, status=Person.Status.LEFT, employment_end="2024-06-30")
    response = file(client_for(w.desk), benefits(w), person=leaver.pk)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["person"] and "has left" in errors["person"][0]
    assert_nothing_saved()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"justification": "Vaja", "items": []}, "items"),
        ({"justification": "Vaja", "items": "grant everything"}, "items"),
        ({"justification": "Vaja"}, "items"),
        ({"items": [{"kind": "create_account"}]}, "justification"),
    ],
)
def test_the_request_itself_must_be_whole(client_for, w, payload, field):
    response = client_for(w.requester).post(REQUESTS, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert_nothing_saved()


def test_a_requester_cannot_file_for_someone_else(client_for, w):
    response = file(client_for(w.requester), benefits(w), person=w.unit_head.pk)
    assert response.status_code == 403
    assert_nothing_saved()


def test_a_caller_without_a_person_record_must_name_the_person(client_for, w):
    stranger = make_user("stranger", AppRole.REQUESTER)
    response = file(client_for(stranger), benefits(w))
    assert response.status_code == 400 and list(response.json()["errors"]) == ["person"]
    assert_nothing_saved()


def test_a_requester_cannot_name_someone_elses_grant(client_for, w):
    theirs = GrantFactory()
    response = file(client_for(w.requester), {"kind": "end_role", "grant": theirs.pk})
    assert response.status_code == 400
    assert "does not exist" in response.json()["errors"]["items[0].grant"][0]


# --- decisions --------------------------------------------------------------------------------


@pytest.fixture
def filed(client_for, w) -> int:
    response = file(client_for(w.requester), benefits(w))
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_reject_with_a_reason(client_for, w, filed):
    head = client_for(w.unit_head_user)
    response = head.post(url(filed, "reject"), {"reason": ""}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["reason"]
    response = head.post(url(filed, "reject"), {"reason": "Pole vaja."}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "rejected" and body["decision_comment"] == "Pole vaja."
    assert {i["state"] for i in body["items"]} == {"rejected"}
    # Decided: no step awaits a decision any more.
    again = head.post(url(filed, "approve"), {}, format="json")
    assert again.status_code == 400 and list(again.json()["errors"]) == ["request"]


def test_return_resubmit_and_cancel(client_for, w, filed):
    head, requester = client_for(w.unit_head_user), client_for(w.requester)
    response = head.post(url(filed, "return"), {"comment": ""}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["comment"]
    response = head.post(url(filed, "return"), {"comment": "Lisa lõppkuupäev."}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "returned"

    response = requester.post(
        url(filed, "resubmit"),
        {"items": [benefits(w, valid_to=later(30).isoformat())]},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "submitted" and body["items"][0]["valid_to"] is not None
    assert [a["decision"] for a in body["approvals"]] == ["pending"]  # the chain starts anew

    assert client_for(w.desk).post(url(filed, "cancel"), {}).status_code == 403  # not the filer
    response = requester.post(url(filed, "cancel"), {"reason": "Ei vaja enam"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    again = requester.post(url(filed, "cancel"), {}, format="json")
    assert again.status_code == 400 and list(again.json()["errors"]) == ["request"]


def test_a_resubmitted_request_is_validated_afresh(client_for, w, filed):
    client_for(w.unit_head_user).post(url(filed, "return"), {"comment": "Muuda"}, format="json")
    response = client_for(w.requester).post(
        url(filed, "resubmit"), {"items": [pension(w, valid_to=None)]}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["items[0].valid_to"]
    assert AccessRequest.objects.get(pk=filed).state == AccessRequest.State.RETURNED


def test_only_the_named_approver_decides(client_for, w, filed):
    other_head = make_user("teine", AppRole.APPROVER, person=PersonFactory())
    for action, data in (
        ("approve", {}),
        ("reject", {"reason": "x"}),
        ("return", {"comment": "x"}),
    ):
        response = client_for(other_head).post(url(filed, action), data, format="json")
        assert response.status_code == 403, action
    # Without the approver's permission at all: refused before anything else.
    response = client_for(w.desk).post(url(filed, "approve"), {}, format="json")
    assert response.status_code == 403
    assert AccessRequest.objects.get(pk=filed).state == AccessRequest.State.SUBMITTED


def test_fulfilling_an_item_not_approved_is_a_400(client_for, w, filed):
    [item] = AccessRequestItem.objects.filter(request_id=filed)
    response = client_for(w.desk).post(f"{ITEMS}{item.pk}/fulfil/", {}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["item"]


# --- who sees what ----------------------------------------------------------------------------


def test_a_requester_sees_only_their_own_requests(client_for, w, filed):
    other = file(client_for(w.desk), benefits(w), person=w.unit_head.pk).json()["id"]
    requester = client_for(w.requester)
    assert ids(requester.get(REQUESTS)) == [filed]
    assert requester.get(url(filed)).status_code == 200
    assert requester.get(url(other)).status_code == 404
    assert requester.post(url(other, "cancel"), {}).status_code == 404
    own_items = ids(requester.get(ITEMS))
    assert set(own_items) == set(
        AccessRequestItem.objects.filter(request_id=filed).values_list("id", flat=True)
    )
    assert set(ids(client_for(w.unit_head_user).get(REQUESTS))) == {filed, other}


def test_requests_filters_and_pages(client_for, w):
    client = client_for(w.desk)
    made = [file(client, benefits(w), person=w.person.pk).json()["id"]]
    AccessRequest.objects.filter(pk=made[0]).update(state=AccessRequest.State.REJECTED)
    for _ in range(6):
        made.append(file(client, benefits(w), person=w.person.pk).json()["id"])
        AccessRequest.objects.filter(pk=made[-1]).update(state=AccessRequest.State.CANCELLED)
    other = file(client, benefits(w), person=w.unit_head.pk).json()["id"]
    assert ids(client.get(REQUESTS, {"state": "submitted"})) == [other]
    assert ids(client.get(f"{REQUESTS}?state=rejected&state=submitted")) == [other, made[0]]
    assert ids(client.get(REQUESTS, {"person": w.unit_head.pk})) == [other]
    pages = walk(client, f"{REQUESTS}?page_size=3")
    assert [pk for page in pages for pk in page] == [other, *reversed(made)]
    assert walk_back(client, f"{REQUESTS}?page_size=3") == pages[::-1]
    items = walk(client, f"{ITEMS}?page_size=3&person={w.person.pk}")
    flat = [pk for page in items for pk in page]
    assert len(flat) == len(set(flat)) == 7 and flat == sorted(flat)


def test_the_request_list_costs_the_same_queries_however_many(client_for, w):
    client = client_for(w.desk)

    def add(n: int) -> None:
        for _ in range(n):
            filed = file(client, benefits(w), pension(w), person=w.person.pk).json()["id"]
            AccessRequest.objects.filter(pk=filed).update(state=AccessRequest.State.CANCELLED)

    client.get(REQUESTS)
    add(1)
    few = query_count(client, REQUESTS)
    add(10)
    many = query_count(client, REQUESTS)
    assert few == many
    assert many <= 7  # authentication, the page, its items and its approval steps
    assert query_count(client, ITEMS) <= 5


def test_a_bad_request_filter_is_a_400(client_for, w):
    response = client_for(w.desk).get(REQUESTS, {"state": "pending", "person": 99999})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"state", "person"}
