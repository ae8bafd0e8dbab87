"""The demo organisation: a fictional but realistic Social Insurance Board (Sotsiaalkindlustusamet).

`data` holds the fixed lists (names, the unit tree, posts and their job descriptions), `plan` turns
them into one deterministic plain-data plan, and `loader` writes that plan through the actions.
The package itself imports nothing from Django's models, so the plan can be built (and compared)
without a database.
"""
