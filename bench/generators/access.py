"""Access governance at scale: catalogue, entitlements, accounts, grants with five years of history.

Reads the organisation the people generator wrote (persons, positions, job descriptions and their
duties) and adds, for the same seed, what the desk keeps about access:

- the catalogue: target systems (the agency's own and external registers, named after the demo's)
  and roles per system (the demo's roles first, then generated ones per module), with
  sensitivities, a few delegable ones, end-date rules for the registers, absence suspension;
- entitlements: every job description's duties justify 3–15 roles, drawn from the department's
  field (pensions, family benefits, STAR …) with a Zipf-like skew, so that a few roles are held by
  most of the staff; an older version of a job description differs from the current one by a
  role or two; segregation-of-duties rules are respected by the job descriptions themselves;
- grants over five years (from GO_LIVE to AS_OF): by job description for each period of a
  position and job-description version, renewed chains for roles that need an end date, ended
  when a person moved, left or the job description dropped the role; by approved request (with
  the request, its items and the approval chain); by substitution during absences; suspensions
  during absences; and exactly `scale.grants` of them (requests fill up what the job descriptions
  leave);
- accounts (one per person and system held), users for the approvers (unit heads) and a few
  desk agents who file and fulfil requests, absences.

Deviations are planted at realistic rates, so that compliance has real work: grants left behind
after a move or a job-description change, lapsed grants nobody recorded, a few hundred
segregation-of-duties conflicts (some with an exception), a few hundred leavers whose accounts
are still open, absent persons whose grants were not suspended, substitutions that do not hold.

The data's "now" is AS_OF (noon of REFERENCE_DATE), not the wall clock, so that a (scale, seed)
pair gives the same rows whenever it runs; the compliance benchmarks evaluate at AS_OF too.
`build()` is pure given what `load_inputs()` read, `write()` inserts.
"""

import bisect
import collections
import datetime
import itertools
import random
import zoneinfo
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.models import Group, User
from django.db import DatabaseError, IntegrityError, connection, models, transaction

from bench.generators import names
from bench.generators.base import (
    REFERENCE_DATE,
    GenContext,
    bulk_insert,
    copy_insert,
    first_free_id,
)
from tugi.access.models import (
    AccessRequest,
    AccessRequestItem,
    Account,
    Approval,
    Entitlement,
    Grant,
    GrantSuspension,
    Role,
    SodException,
    SodRule,
    TargetSystem,
)
from tugi.core.roles import AppRole
from tugi.demo import access_data as demo
from tugi.people.models import Absence, Duty, JobDescription, OrgUnit, Person, Position

NAME = "access"
# Raise when the rows this generator writes change: the runner then rebuilds benchmark databases.
VERSION = 1

TALLINN = zoneinfo.ZoneInfo("Europe/Tallinn")
# Tugi's access history starts here: the registry was loaded from the old spreadsheets then.
GO_LIVE = REFERENCE_DATE - datetime.timedelta(days=5 * 365 + 1)
# The data's present: grants "in force", absences "today" and findings are as of this moment.
AS_OF = datetime.datetime.combine(REFERENCE_DATE, datetime.time(12), tzinfo=TALLINN)
TODAY = REFERENCE_DATE

# --- rates (shares of the rows they apply to) -------------------------------------------------

# Skew of the number of roles a job description justifies within scale.roles_per_job: a draw
# u**SKEW over the range, so most job descriptions justify 4–9 roles and a few 15.
ROLES_PER_JOB_SKEW = 1.7
EXTRA_ROLES_FOR_HEADS = 2
# A job description has 0, 1 or 2 roles in external registers (which need an end date).
EXTERNAL_ROLES = ((0, 0.6), (1, 0.3), (2, 0.1))
# Entitled roles the person was never given (the access page shows them as gaps).
GAP_SHARE = 0.04
# Persons who moved from another position during the five years.
MOVER_SHARE = 0.12
# Grants of the old position not ended at a move, roles dropped by a new job-description version
# not ended: compliance finds them unjustified.
MOVE_LEFT_OPEN = 0.03
DROP_LEFT_OPEN = 0.05
# Leavers (left after GO_LIVE) whose accounts and grants nobody closed.
LEAVER_OPEN_SHARE = 0.15
# Temporary grants that lapsed with nobody recording their removal (compliance: past end).
LAPSED_UNRECORDED = 0.03
# Request-based grants without an end date; the rest are temporary.
REQUEST_OPEN_ENDED = 0.45
# Request-based grants whose request item was not approved after all (desk error).
REQUEST_NOT_APPROVED = 0.003
# Requests that never became grants: rejected, expired, cancelled, pending, awaiting fulfilment.
EXTRA_REQUEST_SHARE = 0.06
# Persons holding both roles of an SoD rule (a request granted despite it); some with exception.
SOD_CONFLICT_SHARE = 0.004
SOD_EXCEPTION_SHARE = 0.2
# Absences: persons away today on a short absence (the on-leave persons are away too), persons
# with a long absence and a vacation in the past, planned vacations in the schedule.
ABSENT_TODAY_SHORT = 0.012
PAST_LONG_ABSENCE = 0.08
PAST_VACATION = 0.35
SCHEDULED_VACATION = 0.2
# Absences of two weeks or more get a substitute for the absentee's delegable roles this often.
SUBSTITUTED = 0.6
EXCLUSIVE_SUBSTITUTION = 0.5
# Grants of "suspend during absence" roles actually suspended while the holder is away.
SUSPENDED_WHEN_ABSENT = 0.85
MISC_SUSPENSION = 0.002
DESK_AGENTS = 12

# --- the catalogue ------------------------------------------------------------------------------

# The agency's systems and the registers, as in the demo, plus the document management system.
_DELTA = demo.SystemSpec(
    "DELTA",
    "Delta – dokumendihaldussüsteem",
    "Delta – document management system",
    demo.INTERNAL,
    "",
    f"dokumendihaldus@{names.EMAIL_DOMAIN}",
    "Nimi, isikukood, struktuuriüksus, rollid ja põhjendus.",
    "Ameti dokumendiregister: kirjavahetus, lepingud, käskkirjad ja arhiiv.",
)
SYSTEM_SPECS = (*demo.SYSTEMS, _DELTA)
# Share of the roles each system has.
SYSTEM_WEIGHTS = {
    "SKAIS2": 0.40,
    "STAR": 0.12,
    "SKAIS1": 0.07,
    "DELTA": 0.08,
    "RR": 0.05,
    "AR": 0.04,
    "EESSI": 0.05,
    "TK": 0.05,
    "TEK": 0.06,
    "MTA": 0.08,
}
# Modules of the internal systems: (name, English name, code); generated roles are per module.
MODULES = {
    "SKAIS2": [
        ("pensionid", "pensions", "PEN"),
        ("hüvitised", "benefits", "HYV"),
        ("perehüvitised", "family benefits", "PHV"),
        ("elatisabi", "maintenance support", "EA"),
        ("puude raskusastme tuvastamine", "disability assessment", "PUUE"),
        ("töövõime hindamine", "work ability assessment", "TV"),
        ("abivahendid", "assistive devices", "AV"),
        ("rehabilitatsioon", "rehabilitation", "REH"),
        ("ohvriabi", "victim support", "OA"),
        ("EL sotsiaalkindlustuse koordineerimine", "EU coordination", "EU"),
        ("maksed ja finants", "payments and finance", "FIN"),
        ("üldine", "general", "GEN"),
        ("administreerimine", "administration", "ADM"),
    ],
    "SKAIS1": [
        ("pensionid", "pensions", "PEN"),
        ("perehüvitised", "family benefits", "PHV"),
        ("arhiiv", "archive", "ARH"),
    ],
    "STAR": [
        ("kohalik omavalitsus", "local government", "KOV"),
        ("teenuseosutaja", "service provider", "SP"),
        ("Sotsiaalkindlustusamet", "agency", "SKA"),
        ("lastekaitse", "child protection", "LK"),
        ("erihoolekanne", "special welfare", "EHK"),
    ],
    "DELTA": [
        ("dokumendid", "documents", "DOK"),
        ("lepingud", "contracts", "LEP"),
        ("kirjavahetus", "correspondence", "KIRI"),
        ("arhiiv", "archive", "ARH"),
    ],
    "EESSI": [("", "", "")],
}
# What a generated role does in its module: (code, Estonian, English).
TEMPLATES = [
    ("PROC", "menetleja", "case handler"),
    ("VIEW", "vaataja", "viewer"),
    ("SENIOR", "vanemmenetleja", "senior case handler"),
    ("DECIDE", "otsuste kinnitaja", "decision approver"),
    ("EDIT", "andmete muutja", "data editor"),
    ("QA", "kvaliteedikontrollija", "quality reviewer"),
    ("REPORT", "aruannete koostaja", "report author"),
    ("RECOVER", "tagasinõuete menetleja", "recovery claims handler"),
    ("EXTRACT", "väljavõtete väljastaja", "extract issuer"),
    ("SUPERVISE", "järelevalvaja", "supervisor"),
    ("ARCHIVE", "arhiivi vaataja", "archive viewer"),
    ("CLASSIF", "klassifikaatorite haldaja", "classifier maintainer"),
]
# Registers: what can be queried, per register; roles there need an end date (max days).
DATASETS = {
    "RR": (
        365,
        demo.PERSONAL,
        [
            ("Elukoha andmete päring", "Residence data query"),
            ("Perekonnaseisu andmete päring", "Civil status data query"),
            ("Surmaandmete päring", "Death data query"),
            ("Esindusõiguse päring", "Representation rights query"),
            ("Isikuandmete ajaloo päring", "Personal data history query"),
            ("Välismaalaste andmete päring", "Foreign nationals data query"),
        ],
    ),
    "AR": (
        730,
        demo.NORMAL,
        [
            ("Juhatuse liikmete päring", "Board members query"),
            ("Majandusaasta aruannete päring", "Annual reports query"),
            ("Tegelike kasusaajate päring", "Beneficial owners query"),
        ],
    ),
    "TK": (
        365,
        demo.PERSONAL,
        [
            ("Töötuna arveloleku päring", "Unemployment registration query"),
            ("Tööturuteenuste päring", "Labour market services query"),
            ("Töövõimetoetuse maksete päring", "Work ability allowance payments query"),
        ],
    ),
    "TEK": (
        365,
        demo.HEALTH,
        [
            ("Ravikindlustuse kehtivuse päring", "Health insurance validity query"),
            ("Diagnooside päring", "Diagnoses query"),
            ("Ravijuhtude päring", "Treatment episodes query"),
        ],
    ),
    "MTA": (
        730,
        demo.PERSONAL,
        [
            ("Töötamise registri päring", "Employment register query"),
            ("Deklareeritud tulude päring", "Declared income query"),
            ("Maksuvõlgade päring", "Tax arrears query"),
        ],
    ),
}
_MODULE_CODE = {(s, name): code for s, mods in MODULES.items() for name, _en, code in mods}
_HEALTH_MODULES = {"PUUE", "TV", "REH", "AV"}

# Each department's fields (system:module), the primary one first, and the registers it uses;
# by the department's place in bench.generators.names.DEPARTMENTS.
DEPARTMENT_FIELDS: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (("SKAIS2:PEN", "SKAIS1:PEN"), ("MTA", "RR")),  # pensions
    (("SKAIS2:PHV", "SKAIS2:EA", "SKAIS1:PHV"), ("RR",)),  # family benefits
    (("SKAIS2:TV",), ("TK", "TEK")),  # work ability
    (("SKAIS2:PUUE", "SKAIS2:AV"), ("TEK", "RR")),  # disability
    (("SKAIS2:GEN", "SKAIS2:HYV"), ("RR",)),  # customer service
    (("STAR:SKA", "STAR:KOV", "SKAIS2:REH"), ("RR",)),  # welfare
    (("SKAIS2:OA", "STAR:SKA"), ("RR",)),  # victim support
    (("STAR:LK", "STAR:KOV"), ("RR",)),  # child protection
    (("SKAIS2:EU", "EESSI:"), ("RR",)),  # international
    (("SKAIS2:GEN", "DELTA:LEP"), ("AR", "RR")),  # legal
    (("SKAIS2:FIN",), ("AR", "MTA")),  # finance
    (("DELTA:DOK", "DELTA:LEP"), ("RR",)),  # human resources
    (("SKAIS2:ADM", "STAR:SKA"), ()),  # IT
    (("SKAIS2:ADM", "SKAIS1:ARH"), ()),  # application support
    (("SKAIS2:ADM",), ()),  # data protection
    (("SKAIS2:GEN", "SKAIS1:ARH"), ("MTA", "TK")),  # analysis
    (("DELTA:KIRI",), ()),  # communication
    (("SKAIS2:FIN", "SKAIS2:ADM"), ("AR",)),  # internal audit
    (("DELTA:LEP",), ("AR",)),  # procurement
    (("DELTA:ARH", "DELTA:DOK"), ()),  # records management
    (("STAR:EHK", "SKAIS2:REH"), ("TEK",)),  # special welfare
    (("SKAIS2:FIN", "SKAIS2:EU", "EESSI:"), ("RR",)),  # foreign payments
    (("SKAIS2:HYV", "STAR:SP"), ("AR",)),  # supervision
    (("SKAIS2:ADM", "SKAIS2:GEN"), ()),  # development
]
AGENCY_FIELDS = (("SKAIS2:GEN", "DELTA:DOK"), ())

# Why grants ended (Grant.ended_reason); empty means it lapsed on its own date.
ENDED_LEFT = "Töösuhe lõppes"
ENDED_MOVED = "Ametikoha vahetus"
ENDED_JD_CHANGED = "Ametijuhend muutus: roll ei ole enam õigustatud"
ENDED_TERM = "Tähtaeg saabus; õigus eemaldati süsteemist"
ENDED_SUBSTITUTION = "Asendamine lõppes"


# --- rows -------------------------------------------------------------------------------------


def _row_type(model: type[models.Model]) -> Any:
    """A light row (a named tuple of the model's columns) for copy_insert: no model instances.

    copy_insert reads each column with the field's pre_save, which is a plain attribute read for
    every field here (auto_now_add is switched off while writing, see `_given_timestamps`).
    Building a million model instances would cost more than writing them.
    """
    names = [f.attname for f in model._meta.concrete_fields]
    return collections.namedtuple(f"{model.__name__}Row", names)


UserGroup = User.groups.through
SystemRow = _row_type(TargetSystem)
RoleRow = _row_type(Role)
EntitlementRow = _row_type(Entitlement)
AccountRow = _row_type(Account)
RequestRow = _row_type(AccessRequest)
ItemRow = _row_type(AccessRequestItem)
ApprovalRow = _row_type(Approval)
GrantRow = _row_type(Grant)
# `_Builder.grant` fills grant rows by position, for speed: it must follow the model's columns.
assert GrantRow._fields == (
    "id",
    "account_id",
    "role_id",
    "person_id",
    "valid_from",
    "valid_to",
    "basis",
    "basis_duty_id",
    "basis_item_id",
    "acting_for_id",
    "substitution_id",
    "created_at",
    "ended_reason",
), f"Grant's columns changed: update _Builder.grant ({GrantRow._fields})"
SuspensionRow = _row_type(GrantSuspension)
SodRuleRow = _row_type(SodRule)
SodExceptionRow = _row_type(SodException)
AbsenceRow = _row_type(Absence)


@dataclass(frozen=True)
class FirstIds:
    """The first id each table's rows get (1 on an empty database)."""

    system: int = 1
    role: int = 1
    entitlement: int = 1
    account: int = 1
    request: int = 1
    item: int = 1
    approval: int = 1
    grant: int = 1
    suspension: int = 1
    sod_rule: int = 1
    sod_exception: int = 1
    absence: int = 1
    user: int = 1
    user_group: int = 1

    @classmethod
    def from_database(cls) -> "FirstIds":
        return cls(
            system=first_free_id(TargetSystem),
            role=first_free_id(Role),
            entitlement=first_free_id(Entitlement),
            account=first_free_id(Account),
            request=first_free_id(AccessRequest),
            item=first_free_id(AccessRequestItem),
            approval=first_free_id(Approval),
            grant=first_free_id(Grant),
            suspension=first_free_id(GrantSuspension),
            sod_rule=first_free_id(SodRule),
            sod_exception=first_free_id(SodException),
            absence=first_free_id(Absence),
            user=first_free_id(User),
            user_group=first_free_id(UserGroup),
        )


@dataclass(frozen=True)
class PersonIn:
    """A person as the people generator made them."""

    id: int
    unit_id: int
    position_id: int | None
    manager_id: int | None
    status: str
    start: datetime.date
    end: datetime.date | None
    email: str
    first_name: str
    last_name: str
    user_id: int | None


@dataclass
class Inputs:
    """What the access data is built on, read from the database (`load_inputs`)."""

    persons: list[PersonIn]
    # unit id → (department index or -1 for the agency, head person id, depth)
    units: dict[int, tuple[int, int | None, int]]
    # position id → unit id
    positions: dict[int, int]
    # position id → [(valid_from, job description id, [duty ids])], oldest first
    job_descriptions: dict[int, list[tuple[datetime.date, int, list[int]]]]
    # app role (group name) → group id
    groups: dict[str, int] = field(default_factory=dict)


def load_inputs() -> Inputs:
    """Read the organisation (a few queries; 100,000 persons fit in memory easily)."""
    units_raw = list(OrgUnit.objects.order_by("id").values_list("id", "path", "kind", "head_id"))
    departments = [uid for uid, _p, kind, _h in units_raw if kind == OrgUnit.Kind.DEPARTMENT]
    dept_index = {uid: i for i, uid in enumerate(departments)}
    units: dict[int, tuple[int, int | None, int]] = {}
    for uid, path, _kind, head_id in units_raw:
        parts = [int(p) for p in path.strip("/").split("/")]
        dept = dept_index.get(parts[1], -1) if len(parts) > 1 else -1
        units[uid] = (dept, head_id, len(parts) - 1)
    positions = dict(Position.objects.order_by("id").values_list("id", "org_unit_id"))
    duties: dict[int, list[int]] = collections.defaultdict(list)
    for duty_id, jd_id in Duty.objects.order_by("id").values_list("id", "job_description_id"):
        duties[jd_id].append(duty_id)
    jds: dict[int, list[tuple[datetime.date, int, list[int]]]] = collections.defaultdict(list)
    for jd_id, position_id, valid_from in JobDescription.objects.order_by(
        "position_id", "valid_from", "id"
    ).values_list("id", "position_id", "valid_from"):
        if duties[jd_id]:
            jds[position_id].append((valid_from, jd_id, duties[jd_id]))
    persons = [
        PersonIn(*row)
        for row in Person.objects.order_by("id").values_list(
            "id",
            "org_unit_id",
            "position_id",
            "manager_id",
            "status",
            "employment_start",
            "employment_end",
            "email",
            "first_name",
            "last_name",
            "user_id",
        )
    ]
    return Inputs(
        persons=persons,
        units=units,
        positions=positions,
        job_descriptions=dict(jds),
        groups=dict(Group.objects.values_list("name", "id")),
    )


@dataclass
class AccessPlan:
    """Rows with their ids, ready to insert."""

    users: list[User] = field(default_factory=list)
    user_groups: list = field(default_factory=list)
    head_users: list[tuple[int, int]] = field(default_factory=list)  # (person id, user id)
    systems: list = field(default_factory=list)
    roles: list = field(default_factory=list)
    entitlements: list = field(default_factory=list)
    sod_rules: list = field(default_factory=list)
    sod_exceptions: list = field(default_factory=list)
    accounts: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    items: list = field(default_factory=list)
    approvals: list = field(default_factory=list)
    grants: list = field(default_factory=list)
    suspensions: list = field(default_factory=list)
    absences: list = field(default_factory=list)


def generate(ctx: GenContext) -> dict[str, int]:
    """Build the access data on the organisation in the database and insert it."""
    plan = build(ctx.scale, ctx.seed, load_inputs(), FirstIds.from_database())
    return write(plan)


@contextmanager
def _given_timestamps(*fields: models.DateTimeField) -> Iterator[None]:
    """Write the generated `created_at` values instead of the moment of insertion."""
    saved = [f.auto_now_add for f in fields]
    try:
        for f in fields:
            f.auto_now_add = False
        yield
    finally:
        for f, value in zip(fields, saved, strict=True):
            f.auto_now_add = value


CHUNK = 100_000
# Every table `write` fills or changes (persons get their users).
WRITTEN: tuple[type[models.Model], ...] = (
    Person,
    TargetSystem,
    Role,
    Entitlement,
    SodRule,
    Account,
    AccessRequest,
    AccessRequestItem,
    Approval,
    Grant,
    GrantSuspension,
    SodException,
    Absence,
)


@contextmanager
def _foreign_keys_checked_at_once(written: Sequence[type[models.Model]]) -> Iterator[None]:
    """PostgreSQL: check the foreign keys of the new rows with one query per key, not per row.

    Django's foreign keys are deferred constraints, checked by a trigger per row and key at
    commit: for a million grants with six keys that is most of the load's time. Where the user
    may (a superuser, as on a developer's or CI's server), the triggers are skipped for this
    transaction (`session_replication_role = replica`; CHECK and UNIQUE constraints still
    apply) and every key is then checked by an anti-join, which fails the load as the
    constraint would. Elsewhere nothing changes.
    """
    if connection.vendor != "postgresql":
        yield
        return
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        yield  # not allowed: the constraint triggers check each row at commit, as usual
        return
    yield
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in written:
            for f in model._meta.concrete_fields:
                if not f.is_relation or not f.db_constraint:
                    continue
                target = f.target_field
                child, parent = quote(model._meta.db_table), quote(target.model._meta.db_table)
                column, key = quote(f.column), quote(target.column)
                cursor.execute(
                    f"SELECT c.{column} FROM {child} c WHERE c.{column} IS NOT NULL"
                    f" AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{key} = c.{column})"
                    " LIMIT 1"
                )
                missing = cursor.fetchone()
                if missing is not None:
                    raise IntegrityError(
                        f"{model._meta.db_table}.{f.column} = {missing[0]} has no"
                        f" {target.model._meta.db_table} row"
                    )
        cursor.execute("SET LOCAL session_replication_role = origin")


@contextmanager
def _large_cache() -> Iterator[None]:
    """SQLite: a page cache large enough for the grant table's indexes while they fill.

    With the default 2 MB, inserting a million grants (nine indexes) evicts and rereads index
    pages all the time and takes several times longer. PostgreSQL needs nothing.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        [(saved,)] = cursor.fetchall()
        cursor.execute("PRAGMA cache_size = -1000000")  # KiB: about 1 GB, released afterwards
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(saved)}")


def _copy(model: type[models.Model], rows: Sequence[Any]) -> int:
    for start in range(0, len(rows), CHUNK):
        copy_insert(model, rows[start : start + CHUNK])
    return len(rows)


def write(plan: AccessPlan) -> dict[str, int]:
    """Insert a plan in one transaction (foreign keys are deferred, so the order is free)."""
    stamped = [m._meta.get_field("created_at") for m in (Grant, AccessRequest, SodException)]
    with (
        transaction.atomic(),
        _given_timestamps(*stamped),
        _large_cache(),
        _foreign_keys_checked_at_once(WRITTEN),
    ):
        counts = {"users": bulk_insert(User, plan.users)}
        bulk_insert(UserGroup, plan.user_groups)
        for person_id, user_id in plan.head_users:
            Person.objects.filter(pk=person_id, user=None).update(user_id=user_id)
        counts.update(
            {
                "target systems": _copy(TargetSystem, plan.systems),
                "roles": _copy(Role, plan.roles),
                "entitlements": _copy(Entitlement, plan.entitlements),
                "SoD rules": _copy(SodRule, plan.sod_rules),
                "accounts": _copy(Account, plan.accounts),
                "access requests": _copy(AccessRequest, plan.requests),
                "request items": _copy(AccessRequestItem, plan.items),
                "approvals": _copy(Approval, plan.approvals),
                "grants": _copy(Grant, plan.grants),
                "suspensions": _copy(GrantSuspension, plan.suspensions),
                "SoD exceptions": _copy(SodException, plan.sod_exceptions),
                "absences": _copy(Absence, plan.absences),
            }
        )
    return counts


# --- time -------------------------------------------------------------------------------------

_UTC = datetime.UTC
_midnights: dict[int, datetime.datetime] = {}


def midnight(day: datetime.date) -> datetime.datetime:
    """The start of a day in Tallinn, as an aware UTC datetime (cached: days repeat a lot)."""
    ordinal = day.toordinal()
    found = _midnights.get(ordinal)
    if found is None:
        found = datetime.datetime.combine(day, datetime.time(), tzinfo=TALLINN).astimezone(_UTC)
        _midnights[ordinal] = found
    return found


def office(day: datetime.date, rng: random.Random) -> datetime.datetime:
    """A moment in office hours (08:00–17:00) of the day."""
    return midnight(day) + datetime.timedelta(minutes=480 + rng.randrange(540))


def end_of(day: datetime.date) -> datetime.datetime:
    """The exclusive end of a day: "until 31.12." lasts through that day."""
    return midnight(day + datetime.timedelta(days=1))


def _days(n: float) -> datetime.timedelta:
    return datetime.timedelta(days=n)


AS_OF_UTC = AS_OF.astimezone(_UTC)


# --- the build --------------------------------------------------------------------------------


@dataclass
class _Role:
    id: int
    system: str
    system_id: int
    field: str  # "SYSTEM:MODULECODE"
    sensitive: bool
    delegable: bool
    requires_end: bool
    max_days: int | None
    suspend: bool
    external: bool


@dataclass(frozen=True)
class _Pool:
    """The roles a unit's job descriptions draw from, with cumulative Zipf weights."""

    internal: list[int]
    cumulative: list[float]
    external: list[int]
    external_cumulative: list[float]

    def draw(self, rng: random.Random) -> int:
        return rng.choices(self.internal, cum_weights=self.cumulative)[0]

    def draw_external(self, rng: random.Random) -> int:
        return rng.choices(self.external, cum_weights=self.external_cumulative)[0]


@dataclass
class _Hold:
    """A grant as the build tracks it for a person: enough to find what was held when."""

    index: int  # into plan.grants
    role: int
    start: datetime.datetime
    stop: datetime.datetime | None
    acting_for: int | None


class _Builder:
    """One build: the id counters, the random streams and the rows made so far."""

    def __init__(self, scale: Any, seed: int, inputs: Inputs, first: FirstIds) -> None:
        self.scale = scale
        self.ctx = GenContext(scale, seed)
        self.inputs = inputs
        self.plan = AccessPlan()
        self.ids = {
            name: itertools.count(getattr(first, name)) for name in FirstIds.__annotations__
        }
        self.persons = {p.id: p for p in inputs.persons}
        self.roles: list[_Role] = []
        self.role_by_id: dict[int, _Role] = {}
        self.system_ids: dict[str, int] = {}
        self.system_owner: dict[int, int] = {}  # system id → owner person id
        self.partners: dict[int, set[int]] = collections.defaultdict(set)  # SoD partners
        self.rules: list[tuple[int, int, int]] = []  # (rule id, role a, role b)
        # position → [(valid_from, jd id, {role: duty})]
        self.job_roles: dict[int, list[tuple[datetime.date, int, dict[int, int]]]] = {}
        self.pools: dict[int, _Pool] = {}
        self.grant_ids = self.ids["grant"]
        self.item_periods: dict[int, tuple[datetime.datetime, datetime.datetime | None]] = {}
        self.accounts: dict[tuple[int, int], list[Any]] = {}  # (person, system) → record
        self.holds: dict[int, list[_Hold]] = collections.defaultdict(list)
        self.user_of: dict[int, int] = {}  # person id → user id
        self.desk_users: list[int] = []
        self.leaver_open: set[int] = set()
        self.access: dict[int, tuple[datetime.date, datetime.date | None]] = {}

    def next(self, table: str) -> int:
        return next(self.ids[table])

    # --- catalogue --------------------------------------------------------------------------

    def catalogue(self) -> None:
        rng = self.ctx.rng("access.catalogue")
        # Owners are heads of departments (they sign in: `users` gives them a user).
        heads = sorted({h for _d, h, depth in self.inputs.units.values() if depth == 1 and h})
        specs = SYSTEM_SPECS[: self.scale.systems]
        for spec in specs:
            system_id = self.next("system")
            self.system_ids[spec.code] = system_id
            owner = rng.choice(heads) if heads else None
            if owner is not None:
                self.system_owner[system_id] = owner
            self.plan.systems.append(
                SystemRow(
                    id=system_id,
                    code=spec.code,
                    name=spec.name,
                    name_en=spec.name_en,
                    kind=spec.kind,
                    description=spec.description,
                    owner_id=owner,
                    connector_kind=TargetSystem.Connector.MANUAL,
                    contact_channel=spec.contact_channel,
                    application_requirements=spec.application_requirements,
                    active=True,
                )
            )
        weights = {s.code: SYSTEM_WEIGHTS.get(s.code, 0.05) for s in specs}
        total = sum(weights.values())
        quota = {code: max(1, round(self.scale.roles * w / total)) for code, w in weights.items()}
        # Make the quotas add up exactly, taking from or giving to the largest system.
        largest = max(quota, key=lambda c: quota[c])
        quota[largest] += self.scale.roles - sum(quota.values())
        for spec in specs:
            self._roles_of(spec.code, quota[spec.code], rng)

    def _roles_of(self, system: str, n: int, rng: random.Random) -> None:
        codes: set[str] = set()
        made = 0
        for spec in demo.ROLES:
            if made >= n:
                return
            if spec.system != system:
                continue
            if spec.system in DATASETS:
                module_field = f"{system}:"
            elif spec.module:
                module_field = f"{system}:{_MODULE_CODE.get((system, spec.module), '')}"
            else:
                module_field = f"{system}:{MODULES[system][0][2]}"
            self._add_role(
                system,
                spec.code,
                spec.name,
                spec.name_en,
                spec.module,
                module_field,
                spec.sensitivity,
                spec.description,
                delegable=spec.delegable,
                requires_end=spec.requires_end_date,
                max_days=spec.max_duration_days,
                suspend=spec.suspend_during_absence,
            )
            codes.add(spec.code)
            made += 1
        generated = self._generated_specs(system)
        for code, name, name_en, module, module_field, sensitivity, max_days in generated:
            if made >= n:
                return
            if code in codes:
                continue
            codes.add(code)
            is_register = system in DATASETS
            kind = code.rsplit("_", 1)[-1]
            self._add_role(
                system,
                code,
                name,
                name_en,
                module,
                module_field,
                sensitivity,
                "",
                delegable=not is_register and rng.random() < 0.04,
                requires_end=is_register or rng.random() < 0.03,
                max_days=max_days if is_register else 180,
                suspend=kind in ("DECIDE", "EDIT", "EXTRACT") and rng.random() < 0.35,
            )
            made += 1

    def _generated_specs(self, system: str) -> Iterator[tuple[Any, ...]]:
        if system in DATASETS:
            max_days, sensitivity, datasets = DATASETS[system]
            for round_ in itertools.count():
                suffix = ("", " (laiendatud)", " (ajalugu)", " (massipäring)")[round_ % 4]
                suffix_en = ("", " (extended)", " (history)", " (bulk)")[round_ % 4]
                for i, (name, name_en) in enumerate(datasets):
                    yield (
                        f"Q{round_ + 1}_{i + 1:02d}",
                        f"{name}{suffix}",
                        f"{name_en}{suffix_en}",
                        "",
                        f"{system}:",
                        sensitivity,
                        max_days,
                    )
        mods = MODULES[system]
        for round_ in itertools.count():
            for t_code, t_name, t_en in TEMPLATES:
                for name, name_en, m_code in mods:
                    base = f"{m_code}_{t_code}" if m_code else t_code
                    code = base if round_ == 0 else f"{base}_{round_ + 1}"
                    if system == "DELTA" or t_code == "REPORT":
                        sensitivity = demo.NORMAL
                    elif m_code == "ADM" or t_code == "CLASSIF":
                        sensitivity = demo.ADMIN
                    elif m_code == "PEN":
                        sensitivity = demo.PENSION
                    elif m_code in _HEALTH_MODULES:
                        sensitivity = demo.HEALTH
                    else:
                        sensitivity = demo.PERSONAL
                    label = name[:1].upper() + name[1:] if name else system
                    label_en = name_en[:1].upper() + name_en[1:] if name_en else system
                    extra = f" {round_ + 1}" if round_ else ""
                    yield (
                        code,
                        f"{label}: {t_name}{extra}",
                        f"{label_en}: {t_en}{extra}",
                        name,
                        f"{system}:{m_code}",
                        sensitivity,
                        None,
                    )

    def _add_role(
        self,
        system: str,
        code: str,
        name: str,
        name_en: str,
        module: str,
        module_field: str,
        sensitivity: str,
        description: str,
        *,
        delegable: bool,
        requires_end: bool,
        max_days: int | None,
        suspend: bool,
    ) -> None:
        role_id = self.next("role")
        system_id = self.system_ids[system]
        if requires_end and not max_days:
            max_days = 365
        self.plan.roles.append(
            RoleRow(
                id=role_id,
                system_id=system_id,
                code=code,
                name=name[:200],
                name_en=name_en[:200],
                module=module,
                description=description,
                sensitivity=sensitivity,
                delegable=delegable,
                requires_end_date=requires_end,
                max_duration_days=max_days,
                suspend_during_absence=suspend,
                active=True,
            )
        )
        role = _Role(
            id=role_id,
            system=system,
            system_id=system_id,
            field=module_field,
            sensitive=sensitivity != demo.NORMAL,
            delegable=delegable,
            requires_end=requires_end,
            max_days=max_days,
            suspend=suspend,
            external=system in DATASETS,
        )
        self.roles.append(role)
        self.role_by_id[role_id] = role

    # --- fields, job descriptions, SoD rules --------------------------------------------------

    def fields(self) -> None:
        self.by_field: dict[str, list[int]] = collections.defaultdict(list)
        for role in self.roles:
            self.by_field[role.field].append(role.id)
        by_code = {
            (r.system, c.code): r.id for r, c in zip(self.roles, self.plan.roles, strict=True)
        }
        self.role_names = {c.id: c.name for c in self.plan.roles}
        delta = self.by_field.get("DELTA:DOK", [])
        client = by_code.get(("SKAIS2", "CLIENT_VIEW"))
        # Roles (nearly) every job description has: documents, the client data view.
        self.commons: list[tuple[int, float]] = []
        if delta:
            self.commons.append((delta[0], 0.9))
        if client is not None:
            self.commons.append((client, 0.55))
        self.common_ids = {r for r, _p in self.commons}
        self.internal = [r.id for r in self.roles if not r.external]

    def sod_rules(self) -> None:
        rng = self.ctx.rng("access.sod")
        by_code = {
            (r.system, c.code): r.id for r, c in zip(self.roles, self.plan.roles, strict=True)
        }
        pairs: list[tuple[int, int, str, str]] = []
        for spec in demo.SOD_RULES:
            a = by_code.get(tuple(spec.role_a.split(":")))  # type: ignore[arg-type]
            b = by_code.get(tuple(spec.role_b.split(":")))  # type: ignore[arg-type]
            if a is not None and b is not None:
                pairs.append((a, b, spec.name, spec.description))
        # Then pairs of the popular roles of one field (those a job description would combine).
        candidates = [
            (f, [r for r in ids if r not in self.common_ids][:6])
            for f, ids in sorted(self.by_field.items())
            if f.split(":")[0] not in DATASETS
        ]
        candidates = [(f, ids) for f, ids in candidates if len(ids) >= 3]
        taken = {(a, b) for a, b, _n, _d in pairs}
        attempts = 0
        while len(pairs) < self.scale.sod_rules and candidates and attempts < 10_000:
            attempts += 1
            _f, ids = rng.choice(candidates)
            a, b = sorted(rng.sample(ids, 2))
            if (a, b) in taken or (b, a) in taken:
                continue
            taken.add((a, b))
            pairs.append(
                (
                    a,
                    b,
                    f"{self.role_names[a]} / {self.role_names[b]}"[:200],
                    "Üks inimene ei tohi mõlemat rolli korraga omada (nelja silma põhimõte).",
                )
            )
        for a, b, name, description in pairs[: self.scale.sod_rules]:
            rule_id = self.next("sod_rule")
            self.plan.sod_rules.append(
                SodRuleRow(
                    id=rule_id,
                    name=name,
                    description=description,
                    role_a_id=a,
                    role_b_id=b,
                    active=True,
                )
            )
            self.rules.append((rule_id, a, b))
            self.partners[a].add(b)
            self.partners[b].add(a)

    def _department_fields(self, unit_id: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
        dept = self.inputs.units[unit_id][0]
        if dept < 0:
            return AGENCY_FIELDS
        return DEPARTMENT_FIELDS[dept % len(DEPARTMENT_FIELDS)]

    def _pool(self, unit_id: int) -> "_Pool":
        """Internal roles of the unit's fields and registers it uses, with Zipf weights."""
        found = self.pools.get(unit_id)
        if found is not None:
            return found
        fields, registers = self._department_fields(unit_id)
        pool, weights = [], []
        for rank, f in enumerate(fields):
            field_weight = 3.0 if rank == 0 else 1.5
            for i, role_id in enumerate(self.by_field.get(f, [])):
                if role_id in self.common_ids:
                    continue
                pool.append(role_id)
                weights.append(field_weight / (i + 1))
        ext, ext_weights = [], []
        for register in registers:
            for i, role_id in enumerate(self.by_field.get(f"{register}:", [])):
                ext.append(role_id)
                ext_weights.append(1 / (i + 1))
        found = _Pool(
            pool, list(itertools.accumulate(weights)), ext, list(itertools.accumulate(ext_weights))
        )
        self.pools[unit_id] = found
        return found

    def job_descriptions(self) -> None:
        """The roles each job description's duties justify (Entitlement rows)."""
        rng = self.ctx.rng("access.jobs")
        lo, hi = self.scale.roles_per_job
        head_positions = {
            self.persons[h].position_id
            for _d, h, _depth in self.inputs.units.values()
            if h is not None and h in self.persons
        }
        for position_id in sorted(self.inputs.job_descriptions):
            versions = self.inputs.job_descriptions[position_id]
            pool = self._pool(self.inputs.positions[position_id])
            extra = EXTRA_ROLES_FOR_HEADS if position_id in head_positions else 0
            made: list[tuple[datetime.date, int, dict[int, int]]] = []
            previous: list[int] | None = None
            for valid_from, jd_id, duty_ids in versions:
                if previous is None:
                    k = lo + int((hi - lo + 1) * rng.random() ** ROLES_PER_JOB_SKEW) + extra
                    roles = self._draw_job_roles(rng, k, pool)
                else:
                    roles = self._revise(rng, previous, pool)
                previous = roles
                justified = {}
                for role_id in roles:
                    duty_id = rng.choice(duty_ids)
                    justified[role_id] = duty_id
                    self.plan.entitlements.append(
                        EntitlementRow(
                            id=self.next("entitlement"), duty_id=duty_id, role_id=role_id
                        )
                    )
                made.append((valid_from, jd_id, justified))
            self.job_roles[position_id] = made

    def _conflicts(self, role_id: int, chosen: Sequence[int]) -> bool:
        partners = self.partners.get(role_id)
        return bool(partners) and any(r in partners for r in chosen)

    def _draw_job_roles(self, rng: random.Random, k: int, pool: "_Pool") -> list[int]:
        chosen: list[int] = [r for r, p in self.commons if rng.random() < p]
        n_ext = rng.choices([n for n, _w in EXTERNAL_ROLES], [w for _n, w in EXTERNAL_ROLES])[0]
        for _ in range(min(n_ext, len(pool.external))):
            role_id = pool.draw_external(rng)
            if role_id not in chosen:
                chosen.append(role_id)
        attempts = 0
        while len(chosen) < k and attempts < 20 * k:
            attempts += 1
            if attempts > 10 * k or not pool.internal:  # the fields are exhausted: any role
                role_id = rng.choice(self.internal)
            else:
                role_id = pool.draw(rng)
            if role_id in chosen or self._conflicts(role_id, chosen):
                continue
            if self.role_by_id[role_id].requires_end:
                continue  # temporary by nature: granted on request, not by job description
            chosen.append(role_id)
        return chosen

    def _revise(self, rng: random.Random, previous: list[int], pool: "_Pool") -> list[int]:
        """A newer version: a role or two dropped, a role or two added."""
        roles = list(previous)
        droppable = [r for r in roles if r not in self.common_ids]
        for role_id in rng.sample(droppable, max(0, min(len(droppable) - 2, rng.randint(0, 2)))):
            roles.remove(role_id)
        for _ in range(rng.randint(1, 2)):
            if not pool.internal:
                break
            role_id = pool.draw(rng)
            if self.role_by_id[role_id].requires_end:
                continue
            if role_id not in roles and not self._conflicts(role_id, roles):
                roles.append(role_id)
        return roles

    # --- users ------------------------------------------------------------------------------

    def users(self) -> None:
        """Heads sign in to approve; desk agents file requests for staff and fulfil them."""
        heads = sorted({h for _d, h, _depth in self.inputs.units.values() if h is not None})
        owners = set(self.system_owner.values())
        for i in range(DESK_AGENTS):
            user_id = self.next("user")
            self.desk_users.append(user_id)
            self._member(user_id, AppRole.DESK_AGENT)
            self.plan.users.append(
                User(
                    id=user_id,
                    username=f"bench-access-desk-{i + 1:02d}",
                    password=UNUSABLE_PASSWORD_PREFIX,  # nobody signs in as these
                    first_name="Tugi",
                    last_name=f"Agent {i + 1}",
                    email=f"tugi.taotlused{i + 1}@{names.EMAIL_DOMAIN}",
                )
            )
        for head_id in heads:
            person = self.persons.get(head_id)
            if person is None:
                continue
            if person.user_id is not None:
                self.user_of[head_id] = person.user_id
                continue
            user_id = self.next("user")
            self.user_of[head_id] = user_id
            self._member(user_id, AppRole.APPROVER)
            if head_id in owners:
                self._member(user_id, AppRole.SYSTEM_OWNER)
            self.plan.head_users.append((head_id, user_id))
            self.plan.users.append(
                User(
                    id=user_id,
                    username=person.email,
                    password=UNUSABLE_PASSWORD_PREFIX,
                    first_name=person.first_name[:150],
                    last_name=person.last_name[:150],
                    email=person.email,
                )
            )

    def _member(self, user_id: int, role: AppRole) -> None:
        group_id = self.inputs.groups.get(role.value)
        if group_id is not None:
            self.plan.user_groups.append(
                UserGroup(id=self.next("user_group"), user_id=user_id, group_id=group_id)
            )

    # --- accounts and grants ----------------------------------------------------------------

    def account(self, person_id: int, system_id: int) -> list[Any]:
        """The person's account in the system: [id, first grant's start, last end, open]."""
        key = (person_id, system_id)
        record = self.accounts.get(key)
        if record is None:
            record = self.accounts[key] = [self.next("account"), None, None, False]
        return record

    def grant(
        self,
        person_id: int,
        role: _Role,
        start: datetime.datetime,
        stop: datetime.datetime | None,
        reason: str,
        basis: str,
        *,
        duty: int | None = None,
        item: int | None = None,
        acting_for: int | None = None,
        created: datetime.datetime | None = None,
    ) -> int:
        """One grant row; returns its index in plan.grants."""
        record = self.account(person_id, role.system_id)
        if record[1] is None or start < record[1]:
            record[1] = start
        if stop is None or stop > AS_OF_UTC:
            record[3] = True
        elif record[2] is None or stop > record[2]:
            record[2] = stop
        index = len(self.plan.grants)
        # Positional (the model's column order): a million of these, keywords cost seconds.
        self.plan.grants.append(
            GrantRow(
                next(self.grant_ids),
                record[0],
                role.id,
                person_id,
                start,
                stop,
                basis,
                duty,
                item,
                acting_for,
                None,  # substitution: generated substitutions have no order (the demo's past)
                created or start,
                reason if stop is not None else "",
            )
        )
        self.holds[person_id].append(_Hold(index, role.id, start, stop, acting_for))
        return index

    def hold(
        self,
        rng: random.Random,
        person_id: int,
        role: _Role,
        start: datetime.datetime,
        stop: datetime.datetime | None,
        reason: str,
        duty: int,
    ) -> None:
        """A role held by job description over a period; as renewed links if it needs an end."""
        if stop is not None and stop <= start:
            return
        if not role.requires_end:
            self.grant(person_id, role, start, stop, reason, Grant.Basis.JOB_DESCRIPTION, duty=duty)
            return
        assert role.max_days is not None
        t = start
        while True:
            length = _days(role.max_days - rng.randrange(0, 30))
            end = t + length
            if stop is not None and end >= stop:
                self.grant(person_id, role, t, stop, reason, Grant.Basis.JOB_DESCRIPTION, duty=duty)
                return
            if stop is None and end > AS_OF_UTC:
                self.grant(person_id, role, t, end, "", Grant.Basis.JOB_DESCRIPTION, duty=duty)
                return
            # Lapsed and renewed: nobody ends a link, the next one simply follows it.
            self.grant(person_id, role, t, end, "", Grant.Basis.JOB_DESCRIPTION, duty=duty)
            t = end

    def job_grants(self) -> None:
        """Grants by job description: per position held and job-description version."""
        rng = self.ctx.rng("access.grants")
        positions_by_unit: dict[int, list[int]] = collections.defaultdict(list)
        for position_id, unit_id in self.inputs.positions.items():
            if position_id in self.job_roles:
                positions_by_unit[unit_id].append(position_id)
        units_by_dept: dict[int, list[int]] = collections.defaultdict(list)
        for unit_id, (dept, _h, _depth) in sorted(self.inputs.units.items()):
            if positions_by_unit.get(unit_id):
                units_by_dept[dept].append(unit_id)
        all_units = [u for units in units_by_dept.values() for u in units]
        leavers = [
            p.id
            for p in self.inputs.persons
            if p.status == Person.Status.LEFT and p.end is not None and p.end >= GO_LIVE
        ]
        # At least one, so that even the tiny scale has an open account of a leaver.
        n_open = min(len(leavers), max(1, round(len(leavers) * LEAVER_OPEN_SHARE)))
        self.leaver_open = set(rng.sample(leavers, n_open))
        for person in self.inputs.persons:
            if person.position_id not in self.job_roles:
                continue
            if person.start < GO_LIVE:
                first_day = GO_LIVE + _days(rng.randrange(60))
            else:
                first_day = person.start + _days(rng.randrange(3))
            last_day = person.end if person.status == Person.Status.LEFT else None
            if last_day is not None and last_day < first_day:
                continue  # left before Tugi kept access: no history here
            if first_day >= TODAY:
                continue
            self.access[person.id] = (first_day, last_day)
            stop = None
            stop_reason = ""
            if last_day is not None and person.id not in self.leaver_open:
                stop, stop_reason = end_of(last_day), ENDED_LEFT
            horizon = last_day or TODAY
            segments: list[tuple[int, datetime.date, datetime.date | None, bool]] = []
            if (horizon - first_day).days > 400 and rng.random() < MOVER_SHARE:
                move = first_day + _days(rng.randrange(180, (horizon - first_day).days - 30))
                dept = self.inputs.units[person.unit_id][0]
                units = units_by_dept.get(dept) if rng.random() < 0.7 else None
                old_unit = rng.choice(units or all_units)
                old = rng.choice(positions_by_unit[old_unit])
                if old != person.position_id:
                    segments.append((old, first_day, move, True))
                    first_day = move
            segments.append((person.position_id, first_day, None, False))
            for position_id, a, b, moved in segments:
                self._segment(rng, person.id, position_id, a, b, moved, (stop, stop_reason))

    def _segment(
        self,
        rng: random.Random,
        person_id: int,
        position_id: int,
        a: datetime.date,
        b: datetime.date | None,
        moved: bool,
        person_stop: tuple[datetime.datetime | None, str],
    ) -> None:
        """Grants for the period [a, b) in a position (b None: until the person's stop).

        `person_stop` is when and why the person's access ends (left), or (None, "").
        """
        versions = self.job_roles[position_id]
        dates = [v[0] for v in versions]
        i = max(0, bisect.bisect_right(dates, a) - 1)
        seg_end, seg_reason = (office(b, rng), ENDED_MOVED) if b is not None else person_stop
        # role → (start, duty); the roles held open through the versions
        held: dict[int, tuple[datetime.datetime, int]] = {}
        gaps = set()
        for j in range(i, len(versions)):
            v_from, _jd, justified = versions[j]
            begin = max(a, v_from)
            if b is not None and begin >= b:
                break
            if begin > TODAY:
                break
            begin_at = office(begin, rng) if j > i else office(a, rng)
            if seg_end is not None and begin_at >= seg_end:
                break
            # Roles the new version no longer justifies end (or are forgotten).
            for role_id in list(held):
                if role_id in justified:
                    continue
                start, duty = held.pop(role_id)
                if rng.random() < DROP_LEFT_OPEN:
                    # Forgotten: held on until the segment ends.
                    self._close(rng, person_id, role_id, start, duty, seg_end, seg_reason)
                else:
                    self.hold(
                        rng,
                        person_id,
                        self.role_by_id[role_id],
                        start,
                        begin_at,
                        ENDED_JD_CHANGED,
                        duty,
                    )
            for role_id, duty in justified.items():
                if role_id in held or role_id in gaps:
                    continue
                if j == i and rng.random() < GAP_SHARE:
                    gaps.add(role_id)
                    continue
                start = begin_at if j == i else begin_at + _days(rng.randrange(0, 20))
                if start > AS_OF_UTC or (seg_end is not None and start >= seg_end):
                    continue
                held[role_id] = (start, duty)
        for role_id, (start, duty) in held.items():
            if moved and rng.random() < MOVE_LEFT_OPEN:
                # Forgotten at the move: held on until the person's own access ends.
                self._close(rng, person_id, role_id, start, duty, *person_stop)
            else:
                self._close(rng, person_id, role_id, start, duty, seg_end, seg_reason)

    def _close(
        self,
        rng: random.Random,
        person_id: int,
        role_id: int,
        start: datetime.datetime,
        duty: int,
        stop: datetime.datetime | None,
        reason: str,
    ) -> None:
        self.hold(rng, person_id, self.role_by_id[role_id], start, stop, reason, duty)

    # --- absences, substitutions, suspensions -----------------------------------------------

    def absences(self) -> None:
        rng = self.ctx.rng("access.absences")
        self.absent_now: dict[int, tuple[datetime.date, datetime.date]] = {}
        self.long_absences: list[tuple[int, datetime.date, datetime.date, bool]] = []
        kinds = Absence.Kind
        for person in self.inputs.persons:
            window = self.access.get(person.id)
            status = person.status
            if status == Person.Status.ON_LEAVE:
                starts = TODAY - _days(rng.randrange(30, 500))
                ends = TODAY + _days(rng.randrange(30, 700))
                kind = rng.choices(
                    [kinds.PARENTAL, kinds.STUDY, kinds.SICK, kinds.OTHER], [6, 1, 2, 1]
                )[0]
                self._absence(person.id, kind, starts, ends, Absence.Source.MANUAL)
                self.absent_now[person.id] = (starts, ends)
                self.long_absences.append((person.id, starts, ends, True))
            elif status == Person.Status.ACTIVE and rng.random() < ABSENT_TODAY_SHORT:
                starts = TODAY - _days(rng.randrange(0, 10))
                ends = TODAY + _days(rng.randrange(0, 15))
                kind = rng.choice([kinds.VACATION, kinds.SICK])
                self._absence(person.id, kind, starts, ends, Absence.Source.MANUAL)
                self.absent_now[person.id] = (starts, ends)
                if (ends - starts).days >= 13:
                    self.long_absences.append((person.id, starts, ends, True))
            if window is None:
                continue
            first_day, last_day = window
            last = min(last_day or TODAY, TODAY) - _days(20)
            span = (last - first_day).days
            if span > 400 and rng.random() < PAST_LONG_ABSENCE:
                length = rng.randrange(30, 300)
                starts = first_day + _days(rng.randrange(0, max(1, span - length)))
                ends = min(starts + _days(length), last)
                kind = rng.choice([kinds.PARENTAL, kinds.SICK, kinds.STUDY])
                self._absence(person.id, kind, starts, ends, Absence.Source.MANUAL)
                self.long_absences.append((person.id, starts, ends, False))
            if span > 60 and rng.random() < PAST_VACATION:
                length = rng.randrange(7, 29)
                starts = first_day + _days(rng.randrange(0, max(1, span - length)))
                ends = starts + _days(length - 1)
                source = Absence.Source.SCHEDULE
                self._absence(person.id, kinds.VACATION, starts, ends, source)
                if length >= 14:
                    self.long_absences.append((person.id, starts, ends, False))
            if last_day is None and rng.random() < SCHEDULED_VACATION:
                starts = TODAY + _days(rng.randrange(30, 300))
                ends = starts + _days(rng.randrange(6, 28))
                cancelled = rng.random() < 0.03
                self._absence(
                    person.id, kinds.VACATION, starts, ends, Absence.Source.SCHEDULE, cancelled
                )

    def _absence(
        self,
        person_id: int,
        kind: str,
        starts: datetime.date,
        ends: datetime.date,
        source: str,
        cancelled: bool = False,
    ) -> None:
        self.plan.absences.append(
            AbsenceRow(
                id=self.next("absence"),
                person_id=person_id,
                kind=kind,
                starts_on=starts,
                ends_on=ends,
                source=source,
                note="",
                cancelled=cancelled,
            )
        )

    def held_at(self, person_id: int, at: datetime.datetime) -> list[_Hold]:
        """The person's own grants (not substitutions) that have started and not ended at `at`."""
        return [
            h
            for h in self.holds.get(person_id, ())
            if h.acting_for is None and h.start <= at and (h.stop is None or h.stop > at)
        ]

    def substitutions(self) -> None:
        """Substitutes for long absences (delegable roles) and suspensions while away."""
        rng = self.ctx.rng("access.substitutions")
        members: dict[int, list[int]] = collections.defaultdict(list)
        for person in self.inputs.persons:
            if person.id in self.access:
                members[person.unit_id].append(person.id)
        current: list[int] = []
        for person_id, starts, ends, now in sorted(self.long_absences):
            begin = office(starts, rng)
            finish = end_of(ends)
            holds = self.held_at(person_id, begin)
            if not holds:
                continue
            suspended = set()
            # The absence policy: roles marked so are suspended while the holder is away.
            for h in holds:
                if self.role_by_id[h.role].suspend and rng.random() < SUSPENDED_WHEN_ABSENT:
                    until = None if now and rng.random() < 0.3 else finish
                    self._suspension(h.index, begin, until, "Puudumise ajaks peatatud")
                    suspended.add(h.index)
            delegable = [h for h in holds if self.role_by_id[h.role].delegable]
            if not delegable or rng.random() > SUBSTITUTED:
                continue
            substitute = self._colleague(
                rng, members[self.persons[person_id].unit_id], person_id, starts, ends
            )
            if substitute is None:
                continue
            for h in delegable[:3]:
                role = self.role_by_id[h.role]
                until = finish
                if role.max_days is not None and until - begin > _days(role.max_days):
                    until = begin + _days(role.max_days)
                index = self.grant(
                    substitute,
                    role,
                    begin,
                    until,
                    ENDED_SUBSTITUTION if until <= AS_OF_UTC else "",
                    Grant.Basis.SUBSTITUTION,
                    acting_for=person_id,
                )
                if now:
                    current.append(index)
                if h.index not in suspended and rng.random() < EXCLUSIVE_SUBSTITUTION:
                    reason = "Asendaja kasutab rolli ainuisikuliselt"
                    self._suspension(h.index, begin, until, reason)
        # A few substitutions today that do not hold: a role that cannot be passed on, or one
        # the absent person does not have.
        non_delegable = [r for r in self.roles if not r.delegable and not r.requires_end]
        delegable_roles = [r for r in self.roles if r.delegable and not r.requires_end]
        for n, index in enumerate(
            rng.sample(current, min(len(current), max(2, len(current) // 50)))
        ):
            row = self.plan.grants[index]
            held = {h.role for h in self.held_at(row.acting_for_id, AS_OF_UTC)}
            choices = (
                non_delegable if n % 2 == 0 else [r for r in delegable_roles if r.id not in held]
            )
            if not choices:
                continue
            self.grant(
                row.person_id,
                rng.choice(choices),
                row.valid_from,
                row.valid_to,
                "",
                Grant.Basis.SUBSTITUTION,
                acting_for=row.acting_for_id,
            )

    def _colleague(
        self,
        rng: random.Random,
        members: list[int],
        absent_id: int,
        starts: datetime.date,
        ends: datetime.date,
    ) -> int | None:
        """A colleague in the unit who works through the absence and is not away today."""
        for _ in range(20):
            candidate = rng.choice(members)
            if (
                candidate != absent_id
                and candidate not in self.absent_now
                and self._works(candidate, starts, ends)
            ):
                return candidate
        return None

    def _works(self, person_id: int, starts: datetime.date, ends: datetime.date) -> bool:
        window = self.access.get(person_id)
        if window is None:
            return False
        first_day, last_day = window
        return first_day <= starts and (last_day is None or last_day > ends)

    def _suspension(
        self,
        grant_index: int,
        starts: datetime.datetime,
        ends: datetime.datetime | None,
        reason: str,
    ) -> None:
        row = self.plan.grants[grant_index]
        starts = max(starts, row.valid_from + _days(0.01))
        if row.valid_to is not None:
            if starts >= row.valid_to:
                return
            if ends is None or ends > row.valid_to:
                ends = row.valid_to
        if ends is not None and ends <= starts:
            return
        self.plan.suspensions.append(
            SuspensionRow(
                id=self.next("suspension"),
                grant_id=row.id,
                starts_at=starts,
                ends_at=ends,
                reason=reason,
                basis_item_id=None,
            )
        )

    def misc_suspensions(self) -> None:
        rng = self.ctx.rng("access.suspensions")
        n = round(len(self.plan.grants) * MISC_SUSPENSION)
        for index in sorted(rng.sample(range(len(self.plan.grants)), n)):
            row = self.plan.grants[index]
            stop = row.valid_to or AS_OF_UTC
            span = (stop - row.valid_from).days
            if span < 10:
                continue
            starts = row.valid_from + _days(rng.randrange(1, span))
            ends = starts + _days(rng.randrange(7, 60))
            if ends > AS_OF_UTC:
                continue
            self._suspension(index, starts, ends, "Peatatud kontrolli ajaks")

    # --- requests ---------------------------------------------------------------------------

    def _approver(self, person_id: int) -> int | None:
        return self.persons[person_id].manager_id

    def request(
        self,
        rng: random.Random,
        person_id: int,
        created: datetime.datetime,
        roles: Sequence[_Role],
        state: str = AccessRequest.State.FULFILLED,
        sod: Callable[[int], list[dict[str, Any]]] | None = None,
    ) -> list[int]:
        """A request with one item per role and its approval chain; returns the item ids."""
        request_id = self.next("request")
        head = self._approver(person_id)
        assert head is not None
        decided = created + _days(rng.uniform(0.1, 5))
        approved = state in (AccessRequest.State.APPROVED, AccessRequest.State.FULFILLED)
        filer = rng.choice(self.desk_users)
        steps = [(Approval.Step.UNIT_HEAD, None, head)]
        for system_id in sorted({r.system_id for r in roles if r.sensitive}):
            owner = self.system_owner.get(system_id)
            if owner is None:
                continue
            if owner == person_id:
                owner = self.persons[owner].manager_id or head
            steps.append((Approval.Step.SYSTEM_OWNER, system_id, owner))
        for order, (step, system_id, approver) in enumerate(steps, start=1):
            if approved:
                decision = Approval.Decision.APPROVED
            elif state == AccessRequest.State.REJECTED:
                decision = Approval.Decision.REJECTED if order == 1 else Approval.Decision.PENDING
            elif state == AccessRequest.State.SUBMITTED and order == 1 and len(steps) > 1:
                decision = rng.choice([Approval.Decision.APPROVED, Approval.Decision.PENDING])
            else:
                decision = Approval.Decision.PENDING
            done = decision != Approval.Decision.PENDING
            self.plan.approvals.append(
                ApprovalRow(
                    id=self.next("approval"),
                    request_id=request_id,
                    order=order,
                    step=step,
                    system_id=system_id,
                    approver_id=approver,
                    decision=decision,
                    comment="" if decision != Approval.Decision.REJECTED else "Ei ole põhjendatud",
                    decided_by_id=self.user_of.get(approver) if done else None,
                    decided_at=decided + _days(order * 0.2) if done else None,
                )
            )
        item_state = {
            AccessRequest.State.FULFILLED: AccessRequestItem.State.FULFILLED,
            AccessRequest.State.APPROVED: AccessRequestItem.State.APPROVED,
            AccessRequest.State.REJECTED: AccessRequestItem.State.REJECTED,
            AccessRequest.State.CANCELLED: AccessRequestItem.State.CANCELLED,
        }.get(state, AccessRequestItem.State.PENDING)
        final = state not in (AccessRequest.State.SUBMITTED, AccessRequest.State.RETURNED)
        self.plan.requests.append(
            RequestRow(
                id=request_id,
                person_id=person_id,
                requested_by_id=filer,
                justification="Tööülesannete täitmiseks vajalik juurdepääs.",
                state=state,
                created_at=created,
                decided_at=decided + _days(0.5) if final else None,
                expires_at=created + _days(30),
                decision_comment="",
            )
        )
        item_ids = []
        for role in roles:
            item_id = self.next("item")
            item_ids.append(item_id)
            self.plan.items.append(
                ItemRow(
                    id=item_id,
                    request_id=request_id,
                    kind=AccessRequestItem.Kind.GRANT_ROLE,
                    system_id=role.system_id,
                    role_id=role.id,
                    grant_id=None,
                    valid_from=None,
                    valid_to=None,
                    state=item_state,
                    sod_conflicts=sod(role.id) if sod else [],
                    fulfilled_by_id=rng.choice(self.desk_users)
                    if state == AccessRequest.State.FULFILLED
                    else None,
                    fulfilled_at=None,
                )
            )
        return item_ids

    def _set_item_period(
        self, item_id: int, start: datetime.datetime, stop: datetime.datetime | None
    ) -> None:
        """The period an item asks for (filled in by `finish_items`)."""
        self.item_periods[item_id] = (start, stop)

    def finish_items(self) -> None:
        """Items with their periods; a fulfilled item was fulfilled as its grant started."""
        for index, item in enumerate(self.plan.items):
            period = self.item_periods.get(item.id)
            if period is not None:
                start, stop = period
                fulfilled = start if item.fulfilled_by_id is not None else None
                self.plan.items[index] = item._replace(
                    valid_from=start, valid_to=stop, fulfilled_at=fulfilled
                )

    def _request_roles(self, rng: random.Random, person_id: int, n: int) -> list[_Role]:
        """Roles a person would ask for: not what the job description gives, no SoD clash."""
        person = self.persons[person_id]
        versions = self.job_roles.get(person.position_id or 0, [])
        own = set(versions[-1][2]) if versions else set()
        pool = self._pool(person.unit_id)
        chosen: list[_Role] = []
        for _ in range(n * 6):
            if len(chosen) >= n:
                break
            draw = rng.random()
            if draw < 0.35 and pool.external:
                role_id = pool.draw_external(rng)
            elif draw < 0.75 and pool.internal:
                role_id = pool.draw(rng)
            else:
                role_id = rng.choice(self.internal)
            if role_id in own or any(r.id == role_id for r in chosen):
                continue
            if self._conflicts(role_id, [*own, *(r.id for r in chosen)]):
                continue
            chosen.append(self.role_by_id[role_id])
        return chosen

    def sod_conflicts(self) -> None:
        """A few hundred persons who hold both roles of a rule, by a request granted anyway."""
        rng = self.ctx.rng("access.sod_conflicts")
        if not self.rules:
            return
        active = [
            p.id
            for p in self.inputs.persons
            if p.id in self.access
            and p.status == Person.Status.ACTIVE
            and self.access[p.id][1] is None
            and p.manager_id is not None
        ]
        target = max(len(self.rules), round(len(active) * SOD_CONFLICT_SHARE))
        holders: dict[int, list[int]] = collections.defaultdict(list)
        for person_id in active:
            for h in self.held_at(person_id, AS_OF_UTC):
                if h.role in self.partners:
                    holders[h.role].append(person_id)
        rule_names = {r.id: r.name for r in self.plan.sod_rules}
        made = 0
        for n in range(target * 3):
            if made >= target:
                break
            rule_id, a, b = self.rules[n % len(self.rules)]
            if rng.random() < 0.5:
                a, b = b, a
            person_id = rng.choice(holders[a]) if holders[a] else rng.choice(active)
            if any(h.role == b for h in self.held_at(person_id, AS_OF_UTC)):
                continue
            first_day = max(self.access[person_id][0], TODAY - _days(700))
            start = office(first_day + _days(rng.randrange(0, (TODAY - first_day).days)), rng)
            created = start - _days(rng.uniform(2, 10))
            excepted = rng.random() < SOD_EXCEPTION_SHARE
            until = AS_OF_UTC + _days(rng.randrange(30, 300)) if excepted else None
            role_b = self.role_by_id[b]

            def conflict(
                role_id: int,
                a: int = a,
                rule_id: int = rule_id,
                until: Any = until,
                start: datetime.datetime = start,
            ) -> list[dict[str, Any]]:
                return [
                    {
                        "rule": rule_id,
                        "rule_name": rule_names[rule_id],
                        "role": role_id,
                        "other_role": a,
                        "other_role_name": self.role_names[a],
                        "other_grant": None,
                        "other_item": None,
                        "from": start.isoformat(),
                        "until": None,
                        "exception": None,
                        "exception_until": until.isoformat() if until else None,
                    }
                ]

            [item_id] = self.request(rng, person_id, created, [role_b], sod=conflict)
            stop = start + _days(role_b.max_days) if role_b.requires_end else None
            if stop is not None and stop <= AS_OF_UTC:
                stop = AS_OF_UTC + _days(rng.randrange(10, 200))
                start = stop - _days(role_b.max_days or 365)
            self._set_item_period(item_id, start, stop)
            self.grant(
                person_id, role_b, start, stop, "", Grant.Basis.REQUEST, item=item_id, created=start
            )
            if excepted:
                request_id = self.plan.requests[-1].id
                self.plan.sod_exceptions.append(
                    SodExceptionRow(
                        id=self.next("sod_exception"),
                        rule_id=rule_id,
                        person_id=person_id,
                        valid_to=until,
                        justification="Ajutine erand: üksuses ei ole teist töötajat.",
                        request_id=request_id,
                        created_at=created + _days(3),
                    )
                )
            made += 1

    def request_grants(self) -> None:
        """Grants by approved request, exactly as many as the target leaves."""
        rng = self.ctx.rng("access.requests")
        wanted = self.scale.grants - len(self.plan.grants)
        if wanted < 0:
            raise ValueError(
                f"scale {self.scale.name}: job descriptions already give {len(self.plan.grants)}"
                f" grants, more than the {self.scale.grants} wanted"
            )
        people = [
            p for p in self.inputs.persons if p.id in self.access and p.manager_id is not None
        ]
        if not people:
            return
        weights = []
        for p in people:
            first_day, last_day = self.access[p.id]
            weights.append(max(30, ((last_day or TODAY) - first_day).days))
        cumulative = list(itertools.accumulate(weights))
        made = 0
        while made < wanted:
            person = rng.choices(people, cum_weights=cumulative)[0]
            n = min(wanted - made, rng.choices([1, 2, 3], [75, 18, 7])[0])
            roles = self._request_roles(rng, person.id, n)
            if not roles:
                continue
            first_day, last_day = self.access[person.id]
            horizon = (last_day or TODAY + _days(30)) - first_day
            day = first_day + _days(rng.randrange(max(1, horizon.days)))
            start = office(day, rng)
            created = start - _days(rng.uniform(2, 14))
            state = AccessRequest.State.FULFILLED
            if rng.random() < REQUEST_NOT_APPROVED and start < AS_OF_UTC:
                state = rng.choice([AccessRequest.State.REJECTED, AccessRequest.State.CANCELLED])
            item_ids = self.request(rng, person.id, created, roles, state=state)
            leaves = (
                end_of(last_day)
                if last_day is not None and person.id not in self.leaver_open
                else None
            )
            for role, item_id in zip(roles, item_ids, strict=True):
                if role.requires_end:
                    assert role.max_days is not None
                    stop: datetime.datetime | None = start + _days(
                        rng.randrange(30, role.max_days + 1)
                    )
                elif rng.random() < REQUEST_OPEN_ENDED:
                    stop = None
                else:
                    stop = start + _days(rng.randrange(14, 366))
                self._set_item_period(item_id, start, stop)
                reason = ""
                if stop is not None and stop <= AS_OF_UTC:
                    reason = "" if rng.random() < LAPSED_UNRECORDED else ENDED_TERM
                if leaves is not None and (stop is None or stop > leaves):
                    stop, reason = leaves, ENDED_LEFT
                if stop is not None and stop <= start:
                    stop = start + _days(1)
                self.grant(person.id, role, start, stop, reason, Grant.Basis.REQUEST, item=item_id)
                made += 1
        # Requests that never became grants.
        extra = round(len(self.plan.requests) * EXTRA_REQUEST_SHARE)
        states = [
            (AccessRequest.State.REJECTED, 50),
            (AccessRequest.State.EXPIRED, 15),
            (AccessRequest.State.CANCELLED, 15),
            (AccessRequest.State.SUBMITTED, 10),
            (AccessRequest.State.APPROVED, 10),
        ]
        active = [p for p in people if self.access[p.id][1] is None]
        for _ in range(extra):
            person = rng.choice(active)
            state = rng.choices([s for s, _w in states], [w for _s, w in states])[0]
            roles = self._request_roles(rng, person.id, rng.choices([1, 2], [80, 20])[0])
            if not roles:
                continue
            if state in (AccessRequest.State.SUBMITTED, AccessRequest.State.APPROVED):
                created = AS_OF_UTC - _days(rng.uniform(0.1, 20))
            else:
                first_day = self.access[person.id][0]
                created = office(first_day + _days(rng.randrange((TODAY - first_day).days)), rng)
            for item_id, role in zip(
                self.request(rng, person.id, created, roles, state=state), roles, strict=True
            ):
                start = created + _days(rng.uniform(3, 14))
                self._set_item_period(
                    item_id, start, start + _days(role.max_days) if role.requires_end else None
                )

    # --- accounts ---------------------------------------------------------------------------

    def finish_accounts(self) -> None:
        rng = self.ctx.rng("access.accounts")
        for (person_id, system_id), (account_id, first, last, is_open) in self.accounts.items():
            person = self.persons[person_id]
            keep_open = is_open or person_id in self.leaver_open
            opened = first - _days(rng.uniform(0.01, 1))
            state = Account.State.ACTIVE if keep_open else Account.State.CLOSED
            if keep_open and person.status == Person.Status.ON_LEAVE and rng.random() < 0.3:
                state = Account.State.SUSPENDED
            self.plan.accounts.append(
                AccountRow(
                    id=account_id,
                    person_id=person_id,
                    system_id=system_id,
                    username=person.email.split("@", 1)[0][:150],
                    state=state,
                    opened_at=opened,
                    closed_at=None if keep_open else last,
                )
            )
        # A few accounts asked for and not opened yet.
        systems = sorted(self.system_ids.values())
        for person_id in sorted(rng.sample(sorted(self.access), len(self.access) // 300)):
            if self.access[person_id][1] is not None:
                continue
            system_id = rng.choice(systems)
            if (person_id, system_id) in self.accounts:
                continue
            self.accounts[(person_id, system_id)] = [self.next("account"), None, None, True]
            self.plan.accounts.append(
                AccountRow(
                    id=self.accounts[(person_id, system_id)][0],
                    person_id=person_id,
                    system_id=system_id,
                    username="",
                    state=Account.State.REQUESTED,
                    opened_at=None,
                    closed_at=None,
                )
            )
        self.plan.accounts.sort(key=lambda a: a.id)


def build(scale: Any, seed: int, inputs: Inputs, first: FirstIds | None = None) -> AccessPlan:
    """The access rows at this scale on the given organisation, decided by the seed alone."""
    b = _Builder(scale, seed, inputs, first or FirstIds())
    b.catalogue()
    b.fields()
    b.sod_rules()
    b.job_descriptions()
    b.users()
    b.job_grants()
    b.absences()
    b.substitutions()
    b.sod_conflicts()
    b.request_grants()
    b.misc_suspensions()
    b.finish_accounts()
    b.finish_items()
    return b.plan
