"""Gotify: a Markdown message pushed to a self-hosted Gotify server through an app token."""
