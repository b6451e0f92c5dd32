"""`incident-bot check-config`: reach each integration and say which one fails."""

from __future__ import annotations

import asyncio

from bot.settings import Settings

Result = tuple[str, bool | None, str]


async def _slack(settings: Settings) -> Result:
    if not settings.slack_bot_token:
        return ("slack", False, "SLACK_BOT_TOKEN is not set")
    from slack_sdk.errors import SlackApiError

    from bot.slack.gateway import build_client

    client = build_client(settings.slack_bot_token, settings.slack_api_base)
    try:
        auth = await client.auth_test()
    except SlackApiError as exc:
        return ("slack", False, f"auth.test failed: {exc.response.get('error')}")
    except Exception as exc:
        return ("slack", False, f"cannot reach {settings.slack_api_base}: {exc}")
    return ("slack", True, f"bot {auth.get('user')} in team {auth.get('team')}")


async def _redis(settings: Settings) -> Result:
    from bot.store.connection import RedisSetupError, open_db

    cfg = settings.redis_config()
    where = (
        f"sentinels {settings.redis_sentinels} (master {settings.redis_sentinel_master})"
        if cfg.sentinels
        else ("cluster via " if cfg.cluster else "") + settings.redis_url
    )
    try:
        db = await open_db(cfg)
    except RedisSetupError as exc:
        return ("redis", False, f"cannot reach {where}" if exc.unreachable else str(exc))
    await db.aclose()
    if db.durability.replicas:
        where += f", writes wait for {db.durability.replicas} replica(s)"
    return ("redis", True, where)


async def _prometheus(settings: Settings) -> Result:
    from bot.metrics import MetricsUnavailable, PrometheusSource
    from bot.metrics.sources import prometheus_servers

    servers = prometheus_servers(settings)
    if not servers:
        return ("prometheus", None, "PROMETHEUS_URL not set: /metrics is off")

    async def one(url: str) -> str | None:
        source = PrometheusSource(url)
        try:
            await source.instant("vector(1)")
        except MetricsUnavailable as exc:
            return exc.message
        finally:
            source.close()
        return None

    problems = await asyncio.gather(*(one(url) for url in servers.values()))
    down = {name: why for name, why in zip(servers, problems, strict=True) if why}
    if down:
        return ("prometheus", False, "; ".join(f"{n}: {w}" if n else w for n, w in down.items()))
    return ("prometheus", True, ", ".join(f"{n}={u}" if n else u for n, u in servers.items()))


async def _anthropic(settings: Settings) -> Result:
    if not settings.anthropic_api_key:
        return (
            "anthropic",
            None,
            "ANTHROPIC_API_KEY not set: postmortems use the deterministic draft",
        )
    import anthropic

    client = anthropic.AsyncAnthropic(
        api_key=settings.anthropic_api_key,
        base_url=str(settings.anthropic_base_url) if settings.anthropic_base_url else None,
        timeout=10.0,
        max_retries=0,
    )
    try:
        await client.models.list(limit=1)
    except anthropic.APIError as exc:
        return ("anthropic", False, f"{type(exc).__name__}: {exc}")
    return ("anthropic", True, settings.anthropic_model)


async def check_everything(settings: Settings) -> list[Result]:
    return list(
        await asyncio.gather(
            _slack(settings), _redis(settings), _prometheus(settings), _anthropic(settings)
        )
    )
