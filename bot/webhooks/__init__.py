"""Other systems calling in over HTTP: Alertmanager, PagerDuty and Opsgenie webhooks. An
entry point beside commands/ (Slack) and the web app: it parses, authenticates and hands
over to the domain (bot/alerts.py), never the other way round."""
