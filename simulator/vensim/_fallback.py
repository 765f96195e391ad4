"""Run models Upstream cannot compile through PySD, member by member in worker processes.

``load_model(path, fallback="pysd")`` (``upstream run FILE --fallback pysd``)
returns a :class:`PySDModel` when the file uses constructs the importer does
not support (each one is kept as a warning).  :func:`simulator.simulate`
accepts it like any model: parameters (PySD's names for the model's
constants) may carry a member axis, and every member is one PySD run, spread
over a pool of worker processes.  This is as slow as PySD (seconds per run);
it exists so that such models still run, not to make them fast.

PySD translates the model into a temporary folder (with the data files found
beside the model), so the user's folder is left as it was.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
import weakref
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from simulator.core._problems import Problem
from simulator.vensim._importer import VENSIM_SUFFIXES
from simulator.vensim._names import identifier, unquote

__all__ = ["PySDModel"]

#: files copied beside the model for PySD (GET XLS/DIRECT data and the like)
DATA_SUFFIXES = (".xls", ".xlsx", ".xlsm", ".csv", ".tab", ".txt", ".vdf", ".vdfx", ".dat")
CONTROL = {"time", "initial_time", "final_time", "time_step", "saveper"}


class PySDModel:
    """A Vensim/XMILE model run by PySD (see the module docstring).

    Attributes
    ----------
    constants
        PySD names of the model's constants (what ``params=`` accepts).
    warnings
        Why Upstream did not compile the model.
    """

    kind = "pysd"
    tables = None

    def __init__(self, path: str | Path, reasons: Sequence[Problem] = ()):
        import pysd

        self.path = Path(path)
        self.name = self.path.stem
        self.curves: list[str] = []
        self.warnings = [
            Problem(
                f"{p.message}; running the model through PySD instead (slow: one PySD run per member)",
                p.file,
                p.part,
                severity="warning",
                part_kind=p.part_kind,
            )
            for p in reasons
        ]
        self._dir = Path(tempfile.mkdtemp(prefix="upstream-pysd-"))
        weakref.finalize(self, shutil.rmtree, self._dir, True)
        for f in self.path.parent.iterdir():
            if f.is_file() and f.suffix.lower() in DATA_SUFFIXES:
                shutil.copy(f, self._dir / f.name)
        target = self._dir / self.path.name
        shutil.copy(self.path, target)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = pysd.read_vensim if self.path.suffix.lower() in VENSIM_SUFFIXES else pysd.read_xmile
            self._model = reader(str(target))
        self.py_file = str(self._model.py_model_file)
        doc = self._model.doc
        self.constants = [
            n for n, t in zip(doc["Py Name"], doc["Type"]) if t == "Constant" and n not in CONTROL
        ]
        self.record = [
            n
            for n, t in zip(doc["Py Name"], doc["Type"])
            if t in ("Stateful", "Auxiliary") and n not in CONTROL
        ]
        self.t0 = float(self._model.components.initial_time())
        self.every = float(self._model.components.saveper())
        self.dt = float(self._model.components.time_step())
        self.final = float(self._model.components.final_time())

    def simulate(
        self,
        *,
        months: int | None = None,
        dt: float | None = None,
        params: Mapping[str, object] | None = None,
        record: Iterable[str] | Mapping[str, object] | None = None,
        workers: int | None = None,
        progress: bool = False,
    ) -> xr.Dataset:
        """Run every member (row of a parameter's member axis) through PySD.

        Parameters
        ----------
        months
            Number of reports, one every SAVEPER from INITIAL TIME (default up to
            FINAL TIME).
        dt
            Time step, in the model's time unit (default the model's TIME STEP).
        params
            PySD names of constants -> a scalar, an array shaped like the constant,
            or such arrays stacked along a leading member axis.
        record
            PySD names of the stocks and auxiliaries to record (default all of them).
        workers
            Worker processes when there is more than one member (default one per core).
        progress
            Accepted for the same call as :func:`simulator.simulate`; PySD runs show none.

        Returns
        -------
        xarray.Dataset
            One variable per recorded name over ``(member, time, *its dimensions)``.
        """
        names = list(record) if record is not None and not isinstance(record, str) else self.record
        bad = [n for n in names if n not in self.record]
        if bad:
            raise ValueError(f"cannot record {bad}; choose from {self.record}")
        members, per_member = self._members(params or {})
        final = self.final if months is None else self.t0 + (months - 1) * self.every
        run = {"final_time": final, "time_step": dt or self.dt}
        jobs = [(per_member(i), names, run) for i in range(members)]
        if members == 1:
            _init(self.py_file, self._model)
            results = [_run_member(jobs[0])]
        else:
            ctx = get_context("spawn")
            with ProcessPoolExecutor(
                workers, mp_context=ctx, initializer=_init, initargs=(self.py_file,)
            ) as pool:
                results = list(pool.map(_run_member, jobs))
        return self._dataset(results, names, dt or self.dt)

    def _members(self, params: Mapping[str, object]):
        unknown = [n for n in params if n not in self.constants]
        if unknown:
            raise ValueError(f"unknown constants {unknown}; constants of {self.name}: {self.constants}")
        shapes = {}
        for n in params:
            default = getattr(self._model.components, n)()
            shapes[n] = np.shape(getattr(default, "values", default))
        members, arrays = 1, {}
        for n, v in params.items():
            a = np.asarray(v, dtype=float)
            size = int(np.prod(shapes[n]))
            if a.size == size:
                a = a.reshape(1, size)
            elif a.ndim >= 1 and a.size % size == 0:
                a = a.reshape(-1, size)
            else:
                raise ValueError(f"{n}: {a.shape} values for a constant of shape {shapes[n]}")
            if a.shape[0] > 1:
                if members not in (1, a.shape[0]):
                    raise ValueError(f"{n}: {a.shape[0]} members, but others have {members}")
                members = a.shape[0]
            arrays[n] = a

        def one(i: int) -> dict[str, object]:
            out: dict[str, object] = {}
            for n, a in arrays.items():
                row = a[i if a.shape[0] > 1 else 0]
                default = getattr(self._model.components, n)()
                if isinstance(default, xr.DataArray):
                    out[n] = xr.DataArray(row.reshape(default.shape), default.coords, default.dims)
                else:
                    out[n] = float(row[0])
            return out

        return members, one

    def _dataset(self, results: list, names: list[str], dt: float) -> xr.Dataset:
        times = results[0]["__time__"]
        data, coords = {}, {"member": np.arange(len(results)), "time": times}
        for n in names:
            dims, labels = results[0]["__dims__"][n]
            up_dims = [identifier(d) for d in dims]
            for d, labs in zip(up_dims, labels):
                coords[d] = [unquote(x) for x in labs]
            data[n] = (("member", "time", *up_dims), np.stack([r[n] for r in results]))
        ds = xr.Dataset(data, coords=coords)
        ds.attrs = {
            "model": self.name,
            "title": f"PySD run of {self.name}",
            "dt": dt,
            "method": "euler (PySD)",
        }
        ds.attrs["members"] = len(results)
        return ds


_MODEL: Any = None  # the PySD model of this worker process


def _init(py_file: str, model=None) -> None:
    """Load the translated model once per worker process."""
    global _MODEL
    if model is not None:
        _MODEL = model
        return
    import pysd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _MODEL = pysd.load(py_file)


def _run_member(job) -> dict[str, object]:
    params, names, run = job
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = _MODEL.run(params=params, return_columns=names, flatten_output=False, **run)
    dims: dict[str, tuple[list, list]] = {}
    out: dict[str, object] = {"__time__": df.index.to_numpy(dtype=float), "__dims__": dims}
    for n in names:
        col = df[n].to_list()
        first = col[0]
        if isinstance(first, xr.DataArray):
            dims[n] = (
                list(first.dims),
                [list(map(str, first.coords[d].values)) for d in first.dims],
            )
            out[n] = np.stack([np.asarray(x.values, dtype=float) for x in col])
        else:
            dims[n] = ([], [])
            out[n] = np.asarray(col, dtype=float)
    return out
