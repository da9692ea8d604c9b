"""One router per concept; each parses, calls a service, and returns its answer."""
