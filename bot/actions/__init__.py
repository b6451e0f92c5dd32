"""Action items: tracking, reminders, escalation and the weekly digest (no Slack imports)."""
