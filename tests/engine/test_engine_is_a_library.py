"""The engine is a library the domain calls (DESIGN.md): no module of app/engine imports a domain package; the
domain plugs in who sees what, who stands in for whom and its identifier formats."""

from __future__ import annotations

import ast
from pathlib import Path

import app.engine
from app.engine import access, forms

ENGINE = Path(app.engine.__file__).parent
#: what the engine may use besides itself: the database, the clock, configuration and the platform services
#: every part writes through (the audit trail's one door, observability)
PLATFORM = ("app.engine", "app.extensions", "app.clock", "app.database", "app.observability", "app.audit", "app.config",
            "app.i18n", "app.security")


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module if node.module != "app" else f"app.{node.names[0].name}")
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return [name for name in found if name == "app" or name.startswith("app.")]


def test_no_engine_module_imports_a_domain_package():
    offending = {f"{path.name}: {name}" for path in ENGINE.glob("*.py") for name in _imports(path)
                 if not name.startswith(PLATFORM)}
    assert offending == set()


def test_the_domain_plugs_its_rules_in(app):
    from app.people import access as people_access
    from app.people import substitutions

    assert access._rules["scope"] is people_access.can_see
    assert access._rules["substitution"] is substitutions.principal_for
    assert {"iin", "bin", "iban-kz"} <= forms.DOMAIN_FORMATS
    assert {"iin", "bin", "iban-kz"} <= set(forms.FORMAT_CHECKER.checkers)


def test_without_a_rule_nobody_sees_anything(monkeypatch):
    monkeypatch.setitem(access._rules, "scope", access._nobody)
    monkeypatch.setitem(access._rules, "substitution", access._no_deputy)
    assert access.can_see(object(), 1, 1) is False
    assert access.principal_for(object(), object()) is None


def test_a_registered_format_checks_strings_only():
    forms.register_format("test-even", lambda value: len(value) % 2 == 0)
    try:
        assert forms.FORMAT_CHECKER.conforms("ab", "test-even")
        assert not forms.FORMAT_CHECKER.conforms("abc", "test-even")
        assert forms.FORMAT_CHECKER.conforms(3, "test-even")
    finally:
        forms.DOMAIN_FORMATS.discard("test-even")
        forms.FORMAT_CHECKER.checkers.pop("test-even", None)
