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


def _test_modules(project_root: Path) -> list[Path]:
    return sorted((project_root / "tests").rglob("*.py"))


def test_every_module_that_drives_a_browser_is_marked_e2e(project_root):
    """Playwright anywhere in the suite, not only under tests/e2e (their conftest is not a test module)."""
    drivers = [m for m in _test_modules(project_root)
               if m.name.startswith("test_") and m.name != "test_suite_hygiene.py"
               and "playwright" in m.read_text(encoding="utf-8")]
    assert drivers, "the browser tests were found"
    assert [str(m.relative_to(project_root)) for m in drivers if not _marks_e2e(m)] == []


def _repository_paths_into_instance(module: Path) -> list[int]:
    """Lines where a path is built from the repository (``__file__``, ``project_root``) into ``instance``."""
    found = []
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and \
                isinstance(node.right, ast.Constant) and node.right.value == "instance":
            left = ast.unparse(node.left)
            if "__file__" in left or "project_root" in left or "ROOT" in left:
                found.append(node.lineno)
    return found


def _apps_without_instance_path(module: Path) -> list[int]:
    return [node.lineno for node in ast.walk(ast.parse(module.read_text(encoding="utf-8")))
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("create_app")
            and not any(k.arg == "instance_path" for k in node.keywords)]


def _app_processes_without_instance_path(module: Path) -> bool:
    """A module that starts the app in another process (a Celery worker, the WSGI app, ``flask``) without giving
    it ``INSTANCE_PATH``: that process would keep its audit keys and anchors in the repository's instance/."""
    text = module.read_text(encoding="utf-8")
    starts_app = "subprocess" in text and any(m in text for m in ("app.celery_worker", "wsgi:", '"flask"'))
    return starts_app and "INSTANCE_PATH" not in text


def test_no_test_writes_into_the_repositorys_instance_folder(project_root):
    """Every app a test builds has a temporary instance folder, and no test builds a path into instance/."""
    modules = [m for m in _test_modules(project_root) if m.name != "test_suite_hygiene.py"]
    assert [str(m.relative_to(project_root)) for m in modules if _app_processes_without_instance_path(m)] == []
    assert {str(m.relative_to(project_root)): _apps_without_instance_path(m) for m in modules
            if _apps_without_instance_path(m)} == {}
    assert {str(m.relative_to(project_root)): _repository_paths_into_instance(m) for m in modules
            if _repository_paths_into_instance(m)} == {}


def test_the_instance_checks_see_what_they_look_for(tmp_path):
    bad = tmp_path / "test_bad.py"
    bad.write_text('from pathlib import Path\nfrom app import create_app\n'
                   'SHOTS = Path(__file__).parent.parent / "instance"\napp = create_app({})\n')
    assert _repository_paths_into_instance(bad) == [3]
    assert _apps_without_instance_path(bad) == [4]
    good = tmp_path / "test_good.py"
    good.write_text('def test_x(tmp_path):\n    p = tmp_path / "instance"\n    create_app({}, instance_path=str(p))\n')
    assert (_repository_paths_into_instance(good), _apps_without_instance_path(good)) == ([], [])
    worker = tmp_path / "test_worker.py"
    worker.write_text('import subprocess\nsubprocess.Popen(["celery", "-A", "app.celery_worker", "worker"], env={})\n')
    assert _app_processes_without_instance_path(worker)
    worker.write_text('import subprocess\nsubprocess.Popen(["celery", "-A", "app.celery_worker", "worker"], '
                      'env={"INSTANCE_PATH": "/tmp/x"})\n')
    assert not _app_processes_without_instance_path(worker)


def _loose_status_assertions(module: Path) -> list[int]:
    """``assert response.status_code in (…)``: a test that accepts several answers cannot tell them apart."""
    found = []
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assert):
            for compare in ast.walk(node.test):
                if (isinstance(compare, ast.Compare) and ast.unparse(compare.left).endswith("status_code")
                        and any(isinstance(op, ast.In) for op in compare.ops)):
                    found.append(node.lineno)
    return found


def test_no_test_accepts_several_status_codes(project_root):
    modules = [m for m in _test_modules(project_root) if m.name != "test_suite_hygiene.py"]
    assert {str(m.relative_to(project_root)): _loose_status_assertions(m) for m in modules
            if _loose_status_assertions(m)} == {}


def test_the_loose_status_check_sees_what_it_looks_for(tmp_path):
    module = tmp_path / "test_loose.py"
    module.write_text("def test_x(r):\n    assert r.status_code == 200\n    assert r.status_code in (200, 422)\n"
                      "    assert r.ok and r.status_code in {302, 303}\n")
    assert _loose_status_assertions(module) == [3, 4]
