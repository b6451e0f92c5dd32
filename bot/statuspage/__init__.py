"""The status page customers read: components, incidents published from Slack with a
person's yes, uptime, scheduled maintenance, subscribers and the optional mirror to
Atlassian Statuspage (docs/status-page.md)."""
