"""Test data factories. They write through the ORM directly (test setup, not domain changes)."""

import datetime
import itertools

import factory
from django.contrib.auth.models import Group, User

from tugi.core.personal_code import with_check_digit
from tugi.core.roles import AppRole
from tugi.core.text import fold
from tugi.people.models import OrgUnit, Person, Position

_serial = itertools.count(1)


def personal_code(n: int | None = None, *, sex_century: str = "4", born: str = "850412") -> str:
    """A valid personal code with a unique serial."""
    n = next(_serial) if n is None else n
    return with_check_digit(f"{sex_century}{born}{n % 1000:03d}")


class OrgUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrgUnit
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Üksus {n}")
    code = factory.Sequence(lambda n: f"U{n}")
    kind = OrgUnit.Kind.UNIT
    parent = None

    @factory.post_generation
    def set_path(obj, create, extracted, **kwargs):
        parent = obj.parent
        obj.path = f"{parent.path if parent else '/'}{obj.pk}/"
        obj.depth = parent.depth + 1 if parent else 0
        obj.save(update_fields=["path", "depth"])


class PositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Position

    title = factory.Sequence(lambda n: f"Spetsialist {n}")
    code = factory.Sequence(lambda n: f"P{n}")
    org_unit = factory.SubFactory(OrgUnitFactory)


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    first_name = "Mari"
    last_name = factory.Sequence(lambda n: f"Maasikas{n}")
    email = factory.Sequence(lambda n: f"isik{n}@sotsiaalkindlustusamet.ee")
    personal_code = factory.LazyFunction(personal_code)
    org_unit = factory.SubFactory(OrgUnitFactory)
    employment_start = datetime.date(2020, 1, 1)
    search_text = factory.LazyAttribute(lambda p: fold(f"{p.first_name} {p.last_name} {p.email}"))


def make_user(username: str, *roles: AppRole, person: Person | None = None) -> User:
    """A user holding the given app roles (groups are created by the post-migrate sync)."""
    user = User.objects.create_user(username=username, password="parool-123")
    user.groups.set(Group.objects.filter(name__in=[r.value for r in roles]))
    if person is not None:
        person.user = user
        person.save(update_fields=["user"])
    return user
