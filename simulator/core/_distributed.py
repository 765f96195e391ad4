"""Optional dask.distributed support: run ensemble blocks on a cluster.

``pip install upstream[distributed]`` installs dask.  Blocks are pure
functions of the model, the design and the member range, and are merged in
block order, so a cluster gives bit-identical results to a local run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["DaskUnavailable", "dask_client"]

INSTALL_HINT = "the --dask option needs dask.distributed: pip install 'upstream[distributed]'"


class DaskUnavailable(RuntimeError):
    """dask.distributed is not installed."""


@contextlib.contextmanager
def dask_client(address: str | None) -> Iterator[object | None]:
    """A dask client for ``address`` (``"local"`` starts a LocalCluster), or ``None``.

    Parameters
    ----------
    address
        A scheduler address, ``"local"``, or ``None`` (no cluster).

    Yields
    ------
    dask.distributed.Client or None
        The client, closed on exit.
    """
    if not address:
        yield None
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as err:  # pragma: no cover - depends on the installation
        raise DaskUnavailable(INSTALL_HINT) from err
    if address == "local":
        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
    else:
        with Client(address) as client:
            yield client
