"""Connecting to Redis: one server, a Sentinel-managed primary, or a Redis Cluster.

Every store gets a `Db`: the client (whichever of the three), the durability rule for
acknowledged writes (`WAIT` for replicas) and whether it talks to a cluster. Nothing here
connects at import time; `open_db` checks the settings against the servers at start and
fails with one line naming the bad setting.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ParamSpec, TypeAlias, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import Sentinel
from redis.exceptions import ClusterDownError, ReadOnlyError, RedisClusterException, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.errors import StoreUnavailable

if TYPE_CHECKING:
    from bot.store.batching import ScriptBatch

P = ParamSpec("P")
T = TypeVar("T")

# What the stores talk to: a plain/Sentinel-managed client or a cluster client.
Client: TypeAlias = aioredis.Redis | RedisCluster

CLIENT_OPTIONS: dict[str, Any] = {
    "decode_responses": True,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}

# A lost connection, a primary that became a replica in a failover, a cluster that is
# re-forming: the write did not happen (or is not confirmed); the user is told to retry.
UNAVAILABLE = (
    RedisConnectionError,
    RedisTimeoutError,
    ReadOnlyError,
    ClusterDownError,
    TryAgainError,
    OSError,
)


def unavailable(detail: str = "") -> StoreUnavailable:
    return StoreUnavailable(
        "The incident store (Redis) is unreachable, so nothing was changed. "
        "Try again in a moment." + (f" ({detail})" if detail else "")
    )


def guarded(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Turn a lost Redis connection (or a failover in progress) into a clear 'try again'."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await fn(*args, **kwargs)
        except UNAVAILABLE as exc:
            raise unavailable() from exc
        except RedisClusterException as exc:
            if "CROSSSLOT" in str(exc):
                raise  # a key-design bug, never a user's problem
            raise unavailable() from exc

    return wrapper


def connect(url: str) -> aioredis.Redis:
    """A client for one Redis server (the tests and `make run` use this)."""
    return aioredis.Redis.from_url(  # type: ignore[no-any-return]
        url, health_check_interval=10, retry_on_timeout=False, **CLIENT_OPTIONS
    )


@dataclass
class Durability:
    """Acknowledged writes wait until `replicas` replicas have them (Redis `WAIT`), for at
    most `timeout_ms`; fewer acks count as a failed write (Slack retries, the user is told)."""

    replicas: int = 0
    timeout_ms: int = 500


@dataclass
class Db:
    client: Client
    durability: Durability = field(default_factory=Durability)
    # the scripts waiting to go out together (bot/store/batching.py), made on first use
    script_batch: ScriptBatch | None = field(default=None, repr=False, compare=False)

    @property
    def is_cluster(self) -> bool:
        return isinstance(self.client, RedisCluster)

    async def aclose(self) -> None:
        await self.client.aclose()


class RedisSetupError(Exception):
    """The Redis settings do not match the servers; the message is one line naming the setting."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


@dataclass
class RedisSettings:
    """The Redis part of bot.settings.Settings (kept apart so tests can build it alone)."""

    url: str
    cluster: bool = False
    sentinels: list[tuple[str, int]] = field(default_factory=list)
    sentinel_master: str | None = None
    password: str | None = None
    sentinel_password: str | None = None
    min_replicas_ack: int | None = None
    replica_ack_timeout_ms: int = 500


def build_client(cfg: RedisSettings) -> Client:
    """The client for the settings, not yet connected."""
    if cfg.sentinels:
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            cfg.sentinels,
            sentinel_kwargs={
                "password": cfg.sentinel_password,
                "socket_connect_timeout": 1,
                "socket_timeout": 1,
            },
            password=cfg.password,
            **CLIENT_OPTIONS,
        )
        master: aioredis.Redis = sentinel.master_for(cfg.sentinel_master or "")
        return master
    if cfg.cluster:
        cluster: RedisCluster = RedisCluster.from_url(
            cfg.url, password=cfg.password, **CLIENT_OPTIONS
        )
        return cluster
    single: aioredis.Redis = aioredis.Redis.from_url(
        cfg.url, password=cfg.password, health_check_interval=10, **CLIENT_OPTIONS
    )
    return single


def db_for(cfg: RedisSettings) -> Db:
    """The Db for the settings without touching the network (replica acks as set, else 0);
    processes that serve use `open_db`, which also checks the servers."""
    return Db(build_client(cfg), Durability(cfg.min_replicas_ack or 0, cfg.replica_ack_timeout_ms))


async def open_db(cfg: RedisSettings) -> Db:
    """Connect and check the settings against the servers; RedisSetupError names the bad one."""
    if cfg.sentinels:
        await _check_sentinels(cfg)
    try:
        client = build_client(cfg)
    except RedisClusterException as exc:  # e.g. a database other than 0 in REDIS_URL
        raise RedisSetupError(f"setting REDIS_URL is invalid for a Redis Cluster: {exc}") from None
    try:
        info = await client.info("replication")
    except RedisClusterException as exc:
        if "not enabled" in str(exc):
            raise RedisSetupError(
                f"setting REDIS_CLUSTER is true but {cfg.url} is not a Redis Cluster node"
            ) from None
        raise RedisSetupError(
            f"setting REDIS_URL: cannot reach the cluster at {cfg.url} ({exc})", unreachable=True
        ) from None
    except Exception as exc:
        name = "REDIS_SENTINEL_MASTER" if cfg.sentinels else "REDIS_URL"
        raise RedisSetupError(
            f"setting {name}: cannot reach Redis ({exc})", unreachable=True
        ) from None
    if not cfg.cluster and not cfg.sentinels:
        mode = await client.info("cluster")
        if int(mode.get("cluster_enabled", 0)):
            raise RedisSetupError(
                f"setting REDIS_CLUSTER: {cfg.url} is a Redis Cluster node; set REDIS_CLUSTER=true"
            )
    replicas = cfg.min_replicas_ack
    if replicas is None:
        replicas = 1 if _has_replicas(info) else 0
    return Db(client, Durability(replicas, cfg.replica_ack_timeout_ms))


def _has_replicas(info: dict[str, Any]) -> bool:
    # a cluster client answers per node: {node: {...}}
    if "connected_slaves" in info:
        return int(info["connected_slaves"]) > 0
    return any(isinstance(v, dict) and int(v.get("connected_slaves", 0)) > 0 for v in info.values())


async def _check_sentinels(cfg: RedisSettings) -> None:
    if not cfg.sentinel_master:
        raise RedisSetupError("setting REDIS_SENTINEL_MASTER is required with REDIS_SENTINELS")
    reached = False
    for host, port in cfg.sentinels:
        client = aioredis.Redis(
            host=host,
            port=port,
            password=cfg.sentinel_password,
            socket_connect_timeout=1,
            socket_timeout=1,
            decode_responses=True,
        )
        try:
            masters = await client.sentinel_masters()  # type: ignore[no-untyped-call]
        except Exception:  # unreachable, auth, not a sentinel: try the next one
            continue
        finally:
            await client.aclose()
        reached = True
        if cfg.sentinel_master in masters:
            return
    if not reached:
        where = ",".join(f"{h}:{p}" for h, p in cfg.sentinels)
        raise RedisSetupError(
            f"setting REDIS_SENTINELS: no sentinel reachable at {where}", unreachable=True
        )
    raise RedisSetupError(
        f"setting REDIS_SENTINEL_MASTER: the sentinels know no master named {cfg.sentinel_master!r}"
    )
