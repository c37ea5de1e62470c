"""Coverage accounting: how many comparisons an audit actually made, cell by cell.

A *cell* is (function, dtype, reduction, API form, weight form, pos_weight form, quantity), with
the reduction resolved (a legacy pair counts under what it resolves to) and the API form one of
``functional``, ``module``, ``legacy``. A *value comparison* is one quantity of one case judged
against the oracle's correctly rounded array (whatever the verdict); a *contract check* is one
case whose documented contract is violated, judged on whether the backend raised. Calls the
backend declines (``unsupported``) are not cases and compare nothing: their cells stay at zero
and are listed as untested, with the backend's reason.

The expected cells of a (function, dtype) are those of the structures the hunt visits
(conformance.hunt.structures) and the quantities each structure has.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from conformance.cases import Case
from conformance.hunt.structures import structures, weight_form_of

CellKey = tuple[str, str, str, str, str, str, str]


def api_form(case: Case) -> str:
    return "legacy" if case.legacy is not None else case.api


def cell_of(case: Case, quantity: str) -> CellKey:
    shape = case.target.shape
    return (
        case.function,
        case.dtype,
        case.effective_reduction,
        api_form(case),
        weight_form_of(case.weight, shape),
        weight_form_of(case.pos_weight, shape),
        quantity,
    )


def expected_cells(function: str, dtype: str) -> set[CellKey]:
    cells = set()
    for s in structures(function):
        quantities = ["value", "grad_input", "grad_target"]
        if s.weight != "none":
            quantities.append("grad_weight")
        if s.pos_weight != "none":
            quantities.append("grad_pos_weight")
        for q in quantities:
            cells.add((function, dtype, s.reduction, s.api, s.weight, s.pos_weight, q))
    return cells


@dataclass
class Coverage:
    value_comparisons: Counter = field(default_factory=Counter)
    contract_checks: Counter = field(default_factory=Counter)
    declined: dict[CellKey, str] = field(default_factory=dict)  # cell -> the backend's reason

    def compared(self, case: Case, quantity: str) -> None:
        self.value_comparisons[cell_of(case, quantity)] += 1

    def contract(self, case: Case) -> None:
        self.contract_checks[cell_of(case, "value")] += 1

    def decline(self, case: Case, quantities: tuple[str, ...], reason: str) -> None:
        for q in quantities:
            self.declined.setdefault(cell_of(case, q), reason)

    def declare_missing_weights(self, functions, dtypes, weights, backend: str) -> None:
        """Record why the cells with a weight argument ``backend`` does not declare are
        never reached (the hunt does not generate them: Accepts)."""
        for f in functions:
            for d in dtypes:
                for cell in expected_cells(f, d):
                    lacking = [
                        name
                        for name, form in (("weight", cell[4]), ("pos_weight", cell[5]))
                        if form != "none" and name not in weights
                    ]
                    if lacking:
                        self.declined.setdefault(
                            cell, f"{backend} has no {' or '.join(lacking)} argument"
                        )

    def untested(self, functions, dtypes) -> dict[CellKey, str]:
        """Every expected cell with no value comparison, with the reason."""
        out = {}
        for f in functions:
            for d in dtypes:
                for cell in sorted(expected_cells(f, d)):
                    if self.value_comparisons[cell] == 0:
                        out[cell] = self.declined.get(cell, "no case of the hunt reached it")
        return out

    def rows(self) -> list[list]:
        """The table as rows ``[*cell, value comparisons, contract checks]`` (sorted)."""
        cells = set(self.value_comparisons) | set(self.contract_checks)
        return [[*c, self.value_comparisons[c], self.contract_checks[c]] for c in sorted(cells)]
