"""The registry audit as one hand-written DuckDB query, with the default policy inlined.

It is not the audit (that is :mod:`mvnoguard.analytics.audit`, one definition for every
engine and every policy): it is the yardstick. The benchmark times the portable pipeline
against it, and a test uses it as an oracle on the fixture store, so it is written the way one
would write the audit for DuckDB alone, directly from the audit contract and the values of
``policy/default.toml`` (all rules in force from 2013-09-01). Keep it independent of the
pipeline's code: it must not import the pipeline or the policy bands.
"""

from __future__ import annotations

from datetime import date

from mvnoguard.analytics.store import RegistryStore
from mvnoguard.domain.calendar import local_date, utc_now

__all__ = ["hand_written_audit_sql"]


def _path(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def hand_written_audit_sql(store: RegistryStore, *, as_of: date | None = None) -> str:
    """One DuckDB query computing the audit report of ``store`` under the default policy.

    Its rows are the report's: ``enterprise_code, audited, violating`` and one column per
    kind, sorted by enterprise. ``as_of`` (default: today in Beijing) as for the audit.
    """
    as_of = as_of if as_of is not None else local_date(utc_now())
    subscribers = _path(str(store.subscribers_dir / "*.parquet"))
    enterprises = _path(str(store.reference("enterprises")))
    blocks = _path(str(store.reference("number_blocks")))
    outlets = _path(str(store.reference("outlets")))
    # The catch-up deadline for unregistered legacy numbers (2016-12-31) has passed on as_of.
    deadline_passed = "TRUE" if date(2016, 12, 31) < as_of else "FALSE"
    return f"""
WITH live AS (
    SELECT
        msisdn, enterprise_code, doc_type, doc_check, doc_token, holder_age,
        verification_method, face_score, outlet_code, guardian_token,
        activated_on >= DATE '2013-09-01' AS rules_in_force,
        row_number() OVER (
            PARTITION BY enterprise_code, doc_token ORDER BY activated_at, msisdn
        ) AS card_no
    FROM read_parquet({subscribers}, union_by_name = true)
    WHERE coalesce(status, '') <> 'cancelled'
),
-- Blocks merged where they overlap, then listed under every 7-digit prefix they span.
ordered_blocks AS (
    SELECT enterprise_code, first_number, last_number,
        max(last_number) OVER (
            PARTITION BY enterprise_code ORDER BY first_number, last_number
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS reach_before
    FROM read_parquet({blocks})
    WHERE first_number <= last_number
),
islands AS (
    SELECT enterprise_code, first_number, last_number,
        sum(CASE WHEN reach_before IS NULL OR first_number > reach_before THEN 1 ELSE 0 END)
            OVER (PARTITION BY enterprise_code ORDER BY first_number, last_number
                  ROWS UNBOUNDED PRECEDING) AS island
    FROM ordered_blocks
),
merged AS (
    SELECT enterprise_code, min(first_number) AS first_number, max(last_number) AS last_number
    FROM islands GROUP BY enterprise_code, island
),
buckets AS (
    SELECT enterprise_code, first_number, last_number,
        lpad(CAST(unnest(range(CAST(first_number[1:7] AS BIGINT),
                               CAST(last_number[1:7] AS BIGINT) + 1)) AS VARCHAR), 7, '0')
            AS prefix
    FROM merged
),
judged AS (
    SELECT
        s.enterprise_code,
        s.msisdn,
        s.doc_type IS NULL AND (s.rules_in_force OR {deadline_passed}) AS unregistered,
        coalesce(s.doc_type IS NOT NULL AND s.rules_in_force AND (
            coalesce(s.doc_check, '') <> 'ok'
            OR s.doc_type NOT IN ('RIC', 'HKMO', 'TW', 'PASSPORT', 'FPR', 'MILITARY', 'USCC')
        ), FALSE) AS invalid_document,
        coalesce(s.verification_method = 'manual' AND s.rules_in_force, FALSE) AS manual_entry,
        coalesce(o.kind IN ('own', 'agent') AND s.rules_in_force
            AND (s.face_score IS NULL OR s.face_score < 0.80), FALSE) AS face_check_missing,
        coalesce(s.doc_token IS NOT NULL AND s.rules_in_force AND s.card_no > 5, FALSE)
            AS over_card_limit,
        b.first_number IS NULL AS number_outside_blocks,
        o.outlet_code IS NULL OR NOT coalesce(o.authorized, FALSE)
            OR o.enterprise_code <> s.enterprise_code AS unauthorized_outlet,
        coalesce(s.holder_age < 16 AND s.rules_in_force AND s.guardian_token IS NULL, FALSE)
            AS minor_without_guardian
    FROM live AS s
    LEFT JOIN read_parquet({outlets}) AS o ON o.outlet_code = s.outlet_code
    LEFT JOIN buckets AS b
        ON b.enterprise_code = s.enterprise_code AND b.prefix = s.msisdn[1:7]
        AND s.msisdn BETWEEN b.first_number AND b.last_number
),
-- Distinct numbers per kind in one small aggregate: clean rows collapse into one group per
-- enterprise, violating rows into one group per number.
per_number AS (
    SELECT
        enterprise_code,
        CASE WHEN unregistered OR invalid_document OR manual_entry OR face_check_missing
            OR over_card_limit OR number_outside_blocks OR unauthorized_outlet
            OR minor_without_guardian THEN msisdn END AS violating_number,
        count(*) AS n_rows,
        bool_or(coalesce(unregistered, FALSE))::INT AS unregistered,
        bool_or(invalid_document)::INT AS invalid_document,
        bool_or(manual_entry)::INT AS manual_entry,
        bool_or(face_check_missing)::INT AS face_check_missing,
        bool_or(over_card_limit)::INT AS over_card_limit,
        bool_or(number_outside_blocks)::INT AS number_outside_blocks,
        bool_or(unauthorized_outlet)::INT AS unauthorized_outlet,
        bool_or(minor_without_guardian)::INT AS minor_without_guardian
    FROM judged
    GROUP BY ALL
),
per_enterprise AS (
    SELECT
        enterprise_code,
        sum(n_rows) AS audited,
        count(violating_number) AS violating,
        sum(unregistered) AS unregistered,
        sum(invalid_document) AS invalid_document,
        sum(manual_entry) AS manual_entry,
        sum(face_check_missing) AS face_check_missing,
        sum(over_card_limit) AS over_card_limit,
        sum(number_outside_blocks) AS number_outside_blocks,
        sum(unauthorized_outlet) AS unauthorized_outlet,
        sum(minor_without_guardian) AS minor_without_guardian
    FROM per_number
    GROUP BY enterprise_code
)
SELECT
    coalesce(e.enterprise_code, p.enterprise_code) AS enterprise_code,
    coalesce(p.audited, 0) AS audited,
    coalesce(p.violating, 0) AS violating,
    coalesce(p.unregistered, 0) AS unregistered,
    coalesce(p.invalid_document, 0) AS invalid_document,
    coalesce(p.manual_entry, 0) AS manual_entry,
    coalesce(p.face_check_missing, 0) AS face_check_missing,
    coalesce(p.over_card_limit, 0) AS over_card_limit,
    coalesce(p.number_outside_blocks, 0) AS number_outside_blocks,
    coalesce(p.unauthorized_outlet, 0) AS unauthorized_outlet,
    coalesce(p.minor_without_guardian, 0) AS minor_without_guardian
FROM (SELECT DISTINCT enterprise_code FROM read_parquet({enterprises})) AS e
FULL OUTER JOIN per_enterprise AS p ON p.enterprise_code = e.enterprise_code
ORDER BY 1
"""
