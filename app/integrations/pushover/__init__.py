"""Pushover: a push message to a user or group key, priority per direction."""
