"""The package stays easy to live in: short functions and modules, and a torch-free star
import (the light install must never need torch)."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pytext_psych"
MAX_FUNCTION = 60  # lines of body (docstring excluded)
MAX_MODULE = 400


def _body_lines(node: ast.FunctionDef) -> int:
    body = node.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return node.end_lineno - body[0].lineno + 1


def test_functions_and_modules_are_short():
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text()
        lines = source.splitlines()
        if len(lines) > MAX_MODULE:
            too_long.append(f"{path.name}: {len(lines)} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _body_lines(node) > MAX_FUNCTION:
                too_long.append(f"{path.name}:{node.lineno} {node.name}: {_body_lines(node)} lines")
    assert not too_long, too_long


def test_no_statements_joined_on_one_line():
    """The limits above are met by splitting, never by squeezing: one statement a line."""
    joined = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            body = getattr(node, "body", None)
            if isinstance(body, list):
                starts = [n.lineno for n in body if isinstance(n, ast.stmt)]
                joined += [f"{path.relative_to(PACKAGE)}:{n}" for n in set(starts) if starts.count(n) > 1]
    assert not joined, joined


def test_fit_text_model_reads_as_its_steps():
    from pytext_psych import fit

    tree = ast.parse((PACKAGE / "fit.py").read_text())
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "fit_text_model")
    assert _body_lines(node) <= 40
    assert fit.fit_text_model.__doc__


def test_star_import_does_not_import_torch():
    code = ("import sys\nfrom pytext_psych import *\n"
            "heavy = [m for m in ('torch', 'transformers', 'sklearn') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_suites_file_timings_name_existing_files():
    """conftest's ``SECONDS`` orders the test files for the test workers: a file renamed
    without it would drop to the end of the run unnoticed."""
    from conftest import SECONDS

    tests = Path(__file__).parent
    assert [name for name in SECONDS if not (tests / name).is_file()] == []
