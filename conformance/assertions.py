"""``assert_conforms``: the one-line check a conformance test makes.

A failure names each divergence class that is not already known (baselined) and carries the
case as replayable JSON and a copy-paste reproducer in the backend's own API.
"""

from __future__ import annotations

import json
from collections.abc import Container

from conformance.backends.protocol import Backend
from conformance.cases import Case
from conformance.judge.evaluate import Runner, evaluate_case
from conformance.records import DIVERGENT
from conformance.report.reproducer import reproducer


class DivergenceError(AssertionError):
    """A backend diverged from the oracle outside the known (baselined) classes."""


def assert_conforms(
    backend: Backend, case: Case, known: Container[str] = frozenset(), runner: Runner | None = None
) -> None:
    """Raise DivergenceError if ``backend`` diverges on ``case`` in a class not in ``known``."""
    results = evaluate_case(backend, case, runner)
    if results is None:  # a point the oracle does not decide
        return
    new = [r for r in results if r.verdict in DIVERGENT and r.class_id(case) not in known]
    if not new:
        return
    lines = [f"{backend.name} {backend.version} diverges from the oracle:"]
    for r in new:
        lines.append(f"- {r.class_id(case)}")
        lines.append(f"  {r.description(case)}")
        if r.comparison is not None:
            c = r.comparison
            lines.append(
                f"  element {list(c.element or ())}: expected {c.expected}, got {c.got} ({c.ulp:g} ULP)"
            )
        if r.error:
            lines.append(f"  {r.error}")
    lines.append("case (replay with `bce-conformance replay`):")
    lines.append(json.dumps([case.to_json()]))
    lines.append("reproducer:")
    lines.append(reproducer(case, new[0].quantity, backend.name, backend.device))
    raise DivergenceError("\n".join(lines))
