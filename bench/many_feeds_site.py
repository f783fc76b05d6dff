"""Publishers for bench/many_feeds.py: thousands of feeds on many loopback hosts, mostly unchanged.

Run by bench/many_feeds.py as its own process (serving costs no CPU in the measured pass's
process tree, though it shares the machine's cores):

    python bench/many_feeds_site.py DATA_DIR PORT LATENCY_MS CHANGE_EVERY PER_BUMP HOST [HOST ...]

Built on bench/pipeline_site.py (same asyncio protocol, same pages, same LATENCY_MS before
every response). URLs, on any host:
  /g/<k>.xml       feed k. Its ETag is "g<k>-<gen>" where gen is the site's generation for
                   a changing feed (k % CHANGE_EVERY == CHANGE_EVERY // 2) and 0 for the
                   others; a conditional GET with that ETag gets 304. At generation 0 every
                   feed is empty (so a first poll fetches no page); at generation g a changing
                   feed lists PER_BUMP items per generation 1 .. g (the last 5 generations),
                   dated now, linking /p/g<k>/<n>.html on its own host: the changing feeds'
                   new items of one generation are distinct pages, up to the 181 there are.
  /bump            the generation goes up by one (answers the new generation).
  /p/<tag>/<n>.html  as in pipeline_site.py: one of the 181 benchmark pages, gzip-encoded.
Prints "ready" on stdout once listening.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline_site import Connection, Site, load_pages, response, rss  # noqa: E402

KEEP_GENERATIONS = 5


class ChangingSite(Site):
    """The pipeline bench's site plus feeds that stay unchanged except for every CHANGE_EVERY-th."""

    def __init__(self, pages: list[bytes], latency: float, change_every: int, per_bump: int) -> None:
        super().__init__(pages, latency)
        self.change_every, self.per_bump, self.generation = change_every, per_bump, 0
        self.bodies: dict[tuple[str, int, int], bytes] = {}

    def changes(self, k: int) -> bool:
        return k % self.change_every == self.change_every // 2

    def respond(self, host: str, path: str, headers: dict[str, str]) -> bytes:
        parts = path.strip("/").split("/")
        if parts == ["bump"]:
            self.generation += 1
            return response(200, {"Content-Type": "text/plain"}, str(self.generation).encode())
        if parts[0] == "g" and len(parts) == 2:
            return self.feed(host, int(parts[1].split(".")[0]), headers)
        if parts[0] == "p" and len(parts) == 3 and parts[1].startswith("g"):
            return self.page(int(parts[1][1:]), int(parts[2].split(".")[0]))
        return super().respond(host, path, headers)

    def page(self, k: int, n: int) -> bytes:
        """Item n of feed k: the changing feeds' items of one generation are distinct pages
        (up to 181 of them), so they are distinct stories, not one story seen 200 times."""
        slot = k // self.change_every
        return self.pages[(slot * self.per_bump + n % self.per_bump + n // self.per_bump * 61) % len(self.pages)]

    def feed(self, host: str, k: int, headers: dict[str, str]) -> bytes:
        gen = self.generation if self.changes(k) else 0
        etag = f'"g{k}-{gen}"'
        if headers.get("if-none-match") == etag:
            return response(304, {"ETag": etag}, b"")
        key = (host, k, gen)
        if key not in self.bodies:
            first_gen = max(1, gen - KEEP_GENERATIONS + 1)
            first, count = (first_gen * self.per_bump, (gen - first_gen + 1) * self.per_bump) if gen else (0, 0)
            self.bodies[key] = response(200, {"Content-Type": "application/rss+xml; charset=utf-8", "ETag": etag},
                                        rss(f"http://{host}", f"g{k}", first, count))
        return self.bodies[key]


async def serve(data_dir: Path, port: int, latency: float, change_every: int, per_bump: int,
                hosts: list[str]) -> None:
    site = ChangingSite(load_pages(data_dir), latency, change_every, per_bump)
    loop = asyncio.get_running_loop()
    servers = [await loop.create_server(lambda: Connection(site), host, port, backlog=4096, reuse_address=True)
               for host in hosts]
    print("ready", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


def main(argv: list[str]) -> None:
    data_dir, port, latency_ms, change_every, per_bump = Path(argv[0]), int(argv[1]), float(argv[2]), \
        int(argv[3]), int(argv[4])
    asyncio.run(serve(data_dir, port, latency_ms / 1000, change_every, per_bump, argv[5:]))


if __name__ == "__main__":
    main(sys.argv[1:])
