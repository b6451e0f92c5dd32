"""The web app: incident pages, search and the JSON API outside Slack, behind Sign in with
Slack (OpenID Connect). What other features use:

* `bot.web.sessions`: `WebUser`, `current_user(request)`, `require_user(request)` (a
  signed-in member of the bot's workspace, or a redirect to sign in / the setup page),
  `csrf_field(request)` and `check_csrf(request)` for forms that change something;
* `bot.web.pages`: `render(request, "name.html", context)` with the base template
  `bot/web/templates/base.html` (blocks `title`, `head`, `nav`, `content`, `scripts`);
  a feature's own templates sit in its package, registered by its web_setup with
  `add_templates(app, directory)`;
* `bot.web.access`: `readable_incident(request, incident_id, user_id)`: the incident, or
  404 for anyone the read rule (bot/incidents/access.py) keeps out;
* `bot.web.app_state`: `require_state(request)` (the configured `WebState`: settings,
  services, the read rule) and `plain_page(title, body)` for a page without Jinja2.

Tests: tests/webapp.py (`running_web`, sign-in over HTTP through the emulator) and
tests/browser.py (chromium through Playwright); docs/web.md for people running it.

Nothing imports Jinja2 before the first page is rendered (processes stay lean).
"""
