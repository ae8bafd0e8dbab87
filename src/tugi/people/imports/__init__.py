"""HR imports: the personnel export (joiners, movers, leavers) and the vacation schedule.

- `files`: reading CSV and XLSX files into rows, with Estonian or English headings;
- `hr`: checking personnel rows against Tugi's persons and applying them;
- `absences`: checking and applying the vacation schedule (puhkusegraafik);
- `actions`: preview, apply and discard an import, and the HR system's push.

The access that follows from joining, moving and leaving is the lifecycle engine's
(`tugi.access.lifecycle.movements`).
"""
