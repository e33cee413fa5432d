"""The test suite's own rules (issue 17): browser tests are marked, and tests write only to temporary folders."""

from __future__ import annotations

import ast
import os
from pathlib import Path


def _browser_modules(project_root: Path) -> list[Path]:
    return sorted((project_root / "tests" / "e2e").glob("test_*.py"))


def _marks_e2e(module: Path) -> bool:
    """True when the module says ``pytestmark = pytest.mark.e2e`` at top level."""
    for node in ast.parse(module.read_text(encoding="utf-8")).body:
        if (isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "pytestmark" for t in node.targets)
                and ast.unparse(node.value) == "pytest.mark.e2e"):
            return True
    return False


def test_every_browser_test_module_is_marked_e2e(project_root):
    modules = _browser_modules(project_root)
    assert len(modules) >= 9
    assert [m.name for m in modules if not _marks_e2e(m)] == []


def test_the_marker_check_sees_an_unmarked_module(tmp_path):
    unmarked = tmp_path / "test_x.py"
    unmarked.write_text("import pytest\n\ndef test_x():\n    pass\n")
    assert not _marks_e2e(unmarked)
    unmarked.write_text("import pytest\n\npytestmark = pytest.mark.e2e\n")
    assert _marks_e2e(unmarked)


def test_the_app_under_test_keeps_its_instance_folder_outside_the_repository(app, project_root):
    instance = Path(app.instance_path).resolve()
    assert not instance.is_relative_to(project_root.resolve())
    if not os.environ.get("SECRET_KEY"):  # the generated secret key lives there, not in the repository
        assert (instance / "secret_key").exists()
