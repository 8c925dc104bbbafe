"""Email notifications over SMTP."""
