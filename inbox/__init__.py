"""Shared domain code of the durable SMS inbox: settings, models, SMS providers, services."""
