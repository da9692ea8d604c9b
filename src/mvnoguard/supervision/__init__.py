"""Supervision of the enterprises: inspections, violation rates, enforcement.

:mod:`~mvnoguard.supervision.intervals` turns counts into rates with Wilson intervals, tiers and
trends, and :mod:`~mvnoguard.supervision.sampling` sizes and draws the stratified inspection
sample; both are pure computation, with no database, files (beyond writing a plan) or settings.
"""
