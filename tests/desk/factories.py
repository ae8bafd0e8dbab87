"""Factories for desk data (queues, SLA policies, cases).

They write through the ORM directly: test setup, not domain changes, so no audit events and no
SLA computation. A case defaults to a new portal question of low priority in a desk queue.
"""

import factory

from tugi.desk.models import Case, Queue, SlaPolicy


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Queue
        django_get_or_create = ("code",)
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"Q{n}")
    name = factory.Sequence(lambda n: f"Järjekord {n}")
    name_en = factory.Sequence(lambda n: f"Queue {n}")
    kind = Queue.Kind.DESK
    active = True

    @factory.post_generation
    def members(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.members.add(*extracted)


class SlaPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SlaPolicy
        django_get_or_create = ("priority", "category")

    name = factory.LazyAttribute(lambda p: f"P{p.priority}")
    priority = 4
    category = ""
    first_response_minutes = 240
    resolution_minutes = 2400
    warn_before_minutes = 60


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case
        skip_postgeneration_save = True

    subject = factory.Sequence(lambda n: f"Pöördumine {n}")
    requester = factory.SubFactory("tests.factories.PersonFactory")
    channel = Case.Channel.PORTAL
    category = Case.Category.QUESTION
    impact = Case.Level.LOW
    urgency = Case.Level.LOW
    priority = 4
    status = Case.Status.OPEN
    queue = factory.SubFactory(QueueFactory)

    @factory.post_generation
    def tags(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.tags.add(*extracted)
