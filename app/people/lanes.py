"""The lanes our diagrams use, named after the role that works in them — in English, Kazakh or Russian.

A lane's English name is its role's name in the catalogues (``ROLE_LABELS``' msgid), so the Kazakh and Russian
catalogues give its other names: "Мектеп бухгалтері" and "Бухгалтер школы" name the school accountant's lane."""

from babel.support import Translations

from app.config import PROJECT_ROOT
from app.engine.lanes import register_lane
from app.people.roles import ROLE_LABELS, Role

#: the catalogues a lane's name is read in besides English
LANE_LANGUAGES = ("kk", "ru")


def _names_in(languages: tuple[str, ...], msgid: str) -> list[str]:
    """``msgid`` in each language's compiled catalogue (none compiled: English only, as the pages then are)."""
    catalogues = [Translations.load(str(PROJECT_ROOT / "translations"), [language]) for language in languages]
    return [words for words in (c.gettext(msgid) for c in catalogues) if words != msgid]


for _name, _role in {
    "School accountant": Role.SCHOOL_ACCOUNTANT,
    "School director": Role.SCHOOL_DIRECTOR,
    "Dormitory accountant": Role.DORMITORY_ACCOUNTANT,
    "Dormitory director": Role.DORMITORY_DIRECTOR,
    "Department official": Role.DEPARTMENT_OFFICIAL,
    "Department head": Role.DEPARTMENT_HEAD,
    "Operator": Role.OPERATOR,
}.items():
    register_lane(_name, _role.value, label=ROLE_LABELS[_role], also=_names_in(LANE_LANGUAGES, _name))
