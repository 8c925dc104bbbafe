"""Microsoft Teams notifications through a workflow webhook."""
