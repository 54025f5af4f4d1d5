"""The distributed path: a dask.distributed cluster given by its scheduler address.

A team starts a scheduler and workers (``dask scheduler`` on one machine, ``dask worker
tcp://HOST:8786`` on each of the others; see docs/DISTRIBUTED.md) and passes the address as
``--cluster tcp://HOST:8786``. Backtest origins go to the cluster through joblib's Dask backend
(:func:`training.backtest.rolling_origin_backtest`), tuning workers as cluster tasks
(:func:`training.tuning.tune_on_cluster`). The boosters themselves are not distributed: each
fits a few thousand rows, which a cluster would only slow down.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from data.errors import Problem, UserInputError

#: seconds to wait for the scheduler before telling the user it does not answer
CONNECT_TIMEOUT_S = 10


@contextmanager
def cluster_client(address: str) -> Iterator[Any]:
    """A dask.distributed client of the scheduler at ``address`` (closed afterwards);
    :class:`UserInputError` when it does not answer."""
    from distributed import Client

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UserInputError(
            f"the dask scheduler {address} does not answer ({type(exc).__name__}: {exc})",
            [
                Problem(
                    file="--cluster",
                    rule="must be a reachable dask scheduler address, e.g. tcp://HOST:8786",
                    value=address,
                )
            ],
        ) from None
    try:
        yield client
    finally:
        client.close()
