"""Who may call the HTTP API: API keys and the checks of a caller's role and tenant."""
