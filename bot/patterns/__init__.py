"""Recurring incident patterns: root-cause taxonomy, explainable matching, recurrence flags."""
