"""Discord notifications through a channel webhook."""
