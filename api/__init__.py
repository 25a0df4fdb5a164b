"""The HTTP layer: provider webhooks, the JSON API and the app factory."""
