"""Labelled results: recorded arrays become an :class:`xarray.Dataset`, and tidy tables.

Dimensions are named ``member``, ``time`` and the model's own (``group``,
``condition``, ``service`` for surge models).  Sparse element sets (the surge
paths) are laid out densely with zeros where no element exists, and a mask
variable (``path`` for surge models) says which combinations exist, so sums
over any dimension are right and tidy tables list only real elements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd
import xarray as xr

from simulator.core._compiler import CompiledModel
from simulator.core._spaces import Space

__all__ = ["netcdf_ready", "tidy", "to_dataset"]


def _mask_name(spec_meta: Mapping[str, object], dims: tuple[str, ...]) -> str:
    names = spec_meta.get("element_names", {}) if isinstance(spec_meta, Mapping) else {}
    key = ",".join(dims)
    if isinstance(names, Mapping) and key in names:
        return str(names[key])
    if dims == ("group", "condition", "service"):
        return "path"
    return "exists_" + "_".join(dims)


def _dense_index(space: Space, labels: Mapping[str, Sequence[str]]) -> tuple[np.ndarray, tuple[int, ...]]:
    key = tuple(tuple(labels[d]) for d in space.dims)
    return _dense_index_cached(space, key)


@lru_cache(maxsize=64)
def _dense_index_cached(space: Space, key: tuple[tuple[str, ...], ...]) -> tuple[np.ndarray, tuple[int, ...]]:
    labels = dict(zip(space.dims, key))
    shape = tuple(len(labels[d]) for d in space.dims)
    pos = [{lab: i for i, lab in enumerate(labels[d])} for d in space.dims]
    idx = np.zeros(len(space), dtype=np.intp)
    for i, c in enumerate(space.coords):
        flat = 0
        for k, lab in enumerate(c):
            flat = flat * shape[k] + pos[k][lab]
        idx[i] = flat
    return idx, shape


@lru_cache(maxsize=256)
def _label_array(labels: tuple[str, ...]) -> pd.Index:
    """Labels of a dimension as a (cached, immutable) pandas index."""
    return pd.Index(labels, dtype=object)


def _data_var(
    arr: np.ndarray, sp: Space, labels: Mapping[str, tuple[str, ...]], meta: Mapping, masks: dict
) -> tuple[np.ndarray, str | None]:
    """Recorded ``(members, reports, n)`` values as a dense array over the space's dimensions.

    Elements a sparse space lacks are zeros; the mask marking the elements that
    exist is added to ``masks`` (once per set of dimensions) and its name returned.
    """
    if not sp.dims:
        return arr[:, :, 0], None
    idx, shape = _dense_index(sp, labels)
    n_dense = int(np.prod(shape))
    if len(sp) == n_dense and np.array_equal(idx, np.arange(n_dense)):
        return arr.reshape(arr.shape[0], arr.shape[1], *shape), None
    dense = np.zeros((arr.shape[0], arr.shape[1], n_dense))
    dense[:, :, idx] = arr
    mname = _mask_name(meta, sp.dims)
    if mname not in masks:
        m = np.zeros(n_dense, dtype=np.int8)
        m[idx] = 1
        masks[mname] = (
            sp.dims,
            m.reshape(shape),
            {"description": f"1 where the ({', '.join(sp.dims)}) element exists"},
        )
    return dense.reshape(arr.shape[0], arr.shape[1], *shape), mname


def _time_attrs(ds: xr.Dataset, spec) -> None:
    ds["time"].attrs = {
        "long_name": "model month",
        "description": "months after month 0 (see the date coordinate)",
    }
    clock = spec.meta.get("clock") if isinstance(spec.meta, Mapping) else None
    if clock:  # imported Vensim/XMILE models keep their own time unit
        unit = str(clock.get("unit") or "")
        desc = f"time in {unit or 'model units'}"
        ds["time"].attrs = {"long_name": "model time", "units": unit, "description": desc}


def _dataset_attrs(ds: xr.Dataset, spec, n_times: int, model, attrs: Mapping[str, object] | None) -> None:
    ds.attrs = {
        "model": spec.name,
        "title": f"Upstream run of {spec.name}",
        "source": spec.source or "",
        "start": spec.start or "",
        "horizon_months": n_times,
        **{k: (v if isinstance(v, int | float | str) else str(v)) for k, v in (attrs or {}).items()},
    }
    if model is not None:
        ds.attrs.update(model.result_attrs())


def to_dataset(
    cm: CompiledModel,
    arrays: Mapping[str, np.ndarray],
    spaces: Mapping[str, Space],
    grid,
    model=None,
    attrs: Mapping[str, object] | None = None,
) -> xr.Dataset:
    """Build the results dataset from recorded arrays ``(members, reports, n)``.

    Parameters
    ----------
    cm
        The compiled model the arrays were recorded from.
    arrays
        Recorded values by name, shape ``(members, reports, n)`` (people, or people per month).
    spaces
        Space of each recorded array.
    grid
        The time grid (its ``report_times``, months).
    model
        The model (a model kind adds its reported data and attributes), or ``None``.
    attrs
        Extra dataset attributes (``dt``, ``method`` ...).

    Returns
    -------
    xarray.Dataset
        One variable per recorded quantity over ``(member, time, *dims)``, with element masks.
    """
    spec = cm.spec
    labels = {d: tuple(v) for d, v in spec.dims.items()}
    times = np.asarray(grid.report_times, dtype=float)
    members = next(iter(arrays.values())).shape[0] if arrays else 1
    data_vars: dict[str, tuple] = {}
    masks: dict[str, tuple] = {}
    kinds = {s.name: ("stock", s.unit, s.description) for s in spec.stocks}
    kinds.update({f.name: ("flow", f.unit, f.description) for f in spec.flows})
    kinds.update({o.name: ("output", o.unit, o.description) for o in spec.outputs})
    kinds.update({a.name: ("derived", a.unit, a.description) for a in spec.auxes})
    for name, arr in arrays.items():
        sp = spaces[name]
        kind, unit, desc = kinds.get(name, ("", "", ""))
        va = {"kind": kind, "units": unit, "description": desc}
        data, mname = _data_var(arr, sp, labels, spec.meta, masks)
        if mname is not None:
            va["elements"] = mname
        data_vars[name] = (("member", "time", *sp.dims), data, va)
    coords: dict[str, object] = {"member": np.arange(members), "time": times}
    extra = model.reported_data(times) if model is not None else {}
    used = {d for v in (*data_vars.values(), *masks.values(), *extra.values()) for d in v[0]}
    for d, labs in labels.items():
        if d in used:
            coords[d] = _label_array(labs)
    if spec.start:
        months = np.round(times).astype("int64").astype("timedelta64[M]")
        dates = (np.datetime64(spec.start, "M") + months).astype("datetime64[ns]")
        coords["date"] = ("time", dates)
    ds = xr.Dataset({**data_vars, **masks, **extra}, coords=coords)
    _time_attrs(ds, spec)
    _dataset_attrs(ds, spec, len(times), model, attrs)
    return ds


def _mask(ds: xr.Dataset, da: xr.DataArray) -> np.ndarray | None:
    name = da.attrs.get("elements")
    if name and name in ds:
        return ds[name].to_numpy().astype(bool)
    return None


def tidy(ds: xr.Dataset, variables: Sequence[str] | None = None) -> pd.DataFrame:
    """Long table: one row per member, time, variable and element.

    Columns: ``member, time, [date,] variable, <model dims...>, value``; a dim
    that does not apply to a variable is left empty.  Only existing elements
    of sparse spaces (surge paths) are listed.

    Parameters
    ----------
    ds
        Results of a run (see :func:`~simulator.core.simulate`).
    variables
        Variables to list (default: every variable over member and time).

    Returns
    -------
    pandas.DataFrame
        The long table; ``value`` in each variable's own unit (its ``units`` attribute).
    """
    names = (
        list(variables) if variables else [v for v in ds.data_vars if {"member", "time"} <= set(ds[v].dims)]
    )
    model_dims = [d for d in ds.dims if d not in ("member", "time")]
    frames = []
    for name in names:
        da = ds[name]
        extra = [d for d in da.dims if d not in ("member", "time")]
        da = da.transpose("member", "time", *extra)
        vals = da.to_numpy()
        mm, tt = vals.shape[:2]
        if extra:
            shape = vals.shape[2:]
            flat = vals.reshape(mm, tt, -1)
            mask = _mask(ds, ds[name])
            keep = np.flatnonzero(mask.reshape(-1)) if mask is not None else np.arange(flat.shape[2])
            flat = flat[:, :, keep]
            coords = np.unravel_index(keep, shape)
            labels = {d: np.asarray(ds[d].to_numpy(), dtype=object)[coords[k]] for k, d in enumerate(extra)}
        else:
            flat = vals.reshape(mm, tt, 1)
            labels = {}
        ne = flat.shape[2]
        df = pd.DataFrame(
            {
                "member": np.repeat(ds["member"].to_numpy(), tt * ne),
                "time": np.tile(np.repeat(ds["time"].to_numpy(), ne), mm),
                "variable": name,
            }
        )
        if "date" in ds.coords:
            df["date"] = np.tile(np.repeat(pd.to_datetime(ds["date"].to_numpy()), ne), mm)
        for d in model_dims:
            df[d] = np.tile(labels[d], mm * tt) if d in labels else ""
        df["value"] = flat.reshape(-1)
        frames.append(df)
    cols = [
        "member",
        "time",
        *(["date"] if "date" in ds.coords else []),
        "variable",
        *model_dims,
        "value",
    ]
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]


def netcdf_ready(ds: xr.Dataset) -> xr.Dataset:
    """A copy whose attributes NetCDF can store: numbers and text as they are, anything else as text.

    Parameters
    ----------
    ds
        Any dataset (results, an ensemble summary, a posterior).

    Returns
    -------
    xarray.Dataset
        The same data; dataset and variable attributes made plain.
    """
    out = ds.copy()
    out.attrs = _plain(out.attrs)
    for v in out.variables.values():
        v.attrs = _plain(v.attrs)
    return out


def _plain(attrs: Mapping[str, object]) -> dict[str, object]:
    return {k: (v if isinstance(v, int | float | str) else str(v)) for k, v in attrs.items()}
