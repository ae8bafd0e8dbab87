"""`tugi compliance evaluate [--person ID]`: run the compliance evaluation and print the counts."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tugi.access.compliance import evaluate_all, evaluate_person
from tugi.access.models import Finding
from tugi.core.context import request_scope
from tugi.people.models import Person


class Command(BaseCommand):
    help = (
        "Compliance tools. 'evaluate' checks every grant and account against the access rules, "
        "opens new findings and resolves those no longer true; --person limits it to one person."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        evaluate = sub.add_parser("evaluate", help="evaluate the access rules and store findings")
        evaluate.add_argument("--person", type=int, help="only this person (id)")

    def handle(self, *args: Any, **opts: Any) -> None:
        started = time.perf_counter()
        # One request id for the run, so its audit event can be told apart from others.
        with request_scope():
            if opts.get("person") is not None:
                person = Person.objects.filter(pk=opts["person"]).first()
                if person is None:
                    raise CommandError(f"No person with id {opts['person']}.")
                findings = evaluate_person(person)
                elapsed = time.perf_counter() - started
                self.stdout.write(f"{person} (id {person.pk}): {len(findings)} open findings")
                for finding in findings:
                    self.stdout.write(f"  {finding.kind:20} {finding.key:40} {finding.detail}")
                self.stdout.write(f"Evaluated in {elapsed * 1000:.1f} ms.")
                return
            summary = evaluate_all()
        elapsed = time.perf_counter() - started
        self.stdout.write(f"{'kind':22}{'open':>9}{'opened':>9}{'resolved':>10}")
        for kind in Finding.Kind.values:
            self.stdout.write(
                f"{kind:22}{summary.open[kind]:>9}{summary.opened[kind]:>9}"
                f"{summary.resolved[kind]:>10}"
            )
        self.stdout.write(
            f"{'total':22}{summary.total_open:>9}{summary.total_opened:>9}"
            f"{summary.total_resolved:>10}"
        )
        self.stdout.write(self.style.SUCCESS(f"Evaluated in {elapsed:.2f} s."))
