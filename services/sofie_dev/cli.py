"""``nazorg sofie-dev``: run the dev Sofie server in the foreground.

The bound URL is the first line on stdout (flushed), so a supervisor that asked for
``--port 0`` learns where it is. Tokens may come from the environment instead of the command
line, where other users of the machine could read them. Heavy imports happen inside the
commands, as in ``services/cli.py``, so registering them costs other commands nothing.
"""

from __future__ import annotations

import sys

import click

from services.sofie_dev import DEFAULT_ENGAGEMENT_RATE


@click.command("sofie-dev")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port to listen on (0: a free one; the URL is printed first on stdout).",
)
@click.option("--callback-url", default=None, help="Where engagement callbacks are posted.")
@click.option(
    "--callback-token",
    envvar="NAZORG_SOFIE_CALLBACK_TOKEN",
    default=None,
    help="Bearer token on every callback (env NAZORG_SOFIE_CALLBACK_TOKEN).",
)
@click.option(
    "--engagement-rate",
    type=click.FloatRange(0, 1),
    default=DEFAULT_ENGAGEMENT_RATE,
    show_default=True,
    help="Share of actions whose client engages (decided from seed and idempotency key).",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--token",
    envvar="NAZORG_SOFIE_TOKEN",
    required=True,
    help="Bearer token the server expects (env NAZORG_SOFIE_TOKEN), at least 16 characters.",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
    default="INFO",
    show_default=True,
)
def sofie_dev(
    host: str,
    port: int,
    callback_url: str | None,
    callback_token: str | None,
    engagement_rate: float,
    seed: int,
    token: str,
    log_level: str,
) -> None:
    """Run the dev Sofie server (POST /v1/actions, engagement callbacks, /_dev/ controls)."""
    from pydantic import SecretStr, ValidationError

    from services.common.logging import configure_logging
    from services.sofie_dev.server import SofieDevConfig, run

    try:
        config = SofieDevConfig(
            token=SecretStr(token),
            callback_url=callback_url,
            callback_token=SecretStr(callback_token) if callback_token else None,
            engagement_rate=engagement_rate,
            seed=seed,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']}"
            for e in exc.errors(include_input=False)
        )
        raise click.UsageError(problems) from None
    configure_logging(log_level, "json")

    def announce(url: str) -> None:
        click.echo(url)
        sys.stdout.flush()

    run(config, host=host, port=port, on_bound=announce)


@click.command("sofie-dev-openapi")
@click.option("--check", is_flag=True, help="Write nothing; fail when the file is stale.")
def sofie_dev_openapi(check: bool) -> None:
    """Write Sofie's OpenAPI document to docs/openapi/sofie.json (or check it)."""
    from services.sofie_dev.openapi_doc import DOC_PATH, export

    changed = export(check=check)
    if check and changed:
        raise click.ClickException(f"{DOC_PATH} is stale; run `nazorg sofie-dev-openapi`")
    click.echo(f"{DOC_PATH} is up to date" if check or not changed else f"wrote {DOC_PATH}")


if __name__ == "__main__":  # pragma: no cover
    sofie_dev()
