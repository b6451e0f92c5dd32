"""Sign in with Slack end to end over HTTP: the bot's web app against the emulator's OpenID
Connect (authorize page, openid.connect.token, keys), with real Redis. What is refused:
another workspace's member, a stale state, a forged, expired or foreign id_token, a form
without its CSRF token; and with SLACK_CLIENT_ID/SECRET in the environment the bot still
answers slash commands with its one bot token (Bolt's OAuth mode stays off)."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.web.middleware import SECURITY_HEADERS
from bot.web.oidc import SignInRefused, SlackSignIn
from bot.web.sessions import SESSION_COOKIE, SessionCodec, WebUser
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import running_bot
from tests.webapp import CLIENT_ID, CLIENT_SECRET, SESSION_SECRET, running_web


def assert_secured(headers: Any) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, name
    assert "unsafe-inline" not in headers["Content-Security-Policy"]


async def test_without_its_settings_every_web_path_names_what_to_set(
    slack: SlackEmulator, redis_url: str
) -> None:
    async with running_bot(slack, redis_url) as h:
        from tests.webapp import WebSite

        site = WebSite(bot=h.bot, driver=h.driver, slack=slack, url=h.url)
        browser = site.client()
        try:
            for path in ("/incidents", "/auth/signin", "/auth/callback?code=x&state=y",
                         "/auth/signed-out"):
                async with browser.get(h.url + path, allow_redirects=False) as r:
                    text = await r.text()
                    assert r.status == 503, path
                    for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "WEB_BASE_URL",
                                 "WEB_SESSION_SECRET"):
                        assert name in text, (path, name)
                    assert_secured(r.headers)
            assert SESSION_COOKIE not in {c.key for c in browser.cookie_jar}
        finally:
            await browser.close()


async def test_a_member_signs_in_and_sees_the_incident_list(
    slack: SlackEmulator, redis_url: str
) -> None:
    async with running_web(slack, redis_url) as site:
        anonymous = site.client()
        async with anonymous.get(site.url + "/incidents?status=open", allow_redirects=False) as r:
            assert r.status == 302
            location = r.headers["Location"]
            assert location.startswith("/auth/signin?")
            assert site.callback_query(location) == {"next": "/incidents?status=open"}
            assert_secured(r.headers)

        await site.declare("Checkout API returning 500s sev:2", user="U0ALICE")
        browser = site.client()
        answer = await site.sign_in(browser, "U0BOB", next_path="/incidents?x=1")
        assert answer.status == 302 and answer.headers["Location"] == "/incidents?x=1"
        cookie = answer.headers.getall("Set-Cookie")
        session = next(c for c in cookie if c.startswith(SESSION_COOKIE + "="))
        assert "HttpOnly" in session and "SameSite=Lax" in session and "Max-Age=" in session
        assert "Secure" not in session  # WEB_BASE_URL is http here
        async with browser.get(site.url + "/incidents") as r:
            page = await r.text()
            assert r.status == 200
            assert_secured(r.headers)
            assert "Bob Brown" in page  # the name from users.info
            assert "Checkout API returning 500s" in page
        assert slack.oidc.signins == ["U0BOB"]
        # the token call went through SLACK_API_URL, the client authenticated, nothing leaked
        (call,) = slack.calls("openid.connect.token")
        assert call.response["ok"] and "client_secret" not in call.args


async def test_a_member_of_another_workspace_is_refused(
    slack: SlackEmulator, redis_url: str
) -> None:
    slack.oidc.add_outsider("U0EVE", "Eve Other", team_id="T0OTHER")
    async with running_web(slack, redis_url) as site:
        browser = site.client()
        answer = await site.sign_in(browser, "U0EVE")
        text = await answer.text()
        assert answer.status == 403 and "another workspace" in text
        assert SESSION_COOKIE not in {c.key for c in browser.cookie_jar}
        async with browser.get(site.url + "/incidents", allow_redirects=False) as r:
            assert r.status == 302 and r.headers["Location"].startswith("/auth/signin")


async def test_a_sign_in_is_refused_while_the_bots_workspace_is_unknown(
    slack: SlackEmulator, redis_url: str
) -> None:
    async with running_web(slack, redis_url) as site:
        slack.fail("auth.test", "invalid_auth", times=None)
        browser = site.client()
        answer = await site.sign_in(browser, "U0ALICE")
        assert answer.status == 403 and "which workspace" in await answer.text()
        assert SESSION_COOKIE not in {c.key for c in browser.cookie_jar}
        slack.clear_faults()
        assert (await site.sign_in(browser, "U0ALICE")).status == 302  # asked again


async def test_a_callback_without_this_browsers_state_is_refused(
    slack: SlackEmulator, redis_url: str
) -> None:
    async with running_web(slack, redis_url) as site:
        attacker, victim = site.client(), site.client()
        start = await attacker.get(site.url + "/auth/signin", allow_redirects=False)
        chosen = await attacker.get(start.headers["Location"] + "&user=U0ALICE",
                                    allow_redirects=False)
        # the attacker's callback link, opened in another browser (login CSRF)
        answer = await victim.get(chosen.headers["Location"], allow_redirects=False)
        assert answer.status == 403 and "stale" in await answer.text()
        assert SESSION_COOKIE not in {c.key for c in victim.cookie_jar}
        # the right browser, the wrong state
        query = site.callback_query(chosen.headers["Location"])
        wrong = await attacker.get(
            f"{site.url}/auth/callback?code={query['code']}&state=forged", allow_redirects=False)
        assert wrong.status == 403


async def test_sign_out_needs_the_csrf_token(slack: SlackEmulator, redis_url: str) -> None:
    async with running_web(slack, redis_url) as site:
        browser = await site.signed_in("U0ALICE")
        async with browser.post(site.url + "/auth/signout", data={"csrf_token": "guess"},
                                allow_redirects=False) as r:
            assert r.status == 403
        async with browser.get(site.url + "/incidents") as r:
            assert r.status == 200
            page = await r.text()
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        async with browser.post(site.url + "/auth/signout", data={"csrf_token": token},
                                allow_redirects=False) as r:
            assert r.status == 302 and r.headers["Location"] == "/auth/signed-out"
        async with browser.get(site.url + "/incidents", allow_redirects=False) as r:
            assert r.status == 302


async def test_a_forged_tampered_or_expired_session_is_nobody(
    slack: SlackEmulator, redis_url: str
) -> None:
    codec = SessionCodec(SESSION_SECRET)
    now = time.time()
    alice = WebUser(id="U0ALICE", team_id="T0001", name="Alice", csrf="x", expires=now + 60)
    assert codec.open_user(codec.seal_user(alice)) == alice
    expired = WebUser(id="U0ALICE", team_id="T0001", name="Alice", expires=now - 1)
    assert codec.open_user(codec.seal_user(expired)) is None
    other = SessionCodec("another-secret-of-at-least-32-characters!")
    assert codec.open_user(other.seal_user(alice)) is None
    sealed = codec.seal_user(alice)
    assert codec.open_user(sealed[:-4] + ("AAAA" if sealed[-4:] != "AAAA" else "BBBB")) is None
    async with running_web(slack, redis_url) as site:
        browser = site.client()
        for value in (other.seal_user(alice), codec.seal_user(expired), "not-a-session"):
            async with browser.get(site.url + "/incidents", allow_redirects=False,
                                   cookies={SESSION_COOKIE: value}) as r:
                assert r.status == 302


async def test_https_base_url_makes_the_cookies_secure(
    slack: SlackEmulator, redis_url: str
) -> None:
    async with running_web(slack, redis_url,
                           web_base_url="https://incidents.example.com") as site:
        browser = site.client()
        async with browser.get(site.url + "/auth/signin", allow_redirects=False) as r:
            assert r.status == 302
            assert "redirect_uri=https://incidents.example.com/auth/callback" in \
                r.headers["Location"]
            assert "Secure" in r.headers["Set-Cookie"]


def signer(slack: SlackEmulator) -> SlackSignIn:
    return SlackSignIn(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        redirect_uri="http://127.0.0.1/auth/callback",
        oidc_url=f"{slack.base_url}/openid/connect/", api_url=slack.api_url,
        bot_client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url),
    )


async def test_the_id_token_is_checked_signature_issuer_audience_expiry_nonce_team(
    slack: SlackEmulator,
) -> None:
    sign_in = signer(slack)
    alice = slack.oidc._person("U0ALICE")
    assert alice is not None
    good = slack.oidc.claims(alice, CLIENT_ID, "n1")
    claims = await sign_in.verify(slack.oidc.sign(good), "n1")
    assert claims["https://slack.com/team_id"] == "T0001"

    def variant(**changes: Any) -> str:
        return slack.oidc.sign({**good, **changes})

    cases = {
        "audience": variant(aud="someone-else"),
        "issuer": variant(iss="https://evil.example"),
        "expired": variant(exp=int(time.time()) - 3600),
        "team": variant(**{"https://slack.com/team_id": "T0OTHER"}),
        "nonce": variant(nonce="n2"),
    }
    for name, token in cases.items():
        with pytest.raises(SignInRefused):
            await sign_in.verify(token, "n1")
        assert name
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(good, stranger, algorithm="RS256", headers={"kid": slack.oidc.kid})
    with pytest.raises(SignInRefused, match="Signature verification failed"):
        await sign_in.verify(forged, "n1")
    unsigned = jwt.encode(good, "", algorithm="none")
    with pytest.raises(SignInRefused):
        await sign_in.verify(unsigned, "n1")


async def test_the_emulators_token_call_is_strict_like_slacks(slack: SlackEmulator) -> None:
    slack.oidc.register_client(CLIENT_ID, CLIENT_SECRET, ["http://app.test/cb"])
    api = AsyncWebClient(base_url=slack.api_url)

    async def code_for(user: str) -> str:
        import aiohttp

        url = (f"{slack.base_url}/openid/connect/authorize?response_type=code&scope=openid"
               f"&client_id={CLIENT_ID}&redirect_uri=http://app.test/cb&state=s&user={user}")
        async with aiohttp.ClientSession() as http, \
                http.get(url, allow_redirects=False) as r:
            assert r.status == 302, await r.text()
            return r.headers["Location"].split("code=", 1)[1].split("&", 1)[0]

    async def error(**kwargs: Any) -> str:
        with pytest.raises(SlackApiError) as raised:
            await api.openid_connect_token(**kwargs)
        return str(raised.value.response["error"])

    code = await code_for("U0ALICE")
    assert await error(client_id="9.9", client_secret=CLIENT_SECRET, code=code,
                       redirect_uri="http://app.test/cb") == "invalid_client_id"
    assert await error(client_id=CLIENT_ID, client_secret="wrong", code=code,
                       redirect_uri="http://app.test/cb") == "bad_client_secret"
    assert await error(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code="nope",
                       redirect_uri="http://app.test/cb") == "invalid_code"
    assert await error(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code,
                       redirect_uri="http://app.test/other") == "bad_redirect_uri"
    code = await code_for("U0ALICE")
    ok = await api.openid_connect_token(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                        code=code, redirect_uri="http://app.test/cb")
    assert ok["token_type"] == "Bearer" and ok["id_token"]
    assert await error(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code,
                       redirect_uri="http://app.test/cb") == "invalid_code"  # used once
    info = await AsyncWebClient(token=ok["access_token"], base_url=slack.api_url
                                ).openid_connect_userInfo()
    assert info["sub"] == "U0ALICE" and info["https://slack.com/team_id"] == "T0001"
    # the authorize page refuses a redirect the app did not register
    import aiohttp

    bad = (f"{slack.base_url}/openid/connect/authorize?response_type=code&scope=openid"
           f"&client_id={CLIENT_ID}&redirect_uri=http://evil.test/cb&user=U0ALICE")
    async with aiohttp.ClientSession() as http, http.get(bad, allow_redirects=False) as r:
        assert r.status == 400 and "bad_redirect_uri" in await r.text()


async def test_client_id_and_secret_in_the_environment_keep_the_bot_token_mode(
    slack: SlackEmulator, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SLACK_CLIENT_SECRET", CLIENT_SECRET)
    async with running_web(slack, redis_url) as site:
        assert site.bot.app.oauth_flow is None
        assert site.bot.app.installation_store is None
        reply = await site.driver.command("help", user="U0ALICE", channel=site.incidents_id)
        assert "/incident declare" in reply.text
        channel = await site.declare("Login page down sev:3", user="U0ALICE")
        assert slack.channel(channel) is not None
    import os

    assert os.environ["SLACK_CLIENT_ID"] == CLIENT_ID  # hidden from Bolt only while built


def test_the_worker_and_the_command_line_do_not_load_jinja() -> None:
    """Only a serving process's web_setup imports Jinja2 (processes stay lean)."""
    import subprocess
    import sys

    code = ("import sys, bot.wiring, bot.web.install, bot.web.pages, bot.cli; "
            "assert 'jinja2' not in sys.modules and 'aiohttp_jinja2' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


async def test_every_web_route_refuses_the_signed_out(
    slack: SlackEmulator, redis_url: str
) -> None:
    """Each route of the web app, read from the router (a new one is covered at once):
    a page sends the signed-out to sign in, the API answers 401, and nothing answers 200
    except the sign-in routes and the static files."""
    async with running_web(slack, redis_url) as site:
        app_routes = {
            info.get("path") or info.get("formatter") or info.get("prefix")
            for route in site.bot.web_app.router.routes()
            for info in [route.resource.get_info()] if route.resource is not None
        }
        web_routes = sorted(p for p in app_routes if p and p.startswith(
            ("/incidents", "/insights", "/api/v1", "/auth", "/static")))
        assert set(web_routes) >= {
            "/api/v1/incidents", "/api/v1/incidents/{incident_id}", "/auth/callback",
            "/auth/signed-out", "/auth/signin", "/auth/signout", "/incidents",
            "/incidents.csv", "/incidents/{incident_id}", "/incidents/{incident_id}/live",
            "/static",
        }
        anonymous = site.client()
        for path in web_routes:
            url = site.url + path.replace("{incident_id}", "INC-20261123-0001")
            method = "POST" if path == "/auth/signout" else "GET"
            if path == "/static":
                url += "/app.css"
            async with anonymous.request(method, url, allow_redirects=False) as r:
                assert_secured(r.headers)
                if path.startswith("/api/"):
                    assert r.status == 401, path
                elif path.startswith(("/incidents", "/insights")):
                    assert r.status == 302 and r.headers["Location"].startswith(
                        "/auth/signin?next="), path
                elif path == "/auth/signout":
                    assert r.status == 403, path  # no session, no CSRF token
                elif path == "/auth/callback":
                    assert r.status == 403, path  # no sign-in was started here
                elif path == "/auth/signin":
                    assert r.status == 302 and r.headers["Location"].startswith(
                        f"{slack.base_url}/openid/connect/authorize?"), path
                else:
                    assert r.status == 200, path
        async with anonymous.get(site.url + "/", allow_redirects=False) as r:
            assert r.status == 302 and r.headers["Location"] == "/incidents"
        for name, kind in (("app.css", "text/css"), ("live.js", "javascript")):
            async with anonymous.get(f"{site.url}/static/{name}") as r:
                assert r.status == 200 and kind in r.content_type, name
                assert_secured(r.headers)
