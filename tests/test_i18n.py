"""The gettext catalogues: complete for Estonian, in step with the source, compiled."""

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

from tests.peers import require_program

SRC = Path(__file__).resolve().parent.parent / "src" / "tugi"
LOCALE = SRC / "locale"

_EXTRACT = """
import sys, django
from django.conf import settings
settings.configure(USE_I18N=True, LOCALE_PATHS=[sys.argv[1]], INSTALLED_APPS=[])
django.setup()
from django.core.management import call_command
call_command("makemessages", locale=["et"], no_location=True, no_obsolete=True,
             ignore_patterns=["*/migrations/*", "locale/*"], verbosity=0)
"""


def _entries(po: polib.POFile) -> set[tuple[str | None, str]]:
    return {(e.msgctxt, e.msgid) for e in po if not e.obsolete}


def test_estonian_catalogue_is_complete():
    po = polib.pofile(str(LOCALE / "et" / "LC_MESSAGES" / "django.po"))
    missing = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert not missing, f"untranslated Estonian strings: {missing[:20]}"
    assert not fuzzy, f"fuzzy Estonian strings: {fuzzy[:20]}"


@pytest.mark.parametrize("language", ["et", "en"])
def test_catalogues_are_compiled_from_the_current_po(language):
    folder = LOCALE / language / "LC_MESSAGES"
    po, mo = polib.pofile(str(folder / "django.po")), polib.mofile(str(folder / "django.mo"))
    translated = {(e.msgctxt, e.msgid): e.msgstr for e in po.translated_entries()}
    compiled = {(e.msgctxt, e.msgid): e.msgstr for e in mo if e.msgid}
    assert compiled == translated, "run `make messages` (compilemessages) after editing the .po"


def test_catalogue_has_every_string_in_the_source(tmp_path):
    """Extract the strings from the source now and compare with the committed catalogue."""
    require_program("xgettext", "gettext")
    # Extract from a copy: makemessages also writes into ./locale of the folder it runs in.
    copy = tmp_path / "tugi"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("locale", "__pycache__"))
    out = copy / "locale"
    out.mkdir()
    subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _EXTRACT, str(out)], cwd=copy, check=True, capture_output=True
    )
    fresh = _entries(polib.pofile(str(out / "et" / "LC_MESSAGES" / "django.po")))
    committed = _entries(polib.pofile(str(LOCALE / "et" / "LC_MESSAGES" / "django.po")))
    assert not fresh - committed, (
        f"run `make messages`; new strings: {sorted(fresh - committed)[:20]}"
    )
    assert not committed - fresh, (
        f"run `make messages`; stale strings: {sorted(committed - fresh)[:20]}"
    )
