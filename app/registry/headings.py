"""The columns of a registry file as other agencies head them: in Russian or Kazakh as well as by our names.

NEDB's and the justice ministry's exports are headed in Russian or Kazakh ("ИИН", "ЖСН", "Дата выбытия"). Refused as
missing columns, the operator retyped the headings by hand; worse, a file with our required columns and a Russian
"Дата выбытия" loaded without its withdrawals — a column the file lacks keeps its stored value (an absent column is
not an empty one), so the children who had left stayed enrolled, and paid. A heading below names its column as
surely as ours does, so it is read as that column. A heading the import does not know is named in its report.
"""

from __future__ import annotations

from collections.abc import Collection

#: {column: headings that name it}, compared as :func:`app.registry.importers.heading_key` compares headings (case,
#: spaces and underscores do not matter). "БИН"/"БСН" alone name the kind's only BIN column
#: (:func:`columns_by_heading`).
_ALIASES: dict[str, tuple[str, ...]] = {
    "iin": ("ИИН", "ЖСН", "ИИН обучающегося", "ИИН учащегося", "ИИН ученика", "ИИН студента", "Оқушының ЖСН",
            "Білім алушының ЖСН"),
    "full_name": ("ФИО", "Ф.И.О.", "Ф. И. О.", "ФИО обучающегося", "ФИО учащегося", "ФИО ученика", "ФИО студента",
                  "Аты-жөні", "Аты жөні", "Тегі, аты, әкесінің аты", "Т.А.Ә.", "ТАӘ", "Оқушының аты-жөні"),
    "school_bin": ("БИН школы", "БИН организации образования", "БИН организации", "Мектептің БСН", "Мектеп БСН",
                   "Білім беру ұйымының БСН", "Ұйымның БСН"),
    "school_kind": ("Вид школы", "Тип школы", "Форма собственности", "Мектеп түрі", "Меншік нысаны"),
    "grade": ("Класс", "Сынып"),
    "enrolled_on": ("Дата зачисления", "Дата поступления", "Зачислен", "Қабылданған күні", "Қабылдау күні",
                    "Оқуға қабылданған күні"),
    "withdrawn_on": ("Дата выбытия", "Дата отчисления", "Выбыл", "Шыққан күні", "Шығу күні", "Оқудан шығарылған күні"),
    "number": ("Номер", "Номер лицензии", "Номер документа", "Лицензия нөмірі", "Лицензияның нөмірі",
               "Құжат нөмірі", "Нөмірі"),
    "valid_from": ("Дата выдачи", "Действует с", "Дата начала", "Берілген күні", "Қолданылу басы"),
    "valid_until": ("Действует до", "Дата окончания", "Срок действия", "Қолданылу мерзімі", "Аяқталу күні"),
    "levels": ("Уровни образования", "Уровни", "Уровень образования", "Білім беру деңгейлері", "Деңгейлер"),
    "name": ("Наименование", "Наименование организации", "Название", "Атауы", "Ұйымның атауы"),
    "status": ("Статус", "Состояние", "Мәртебесі", "Мәртебе"),
    "oked": ("ОКЭД", "Код ОКЭД", "Основной ОКЭД", "ЭҚЖЖ", "ЭҚЖЖ коды"),
    "liquidated_on": ("Дата ликвидации", "Таратылған күні", "Тарату күні"),
    "institution_bin": ("БИН вуза", "БИН колледжа", "БИН учебного заведения", "Оқу орнының БСН"),
    "course": ("Курс",),
    "study_form": ("Форма обучения", "Оқу нысаны"),
    "home_region": ("Регион", "Область", "Регион проживания", "Өңір", "Облыс"),
    "dormitory_bin": ("БИН общежития", "Жатақхананың БСН", "Жатақхана БСН"),
    "room": ("Комната", "Номер комнаты", "Бөлме", "Бөлме нөмірі"),
    "bed": ("Место", "Койко-место", "Номер места", "Орын", "Төсек-орын"),
    "kind": ("Вид документа", "Тип документа", "Құжат түрі"),
}
_BIN_ALONE = ("БИН", "БСН", "BIN")


def columns_by_heading(columns: Collection[str], key) -> dict[str, str]:
    """{heading as ``key`` normalises it: column} for a kind's ``columns`` — the columns' own names and the headings
    above. ``key``: the importers' heading normaliser (passed in: this module is imported by it)."""
    found = {key(column): column for column in columns}
    for column in columns:
        for alias in _ALIASES.get(column, ()):
            found.setdefault(key(alias), column)
    bins = [c for c in columns if c == "bin" or c.endswith("_bin")]
    if len(bins) == 1:  # "БИН" alone is unambiguous only where the kind has one BIN
        for alias in _BIN_ALONE:
            found.setdefault(key(alias), bins[0])
    return found
