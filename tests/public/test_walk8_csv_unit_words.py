"""A citizen downloads the months' table as CSV in Kazakh or Russian (walk8): the unit column's heading said
"Бірлік (бала-ай немесе орын-ай)" / "Единица (обучающийся-месяц или место-месяц)" and every cell under it said
"child-month" — English on a Kazakh or Russian file, a word its heading did not use. The CSV now says the unit in the
reader's language; the JSON keeps the code (a program reads it). Needs the kk/ru lines of TRANSLATIONS.jsonl."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import Browser
from tests.helpers import add_paid_history


@pytest.fixture()
def world(world):
    assert add_paid_history() == 2
    return world


@pytest.mark.parametrize("language, heading, word", [
    ("kk", "Бірлік (бала-ай немесе орын-ай)", "бала-ай"),
    ("ru", "Единица (обучающийся-месяц или место-месяц)", "обучающийся-месяц"),
    ("en", "Unit (child-month or place-month)", "child-month"),
])
def test_the_csv_says_the_unit_in_the_readers_language(world, app, language, heading, word):
    visitor = Browser(app)
    visitor.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    for dataset in ("months", "regions", "schools"):
        body = visitor.get(f"/public/data/{dataset}.csv?instrument=schools").get_data(as_text=True)
        rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
        assert rows, dataset
        assert {row[heading] for row in rows} == {word}, dataset
    document = json.loads(visitor.get("/public/data/months.json?instrument=schools").get_data(as_text=True))
    assert {row["funded_unit"] for row in document["rows"]} == {"child-month"}  # the code, for programs
