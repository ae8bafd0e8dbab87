"""The registry of timed operations and the context each one runs in.

An operation is a setup function registered under a name with a goal:

    @operation("person detail page", goal_ms=30)
    def person_detail(ctx: BenchContext) -> Callable[[], object]:
        ids = ctx.sample_ids(Person, 200)
        return lambda: ctx.get(ctx.url("people:person_detail", pk=next(ids)))

The setup runs once, untimed, and returns the callable that is timed (once per sample). A setup
that finds its route missing, or still pointing at a placeholder view, raises `Skip` through
`ctx.url` / `ctx.path`: the runner reports that as "skip", never as passed.
"""

import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import close_old_connections, models
from django.test import Client
from django.urls import NoReverseMatch, Resolver404, resolve, reverse

from bench.scales import Scale

DEFAULT_REPEAT = 50

# Views that stand in for pages not written yet; timing them would time the wrong thing.
PLACEHOLDER_VIEWS = {("tugi.core.views", "home")}


class Skip(Exception):
    """The operation cannot run yet (its route or view does not exist); the message says why."""


class OperationError(Exception):
    """The operation ran but the server's answer was wrong (an error status, missing content)."""


Setup = Callable[["BenchContext"], Callable[[], object]]


@dataclass(frozen=True)
class Operation:
    """A named, timed operation with its goal for the median time."""

    name: str
    goal_ms: float
    setup: Setup
    repeat: int = DEFAULT_REPEAT
    # What the goal is about, shown in the docs and the JSON results.
    description: str = ""
    # What the goal is checked against: the median call ("median"), or the mean ("mean") for
    # throughput goals (N cases a second, N mails in a minute), where the total time is what counts.
    judge: str = "median"


OPERATIONS: dict[str, Operation] = {}


def operation(
    name: str,
    *,
    goal_ms: float,
    repeat: int = DEFAULT_REPEAT,
    description: str = "",
    judge: str = "median",
) -> Callable[[Setup], Setup]:
    """Register a setup function as the named operation (names are unique)."""

    def register(setup: Setup) -> Setup:
        if name in OPERATIONS:
            raise ValueError(f"operation {name!r} is registered twice")
        doc_lines = (setup.__doc__ or "").strip().splitlines()
        OPERATIONS[name] = Operation(
            name=name,
            goal_ms=goal_ms,
            setup=setup,
            repeat=repeat,
            description=description or (doc_lines[0] if doc_lines else ""),
            judge=judge,
        )
        return setup

    return register


@dataclass
class BenchContext:
    """What an operation's setup gets: a signed-in client, the scale, a seeded random stream."""

    scale: Scale
    db: str  # "sqlite" or "postgres"
    client: Client
    user: User
    rng: random.Random
    # Headers for API calls: a bearer token when one could be issued, else the session is used.
    api_headers: dict[str, str] = field(default_factory=dict)

    def url(self, name: str, *args: Any, **kwargs: Any) -> str:
        """The path of a named route, or Skip if it does not exist or is still a placeholder."""
        try:
            path = reverse(name, args=args or None, kwargs=kwargs or None)
        except NoReverseMatch:
            raise Skip(f"no route named {name!r} yet") from None
        self._refuse_placeholder(path, name)
        return path

    def path(self, path: str) -> str:
        """A literal path (e.g. an API route), or Skip if nothing answers there yet."""
        self._refuse_placeholder(path, path)
        return path

    @staticmethod
    def _refuse_placeholder(path: str, label: str) -> None:
        try:
            func = resolve(path.split("?", 1)[0]).func
        except Resolver404:
            raise Skip(f"no route for {label} yet") from None
        func = getattr(func, "__wrapped__", func)
        if (getattr(func, "__module__", ""), getattr(func, "__name__", "")) in PLACEHOLDER_VIEWS:
            raise Skip(f"{label} is still served by the placeholder view")

    def get(
        self,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        expect: str = "",
        headers: dict[str, str] | None = None,
    ) -> Any:
        """GET as the signed-in user; anything but 200 (or missing `expect` text) is an error.

        Afterwards the connection is handled as a web worker would at the end of a request
        (closed when CONN_MAX_AGE says so), so reconnecting is part of the time as in production;
        Django's test client alone would keep it open.
        """
        response = self.client.get(path, data, headers=headers)
        close_old_connections()
        if response.status_code != 200:
            raise OperationError(f"GET {path} {data or ''} answered {response.status_code}")
        if expect and expect not in response.content.decode():
            raise OperationError(f"GET {path} {data or ''} did not contain {expect!r}")
        return response

    def get_api(self, path: str, data: dict[str, Any] | None = None) -> Any:
        """GET an API path with the API credentials and return the decoded JSON."""
        return self.get(path, data, headers=self.api_headers).json()

    def sample_ids(self, model: type[models.Model], k: int, **filters: Any) -> Iterator[int]:
        """An endless cycle over k ids of rows drawn with the seeded stream (deterministic)."""
        ids = list(
            model._default_manager.filter(**filters).order_by("pk").values_list("pk", flat=True)
        )
        if not ids:
            raise OperationError(f"no {model.__name__} rows to sample: is the scale data loaded?")
        return itertools.cycle(self.rng.sample(ids, min(k, len(ids))))
