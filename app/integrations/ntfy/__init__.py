"""ntfy: a push notification published to a topic on ntfy.sh or a self-hosted server."""
