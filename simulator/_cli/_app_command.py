"""``upstream app``: the planner's web app in a browser, served on this machine."""

from __future__ import annotations

import click

from simulator._cli._common import handle_errors

__all__ = ["app"]


@click.command()
@click.argument("model", required=False, default="england")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; the default lets only this machine in (0.0.0.0 opens it to the network).",
)
@click.option(
    "--port", default=8050, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on."
)
@handle_errors
def app(model, host, port) -> None:
    """Start the web app on MODEL (default: the built-in England model) and print its address.

    Every browser session has its own model, edits and temporary folder (removed when the
    session ends); uploads are size-limited and ensembles capped.  Stop it with Ctrl-C.
    """
    import os

    os.environ.setdefault("MPLBACKEND", "Agg")  # figures are only ever rendered to images
    import uvicorn  # Shiny's own server

    from simulator.app._app import create_app

    application = create_app(model)
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(
            f"warning: listening on {host}: anyone who can reach this machine can use the app", err=True
        )
    click.echo(f"Upstream app on http://{host}:{port} (Ctrl-C stops it)", err=True)
    uvicorn.run(application, host=host, port=port, log_level="warning")
