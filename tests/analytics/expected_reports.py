"""The audit reports of the fixture store (fixture_store.py), worked out by hand, row by row.

Every E01 row of the fixture, under the default policy judged on 2026-01-01 (all rules in
force since 2013-09-01; the 2016-12-31 catch-up deadline has passed):

    17090000001  clean
    1709000001[1-5]  T5's five live cards: exactly the limit, clean
    1709000001[67]   T5's cancelled cards: not audited (and they don't count toward the limit)
    17090000022/23/24/25/21  T6's first five by activated_at: clean
    17090000026  T6's sixth: same activated_at as ...21, later by msisdn     over_card_limit
    17090000031  aged 15 with a guardian: clean
    17090000032  aged 15, no guardian                                        minor_without_guardian
    17090000033  aged exactly 16, no guardian: clean
    17090000034  age unknown: not judged, clean
    17090000041  online sign-up without a face score: clean
    17090000042  face score exactly 0.80 at an own outlet: clean
    17090000043  face score 0.79 at an agent outlet                          face_check_missing
    17090000044  no face score at an own outlet                              face_check_missing
    17090000045  face 0.50, activated 2016-06-01 00:30 Beijing               face_check_missing
    17090000046  face 0.50, activated 2016-05-31 23:30 Beijing               face_check_missing
    17090000051  cancelled, with four violations: not audited
    17000000061  in E02's block, not in any of E01's                         number_outside_blocks
    17090015000  only in E01's second (overlapping) block: clean
    17090007000  in both of E01's overlapping blocks: clean, counted once
    17090000071  outlet of E02                                               unauthorized_outlet
    17090000072  outlet not authorised                                      unauthorized_outlet
    17090000073  unknown outlet, no face score (face not judged there)       unauthorized_outlet
    17090000081  typed by hand                                               manual_entry
    17090000082  document fails its check                                   invalid_document
    17090000083  document type the policy does not accept                   invalid_document
    17090000084  no document                                                unregistered
    17090000091  typed by hand AND aged 14 without guardian                  manual_entry, minor_...
    17090000092  suspended_out, clean: audited all the same

37 E01 rows, 3 of them cancelled (16, 17, 51): 34 audited. 15 violating:
26 32 43 44 45 46 61 71 72 73 81 82 83 84 91 (91 counted once, though it has two kinds).

E02: 17000000001 clean, 17000000002 (T6's only card here: the limit is per enterprise) clean,
17000000003 no document: unregistered. E03 has no subscriber: audited 0, rate null.
"""

from __future__ import annotations

from typing import Any

from mvnoguard.analytics.audit import KINDS


def enterprise(code: str, audited: int, violating: int, **violations: int) -> dict[str, Any]:
    unknown = set(violations) - set(KINDS)
    assert not unknown, unknown
    return {
        "enterprise_code": code,
        "audited": audited,
        "violating": violating,
        "violation_rate": violating / audited if audited else None,
        "violations": {kind: violations.get(kind, 0) for kind in KINDS},
    }


E03_EMPTY = enterprise("E03", 0, 0)

DEFAULT_2026 = {
    "enterprises": [
        enterprise(
            "E01",
            34,
            15,
            unregistered=1,  # 84
            invalid_document=2,  # 82 (check fails), 83 (type not accepted)
            manual_entry=2,  # 81, 91
            face_check_missing=4,  # 43 (0.79 at agent), 44 (none at own), 45, 46 (0.50)
            over_card_limit=1,  # 26: T6's sixth live card
            number_outside_blocks=1,  # 17000000061
            unauthorized_outlet=3,  # 71 (E02's outlet), 72 (not authorised), 73 (unknown)
            minor_without_guardian=2,  # 32, 91
        ),
        enterprise("E02", 3, 1, unregistered=1),  # 17000000003
        E03_EMPTY,
    ]
}

# The face threshold only from 2016-06-01: 43, 44 and 46 (activated before, Beijing time)
# are not judged by it; 45 (2016-06-01 00:30 Beijing, 2016-05-31 16:30 UTC) still is.
FACE_FROM_JUNE_2016 = {
    "enterprises": [
        enterprise(
            "E01",
            34,
            12,  # 15 less 43, 44, 46, whose only violation was the face check
            unregistered=1,
            invalid_document=2,
            manual_entry=2,
            face_check_missing=1,  # 45
            over_card_limit=1,
            number_outside_blocks=1,
            unauthorized_outlet=3,
            minor_without_guardian=2,
        ),
        enterprise("E02", 3, 1, unregistered=1),
        E03_EMPTY,
    ]
}

# Real-name document rules only from 2016-09-01, judged on 2016-10-01: documents of numbers
# activated before are not judged (82, 83), and a missing one is no violation yet (84, E02's
# 17000000003) because the 2016-12-31 catch-up deadline has not passed.
REAL_NAME_FROM_SEPT_2016_BEFORE_DEADLINE = {
    "enterprises": [
        enterprise(
            "E01",
            34,
            12,  # 15 less 82, 83, 84
            manual_entry=2,
            face_check_missing=4,
            over_card_limit=1,
            number_outside_blocks=1,
            unauthorized_outlet=3,
            minor_without_guardian=2,
        ),
        enterprise("E02", 3, 0),
        E03_EMPTY,
    ]
}

# The same policy judged on 2017-01-01: the deadline has passed, legacy numbers without a
# document are unregistered whatever their activation date; documents still aren't judged.
REAL_NAME_FROM_SEPT_2016_AFTER_DEADLINE = {
    "enterprises": [
        enterprise(
            "E01",
            34,
            13,  # 15 less 82, 83
            unregistered=1,  # 84
            manual_entry=2,
            face_check_missing=4,
            over_card_limit=1,
            number_outside_blocks=1,
            unauthorized_outlet=3,
            minor_without_guardian=2,
        ),
        enterprise("E02", 3, 1, unregistered=1),
        E03_EMPTY,
    ]
}

# No card limit and no face threshold in the policy at all: 26 (only past the limit) and 43,
# 44, 45, 46 (only the face check) are clean.
NO_CARD_LIMIT_NO_FACE_CHECK = {
    "enterprises": [
        enterprise(
            "E01",
            34,
            10,  # 15 less 26, 43, 44, 45, 46
            unregistered=1,
            invalid_document=2,
            manual_entry=2,
            number_outside_blocks=1,
            unauthorized_outlet=3,
            minor_without_guardian=2,
        ),
        enterprise("E02", 3, 1, unregistered=1),
        E03_EMPTY,
    ]
}
