"""``--strata FILE``: stratify the one model a command loads (``run``, ``summary``, ``plot``).

The option keeps the file in the click context (:data:`STRATA_KEY`), where
:func:`simulator._cli._common.load` finds it and loads the model with
``load_model(path, strata=FILE)`` (:func:`simulator.files._loading.with_strata`), so the
commands' own signatures do not change.
"""

from __future__ import annotations

import click

__all__ = ["STRATA_KEY", "strata_option"]

#: where ``--strata FILE`` is kept for ``_common.load`` (the click context's ``meta``)
STRATA_KEY = "upstream.strata"


def _set_strata(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """``--strata FILE``: stratify the model the command loads (``_common.load``)."""
    if value is not None:
        ctx.meta[STRATA_KEY] = value


#: the ``--strata`` option (commands that load one model)
strata_option = click.option(
    "--strata",
    type=click.Path(exists=True, dir_okay=False),
    expose_value=False,
    callback=_set_strata,
    help="Stratify the model by the 'strata:' list of this YAML file (see README, 'Inequalities').",
)
