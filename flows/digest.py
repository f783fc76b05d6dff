"""The Prefect flow `digest`: one `mode: digest` channel's pending hits as ONE message.

`send_digest(config, channel_name, now)` is the plain function (tests and the CLI call
it); the `digest` flow is its thin shell, scheduled by the channel's `digest_cron` in its
timezone (see flows/serve.py). Its parameters are the config directory and the channel
*name*: a channel URL, which holds secrets, never becomes a Prefect parameter.
"""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow, get_run_logger

from alerts import DigestOutcome, send_channel_digest, send_notices
from config import load_config
from config.models import Config
from store import database


class UnknownDigestChannel(ValueError):
    """The named channel is not a `mode: digest` channel of the config."""


def digest_channels(config: Config) -> list[str]:
    return [name for name, channel in config.channels.items() if channel.mode == "digest"]


def send_digest(config: Config, channel_name: str, now: datetime | None = None) -> DigestOutcome:
    """Send the channel's digest if its schedule has fired since the hits were found."""
    channel = config.channels.get(channel_name)
    if channel is None or channel.mode != "digest":
        raise UnknownDigestChannel(f"{channel_name!r} is not a digest channel (digest channels: "
                                   f"{', '.join(digest_channels(config)) or 'none'})")
    with database(config.settings.database_url) as engine:
        outcome = send_channel_digest(engine, channel, config.settings.alerts, now)
        send_notices(engine, config.channels, config.settings.alerts, now)
    return outcome


def _run_name() -> str:
    from prefect.runtime import flow_run

    channel = flow_run.parameters.get("channel", "")
    return f"digest {channel} {datetime.now(timezone.utc):%Y-%m-%d %H:%M}"


@flow(name="digest", flow_run_name=_run_name, log_prints=True)
def digest(config_dir: str = "config", channel: str = "") -> str:
    """Send the digest of one digest channel (by name) for its latest schedule tick."""
    outcome = send_digest(load_config(config_dir), channel)
    get_run_logger().info("digest %s", outcome.describe())
    return outcome.describe()
