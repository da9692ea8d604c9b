"""The portable pipelines over big record files (registry snapshots, calls, messages)."""
