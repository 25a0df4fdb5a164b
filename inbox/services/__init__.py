"""Service functions: the changes the web inbox, the API, rules and webhooks share."""
