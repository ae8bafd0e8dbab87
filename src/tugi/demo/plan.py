"""The demo organisation as one plain-data plan, built deterministically from `data` and a seed.

The plan holds no model instances and needs no database: the loader writes exactly this plan, so
"the demo is the same every time" is a property of `build_plan` alone and can be checked by
comparing plans (or their digests) — even across processes, since nothing here depends on hash
order or on today's date.
"""

import dataclasses
import datetime
import hashlib
import json
import random
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tugi.core.personal_code import with_check_digit
from tugi.core.roles import AppRole
from tugi.demo import data
from tugi.demo.access_plan import AccessPlan, build_access_plan
from tugi.demo.data import POSTS, REFERENCE_DATE, UnitSpec
from tugi.demo.desk_plan import DeskPlan, build_desk_plan

# The values of OrgUnit.Kind and Person.Status, written out so the plan needs no Django models.
KIND_BY_DEPTH = ("agency", "department", "unit")
ACTIVE, ON_LEAVE, LEFT = "active", "on_leave", "left"


@dataclass(frozen=True)
class UnitPlan:
    """An org unit; `parent` is the parent's code and `head` the head's e-mail."""

    code: str
    name: str
    name_en: str
    kind: str
    parent: str | None
    head: str | None


@dataclass(frozen=True)
class PositionPlan:
    """A post in a unit (by the unit's code)."""

    code: str
    title: str
    title_en: str
    unit: str


@dataclass(frozen=True)
class JobDescriptionPlan:
    """The job description of one post; substitution posts by code, sorted."""

    position: str
    valid_from: datetime.date
    directive: str
    purpose: str
    duties: tuple[tuple[str, str], ...]
    substitutes: tuple[str, ...]
    substituted_by: tuple[str, ...]


@dataclass(frozen=True)
class PersonPlan:
    """A staff member; the e-mail is the key, the manager is given by e-mail."""

    email: str
    first_name: str
    last_name: str
    phone: str
    personal_code: str | None
    foreign_id_country: str
    foreign_id_code: str
    unit: str
    position: str
    manager: str | None
    employment_start: datetime.date
    employment_end: datetime.date | None
    status: str

    @property
    def full_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class LoginPlan:
    """A demo user: username, app role (the group's name) and the person (by e-mail)."""

    username: str
    role: str
    person: str


@dataclass(frozen=True)
class DemoPlan:
    """Everything the demo loader writes, in the order it writes it."""

    units: tuple[UnitPlan, ...]
    positions: tuple[PositionPlan, ...]
    job_descriptions: tuple[JobDescriptionPlan, ...]
    persons: tuple[PersonPlan, ...]
    logins: tuple[LoginPlan, ...]
    password: str
    access: AccessPlan
    desk: DeskPlan

    @property
    def root(self) -> UnitPlan:
        """The agency, the root of the unit tree."""
        return self.units[0]

    def person(self, email: str) -> PersonPlan:
        """The person with this e-mail."""
        return next(p for p in self.persons if p.email == email)

    def position(self, code: str) -> PositionPlan:
        """The post with this code."""
        return next(p for p in self.positions if p.code == code)

    def digest(self) -> str:
        """A SHA-256 of the whole plan, stable across processes and Python hash seeds."""
        payload = json.dumps(
            dataclasses.asdict(self), sort_keys=True, default=str, ensure_ascii=False
        )
        return hashlib.sha256(payload.encode()).hexdigest()


# --- helpers -----------------------------------------------------------------------------------


def genitive(name: str) -> str:
    """The genitive of a unit name ("arendustalitus" → "arendustalituse").

    Every demo unit name ends in one of three nouns, so three endings are all the grammar needed;
    anything else is a mistake in `data` and fails loudly.
    """
    for nominative, gen in (("talitus", "talituse"), ("osakond", "osakonna"), ("amet", "ameti")):
        if name.endswith(nominative):
            return name[: -len(nominative)] + gen
    raise ValueError(f"no genitive rule for the unit name {name!r}")


def ascii_fold(text: str) -> str:
    """Lower-case ASCII for e-mail addresses: "Šmidt" → "smidt", "Kalniņa" → "kalnina"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return decomposed.encode("ascii", "ignore").decode()


def _add_years(day: datetime.date, years: int) -> datetime.date:
    """The same day so many years later (or earlier); 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def _random_date(rng: random.Random, first: datetime.date, last: datetime.date) -> datetime.date:
    """A day from first to last, both included."""
    return datetime.date.fromordinal(rng.randint(first.toordinal(), last.toordinal()))


def _birth_date(rng: random.Random, min_age: int, max_age: int) -> datetime.date:
    """A birth date giving an age from min_age to max_age (inclusive) on the reference date."""
    earliest = _add_years(REFERENCE_DATE, -(max_age + 1)) + datetime.timedelta(days=1)
    latest = _add_years(REFERENCE_DATE, -min_age)
    return _random_date(rng, earliest, latest)


def estonian_personal_code(born: datetime.date, female: bool, serial: int) -> str:
    """A valid isikukood: sex-and-century digit, YYMMDD, a three-digit serial, the check digit."""
    century = (born.year - 1800) // 100  # 0: 1800s, 1: 1900s, 2: 2000s
    first = 1 + 2 * century + (1 if female else 0)
    return with_check_digit(f"{first}{born:%y%m%d}{serial:03d}")


def latvian_personal_code(born: datetime.date, serial: int) -> str:
    """A valid Latvian personas kods in the older, date-based form DDMMYY-CNNNX."""
    from stdnum.lv import pvn

    digits = f"{born:%d%m%y}{(born.year - 1800) // 100}{serial:03d}"
    check = pvn.calc_check_digit_pers(digits)
    return f"{digits[:6]}-{digits[6:]}{check}"


_FINNISH_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def finnish_personal_code(born: datetime.date, female: bool, serial: int) -> str:
    """A valid Finnish henkilötunnus DDMMYYCZZZQ; the serial is odd for men, even for women."""
    serial = serial & ~1 if female else serial | 1
    sign = "-" if born.year < 2000 else "A"
    check = _FINNISH_CHECK[int(f"{born:%d%m%y}{serial:03d}") % 31]
    return f"{born:%d%m%y}{sign}{serial:03d}{check}"


# --- the plan ----------------------------------------------------------------------------------


@dataclass(eq=False)  # compared by identity: two slots of one post are still two places
class _Slot:
    """One place to fill with a person while building the plan."""

    unit: UnitSpec
    position: str
    is_head: bool
    depth: int
    role: str = "member"  # member, head, login, foreign, on_leave, left


Tree = list[tuple[UnitSpec, int, UnitSpec | None]]


def _walk(
    unit: UnitSpec, depth: int = 0, parent: UnitSpec | None = None
) -> Iterator[tuple[UnitSpec, int, UnitSpec | None]]:
    """The unit tree depth-first, parents before children: (unit, depth, parent)."""
    yield unit, depth, parent
    for child in unit.units:
        yield from _walk(child, depth + 1, unit)


def _position_code(unit: UnitSpec, post: str) -> str:
    """A post's code: the unit's code and the post template's code ("PEN-MT-PS")."""
    return f"{unit.code}-{post}"


def _substitution(units: Tree) -> dict[str, set[str]]:
    """Who is substituted by whom (position code → substitute position codes).

    Sensible rather than complete: a unit head by the post listed after the head (the lead
    specialist where there is one), a department head by the head of its first unit, the Director
    General by the deputy, and a post with a single holder by the nearest post in its unit with
    several holders. Holders of the same post stand in for each other, which needs no record.
    """
    substituted_by: dict[str, set[str]] = {}

    def add(absent: str, substitute: str) -> None:
        substituted_by.setdefault(absent, set()).add(substitute)

    for unit, depth, _parent in units:
        posts = [post for post, _n in unit.staff]
        head = _position_code(unit, posts[0])
        if len(posts) > 1:
            add(head, _position_code(unit, posts[1]))
        if unit.units and depth == 1:
            add(head, _position_code(unit.units[0], unit.units[0].staff[0][0]))
        if depth == 0:
            continue
        counts = dict(unit.staff)
        for i, post in enumerate(posts[1:], start=1):
            if counts[post] != 1:
                continue
            later = [p for p in posts[i + 1 :] if counts[p] > 1]
            earlier = [p for p in reversed(posts[1:i]) if counts[p] > 1]
            if later or earlier:
                add(_position_code(unit, post), _position_code(unit, (later or earlier)[0]))
    return substituted_by


def _directive(rng: random.Random, valid_from: datetime.date) -> str:
    """The directive approving job descriptions, signed a week to three before they apply."""
    signed = valid_from - datetime.timedelta(days=rng.randint(7, 21))
    return f"peadirektori {signed:%d.%m.%Y} käskkiri nr 1-1/{signed:%y}/{rng.randint(20, 400)}"


def build_plan(seed: int = data.DEMO_SEED) -> DemoPlan:
    """Build the demo organisation from the fixed data; the same seed gives the same plan."""
    rng = random.Random(seed)
    tree = list(_walk(data.AGENCY))

    # Posts and their job descriptions: one directive per department (and one for the agency).
    substituted_by = _substitution(tree)
    substitutes: dict[str, set[str]] = {}
    for absent, subs in substituted_by.items():
        for sub in subs:
            substitutes.setdefault(sub, set()).add(absent)
    positions: list[PositionPlan] = []
    job_descriptions: list[JobDescriptionPlan] = []
    directive_of: dict[str, tuple[datetime.date, str]] = {}
    for unit, depth, parent in tree:
        if depth < 2:
            valid_from = rng.choice(data.JOB_DESCRIPTION_DATES)
            directive_of[unit.code] = (valid_from, _directive(rng, valid_from))
        # A unit's posts are approved with its department's.
        approver = unit if depth < 2 or parent is None else parent
        valid_from, directive = directive_of[approver.code]
        fill = {"unit_gen": genitive(unit.name), "goal": unit.goal}
        for post, _n in unit.staff:
            template = POSTS[post]
            code = _position_code(unit, post)
            positions.append(PositionPlan(code, template.title, template.title_en, unit.code))
            job_descriptions.append(
                JobDescriptionPlan(
                    position=code,
                    valid_from=valid_from,
                    directive=directive,
                    purpose=template.purpose.format(**fill),
                    duties=tuple((d.format(**fill), r.format(**fill)) for d, r in template.duties),
                    substitutes=tuple(sorted(substitutes.get(code, ()))),
                    substituted_by=tuple(sorted(substituted_by.get(code, ()))),
                )
            )

    # The places to fill, in tree order: a unit's head comes before its members and a parent
    # unit before its children, so every manager is created before their reports.
    slots = [
        _Slot(unit, _position_code(unit, post), is_head=(i == 0), depth=depth)
        for unit, depth, _parent in tree
        for i, (post, n) in enumerate(unit.staff)
        for _ in range(n)
    ]
    for slot in slots:
        if slot.is_head:
            slot.role = "head"
    login_slots: dict[str, _Slot] = {}
    for login in data.LOGINS:
        code = f"{login.unit}-{login.post}"
        slot = next(s for s in slots if s.position == code)
        slot.role = "login"
        login_slots[login.username] = slot
    members = [s for s in slots if s.role == "member"]
    special = rng.sample(members, len(data.FOREIGN_STAFF) + data.ON_LEAVE_COUNT + data.LEFT_COUNT)
    foreign_slots = special[: len(data.FOREIGN_STAFF)]
    for slot in foreign_slots:
        slot.role = "foreign"
    for slot in special[len(data.FOREIGN_STAFF) : len(data.FOREIGN_STAFF) + data.ON_LEAVE_COUNT]:
        slot.role = ON_LEAVE
    for slot in special[len(data.FOREIGN_STAFF) + data.ON_LEAVE_COUNT :]:
        slot.role = LEFT

    people = _People(rng)
    email_of: dict[_Slot, str] = {}
    head_of: dict[str, str] = {}
    parent_of = {unit.code: parent.code if parent else None for unit, _d, parent in tree}
    persons: list[PersonPlan] = []
    for slot in slots:
        foreign = data.FOREIGN_STAFF[foreign_slots.index(slot)] if slot.role == "foreign" else None
        person = people.make(slot, foreign)
        if slot.is_head:
            head_of[slot.unit.code] = person.email
            parent_code = parent_of[slot.unit.code]
            manager = head_of[parent_code] if parent_code else None
        else:
            manager = head_of[slot.unit.code]
        persons.append(dataclasses.replace(person, manager=manager))
        email_of[slot] = person.email

    units = tuple(
        UnitPlan(
            unit.code,
            unit.name,
            unit.name_en,
            KIND_BY_DEPTH[depth],
            parent.code if parent else None,
            head_of.get(unit.code),
        )
        for unit, depth, parent in tree
    )
    logins = [
        LoginPlan(login.username, login.role.value, email_of[login_slots[login.username]])
        for login in data.LOGINS
    ]
    # Every unit head decides access requests for their unit, so each can sign in as an
    # approver, with the local part of their e-mail as the username.
    with_login = {login.person for login in logins}
    status_of = {p.email: p.status for p in persons}
    for head in (u.head for u in units if u.head):
        if head not in with_login and status_of[head] == "active":
            logins.append(LoginPlan(head.split("@")[0], AppRole.APPROVER.value, head))
            with_login.add(head)
    persons_ = tuple(persons)
    return DemoPlan(
        units=units,
        positions=tuple(positions),
        job_descriptions=tuple(job_descriptions),
        persons=persons_,
        logins=tuple(logins),
        password=data.DEMO_PASSWORD,
        access=build_access_plan(units, positions, job_descriptions, persons_, tuple(logins), seed),
        desk=build_desk_plan(units, persons_, tuple(logins), seed),
    )


class _People:
    """Draws names, birth dates, identifiers and contacts, keeping each of them unique."""

    FEMALE_SHARE = 0.75  # staff of the social-protection field are mostly women

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.names: set[tuple[str, str]] = set()
        self.emails: set[str] = set()
        self.phones: set[str] = set()
        self.codes: set[str] = set()

    def _name(self, female: bool) -> tuple[str, str]:
        """A first and last name not given yet; Russian surnames take the female form."""
        rng = self.rng
        while True:
            if rng.random() < data.RUSSIAN_SPEAKING_SHARE:
                first = rng.choice(
                    data.RUSSIAN_FEMALE_FIRST_NAMES if female else data.RUSSIAN_MALE_FIRST_NAMES
                )
                male_form, female_form = rng.choice(data.RUSSIAN_LAST_NAMES)
                last = female_form if female else male_form
            else:
                first = rng.choice(data.FEMALE_FIRST_NAMES if female else data.MALE_FIRST_NAMES)
                last = rng.choice(data.LAST_NAMES)
            if (first, last) not in self.names:
                self.names.add((first, last))
                return first, last

    def _email(self, first: str, last: str) -> str:
        """firstname.lastname@, ASCII-folded, with a number added if the address is taken."""
        base = f"{ascii_fold(first)}.{ascii_fold(last)}"
        email, n = f"{base}@{data.AGENCY_DOMAIN}", 1
        while email in self.emails:
            n += 1
            email = f"{base}{n}@{data.AGENCY_DOMAIN}"
        self.emails.add(email)
        return email

    def _phone(self) -> str:
        """An Estonian mobile number not given yet."""
        while True:
            phone = f"+372 5{self.rng.randint(100, 999)} {self.rng.randint(0, 9999):04d}"
            if phone not in self.phones:
                self.phones.add(phone)
                return phone

    def _unique_code(self, make: Callable[[int], str]) -> str:
        """An identifier from make(serial) that no one has yet."""
        while True:
            code = make(self.rng.randint(2, 899))
            if code not in self.codes:
                self.codes.add(code)
                return code

    def make(self, slot: _Slot, foreign: tuple[str, str, str, str] | None) -> PersonPlan:
        """A person for the slot (manager left empty: the caller knows the heads)."""
        rng = self.rng
        if slot.depth == 0 and slot.is_head:
            ages = (45, 60)
        elif slot.is_head:
            ages = (35, 62)
        elif slot.role == LEFT:
            ages = (30, 65)  # old enough to have worked here a while before leaving
        else:
            ages = (22, 65)
        born = _birth_date(rng, *ages)

        personal_code: str | None = None
        country = foreign_code = ""
        if foreign:
            first, last, sex, country = foreign
            self.names.add((first, last))
            if country == "LV":
                foreign_code = self._unique_code(lambda s: latvian_personal_code(born, s))
            else:
                foreign_code = self._unique_code(
                    lambda s: finnish_personal_code(born, sex == "F", s)
                )
        else:
            female = rng.random() < self.FEMALE_SHARE
            first, last = self._name(female)
            personal_code = self._unique_code(lambda s: estonian_personal_code(born, female, s))

        latest_start = REFERENCE_DATE - datetime.timedelta(days=730 if slot.role == LEFT else 30)
        earliest_start = max(_add_years(born, 21), datetime.date(1995, 1, 2))
        start = _random_date(rng, min(earliest_start, latest_start), latest_start)
        end = None
        if slot.role == LEFT:
            end = _random_date(
                rng,
                max(start + datetime.timedelta(days=365), REFERENCE_DATE - datetime.timedelta(540)),
                REFERENCE_DATE - datetime.timedelta(days=1),
            )
        status = slot.role if slot.role in (ON_LEAVE, LEFT) else ACTIVE
        return PersonPlan(
            email=self._email(first, last),
            first_name=first,
            last_name=last,
            phone=self._phone(),
            personal_code=personal_code,
            foreign_id_country=country,
            foreign_id_code=foreign_code,
            unit=slot.unit.code,
            position=slot.position,
            manager=None,
            employment_start=start,
            employment_end=end,
            status=status,
        )
