"""Recording plans: which quantities a run records, and the space each is reduced to."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from simulator.core._compiler import CompiledModel
from simulator.core._kernel import RecordItem
from simulator.core._run_params import RunError
from simulator.core._spaces import SCALAR, Space, aggregation_matrix
from simulator.core._spec import ModelSpec

__all__ = ["make_record"]


def make_record(
    cm: CompiledModel, record: Iterable[str] | Mapping[str, Sequence[str] | None] | None = None
) -> tuple[list[RecordItem], dict[str, Space]]:
    """Recording plan: what to record and the space it is reduced to.

    ``record`` is ``None`` (the model's default list, ``spec.meta["record"]``,
    or else every stock, flow and output at full resolution), ``"all"``, a
    list of names, or a mapping from names to the dimensions to keep (others
    are summed), e.g. ``{"treatment": ["service"]}``.

    Parameters
    ----------
    cm
        The compiled model.
    record
        What to record, as above.

    Returns
    -------
    tuple
        The recording items (hidden helper items first) and the space of each recorded name.
    """
    everything = (*cm.slices, *cm.flow_spaces, *cm.outputs)
    if record is None:
        record = cm.spec.meta.get("record") or everything
    if isinstance(record, str) and record == "all":
        record = everything
    if not isinstance(record, Mapping):
        record = {n: None for n in record}
    items, spaces = [], {}
    hidden: dict[str, tuple[str, tuple[str, ...]]] = {}
    for name, keep in record.items():
        space = cm.space_of(name)
        if keep is None:
            items.append(RecordItem(name, None, len(space)))
            spaces[name] = space
            continue
        keep = tuple(keep)
        bad = [d for d in keep if d not in space.dims]
        if bad:
            raise RunError(f"cannot keep {bad} for {name}: its dimensions are {list(space.dims)}")
        # keep the dims in the model's dimension order, with every label of each kept dim
        full = Space(keep, tuple(_product(cm.spec, keep))) if keep else SCALAR
        if full == space:
            items.append(RecordItem(name, None, len(space)))
            spaces[name] = space
            continue
        spaces[name] = full
        factored = cm.factors.get(name)
        if factored is not None and set(factored[1].space.dims) <= set(keep):
            base, node = factored
            base_keep = record.get(base)
            if base not in record or (base_keep is not None and tuple(base_keep) != keep):
                hidden_name = base if base not in record else f"__{base}__{'_'.join(keep)}"
                if hidden_name not in hidden:
                    hidden[hidden_name] = (base, keep)
                base = hidden_name
            fidx = full.projection(node.space) if node.space.dims else None
            items.append(RecordItem(name, None, len(full), base=base, factor=node, factor_index=fidx))
            continue
        index = space.projection(full) if keep else np.zeros(len(space), np.intp)
        items.append(RecordItem(name, aggregation_matrix(index, len(full)), len(full)))
    for hname, (base, keep) in hidden.items():
        space = cm.space_of(base)
        full = Space(keep, tuple(_product(cm.spec, keep)))
        index = space.projection(full)
        items.insert(
            0, RecordItem(hname, aggregation_matrix(index, len(full)), len(full), hidden=True, source=base)
        )
    return items, spaces


def _product(spec: ModelSpec, dims: Sequence[str]):
    from itertools import product

    return product(*(spec.dims[d] for d in dims))
