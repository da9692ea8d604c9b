"""Names of synthetic people, picked vectorised from a person's id.

Chinese names: a family name drawn by its frequency (the hundred or so most common, and a few
compound ones) and a one- or two-character given name, the last character chosen by gender.
Foreign passport holders get a romanised FAMILY GIVEN name from their nationality's group.
The same id always gets the same name.
"""

from __future__ import annotations

import re
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from .vectors import IntArray, pick_index, take_strings, unit_hash

__all__ = ["LATIN_GROUPS", "chinese_names", "latin_names"]

_FAMILY: Final = (
    "王7.1 李7.0 张6.7 刘5.1 陈4.6 杨3.2 黄2.5 赵2.2 吴2.1 周1.9 徐1.6 孙1.5 马1.4 朱1.3 胡1.2 "
    "郭1.2 何1.1 林1.1 高1.0 罗1.0 郑.92 梁.91 谢.83 宋.76 唐.74 许.72 韩.71 冯.70 邓.70 曹.68 "
    "彭.66 曾.64 肖.63 田.62 董.61 袁.58 潘.57 于.56 蒋.56 蔡.55 余.54 杜.53 叶.52 程.51 苏.50 "
    "魏.49 吕.48 丁.47 任.46 沈.45 姚.44 卢.43 姜.42 崔.41 钟.40 谭.39 陆.38 汪.37 范.36 金.35 "
    "石.34 廖.33 贾.32 夏.31 韦.30 付.29 方.28 白.27 邹.26 孟.25 熊.24 秦.23 邱.22 江.21 尹.20 "
    "薛.19 闫.18 段.17 雷.16 侯.15 龙.14 史.13 陶.12 黎.11 贺.10 顾.10 毛.10 郝.09 龚.09 邵.09 "
    "万.08 钱.08 严.08 覃.07 武.07 戴.07 莫.07 孔.06 向.06 汤.06 欧阳.05 上官.01 司马.01 诸葛.01"
)
_GIVEN_FIRST: Final = "小子晓文思雨嘉佳俊志建海春秋明玉金永德宏家一天新立国少梓浩紫"
_GIVEN_MALE: Final = (
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宁凯浩宇俊帆林峰龙海东亮健晨博洋阳旭兴成轩睿然"
)
_GIVEN_FEMALE: Final = (
    "芳娜敏静丽艳娟霞秀英玲燕萍红洁琳雪慧颖倩婷晶欣琪佳怡悦梅莉蕾丹璐楠雯妍瑶薇月彤萱涵"
)

_LATIN: Final = (  # (family names, given names) per name group
    (
        "KIM LEE PARK CHOI JUNG KANG CHO YOON JANG LIM",
        "MINJUN SEOJUN JIHO HAYOON SEOYEON JIWOO DOYUN YEJUN SUA JIMIN",
    ),
    (
        "SATO SUZUKI TAKAHASHI TANAKA WATANABE ITO YAMAMOTO NAKAMURA KOBAYASHI KATO",
        "HIROSHI TAKESHI YUKI HARUTO SORA YUI AOI REN MIO KENJI",
    ),
    (
        "SMITH JOHNSON WILLIAMS BROWN JONES MILLER DAVIS WILSON TAYLOR CLARK",
        "JAMES JOHN ROBERT MICHAEL DAVID MARY EMMA OLIVIA SARAH LAURA",
    ),
    (
        "IVANOV SMIRNOV KUZNETSOV POPOV VASILIEV PETROV SOKOLOV MIKHAILOV",
        "ALEXANDER DMITRY SERGEY ANDREI IVAN ANNA OLGA ELENA NATALIA MARIA",
    ),
    (
        "NGUYEN TRAN LE PHAM HOANG PHAN VU DANG BUI DO",
        "VAN ANH MINH DUC HUONG LINH TRANG HUNG THANH NAM",
    ),
    (
        "MULLER SCHMIDT SCHNEIDER FISCHER MARTIN BERNARD DUBOIS THOMAS ROBERT PETIT",
        "LUKAS FELIX LEON PAUL MARIE SOPHIE CAMILLE LEA HUGO LOUIS",
    ),
    (
        "TAN LIM WONG KUMAR SINGH SHARMA AHMAD RAHMAN SOMCHAI CHAROEN",
        "WEI MING RAJ PRIYA AHMED SITI ARJUN NUR ANAN KRIT",
    ),
)


def _weighted(spec: str) -> tuple[tuple[str, ...], NDArray[np.float64]]:
    names, weights = [], []
    for item in spec.split():
        match = re.fullmatch(r"([^\d.]+)([\d.]+)", item)
        assert match is not None
        names.append(match.group(1))
        weights.append(float(match.group(2)))
    cum = np.cumsum(weights)
    return tuple(names), cum / cum[-1]


_FAMILY_NAMES, _FAMILY_CUM = _weighted(_FAMILY)
LATIN_GROUPS: Final = len(_LATIN)
_LATIN_FAMILIES = [g[0].split() for g in _LATIN]
_LATIN_GIVENS = [g[1].split() for g in _LATIN]


def chinese_names(ids: IntArray, male: NDArray[np.bool_], salt: int) -> pa.Array:
    family = pick_index(unit_hash(ids, salt), _FAMILY_CUM)
    two = unit_hash(ids, salt ^ 1) < 0.7
    first = (unit_hash(ids, salt ^ 2) * len(_GIVEN_FIRST)).astype(np.int64)
    u = unit_hash(ids, salt ^ 3)
    last_male = (u * len(_GIVEN_MALE)).astype(np.int64)
    last_female = (u * len(_GIVEN_FEMALE)).astype(np.int64)
    last = np.where(male, last_male, len(_GIVEN_MALE) + last_female)
    return pc.binary_join_element_wise(
        take_strings(_FAMILY_NAMES, family),
        take_strings(("", *_GIVEN_FIRST), np.where(two, first + 1, 0)),
        take_strings(tuple(_GIVEN_MALE + _GIVEN_FEMALE), last),
        "",
    )


def latin_names(ids: IntArray, group: IntArray, salt: int) -> pa.Array:
    """``FAMILY GIVEN`` from name group ``group`` (an index below ``LATIN_GROUPS``)."""
    fam_size = np.array([len(f) for f in _LATIN_FAMILIES])
    giv_size = np.array([len(g) for g in _LATIN_GIVENS])
    fam_off = np.cumsum(fam_size) - fam_size
    giv_off = np.cumsum(giv_size) - giv_size
    f = fam_off[group] + (unit_hash(ids, salt) * fam_size[group]).astype(np.int64)
    g = giv_off[group] + (unit_hash(ids, salt ^ 1) * giv_size[group]).astype(np.int64)
    return pc.binary_join_element_wise(
        take_strings(tuple(x for fs in _LATIN_FAMILIES for x in fs), f),
        take_strings(tuple(x for gs in _LATIN_GIVENS for x in gs), g),
        " ",
    )
