"""SMS through Twilio: a short text message to a phone number, per-direction switches."""
