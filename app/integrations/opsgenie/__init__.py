"""Opsgenie: Alert API v2 — a check going down creates an alert, coming up closes it."""
