"""PagerDuty: Events API v2 — a check going down triggers an incident, coming up resolves it."""
