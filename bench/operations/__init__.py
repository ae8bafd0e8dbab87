"""The timed operations, one module per area; importing this package registers them all.

A later feature adds its module here (e.g. `access` for the grant list at 1,000,000 grants) and
registers its operations with `bench.registry.operation`. Operations run in registration order.
"""

from bench.operations import access, desk, imports, people

__all__ = ["access", "desk", "imports", "people"]
