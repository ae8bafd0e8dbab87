"""Run in a child process by test_lifecycle_worker.py: fill a database with a burst of grants.

`python -m tests.integration.lifecycle_burst N SECONDS` (with DATABASE_URL / TUGI_DATA_DIR set
like the worker's) writes N grants that all end SECONDS from now and plans their changes, which
schedules the engine's exact-time task in the worker's queue. Written with bulk inserts: the
burst is the subject of the test, not how it was made.
"""

import datetime
import os
import sys

import django


def main(count: int, seconds: float) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tugi.settings")
    django.setup()
    from django.utils import timezone

    from tugi.access.lifecycle import plan
    from tugi.access.models import Account, Grant, Role, TargetSystem
    from tugi.people.models import OrgUnit, Person

    unit = OrgUnit.objects.create(name="Talitus", code="T1", kind=OrgUnit.Kind.UNIT)
    persons = Person.objects.bulk_create(
        Person(
            first_name="Isik",
            last_name=f"Nr{n}",
            email=f"isik{n}@burst.example",
            org_unit=unit,
            employment_start=datetime.date(2020, 1, 1),
        )
        for n in range(100)
    )
    system = TargetSystem.objects.create(code="SKAIS", name="SKAIS", kind="internal")
    roles = Role.objects.bulk_create(
        Role(system=system, code=f"R{n}", name=f"Roll {n}") for n in range(count // 100 + 1)
    )
    accounts = Account.objects.bulk_create(
        Account(person=p, system=system, state=Account.State.ACTIVE) for p in persons
    )
    start = timezone.now() - datetime.timedelta(days=1)
    end = timezone.now() + datetime.timedelta(seconds=seconds)
    grants = Grant.objects.bulk_create(
        (
            Grant(
                account=accounts[n % 100],
                person_id=accounts[n % 100].person_id,
                role=roles[n // 100],
                valid_from=start,
                valid_to=end,
                basis=Grant.Basis.SUBSTITUTION,
                acting_for=persons[(n + 1) % 100],
            )
            for n in range(count)
        ),
        batch_size=1000,
    )
    planned = plan.sync_grants([g.pk for g in grants])
    print(f"planned {planned} changes due at {end.isoformat()}")


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]))
