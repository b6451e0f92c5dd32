"""Optional integrations: issue trackers (Jira, GitHub, Linear) and pagers (PagerDuty,
Opsgenie). Each sits behind a port (trackers.base.IssueTracker, pagers.base.Pager); the
composition root picks the adapters from settings, and no flow ever waits on one failing."""
