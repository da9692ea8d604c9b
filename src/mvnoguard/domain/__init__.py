"""Pure types and rules of the domain. This package imports nothing else of mvnoguard."""
