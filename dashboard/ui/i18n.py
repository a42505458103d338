"""The session's language for the dashboard's screens, on top of the library's one message catalogue.

Strings and plurals come from koban_geo.store.i18n (gettext .po files in koban_geo/locales/, read with Babel;
one domain for the library and the dashboard). Write UI strings as `_("English text")` (or
`_("Hello {name}").format(name=...)`), and counted ones as `ngettext("{n} phone", "{n} phones", n).format(n=n)`;
`python tools/i18n.py` extracts them and merges them into each language's .po file. tests/test_i18n.py fails
when a string has no translation in any language.
"""

from __future__ import annotations

from koban_geo.store.i18n import LANGUAGE_NAMES, LANGUAGES, LOCALES, gettext, plurals
from koban_geo.store.i18n import ngettext as _library_ngettext

LANGS: tuple[str, ...] = LANGUAGES  # the library owns the language list; this is its name on screens
LANG_NAMES: dict[str, str] = LANGUAGE_NAMES

__all__ = ["LANGS", "LANG_NAMES", "LOCALES", "plurals", "translate", "translate_plural"]


def translate_plural(singular: str, plural: str, n: int, lang: str) -> str:
    """The form of a counted message for n in `lang` (English: singular for 1, else plural)."""
    return _library_ngettext(singular, plural, n, lang)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a counted UI string into the session's language: "1 phone", "2 phones", "5 telefonów"."""
    return _library_ngettext(singular, plural, n, current_lang())


def translate(msgid: str, lang: str) -> str:
    """The translation of msgid, or msgid itself where none exists (never an empty string)."""
    return gettext(msgid, lang)


def current_lang() -> str:
    """The language of this browser session: ?lang=, else the switch, else English."""
    import streamlit as st

    asked = st.query_params.get("lang")
    if asked in LANGS:
        st.session_state["lang"] = asked
    lang = st.session_state.get("lang", "en")
    return lang if lang in LANGS else "en"


def _(msgid: str) -> str:
    """Translate a UI string into the session's language."""
    return translate(msgid, current_lang())


def lang_key(key: str, default: object = None) -> str:
    """The widget key to use in this language, with the value carried over between languages.

    Streamlit's browser side keeps a keyed widget's option labels as first drawn, so a dropdown whose labels
    are translated would still show "Last 12 months" after a switch to Dutch. Such a widget gets a key per
    language (English keeps the plain key); its value, a stable code, is carried over through `keep`.
    `default` starts the widget when no language has a value yet."""
    import streamlit as st

    lang = current_lang()
    new = key if lang == "en" else f"{key}-{lang}"
    if new not in st.session_state:
        saved = st.session_state.get(f"{key}::value", default)
        if saved is not None:
            st.session_state[new] = saved
    return new


def keep(key: str, value: object) -> None:
    """Remember a widget's value (a code, not a label) for the same widget in another language."""
    import streamlit as st

    st.session_state[f"{key}::value"] = value


def language_switch(key: str = "lang-switch") -> str:
    """A language select box bound to the session and to ?lang= (so a shared link keeps the language)."""
    import streamlit as st

    lang = current_lang()
    chosen = st.selectbox(
        "Language / Taal / Langue / Język / Kieli / Idioma / Língua",
        LANGS,
        index=LANGS.index(lang),
        format_func=LANG_NAMES.__getitem__,
        key=key,
        label_visibility="collapsed",
    )
    if chosen != lang:
        st.session_state["lang"] = chosen
        st.query_params["lang"] = chosen
        st.rerun()
    return chosen
