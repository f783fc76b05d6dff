"""Other libraries are used through their public API only (the developer guide's rule).

Outside tests, no code reads or writes a private attribute of anything but `self`/`cls`
(`obj._x`), imports a library's private name or module, or uses from `self` a private name
that a library base class defines (`self._pool` in a subclass of httpx's transport); and none
assigns into another library's modules or classes (`module.name = ...`, `setattr`, a swapped
`sys.modules` entry). The checks read the source (`ast`), so a new hack fails this test
whatever library it touches; each check is shown live on the hacks this rule removed.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OWN_PACKAGES = ("config", "extractors", "matching", "store", "alerts", "flows", "newswatch", "bench", "tests")
# the standard streams are meant to be reassigned (the `sys` docs say so)
ASSIGNABLE = ("sys.stdout", "sys.stderr", "sys.stdin")
CHECKED = [path for package in OWN_PACKAGES[:-1] for path in sorted((REPO / package).rglob("*.py"))]


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def is_own(module: str | None) -> bool:
    return bool(module) and module.split(".")[0] in OWN_PACKAGES


def library_bindings(tree: ast.AST) -> set[str]:
    """Names a module binds to another library's modules or objects: its imports of them, and
    what `importlib.import_module(...)` or `sys.modules[...]` hand back."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names if not is_own(alias.name)}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and not is_own(node.module):
            bound |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Assign) and looks_up_a_module(node.value):
            bound |= {target.id for target in node.targets if isinstance(target, ast.Name)}
    return bound


def looks_up_a_module(value: ast.AST) -> bool:
    text = ast.unparse(value)
    return text.startswith(("importlib.import_module(", "import_module(", "sys.modules["))


def root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def private_accesses(tree: ast.AST) -> list[str]:
    """`obj._x` on anything but `self` or `cls` (ours or a library's: private is private), and
    private names or modules imported from libraries."""
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and is_private(node.attr)
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom) and not is_own(node.module) and node.level == 0:
            found += [f"line {node.lineno}: from {node.module} import {alias.name}" for alias in node.names
                      if is_private(alias.name) or any(map(is_private, (node.module or "").split(".")))]
        elif isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {alias.name}" for alias in node.names
                      if not is_own(alias.name) and any(map(is_private, alias.name.split(".")))]
    return found


def assignments_into_libraries(tree: ast.AST) -> list[str]:
    """`lib.x = ...`, `lib.x += ...`, `del lib.x`, `setattr(lib, ...)`, `sys.modules[...] = ...`
    (except a module of our own made by `importlib.util.module_from_spec`, registered under a
    new name before it runs, as the importlib docs' recipe for importing a source file does)."""
    bound = library_bindings(tree)
    new_modules = {target.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
                   and ast.unparse(node.value).startswith(("importlib.util.module_from_spec(", "module_from_spec("))
                   for target in node.targets if isinstance(target, ast.Name)}
    found = []
    for node in ast.walk(tree):
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("setattr", "delattr") and node.args and root_name(node.args[0]) in bound):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        for target in targets:
            if isinstance(target, ast.Attribute) and root_name(target) in bound and ast.unparse(target) not in ASSIGNABLE:
                found.append(f"line {node.lineno}: {ast.unparse(target)} = ...")
            elif (isinstance(target, ast.Subscript) and ast.unparse(target.value) == "sys.modules"
                  and not (isinstance(node, ast.Assign) and ast.unparse(node.value) in new_modules)):
                found.append(f"line {node.lineno}: {ast.unparse(target)} = ...")
    return found


def library_privates_through_self(path: Path, tree: ast.AST) -> list[str]:
    """`self._x` in a class of ours whose library base class (anywhere in its MRO) uses `_x`."""
    found = []
    module_name = ".".join(path.relative_to(REPO).with_suffix("").parts)
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef) or not node.bases:
            continue
        used = {attr.attr for attr in ast.walk(node) if isinstance(attr, ast.Attribute) and is_private(attr.attr)
                and isinstance(attr.value, ast.Name) and attr.value.id in ("self", "cls")}
        cls = getattr(importlib.import_module(module_name), node.name, None) if used else None
        if isinstance(cls, type):
            found += [f"line {node.lineno}: {problem}" for problem in library_privates_of_class(cls, used)]
    return found


def library_privates_of_class(cls: type, used: set[str]) -> list[str]:
    """Which of the private names `cls` uses a library class in its MRO defines or uses."""
    found = []
    for base in cls.__mro__[1:]:
        if is_own(base.__module__) or base.__module__ == "builtins":
            continue
        source = library_source(base)
        found += [f"{cls.__name__} uses {base.__module__}.{base.__qualname__}'s {name}"
                  for name in sorted(used) if name in vars(base) or re.search(rf"\.{name}\b", source)]
    return found


def library_source(cls: type) -> str:
    """The source files of `cls`'s methods (a class written in C has none)."""
    files = {value.__code__.co_filename for value in vars(cls).values() if hasattr(value, "__code__")}
    return "\n".join(Path(name).read_text() for name in sorted(files) if Path(name).is_file())


def check_sources(sources: dict[str, str]) -> list[str]:
    """Every boundary crossing in `sources` (name -> Python source), as 'name line N: ...'."""
    trees = {name: ast.parse(source) for name, source in sources.items()}
    return [f"{name} {problem}" for name, tree in trees.items()
            for problem in private_accesses(tree) + assignments_into_libraries(tree)]


def test_no_code_outside_tests_reaches_into_another_library():
    sources = {str(path.relative_to(REPO)): path.read_text() for path in CHECKED}
    problems = check_sources(sources)
    for path in CHECKED:
        tree = ast.parse(sources[str(path.relative_to(REPO))])
        problems += [f"{path.relative_to(REPO)} {problem}" for problem in library_privates_through_self(path, tree)]
    assert problems == []


def test_the_hacks_this_rule_removed_would_be_caught():
    """The apprise `ssl` swap, the httpx cookie jar written in (as `self._http._cookies` was),
    a patched library class, a swapped module, a private helper imported from a library."""
    hacks = {
        "swap_ssl": "import importlib\nmodule = importlib.import_module('apprise.plugins.email.smtp')\n"
                    "module.ssl = object()\n",
        "cookie_jar": "class Client:\n    def __init__(self, http):\n        self._cookies = self._http._cookies = {}\n",
        "read_private": "import httpx\nprint(httpx.Client()._transport)\n",
        "patch_class": "from prefect import Flow\nFlow.serialize_parameters = lambda self, p: p\n",
        "set_attr": "import gc\nsetattr(gc, 'freeze', print)\n",
        "sys_modules": "import sys\nsys.modules['ssl'] = None\n",
        "sys_modules_swap": "import importlib.util, sys\nfake = importlib.util.module_from_spec(spec)\n"
                            "sys.modules['ssl'] = object()\n",
        "private_import": "from httpx._transports.default import map_httpcore_exceptions\n",
    }
    found = check_sources(hacks)
    assert {problem.split()[0] for problem in found} == set(hacks), found
    recipe = ("import importlib.util, sys\nspec = importlib.util.spec_from_file_location('bench_x', 'bench/x.py')\n"
              "module = importlib.util.module_from_spec(spec)\nsys.modules[spec.name] = module\n")
    assert check_sources({"own_module_by_path": recipe}) == []


def test_a_subclass_using_its_library_base_class_privates_is_caught():
    """The old fetch transport replaced `httpx.HTTPTransport._pool` from its subclass."""
    import httpx

    class PoolSwapped(httpx.HTTPTransport):
        def __init__(self) -> None:
            super().__init__()
            self._pool = None

    assert library_privates_of_class(PoolSwapped, {"_pool"}) == [
        "PoolSwapped uses httpx.HTTPTransport's _pool"]
    assert library_privates_of_class(PoolSwapped, {"_our_own_name"}) == []
