"""The fixed cast of the synthetic market: the 42 approved enterprises and the audit kinds.

The seed article's market at the end of 2015: 42 enterprises approved for the mobile
communication resale pilot, 39 of them issuing numbers, 20.59 million subscribers, 7 above
1 million, 3 above 2 million, 1 above 4 million. The names are invented. ``weight`` is an
enterprise's share of the subscribers (thousands at scale 1.0, before normalising to the
exact total); ``defect_rate`` marks the few enterprises planted much worse than the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from mvnoguard.domain.subscribers import HostNetwork, ViolationKind

__all__ = [
    "ENTERPRISES",
    "KINDS",
    "MARKET_USERS",
    "EnterpriseSpec",
]

MARKET_USERS: Final = 20_590_000
"""Non-cancelled subscribers of the whole market at scale 1.0."""

KINDS: Final[tuple[ViolationKind, ...]] = tuple(ViolationKind)
"""Audit kinds in bit order: bit ``i`` of a row's violation mask is ``KINDS[i]``."""


@dataclass(frozen=True, slots=True)
class EnterpriseSpec:
    code: str
    name: str
    host_network: HostNetwork
    approved_on: date
    license_no: str
    weight: float  # thousands of subscribers at scale 1.0; 0 = approved but not issuing
    defect_rate: float | None = None  # planted violating share; None = a normal 0.5-5 %

    @property
    def issuing(self) -> bool:
        return self.weight > 0


_T, _M, _U = HostNetwork.TELECOM, HostNetwork.MOBILE, HostNetwork.UNICOM

# code, name, host network, approval date, approval document number, weight, defect rate
_ROWS: Final[tuple[tuple[str, str, HostNetwork, date, int, float, float | None], ...]] = (
    ("E01", "青鸟移动", _U, date(2013, 12, 26), 552, 2760, None),
    ("E02", "星河通信", _T, date(2013, 12, 26), 553, 4310, None),
    ("E03", "蓝海移动", _M, date(2013, 12, 26), 554, 930, None),
    ("E04", "云帆通信", _U, date(2013, 12, 26), 555, 1720, None),
    ("E05", "北辰移动", _T, date(2013, 12, 26), 556, 590, None),
    ("E06", "华讯通信", _T, date(2013, 12, 26), 557, 2240, None),
    ("E07", "启明移动", _U, date(2013, 12, 26), 558, 350, None),
    ("E08", "天元通信", _M, date(2013, 12, 26), 559, 1480, None),
    ("E09", "万象移动", _T, date(2013, 12, 26), 560, 195, None),
    ("E10", "银河互联", _U, date(2013, 12, 26), 561, 820, None),
    ("E11", "鸿雁通信", _T, date(2013, 12, 26), 562, 1260, None),
    ("E12", "金桥移动", _U, date(2014, 1, 29), 46, 1090, None),
    ("E13", "长风通信", _T, date(2014, 1, 29), 47, 500, None),
    ("E14", "瑞丰移动", _M, date(2014, 1, 29), 48, 240, None),
    ("E15", "泰和通信", _U, date(2014, 1, 29), 49, 700, 0.14),
    ("E16", "九州互联", _T, date(2014, 1, 29), 50, 130, None),
    ("E17", "东岳移动", _U, date(2014, 1, 29), 51, 420, None),
    ("E18", "南山通信", _M, date(2014, 1, 29), 52, 85, None),
    ("E19", "西岭移动", _T, date(2014, 1, 29), 53, 290, 0.27),
    ("E20", "中联讯达", _U, date(2014, 4, 18), 171, 160, None),
    ("E21", "飞鸿通信", _T, date(2014, 4, 18), 172, 54, None),
    ("E22", "博远移动", _U, date(2014, 4, 18), 173, 105, None),
    ("E23", "汇达通信", _M, date(2014, 4, 18), 174, 68, None),
    ("E24", "安信移动", _T, date(2014, 4, 18), 175, 34, 0.18),
    ("E25", "众联通信", _U, date(2014, 4, 18), 176, 43, None),
    ("E26", "锦程移动", _T, date(2014, 8, 22), 402, 27, None),
    ("E27", "凌云通信", _U, date(2014, 8, 22), 403, 21, None),
    ("E28", "恒信移动", _M, date(2014, 8, 22), 404, 16, None),
    ("E29", "融讯通信", _T, date(2014, 8, 22), 405, 12, 0.22),
    ("E30", "星火移动", _U, date(2014, 8, 22), 406, 9.5, None),
    ("E31", "华夏讯通", _T, date(2014, 8, 22), 407, 7, None),
    ("E32", "朗月通信", _M, date(2014, 8, 22), 408, 5.2, None),
    ("E33", "易联移动", _U, date(2014, 12, 9), 689, 3.9, None),
    ("E34", "优品通信", _T, date(2014, 12, 9), 690, 2.9, None),
    ("E35", "沃德移动", _U, date(2014, 12, 9), 691, 2.1, None),
    ("E36", "盛世通信", _M, date(2014, 12, 9), 692, 1.5, None),
    ("E37", "百川移动", _T, date(2014, 12, 9), 693, 1.1, None),
    ("E38", "合众通信", _U, date(2015, 6, 12), 287, 0.8, None),
    ("E39", "嘉禾移动", _T, date(2015, 6, 12), 288, 0.5, None),
    ("E40", "同心通信", _M, date(2015, 9, 25), 468, 0, None),
    ("E41", "远航移动", _U, date(2015, 9, 25), 469, 0, None),
    ("E42", "新桥通信", _T, date(2015, 9, 25), 470, 0, None),
)

ENTERPRISES: Final[tuple[EnterpriseSpec, ...]] = tuple(
    EnterpriseSpec(
        code=code,
        name=name,
        host_network=host,
        approved_on=approved,
        license_no=f"工信部电管函〔{approved.year}〕{number}号",
        weight=weight,
        defect_rate=rate,
    )
    for code, name, host, approved, number, weight, rate in _ROWS
)
