"""Texts of the synthetic traffic: message contents and complaint wording.

Every content comes from a template with slots (bank, amount, link, pickup code, ...) filled
per row, so no two spam messages need be the same; some spam also splits its trigger words
("贷 款") the way real senders dodge filters. Contents are built as Arrow arrays, one
template at a time, never string by string in Python.
"""

from __future__ import annotations

from string import Formatter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .vectors import IntArray, digits, fixed_width_strings, take_strings

__all__ = ["COMPLAINT", "COURIER", "DELIVERY", "HAM", "SPAM", "UNSUBSCRIBE", "contents"]

HAM, SPAM, COURIER, DELIVERY, UNSUBSCRIBE = range(5)
COMPLAINT = {"fraud": 5, "harassment": 6, "spam": 7, "other": 8}

_TEMPLATES: dict[int, tuple[str, ...]] = {
    HAM: (
        "到家了吗？",
        "晚上一起吃饭吧，{h}点老地方见",
        "好的，收到",
        "明天几点出发？",
        "我在路上了，大概{m}分钟到",
        "生日快乐！",
        "记得带伞，今天有雨",
        "妈，我周末回家",
        "会议改到下午{h}点",
        "钱已经转你了，查收一下",
        "孩子放学我去接",
        "周末去爬山吗？",
        "辛苦了，早点休息",
        "这个月房租{n}元，你转我一半",
        "OK, see you at {h}",
        "Thanks! Got it.",
        "Running {m} min late, sorry",
        "Are we still on for dinner?",
    ),
    SPAM: (
        "【{bank}】尊敬的客户，您的信用卡积分{n}分将于今日清零，请登录 {url} 兑换礼品，回T退订",
        "【{mall}】您有{n}积分即将过期，点击 {url} 立即兑换，逾期作废",
        "无抵押信用贷款，最高{w}万元，当天放款，利息低至{r}厘，详询{phone}",
        "急用钱？凭身份证即可借款{w}万，秒批秒到，点击 {url}",
        "{casino}娱乐城全新上线，首充即送{p}%，天天返水，注册网址 {url}",
        "您的快递因地址不详被退回，请点击 {url} 重新填写收件信息",
        "【ETC】您的ETC认证已失效，请及时点击 {url} 重新认证，以免影响通行",
        "恭喜您被抽中为幸运用户，获得{n}元现金红包，领取链接 {url}",
        "【{bank}】您的账户存在异常，已被临时冻结，请登录 {url} 解除",
        "高薪兼职，日结{n}元，动动手指就能赚钱，加微信 wx{code}",
        "Congratulations! You have won a ${n} prize. Claim now at {url}",
        "URGENT: your loan of ${n} is pre-approved. Reply YES or visit {url}",
        "FREE entry: win ${n} cash this week! Text WIN to 8{code}",
        "Your account has been suspended. Verify your details at {url} within 24 hours",
    ),
    COURIER: (
        "【{courier}】您的快递已到{station}，取件码{code}，请于今日{h}点前领取。",
        "【{courier}】快递员{surname}师傅正在为您派送包裹，联系电话{phone}，请保持电话畅通。",
        "【{courier}】您的包裹已放至{station}，凭取件码{code}领取，如有疑问请联系{phone}",
    ),
    DELIVERY: (
        "【{app}】您的外卖已送达，骑手{surname}师傅祝您用餐愉快",
        "【{app}】骑手已取餐，预计{m}分钟送达",
    ),
    UNSUBSCRIBE: ("T", "TD", "退订", "STOP", "别再发了"),
    COMPLAINT["fraud"]: (
        "接到自称{role}的电话，要求把钱转到安全账户",
        "对方冒充公安，说我涉嫌洗钱，让我配合调查并转账{n}元",
        "自称客服说要注销校园贷，让我贷款后转账",
        "冒充快递理赔，索要银行卡号和验证码",
    ),
    COMPLAINT["harassment"]: (
        "这个号码一天打了{m}次，接起来就挂",
        "半夜{night}点打电话骚扰",
        "响一声就挂，回拨过去被扣费",
        "反复来电辱骂，严重影响生活",
    ),
    COMPLAINT["spam"]: (
        "收到赌博网站广告短信",
        "收到贷款推销短信，要求停止发送",
        "冒充银行积分兑换的钓鱼短信，含可疑链接",
    ),
    COMPLAINT["other"]: ("推销电话，不堪其扰", "来电不说话", "不认识的号码多次来电"),
}

_WORDS = {
    "bank": ("工商银行", "建设银行", "农业银行", "中国银行", "招商银行", "交通银行"),
    "mall": ("中国移动", "中国联通", "京东商城", "天猫积分", "航空里程"),
    "casino": ("澳门新葡京", "金沙", "威尼斯人", "皇冠"),
    "courier": ("顺丰速运", "中通快递", "圆通速递", "韵达快递", "京东物流", "邮政EMS"),
    "station": ("小区菜鸟驿站", "东门快递柜", "丰巢柜", "物业前台", "超市代收点"),
    "surname": ("王", "李", "张", "刘", "陈", "杨", "赵", "黄"),
    "app": ("美团外卖", "饿了么"),
    "role": ("公安局民警", "银行客服", "医保中心工作人员", "电商客服"),
    "night": ("23", "0", "1", "2", "3", "4", "5"),
    "host": ("http://t.cn/", "https://bit.ly/", "http://jf-", "https://icbc-vip.", "www.dk"),
}
_NUMBERS = {
    "h": (7, 22),
    "m": (5, 45),
    "n": (100, 99999),
    "w": (1, 50),
    "r": (2, 9),
    "p": (10, 300),
}
_EVASIVE = "(贷|积|娱|链|放|借)(款|分|乐|接)"
_ALPHABET = np.frombuffer(b"abcdefghijkmnpqrstuvwxyz23456789", dtype=np.uint8)


def _slot(rng: np.random.Generator, name: str, n: int) -> pa.Array:
    if name in _WORDS:
        return take_strings(_WORDS[name], rng.integers(0, len(_WORDS[name]), n))
    if name in _NUMBERS:
        lo, hi = _NUMBERS[name]
        return pc.cast(pa.array(rng.integers(lo, hi + 1, n)), pa.string())
    if name == "code":
        width = 6
        return fixed_width_strings(digits(rng.integers(0, 10**width, n), width) + 48,
                                   np.full(n, width, dtype=np.int64))  # fmt: skip
    if name == "phone":
        matrix = digits(rng.integers(13 * 10**9, 19 * 10**9, n), 11) + 48
        return fixed_width_strings(matrix, np.full(n, 11, dtype=np.int64))
    if name == "url":
        slug = _ALPHABET[rng.integers(0, _ALPHABET.size, (n, 6))]
        host = _slot(rng, "host", n)
        return pc.binary_join_element_wise(
            host, fixed_width_strings(slug, np.full(n, 6, dtype=np.int64)), ""
        )
    raise KeyError(name)


def _fill(rng: np.random.Generator, template: str, n: int) -> pa.Array:
    parts: list[pa.Array | str] = []
    for literal, name, _spec, _conv in Formatter().parse(template):
        if literal:
            parts.append(literal)
        if name is not None:
            parts.append(_slot(rng, name, n))
    if not any(isinstance(p, pa.Array) for p in parts):
        return pa.repeat(pa.scalar(template), n)
    arrays = [p if isinstance(p, pa.Array) else pa.repeat(pa.scalar(p), n) for p in parts]
    return pc.binary_join_element_wise(*arrays, "")


def contents(rng: np.random.Generator, family: IntArray) -> pa.Array:
    """One content per row of ``family`` (HAM, SPAM, ...), templates chosen at random."""
    n = family.size
    chunks: list[pa.Array] = []
    positions: list[IntArray] = []
    for fam, templates in _TEMPLATES.items():
        rows = np.flatnonzero(family == fam)
        if rows.size == 0:
            continue
        choice = rng.integers(0, len(templates), rows.size)
        for j, template in enumerate(templates):
            sel = rows[choice == j]
            if sel.size == 0:
                continue
            text = _fill(rng, template, sel.size)
            if fam == SPAM:
                dodge = pa.array(rng.random(sel.size) < 0.25)
                split = pc.replace_substring_regex(text, _EVASIVE, r"\1 \2")
                text = pc.if_else(dodge, split, text)
            chunks.append(text)
            positions.append(sel)
    if not chunks:
        return pa.array([], type=pa.string())
    where = np.concatenate(positions)
    inverse = np.empty(n, dtype=np.int64)
    inverse[where] = np.arange(n)
    return pc.take(pa.concat_arrays([c.cast(pa.string()) for c in chunks]), pa.array(inverse))
