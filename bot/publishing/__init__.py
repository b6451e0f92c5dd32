"""Publishing the postmortem where the team keeps documents (Confluence, Notion, Google
Docs), behind one `DocumentStore` port; each new version updates the same document."""
