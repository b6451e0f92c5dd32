"""Pagers behind one port: PagerDuty Events API v2, Opsgenie Alert API."""
