"""Loading the demo organisation: the plan written through the actions, so the audit log shows it.

Only the first demo user, `admin`, is written directly — somebody has to hold the right to create
the rest. That step is recorded as a `demo.load` event by the system actor; everything after it
(units, posts, job descriptions, users, persons, unit heads) goes through the ordinary actions
with `admin` as the actor, in one transaction and under one request id. The access part
(catalogue, accounts, grants, absences, requests) follows in the same transaction: see
`access_loader` for who acts there and what is written directly; then the desk part (queues, SLA
policies, routing rules, reply templates, cases): see `desk_loader`.
"""

import time
from typing import Protocol

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import transaction

from tugi.access.models import TargetSystem
from tugi.core import audit, context
from tugi.core.actions import create_user
from tugi.core.roles import ROLE_LABELS, AppRole
from tugi.demo import data
from tugi.demo.access_loader import load_access
from tugi.demo.desk_loader import load_desk
from tugi.demo.plan import DemoPlan, build_plan
from tugi.desk.models import Queue
from tugi.people.actions import (
    create_org_unit,
    create_person,
    create_position,
    save_job_description,
    update_org_unit,
)
from tugi.people.models import OrgUnit, Person, Position


class Writer(Protocol):
    """Anything with write(): a file, sys.stdout or a management command's OutputWrapper."""

    def write(self, msg: str, /) -> object: ...


class DemoConflict(Exception):
    """The database holds data the demo would collide with; nothing was written."""


def is_loaded(plan: DemoPlan | None = None) -> bool:
    """Whether the demo is in the database, recognised by the agency's unit code (SKA)."""
    plan = plan or build_plan()
    return OrgUnit.objects.filter(code=plan.root.code).exists()


def load_demo(stdout: Writer | None = None, plan: DemoPlan | None = None) -> bool:
    """Load the demo unless it is there; print what happened and the demo logins.

    Returns whether anything was loaded. Raises DemoConflict (or ValidationError from an action)
    if the database holds conflicting data; then nothing is saved.
    """
    plan = plan or build_plan()
    started = time.perf_counter()
    # Checked inside the transaction: on SQLite it takes the write lock at BEGIN, so two loaders
    # started at once run one after the other and the second finds the demo there.
    with context.request_scope(), transaction.atomic():
        loaded = not is_loaded(plan)
        if loaded:
            _check_free(plan)
            _load(plan)
    if stdout is not None:
        access = plan.access
        if loaded:
            stdout.write(
                f"Loaded the demo organisation ({plan.root.name}): {len(plan.units)} units, "
                f"{len(plan.positions)} posts with job descriptions, {len(plan.persons)} persons, "
                f"{len(plan.logins)} users; {len(access.systems)} systems with "
                f"{len(access.roles)} roles, {len(access.accounts)} accounts with "
                f"{sum(1 for _ in access.grants())} grants, {len(access.requests)} access "
                f"requests; {len(plan.desk.queues)} desk queues with {len(plan.desk.cases)} "
                f"cases; in {time.perf_counter() - started:.1f} s.\n"
            )
        else:
            stdout.write(
                f"The demo organisation ({plan.root.name}, code {plan.root.code}) is already "
                "loaded; nothing was changed.\n"
            )
        stdout.write(format_logins(plan))
    return loaded


def format_logins(plan: DemoPlan | None = None) -> str:
    """The demo logins as a text table: username, app role, password, and whose they are."""
    plan = plan or build_plan()
    existing = set(
        User.objects.filter(username__in=[x.username for x in plan.logins]).values_list(
            "username", flat=True
        )
    )
    rows = [("username", "role", "password", "person")]
    named = {spec.username for spec in data.LOGINS}
    heads = [login for login in plan.logins if login.username not in named]
    for login in (x for x in plan.logins if x.username in named):
        person = plan.person(login.person)
        position = plan.position(person.position)
        unit = next(u for u in plan.units if u.code == person.unit)
        who = f"{person.full_name}, {position.title} ({unit.name})"
        if login.username not in existing:
            who += "  [user missing]"
        rows.append((login.username, str(ROLE_LABELS[AppRole(login.role)]), plan.password, who))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in rows
    ]
    text = "Demo logins:\n" + "\n".join(f"  {line}" for line in lines) + "\n"
    if heads:
        text += (
            f"  …and {len(heads)} more unit heads as approvers, each with the first part of their"
            f" e-mail as the username (e.g. {heads[0].username}) and the same password.\n"
        )
    return text


def _check_free(plan: DemoPlan) -> None:
    """Refuse, naming what collides, if the demo's usernames, codes or e-mails are taken."""
    problems = []
    usernames = [x.username for x in plan.logins]
    if taken := sorted(
        User.objects.filter(username__in=usernames).values_list("username", flat=True)
    ):
        problems.append(f"usernames taken: {', '.join(taken)}")
    if taken := sorted(
        OrgUnit.objects.filter(code__in=[u.code for u in plan.units]).values_list("code", flat=True)
    ):
        problems.append(f"org unit codes taken: {', '.join(taken)}")
    if taken := sorted(
        Position.objects.filter(code__in=[p.code for p in plan.positions]).values_list(
            "code", flat=True
        )
    ):
        problems.append(f"position codes taken: {', '.join(taken)}")
    if taken := sorted(
        Person.objects.filter(email__in=[p.email for p in plan.persons]).values_list(
            "email", flat=True
        )
    ):
        problems.append(f"e-mails taken: {', '.join(taken[:5])}{' …' if len(taken) > 5 else ''}")
    if taken := sorted(
        TargetSystem.objects.filter(code__in=[x.code for x in plan.access.systems]).values_list(
            "code", flat=True
        )
    ):
        problems.append(f"target system codes taken: {', '.join(taken)}")
    if taken := sorted(
        Queue.objects.filter(code__in=[q.code for q in plan.desk.queues]).values_list(
            "code", flat=True
        )
    ):
        problems.append(f"desk queue codes taken: {', '.join(taken)}")
    missing_groups = {x.role for x in plan.logins} - set(
        Group.objects.values_list("name", flat=True)
    )
    if missing_groups:
        problems.append(f"app-role groups missing (run migrate first): {sorted(missing_groups)}")
    if problems:
        raise DemoConflict(
            "The demo cannot be loaded into this database, nothing was changed: "
            + "; ".join(problems)
            + "."
        )


def _load(plan: DemoPlan) -> None:
    """Write the plan: admin directly, everything else through the actions as admin."""
    # One hash for every demo user: the password is published anyway, and hashing it once
    # instead of per user keeps `tugi demo` fast (each PBKDF2 run costs a quarter second).
    password_hash = make_password(plan.password)
    admin_login = next(x for x in plan.logins if x.role == AppRole.ADMINISTRATOR)
    admin = User.objects.create(
        username=admin_login.username, email=admin_login.person, password=password_hash
    )
    admin.groups.set(Group.objects.filter(name=AppRole.ADMINISTRATOR.value))
    audit.record(
        None,
        "demo.load",
        admin,
        after={
            "admin_user": admin.username,
            "admin_roles": [AppRole.ADMINISTRATOR.value],
            "seed": data.DEMO_SEED,
            "plan_digest": plan.digest(),
            "units": len(plan.units),
            "positions": len(plan.positions),
            "persons": len(plan.persons),
            "users": len(plan.logins),
        },
        basis="tugi demo",
    )

    units: dict[str, OrgUnit] = {}
    for u in plan.units:
        units[u.code] = create_org_unit(
            admin,
            name=u.name,
            name_en=u.name_en,
            code=u.code,
            kind=u.kind,
            parent=units[u.parent] if u.parent else None,
        )
    positions: dict[str, Position] = {
        p.code: create_position(
            admin, title=p.title, title_en=p.title_en, code=p.code, org_unit=units[p.unit]
        )
        for p in plan.positions
    }
    for jd in plan.job_descriptions:
        save_job_description(
            admin,
            position=positions[jd.position],
            valid_from=jd.valid_from,
            directive=jd.directive,
            purpose=jd.purpose,
            duties=[{"description": d, "expected_result": r} for d, r in jd.duties],
            substitutes=[positions[code] for code in jd.substitutes],
            substituted_by=[positions[code] for code in jd.substituted_by],
        )

    users = {admin_login.person: admin}
    for login in plan.logins:
        if login is admin_login:
            continue
        user = create_user(
            admin, username=login.username, password=None, roles=[login.role], email=login.person
        )
        user.password = password_hash
        user.save(update_fields=["password"])
        users[login.person] = user

    persons: dict[str, Person] = {}
    for p in plan.persons:  # in plan order, every manager comes before their reports
        persons[p.email] = create_person(
            admin,
            first_name=p.first_name,
            last_name=p.last_name,
            email=p.email,
            phone=p.phone,
            personal_code=p.personal_code,
            foreign_id_country=p.foreign_id_country,
            foreign_id_code=p.foreign_id_code,
            org_unit=units[p.unit],
            position=positions[p.position],
            manager=persons[p.manager] if p.manager else None,
            employment_start=p.employment_start,
            employment_end=p.employment_end,
            status=p.status,
            user=users.get(p.email),
        )
    for u in plan.units:
        if u.head:
            update_org_unit(admin, units[u.code], head=persons[u.head])

    by_username = {x.username: users[x.person] for x in plan.logins}
    load_access(plan.access, by_username)
    load_desk(plan.desk, by_username)
