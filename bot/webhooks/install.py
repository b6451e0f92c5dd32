"""The webhook routes: POST /alertmanager (ALERTMANAGER_TOKEN), /webhooks/pagerduty
(PAGERDUTY_WEBHOOK_SECRET) and /webhooks/opsgenie (OPSGENIE_WEBHOOK_TOKEN). Always served:
each one answers 503 "not configured" until its secret is set."""

from __future__ import annotations

from bot.features import InstallContext, Installed
from bot.webhooks.alertmanager import alertmanager_routes
from bot.webhooks.pagers import PagerEvents, opsgenie_routes, pagerduty_routes


def install(ctx: InstallContext) -> Installed:
    settings, alerts = ctx.settings, ctx.services.alerts
    pager_events = PagerEvents(alerts=alerts, store=ctx.store, clock=ctx.clock)
    return Installed(
        "webhooks",
        routes=[
            *alertmanager_routes(alerts, settings.alertmanager_token),
            *pagerduty_routes(pager_events, settings.pagerduty_webhook_secret),
            *opsgenie_routes(pager_events, settings.opsgenie_webhook_token),
        ],
    )
