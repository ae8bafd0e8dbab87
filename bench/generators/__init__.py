"""The generators, in the order they run.

Each is a module with `NAME`, `VERSION` and `generate(ctx: GenContext) -> dict[str, int]` (rows
written per table). A later feature adds its module (e.g. `access` for systems, roles, accounts
and grants; `desk` for cases) at the end of `GENERATORS`: a generator may read what earlier ones
wrote (ids, positions, duties) from the database, never the other way round. Bumping a VERSION, or
inserting a module before existing ones, makes the runner rebuild benchmark databases from scratch;
appending one only runs the new module on the next run.
"""

from types import ModuleType

from bench.generators import access, desk, people

# `access` reads the organisation; `desk` reads the target systems `access` made.
GENERATORS: list[ModuleType] = [people, access, desk]
