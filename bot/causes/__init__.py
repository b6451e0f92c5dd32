"""What caused an incident: one classifier (bot/causes/classifier.py) over the cause
signatures (bot/causes/signatures.py), weighing what fixed it. The postmortem's root causes
and the patterns' root-cause category both come from it, so they never disagree."""
