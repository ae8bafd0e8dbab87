"""Signals the people app sends, so that other apps follow its changes without people importing
them.

`absence_changed` is sent by the absence actions (`record_absence`, `change_absence`,
`cancel_absence`) *inside* their transaction, after the absence and its audit event are written:

    absence_changed.send(sender=Absence, absence=<Absence>, event="recorded" | "changed" |
                         "cancelled", before={"starts_on": date, "ends_on": date} | None,
                         actor=<user or None>)

Inside, not after commit, because a receiver may have to change access in step with the absence:
the substitution engine (`tugi.access.lifecycle.substitution`) moves the linked substitution
orders and their grants, and a substitute must never hold an absent person's rights for days the
absence no longer covers, not even for the moment between two commits or after a crash between
them. If a receiver refuses (a moved order would break a rule), the absence change is refused
with its message and nothing is saved. A receiver that only sends mail schedules it with
`transaction.on_commit` itself.
"""

from django.dispatch import Signal

absence_changed = Signal()
