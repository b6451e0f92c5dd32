"""Incidents: the record, its lifecycle rules and the service that runs them."""
