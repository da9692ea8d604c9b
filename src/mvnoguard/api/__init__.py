"""The versioned HTTP API (``/v1``): a thin shell over the services, one router per concept."""
