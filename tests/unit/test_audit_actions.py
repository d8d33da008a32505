"""Every action Berth records is in AuditAction: a walk over every audit_record call site in images_app.

The walk reads the source (no database): each `action=` given to audit_record is resolved to its
possible values: a literal, an `AuditAction.X`, a parameter of a helper that forwards it (then every
call of that helper is resolved in turn), or a name taken from a module-level table of actions.
Whatever cannot be resolved fails the test, so a new call site cannot slip past it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from images_app.models.audit import AuditAction
from images_app.services.audit import KNOWN_ACTIONS, audit_record

APP = Path(__file__).resolve().parents[2] / "images_app"
RECORDER = "audit_record"


@dataclass(frozen=True)
class Site:
    path: Path
    line: int
    function: str  # the enclosing function's name ("" at module level)

    def __str__(self) -> str:
        return f"{self.path.relative_to(APP.parent)}:{self.line} ({self.function or 'module'})"


class Module:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.tree = ast.parse(path.read_text(), filename=str(path))
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
        self.tables = {
            target.id: node.value
            for node in self.tree.body
            if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Dict)
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)
        }

    def function_of(self, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return node
        return None


MODULES = [Module(path) for path in sorted(APP.rglob("*.py")) if "migrations" not in path.parts]


def _called_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _calls_of(name: str) -> list[tuple[Module, ast.Call]]:
    return [
        (module, node)
        for module in MODULES
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Call) and _called_name(node) == name
    ]


def _action_argument(call: ast.Call, name: str = "action", position: int | None = None) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    if position is not None and position < len(call.args):
        return call.args[position]
    return None


def _table_values(module: Module, table: ast.Dict) -> list[ast.expr]:
    # A table of actions maps a status to an action, or to (action, outcome).
    return [value.elts[0] if isinstance(value, ast.Tuple) else value for value in table.values if value is not None]


def _resolve(module: Module, call: ast.Call, expr: ast.expr, seen: frozenset[str]) -> set[str]:
    """The action strings `expr` can be at this call; AssertionError naming the site when unknown."""
    site = Site(module.path, call.lineno, getattr(module.function_of(call), "name", ""))
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return {expr.value}
    if isinstance(expr, ast.IfExp):  # `"a" if created else "b"`: both can be recorded
        return _resolve(module, call, expr.body, seen) | _resolve(module, call, expr.orelse, seen)
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "AuditAction":
        assert expr.attr in AuditAction.names, f"{site}: AuditAction.{expr.attr} does not exist"
        return {AuditAction[expr.attr].value}
    function = module.function_of(call)
    if isinstance(expr, ast.Name) and function is not None:
        parameters = {arg.arg for arg in (*function.args.args, *function.args.kwonlyargs)}
        if expr.id in parameters:
            # A helper forwarding its caller's action: resolve every call of the helper.
            assert function.name not in seen, f"{site}: recursion through {function.name}"
            callers = _calls_of(function.name)
            assert callers, f"{site}: {function.name} forwards `action` but nothing calls it"
            values: set[str] = set()
            positional = [arg.arg for arg in function.args.args]
            position = positional.index(expr.id) if expr.id in positional else None
            for caller_module, caller in callers:
                argument = _action_argument(caller, expr.id, position)
                assert argument is not None, f"{Site(caller_module.path, caller.lineno, '')}: no {expr.id} given"
                values |= _resolve(caller_module, caller, argument, seen | {function.name})
            return values
        for node in ast.walk(function):
            # `action, outcome = TABLE[...]` or `action = TABLE[...]` from a module-level dict.
            if not isinstance(node, ast.Assign) or not isinstance(node.value, ast.Subscript):
                continue
            names = [t for target in node.targets for t in ast.walk(target) if isinstance(t, ast.Name)]
            table = node.value.value
            if expr.id in {name.id for name in names} and isinstance(table, ast.Name) and table.id in module.tables:
                values = set()
                for value in _table_values(module, module.tables[table.id]):
                    values |= _resolve(module, call, value, seen)
                return values
    raise AssertionError(f"{site}: cannot tell which action {ast.unparse(expr)} records; use AuditAction")


def recorded_actions() -> dict[str, list[str]]:
    """Each action recorded anywhere in images_app, with the call sites that can record it."""
    found: dict[str, list[str]] = {}
    for module, call in _calls_of(RECORDER):
        argument = _action_argument(call)
        site = Site(module.path, call.lineno, getattr(module.function_of(call), "name", ""))
        assert argument is not None, f"{site}: audit_record without action="
        for action in _resolve(module, call, argument, frozenset()):
            found.setdefault(action, []).append(str(site))
    return found


def test_the_walk_finds_the_call_sites_it_must():
    # Guards the walk itself: if it found nothing it would prove nothing.
    found = recorded_actions()
    assert sum(len(sites) for sites in found.values()) >= 25
    assert {"login_locked_out", "pull_failed", "image_remove_skipped", "user_deactivated", "cleanup_expired"} <= set(
        found
    )


def test_every_recorded_action_is_in_the_enum():
    unknown = {action: sites for action, sites in recorded_actions().items() if action not in AuditAction.values}
    assert not unknown, f"actions recorded but not in AuditAction: {unknown}"


def test_every_action_in_the_enum_is_recorded_somewhere():
    # The history's filter offers the enum: an action nothing records would be a filter that lies.
    never = set(AuditAction.values) - set(recorded_actions())
    assert not never, f"in AuditAction but recorded nowhere: {sorted(never)}"


def test_the_history_filter_offers_exactly_the_enum():
    assert set(KNOWN_ACTIONS) == set(AuditAction.values)
    assert len(KNOWN_ACTIONS) == len(set(KNOWN_ACTIONS))


@pytest.mark.parametrize("action", ["pull_started", "images_pruned", "removal_bulk", "", "Login"])
def test_audit_record_refuses_an_action_outside_the_enum(action):
    # Refused before any database access: no row, no chain link.
    with pytest.raises(ValueError, match="Unknown audit action"):
        audit_record(action=action, outcome="success")
