"""Real Redis topologies started on free ports, for the tests and benches: one server, a
3-master Redis Cluster (`redis-server --cluster-enabled yes` ×3 + `redis-cli --cluster
create`) and a Sentinel set (1 primary, 1 replica, 3 sentinels via `redis-server
--sentinel`). A missing binary raises (the test fails loudly); nothing is skipped."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis as sync_redis

STARTUP_SECONDS = 20.0
# libfaketime (Debian's `faketime`) fakes the clock of the bot's processes in the any-day,
# any-hour tests; Redis keeps the real one (and its tools hang when it is preloaded)
FAKETIME_VARIABLES = ("LD_PRELOAD", "FAKETIME")


def redis_env() -> dict[str, str]:
    """The environment for redis-server and redis-cli: this one without libfaketime."""
    return {k: v for k, v in os.environ.items() if k not in FAKETIME_VARIABLES}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_cluster_port() -> int:
    """A free port p ≤ 55535 whose cluster bus port p + 10000 is free too."""
    for _ in range(200):
        port = random.randint(20000, 45000)
        if _bindable(port) and _bindable(port + 10000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(
            f"`{name}` is required for the scale-out tests and benches and is not on PATH "
            "(apt-get install redis-server)"
        )
    return path


def _wait(check: object, what: str, timeout: float = STARTUP_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except (sync_redis.RedisError, OSError) as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up in {timeout}s ({last})")


@dataclass
class Server:
    port: int
    proc: subprocess.Popen[bytes]
    args: list[str]

    def client(self) -> sync_redis.Redis:
        return sync_redis.Redis(
            host="127.0.0.1", port=self.port, decode_responses=True, socket_timeout=2
        )

    def alive(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"redis-server on {self.port} exited ({self.proc.returncode})")
        return True

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def restart(self) -> None:
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, env=redis_env())
        _wait(lambda: self.client().ping(), f"redis on {self.port}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_server(workdir: Path, *extra: str, port: int | None = None) -> Server:
    port = port or free_port()
    args = [
        binary("redis-server"),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(workdir),
        "--save", "",
        "--appendonly", "no",
        "--dbfilename", f"dump-{port}.rdb",
        *extra,
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, env=redis_env())
    server = Server(port, proc, args)
    _wait(lambda: server.alive() and server.client().ping(), f"redis-server on {port}")
    return server


@dataclass
class Cluster:
    nodes: list[Server]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.nodes[0].port}/0"

    def flush(self) -> None:
        for n in self.nodes:
            n.client().flushall()


@contextmanager
def redis_cluster(masters: int = 3) -> Iterator[Cluster]:
    binary("redis-cli")
    with tempfile.TemporaryDirectory(prefix="ib-cluster-") as tmp:
        nodes: list[Server] = []
        try:
            for _ in range(masters):
                port = free_cluster_port()
                nodes.append(
                    start_server(
                        Path(tmp),
                        "--cluster-enabled", "yes",
                        "--cluster-config-file", f"nodes-{port}.conf",
                        "--cluster-node-timeout", "2000",
                        port=port,
                    )
                )
            subprocess.run(
                [binary("redis-cli"), "--cluster", "create",
                 *(f"127.0.0.1:{n.port}" for n in nodes),
                 "--cluster-replicas", "0", "--cluster-yes"],
                check=True, stdout=subprocess.DEVNULL, timeout=STARTUP_SECONDS,
                env=redis_env(),
            )
            _wait(
                lambda: all(
                    n.client().cluster("info")["cluster_state"] == "ok" for n in nodes
                ),
                "the cluster",
            )
            yield Cluster(nodes)
        finally:
            for n in nodes:
                n.stop()


@dataclass
class SentinelSet:
    primary: Server
    replica: Server
    sentinels: list[Server]
    master_name: str = "ibmaster"
    data: list[Server] = field(default_factory=list)

    @property
    def sentinel_setting(self) -> str:
        return ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)

    def current_primary_port(self) -> int:
        for s in self.sentinels:
            try:
                _host, port = s.client().execute_command(
                    "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.master_name
                )
                return int(port)
            except (sync_redis.RedisError, TypeError):
                continue
        raise RuntimeError("no sentinel answers")

    def server_on(self, port: int) -> Server:
        return next(s for s in (self.primary, self.replica) if s.port == port)

    def wait_primary_change(self, old_port: int, timeout: float = 30) -> int:
        """Until the sentinels name a primary other than `old_port`; returns its port."""
        _wait(lambda: self.current_primary_port() != old_port, "a new primary", timeout=timeout)
        return self.current_primary_port()

    def wait_replicated(self) -> None:
        """Until the current primary has one replica online."""
        def ok() -> bool:
            info = self.server_on(self.current_primary_port()).client().info("replication")
            return info.get("role") == "master" and int(info.get("connected_slaves", 0)) >= 1
        _wait(ok, "a replica of the current primary", timeout=30)


@contextmanager
def sentinel_set(down_after_ms: int = 1000) -> Iterator[SentinelSet]:
    with tempfile.TemporaryDirectory(prefix="ib-sentinel-") as tmp:
        started: list[Server] = []
        try:
            primary = start_server(Path(tmp))
            started.append(primary)
            replica = start_server(Path(tmp), "--replicaof", "127.0.0.1", str(primary.port))
            started.append(replica)
            _wait(
                lambda: replica.client().info("replication").get("master_link_status") == "up",
                "the replica",
            )
            sentinels = []
            for i in range(3):
                port = free_port()
                conf = Path(tmp) / f"sentinel-{i}.conf"
                conf.write_text(
                    f"port {port}\nbind 127.0.0.1\ndir {tmp}\n"
                    f"sentinel monitor ibmaster 127.0.0.1 {primary.port} 2\n"
                    f"sentinel down-after-milliseconds ibmaster {down_after_ms}\n"
                    "sentinel failover-timeout ibmaster 4000\n"
                    "sentinel parallel-syncs ibmaster 1\n"
                )
                args = [binary("redis-server"), str(conf), "--sentinel"]
                proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, env=redis_env())
                server = Server(port, proc, args)
                started.append(server)
                _wait(lambda s=server: s.client().ping(), f"sentinel on {port}")
                sentinels.append(server)
            setup = SentinelSet(primary, replica, sentinels)
            # every sentinel knows the replica and the other sentinels before a test fails over
            _wait(
                lambda: all(
                    len(s.client().sentinel_slaves("ibmaster")) >= 1
                    and int(s.client().sentinel_masters()["ibmaster"]["num-other-sentinels"]) >= 2
                    for s in sentinels
                ),
                "the sentinels' view",
            )
            yield setup
        finally:
            for s in reversed(started):
                s.stop()
