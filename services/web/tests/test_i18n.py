"""The interface text is in the gettext catalogue: the committed template is what extraction
finds now (so a translator never works from a stale list), and a catalogue, once there, is what
the pages say."""

from __future__ import annotations

import gettext

from jinja2 import Environment
from mend_web import i18n, pages


def test_the_committed_catalogue_template_is_current():
    assert i18n.TEMPLATE.read_bytes() == i18n.extract(), (
        "run `python -m mend_web.i18n extract` and commit services/web/mend_web/locale"
    )


def test_the_catalogue_holds_the_pages_words():
    pot = i18n.TEMPLATE.read_text()
    for words in ("Withdraw", "Stay signed in", "Sign out"):
        assert f'"{words}' in pot, words


def test_a_translation_is_what_the_pages_render():
    class Shouting(gettext.NullTranslations):
        def gettext(self, message: str) -> str:
            return message.upper()

    # A fresh environment (an overlay would share the app's globals, and so its translations).
    env = Environment(loader=pages.TEMPLATES.env.loader, extensions=["jinja2.ext.i18n"])
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(Shouting(), newstyle=True)  # type: ignore[attr-defined]
    html = env.from_string("{{ _('Stay signed in') }} {% trans %}Sign out{% endtrans %}").render()
    assert html == "STAY SIGNED IN SIGN OUT"
