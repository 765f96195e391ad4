"""The surge model as a stock-and-flow spec, built from its validated tables.

:func:`build_surge_spec` is the one entry point: a model with a capacity table
is built by :func:`simulator.surge._capacity.build_capacity_spec` (waiting
lists, escalation, drop-out), any other by :func:`surge_spec`.  Both assemble
the declarations of :mod:`simulator.surge._surge_parts` (where the surge
model's equations are described) and :mod:`simulator.surge._surge_flows`.
"""

from __future__ import annotations

from simulator.core._spec import ModelSpec, Stock
from simulator.core._strata_transform import stratify_all
from simulator.surge._capacity import build_capacity_spec
from simulator.surge._surge_flows import contacts_output, new_treatment_flow, surge_flows, surge_stocks
from simulator.surge._surge_parts import SURGE_RECORD, common_meta, surge_parts
from simulator.surge._tables import SurgeTables

__all__ = ["build_surge_spec", "surge_spec"]


def build_surge_spec(t: SurgeTables) -> ModelSpec:
    """Build the spec of a surge model from its tables (with waiting lists if it has capacity).

    Parameters
    ----------
    t
        Validated surge tables (:func:`simulator.surge._tables.check_tables`).

    Returns
    -------
    ModelSpec
        The capacity model's spec if ``t`` has a capacity table, else the surge model's;
        stratified by the declarations in ``t.meta["strata"]``, if any
        (:func:`simulator.core._strata_transform.stratify_all`).

    Raises
    ------
    simulator.core._strata.StrataError
        If a strata declaration does not fit the model.
    """
    spec = build_capacity_spec(t) if t.has_capacity else surge_spec(t)
    strata = t.meta.get("strata") or ()
    return stratify_all(spec, strata) if strata else spec  # type: ignore[arg-type]


def surge_spec(t: SurgeTables) -> ModelSpec:
    """The Strategy Unit's surge model: every referral accepted starts at once.

    Parameters
    ----------
    t
        Validated surge tables (a capacity table, if any, is ignored).

    Returns
    -------
    ModelSpec
        Stocks ``no_mh_needs``, ``at_risk[group]`` and ``treatment[path]`` (people),
        the six surge flows (people per month) and the output ``contacts``
        (contacts per month).
    """
    parts = surge_parts(t)
    sp = parts.spaces
    caseload = Stock("treatment", sp.path, 0.0, "people", "caseload: people in the service, by path")
    return ModelSpec(
        dims=sp.dims,
        stocks=surge_stocks(sp, caseload),
        flows=surge_flows(sp, new_treatment_flow()),
        params=parts.params,
        series=parts.series,
        auxes=parts.auxes,
        outputs=(contacts_output("contacts the caseload needs each month"),),
        meta={"kind": "surge", "record": SURGE_RECORD, **common_meta()},
        **parts.header,
    )
