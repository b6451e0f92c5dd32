"""Bad Redis settings stop `serve`/`worker` at start with one line naming the setting:
a cluster flag against a plain Redis (and the reverse), unreachable sentinels, an unknown
master name, malformed or incomplete sentinel settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from bot.cli import cli
from sandbox.redis_servers import SentinelSet, sentinel_set
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import BOT_TOKEN

REDIS_ENV = (
    "REDIS_URL", "REDIS_CLUSTER", "REDIS_SENTINELS", "REDIS_SENTINEL_MASTER",
    "REDIS_PASSWORD", "REDIS_SENTINEL_PASSWORD", "REDIS_MIN_REPLICAS_ACK",
)


@pytest.fixture(scope="module")
def sentinels() -> Iterator[SentinelSet]:
    with sentinel_set() as s:
        yield s


def start_worker(monkeypatch: pytest.MonkeyPatch, slack: SlackEmulator, **env: str) -> str:
    for name in REDIS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["worker"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_cluster_flag_against_a_plain_redis(
    monkeypatch: pytest.MonkeyPatch, slack: SlackEmulator, redis_url: str
) -> None:
    plain = redis_url.rsplit("/", 1)[0] + "/0"  # a cluster has only database 0
    line = start_worker(monkeypatch, slack, REDIS_URL=plain, REDIS_CLUSTER="true")
    assert line.startswith("incident-bot: setting REDIS_CLUSTER ")
    assert "not a Redis Cluster node" in line


def test_a_cluster_node_without_the_cluster_flag(
    monkeypatch: pytest.MonkeyPatch, slack: SlackEmulator, cluster_url: str
) -> None:
    line = start_worker(monkeypatch, slack, REDIS_URL=cluster_url)
    assert line.startswith("incident-bot: setting REDIS_CLUSTER")
    assert "set REDIS_CLUSTER=true" in line


def test_unreachable_sentinels(monkeypatch: pytest.MonkeyPatch, slack: SlackEmulator) -> None:
    line = start_worker(
        monkeypatch, slack, REDIS_SENTINELS="127.0.0.1:1,127.0.0.1:2", REDIS_SENTINEL_MASTER="m"
    )
    assert line == (
        "incident-bot: setting REDIS_SENTINELS: no sentinel reachable at 127.0.0.1:1,127.0.0.1:2"
    )


def test_unknown_master_name(
    monkeypatch: pytest.MonkeyPatch, slack: SlackEmulator, sentinels: SentinelSet
) -> None:
    line = start_worker(
        monkeypatch, slack,
        REDIS_SENTINELS=sentinels.sentinel_setting, REDIS_SENTINEL_MASTER="nosuchmaster",
    )
    assert line == (
        "incident-bot: setting REDIS_SENTINEL_MASTER: the sentinels know no master named "
        "'nosuchmaster'"
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"REDIS_SENTINELS": "sentinel-a"}, "REDIS_SENTINELS"),
        ({"REDIS_SENTINELS": "127.0.0.1:26379"}, "REDIS_SENTINEL_MASTER"),
        (
            {"REDIS_SENTINELS": "127.0.0.1:26379", "REDIS_SENTINEL_MASTER": "m",
             "REDIS_CLUSTER": "true"},
            "REDIS_CLUSTER",
        ),
        ({"REDIS_MIN_REPLICAS_ACK": "-1"}, "REDIS_MIN_REPLICAS_ACK"),
    ],
)
def test_malformed_or_incomplete_settings(
    monkeypatch: pytest.MonkeyPatch, slack: SlackEmulator, env: dict[str, str], named: str
) -> None:
    line = start_worker(monkeypatch, slack, **env)
    assert line.startswith(f"incident-bot: setting {named} ")


async def test_a_sentinel_managed_primary_is_found_and_replicas_make_writes_wait(
    sentinels: SentinelSet,
) -> None:
    from bot.store.connection import RedisSettings, open_db

    db = await open_db(
        RedisSettings(
            url="redis://unused", sentinels=[("127.0.0.1", s.port) for s in sentinels.sentinels],
            sentinel_master=sentinels.master_name,
        )
    )
    try:
        assert db.durability.replicas == 1  # the primary has a replica: default WAIT 1
        await db.client.set("ib:probe", "1")
        assert sentinels.server_on(sentinels.current_primary_port()).client().get("ib:probe")
    finally:
        await db.aclose()
