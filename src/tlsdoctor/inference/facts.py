"""Facts: the observations of a run, with typed queries for rules."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from tlsdoctor.model import CheckResult, Evidence, Status
from tlsdoctor.observations.base import Observation

Obs = TypeVar("Obs", bound=Observation)


class Facts:
    """Every observation, each remembered with the check that made it."""

    def __init__(self, results: Iterable[CheckResult]) -> None:
        self.results: tuple[CheckResult, ...] = tuple(results)
        self._pairs: tuple[tuple[str, Observation], ...] = tuple(
            (r.id, o) for r in self.results for o in r.observations
        )

    def all(self, kind: type[Obs]) -> list[Obs]:
        """Every observation of a type, in check order."""
        return [o for _, o in self._pairs if isinstance(o, kind)]

    def with_check(self, kind: type[Obs]) -> Iterator[tuple[str, Obs]]:
        """(check id, observation) pairs of a type."""
        for check, obs in self._pairs:
            if isinstance(obs, kind):
                yield check, obs

    def first(self, kind: type[Obs]) -> Obs | None:
        """The first observation of a type, if any."""
        for _, obs in self._pairs:
            if isinstance(obs, kind):
                return obs
        return None

    def evidence(self, obs: Observation) -> Evidence:
        """Evidence naming the check that observed ``obs``."""
        for check, o in self._pairs:
            if o is obs:
                return Evidence(check=check, observation=obs.describe())
        return Evidence(check="?", observation=obs.describe())

    def status(self, check_id: str) -> Status | None:
        """The status of a check by id (None when it did not run)."""
        for r in self.results:
            if r.id == check_id:
                return r.status
        return None

    @property
    def any_failed(self) -> bool:
        """Whether any check failed, warned or errored (``healthy`` needs none)."""
        return any(r.status in (Status.FAIL, Status.ERROR) for r in self.results)
