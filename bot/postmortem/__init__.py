"""Postmortems drafted from the incident record (deterministic, optionally AI-written)."""
