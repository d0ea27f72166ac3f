"""``tlsdoctor.observations`` is the one import point of the vocabulary (ARCHITECTURE.md): its registry
(``_HOME``, ``__all__`` and the TYPE_CHECKING imports that give type checkers the same names) must list
every Observation subclass and every enum the observation modules define, and each kind once."""

from __future__ import annotations

import ast
import enum
import importlib
import inspect
import pkgutil
from pathlib import Path

import tlsdoctor.observations as observations
from tlsdoctor.observations.base import Observation


def _defined() -> dict[str, tuple[str, type]]:
    """name -> (module, class) of every Observation subclass and enum defined under observations/."""
    found: dict[str, tuple[str, type]] = {}
    for info in pkgutil.iter_modules(observations.__path__):
        module = importlib.import_module(f"tlsdoctor.observations.{info.name}")
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and value.__module__ == module.__name__
                and issubclass(value, Observation | enum.Enum)
            ):
                assert name not in found, f"{name} is defined in two observation modules"
                found[name] = (info.name, value)
    return found


def _type_checking_names() -> set[str]:
    """The names the ``if TYPE_CHECKING:`` block of observations/__init__.py imports."""
    tree = ast.parse(Path(observations.__file__).read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    return {alias.name for node in block.body if isinstance(node, ast.ImportFrom) for alias in node.names}


def test_every_observation_and_enum_is_registered_where_it_lives() -> None:
    defined = _defined()
    assert {"HandshakeAttempt", "TcpConnect", "CapturedFlow", "FdUsage", "HelloEnd"} <= set(defined)
    unregistered = sorted(set(defined) - set(observations._HOME))
    assert not unregistered, f"add to tlsdoctor/observations/__init__.py: {unregistered}"
    for name, (module, cls) in defined.items():
        assert observations._HOME[name] == module, name
        assert getattr(observations, name) is cls, name


def test_the_registry_the_exports_and_the_static_imports_agree() -> None:
    names = set(observations._HOME)
    assert set(observations.__all__) == names
    assert _type_checking_names() == names
    assert len(observations.__all__) == len(names)  # no name twice
    for name in names:
        getattr(observations, name)  # every entry resolves (a wrong module raises)


def test_each_observation_kind_names_one_class() -> None:
    """``kind`` is what the JSON ``checks[].data`` carries: two classes sharing one would read as one."""
    seen: dict[str, str] = {}
    for name, (_, cls) in _defined().items():
        if issubclass(cls, Observation) and cls is not Observation:
            kind = cls.kind
            assert kind != Observation.kind, f"{name} has no kind of its own"
            assert kind not in seen, f"{name} and {seen[kind]} share kind {kind!r}"
            seen[kind] = name
