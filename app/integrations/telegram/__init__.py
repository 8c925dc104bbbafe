"""Telegram: a bot posts an HTML message to a chat, group, channel or forum topic."""
