"""The interface text in gettext catalogues: every template writes its words through `_()`
(or `{% trans %}`), and Python code through `gettext` here, so a translator works from one
catalogue template (`locale/messages.pot`, extracted by `python -m mend_web.i18n extract`) and
a translation is a `locale/<language>/LC_MESSAGES/messages.po` beside it. The catalogue is read
with Babel at start (no compiled files kept in the repository); a language without a
catalogue falls back to the English source text."""

from __future__ import annotations

import gettext as _gettext
import io
import sys
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE = Path(__file__).parent / "locale"
TEMPLATE = LOCALE / "messages.pot"
DOMAIN = "messages"
# Babel's extraction map: Python modules and the Jinja templates (with the i18n extension).
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


@cache
def translations(language: str = "en") -> _gettext.NullTranslations:
    """The catalogue of `language` (compiled in memory), or the source text."""
    po = LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.is_file():
        return _gettext.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=language)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def gettext(message: str) -> str:
    return translations().gettext(message)


def extract() -> bytes:
    """The catalogue template of every string marked in the package, as a .pot file."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import write_po

    catalog = Catalog(project="Mend web", domain=DOMAIN, charset="utf-8")
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
    root = Path(__file__).parent
    for filename, lineno, message, comments, context in extract_from_dir(
        str(root), METHODS, options, KEYWORDS
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    buf = io.BytesIO()
    # No dates or line numbers: the file changes only when the text does.
    write_po(buf, catalog, omit_header=True, include_lineno=False, sort_output=True)
    return buf.getvalue()


if __name__ == "__main__":  # python -m mend_web.i18n extract
    if sys.argv[1:] != ["extract"]:
        raise SystemExit("usage: python -m mend_web.i18n extract")
    TEMPLATE.write_bytes(extract())
    print(f"wrote {TEMPLATE}")
