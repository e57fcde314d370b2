"""The notification hub: recipients, preferences, messages and deliveries."""
