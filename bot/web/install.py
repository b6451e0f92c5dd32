"""The web app plugs in here. It is always installed, so every web path answers: with the
settings (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, WEB_BASE_URL, WEB_SESSION_SECRET) it serves
the pages behind Sign in with Slack; without them each answers one page naming what to set.
Jinja2 is imported only when the first page is rendered (bot/web/pages.py)."""

from __future__ import annotations

from aiohttp import web

from bot.features import InstallContext, Installed
from bot.web import api, auth, incidents
from bot.web.app_state import STATIC, WEB_STATE, WebState
from bot.web.sessions import SessionCodec


def build_state(ctx: InstallContext) -> WebState:
    settings = ctx.settings
    state = WebState(settings=settings, services=ctx.services,
                     access=ctx.services.incidents.access, missing=settings.web_missing())
    if state.missing:
        return state
    from bot.web.oidc import SlackSignIn

    assert settings.web_session_secret and settings.slack_client_id
    assert settings.slack_client_secret and settings.web_base
    state.codec = SessionCodec(settings.web_session_secret)
    state.signin = SlackSignIn(
        client_id=settings.slack_client_id, client_secret=settings.slack_client_secret,
        redirect_uri=settings.web_base + auth.CALLBACK_PATH,
        oidc_url=str(settings.slack_oidc_url), api_url=settings.slack_api_base,
        bot_client=ctx.chat.client,
    )
    return state


def install(ctx: InstallContext) -> Installed:
    state = build_state(ctx)

    def setup(app: web.Application) -> None:
        from bot.web.middleware import security_headers, session

        app[WEB_STATE] = state

        async def stop_streams(_: web.Application) -> None:
            state.stopping = True

        app.on_shutdown.append(stop_streams)
        app.middlewares.insert(0, security_headers)
        app.middlewares.append(session)

    routes = [
        *auth.routes(),
        *incidents.routes(),
        *api.routes(),
        web.static("/static", STATIC, append_version=False),
    ]
    return Installed("web", routes=routes, web_setup=[setup])
