"""Text helpers for Estonian search."""

# õ ä ö ü š ž are letters of their own, but a query typed without them must still find the word:
# we store and compare a folded form alongside the real one.
_FOLD = str.maketrans("õäöüšžÕÄÖÜŠŽ", "oaousz" * 2)


def fold(text: str) -> str:
    """Lower-case and fold Estonian letters to their ASCII look-alikes (for matching only)."""
    return text.lower().translate(_FOLD)
