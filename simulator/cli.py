"""The ``upstream`` command line: thin wrappers over the library.

Every command turns bad input into a list of problems on standard error and
exit status 2, with no traceback and no output file.  The commands live in
:mod:`simulator._cli`, one module per family; this module holds the group
(the ``upstream`` entry point) and adds them to it.
"""

from __future__ import annotations

import click

from simulator._cli._analyses import compare_interventions, sensitivity
from simulator._cli._app_command import app
from simulator._cli._calibrate_command import calibrate
from simulator._cli._common import EXIT_INPUT, CLIError, handle_errors, run_options
from simulator._cli._equity_command import equity, localise
from simulator._cli._files import convert, curves, export_vensim, validate
from simulator._cli._models import plot, run, summary
from simulator._cli._report_command import map_command, report
from simulator._cli._sweeps import compare, ensemble_options, sweep

__all__ = ["EXIT_INPUT", "CLIError", "ensemble_options", "handle_errors", "main", "run_options"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="upstream")
def main() -> None:
    """Upstream: post-Covid mental health demand, from social change to service load.

    MODEL is a surge workbook (.xlsx), a model file (.yaml), a Vensim (.mdl) or
    XMILE (.xmile) model, or a built-in name (england, mersey-care, cwp);
    without one, the built-in England model.
    """


for _command in (
    run,
    summary,
    plot,
    validate,
    export_vensim,
    convert,
    sweep,
    compare,
    curves,
    sensitivity,
    compare_interventions,
    calibrate,
    report,
    map_command,
    app,
    localise,
    equity,
):
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
