"""The named scales the generator builds and the benchmarks run at.

A later feature that generates its own tables adds its counts here as fields (with a default of 0,
so nothing else changes) and sets them on each named scale.
"""

from dataclasses import dataclass

# The seed of the published numbers; any other gives different but equally shaped data.
DEFAULT_SEED = 20_260_101


@dataclass(frozen=True)
class Scale:
    """How big the generated organisation is.

    Ranges are inclusive (low, high) and drawn per parent by the seeded generator, so the exact
    number of units and positions is fixed by (scale, seed) but not stated here.
    """

    name: str
    persons: int
    departments: int
    units_per_department: tuple[int, int]
    # Share of units (talitus) that are split further into sectors, one level deeper.
    sector_share: float
    sectors_per_unit: tuple[int, int]
    # Positions per unit, the head's position included (so at least 2: a head and one more).
    positions_per_unit: tuple[int, int]
    duties_per_job: tuple[int, int]
    # Share of positions whose job description also has an older, superseded version.
    superseded_job_share: float = 0.2
    left_share: float = 0.03
    on_leave_share: float = 0.02
    # Staff identified by a foreign id instead of an Estonian personal code.
    foreign_id_share: float = 0.003
    # Access governance (bench.generators.access): target systems, roles, SoD rules, and the
    # grants over five years of history (exactly this many); each job description justifies
    # roles_per_job roles (inclusive range).
    systems: int = 0
    roles: int = 0
    sod_rules: int = 0
    grants: int = 0
    roles_per_job: tuple[int, int] = (3, 15)
    # The service desk (bench.generators.desk): cases over five years (exactly this many), and
    # the desk agents who work them (the runner's user `bench-desk` among them).
    cases: int = 0
    desk_agents: int = 0


SCALES: dict[str, Scale] = {
    # For the test suite: a handful of units, every invariant still exercised.
    "tiny": Scale(
        name="tiny",
        persons=150,
        departments=3,
        units_per_department=(2, 3),
        sector_share=0.5,
        sectors_per_unit=(1, 2),
        positions_per_unit=(2, 4),
        duties_per_job=(2, 4),
        left_share=0.05,
        on_leave_share=0.05,
        foreign_id_share=0.02,
        systems=10,
        roles=60,
        sod_rules=6,
        grants=2_000,
        cases=1_500,
        desk_agents=6,
    ),
    # For CI: seconds to generate, enough rows that a missing index still shows in a plan.
    "smoke": Scale(
        name="smoke",
        persons=2_000,
        departments=6,
        units_per_department=(3, 6),
        sector_share=0.2,
        sectors_per_unit=(1, 3),
        positions_per_unit=(3, 8),
        duties_per_job=(3, 6),
        systems=10,
        roles=150,
        sod_rules=12,
        grants=24_000,
        cases=20_000,
        desk_agents=15,
    ),
    # The size the goals are set for: a large agency, a few hundred units.
    "full": Scale(
        name="full",
        persons=100_000,
        departments=24,
        units_per_department=(6, 14),
        sector_share=0.2,
        sectors_per_unit=(1, 3),
        positions_per_unit=(4, 10),
        duties_per_job=(3, 6),
        systems=10,
        roles=300,
        sod_rules=20,
        grants=1_000_000,
        cases=1_000_000,
        desk_agents=60,
    ),
}


def get_scale(name: str) -> Scale:
    """The named scale, or a KeyError that lists the known names."""
    try:
        return SCALES[name]
    except KeyError:
        raise KeyError(f"unknown scale {name!r}; known: {', '.join(SCALES)}") from None
