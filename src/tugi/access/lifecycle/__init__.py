"""The lifecycle engine: every grant and account boundary put into effect on time, and measured.

Two layers (docs/architecture.md, "Lifecycle engine"):

- `plan`: whenever a grant's or an account's boundaries change, the action that changes them
  records one `Change` row per boundary (due time, idempotent by its key) and, after commit,
  schedules an exact-time Huey task for each new due time;
- `apply`: applies every pending change that is due, in batches, exactly once (a conditional
  state change in the same transaction as its effect and its audit event; rows locked with SKIP
  LOCKED on PostgreSQL, so several workers share a burst);
- `reconcile`: every minute, recomputes the boundaries that fell due since the last pass from
  the data itself (grants, suspensions, leavers' last days), creates any `Change` that is missing,
  applies what is due and tells the desk about overdue or failed changes. A lost task or a crashed
  worker therefore delays a change by at most a minute and never applies it twice.

Access checks inside Tugi read `valid_from`/`valid_to` directly: a right ends on time even when
no worker runs. What the engine adds is the effect outside that check (account states, the
desk's and later the connectors' work in the target systems) and the lateness figures.
"""
