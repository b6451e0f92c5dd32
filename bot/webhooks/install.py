"""The webhook routes: POST /alertmanager (ALERTMANAGER_TOKEN), /webhooks/pagerduty
(PAGERDUTY_WEBHOOK_SECRET), /webhooks/opsgenie (OPSGENIE_WEBHOOK_TOKEN), and the trackers'
/webhooks/jira/<JIRA_WEBHOOK_TOKEN>, /webhooks/github (GITHUB_WEBHOOK_SECRET) and
/webhooks/linear (LINEAR_WEBHOOK_SECRET). Always served: each one answers 503 "not
configured" until its secret (and, for a tracker's, the tracker) is set."""

from __future__ import annotations

from bot.features import InstallContext, Installed
from bot.webhooks.alertmanager import alertmanager_routes
from bot.webhooks.pagers import PagerEvents, opsgenie_routes, pagerduty_routes
from bot.webhooks.trackers import tracker_routes


def install(ctx: InstallContext) -> Installed:
    settings, alerts = ctx.settings, ctx.services.alerts
    pager_events = PagerEvents(alerts=alerts, store=ctx.store, clock=ctx.clock)
    return Installed(
        "webhooks",
        routes=[
            *alertmanager_routes(alerts, settings.alertmanager_token),
            *pagerduty_routes(pager_events, settings.pagerduty_webhook_secret),
            *opsgenie_routes(pager_events, settings.opsgenie_webhook_token),
            *tracker_routes(
                ctx.services.tracking, clock=ctx.clock,
                jira_token=settings.jira_webhook_token,
                github_secret=settings.github_webhook_secret,
                github_repo=settings.github_repo,
                linear_secret=settings.linear_webhook_secret,
            ),
        ],
    )
