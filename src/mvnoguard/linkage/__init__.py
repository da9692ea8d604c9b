"""The inter-network linkage database every enterprise docks with.

Shared risk numbers (push, change feed, reputation, confirmation, disposal), identity linkage
across enterprises, the national card count, complaints and the citizens' "one ID, check all".
Services over the OLTP store: they flush, the caller commits. They never return clear identity
data, and nothing here tells one enterprise which numbers another enterprise holds.
"""
