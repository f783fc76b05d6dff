"""Docs and deployment files stay honest: every command is documented, the quick start
is the two commands CI runs, every prefect.yaml entrypoint loads, and the Dockerfile
installs the package the way the README does."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from newswatch.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1]
    block = re.search(r"```(?:sh|bash)?\n(.*?)```", section, re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_quick_start_is_exactly_run_then_test_and_ci_runs_the_same_test_command():
    commands = quick_start_commands()
    assert commands == ["make run", "make test"]
    ci = (REPO / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^run: .*\n\t\$\(BIN\)/newswatch run$", makefile, re.M)


def test_every_cli_command_is_documented_in_the_readme():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    for name, sub in subparsers.choices.items():
        nested = [a for a in sub._actions if a.dest in ("rules_command", "db_command")]
        names = [f"{name} {child}" for child in nested[0].choices] if nested else [name]
        for full in names:
            assert f"`newswatch {full}" in README, f"`newswatch {full}` is not documented in README.md"


def test_every_prefect_yaml_entrypoint_loads_a_flow():
    from prefect.flows import Flow, load_flow_from_entrypoint

    deployments = yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"]
    assert {d["work_pool"]["name"] for d in deployments} >= {"newswatch-process", "newswatch-docker"}
    for deployment in deployments:
        path, _, name = deployment["entrypoint"].partition(":")
        assert (REPO / path).is_file()
        flow = load_flow_from_entrypoint(str(REPO / path) + ":" + name)
        assert isinstance(flow, Flow) and flow.name == name  # monitor, digest
        assert deployment["work_pool"]["name"] in ("newswatch-process", "newswatch-docker")
        assert set(deployment.get("parameters", {})) <= set(flow.parameters.properties)


def test_dockerfile_pins_its_base_installs_like_the_readme_and_drops_root():
    dockerfile = (REPO / "Dockerfile").read_text()
    base = re.search(r"^FROM (\S+)", dockerfile, re.M).group(1)
    assert re.search(r":\d+\.\d+\.\d+", base) or "@sha256:" in base, f"unpinned base image {base}"
    makefile = (REPO / "Makefile").read_text()
    assert "pip install --quiet -r requirements.lock" in makefile
    assert "pip install -r requirements.lock" in dockerfile
    assert "pip install --no-deps -e ." in dockerfile and "pip install --quiet --no-deps -e ." in makefile
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
