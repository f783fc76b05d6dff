"""The Docker image, without a Docker engine: its file tree is laid out in a temporary root
from the Dockerfile's own COPY, ENV, WORKDIR, VOLUME and CMD, and the container's command
runs there with the image's environment and paths: the user's config mounted where the
README says (`NEWSWATCH_CONFIG`, not a code package), state in the volume
(`NEWSWATCH_DATA_DIR`), the current directory the image's WORKDIR. The pass it completes
is checked at a feed and a webhook receiver on 127.0.0.1."""

from __future__ import annotations

import fnmatch
import json
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pytest
import yaml

from tests.conftest import DEMO_PAGES, REPO, rss, write_config
from tests.prefectserver import SERVER_ENV, free_port

PACKAGES = ("config", "extractors", "matching", "store", "alerts", "flows", "newswatch")
DOCKERIGNORE = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]


def dockerignored(directory: str, names: list[str]) -> set[str]:
    """shutil.copytree's `ignore`: the names the build context leaves out (.dockerignore)."""
    relative = Path(directory).relative_to(REPO)
    return {name for name in names for pattern in DOCKERIGNORE
            if fnmatch.fnmatch(str(relative / name), pattern.removeprefix("**/"))
            or (pattern.startswith("**/") and fnmatch.fnmatch(name, pattern.removeprefix("**/")))}


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order: comments dropped, continuation lines joined."""
    logical = []
    for line in text.replace("\\\n", " ").splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, arguments = stripped.partition(" ")
            logical.append((keyword.upper(), arguments.strip()))
    return logical


@dataclass
class ImageTree:
    """The image's files under `root` (container path /x is root/x) and its environment."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    copied_to: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)

    def host(self, container_path: str) -> Path:
        return self.root / PurePosixPath(container_path).relative_to("/")

    def container_path(self, path: str) -> str:
        return str(PurePosixPath(self.workdir) / path)

    def environment(self) -> dict[str, str]:
        """The image's ENV with its absolute paths moved under `root`; the editable install
        of /app is PYTHONPATH; HOME is the newswatch user's home."""
        env = {name: str(self.host(value)) if value.startswith("/") else value for name, value in self.env.items()}
        return {**env, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8",
                "HOME": str(self.host("/home/newswatch")), "PYTHONPATH": str(self.host(self.workdir))}


def build_image_tree(root: Path) -> ImageTree:
    """Carry out the Dockerfile's file instructions into `root` (RUN lines are pip installs and
    user creation: their effect is PYTHONPATH and HOME in `ImageTree.environment`)."""
    tree = ImageTree(root)
    for keyword, arguments in dockerfile_instructions((REPO / "Dockerfile").read_text()):
        if keyword == "ENV":
            tree.env.update(part.split("=", 1) for part in shlex.split(arguments))
        elif keyword == "WORKDIR":
            tree.workdir = arguments
        elif keyword == "COPY":
            *sources, destination = shlex.split(arguments)
            assert not any(source.startswith("--") for source in sources), arguments
            copy_into_tree(tree, sources, destination)
        elif keyword == "VOLUME":
            tree.volumes += json.loads(arguments)
        elif keyword == "CMD":
            tree.cmd = json.loads(arguments)
    for path in (*tree.volumes, "/home/newswatch", tree.workdir):
        tree.host(path).mkdir(parents=True, exist_ok=True)
    return tree


def copy_into_tree(tree: ImageTree, sources: list[str], destination: str) -> None:
    target = tree.container_path(destination)
    tree.copied_to.append(target)
    for source in sources:
        path = REPO / source
        if path.is_dir():
            shutil.copytree(path, tree.host(target), ignore=dockerignored, dirs_exist_ok=True)
        else:
            tree.host(target).mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, tree.host(target) / path.name)


def files_under(directory: Path) -> set[str]:
    return {str(path.relative_to(directory)) for path in directory.rglob("*")}


def is_within(path: str, parent: str) -> bool:
    return PurePosixPath(path).is_relative_to(PurePosixPath(parent))


@pytest.fixture
def image(tmp_path) -> ImageTree:
    return build_image_tree(tmp_path / "image")


def test_the_config_mount_point_and_the_state_volume_replace_no_file_of_the_image(image):
    config_dir, data_dir = image.env["NEWSWATCH_CONFIG"], image.env["NEWSWATCH_DATA_DIR"]
    assert config_dir.startswith("/") and data_dir.startswith("/")
    assert data_dir in image.volumes
    for mount in (config_dir, data_dir):
        assert not any(is_within(mount, code) or is_within(code, mount) for code in image.copied_to), \
            f"{mount} overlaps code copied into the image ({image.copied_to})"
        assert not image.host(mount).exists() or not any(image.host(mount).iterdir())
    assert (image.host(image.workdir) / "config" / "loader.py").is_file()  # the code package stays code


def test_the_image_runs_its_own_copy_of_every_package(image):
    done = subprocess.run(
        [sys.executable, "-c", f"import {', '.join(PACKAGES)}; "
                               f"print('\\n'.join(m.__file__ for m in ({', '.join(PACKAGES)})))"],
        cwd=image.host(image.workdir), env=image.environment(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for module_file in done.stdout.split():
        assert Path(module_file).is_relative_to(image.host(image.workdir)), module_file


def mount_users_config(image: ImageTree, site, webhook) -> Path:
    """The repository's config as a user copies it (settings.yaml with `data_dir: ../data`),
    with a local feed, a webhook channel and a 1-minute schedule, at NEWSWATCH_CONFIG."""
    seed = site.add("/news/dprk.html", (DEMO_PAGES / "seed_article.html").read_bytes())
    site.add("/rss.xml", rss([{"title": "North Korea shipped missiles", "link": seed}]),
             content_type="application/rss+xml")
    config_dir = write_config(image.host(image.env["NEWSWATCH_CONFIG"]),
                              feeds=[{"url": site.url("/rss.xml"), "name": "Local Daily"}],
                              channels={"team-hook": {"url": webhook.apprise_url()}})
    settings = yaml.safe_load((REPO / "config" / "settings.yaml").read_text())
    settings["fetch"]["allowed_networks"] = ["127.0.0.0/8"]
    settings["schedule"] = {"interval_minutes": 1, "timezone": "UTC"}
    (config_dir / "settings.yaml").write_text(yaml.safe_dump(settings))
    return config_dir


def seed_url(site) -> str:
    return site.url("/news/dprk.html")


def wait_for_alerts(process: subprocess.Popen, webhook, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not webhook.received and time.monotonic() < deadline:
        assert process.poll() is None, f"the command exited with {process.returncode}:\n{log.read_text()[-4000:]}"
        time.sleep(1)
    time.sleep(2)  # a second alert of the same pass, if there were one, arrives now


def stop(process: subprocess.Popen) -> None:
    """Ctrl-C (what `newswatch serve` documents as its stop)."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_the_containers_command_completes_a_pass_with_the_config_mounted_and_state_in_the_volume(
        image, site, webhook, tmp_path):
    from flows.prefect_server import local_server_home, stop_local_server
    from store import database, list_hits

    config_dir = mount_users_config(image, site, webhook)
    config_before = {name: (config_dir / name).read_bytes() for name in files_under(config_dir)
                     if (config_dir / name).is_file()}
    app_before = files_under(image.host(image.workdir))
    state = image.host(image.env["NEWSWATCH_DATA_DIR"])
    assert image.cmd[0] == "newswatch"  # the console script: newswatch.cli:main, as `python -m newswatch`
    # the container has port 4200 to itself; here the local Prefect server takes a free one
    env = {**image.environment(), **SERVER_ENV, "NEWSWATCH_PREFECT_PORT": str(free_port())}
    log = tmp_path / "container.log"
    with open(log, "w") as output:
        process = subprocess.Popen([sys.executable, "-m", "newswatch", *image.cmd[1:]],
                                   cwd=image.host(image.workdir), env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for_alerts(process, webhook, log, timeout=300)
    finally:
        stop(process)
        stop_local_server(local_server_home(state))

    assert webhook.received, f"no alert within 300 s:\n{log.read_text()[-4000:]}"
    assert "DPRK arms transfer" in json.dumps(webhook.received)
    with database(f"sqlite:///{state / 'newswatch.db'}") as engine:
        hits = list_hits(engine)
    assert "DPRK arms transfer" in {hit.rule for hit in hits} and {hit.url for hit in hits} == {seed_url(site)}
    assert len(webhook.received) == len(hits)  # each hit alerted once
    assert (local_server_home(state) / "server.log").is_file()  # the Prefect home is in the volume too
    assert files_under(image.host(image.workdir)) == app_before, "the command wrote into the image's WORKDIR"
    assert not image.host("/etc/data").exists()  # the env's data dir wins over the copied `data_dir: ../data`
    assert {name: (config_dir / name).read_bytes() for name in config_before} == config_before
    assert files_under(config_dir) == set(config_before) | {name for name in files_under(config_dir)
                                                            if (config_dir / name).is_dir()}
