"""`newswatch demo`: the whole monitor on this machine alone, in under a minute.

Serves bundled sample pages (one built from the seed article on North Korean missiles,
one on a K-pop tour, one on the weather) and a feed listing them on 127.0.0.1, starts
a local SMTP inbox, runs one real monitoring pass with the configured rules into a
throwaway database, then shows the hits and the alert e-mails the inbox received.
Its Prefect run is tagged `demo` and named `demo ...`; its rule artifacts are keyed under
the instance `newswatch-demo`, so they never become a version of a real rule's history.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from textwrap import indent
import tempfile
from importlib import resources
from pathlib import Path

import yaml

from config import resolve_config_dir
from newswatch.demo.feed import build_rss
from newswatch.demo.servers import Site, SmtpServer

PAGES = {
    "/news/dprk-missiles.html": ("seed_article.html",
                                 "South Korea calls Russia 'self-contradictory' for using North Korean missiles"),
    "/culture/kpop-world-tour.html": ("kpop_tour.html", "K-pop group announces 40-city world tour"),
    "/weather/first-frost.html": ("weather.html", "Cold front brings first frost to Seoul"),
}


DEMO_INSTANCE = "newswatch-demo"  # its rule artifacts' keys: never a real config's


def rules_file(args: argparse.Namespace) -> Path:
    """The user's rules when a config dir exists, else the rules shipped with newswatch."""
    candidate = resolve_config_dir(args.config) / "rules.yaml"
    if candidate.is_file():
        return candidate
    return Path(str(resources.files("config") / "rules.yaml"))


def demo_prefect_home(args: argparse.Namespace) -> Path:
    """The local Prefect server's home of the user's config, so the demo's run joins its
    history; without a valid config, a per-user one ($XDG_STATE_HOME/newswatch/prefect):
    the demo writes nothing in the current directory."""
    from config import ConfigError, load_config
    from flows.prefect_server import local_server_home

    try:
        return local_server_home(load_config(resolve_config_dir(args.config)).settings.data_dir)
    except ConfigError:
        state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
        return local_server_home(Path(state) / "newswatch")


def serve_demo_site(site: Site) -> str:
    pages = resources.files("newswatch.demo") / "pages"
    items = []
    for path, (filename, title) in PAGES.items():
        items.append({"title": title, "link": site.add(path, (pages / filename).read_bytes())})
    return site.add("/rss.xml", build_rss(items, "newswatch demo outlet"), content_type="application/rss+xml")


def write_demo_config(directory: Path, feed_url: str, inbox_url: str, rules: Path) -> Path:
    directory.mkdir(parents=True)
    settings = {"database_url": f"sqlite:///{directory.parent / 'demo.db'}", "instance": DEMO_INSTANCE,
                "fetch": {"allowed_networks": ["127.0.0.1/32"], "timeout_seconds": 10}}
    (directory / "settings.yaml").write_text(yaml.safe_dump(settings))
    (directory / "feeds.yaml").write_text(yaml.safe_dump({"feeds": [{"url": feed_url, "name": "Demo outlet"}]}))
    (directory / "channels.yaml").write_text(yaml.safe_dump({"channels": {"demo-inbox": {"url": inbox_url}}}))
    shutil.copy(rules, directory / "rules.yaml")
    return directory


def run_demo(args: argparse.Namespace) -> int:
    from flows.monitor import run_demo_pass
    from flows.prefect_server import prefect_api
    from store import database, list_hits

    workdir = Path(tempfile.mkdtemp(prefix="newswatch-demo-"))
    site, inbox = Site(), SmtpServer()
    try:
        config_dir = write_demo_config(workdir / "config", serve_demo_site(site), inbox.apprise_url(), rules_file(args))
        print(f"demo: serving 3 sample articles at {site.base_url}, SMTP inbox on 127.0.0.1:{inbox.port}",
              file=sys.stderr)
        with prefect_api(demo_prefect_home(args)) as api_url:
            print(f"demo: running one monitoring pass (Prefect API {api_url})", file=sys.stderr)
            summary = run_demo_pass(config_dir=str(config_dir))
        print("\n== pass summary ==\n" + summary.to_text())
        print("\n== hits ==")
        with database(f"sqlite:///{workdir / 'demo.db'}") as engine:
            for hit in list_hits(engine):
                print(f"[{hit.rule}] {hit.title}\n    {hit.url}\n    terms: {', '.join(hit.terms)}\n"
                      f"{indent(hit.snippet, '    ')}")
        print(f"\n== the local inbox received {len(inbox.inbox.messages)} alert e-mail(s) ==")
        for message in inbox.inbox.messages:
            text = message.get_body(preferencelist=("plain",))
            print(f"Subject: {message['subject']}\n{text.get_content().strip() if text else ''}\n")
    finally:
        site.close()
        inbox.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0
