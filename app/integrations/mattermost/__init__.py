"""Mattermost notifications through an incoming webhook."""
