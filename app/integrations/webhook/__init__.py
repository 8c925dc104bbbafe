"""Webhook notifications: a templated HTTP request per direction."""
