"""Whole-pass performance: throughput, efficiency, peer, quiet pass, Prefect overhead, memory, alerts.

Run: python bench/pipeline.py [--articles 1000] [--latency-ms 50] [--repeats 3] [--skip-peer]
                              [--skip-memory] [--skip-alerts] [--skip-quiet] [--big 5000]

Data: the 181 real news pages of ../shared/data/article-extraction-benchmark/html/<id>.html.gz
(the sibling `shared/` of the repository root), served by bench/pipeline_site.py from port P of
the loopback hosts 127.0.0.2 .. 127.0.0.9 (8 publishers, so the per-host cap
`fetch.per_host_concurrency` = 2 applies as it would on the web), with LATENCY_MS added to
every response, under distinct URLs /p/<tag>/<n>.html cycling the 181 pages, in RSS feeds of
100 items; feed k and its pages live on host k mod 8.

Every pass runs in its own process (bench/pipeline_pass.py) against a fresh SQLite database,
and "under Prefect" means the real `newswatch run --config DIR --json` (the `monitor` flow)
against a real local Prefect server started here (the same code `newswatch run` uses to start
its own, with a throwaway PREFECT_HOME and a free port; stopped at the end). Figures:

 1. throughput: pass 1 over N new articles, pass 2 identical with nothing new (the feeds are
    re-read and parsed, every entry already seen); marginal = (pass 1 - pass 2) / N (the database
    is created beforehand by `newswatch db upgrade`, as by a deployment's first run: creating the
    schema is a one-time cost, not an article's), beside the
    extraction-bound limit: the same N pages through extract_article in a pool of one process
    per core (pages already in memory), measured just before and just after pass 1 (the mean
    is used). efficiency = limit / marginal.
 2. peer: `trafilatura -i FEEDS --feed --parallel 2` on the same feeds, served on port 80;
    our articles/s (a whole `newswatch run` process on as many new articles, run beside it)
    over its articles/s (whole process).
 3. quiet pass: 1,000 feeds on the 8 hosts, all answering 304; wall and CPU of the pass, and
    the marginal over a 10-feed quiet pass (CPU per feed = delta CPU / 990).
 4. Prefect overhead: the same passes with run_pass() called directly, each beside its
    `newswatch run` twin (in turns: cli first, then direct first); share = 1 - direct/cli
    (for the article pass, each pass 1 first divided by the limit measured around it).
 5. memory: peak RSS (sum over the pass process and all its descendants, /proc sampled every
    20 ms, the descendants looked up every 0.2 s) at N and at --big new articles; beside it,
    the PSS sum at the peak (read at most every 0.25 s), which counts a shared page once.
 6. alerts: 100 hits to an e-mail channel on a local aiosmtpd server; seconds to deliver them.

Figures are medians over --repeats, with min-max; the load average is printed first, since
other work on the machine slows everything here.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
DATA = SHARED / "data" / "article-extraction-benchmark"
HOSTS = [f"127.0.0.{i}" for i in range(2, 10)]
# trafilatura's defaults, but no pause between requests, loopback allowed, and no duplicate
# filter (the 181 pages repeat under distinct URLs; its filter would write each text once)
PEER_CONFIG = "[DEFAULT]\nDOWNLOAD_TIMEOUT = 30\nMAX_FILE_SIZE = 20000000\nMIN_FILE_SIZE = 10\nSLEEP_TIME = 0\n" \
              "USER_AGENTS =\nCOOKIE =\nMAX_REDIRECTS = 2\nSSRF_PROTECTION = off\nINSECURE_SSL_FALLBACK = off\n" \
              "MIN_EXTRACTED_SIZE = 250\nMIN_OUTPUT_SIZE = 1\nMIN_OUTPUT_COMM_SIZE = 1\nMAX_TREE_SIZE =\n" \
              "EXTRACTION_TIMEOUT = 30\nMIN_DUPLCHECK_SIZE = 1000000000\nMAX_REPETITIONS = 1000000\n" \
              "EXTENSIVE_DATE_SEARCH = on\nEXTERNAL_URLS = off\n"
EXTRA_RULES = """
  - name: Bench government
    query: government OR minister* OR president
  - name: Bench markets
    query: (market* OR price*) NEAR/10 (rise* OR fall* OR fell)
"""


# ---------------------------------------------------------------- small helpers

def free_port(host: str = "127.0.0.2") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    if not values:
        return "n/a"
    med = statistics.median(values)
    return fmt.format(med) + (f" ({fmt.format(min(values))}-{fmt.format(max(values))}, n={len(values)})"
                              if len(values) > 1 else "")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


class TreeRss:
    """RSS of a process and its descendants, cheap enough to sample every 20 ms beside a
    timed pass: the descendants are looked up again every RESCAN samples (walking every
    thread's /proc children file cost 0.6 ms a sample, 3% of a core taken from the pass),
    and each process's RSS is read from its one-line statm."""

    RESCAN = 10

    def __init__(self, pid: int) -> None:
        self.pid, self.members, self.samples = pid, [pid], 0

    def __call__(self) -> int:
        from bench.pipeline_pass import descendants

        if self.samples % self.RESCAN == 0:
            self.members = [self.pid, *descendants(self.pid)]
        self.samples += 1
        total, self.parts = 0, []
        for member in self.members:
            try:
                rss = int(Path(f"/proc/{member}/statm").read_text().split()[1]) * PAGE_BYTES
            except (OSError, IndexError, ValueError):
                continue
            total += rss
            self.parts.append((member, rss))
        return total

    def breakdown(self, parts: list[tuple[int, int]]) -> str:
        """'pass 250, worker 120, worker 118 ...' in MB: where a peak's memory was."""
        labels = []
        for member, rss in parts:
            try:
                command = Path(f"/proc/{member}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                command = ""
            name = ("pass" if member == self.pid else "resource tracker" if "resource_tracker" in command
                    else "worker" if "spawn_main" in command or "forkserver" in command else "child")
            labels.append(f"{name} {rss / 2**20:.0f}")
        return ", ".join(labels)


def proc_tree_cpu(pid: int) -> float:
    from bench.pipeline_pass import descendants, proc_cpu

    return sum(proc_cpu(p) for p in [pid, *descendants(pid)])


# ---------------------------------------------------------------- servers

@contextmanager
def publisher_site(latency_ms: float, port80: bool):
    port = free_port()
    command = [sys.executable, str(ROOT / "bench" / "pipeline_site.py"), str(DATA), str(port), str(latency_ms),
               *HOSTS] + (["--port80"] if port80 else [])
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    if line != "ready":
        process.kill()
        raise SystemExit(f"bench: the publisher site did not start: {process.stderr.read()[-1500:]}")
    try:
        yield port
    finally:
        process.kill()
        process.wait()


@contextmanager
def prefect_server(workdir: Path):
    from flows.prefect_server import start_local_server, stop_local_server

    home = workdir / "prefect-home"
    api_url = start_local_server(home, free_port("127.0.0.1"))
    try:
        yield api_url, int((home / "server.pid").read_text())
    finally:
        stop_local_server(home)


# ---------------------------------------------------------------- scenarios

def feed_urls(port: int | None, tag: str, articles: int, per_feed: int = 100) -> list[str]:
    urls = []
    for k, first in enumerate(range(0, articles, per_feed)):
        host = HOSTS[k % len(HOSTS)] + (f":{port}" if port else "")
        urls.append(f"http://{host}/f/{tag}/{first}/{min(per_feed, articles - first)}.xml")
    return urls


def quiet_feed_urls(port: int, count: int) -> list[str]:
    return [f"http://{HOSTS[k % len(HOSTS)]}:{port}/q/{k}.xml" for k in range(count)]


def write_config(directory: Path, feeds: list[str], channels: dict[str, str] | None = None,
                 rules: str | None = None, max_alerts: int = 20) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "settings.yaml").write_text(
        f"database_url: sqlite:///{directory / 'newswatch.db'}\n"
        "fetch:\n  allow_private_networks: true\n"  # concurrency: the defaults (2 per host)
        f"alerts:\n  max_per_channel_per_run: {max_alerts}\n")
    (directory / "feeds.yaml").write_text("feeds:\n" + "".join(
        f"  - url: {url}\n    name: feed {i}\n" for i, url in enumerate(feeds)))
    base_rules = (ROOT / "config" / "rules.yaml").read_text()
    (directory / "rules.yaml").write_text(rules if rules is not None else base_rules.rstrip() + "\n" + EXTRA_RULES)
    (directory / "channels.yaml").write_text(
        "channels:\n" + "".join(f"  {name}:\n    url: \"{url}\"\n" for name, url in (channels or {}).items())
        if channels else "channels: {}\n")
    return directory


SERVER: dict = {}


def wait_server_idle(timeout: float = 60.0) -> None:
    """Wait until the Prefect server has worked off the last pass (its CPU under 10% for 1 s)."""
    pid = SERVER.get("pid")
    deadline = time.monotonic() + timeout
    while pid and time.monotonic() < deadline:
        before = proc_tree_cpu(pid)
        time.sleep(1.0)
        if proc_tree_cpu(pid) - before < 0.1:
            return


def tree_pss(parts: list[tuple[int, int]]) -> int:
    """PSS summed over the processes: each shared page (libpython, lxml's and numpy's code)
    divided among the processes that map it, so the sum is what the job takes from the
    machine; the RSS sum counts such a page once per process."""
    total = 0
    for member, _rss in parts:
        try:
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            continue
    return total


def run_pass(mode: str, config_dir: Path, env: dict, sample_memory: bool = False, extra: tuple = ()) -> dict:
    """One pass in its own process; adds process wall time, peak tree RSS and the CPU the
    Prefect server spent on it (until it settled) to the pass's JSON."""
    wait_server_idle()
    server_cpu = proc_tree_cpu(SERVER["pid"]) if SERVER.get("pid") else 0.0
    command = [sys.executable, str(ROOT / "bench" / "pipeline_pass.py"), mode, str(config_dir), *extra]
    start = time.perf_counter()
    log = open(config_dir / f"pass-{mode}.log", "ab")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, env=env, cwd=config_dir)
    peak, stop, at_peak = [0], threading.Event(), [""]

    pss_at_peak, pss_read = [0], [0.0]

    def sample() -> None:
        tree_rss = TreeRss(process.pid)
        while not stop.wait(0.02):
            total = tree_rss()
            if total > peak[0]:
                peak[0], parts = total, tree_rss.parts
                at_peak[0] = tree_rss.breakdown(parts)
                if time.perf_counter() - pss_read[0] > 0.25:  # smaps_rollup costs more than statm
                    pss_at_peak[0], pss_read[0] = tree_pss(parts), time.perf_counter()

    sampler = threading.Thread(target=sample, daemon=True)
    if sample_memory:
        sampler.start()
    out, _ = process.communicate()
    stop.set()
    log.close()
    if process.returncode != 0:
        tail = (config_dir / f"pass-{mode}.log").read_text(errors="replace")[-3000:]
        raise SystemExit(f"bench: pass failed ({mode} {config_dir}):\n{tail}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    result["process_wall"] = time.perf_counter() - start
    result["peak_rss"], result["peak_parts"], result["pss_at_peak"] = peak[0], at_peak[0], pss_at_peak[0]
    wait_server_idle()
    result["server_cpu"] = proc_tree_cpu(SERVER["pid"]) - server_cpu if SERVER.get("pid") else 0.0
    return result


def create_database(config_dir: Path, env: dict) -> None:
    """`newswatch db upgrade` for this config (0.06-0.1 s of the first pass otherwise)."""
    done = subprocess.run([sys.executable, "-m", "newswatch", "db", "upgrade", "--config", str(config_dir)],
                          env=env, cwd=config_dir, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench: newswatch db upgrade failed for {config_dir}:\n{done.stderr[-2000:]}")


def pass_env(api_url: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["PYTHONPATH"] = str(ROOT)
    env.pop("NEWSWATCH_DATABASE_URL", None)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


# ---------------------------------------------------------------- extraction-bound limit

_PAGES: list[bytes] = []


def _init_worker() -> None:
    import extractors.articles  # noqa: F401


def _extract(n: int) -> int:
    from extractors.articles import extract_article

    return len(extract_article(_PAGES[n % len(_PAGES)], f"http://127.0.0.2/p/limit/{n}.html",
                               {"content-type": "text/html"}).text)


def extraction_limit(articles: int) -> float:
    """Seconds to extract `articles` pages in a pool of one process per core (fork: pages shared)."""
    with multiprocessing.get_context("fork").Pool(os.cpu_count(), initializer=_init_worker) as pool:
        pool.map(_init_worker_noop, range(os.cpu_count() * 2))
        start = time.perf_counter()
        for _ in pool.imap_unordered(_extract, range(articles), chunksize=1):
            pass
        return time.perf_counter() - start


def _init_worker_noop(_n: int) -> None:
    return None


# ---------------------------------------------------------------- measurements

def measure_throughput(args, port: int, api_url: str, workdir: Path) -> dict:
    """Per repeat: limit, first pass of one mode, limit, first pass of the other, limit, then
    the two second passes; cli first in the 1st, 3rd, ... repeats, direct first in the others,
    so a drift does not always favour the same mode. Each first pass sits between two
    measurements of the limit, whose mean is the limit at its time: the host's speed drifts by
    10-20% within a minute here, and a limit taken 20 s off the pass carried that drift into
    the ratio. Prefect's share compares the two first passes each over its own limit, since
    one limit's measurement runs between them."""
    runs = []
    for rep in range(args.repeats):
        feeds = feed_urls(port, f"t{rep}", args.articles)
        dirs = {"cli": write_config(workdir / f"throughput-cli-{rep}", feeds),
                "direct": write_config(workdir / f"throughput-direct-{rep}", feeds)}
        envs = {"cli": pass_env(api_url), "direct": pass_env(None)}
        for directory in dirs.values():
            create_database(directory, pass_env(None))
        order = ("cli", "direct") if rep % 2 == 0 else ("direct", "cli")
        firsts, brackets = {}, {}
        limit = extraction_limit(args.articles)
        for mode in order:
            firsts[mode] = run_pass(mode, dirs[mode], envs[mode], sample_memory=mode == "cli")
            brackets[mode] = (limit, limit := extraction_limit(args.articles))
        seconds = {mode: run_pass(mode, dirs[mode], envs[mode]) for mode in order}
        first, second, d_first, d_second = firsts["cli"], seconds["cli"], firsts["direct"], seconds["direct"]
        new = first["summary"]["new_articles"]
        runs.append(dict(first=first, second=second, limit=sum(brackets["cli"]) / 2, limits=brackets["cli"],
                         d_limit=sum(brackets["direct"]) / 2, d_first=d_first, d_second=d_second, new=new,
                         load=load_average()))
        print(f"  repeat {rep + 1} ({order[0]} first): pass1 {first['wall']:.1f} s ({new} new), pass2 "
              f"{second['wall']:.1f} s, limit {brackets['cli'][0]:.1f}/{brackets['cli'][1]:.1f} s, direct "
              f"{d_first['wall']:.1f}/{d_second['wall']:.1f} s (limit {brackets['direct'][0]:.1f}/"
              f"{brackets['direct'][1]:.1f} s), peak RSS {first['peak_rss'] / 2**20:.0f} MB, load {runs[-1]['load']}",
              flush=True)
    return report_throughput(args, runs)


def report_throughput(args, runs: list[dict]) -> dict:
    n = args.articles
    marginal = [(r["first"]["wall"] - r["second"]["wall"]) / n * 1000 for r in runs]
    limit = [r["limit"] / n * 1000 for r in runs]
    eff = [r["limit"] / (r["first"]["wall"] - r["second"]["wall"]) for r in runs]
    rate = [r["new"] / r["first"]["process_wall"] for r in runs]
    cpu = [(r["first"]["cpu"] - r["second"]["cpu"]) / n * 1000 for r in runs]
    cpu_main = [(r["first"].get("cpu_main", 0) - r["second"].get("cpu_main", 0)) / n * 1000 for r in runs]
    d_marginal = [(r["d_first"]["wall"] - r["d_second"]["wall"]) / n * 1000 for r in runs]
    d_eff = [r["d_limit"] / (r["d_first"]["wall"] - r["d_second"]["wall"]) for r in runs]
    unscaled = [1 - r["d_first"]["wall"] / r["first"]["wall"] for r in runs]
    share = [1 - (r["d_first"]["wall"] / r["d_limit"]) / (r["first"]["wall"] / r["limit"]) for r in runs]
    print(f"1. throughput ({n} new articles, {args.latency_ms:g} ms latency, 8 hosts x 2 connections):")
    print(f"   pass 1 wall               {spread([r['first']['wall'] for r in runs])} s "
          f"(whole process {spread([r['first']['process_wall'] for r in runs])} s)")
    print(f"   pass 2 wall (nothing new) {spread([r['second']['wall'] for r in runs])} s")
    print(f"   marginal per article      {spread(marginal)} ms wall, {spread(cpu)} ms CPU (process tree), of which "
          f"{spread(cpu_main)} ms in the pass process (fetch, match, store; the rest is the extraction workers)")
    drift = [abs(r["limits"][1] - r["limits"][0]) / r["limit"] * 100 for r in runs]
    print(f"   extraction-bound limit    {spread(limit)} ms per article ({os.cpu_count()} processes; mean of the "
          f"measurements just before and after the cli pass 1, which differ by {spread(drift, '{:.0f}')}%)")
    print(f"   Prefect server CPU        pass 1 {spread([r['first']['server_cpu'] for r in runs])} s, "
          f"pass 2 {spread([r['second']['server_cpu'] for r in runs])} s (not in the figures above)")
    print(f"   efficiency limit/marginal {spread(eff)}   goal >= 0.8")
    print(f"   articles/s, whole run     {spread(rate, '{:.1f}')}")
    print(f"4. Prefect overhead, {n}-article pass: direct pass 1 {spread([r['d_first']['wall'] for r in runs])} s, "
          f"marginal {spread(d_marginal)} ms/article (efficiency {spread(d_eff)}); "
          f"Prefect adds {spread([s * 100 for s in share], '{:.1f}')}% of the pass's wall time (each pass 1 "
          f"over the limit around it; unscaled {spread([s * 100 for s in unscaled], '{:.1f}')}%)   goal < 10%")
    return dict(marginal_ms=marginal, limit_ms=limit, efficiency=eff, rate=rate, prefect_share=share,
                peak_rss=[r["first"]["peak_rss"] for r in runs])


def measure_quiet(args, port: int, api_url: str, workdir: Path) -> dict:
    """The modes take turns within each repeat (in the reverse order every other repeat, the
    direct pass next to the cli pass), each mode's 10-feed and 1,000-feed passes back to back:
    this host's speed drifts by 10-20% within a minute, and modes measured one block after
    another (all cli passes, then all direct ones) carried that drift into Prefect's share."""
    results: dict = {}
    modes = [(m, pass_env(None if m == "direct" else api_url)) for m in args.quiet_modes.split(",")]
    many = args.quiet_feeds
    directories = {}
    for mode, env in modes:
        for count in (10, many):
            directories[mode, count] = write_config(workdir / f"quiet-{mode}-{count}", quiet_feed_urls(port, count))
            run_pass(mode, directories[mode, count], env)  # first poll: 200 with an ETag
            results[mode, count] = []
    direct = [m for m in modes if m[0] == "direct"]
    others = [m for m in modes if m[0] != "direct"]
    in_turns = others[:1] + direct + others[1:]  # direct beside cli: Prefect's share compares the two
    for repeat in range(args.repeats):
        for mode, env in (in_turns if repeat % 2 == 0 else in_turns[::-1]):
            for count in (10, many):
                results[mode, count].append(run_pass(mode, directories[mode, count], env))
    print(f"3. quiet pass ({many} feeds on {len(HOSTS)} hosts, all 304; fetch.concurrency 16):")
    for mode, _env in modes:
        big, small = results[mode, many], results[mode, 10]
        wall = [r["wall"] for r in big]
        marginal = [b["wall"] - s["wall"] for b, s in zip(big, small)]  # each against the pass just before it
        cpu = [(b["cpu"] - s["cpu"]) / (many - 10) * 1000 for b, s in zip(big, small)]
        server = [(b["server_cpu"] - s["server_cpu"]) / (many - 10) * 1000 for b, s in zip(big, small)]
        label = {"cli": "newswatch run (Prefect)", "coarse": "one poll task (experim.)",
                 "direct": "run_pass (no Prefect)  "}[mode]
        print(f"   {label} wall {spread(wall)} s, marginal over 10 feeds {spread(marginal)} s   goal < 5 s; "
              f"CPU per feed {spread(cpu)} ms   goal < 2 ms" + (f" (+ Prefect server {spread(server)} ms)"
                                                                  if mode != "direct" else ""))
        for r, m, c in zip(big, marginal, cpu):
            r["marginal"], r["cpu_per_feed"] = m, c
    if ("direct", many) not in results:
        return {}
    shares = [1 - d["wall"] / c["wall"] for c, d in zip(results.get(("cli", many), []), results["direct", many])]
    coarse = [1 - d["wall"] / c["wall"] for c, d in zip(results.get(("coarse", many), []), results["direct", many])]
    print(f"4. Prefect overhead, quiet pass: Prefect adds {spread([s * 100 for s in shares], '{:.1f}')}% "
          f"of the pass's wall time   goal < 10%  (with one poll task: {spread([s * 100 for s in coarse], '{:.1f}')}%)")
    return dict(prefect_share=shares, coarse=coarse)


def measure_memory(args, port: int, api_url: str, workdir: Path, at_small: list[int]) -> dict:
    directory = write_config(workdir / "memory-big", feed_urls(port, "m", args.big))
    big = run_pass("cli", directory, pass_env(api_url), sample_memory=True)
    small = statistics.median(at_small) if at_small else None
    print(f"5. memory: peak RSS of the pass's process tree: {spread([x / 2**20 for x in at_small], '{:.0f}')} MB "
          f"at {args.articles} new articles (goal < 500 MB), {big['peak_rss'] / 2**20:.0f} MB at "
          f"{big['summary']['new_articles']} ({big['wall']:.1f} s)", end="")
    growth = big["peak_rss"] / small - 1 if small else None
    print(f"; +{growth * 100:.1f}% (goal < 20%)" if growth is not None else "")
    print(f"   at the peak of the {big['summary']['new_articles']}-article pass, MB: {big['peak_parts']}; "
          f"PSS then (shared pages counted once): {big['pss_at_peak'] / 2**20:.0f} MB")
    return dict(big=big["peak_rss"], growth=growth)


def measure_peer(args, port: int, api_url: str, workdir: Path) -> dict:
    """Per repeat, trafilatura's feed mode and a whole `newswatch run` process on the same number
    of new articles, back to back (in turns, one first then the other): our rate from the
    throughput passes, minutes away, carried the host's drift into the ratio (2.09x in a run
    whose throughput passes fell in a slow spell, 2.5-3.2x in the runs before it)."""
    exe = Path(sys.executable).with_name("trafilatura")
    rates, ours = [], []

    def run_peer(rep: int) -> None:
        out = workdir / f"peer-{rep}"
        out.mkdir()
        (out / "feeds.txt").write_text("\n".join(feed_urls(None, f"peer{rep}", args.articles)) + "\n")
        (out / "settings.cfg").write_text(PEER_CONFIG)
        start = time.perf_counter()
        # JSON lines on stdout, one per article (with -o it names files by content hash, so
        # the repeated pages would overwrite each other)
        done = subprocess.run([str(exe), "-i", str(out / "feeds.txt"), "--feed", "--parallel", "2",
                               "--output-format", "json", "--config-file", str(out / "settings.cfg")],
                              cwd=out, stdout=subprocess.PIPE, stderr=open(out / "stderr.log", "wb"), check=False)
        wall = time.perf_counter() - start
        written = sum(1 for line in done.stdout.splitlines() if line.startswith(b"{"))
        rates.append(written / wall if wall else 0.0)
        print(f"  peer repeat {rep + 1}: {written} articles in {wall:.1f} s, load {load_average()}", flush=True)

    def run_ours(rep: int) -> None:
        directory = write_config(workdir / f"peer-ours-{rep}", feed_urls(port, f"peer-ours{rep}", args.articles))
        create_database(directory, pass_env(None))  # as for the throughput passes
        result = run_pass("cli", directory, pass_env(api_url))
        ours.append(result["summary"]["new_articles"] / result["process_wall"])
        print(f"  ours repeat {rep + 1}: {result['summary']['new_articles']} articles in "
              f"{result['process_wall']:.1f} s (whole process)", flush=True)

    for rep in range(args.repeats):
        for step in ((run_ours, run_peer) if rep % 2 == 0 else (run_peer, run_ours)):
            step(rep)
    ratio = [o / p for o, p in zip(ours, rates) if p]
    print(f"2. peer: trafilatura --feed --parallel 2: {spread(rates, '{:.1f}')} articles/s; ours "
          f"{spread(ours, '{:.1f}')} (whole `newswatch run` process, beside each); ours/peer {spread(ratio)}x   "
          "goal >= 2x")
    return dict(rate=rates, ours=ours, ratio=ratio)


def measure_alerts(args, port: int, workdir: Path) -> dict:
    from newswatch.demo.servers import SmtpServer

    times = []
    for rep in range(args.repeats):
        smtp = SmtpServer()
        try:
            directory = write_config(workdir / f"alerts-{rep}", feed_urls(port, f"a{rep}", 100),
                                     channels={"desk-email": smtp.apprise_url()}, max_alerts=1000,
                                     rules="rules:\n  - name: Everything\n    query: NOT xyzzyplugh\n")
            result = run_pass("direct", directory, pass_env(None), extra=("--time-deliver",))
            sent, seconds = result["summary"]["alerts_sent"], result["deliver_seconds"]
            times.append(seconds)
            print(f"  alerts repeat {rep + 1}: {sent} sent, {len(smtp.inbox.messages)} received in {seconds:.1f} s",
                  flush=True)
        finally:
            smtp.close()
    print(f"6. alerts: 100 e-mails to a local SMTP server in {spread(times)} s   goal < 10 s")
    return dict(seconds=times)


# ---------------------------------------------------------------- main

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=1000, help="new articles in the throughput pass")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="added to every HTTP response")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quiet-feeds", type=int, default=1000)
    parser.add_argument("--quiet-modes", default="cli,coarse,direct",
                        help="cli: newswatch run (the monitor flow, feeds polled in tasks of POLL_BATCH); "
                             "coarse: the same flow with one poll task (experiment); direct: run_pass")
    parser.add_argument("--big", type=int, default=5000, help="new articles in the second memory pass")
    parser.add_argument("--first-host", type=int, default=2, help="serve from 127.0.0.N .. 127.0.0.N+7")
    for part in ("peer", "quiet", "memory", "alerts", "throughput"):
        parser.add_argument(f"--skip-{part}", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    HOSTS[:] = [f"127.0.0.{i}" for i in range(args.first_host, args.first_host + 8)]
    if not (DATA / "html").is_dir():
        raise SystemExit(f"bench: {DATA}/html not found; this benchmark needs the shared data folder "
                         f"({SHARED}) beside the repository")
    _PAGES.extend(gzip.decompress(p.read_bytes()) for p in sorted((DATA / "html").glob("*.html.gz")))
    port80 = not args.skip_peer
    if port80 and os.geteuid() != 0:
        print("bench: not root, so port 80 cannot be served: skipping the peer comparison")
        port80, args.skip_peer = False, True
    print(f"machine: {os.cpu_count()} cores, load average {load_average()} (1/5/15 min); "
          f"{len(_PAGES)} pages, {args.latency_ms:g} ms added latency")
    workdir = Path(tempfile.mkdtemp(prefix="newswatch-bench-"))
    try:
        with publisher_site(args.latency_ms, port80) as port, prefect_server(workdir) as (api_url, server_pid):
            SERVER["pid"] = server_pid
            run_pass("cli", write_config(workdir / "warmup", feed_urls(port, "w", 20)), pass_env(api_url))
            throughput = measure_throughput(args, port, api_url, workdir) if not args.skip_throughput else None
            if not args.skip_peer:
                measure_peer(args, port, api_url, workdir)
            if not args.skip_quiet:
                measure_quiet(args, port, api_url, workdir)
            if not args.skip_memory:
                measure_memory(args, port, api_url, workdir, throughput["peak_rss"] if throughput else [])
            if not args.skip_alerts:
                measure_alerts(args, port, workdir)
        print(f"load average at the end: {load_average()}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
