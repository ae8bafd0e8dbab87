"""Actions of the access app: the only code that writes its tables (see each module)."""
