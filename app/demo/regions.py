"""The 17 oblasts and 3 cities of republican significance: (code, kk, ru, en)."""

REGIONS = [
    ("ABAI", "Абай облысы", "Абайская область", "Abai Region"),
    ("AKMOLA", "Ақмола облысы", "Акмолинская область", "Akmola Region"),
    ("AKTOBE", "Ақтөбе облысы", "Актюбинская область", "Aktobe Region"),
    ("ALMATY_REG", "Алматы облысы", "Алматинская область", "Almaty Region"),
    ("ATYRAU", "Атырау облысы", "Атырауская область", "Atyrau Region"),
    ("WKO", "Батыс Қазақстан облысы", "Западно-Казахстанская область", "West Kazakhstan Region"),
    ("ZHAMBYL", "Жамбыл облысы", "Жамбылская область", "Zhambyl Region"),
    ("ZHETISU", "Жетісу облысы", "Область Жетісу", "Zhetisu Region"),
    ("KARAGANDY", "Қарағанды облысы", "Карагандинская область", "Karaganda Region"),
    ("KOSTANAY", "Қостанай облысы", "Костанайская область", "Kostanay Region"),
    ("KYZYLORDA", "Қызылорда облысы", "Кызылординская область", "Kyzylorda Region"),
    ("MANGYSTAU", "Маңғыстау облысы", "Мангистауская область", "Mangystau Region"),
    ("PAVLODAR", "Павлодар облысы", "Павлодарская область", "Pavlodar Region"),
    ("NKO", "Солтүстік Қазақстан облысы", "Северо-Казахстанская область", "North Kazakhstan Region"),
    ("TURKISTAN", "Түркістан облысы", "Туркестанская область", "Turkistan Region"),
    ("ULYTAU", "Ұлытау облысы", "Область Ұлытау", "Ulytau Region"),
    ("EKO", "Шығыс Қазақстан облысы", "Восточно-Казахстанская область", "East Kazakhstan Region"),
    ("ASTANA", "Астана қаласы", "город Астана", "Astana city"),
    ("ALMATY", "Алматы қаласы", "город Алматы", "Almaty city"),
    ("SHYMKENT", "Шымкент қаласы", "город Шымкент", "Shymkent city"),
]
