"""Issue trackers behind one port: Jira Cloud, GitHub Issues, Linear."""
