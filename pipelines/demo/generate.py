"""A demo city: realistic department submissions for every record type, with deliberate faults and their manifest.

`generate(home, rows, as_of)` fills `home/inbox/<department>/` with CSV and XLSX files (varied header forms,
encodings and date formats) and writes what a correct pass must make of them:

- `home/demo/expected_quarantine.csv`: every deliberately broken row (department, file_name, row_number with
  1 = first data row, rule). Each breaks exactly one rule: a `meta.rule` of severity "error" from
  `expectations/<record_type>.json`, or one of the cross-record rules below.
- `home/demo/expected_rejected_files.csv`: whole files that must be rejected (department, file_name, reason_kind
  = the ingest's `file.*` rule).
- `home/demo/files.csv`: every file written, with its record type, format, encoding and role.

Bulk rows are built column-wise with numpy and pyarrow compute; only the ~1% broken rows are edited one by one.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import re
import shutil
import string
import zipfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pipelines.catalog import Catalog, RecordType, load_catalog
from pipelines.validate.identifiers import (
    ORG_CODE_WEIGHTS,
    RESIDENT_ID_CHECK,
    RESIDENT_ID_WEIGHTS,
    USCC_ALPHABET,
    USCC_WEIGHTS,
    resident_id_check_char,
)
from pipelines.validate.suites import load_suite

# Cross-record rules (not in the row suites): checked against other records by the merge.
REFERS_TO_UNKNOWN = "refers_to.unknown"            # removal/repair/payment whose target is in no file (yet)
REPAIR_BEFORE_MINIMUM = "repair.before_minimum"    # repair decided before the minimum disclosure period ended
PAYMENT_EXCEEDS_OWED = "debt_payment.exceeds_owed"  # payments on a ledger item adding up to more than owed
REMOVAL_BEFORE_MINIMUM = "removal.before_minimum"    # 提前移出 before the list type's minimum term
REMOVAL_NOT_ALLOWED = "removal.not_allowed"          # 提前移出 from a list type that allows no early removal

# Whole-file rejections, named as the ingest names them (pipelines/ingest/files.py).
FILE_UNKNOWN_RECORD_TYPE = "file.unknown_record_type"
FILE_UNKNOWN_DEPARTMENT = "file.unknown_department"
FILE_ENCODING = "file.encoding"
FILE_MISSING_COLUMNS = "file.missing_required_columns"

UNKNOWN_DEPARTMENT = "unknown_dept"
SERIAL_COLUMN = "序号"  # an unknown extra column some templates carry; kept raw, never fatal
EXTRA_COLUMNS = (SERIAL_COLUMN,)

MAX_FILE_ROWS = 200_000
MAX_XLSX_ROWS = 5_000
BROKEN_SHARE = 0.01
MIN_BROKEN = 60  # small demos still show a wide spread of faults
YEARS_BACK = 4
NO_END = dt.date(2099, 12, 31)  # 有效期至 2099-12-31 means no end
_EPOCH = dt.date(1970, 1, 1)

# ---------------------------------------------------------------- volumes

RECORD_SHARES = {
    "admin_penalty": 0.28, "admin_license": 0.24, "commitment": 0.10, "debt_payment": 0.10,
    "other_dishonesty": 0.075, "list_entry": 0.07, "debt_ledger": 0.05, "discipline_feedback": 0.05,
    "repair": 0.02, "list_removal": 0.015,
}
# Which departments submit what (list entries go by list type → issuer, feedback by measure → implementer).
DEPARTMENT_SHARES = {
    "admin_penalty": {"scjg": 0.38, "sw": 0.15, "sthj": 0.15, "zj": 0.12, "rs": 0.10, "yj": 0.10},
    "admin_license": {"xzsp": 0.85, "zj": 0.15},
    "commitment": {"xzsp": 0.7, "fgw": 0.3},
    "other_dishonesty": {"swjt": 0.6, "jr": 0.4},
    "debt_ledger": {"cz": 0.55, "gy": 0.45},
}
LIST_TYPE_SHARES = {
    "court_dishonest": 0.30, "tax_a": 0.22, "market_serious": 0.12, "wage_arrears": 0.08, "tax_serious": 0.08,
    "honest_model": 0.07, "safety_serious": 0.06, "procurement_serious": 0.04, "intermediary_black": 0.03,
}
MEASURE_WEIGHTS = {"P01": 3, "P02": 2, "P03": 2, "P04": 2, "P05": 4, "P06": 2, "P07": 1, "P08": 1, "P09": 1,
                   "I01": 2, "I02": 2, "I03": 1}

# ---------------------------------------------------------------- vocabulary: places and people

DIVISIONS = ("211100", "211102", "211103", "211104", "211122", "211121")
DIVISION_WEIGHTS = (0.30, 0.20, 0.25, 0.12, 0.10, 0.03)
DISTRICTS = {"211102": "双台子区", "211103": "兴隆台区", "211104": "大洼区", "211122": "盘山县", "211121": "大洼县"}
PERSON_DIVISIONS = ("211102", "211103", "211104", "211122", "211121")

SURNAMES = tuple("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董肖程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
                 "余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文")
GIVEN_CHARS = tuple("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚辉鹏华红玲飞丹萍宇浩凯健俊帆帅旭宁龙林欣晶琳斌波宏峰雪梅莉"
                    "婷颖璐倩博文志海东春建国庆立新永金玉兰凤云彬成亮岩震阳晨悦佳思雨子梓睿泽轩一嘉瑞铭哲琪萱怡晓桂秀英")
TRADE_FIRST = tuple("宏鑫华金恒瑞盛泰海天中永德嘉鼎汇东锦众合荣丰隆新博利聚启广昌凯同长明双福晟信辰万宇沃亿润百鸿浩腾志旭"
                    "亨联远正民富辽盘兴安")
TRADE_SECOND = tuple("达源通鼎丰泰诚成和盛信禾程力邦航图昌瑞华宇隆川阳顺发祥茂业创利德嘉兴鑫海远洋晨辉光明泽润恒峰林森威锐"
                     "博安康越腾凯翔旺")
# (industry as it appears in a company name, tag used to pick plausible subjects)
INDUSTRIES = (
    ("石油化工", "chemical"), ("石化设备制造", "chemical"), ("油田技术服务", "chemical"), ("化工产品销售", "chemical"),
    ("沥青", "chemical"), ("燃气", "chemical"), ("建筑工程", "construction"), ("建筑安装工程", "construction"),
    ("市政工程", "construction"), ("装饰工程", "construction"), ("钢结构工程", "construction"),
    ("电力工程", "construction"), ("劳务", "construction"), ("房地产开发", "construction"), ("物业管理", "general"),
    ("商贸", "general"), ("贸易", "general"), ("物流", "general"), ("运输", "general"), ("餐饮管理", "food"),
    ("酒店管理", "food"), ("食品", "food"), ("农业发展", "general"), ("河蟹养殖", "food"), ("水产品", "food"),
    ("米业", "food"), ("机械设备", "general"), ("机电设备", "general"), ("环保科技", "general"),
    ("新材料科技", "general"), ("信息技术", "general"), ("网络科技", "general"), ("医药", "general"),
    ("医疗器械", "general"), ("汽车销售服务", "general"), ("人力资源服务", "general"), ("教育咨询", "general"),
    ("文化传媒", "general"), ("广告", "general"), ("塑料制品", "general"), ("包装材料", "general"),
    ("会计师事务所", "intermediary"), ("资产评估", "intermediary"), ("工程造价咨询", "intermediary"),
    ("招标代理", "intermediary"), ("安全技术咨询", "intermediary"), ("检测技术服务", "intermediary"),
)
COMPANY_PREFIXES = (("盘锦", 0.72), ("盘锦市", 0.14), ("辽宁", 0.14))
COMPANY_SUFFIXES = (("有限公司", 0.70), ("有限责任公司", 0.15), ("股份有限公司", 0.10), ("集团有限公司", 0.05))
COOPERATIVES = ("水稻种植专业合作社", "河蟹养殖专业合作社", "农机专业合作社", "蔬菜种植专业合作社", "苇业专业合作社")
SHOPS = ("小吃店", "饺子馆", "烧烤店", "便利店", "超市", "五金店", "理发店", "烟酒店", "水果店", "汽车修理部", "饭店",
         "药店", "服装店", "手机店", "洗车行", "面馆", "早餐店", "粮油店", "海鲜店", "家电维修部", "图文打印部",
         "花店", "母婴店", "茶叶店", "干洗店", "蔬菜店", "建材商店", "网吧", "浴池", "熟食店")
PERSON_ID_TYPES = (("身份证", 0.97), ("护照", 0.01), ("港澳居民来往内地通行证", 0.01), ("台湾居民来往大陆通行证", 0.01))

# ---------------------------------------------------------------- vocabulary: penalties

# Penalty type combinations: (types, content template, class). {fine}/{conf} are yuan amounts.
PENALTY_COMBOS = (
    (("警告",), "给予警告", "轻微"),
    (("通报批评",), "给予通报批评", "轻微"),
    (("罚款",), "罚款人民币{fine}元", "一般"),
    (("警告", "罚款"), "给予警告，并处罚款人民币{fine}元", "一般"),
    (("罚款", "没收违法所得"), "没收违法所得人民币{conf}元，并处罚款人民币{fine}元", "一般"),
    (("罚款", "没收违法所得", "没收非法财物"), "没收违法所得人民币{conf}元、没收涉案物品，并处罚款人民币{fine}元", "一般"),
    (("责令停产停业", "罚款"), "责令停产整顿，并处罚款人民币{fine}元", "严重"),
    (("罚款", "吊销许可证件"), "罚款人民币{fine}元，吊销许可证件", "严重"),
    (("罚款", "降低资质等级"), "罚款人民币{fine}元，降低资质等级", "一般"),
    (("暂扣许可证件", "罚款"), "暂扣许可证件六个月，并处罚款人民币{fine}元", "一般"),
    (("罚款", "限制从业"), "罚款人民币{fine}元，五年内不得担任任何生产经营单位的主要负责人", "严重"),
)
_COMBO = {types: i for i, (types, _, _) in enumerate(PENALTY_COMBOS)}
W, F, WF, FC, FCG, STOP, REVOKE, LOWER, SUSPEND, BAN, TB = (
    _COMBO[("警告",)], _COMBO[("罚款",)], _COMBO[("警告", "罚款")], _COMBO[("罚款", "没收违法所得")],
    _COMBO[("罚款", "没收违法所得", "没收非法财物")], _COMBO[("责令停产停业", "罚款")],
    _COMBO[("罚款", "吊销许可证件")], _COMBO[("罚款", "降低资质等级")], _COMBO[("暂扣许可证件", "罚款")],
    _COMBO[("罚款", "限制从业")], _COMBO[("通报批评",)])


@dataclass(frozen=True)
class Violation:
    violation_type: str
    facts: str                     # after "当事人"; placeholders {value} {count} {conf} {project}
    legal_basis: str
    combos: tuple[int, ...]
    fine_yuan: tuple[int, int]
    subjects: tuple[float, float, float] = (0.85, 0.15, 0.0)  # legal person, 个体工商户, natural person
    long_minimum: bool = False     # special equipment / work safety: a year before repair
    tag: str | None = None


VIOLATIONS: dict[str, tuple[Violation, ...]] = {
    "scjg": (
        Violation("销售超过保质期的食品", "在其经营场所销售超过保质期的食品，货值金额{value}元，违法所得{conf}元",
                  "《中华人民共和国食品安全法》第一百二十四条第一款第（五）项", (FC, WF, FCG), (5000, 50000),
                  (0.45, 0.45, 0.10), tag="food"),
        Violation("虚假宣传", "通过微信公众号及店内宣传页对所售商品的功能、质量作虚假的商业宣传，欺骗、误导消费者",
                  "《中华人民共和国反不正当竞争法》第二十条第一款", (F, FC), (20000, 200000)),
        Violation("未按规定公示年度报告", "未按照《企业信息公示暂行条例》规定的期限公示年度报告",
                  "《企业信息公示暂行条例》第十七条", (W, TB), (0, 0), (1.0, 0.0, 0.0)),
        Violation("不按规定明码标价", "在经营场所销售商品未按规定明码标价，涉及商品{count}种",
                  "《中华人民共和国价格法》第四十二条、《明码标价和禁止价格欺诈规定》第二十一条", (W, WF, F),
                  (500, 5000), (0.5, 0.5, 0.0)),
        Violation("无照经营", "未依法取得营业执照，擅自从事餐饮经营活动，违法所得{conf}元",
                  "《无证无照经营查处办法》第十三条", (F, FC), (1000, 10000), (0.0, 0.3, 0.7)),
        Violation("使用未经定期检验的特种设备", "使用的{count}台电梯超过定期检验有效期仍继续使用",
                  "《中华人民共和国特种设备安全法》第八十四条第（一）项", (F, STOP), (30000, 300000),
                  long_minimum=True),
        Violation("使用不合格的计量器具", "在经营活动中使用未经检定的电子计价秤{count}台",
                  "《中华人民共和国计量法实施细则》第四十三条", (FC, WF), (200, 2000), (0.3, 0.7, 0.0)),
        Violation("销售不符合国家标准的产品", "销售的成品油经抽检硫含量不符合国家标准，货值金额{value}元",
                  "《中华人民共和国产品质量法》第四十九条", (FCG, REVOKE, SUSPEND), (20000, 500000),
                  tag="chemical"),
    ),
    "sw": (
        Violation("未按期进行纳税申报", "未按照规定期限办理增值税纳税申报和报送纳税资料",
                  "《中华人民共和国税收征收管理法》第六十二条", (F,), (200, 2000), (0.6, 0.3, 0.1)),
        Violation("虚开发票", "为他人虚开增值税普通发票{count}份，价税合计金额{value}元",
                  "《中华人民共和国发票管理办法》第三十五条", (FC,), (50000, 500000)),
        Violation("偷税", "采取在账簿上少列收入的手段，少缴增值税、企业所得税共计{value}元",
                  "《中华人民共和国税收征收管理法》第六十三条第一款", (F,), (10000, 900000), (0.8, 0.1, 0.1)),
        Violation("丢失发票", "丢失已开具的增值税专用发票{count}份", "《中华人民共和国发票管理办法》第三十六条",
                  (F, W), (100, 10000)),
    ),
    "rs": (
        Violation("拖欠劳动者工资", "无故拖欠{count}名劳动者工资共计{value}元，经责令限期支付逾期未支付",
                  "《保障农民工工资支付条例》第五十七条", (F, WF), (20000, 100000), tag="construction"),
        Violation("未与劳动者订立书面劳动合同", "招用{count}名劳动者未依法订立书面劳动合同",
                  "《劳动保障监察条例》第二十四条", (W, WF), (2000, 20000)),
        Violation("违法延长劳动者工作时间", "安排{count}名劳动者延长工作时间超过法定标准",
                  "《劳动保障监察条例》第二十五条", (W, F), (2000, 20000), (0.8, 0.2, 0.0)),
        Violation("未按规定办理社会保险登记", "自用工之日起三十日内未为{count}名职工办理社会保险登记",
                  "《中华人民共和国社会保险法》第八十四条", (F,), (1000, 30000)),
    ),
    "yj": (
        Violation("未如实记录安全生产教育和培训情况", "未如实记录安全生产教育和培训情况，{count}名从业人员未经培训上岗",
                  "《中华人民共和国安全生产法》第九十七条第（三）项", (WF, F), (10000, 100000),
                  long_minimum=True, tag="chemical"),
        Violation("未采取措施消除安全生产事故隐患", "未对检查发现的{count}项事故隐患采取措施消除",
                  "《中华人民共和国安全生产法》第一百零二条", (F, STOP), (50000, 100000), long_minimum=True),
        Violation("危险化学品储存不符合安全生产要求", "将危险化学品储存在未设置相应安全设施的仓库内",
                  "《危险化学品安全管理条例》第八十条第一款第（五）项", (F, STOP, REVOKE), (50000, 100000),
                  long_minimum=True, tag="chemical"),
        Violation("主要负责人未履行安全生产管理职责", "作为生产经营单位主要负责人，未履行组织制定并实施本单位安全生产教育和培训计划的职责",
                  "《中华人民共和国安全生产法》第九十五条", (F, BAN), (20000, 100000), (0.0, 0.0, 1.0),
                  long_minimum=True),
        Violation("特种作业人员未持证上岗（安全生产）", "安排{count}名未取得特种作业操作证的人员从事电焊作业",
                  "《中华人民共和国安全生产法》第九十七条第（七）项", (F, WF), (10000, 100000),
                  long_minimum=True),
    ),
    "sthj": (
        Violation("超标排放大气污染物", "加热炉在线监测数据显示氮氧化物排放浓度超过排放标准，超标{count}小时",
                  "《中华人民共和国大气污染防治法》第九十九条第（二）项", (F, STOP), (100000, 1000000),
                  tag="chemical"),
        Violation("未批先建", "建设项目环境影响报告表未经批准擅自开工建设，项目总投资{value}元",
                  "《中华人民共和国环境影响评价法》第三十一条第一款", (F,), (20000, 500000)),
        Violation("未按规定贮存危险废物", "将废矿物油等危险废物露天堆放，未采取防扬散、防流失、防渗漏措施",
                  "《中华人民共和国固体废物污染环境防治法》第一百一十二条第一款第（六）项", (F,), (100000, 1000000),
                  tag="chemical"),
        Violation("未按规定设置危险废物识别标志", "危险废物贮存场所未按规定设置危险废物识别标志",
                  "《中华人民共和国固体废物污染环境防治法》第一百一十二条第一款第（一）项", (F, WF), (10000, 100000)),
        Violation("通过逃避监管的方式排放水污染物", "通过暗管排放生产废水，化学需氧量超过排放标准",
                  "《中华人民共和国水污染防治法》第八十三条第（三）项", (F, STOP), (100000, 1000000)),
    ),
    "zj": (
        Violation("未取得施工许可证擅自施工", "在{project}项目中未取得施工许可证擅自施工，合同价款{value}元",
                  "《建筑工程施工许可管理办法》第十二条", (F,), (10000, 300000), tag="construction"),
        Violation("施工中偷工减料", "在{project}项目施工中使用不合格的建筑材料，偷工减料",
                  "《建设工程质量管理条例》第六十四条", (F, LOWER, REVOKE), (50000, 500000), tag="construction"),
        Violation("未组织竣工验收擅自交付使用", "{project}项目未组织竣工验收擅自交付使用",
                  "《建设工程质量管理条例》第五十八条第（一）项", (F,), (100000, 800000), tag="construction"),
        Violation("物业服务企业擅自改变物业管理用房用途", "擅自将物业管理用房改作经营用途，违法所得{conf}元",
                  "《物业管理条例》第六十二条", (FC, WF), (10000, 100000)),
        Violation("违法分包", "将承包的{project}项目劳务作业违法分包给不具备资质的个人",
                  "《建设工程质量管理条例》第六十二条", (FC, LOWER), (20000, 300000), tag="construction"),
    ),
}
PENALTY_PREFIXES = {"scjg": "盘市监处罚", "sw": "盘税稽罚", "rs": "盘人社监罚", "yj": "（盘）应急罚",
                    "sthj": "盘环罚字", "zj": "盘住建罚"}
# Which licence a department can suspend or revoke (CF_NR_ZKDX).
REVOKABLE_LICENCES = {"scjg": ("食品经营许可证", "JY2211103"), "yj": ("危险化学品经营许可证", "辽盘危化经字"),
                      "sthj": ("排污许可证", "91211100PW"), "zj": ("建筑业企业资质证书", "D221"),
                      "sw": ("税务登记证", "211103"), "rs": ("劳务派遣经营许可证", "21110020")}
PROJECTS = ("兴隆台区锦绣华庭住宅小区", "双台子区滨河雅苑", "大洼区临港产业园标准化厂房", "盘锦市第二高级中学教学楼",
            "辽东湾新区污水处理厂提标改造", "盘山县农村供水工程", "兴隆台区惠宾街道老旧小区改造",
            "盘锦市中心医院门诊综合楼", "红海滩大道道路改造", "盘锦港集装箱码头堆场", "双台子区供热管网改造",
            "兴隆台区石油大街雨污分流", "大洼区田家街道农贸市场", "盘山县高升镇敬老院")
FACT_OPENINGS = ("经查，当事人", "经查明，当事人", "当事人", "经调查核实，当事人")
FACT_EVIDENCE = "\n以上事实有现场检查笔录、询问笔录、证据提取单等证据证实。"
REMARKS = ("已履行", "罚款已缴清", "当事人已整改完毕", "已申请行政复议，维持原处罚决定", "罚款已缴清\n整改已完成")

# ---------------------------------------------------------------- vocabulary: licences


@dataclass(frozen=True)
class Licence:
    decision_doc_name: str
    category: str
    certificate_name: str
    number: str        # {div} {year} {seq} {digits} {uscc}
    content: str       # {project} {count}
    years: int | None  # None: no end (2099-12-31)
    decision_prefix: str
    subjects: tuple[float, float, float] = (0.8, 0.2, 0.0)
    weight: float = 1.0


LICENCES: dict[str, tuple[Licence, ...]] = {
    "xzsp": (
        Licence("准予行政许可决定书", "普通", "食品经营许可证", "JY2{div}{digits}",
                "预包装食品（含冷藏冷冻食品）销售，散装食品（含冷藏冷冻食品）销售，热食类食品制售", 5,
                "盘审批食经", (0.35, 0.65, 0.0), 3.0),
        Licence("准予行政许可决定书", "普通", "公共场所卫生许可证", "盘卫公字〔{year}〕第{seq}号", "住宿场所、沐浴场所",
                4, "盘审批卫", (0.5, 0.5, 0.0), 1.0),
        Licence("行政许可决定书", "普通", "危险化学品经营许可证", "辽盘危化经字〔{year}〕{seq}",
                "汽油、柴油[闭杯闪点≤60℃]、甲醇（不带储存设施经营）", 3, "盘审批危化", (1.0, 0.0, 0.0), 0.6),
        Licence("准予行政许可决定书", "普通", "道路运输经营许可证", "辽交运管许可盘字{div}{digits}号",
                "道路普通货物运输，货物专用运输（集装箱）", 4, "盘审批交运", (0.6, 0.4, 0.0), 1.5),
        Licence("准予许可决定书", "普通", "药品经营许可证", "辽CB427{digits}",
                "中药饮片、中成药、化学药制剂、抗生素制剂、生化药品、生物制品（除疫苗）", 5, "盘审批药", (0.8, 0.2, 0.0),
                0.8),
        Licence("准予设立登记通知书", "登记", "营业执照", "{uscc}", "准予设立登记", None, "盘审批登", (1.0, 0.0, 0.0),
                2.0),
        Licence("准予行政许可决定书", "普通", "人力资源服务许可证", "{div}{year}{digits}",
                "为劳动者介绍用人单位，为用人单位推荐劳动者，开展网络招聘", 5, "盘审批人服", (1.0, 0.0, 0.0), 0.4),
        Licence("准予水行政许可决定书", "普通", "取水许可证", "取水(辽盘)字[{year}]第{seq}号",
                "取水地点：辽河盘锦段；取水量：{count}万立方米/年", 5, "盘审批水许", (1.0, 0.0, 0.0), 0.3),
        Licence("建设工程规划许可决定书", "核准", "建设工程规划许可证", "建字第{div}{year}{digits}号",
                "{project}，建设规模{count}00平方米", None, "盘审批规", (1.0, 0.0, 0.0), 0.6),
    ),
    "zj": (
        Licence("建筑工程施工许可决定书", "普通", "建筑工程施工许可证", "{div}{year}{digits}0101",
                "{project}工程施工，建筑面积{count}00平方米", None, "盘住建施许", (1.0, 0.0, 0.0), 2.0),
        Licence("准予行政许可决定书", "认可", "建筑业企业资质证书", "D2{digits}", "建筑工程施工总承包三级", 5,
                "盘住建资", (1.0, 0.0, 0.0), 1.0),
        Licence("商品房预售许可决定书", "核准", "商品房预售许可证", "盘房预售证第{year}0{seq}号",
                "{project}预售，预售面积{count}00平方米", None, "盘住建预售", (1.0, 0.0, 0.0), 1.0),
        Licence("燃气经营许可决定书", "特许", "燃气经营许可证", "辽{year}{div}{seq}G", "管道燃气经营", 3,
                "盘住建燃", (1.0, 0.0, 0.0), 0.3),
    ),
}
LICENCE_STATUS = (("有效", 0.96), ("注销", 0.025), ("撤销", 0.01), ("吊销", 0.005))

# ---------------------------------------------------------------- vocabulary: lists, commitments, others

LIST_DECISION_PREFIXES = {
    "wage_arrears": "盘人社失信决字", "tax_serious": "盘税稽重失", "procurement_serious": "盘财采处",
    "safety_serious": "盘应急失信", "market_serious": "盘市监严失", "intermediary_black": "盘营商中介",
    "tax_a": "盘税信评", "honest_model": "盘发改信用",
}
COURTS = ("辽11", "辽1102", "辽1103", "辽1104", "辽1122")
LIST_REASONS = {
    "court_dishonest": ("有履行能力而拒不履行生效法律文书确定的义务", "以伪造证据、暴力、威胁等方法妨碍、抗拒执行",
                        "违反财产报告制度", "违反限制消费令", "无正当理由拒不履行执行和解协议"),
    "wage_arrears": ("拖欠农民工工资数额较大，经责令限期支付仍拒不支付",
                     "因拖欠农民工工资违法行为引发群体性事件，造成恶劣社会影响"),
    "tax_serious": ("虚开增值税专用发票", "偷税数额在100万元以上且占应纳税额10%以上", "逃避追缴欠税", "骗取出口退税"),
    "procurement_serious": ("提供虚假材料谋取中标、成交", "与采购人、其他供应商恶意串通", "拒绝有关部门监督检查或提供虚假情况"),
    "safety_serious": ("发生生产安全责任事故，造成1人死亡", "在安全生产领域存在严重违法行为且拒不整改",
                       "未依法取得安全生产许可擅自从事生产经营活动"),
    "market_serious": ("因提供不合格食品被处以较重行政处罚", "以欺诈方式取得许可证件被吊销", "故意侵犯知识产权，情节严重",
                       "被吊销营业执照"),
    "intermediary_black": ("出具虚假评估报告", "出具严重失实的审计报告", "伪造、变造工程造价成果文件"),
    "tax_a": ("纳税信用评价结果为A级",),
    "honest_model": ("连续三年守信经营，获评市级诚信示范企业",),
}
LIST_SUBJECTS = {"court_dishonest": (0.5, 0.1, 0.4), "wage_arrears": (0.85, 0.05, 0.10)}
LIST_TAGS = {"intermediary_black": "intermediary", "wage_arrears": "construction", "safety_serious": "chemical"}
LIST_REMARKS = ("依申请公开", "已推送至全国信用信息共享平台", "已告知当事人")

COMMITMENT_KINDS = {
    "xzsp": (("审批替代型", 0.35, "申请{licence}（告知承诺制）"), ("容缺受理型", 0.25, "办理企业开办容缺受理"),
             ("证明事项型", 0.30, "申请免于提交无犯罪记录证明"), ("主动型", 0.05, "主动公开信用承诺"),
             ("其他", 0.05, "办理工程建设项目审批")),
    "fgw": (("信用修复型", 0.5, "申请行政处罚信息信用修复"), ("行业自律型", 0.2, "参与政府采购活动信用承诺"),
            ("主动型", 0.2, "申报市级诚信示范企业"), ("其他", 0.1, "申请财政资金扶持项目")),
}
COMMITMENT_LICENCES = ("食品经营许可", "道路运输经营许可", "公共场所卫生许可", "药品经营许可")
COMMITMENT_CONTENT = ("本单位郑重承诺：所提交的申请材料真实、合法、有效，已符合相关许可条件，如有虚假，愿意承担相应的法律责任",
                      "本单位承诺在{days}个工作日内补齐容缺材料，逾期未补齐的，自愿撤回申请",
                      "本单位承诺严格遵守法律法规，依法诚信经营，自觉接受政府、行业组织、社会公众、新闻舆论的监督")
COMMITMENT_LIABILITY = ("如违反承诺，自愿接受行政机关依法撤销许可决定、列入失信记录等处理",
                        "违反承诺的，自愿承担相应法律责任，并同意将违诺情况记入信用记录")
BREACH_CONTENT = ("未在承诺期限内补齐材料", "实际经营条件与承诺不符", "未按承诺期限完成整改")
FULFILMENT = (("全部履行", 0.60), ("履行中", 0.30), ("部分履行", 0.06), ("全部未履行", 0.04))
DISCLOSURE = (("可向社会公开", 0.80), ("特定范围内公开", 0.15), ("不可公开", 0.05))

OTHER_KINDS = {
    "swjt": (("故意拖欠水电气费", 0.7, "自{since}起拖欠非居民用水水费{value}元，经多次书面催缴仍拒不缴纳", "PJSW-QF"),
             ("违规使用水电气资源", 0.2, "擅自在城市公共供水管道上直接装泵抽水，经责令停止后仍继续", "PJSW-WG"),
             ("合同违约", 0.1, "未按供用水合同约定支付管网改造工程款{value}元，构成违约", "PJSW-WY")),
    "jr": (("金融机构违约贷款", 0.75, "在{bank}的{value}元贷款逾期{count}天未归还", "PJJR-DK"),
           ("合同违约", 0.15, "未按融资租赁合同约定支付租金{value}元，构成违约", "PJJR-WY"),
           ("其他", 0.10, "以虚假资料申请{bank}贷款，涉及金额{value}元", "PJJR-QT")),
}
OTHER_SUBJECTS = {"swjt": (0.4, 0.3, 0.3), "jr": (0.5, 0.2, 0.3)}
BANKS = ("中国农业银行盘锦分行", "中国工商银行盘锦分行", "中国建设银行盘锦分行", "中国银行盘锦分行",
         "中国邮政储蓄银行盘锦市分行", "辽宁盘山农村商业银行", "锦州银行盘锦分行")
SEVERITY_OTHER = (("一般", 0.7), ("轻微", 0.2), ("严重", 0.1))

GOV_BODIES = ("教育局", "卫生健康委员会", "交通运输局", "城市管理综合行政执法局", "自然资源局", "农业农村局", "水利局",
              "民政局", "文化旅游和广播电视局", "住房和城乡建设局", "公安局", "司法局", "体育局", "商务局", "退役军人事务局")
DISTRICT_BODIES = ("人民政府", "教育局", "住房和城乡建设局", "农业农村局", "城市管理综合行政执法局", "卫生健康局")
STREETS = ("振兴街道", "兴隆街道", "渤海街道", "惠宾街道", "新工街道", "红旗街道", "铁东街道", "辽河街道", "田家街道")
INSTITUTIONS = ("盘锦市中心医院", "盘锦市第一完全中学", "盘锦市疾病预防控制中心", "盘锦市图书馆", "盘锦市职业技术学院",
                "盘锦市第二人民医院", "盘锦市广播电视台", "盘锦市园林绿化服务中心", "盘锦市住房公积金管理中心",
                "盘锦市政务服务中心", "盘锦市实验中学", "盘锦市中医医院")
SOES = ("城市建设投资集团", "交通投资集团", "辽河口生态经济区开发建设", "供热集团", "公交集团", "国有资本投资运营集团",
        "港口集团", "文化旅游投资集团", "粮食储备", "农业发展集团", "燃气集团", "环境治理集团")
LARGE_PRIVATE = ("北方沥青", "华锦化工", "辽河石化", "宝来石化", "和运实业", "中润化工")

RESULT = (("已实施", 0.9), ("不适用", 0.1))
REMOVAL_REASON_WEIGHTS = {"有效期届满": 0.40, "提前移出": 0.30, "信用修复": 0.15, "撤销认定": 0.15}

# ---------------------------------------------------------------- deliberate faults

# Rules skipped on purpose: breaking them alone is impossible, or it would also break the reference check.
UNBREAKABLE = {
    "list_removal": {"list_type.required", "list_type.code_table", "entry_decision_no.required"},
    "repair": {"target_type.required", "target_type.code_table", "target_decision_no.required",
               "application_date.not_future"},  # decision_date ≥ application_date: both would be future
    "debt_payment": {"ledger_no.required"},
}
# Faults the brief names explicitly: always present. (record type, rule, variant)
MUST_BREAK = (
    ("admin_penalty", "uscc.uscc_check", "wrong_check"),
    ("admin_penalty", "uscc.uscc_check", "letter_o"),
    ("admin_penalty", "id_no.resident_id_check", "impossible_birth"),
    ("admin_penalty", "id_no.resident_id_check", "wrong_check"),
    ("admin_penalty", "decision_no.required", ""),
    ("admin_penalty", "penalty_types.code_table", ""),
    ("admin_penalty", "decision_date.date_format", ""),
    ("admin_penalty", "decision_date.not_future", ""),
    ("admin_penalty", "fine_amount.amount", ""),
    ("admin_penalty", "fine_amount.required_when_fine", ""),
    ("admin_penalty", "valid_until.not_before_decision", ""),
    ("admin_penalty", "subject.legal_person_identifier", ""),
    ("admin_penalty", "subject.person_id_no", ""),
    ("list_entry", "list_type.code_table", "unknown_code"),
    ("debt_ledger", "agreed_term_days.public_body_max_60", ""),
    ("commitment", "breach_content.required_when_breached", ""),
    ("admin_license", "valid_to.not_before_valid_from", ""),
    ("debt_payment", "amount.amount", ""),
    ("other_dishonesty", "category.code_table", ""),
    ("discipline_feedback", "measure_code.code_table", ""),
    ("repair", "decision_date.not_before_application", ""),
    ("list_removal", "removal_reason.code_table", ""),
    ("debt_ledger", "agreed_term_days.integer_format", ""),
    ("commitment", "id_type.code_table", ""),
    ("other_dishonesty", "subject.person_id_type", ""),
)
# Rules that only fit some departments' rows.
BREAK_DEPARTMENTS = {("debt_ledger", "agreed_term_days.public_body_max_60"): {"cz"},
                     ("debt_ledger", "agreed_term_days.integer_format"): {"gy"}}
# Realistic wrong codes per column.
BAD_CODES = {
    "subject_category": ("企业法人", "个人", "法人"), "id_type": ("居民身份证", "二代身份证"),
    "penalty_types": ("罚款；停业整顿", "警告、责令改正"), "severity": ("较重", "特别严重"),
    "license_category": ("行政许可", "一般"), "list_type": ("失信被执行人", "env_black", "tax_b"),
    "commitment_type": ("告知承诺型",), "fulfilment": ("已履行", "正在履行"), "disclosure": ("公开", "依申请公开"),
    "debtor_type": ("国企", "行政机关"), "creditor_size": ("小微", "大型"), "disputed": ("有", "Y"),
    "in_litigation": ("无", "N"), "measure_code": ("P10", "X01"), "result": ("已执行", "实施中"),
    "category": ("欠缴燃气费", "违约"), "removal_reason": ("期满移出", "到期"), "repair_type": ("移出",),
}
BAD_STATUS = {"admin_penalty": ("有效", "已撤销"), "admin_license": ("正常", "存续")}
BAD_DATES = ("2024-02-30", "2023/13/05", "2023年02月29日", "20240431", "待定")

# ---------------------------------------------------------------- file styles

DATE_FORMATS = {"iso": "%Y-%m-%d", "slash": "%Y/%m/%d", "zh": "%Y年%m月%d日", "compact": "%Y%m%d"}
DATE_STYLES = (("iso", 0.45), ("slash", 0.2), ("zh", 0.15), ("compact", 0.1), ("mixed", 0.1))
HEADER_STYLES = (("zh", 0.5), ("code", 0.3), ("name", 0.2))
ENCODINGS = (("utf-8", 0.6), ("utf-8-sig", 0.2), ("gb18030", 0.2))
OPTIONAL_OMITTABLE = {"business_reg_no", "org_code", "remarks", "license_revoked", "confiscated_amount", "legal_rep"}


@dataclass(frozen=True)
class Style:
    fmt: str          # csv | xlsx
    encoding: str     # utf-8 | utf-8-sig | gb18030 (csv only)
    headers: str      # zh | code | name
    spaces: bool      # " 行政相对人名称 "
    ascii_brackets: bool
    alias: bool       # 主体名称 for subject_name
    dates: str        # iso | slash | zh | compact | mixed
    fixed4: bool      # amounts always with 4 decimals
    serial: bool      # an extra 序号 column
    blank_first_row: bool
    omit_empty: bool  # optional columns that are empty in this file are left out
    separator: str    # between penalty types


@dataclass
class DemoSummary:
    files: list[Path]
    rows_per_record_type: dict[str, int]
    broken_rows: int
    rejected_files: list[Path]
    expected_quarantine: Path
    expected_rejected_files: Path


# ================================================================ small vectorised helpers


def _days(d: dt.date) -> int:
    return (d - _EPOCH).days


def _date(days: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=int(days))


def _years(days: np.ndarray) -> np.ndarray:
    return np.asarray(days).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def _add_months(days: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """Calendar month arithmetic on epoch days (31 Jan + 1 month = 28/29 Feb)."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    start = d.astype("datetime64[M]")
    offset = (d - start.astype("datetime64[D]")).astype(np.int64)
    target = start + np.asarray(months, dtype=np.int64).astype("timedelta64[M]")
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    return target.astype("datetime64[D]").astype(np.int64) + np.minimum(offset, length - 1)


def _strings(values: Sequence[str]) -> pa.Array:
    return pa.array(list(values), pa.string())


def _take(vocab: Sequence[str] | pa.Array, idx: np.ndarray) -> pa.Array:
    arr = vocab if isinstance(vocab, pa.Array) else _strings(vocab)
    return arr.take(pa.array(np.asarray(idx, dtype=np.int64)))


def _cat(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation; null parts count as empty."""
    return pc.binary_join_element_wise(*parts, "", null_handling="replace", null_replacement="")


def _ints(values: np.ndarray, width: int = 0) -> pa.Array:
    text = pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())
    return pc.utf8_lpad(text, width=width, padding="0") if width else text


def _thousands(yuan: np.ndarray) -> pa.Array:
    """Yuan with ASCII thousands separators (1,250): these fields need CSV quoting."""
    yuan = np.asarray(yuan, dtype=np.int64)
    low = _ints(yuan % 1000, 3)
    mid = _ints(yuan // 1000 % 1000, 3)
    out = pc.if_else(pa.array(yuan >= 1000), _cat(_ints(yuan // 1000 % 1000), ",", low), _ints(yuan))
    return pc.if_else(pa.array(yuan >= 1_000_000), _cat(_ints(yuan // 1_000_000), ",", mid, ",", low), out)


def _null_where(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), pa.scalar(None, arr.type), arr)


def _choice(rng: np.random.Generator, weighted: Sequence[tuple[str, float]], n: int) -> np.ndarray:
    p = np.array([w for _, w in weighted], dtype=float)
    return rng.choice(len(weighted), n, p=p / p.sum())


def _pick(rng: np.random.Generator, weighted: Sequence[tuple[str, float]], n: int) -> pa.Array:
    return _take([v for v, _ in weighted], _choice(rng, weighted, n))


def _templated(templates: Sequence[str], which: np.ndarray, fields: dict[str, pa.Array]) -> pa.Array:
    """Fill row i from templates[which[i]]; {name} placeholders take fields[name][i]."""
    n = len(which)
    pieces, order = [], []
    for t, template in enumerate(templates):
        rows = np.flatnonzero(which == t)
        if not len(rows):
            continue
        idx = pa.array(rows)
        parts: list[pa.Array | str] = []
        for literal, name in _template_parts(template):
            if literal:
                parts.append(literal)
            if name:
                parts.append(fields[name].take(idx))
        if not any(isinstance(p, pa.Array) for p in parts):
            parts.append(pa.nulls(len(rows), pa.string()))
        pieces.append(_cat(*parts))
        order.append(rows)
    if not pieces:
        return pa.array([], pa.string())
    inverse = np.empty(n, dtype=np.int64)
    inverse[np.concatenate(order)] = np.arange(n)
    return pa.concat_arrays(pieces).take(pa.array(inverse))


@cache
def _template_parts(template: str) -> tuple[tuple[str, str | None], ...]:
    """'罚款人民币{fine}元' → (('罚款人民币', 'fine'), ('元', None))"""
    return tuple((literal, name) for literal, name, _, _ in string.Formatter().parse(template))


@cache
def _date_text(fmt: str) -> tuple[int, pa.Array]:
    """Every day 1940-01-01 … 2100-12-31 formatted once; formatting a column is then a `take`."""
    lo, hi = _days(dt.date(1940, 1, 1)), _days(dt.date(2100, 12, 31))
    days = pa.array(np.arange(lo, hi + 1, dtype=np.int32)).cast(pa.date32())
    return lo, pc.strftime(days, format=fmt)


def _format_dates(days: pa.Array, style: str, rng: np.random.Generator) -> pa.Array:
    valid = np.asarray(days.is_valid())
    raw = np.asarray(days.fill_null(0), dtype=np.int64)
    if style == "mixed":
        which = rng.integers(0, len(DATE_FORMATS), len(raw))
        out = _templated([f"{{{k}}}" for k in DATE_FORMATS], which,
                          {k: _format_dates(days, k, rng) for k in DATE_FORMATS})
        return _null_where(out, ~valid)
    lo, text = _date_text(DATE_FORMATS[style])
    return _null_where(text.take(pa.array(np.clip(raw - lo, 0, len(text) - 1))), ~valid)


def _format_wan(units: pa.Array, fixed4: bool) -> pa.Array:
    """Amounts kept as integer yuan → 万元 text with up to 4 decimals (exact, no float rounding)."""
    valid = np.asarray(units.is_valid())
    yuan = np.asarray(units.fill_null(0), dtype=np.int64)
    whole, frac = _ints(yuan // 10000), _ints(yuan % 10000, 4)
    if not fixed4:
        frac = pc.utf8_rtrim(frac, characters="0")
        text = pc.if_else(pc.equal(frac, ""), whole, _cat(whole, ".", frac))
    else:
        text = _cat(whole, ".", frac)
    return _null_where(text, ~valid)


def _wan_text(yuan: int) -> str:
    return f"{yuan // 10000}.{yuan % 10000:04d}".rstrip("0").rstrip(".")


# ================================================================ identifiers (vectorised)

_ALPHABET_BYTES = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)
_USCC_VALUE = np.full(256, -1, dtype=np.int64)
_USCC_VALUE[_ALPHABET_BYTES] = np.arange(31)
_ORG_VALUE = np.full(256, -1, dtype=np.int64)
_ORG_VALUE[np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)] = np.arange(36)
_ORG_CHECK = np.frombuffer(b"0123456789X0", dtype=np.uint8)
_NEW_ORG_CHARS = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)  # MA-style codes avoid I O Z S V too


def _ascii_matrix(values: Sequence[str], idx: np.ndarray, width: int) -> np.ndarray:
    table = np.frombuffer("".join(values).encode("ascii"), dtype=np.uint8).reshape(-1, width)
    return table[idx]


def _text_rows(matrix: np.ndarray) -> pa.Array:
    width = matrix.shape[1]
    return pa.array(np.ascontiguousarray(matrix).view(f"S{width}").ravel()).cast(pa.string())


def _org_codes(rng: np.random.Generator, serials: np.ndarray, newer_share: float = 0.45) -> np.ndarray:
    """9-character organisation codes (GB 11714) from unique serials: 8 digits, or 'MA' + 6 for newer ones."""
    n = len(serials)
    body = np.empty((n, 9), dtype=np.uint8)
    newer = rng.random(n) < newer_share
    digits = serials.copy()
    for pos in range(7, -1, -1):
        body[:, pos] = ord("0") + digits % 10
        digits //= 10
    rest = serials[newer] % (31 ** 6)
    body[newer, 0], body[newer, 1] = ord("M"), ord("A")
    for pos in range(7, 1, -1):
        body[newer, pos] = _NEW_ORG_CHARS[rest % 31]
        rest //= 31
    total = _ORG_VALUE[body[:, :8]] @ ORG_CODE_WEIGHTS
    body[:, 8] = _ORG_CHECK[11 - total % 11]
    return body


def _usccs(rng: np.random.Generator, prefixes: np.ndarray, divisions: np.ndarray, orgs: np.ndarray) -> pa.Array:
    """USCCs from 2-char prefix, 6-digit division and 9-char org code matrices: check char computed."""
    body = np.hstack([prefixes, divisions, orgs])
    total = _USCC_VALUE[body] @ USCC_WEIGHTS
    check = _ALPHABET_BYTES[(31 - total % 31) % 31]
    return _text_rows(np.hstack([body, check[:, None]]))


_RIC_CHECK = np.frombuffer(RESIDENT_ID_CHECK.encode(), dtype=np.uint8)


def _resident_ids(divisions: np.ndarray, births: np.ndarray, seqs: np.ndarray) -> pa.Array:
    """GB 11643 numbers: division matrix (n, 6), birth epoch days, 3-digit sequence."""
    n = len(births)
    ymd = np.asarray(births).astype("datetime64[D]")
    y = _years(births)
    m = (ymd.astype("datetime64[M]").astype(np.int64) % 12) + 1
    d = (ymd - ymd.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    number = y * 10_000_000 + m * 100_000 + d * 1000 + seqs
    tail = np.empty((n, 11), dtype=np.uint8)
    for pos in range(10, -1, -1):
        tail[:, pos] = ord("0") + number % 10
        number //= 10
    body = np.hstack([divisions, tail])
    total = (body.astype(np.int64) - ord("0")) @ RESIDENT_ID_WEIGHTS
    return _text_rows(np.hstack([body, _RIC_CHECK[total % 11][:, None]]))


def _business_reg_nos(rng: np.random.Generator, divisions: np.ndarray) -> pa.Array:
    """Legacy 15-digit 工商注册号 (GB 12.1: ISO 7064 MOD 11,10 check digit)."""
    n = len(divisions)
    digits = np.hstack([divisions, ord("0") + rng.integers(0, 10, (n, 8)).astype(np.uint8)])
    p = np.full(n, 10, dtype=np.int64)
    for pos in range(14):
        s = (p + digits[:, pos].astype(np.int64) - ord("0")) % 10
        p = (np.where(s == 0, 10, s) * 2) % 11
    check = ((11 - p) % 10 + ord("0")).astype(np.uint8)
    return _text_rows(np.hstack([digits, check[:, None]]))


# ================================================================ the city: subjects and debtors


@dataclass
class Pool:
    """Everyone records can be about: legal persons, 个体工商户 and natural persons, in one table."""

    table: pa.Table                  # subject columns, canonical names
    kind: np.ndarray                 # 0 legal person, 1 个体工商户, 2 natural person
    tags: np.ndarray                 # industry tag of legal persons ('' otherwise)
    by_kind: list[np.ndarray]
    by_tag: dict[str, np.ndarray]
    id_card_persons: np.ndarray
    uscc_companies: np.ndarray

    def pick(self, rng: np.random.Generator, n: int, mix: tuple[float, float, float],
             tag: str | None = None) -> np.ndarray:
        """Subject indices; a few subjects get many records (skewed), as in real data."""
        p = np.asarray(mix, dtype=float)
        kinds = rng.choice(3, n, p=p / p.sum())
        out = np.empty(n, dtype=np.int64)
        for k in range(3):
            rows = np.flatnonzero(kinds == k)
            if not len(rows):
                continue
            pool = self.by_tag.get(tag, self.by_kind[0]) if (k == 0 and tag) else self.by_kind[k]
            out[rows] = pool[(len(pool) * rng.random(len(rows)) ** 1.7).astype(np.int64)]
        return out

    def row(self, i: int) -> dict[str, str | None]:
        return self.table.slice(int(i), 1).to_pylist()[0]


def _person_names(rng: np.random.Generator, n: int) -> pa.Array:
    weights = 1 / np.arange(1, len(SURNAMES) + 1) ** 0.9
    surname = _take(SURNAMES, rng.choice(len(SURNAMES), n, p=weights / weights.sum()))
    first = _take(GIVEN_CHARS, rng.integers(0, len(GIVEN_CHARS), n))
    second = _null_where(_take(GIVEN_CHARS, rng.integers(0, len(GIVEN_CHARS), n)), rng.random(n) < 0.35)
    return _cat(surname, first, second)


def _build_pool(rng: np.random.Generator, rows: int, as_of: dt.date) -> Pool:
    n_ent = int(np.clip(rows // 8, 300, 120_000))
    n_ind = int(np.clip(rows // 25, 80, 40_000))
    n_per = int(np.clip(rows // 12, 150, 80_000))
    serials = rng.choice(10**8, n_ent + n_ind, replace=False)
    orgs = _org_codes(rng, serials)
    div_idx = rng.choice(len(DIVISIONS), n_ent, p=DIVISION_WEIGHTS)
    ent_divs = _ascii_matrix(DIVISIONS, div_idx, 6)

    # legal persons: 盘锦 + 字号 + 行业 + 组织形式; 5% farmers' cooperatives (USCC 93…)
    industry = rng.integers(0, len(INDUSTRIES), n_ent)
    trade = _cat(_take(TRADE_FIRST, rng.integers(0, len(TRADE_FIRST), n_ent)),
                 _take(TRADE_SECOND, rng.integers(0, len(TRADE_SECOND), n_ent)))
    coop = rng.random(n_ent) < 0.05
    company = _cat(_pick(rng, COMPANY_PREFIXES, n_ent), trade, _take([i for i, _ in INDUSTRIES], industry),
                   _pick(rng, COMPANY_SUFFIXES, n_ent))
    county = _take([DISTRICTS.get(d, "盘山县") for d in DIVISIONS], div_idx)
    cooperative = _cat(county, trade, _take(COOPERATIVES, rng.integers(0, len(COOPERATIVES), n_ent)))
    ent_names = pc.if_else(pa.array(coop), cooperative, company)
    ent_prefix = np.where(coop[:, None], np.frombuffer(b"93", np.uint8), np.frombuffer(b"91", np.uint8))
    ent_uscc = _usccs(rng, ent_prefix.astype(np.uint8), ent_divs, orgs[:n_ent])
    # old records: ~1.5% carry only legacy identifiers (工商注册号 / 组织机构代码)
    legacy = rng.random(n_ent) < 0.015
    org_text = _text_rows(orgs[:n_ent])
    org_dash = _cat(pc.utf8_slice_codeunits(org_text, 0, 8), "-", pc.utf8_slice_codeunits(org_text, 8, 9))
    ent = {
        "subject_name": ent_names,
        "subject_category": pa.array(["法人及非法人组织"] * n_ent, pa.string()),
        "uscc": _null_where(ent_uscc, legacy),
        "business_reg_no": _null_where(_business_reg_nos(rng, ent_divs), ~legacy),
        "org_code": _null_where(org_dash, ~(legacy & (rng.random(n_ent) < 0.7))),
        "legal_rep": _person_names(rng, n_ent),
        "id_type": pa.nulls(n_ent, pa.string()),
        "id_no": pa.nulls(n_ent, pa.string()),
    }

    # 个体工商户: 兴隆台区张记小吃店, 双台子区鑫源便利店
    ind_div_idx = rng.integers(0, 4, n_ind)  # current districts only
    ind_divs = _ascii_matrix(PERSON_DIVISIONS, ind_div_idx, 6)
    owner = _person_names(rng, n_ind)
    surname_shop = _cat(pc.utf8_slice_codeunits(owner, 0, 1), "记")
    ind_trade = pc.if_else(pa.array(rng.random(n_ind) < 0.6), surname_shop,
                           _cat(_take(TRADE_FIRST, rng.integers(0, len(TRADE_FIRST), n_ind)),
                                _take(TRADE_SECOND, rng.integers(0, len(TRADE_SECOND), n_ind))))
    ind_names = _cat(_take([DISTRICTS[d] for d in PERSON_DIVISIONS], ind_div_idx), ind_trade,
                     _take(SHOPS, rng.integers(0, len(SHOPS), n_ind)))
    no_code = rng.random(n_ind) < 0.03
    ind_uscc = _usccs(rng, np.tile(np.frombuffer(b"92", np.uint8), (n_ind, 1)), ind_divs, orgs[n_ent:])
    ind = {
        "subject_name": ind_names,
        "subject_category": pa.array(["个体工商户"] * n_ind, pa.string()),
        "uscc": _null_where(ind_uscc, no_code),
        "business_reg_no": _null_where(_business_reg_nos(rng, ind_divs), ~no_code),
        "org_code": pa.nulls(n_ind, pa.string()),
        "legal_rep": owner,
        "id_type": pa.nulls(n_ind, pa.string()),
        "id_no": pa.nulls(n_ind, pa.string()),
    }

    # natural persons: resident IDs unique over (area, birth date 1950–2005, sequence)
    first_birth, last_birth = _days(dt.date(1950, 1, 1)), _days(dt.date(2005, 12, 31))
    span = last_birth - first_birth + 1
    code = rng.choice(len(PERSON_DIVISIONS) * span * 999, n_per, replace=False)
    per_divs = _ascii_matrix(PERSON_DIVISIONS, code // (span * 999), 6)
    births = first_birth + (code // 999) % span
    ids = _resident_ids(per_divs, births, code % 999 + 1)
    id_kind = _choice(rng, PERSON_ID_TYPES, n_per)
    foreign_no = _cat(_take(["", "E", "H", ""], id_kind), _ints(rng.integers(10**7, 10**8, n_per)))
    per = {
        "subject_name": _person_names(rng, n_per),
        "subject_category": pa.array(["自然人"] * n_per, pa.string()),
        "uscc": pa.nulls(n_per, pa.string()),
        "business_reg_no": pa.nulls(n_per, pa.string()),
        "org_code": pa.nulls(n_per, pa.string()),
        "legal_rep": pa.nulls(n_per, pa.string()),
        "id_type": _take([t for t, _ in PERSON_ID_TYPES], id_kind),
        "id_no": pc.if_else(pa.array(id_kind == 0), ids, foreign_no),
    }
    table = pa.Table.from_pydict({k: pa.concat_arrays([ent[k], ind[k], per[k]]) for k in ent})
    kind = np.concatenate([np.zeros(n_ent, np.int8), np.ones(n_ind, np.int8), np.full(n_per, 2, np.int8)])
    tags = np.concatenate([np.array([t for _, t in INDUSTRIES])[industry], np.full(n_ind + n_per, "")])
    tags[:n_ent][coop] = "general"
    by_kind = [np.flatnonzero(kind == k) for k in range(3)]
    by_tag = {t: np.flatnonzero(tags == t) for t in {t for _, t in INDUSTRIES}}
    return Pool(table, kind, tags, by_kind, by_tag,
                id_card_persons=n_ent + n_ind + np.flatnonzero(id_kind == 0),
                uscc_companies=np.flatnonzero(~legacy))


@dataclass
class Debtors:
    """Government bodies, public institutions and SOEs that owe enterprises money (清欠)."""

    name: pa.Array
    uscc: pa.Array
    kind: np.ndarray  # debtor_type text
    dept: np.ndarray  # which department reports them: cz (机关/事业单位) or gy (国有企业/其他大型企业)


def _build_debtors(rng: np.random.Generator) -> Debtors:
    # (name, debtor_type, USCC prefix, division): 11 机关, 12 事业单位, 91 enterprises
    rows = [(f"盘锦市{body}", "机关", "11", "211100") for body in GOV_BODIES]
    rows += [(f"盘锦市{district}{body}", "机关", "11", div)
             for div, district in DISTRICTS.items() if div != "211121" for body in DISTRICT_BODIES]
    rows += [(f"盘锦市兴隆台区人民政府{street}办事处", "机关", "11", "211103") for street in STREETS]
    rows += [(inst, "事业单位", "12", "211100") for inst in INSTITUTIONS]
    rows += [(f"盘锦市{soe}有限公司", "国有企业", "91", "211100") for soe in SOES]
    rows += [(f"盘锦{firm}股份有限公司", "其他大型企业", "91", "211100") for firm in LARGE_PRIVATE]
    names, kinds, prefixes, divs = (list(col) for col in zip(*rows, strict=True))
    n = len(names)
    orgs = _org_codes(rng, rng.choice(10**8, n, replace=False), newer_share=0.0)
    uscc = _usccs(rng, _ascii_matrix(prefixes, np.arange(n), 2), _ascii_matrix(divs, np.arange(n), 6), orgs)
    kind = np.array(kinds)
    return Debtors(_strings(names), uscc, kind, np.where(np.isin(kind, ["机关", "事业单位"]), "cz", "gy"))


# ================================================================ generation context


@dataclass
class Chunk:
    """Rows of one record type from one department, typed: dates as epoch days, amounts as integer yuan."""

    cols: dict[str, pa.Array]
    day: np.ndarray                  # the date files are split and named by
    special: np.ndarray              # None, or the cross-record rule this row deliberately breaks
    reg: dict[str, np.ndarray]       # what later record types may refer to

    @property
    def n(self) -> int:
        return len(self.day)

    def take(self, idx: np.ndarray) -> Chunk:
        at = pa.array(idx)
        return Chunk({k: v.take(at) for k, v in self.cols.items()}, self.day[idx], self.special[idx],
                     {k: v[idx] for k, v in self.reg.items()})


class Registry:
    """Good rows of one record type that later record types refer to (arrays appended file by file)."""

    def __init__(self) -> None:
        self._parts: dict[str, list[np.ndarray]] = defaultdict(list)
        self._cache: dict[str, np.ndarray] = {}

    def add(self, cols: dict[str, np.ndarray]) -> None:
        for k, v in cols.items():
            self._parts[k].append(v)
        self._cache.clear()

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._cache:
            parts = self._parts.get(key, [])
            self._cache[key] = np.concatenate(parts) if parts else np.array([])
        return self._cache[key]

    def __setitem__(self, key: str, value: np.ndarray) -> None:
        self._parts[key] = [value]
        self._cache[key] = value

    def __len__(self) -> int:
        first = next(iter(self._parts), None)
        return len(self[first]) if first else 0


@dataclass
class Context:
    home: Path
    rows: int
    as_of: dt.date
    rng: np.random.Generator
    catalog: Catalog
    pool: Pool
    debtors: Debtors
    error_rules: dict[str, dict[str, dict]]       # record type → rule → expectation
    counters: dict[tuple, int] = field(default_factory=lambda: defaultdict(int))
    registry: dict[str, Registry] = field(default_factory=lambda: defaultdict(Registry))

    @property
    def today(self) -> int:
        return _days(self.as_of)

    @property
    def first_day(self) -> int:
        return self.today - YEARS_BACK * 365

    def dept(self, code: str) -> tuple[str, str]:
        d = self.catalog.departments[code]
        return d.name, d.uscc

    def const(self, value: str | None, n: int) -> pa.Array:
        return pa.array([value] * n, pa.string())

    def subjects(self, idx: np.ndarray) -> dict[str, pa.Array]:
        t = self.pool.table.take(pa.array(idx))
        return {name: t.column(name).combine_chunks() for name in t.column_names}

    def numbers(self, key: tuple, days: np.ndarray) -> np.ndarray:
        """Document sequence numbers restarting each year per issuer (days must be sorted)."""
        years = _years(days)
        out = np.empty(len(days), dtype=np.int64)
        for y in np.unique(years):
            rows = np.flatnonzero(years == y)
            start = self.counters[(*key, int(y))]
            out[rows] = start + 1 + np.arange(len(rows))
            self.counters[(*key, int(y))] = start + len(rows)
        return out

    def doc_no(self, prefix: str, key: tuple, days: np.ndarray, width: int = 0) -> pa.Array:
        """盘市监处罚〔2025〕123号"""
        return _cat(prefix, "〔", _ints(_years(days)), "〕", _ints(self.numbers(key, days), width), "号")

    def unused_doc_no(self, prefix: str, key: tuple, day: int) -> str:
        """A document number of this issuer's series that no generated record carries (yet)."""
        year = _date(day).year
        self.counters[("unused", *key, year)] += 1
        return f"{prefix}〔{year}〕{self.counters[(*key, year)] + 500 + self.counters[('unused', *key, year)]}号"

    def sorted_days(self, n: int, lo: int, hi: int) -> np.ndarray:
        return np.sort(self.rng.integers(lo, hi + 1, n))


def _is_none(values: np.ndarray) -> np.ndarray:
    return np.frompyfunc(lambda v: v is None, 1, 1)(values).astype(bool)


def _no_specials(n: int) -> np.ndarray:
    return np.full(n, None, dtype=object)


def _date_col(days: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    arr = pa.array(np.asarray(days, dtype=np.int32))
    return arr if null is None else _null_where(arr, null)


def _yuan_col(yuan: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    arr = pa.array(np.asarray(yuan, dtype=np.int64))
    return arr if null is None else _null_where(arr, null)


def _round_yuan(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Log-uniform amounts in yuan, rounded as officials round them (to 100 or 10 yuan)."""
    lo = np.maximum(np.asarray(lo, dtype=float), 1.0)
    hi = np.maximum(np.asarray(hi, dtype=float), lo)
    raw = np.exp(rng.uniform(np.log(lo), np.log(hi)))
    step = np.where(raw >= 2000, 100, 10)
    return np.maximum((raw // step * step).astype(np.int64), 10)


# ================================================================ builders: primary record types


def build_penalties(ctx: Context, dept: str, n: int, lo: int, hi: int) -> Chunk:
    rng = ctx.rng
    days = ctx.sorted_days(n, lo, hi)
    viols = VIOLATIONS[dept]
    v = rng.integers(0, len(viols), n)
    combo = np.empty(n, dtype=np.int64)
    subj = np.empty(n, dtype=np.int64)
    fine_lo, fine_hi = np.empty(n), np.empty(n)
    long_min = np.zeros(n, dtype=bool)
    for i, viol in enumerate(viols):
        rows = np.flatnonzero(v == i)
        combo[rows] = np.asarray(viol.combos)[rng.integers(0, len(viol.combos), len(rows))]
        subj[rows] = ctx.pool.pick(rng, len(rows), viol.subjects, viol.tag)
        fine_lo[rows], fine_hi[rows] = viol.fine_yuan
        long_min[rows] = viol.long_minimum
    person = ctx.pool.kind[subj] == 2
    combo = np.where(person & (combo == REVOKE), F, combo)  # natural persons hold no revocable licence here
    types = [t for t, _, _ in PENALTY_COMBOS]
    has_fine = np.array(["罚款" in t for t in types])[combo]
    has_conf = np.array(["没收违法所得" in t for t in types])[combo]
    cls = np.array([c for _, _, c in PENALTY_COMBOS])[combo]
    fine = _round_yuan(rng, fine_lo, fine_hi)
    conf = _round_yuan(rng, np.full(n, 100), np.maximum(fine // 2, 200))
    value = _round_yuan(rng, np.full(n, 800), np.full(n, 2_000_000))
    fields = {"fine": _thousands(fine), "conf": _thousands(conf), "value": _thousands(value),
              "count": _ints(rng.integers(2, 30, n)), "project": _take(PROJECTS, rng.integers(0, len(PROJECTS), n))}
    facts = _templated([viol.facts for viol in viols], v, fields)
    evidence = rng.random(n) < 0.03
    facts = _cat(_take(FACT_OPENINGS, rng.integers(0, len(FACT_OPENINGS), n)), facts, "。",
                 _null_where(_strings([FACT_EVIDENCE] * n), ~evidence))
    content = _templated([c for _, c, _ in PENALTY_COMBOS], combo, fields)
    name, uscc = ctx.dept(dept)
    licence_name, licence_prefix = REVOKABLE_LICENCES[dept]
    revokes = np.isin(combo, [REVOKE, SUSPEND])
    licence = _null_where(_cat("《", licence_name, "》（", licence_prefix, _ints(rng.integers(10**6, 10**7, n)), "）"),
                          ~revokes)
    severe = cls == "严重"
    valid_until = np.where(severe, _add_months(days, 36), _add_months(days, 12)) - 1
    disclosure_until = _add_months(days, 36) - 1
    revoked = rng.random(n) < 0.004
    fill_status = rng.random() < 0.5
    status = np.where(revoked, "撤销", "正常")
    cols = {
        **ctx.subjects(subj),
        "decision_no": ctx.doc_no(PENALTY_PREFIXES[dept], (dept, "penalty"), days),
        "violation_type": _take([x.violation_type for x in viols], v),
        "violation_facts": facts,
        "legal_basis": _take([x.legal_basis for x in viols], v),
        "penalty_types": _take(["|".join(t) for t in types], combo),  # joined with the file's separator later
        "penalty_content": content,
        "fine_amount": _yuan_col(fine, ~has_fine),
        "confiscated_amount": _yuan_col(conf, ~has_conf),
        "license_revoked": licence,
        "decision_date": _date_col(days),
        "valid_until": _date_col(valid_until, rng.random(n) > 0.4),
        "disclosure_until": _date_col(disclosure_until, rng.random(n) > 0.25),
        "authority": ctx.const(name, n),
        "authority_uscc": ctx.const(uscc, n),
        "source_unit": ctx.const(name, n),
        "source_unit_uscc": ctx.const(uscc, n),
        "severity": _null_where(pa.array(cls, pa.string()), np.full(n, rng.random() < 0.5)),
        "status": _null_where(pa.array(status, pa.string()), ~revoked & (not fill_status)),
        "remarks": _null_where(_take(REMARKS, rng.integers(0, len(REMARKS), n)), rng.random(n) > 0.12),
    }
    # repair needs: how long the record must stay public first (a year where any regime may ask for one)
    repairable = ~np.isin(combo, [W, TB]) & ~revoked
    min_months = np.where(severe | long_min, 12, 3)
    reg = {"decision_no": np.asarray(cols["decision_no"].to_pylist(), dtype=object), "day": days, "subj": subj,
           "min_months": np.where(repairable, min_months, 0)}
    return Chunk(cols, days, _no_specials(n), reg)


def build_licences(ctx: Context, dept: str, n: int, lo: int, hi: int) -> Chunk:
    rng = ctx.rng
    days = ctx.sorted_days(n, lo, hi)
    kinds = LICENCES[dept]
    w = np.array([k.weight for k in kinds])
    k = rng.choice(len(kinds), n, p=w / w.sum())
    subj = np.empty(n, dtype=np.int64)
    for i, lic in enumerate(kinds):
        rows = np.flatnonzero(k == i)
        subj[rows] = ctx.pool.pick(rng, len(rows), lic.subjects,
                                   "construction" if dept == "zj" else None)
    subjects = ctx.subjects(subj)
    # a licence needs a USCC-holding subject where the number is the USCC (营业执照)
    uscc_fallback = pc.fill_null(subjects["uscc"], "")
    year = _ints(_years(days))
    div = _take(DIVISIONS, rng.choice(len(DIVISIONS), n, p=DIVISION_WEIGHTS))
    fields = {"div": div, "year": year, "seq": _ints(rng.integers(1, 9999, n), 4),
              "digits": _ints(rng.integers(0, 10**7, n), 7), "uscc": uscc_fallback,
              "project": _take(PROJECTS, rng.integers(0, len(PROJECTS), n)),
              "count": _ints(rng.integers(3, 900, n))}
    valid_from = days + rng.integers(0, 4, n) * (rng.random(n) < 0.3)
    years = np.array([lic.years or 0 for lic in kinds])[k]
    valid_to = np.where(years > 0, _add_months(valid_from, years * 12) - 1, _days(NO_END))
    name, uscc = ctx.dept(dept)
    cols = {
        **subjects,
        "decision_doc_name": _take([x.decision_doc_name for x in kinds], k),
        "decision_no": _cat(_take([x.decision_prefix for x in kinds], k), "〔", year, "〕",
                            _ints(ctx.numbers((dept, "licence"), days)), "号"),
        "license_category": _take([x.category for x in kinds], k),
        "certificate_name": _take([x.certificate_name for x in kinds], k),
        "license_no": _templated([x.number for x in kinds], k, fields),
        "license_content": _templated([x.content for x in kinds], k, fields),
        "decision_date": _date_col(days),
        "valid_from": _date_col(valid_from),
        "valid_to": _date_col(valid_to),
        "authority": ctx.const(name, n),
        "authority_uscc": ctx.const(uscc, n),
        "status": _pick(rng, LICENCE_STATUS, n),
        "source_unit": ctx.const(name, n),
        "source_unit_uscc": ctx.const(uscc, n),
        "remarks": _null_where(ctx.const("告知承诺制审批", n), rng.random(n) > 0.05),
    }
    return Chunk(cols, days, _no_specials(n), {})


def build_list_entries(ctx: Context, dept: str, n: int, lo: int, hi: int) -> Chunk:
    rng = ctx.rng
    cat = ctx.catalog
    codes = [c for c in LIST_TYPE_SHARES if cat.list_types[c].issuer_dept == dept]
    w = np.array([LIST_TYPE_SHARES[c] for c in codes])
    lt = rng.choice(len(codes), n, p=w / w.sum())
    days = ctx.sorted_days(n, lo, hi)
    subj = np.empty(n, dtype=np.int64)
    parts_reason, parts_no, order = [], [], []
    term = np.empty(n, dtype=np.int64)
    for i, code in enumerate(codes):
        rows = np.flatnonzero(lt == i)
        if not len(rows):
            continue
        mix = LIST_SUBJECTS.get(code, (0.92, 0.08, 0.0))
        subj[rows] = ctx.pool.pick(rng, len(rows), mix, LIST_TAGS.get(code))
        reasons = LIST_REASONS[code]
        parts_reason.append(_take(reasons, rng.integers(0, len(reasons), len(rows))))
        if code == "court_dishonest":  # （2024）辽1103执1234号
            court = _take(COURTS, rng.integers(0, len(COURTS), len(rows)))
            parts_no.append(_cat("（", _ints(_years(days[rows])), "）", court, "执",
                                 _ints(ctx.numbers((dept, code), days[rows])), "号"))
        else:
            parts_no.append(ctx.doc_no(LIST_DECISION_PREFIXES[code], (dept, code), days[rows]))
        months = cat.list_types[code].default_term_months
        if code == "procurement_serious":  # 1–3 years per decision
            term[rows] = rng.choice([12, 24, 36], len(rows))
        else:
            term[rows] = months
        order.append(rows)
    inverse = np.empty(n, dtype=np.int64)
    inverse[np.concatenate(order)] = np.arange(n)
    reason = pa.concat_arrays(parts_reason).take(pa.array(inverse))
    decision = pa.concat_arrays(parts_no).take(pa.array(inverse))
    valid_from = np.minimum(days + rng.integers(0, 6, n), ctx.today)
    valid_to = _add_months(valid_from, term) - 1
    default_term = np.array([code != "procurement_serious" for code in codes])[lt]
    blank_to = default_term & (rng.random(n) < 0.2)  # left empty: the list type's default term applies
    name, uscc = ctx.dept(dept)
    cols = {
        **ctx.subjects(subj),
        "list_type": _take(codes, lt),
        "decision_no": decision,
        "reason": reason,
        "decision_date": _date_col(days),
        "valid_from": _date_col(valid_from),
        "valid_to": _date_col(valid_to, blank_to),
        "authority": ctx.const(name, n),
        "authority_uscc": ctx.const(uscc, n),
        "remarks": _null_where(_take(LIST_REMARKS, rng.integers(0, len(LIST_REMARKS), n)), rng.random(n) > 0.1),
    }
    reg = {"decision_no": np.asarray(decision.to_pylist(), dtype=object), "list_type": np.array(codes)[lt],
           "day": days, "valid_from": valid_from, "valid_to": valid_to, "end": valid_to.copy(), "subj": subj,
           "dept": np.full(n, dept)}
    return Chunk(cols, days, _no_specials(n), reg)


def build_other_dishonesty(ctx: Context, dept: str, n: int, lo: int, hi: int) -> Chunk:
    rng = ctx.rng
    kinds = OTHER_KINDS[dept]
    k = _choice(rng, [(c, w) for c, w, _, _ in kinds], n)
    days = ctx.sorted_days(n, lo, hi)
    subj = ctx.pool.pick(rng, n, OTHER_SUBJECTS[dept])
    yuan = _round_yuan(rng, np.full(n, 300), np.full(n, 800_000))
    since = _format_dates(_date_col(days - rng.integers(60, 400, n)), "zh", rng)
    fields = {"value": _thousands(yuan), "bank": _take(BANKS, rng.integers(0, len(BANKS), n)),
              "count": _ints(rng.integers(90, 720, n)), "since": since}
    event_no = _cat(_take([p for _, _, _, p in kinds], k), "-", _ints(_years(days)), "-",
                    _ints(ctx.numbers((dept, "other"), days), 6))
    name, uscc = ctx.dept(dept)
    severity = _pick(rng, SEVERITY_OTHER, n)
    cols = {
        **ctx.subjects(subj),
        "event_no": event_no,
        "category": _take([c for c, _, _, _ in kinds], k),
        "description": _templated([t for _, _, t, _ in kinds], k, fields),
        "amount": _yuan_col(yuan, rng.random(n) < 0.2),
        "event_date": _date_col(days),
        "severity": severity,
        "source_unit": ctx.const(name, n),
        "source_unit_uscc": ctx.const(uscc, n),
    }
    sev = np.asarray(severity.to_pylist())
    reg = {"decision_no": np.asarray(event_no.to_pylist(), dtype=object), "day": days, "subj": subj,
           "min_months": np.select([sev == "严重", sev == "一般"], [12, 3], 0)}
    return Chunk(cols, days, _no_specials(n), reg)


def build_debt_ledger(ctx: Context, dept: str, n: int, lo: int, hi: int) -> Chunk:
    rng = ctx.rng
    deb = ctx.debtors
    mine = np.flatnonzero(deb.dept == dept)
    d = mine[(len(mine) * rng.random(n) ** 1.3).astype(np.int64)]
    kind = deb.kind[d]
    public = np.isin(kind, ["机关", "事业单位"])
    delivery = ctx.sorted_days(n, lo, min(hi, ctx.today - 20))
    accepted = rng.random(n) < 0.6
    acceptance = np.minimum(delivery + rng.integers(0, 60, n), ctx.today)
    registered = np.minimum(np.maximum(delivery, np.where(accepted, acceptance, delivery)) + rng.integers(5, 200, n),
                            ctx.today)
    terms = np.where(public, rng.choice([30, 45, 60], n), rng.choice([30, 60, 90, 120], n))
    amount = _round_yuan(rng, np.full(n, 5000), np.full(n, 20_000_000))
    amount = amount + rng.integers(0, 100, n) * (rng.random(n) < 0.5)  # 万元 with 4 decimals: 32916.2489
    creditors = ctx.pool.pick(rng, n, (1, 0, 0))
    cred = ctx.pool.table.take(pa.array(creditors))
    creditor_uscc = cred.column("uscc").combine_chunks()
    # creditors are enterprises that hold a USCC (legacy-only subjects are replaced by one that has)
    missing = np.asarray(creditor_uscc.is_null())
    if missing.any():
        alt = ctx.pool.uscc_companies[rng.integers(0, len(ctx.pool.uscc_companies), int(missing.sum()))]
        creditors[missing] = alt
        cred = ctx.pool.table.take(pa.array(creditors))
    year = _years(delivery)
    seq = ctx.numbers((dept, "ledger"), delivery)
    ledger_no = _cat("QQ-", dept.upper(), "-", _ints(year), "-", _ints(seq, 5))
    contract = _cat(_take(["PJCG-", "GC-", "FW-", "盘采合同"], rng.integers(0, 4, n)),
                    _ints(year - rng.integers(0, 2, n)), "-", _ints(rng.integers(1, 3000, n), 4))
    flags = _take(["否", "是"], (rng.random(n) < 0.05).astype(np.int64))
    litig = _take(["否", "是"], (rng.random(n) < 0.03).astype(np.int64))
    cols = {
        "ledger_no": ledger_no,
        "debtor_name": deb.name.take(pa.array(d)),
        "debtor_uscc": deb.uscc.take(pa.array(d)),
        "debtor_type": pa.array(kind, pa.string()),
        "creditor_name": cred.column("subject_name").combine_chunks(),
        "creditor_uscc": cred.column("uscc").combine_chunks(),
        "creditor_size": _pick(rng, (("小型", 0.5), ("微型", 0.3), ("中型", 0.2)), n),
        "contract_no": contract,
        "amount": _yuan_col(amount),
        "delivery_date": _date_col(delivery),
        "acceptance_date": _date_col(acceptance, ~accepted),
        "agreed_term_days": _null_where(pa.array(terms.astype(np.int32)), rng.random(n) < 0.15),
        "disputed": _null_where(flags, rng.random(n) < 0.1),
        "in_litigation": _null_where(litig, rng.random(n) < 0.1),
        "registered_date": _date_col(registered),
    }
    reg = {"ledger_no": np.asarray(ledger_no.to_pylist(), dtype=object), "amount": amount,
           "registered": registered, "dept": np.full(n, dept)}
    return Chunk(cols, registered, _no_specials(n), reg)


def build_commitments(ctx: Context, dept: str, n: int, lo: int, hi: int) -> Chunk:
    rng = ctx.rng
    kinds = COMMITMENT_KINDS[dept]
    k = _choice(rng, [(t, w) for t, w, _ in kinds], n)
    days = ctx.sorted_days(n, lo, hi)
    subj = ctx.pool.pick(rng, n, (0.75, 0.2, 0.05))
    fields = {"licence": _take(COMMITMENT_LICENCES, rng.integers(0, len(COMMITMENT_LICENCES), n)),
              "days": _ints(rng.choice([5, 10, 20, 30], n))}
    fulfilment = _choice(rng, FULFILMENT, n)
    breached = np.isin(fulfilment, [2, 3])
    name, uscc = ctx.dept(dept)
    cols = {
        **ctx.subjects(subj),
        "commitment_no": _cat(dept.upper(), "-CN-", _ints(_years(days)), "-",
                              _ints(ctx.numbers((dept, "commitment"), days), 6)),
        "commitment_type": _take([t for t, _, _ in kinds], k),
        "matter": _templated([m for _, _, m in kinds], k, fields),
        "content": _templated(COMMITMENT_CONTENT, rng.integers(0, len(COMMITMENT_CONTENT), n), fields),
        "liability": _take(COMMITMENT_LIABILITY, rng.integers(0, len(COMMITMENT_LIABILITY), n)),
        "commit_date": _date_col(days),
        "valid_to": _date_col(_add_months(days, 12) - 1, rng.random(n) < 0.4),
        "fulfilment": _take([f for f, _ in FULFILMENT], fulfilment),
        "breach_content": _null_where(_take(BREACH_CONTENT, rng.integers(0, len(BREACH_CONTENT), n)), ~breached),
        "accepting_unit": ctx.const(name, n),
        "accepting_unit_uscc": ctx.const(uscc, n),
        "disclosure": _pick(rng, DISCLOSURE, n),
    }
    return Chunk(cols, days, _no_specials(n), {})


# ================================================================ builders: records that refer to others


def _between(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    lo, hi = np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)
    return lo + (rng.random(len(lo)) * (hi - lo + 1)).astype(np.int64).clip(0, np.maximum(hi - lo, 0))


def _sample(rng: np.random.Generator, eligible: np.ndarray, n: int) -> np.ndarray:
    return rng.choice(eligible, min(n, len(eligible)), replace=False) if len(eligible) else eligible[:0]


def build_removals(ctx: Context, n: int) -> dict[str, Chunk]:
    """名单移出 by the issuer, for entries that exist: expired, early, repaired or withdrawn."""
    rng, reg = ctx.rng, ctx.registry["list_entry"]
    lt = reg["list_type"]
    if not len(lt):
        return {}
    early_min = np.array([ctx.catalog.list_types[c].early_removal_min_months for c in lt], dtype=object)
    early_ok = np.array([m is not None for m in early_min])
    early_from = _add_months(reg["valid_from"], np.array([max(m or 0, 1) for m in early_min])) + 1
    until = np.minimum(reg["valid_to"], ctx.today)
    black = np.array([ctx.catalog.list_types[c].colour == "black" for c in lt])
    long_min = np.array([(m or 0) >= 6 for m in early_min])
    soon = reg["valid_from"] + 40 <= until
    expired = reg["valid_to"] < ctx.today
    # (reason, rows, eligible, earliest, latest, deliberately broken rule)
    plan = [
        ("有效期届满", n * 0.40, expired, reg["valid_to"] + 1, np.minimum(reg["valid_to"] + 15, ctx.today), None),
        ("提前移出", n * 0.30, early_ok & (early_from <= until), early_from, until, None),
        ("信用修复", n * 0.15, early_ok & (early_from <= until), early_from, until, None),
        ("撤销认定", n * 0.15, reg["day"] + 10 <= until, reg["day"] + 10, until, None),
        ("提前移出", 1, early_ok & long_min & soon, reg["valid_from"] + 10, reg["valid_from"] + 30,
         REMOVAL_BEFORE_MINIMUM),
        ("提前移出", 1, ~early_ok & black & soon, reg["valid_from"] + 40, until, REMOVAL_NOT_ALLOWED),
    ]
    taken = np.zeros(len(lt), dtype=bool)
    picks, reasons, dates, rules = [], [], [], []
    for reason, count, ok, lo, hi, rule in plan:
        chosen = _sample(rng, np.flatnonzero(ok & ~taken), round(count))  # one removal per entry
        taken[chosen] = True
        picks.append(chosen)
        reasons += [reason] * len(chosen)
        rules += [rule] * len(chosen)
        dates.append(_between(rng, lo[chosen], hi[chosen]))
    idx = np.concatenate(picks)
    removal = np.concatenate(dates)
    applies = np.array([r is None for r in rules], dtype=bool)
    end = reg["end"].copy()
    end[idx[applies]] = removal[applies] - 1  # measures stop with the removal
    reg["end"] = end
    chunk = Chunk({**ctx.subjects(reg["subj"][idx]),
                   "list_type": _strings(list(lt[idx])),
                   "entry_decision_no": pa.array(list(reg["decision_no"][idx]), pa.string()),
                   "removal_date": _date_col(removal),
                   "removal_reason": _strings(reasons)},
                  removal, np.array(rules, dtype=object), {"dept": reg["dept"][idx]})
    chunk = _with_unknown_removals(ctx, chunk)
    authority = pa.array([ctx.dept(d)[0] for d in chunk.reg["dept"]], pa.string())
    chunk.cols["authority"] = authority
    return _by_department(chunk, chunk.reg["dept"])


def _with_unknown_removals(ctx: Context, chunk: Chunk) -> Chunk:
    """2–3 removals of entries that no file holds (yet): they wait in quarantine."""
    rng = ctx.rng
    k = int(rng.integers(2, 4))
    codes = ["wage_arrears", "market_serious", "safety_serious"][:k]
    day = ctx.today - rng.integers(5, 60, k)
    subj = ctx.pool.uscc_companies[rng.integers(0, len(ctx.pool.uscc_companies), k)]
    depts = np.array([ctx.catalog.list_types[c].issuer_dept for c in codes])
    nos = [ctx.unused_doc_no(LIST_DECISION_PREFIXES[c], (dept, c), int(d))
           for c, dept, d in zip(codes, depts, day, strict=True)]
    extra = Chunk({**ctx.subjects(subj), "list_type": _strings(codes), "entry_decision_no": _strings(nos),
                   "removal_date": _date_col(day), "removal_reason": _strings(["提前移出"] * k)},
                  day, np.full(k, REFERS_TO_UNKNOWN, dtype=object), {"dept": depts})
    return _concat_chunks([chunk, extra])


def build_repairs(ctx: Context, n: int) -> dict[str, Chunk]:
    """信用修复 decided by 发改委 on penalties, list entries and other dishonesty records, after the minimum."""
    rng = ctx.rng
    pieces = []
    for target, share in (("admin_penalty", 0.8), ("list_entry", 0.15), ("other_dishonesty", 0.05)):
        reg = ctx.registry[target]
        if not len(reg):
            continue
        if target == "list_entry":
            early = np.array([ctx.catalog.list_types[c].early_removal_min_months for c in reg["list_type"]],
                             dtype=object)
            black = np.array([ctx.catalog.list_types[c].colour == "black" for c in reg["list_type"]])
            months = np.array([max(m or 0, 1) for m in early])
            start = reg["valid_from"]
            ok_kind = black & np.array([m is not None for m in early]) & (reg["end"] == reg["valid_to"])
        else:
            months = reg["min_months"]
            start = reg["day"]
            ok_kind = months > 0
        apply_from = _add_months(start, months) + 1
        latest = np.minimum(ctx.today, reg["end"]) if target == "list_entry" else np.full(len(start), ctx.today)
        ok = ok_kind & (apply_from + 30 <= latest)
        idx = _sample(rng, np.flatnonzero(ok), round(n * share))
        if target == "admin_penalty":
            pieces.append(_early_and_unknown_repairs(ctx, reg, exclude=idx))
        application = _between(rng, apply_from[idx], np.minimum(apply_from[idx] + 200, latest[idx] - 30))
        decision = application + rng.integers(3, 30, len(idx))
        if target == "list_entry":
            end = reg["end"]
            end[idx] = decision - 1
            reg["end"] = end
        repair_type = {"admin_penalty": "提前终止公示", "list_entry": "移出名单"}.get(target)
        types = (_strings([repair_type] * len(idx)) if repair_type else
                 _take(["提前终止公示", "信息更正"], rng.integers(0, 2, len(idx))))
        pieces.append(Chunk({**ctx.subjects(reg["subj"][idx]),
                             "target_type": _strings([target] * len(idx)),
                             "target_decision_no": pa.array(list(reg["decision_no"][idx]), pa.string()),
                             "repair_type": types,
                             "application_date": _date_col(application),
                             "decision_date": _date_col(decision)},
                            decision, _no_specials(len(idx)), {}))
    chunk = _concat_chunks(pieces)
    order = np.argsort(chunk.day, kind="stable")
    chunk = chunk.take(order)
    name, uscc = ctx.dept("fgw")
    chunk.cols["repair_no"] = _cat("XF-2111-", _ints(_years(chunk.day)), "-",
                                   _ints(ctx.numbers(("fgw", "repair"), chunk.day), 6))
    chunk.cols["authority"] = ctx.const(name, chunk.n)
    chunk.cols["authority_uscc"] = ctx.const(uscc, chunk.n)
    return {"fgw": chunk}


def _early_and_unknown_repairs(ctx: Context, reg: Registry, exclude: np.ndarray) -> Chunk:
    """One repair decided before the minimum period, and 2–3 whose target no file holds (yet)."""
    rng = ctx.rng
    ok = (reg["min_months"] == 3) & (reg["day"] + 60 <= ctx.today)
    ok[exclude] = False
    early = _sample(rng, np.flatnonzero(ok), 1)
    k = int(rng.integers(2, 4))
    unknown = ctx.pool.uscc_companies[rng.integers(0, len(ctx.pool.uscc_companies), k)]
    subj = np.concatenate([reg["subj"][early], unknown])
    day = ctx.today - rng.integers(10, 40, k)
    nos = list(reg["decision_no"][early]) + [
        ctx.unused_doc_no(PENALTY_PREFIXES[d], (d, "penalty"), int(x)) for d, x in zip(["scjg", "sthj", "zj"][:k], day, strict=True)
    ]
    application = np.concatenate([reg["day"][early] + 20, day - 10])
    decision = np.concatenate([reg["day"][early] + 40, day])
    rules = [REPAIR_BEFORE_MINIMUM] * len(early) + [REFERS_TO_UNKNOWN] * k
    return Chunk({**ctx.subjects(subj), "target_type": _strings(["admin_penalty"] * len(subj)),
                  "target_decision_no": _strings(nos),
                  "repair_type": _strings(["提前终止公示"] * len(subj)),
                  "application_date": _date_col(application), "decision_date": _date_col(decision)},
                 decision, np.array(rules, dtype=object), {})


def build_payments(ctx: Context, n: int) -> dict[str, Chunk]:
    """清偿记录: partial payments across months, never more than owed (but one deliberate overpayment)."""
    rng, reg = ctx.rng, ctx.registry["debt_ledger"]
    m = len(reg)
    if not m:
        return {}
    mean = max(n / m, 0.1)
    counts = np.minimum(rng.poisson(mean, m), 6)
    room = ctx.today - reg["registered"]
    counts = np.where(room < 10, 0, counts)
    owed = reg["amount"]
    full = rng.random(m) < 0.45
    total = np.where(full, owed, (owed * rng.uniform(0.1, 0.9, m)).astype(np.int64))
    ledger = np.repeat(np.arange(m), counts)
    k = len(ledger)
    weights = rng.uniform(0.2, 1.0, k)
    sums = np.bincount(ledger, weights, minlength=m)
    share = (total[ledger] * weights / sums[ledger]).astype(np.int64)
    # the last payment of each ledger takes the rounding remainder, so paid ≤ total exactly
    last = np.r_[ledger[1:] != ledger[:-1], True] if k else np.array([], dtype=bool)
    paid_before = np.bincount(ledger[~last], share[~last], minlength=m).astype(np.int64)
    share[last] = total[ledger[last]] - paid_before[ledger[last]]
    frac = np.sort(rng.random(k) + ledger)  # sorted within each ledger: later payments later
    day = reg["registered"][ledger] + 1 + ((frac - ledger) * (room[ledger] - 1)).astype(np.int64)
    seq = np.arange(k) - np.repeat(np.cumsum(counts) - counts, counts) + 1
    specials = _no_specials(k)
    # one deliberate overpayment: an extra payment on a fully paid ledger, after its last one
    paid_in_full = np.flatnonzero(full & (counts > 0) & (room > 30))
    if len(paid_in_full):
        j = int(rng.choice(paid_in_full))
        last_day = day[ledger == j].max()
        ledger, share = np.append(ledger, j), np.append(share, max(owed[j] // 10, 10_000))
        day, seq = np.append(day, min(last_day + 15, ctx.today)), np.append(seq, counts[j] + 1)
        specials = np.append(specials, np.array([PAYMENT_EXCEEDS_OWED], dtype=object))
    ledger_nos = list(reg["ledger_no"][ledger])
    depts = reg["dept"][ledger]
    # one payment on a ledger item no file holds (yet): it waits in quarantine
    stray, year = str(reg["dept"][0]), ctx.as_of.year
    ledger_nos.append(f"QQ-{stray.upper()}-{year}-{ctx.counters[(stray, 'ledger', year)] + 501:05d}")
    share, day, seq = np.append(share, 50_000), np.append(day, ctx.today - 3), np.append(seq, 1)
    specials = np.append(specials, np.array([REFERS_TO_UNKNOWN], dtype=object))
    depts = np.append(depts, stray)
    ledger_no = pa.array(ledger_nos, pa.string())
    chunk = Chunk({"payment_no": _cat(ledger_no, "-", _ints(seq, 2)), "ledger_no": ledger_no,
                   "payment_date": _date_col(day), "amount": _yuan_col(share)},
                  day, specials, {"dept": depts})
    return _by_department(chunk, chunk.reg["dept"])


def build_feedback(ctx: Context, n: int) -> dict[str, Chunk]:
    """奖惩措施实施反馈 by each measure's implementing department, on entries of the list types it covers."""
    rng, reg = ctx.rng, ctx.registry["list_entry"]
    if not len(reg):
        return {}
    measures = ctx.catalog.measures
    codes = list(MEASURE_WEIGHTS)
    w = np.array([MEASURE_WEIGHTS[c] for c in codes], dtype=float)
    per_measure = np.maximum(np.round(n * w / w.sum()).astype(int), 3)
    active = np.minimum(reg["end"], ctx.today) >= reg["valid_from"]
    pieces = []
    for code, count in zip(codes, per_measure, strict=True):
        eligible = np.flatnonzero(np.isin(reg["list_type"], measures[code].list_types) & active)
        if not len(eligible):
            continue
        idx = eligible[rng.integers(0, len(eligible), count)]
        action = _between(rng, reg["valid_from"][idx], np.minimum(reg["end"][idx], ctx.today))
        dept = measures[code].implementing_dept
        name, uscc = ctx.dept(dept)
        pieces.append(Chunk({**ctx.subjects(reg["subj"][idx]),
                             "measure_code": ctx.const(code, count),
                             "basis_decision_no": pa.array(list(reg["decision_no"][idx]), pa.string()),
                             "implementing_unit": ctx.const(name, count),
                             "implementing_unit_uscc": ctx.const(uscc, count),
                             "action_date": _date_col(action),
                             "result": _pick(rng, RESULT, count)},
                            action, _no_specials(count), {"dept": np.full(count, dept)}))
    chunk = _concat_chunks(pieces)
    by_dept = _by_department(chunk, chunk.reg["dept"])
    for dept, part in by_dept.items():
        part.cols["feedback_no"] = _cat("FK-", dept.upper(), "-", _ints(_years(part.day)), "-",
                                        _ints(ctx.numbers((dept, "feedback"), part.day), 6))
    return by_dept


def _concat_chunks(chunks: list[Chunk]) -> Chunk:
    chunks = [c for c in chunks if c.n]
    keys = list(chunks[0].cols)
    return Chunk({k: pa.concat_arrays([c.cols[k].cast(chunks[0].cols[k].type) for c in chunks]) for k in keys},
                 np.concatenate([c.day for c in chunks]), np.concatenate([c.special for c in chunks]),
                 {k: np.concatenate([c.reg[k] for c in chunks]) for k in chunks[0].reg})


def _by_department(chunk: Chunk, depts: np.ndarray) -> dict[str, Chunk]:
    out = {}
    for dept in sorted(set(depts)):
        rows = np.flatnonzero(depts == dept)
        out[dept] = chunk.take(rows[np.argsort(chunk.day[rows], kind="stable")])
    return out


PRIMARY_BUILDERS: dict[str, Callable[[Context, str, int, int, int], Chunk]] = {
    "admin_penalty": build_penalties, "admin_license": build_licences, "list_entry": build_list_entries,
    "other_dishonesty": build_other_dishonesty, "debt_ledger": build_debt_ledger, "commitment": build_commitments,
}
DEPENDENT_BUILDERS: dict[str, Callable[[Context, int], dict[str, Chunk]]] = {
    "list_removal": build_removals, "repair": build_repairs, "debt_payment": build_payments,
    "discipline_feedback": build_feedback,
}
# Order matters: what is referred to is generated first.
ORDER = ("admin_penalty", "admin_license", "list_entry", "other_dishonesty", "debt_ledger", "commitment",
         "list_removal", "repair", "debt_payment", "discipline_feedback")
REGISTERED = {"admin_penalty", "list_entry", "other_dishonesty", "debt_ledger"}


# ================================================================ formatting, faults and writing


def _format_table(rt: RecordType, chunk: Chunk, style: Style, rng: np.random.Generator,
                  keep: frozenset[str] = frozenset()) -> pa.Table:
    """Typed chunk → all-string table in canonical column order, as the department's system exports it."""
    cols: dict[str, pa.Array] = {}
    for f in rt.fields:
        arr = chunk.cols.get(f.name)
        if arr is None:
            arr = pa.nulls(chunk.n, pa.string())
        elif f.type == "date":
            arr = _format_dates(arr, style.dates, rng)
        elif f.type == "amount":
            arr = _format_wan(arr, style.fixed4)
        elif f.type == "enum_list":
            arr = pc.replace_substring(arr, "|", style.separator)
        elif arr.type != pa.string():
            arr = pc.cast(arr, pa.string())
        if style.omit_empty and f.name in OPTIONAL_OMITTABLE - keep and arr.null_count == len(arr):
            continue
        cols[f.name] = arr
    return pa.table(cols)


def _header(rt: RecordType, name: str, style: Style) -> str:
    f = rt.field(name)
    text = {"zh": f.zh, "code": f.code or f.zh, "name": f.name}[style.headers]
    if style.alias and name == "subject_name" and style.headers != "name" and rt.code in {
            "list_entry", "list_removal", "repair", "discipline_feedback"}:
        text = "主体名称"
    if style.ascii_brackets:
        text = text.replace("（", "(").replace("）", ")")
    if style.spaces:
        text = f" {text} "
    return text


def _encode_csv(table: pa.Table, style: Style) -> bytes:
    buf = io.BytesIO()
    pacsv.write_csv(table, buf)
    data = buf.getvalue()
    if style.encoding == "gb18030":
        return data.decode("utf-8").encode("gb18030")
    if style.encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + data
    return data


def _write_xlsx(path: Path, table: pa.Table, style: Style, sheet_title: str, stamp: dt.datetime) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    wb.properties.created = wb.properties.modified = stamp
    ws = wb.create_sheet(sheet_title)
    if style.blank_first_row:
        ws.append([])
    ws.append(table.column_names)
    columns = [c.to_pylist() for c in table.columns]
    for row in zip(*columns, strict=True):  # XLSX files are small (≤ 5,000 rows)
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    # zip entries and docProps carry the time of writing: pin them so the same seed gives the same bytes
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode(),
                              data)
            pinned = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            pinned.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(pinned, data)


def _parse_day(text: str) -> int | None:
    for fmt in DATE_FORMATS.values():
        try:
            return _days(dt.datetime.strptime(text, fmt).date())
        except (TypeError, ValueError):
            continue
    return None


class Writer:
    """Names, styles, breaks and writes files; keeps the manifests."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.inbox = ctx.home / "inbox"
        self.names: dict[str, set[str]] = defaultdict(set)
        self.name_pattern: dict[tuple[str, str], int] = {}
        self.quarantine: list[tuple[str, str, int, str]] = []
        self.files: list[dict] = []
        self.kept: dict[tuple[str, str], tuple[pa.Table, np.ndarray, Style, Path]] = {}
        self.xlsx_left = 8
        self.unplaced: list[tuple[str, str]] = []  # planned faults no row of the file could carry

    # -------------------------------------------------------- styles and names

    def style(self, rt: str, n: int, csv_only: bool = False) -> Style:
        rng = self.ctx.rng
        xlsx = not csv_only and n <= MAX_XLSX_ROWS and self.xlsx_left > 0 and rng.random() < 0.25
        if xlsx:
            self.xlsx_left -= 1
        return Style(
            fmt="xlsx" if xlsx else "csv",
            encoding="utf-8" if xlsx else ENCODINGS[_choice(rng, ENCODINGS, 1)[0]][0],
            headers=HEADER_STYLES[_choice(rng, HEADER_STYLES, 1)[0]][0],
            spaces=rng.random() < 0.2, ascii_brackets=rng.random() < 0.3, alias=rng.random() < 0.5,
            dates=DATE_STYLES[_choice(rng, DATE_STYLES, 1)[0]][0], fixed4=rng.random() < 0.3,
            serial=rng.random() < 0.2, blank_first_row=rng.random() < 0.5, omit_empty=rng.random() < 0.5,
            separator=str(rng.choice(["；", "、", "；", ";"])),
        )

    def file_name(self, rt: str, dept: str, last_day: int, suffix: str) -> str:
        pattern = self.name_pattern.setdefault((rt, dept), int(self.ctx.rng.integers(0, 3)))
        d = _date(last_day)
        stem = [f"{rt}_{d:%Y-%m}", f"{rt}-{d:%Y%m}-{dept}", f"{rt}_{dept}_{d:%Y%m%d}"][pattern]
        name, k = f"{stem}{suffix}", 2
        while name in self.names[dept]:
            name, k = f"{stem}_{k}{suffix}", k + 1
        self.names[dept].add(name)
        return name

    # -------------------------------------------------------- deliberate faults

    def break_rows(self, rt: RecordType, table: pa.Table, rules: np.ndarray, breaks: list[tuple[str, str]],
                   style: Style) -> pa.Table:
        """Edit a few rows so each breaks exactly the one planned rule; record which."""
        if not breaks:
            return table
        rng = self.ctx.rng
        free = np.flatnonzero(_is_none(rules))
        candidates = rng.permutation(free)
        edits: dict[int, dict] = {}
        cursor = 0
        for rule, variant in breaks:
            for _ in range(40):
                if cursor >= len(candidates):
                    break
                pos = int(candidates[cursor])
                cursor += 1
                row = table.slice(pos, 1).to_pylist()[0]
                if self.corrupt(rt, row, rule, variant, style):
                    edits[pos] = row
                    rules[pos] = rule
                    break
            else:
                self.unplaced.append((rt.code, rule))
        if not edits:
            return table
        positions = np.array(sorted(edits))
        cols = {}
        for name in table.column_names:
            mask = np.zeros(table.num_rows, dtype=bool)
            mask[positions] = True
            values = pa.array([edits[p].get(name) for p in positions], pa.string())
            cols[name] = pc.replace_with_mask(table.column(name).combine_chunks(), pa.array(mask), values)
        return pa.table(cols)

    def corrupt(self, rt: RecordType, row: dict, rule: str, variant: str, style: Style) -> bool:
        """Make `row` break `rule` (and nothing else); False if this row cannot serve."""
        ctx, rng = self.ctx, self.ctx.rng
        exp = ctx.error_rules[rt.code][rule]
        kind, kw = exp["type"], exp["kwargs"]
        col = kw.get("column")
        if col and col not in row:
            return False

        def fmt(day: int) -> str:
            return _date(day).strftime(DATE_FORMATS["iso" if style.dates == "mixed" else style.dates])

        def day_of(name: str) -> int | None:
            value = row.get(name)
            return _parse_day(value) if value else None

        if kind == "expect_column_values_to_not_be_null":
            if not row.get(col):
                return False
            row[col] = None
        elif kind in ("expect_column_values_to_be_in_set", "expect_column_values_to_be_delimited_subset_of_set"):
            if col == "id_type":
                self._as_person(row)
            bad = BAD_STATUS.get(rt.code, ()) if col == "status" else BAD_CODES.get(col, ("未知",))
            if variant == "unknown_code":
                bad = ("env_black",)
            if col == "penalty_types" and not row.get("fine_amount"):  # 罚款 would then need a fine amount
                bad = tuple(b for b in bad if "罚款" not in b)
            row[col] = str(rng.choice(bad))
        elif kind == "expect_column_values_to_be_valid_uscc":
            if col == "uscc" and not self._as_company(row):
                return False
            row[col] = _bad_uscc(row[col], variant or str(rng.choice(["wrong_check", "letter_o", "short"])))
        elif kind == "expect_column_values_to_be_valid_resident_id":
            self._as_person(row)
            row[col] = _bad_resident_id(row[col], variant or str(rng.choice(["wrong_check", "impossible_birth"])))
        elif kind == "expect_column_values_to_be_credit_date":
            row[col] = str(rng.choice(BAD_DATES))
        elif kind == "expect_column_values_to_be_credit_date_not_after":
            new = ctx.today + int(rng.integers(1, 200))
            row[col] = fmt(new)
            for other in rt.rules:
                if other.kind == "date_order" and other.earlier == col and other.later and row.get(other.later):
                    later = day_of(other.later)
                    if later is None or later < new:
                        row[other.later] = None if not rt.field(other.later).required else fmt(new + 365)
        elif kind == "expect_column_values_to_be_decimal_amount":
            strict = kw.get("strict_min", False)
            row[col] = str(rng.choice(["0", "-5000"] if strict else ["-0.5", "伍仟元"]))
        elif kind == "expect_column_values_to_match_regex":
            if row.get("debtor_type") in ("机关", "事业单位"):
                return False
            row[col] = "三十"
        elif kind == "expect_column_values_to_be_at_most_when":
            if row.get(kw["when_column"]) not in kw["when_in"]:
                return False
            row[col] = str(int(kw["max_value"]) + int(rng.choice([30, 60, 120])))
        elif kind == "expect_column_values_to_not_be_null_when":
            when = kw["when_column"]
            if when == "subject_category":
                self._as_person(row)
            elif "when_contains" in kw:
                if kw["when_contains"] not in (row.get(when) or ""):
                    return False
            else:
                row[when] = kw["when_in"][0]
            row[col] = None
        elif kind == "expect_multicolumn_values_to_have_one_present_when":
            if not self._as_company(row):
                return False
            for c in kw["column_list"]:
                if c in row:
                    row[c] = None
        elif kind == "expect_column_pair_credit_dates_to_be_in_order":
            a, b = kw["column_A"], kw["column_B"]
            if a not in row or b not in row:
                return False
            first = day_of(a)
            if first is None:
                return False
            gap = int(rng.integers(1, 60))
            if rt.field(a).not_future and rt.field(b).not_future:  # repair: the application moves after
                second = day_of(b)
                if second is None or second + 1 > ctx.today:
                    return False
                row[a] = fmt(min(second + gap, ctx.today))
            else:
                row[b] = fmt(first - gap)
        else:
            return False
        return True

    def _as_person(self, row: dict) -> None:
        """Swap the subject for a natural person holding a resident ID (same file, same record otherwise)."""
        if row.get("subject_category") == "自然人" and row.get("id_type") == "身份证":
            return
        pool = self.ctx.pool
        person = pool.row(int(self.ctx.rng.choice(pool.id_card_persons)))
        for k, v in person.items():
            if k in row:
                row[k] = v

    def _as_company(self, row: dict) -> bool:
        if row.get("subject_category") in ("法人及非法人组织",) and row.get("uscc"):
            return True
        if "uscc" not in row:
            return False
        pool = self.ctx.pool
        company = pool.row(int(self.ctx.rng.choice(pool.uscc_companies)))
        for k, v in company.items():
            if k in row:
                row[k] = v
        return True

    # -------------------------------------------------------- writing

    def write(self, rt_code: str, dept: str, chunk: Chunk, breaks: list[tuple[str, str]],
              keep: bool = False, csv_only: bool = False, role: str = "normal") -> pa.Table:
        ctx = self.ctx
        rt = ctx.catalog.record_types[rt_code]
        style = self.style(rt_code, chunk.n, csv_only)
        faulty = frozenset(ctx.error_rules[rt_code][rule]["kwargs"].get("column") for rule, _ in breaks)
        table = _format_table(rt, chunk, style, ctx.rng, keep=faulty)
        rules = chunk.special.copy()
        table = self.break_rows(rt, table, rules, breaks, style)
        suffix = ".xlsx" if style.fmt == "xlsx" else ".csv"
        name = self.file_name(rt_code, dept, int(chunk.day.max()) if chunk.n else ctx.today, suffix)
        path = self.emit(rt, dept, name, table, style, role)
        for pos in np.flatnonzero(~_is_none(rules)):
            self.quarantine.append((dept, name, int(pos) + 1, str(rules[pos])))
        if rt_code in REGISTERED:
            good = _is_none(rules)
            ctx.registry[rt_code].add({k: v[good] for k, v in chunk.reg.items()})
        if keep:
            self.kept[(rt_code, dept)] = (table, rules, style, path)
        return table

    def emit(self, rt: RecordType, dept: str, name: str, table: pa.Table, style: Style, role: str,
             rows: int | None = None) -> Path:
        """Rename headers per the file's style and write it."""
        folder = self.inbox / dept
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        out = table.rename_columns([_header(rt, c, style) for c in table.column_names])
        if style.serial:
            out = out.add_column(0, SERIAL_COLUMN, _ints(np.arange(1, out.num_rows + 1)))
        if style.fmt == "xlsx":
            _write_xlsx(path, out, style, rt.zh, dt.datetime.combine(self.ctx.as_of, dt.time(9)))
        else:
            path.write_bytes(_encode_csv(out, style))
        self.record_file(dept, name, rt.code, style, table.num_rows if rows is None else rows, role)
        return path

    def record_file(self, dept: str, name: str, rt: str | None, style: Style | None, rows: int, role: str,
                    encoding: str | None = None) -> None:
        self.files.append({"department": dept, "file_name": name, "record_type": rt or "",
                           "format": style.fmt if style else "csv",
                           "encoding": encoding or (style.encoding if style and style.fmt == "csv" else ""),
                           "header_style": style.headers if style else "", "date_style": style.dates if style else "",
                           "rows": rows, "role": role})


def _bad_uscc(code: str, variant: str) -> str:
    if variant == "letter_o":  # the letter O where the clerk meant 0: never corrected, always rejected
        pos = 8 + next((i for i, c in enumerate(code[8:16]) if c == "0"), 2)
        return code[:pos] + "O" + code[pos + 1:]
    if variant == "short":
        return code[:17]
    right = code[17]
    return code[:17] + next(c for c in USCC_ALPHABET[::-1] if c != right)


def _bad_resident_id(number: str, variant: str) -> str:
    if variant == "impossible_birth":  # 30 February, with a correct check character
        body = number[:6] + number[6:10] + "0230" + number[14:17]
        return body + resident_id_check_char(body)
    right = number[17]
    return number[:17] + next(c for c in RESIDENT_ID_CHECK if c != right)


# ================================================================ the plan: volumes, files and faults


def _split(n: int) -> list[int]:
    """Rows of one department's record type → file sizes (≤ MAX_FILE_ROWS each, a few files for big groups)."""
    if n <= 0:
        return []
    files = max(math.ceil(n / MAX_FILE_ROWS), min(6, math.ceil(n / 25_000)), 1)
    base = n // files
    return [base + (1 if i < n % files else 0) for i in range(files)]


def _group_sizes(ctx: Context) -> dict[str, dict[str, int]]:
    rows = ctx.rows
    sizes: dict[str, dict[str, int]] = {}
    for rt, shares in DEPARTMENT_SHARES.items():
        total = rows * RECORD_SHARES[rt]
        sizes[rt] = {d: max(int(round(total * s)), 5) for d, s in shares.items()}
    entries: dict[str, float] = defaultdict(float)
    for code, share in LIST_TYPE_SHARES.items():
        entries[ctx.catalog.list_types[code].issuer_dept] += share
    sizes["list_entry"] = {d: max(int(round(rows * RECORD_SHARES["list_entry"] * s)), 6)
                           for d, s in sorted(entries.items())}
    for rt in DEPENDENT_BUILDERS:
        sizes[rt] = {"*": max(int(round(rows * RECORD_SHARES[rt])), 12)}
    return sizes


def _plan_breaks(ctx: Context, sizes: dict[str, dict[str, int]]) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """Which rows break which rule: the named faults first, then every other error rule round-robin."""
    rng = ctx.rng
    budget = max(len(MUST_BREAK), MIN_BROKEN, int(round(ctx.rows * BROKEN_SHARE)))
    plan = [b for b in MUST_BREAK if b[1] in ctx.error_rules[b[0]]]
    pools = {rt: [r for r in ctx.error_rules[rt] if r not in UNBREAKABLE.get(rt, set())] for rt in ORDER}
    queues = {rt: list(rng.permutation(pools[rt])) for rt in ORDER}
    while len(plan) < budget:
        for rt in ORDER:
            if not queues[rt]:
                queues[rt] = list(rng.permutation(pools[rt]))
            plan.append((rt, str(queues[rt].pop()), ""))
            if len(plan) >= budget:
                break
    out: dict[str, dict[str, list[tuple[str, str]]]] = {rt: defaultdict(list) for rt in ORDER}
    for rt, rule, variant in plan:
        depts = [d for d in sizes[rt] if d in BREAK_DEPARTMENTS.get((rt, rule), sizes[rt])]
        w = np.array([sizes[rt][d] for d in depts], dtype=float)
        dept = depts[int(rng.choice(len(depts), p=w / w.sum()))]
        out[rt][dept].append((rule, variant))
    return out


def _spread(rng: np.random.Generator, breaks: list, sizes: list[int], blocked: set[int]) -> list[list]:
    """Share a group's faults among its files in proportion to their rows (never into a blocked file)."""
    out: list[list] = [[] for _ in sizes]
    w = np.array([0 if i in blocked else s for i, s in enumerate(sizes)], dtype=float)
    if not breaks or w.sum() == 0:
        return out
    for b in breaks:
        out[int(rng.choice(len(sizes), p=w / w.sum()))].append(b)
    return out


# ================================================================ whole-file faults, duplicates, corrections


def _write_correction(writer: Writer, dept: str) -> None:
    """A later file re-submitting ~20 penalty keys with a changed fine and content: the latest batch wins."""
    kept = writer.kept.get(("admin_penalty", dept))
    if not kept:
        return
    table, rules, style, original = kept
    fines = table.column("fine_amount").to_pylist() if "fine_amount" in table.column_names else []
    good = [i for i, r in enumerate(rules) if r is None and i < len(fines) and fines[i]]
    if not good:
        return
    picked = sorted(writer.ctx.rng.choice(good, min(20, len(good)), replace=False).tolist())
    rows = table.take(pa.array(picked)).to_pylist()
    for row in rows:
        old = round(float(row["fine_amount"]) * 10000)
        new = old + 1000 if old < 50000 else old // 2 // 100 * 100
        row["fine_amount"] = f"{new / 10000:.4f}" if style.fixed4 else _wan_text(new)
        content = row["penalty_content"] or ""
        old_text, new_text = f"{old:,}", f"{new:,}"
        row["penalty_content"] = (content.replace(old_text, new_text) if old_text in content
                                  else f"{content}（更正后罚款人民币{new_text}元）")
        row["remarks"] = "更正：罚款金额" if "remarks" in row else None
    fixed = pa.Table.from_pylist(rows, schema=table.schema)
    name = original.stem + "_correction" + original.suffix
    writer.names[dept].add(name)
    rt = writer.ctx.catalog.record_types["admin_penalty"]
    path = writer.emit(rt, dept, name, fixed, style, "correction")
    later = original.stat().st_mtime + 3600
    os.utime(path, (later, later))


def _write_duplicate(writer: Writer) -> None:
    """The same licence file sent twice under another name: same content, one batch."""
    kept = [(k, v) for k, v in writer.kept.items() if k[0] == "admin_license"]
    if not kept:
        return
    (rt, dept), (table, _, style, path) = kept[0]
    copy = path.with_name(path.stem + "_resend" + path.suffix)
    shutil.copyfile(path, copy)
    writer.names[dept].add(copy.name)
    writer.record_file(dept, copy.name, rt, style, table.num_rows, "duplicate")


def _write_rejected(writer: Writer) -> list[tuple[str, str, str]]:
    """Files a pass must reject whole: unknown record type, unknown department, unreadable bytes, missing column."""
    ctx = writer.ctx
    rt = ctx.catalog.record_types["admin_penalty"]
    out = []

    def penalty_table(dept: str, n: int = 12) -> tuple[pa.Table, Style]:
        chunk = build_penalties(ctx, dept, n, ctx.today - 200, ctx.today - 1)
        style = replace(writer.style("admin_penalty", n, csv_only=True), serial=False, encoding="utf-8")
        return _format_table(rt, chunk, style, ctx.rng), style

    table, style = penalty_table("scjg")
    writer.emit(rt, "scjg", "penalties_misc.csv", table, style, "rejected")
    out.append(("scjg", "penalties_misc.csv", FILE_UNKNOWN_RECORD_TYPE))

    table, style = penalty_table("scjg")
    writer.emit(rt, UNKNOWN_DEPARTMENT, f"admin_penalty_{ctx.as_of:%Y-%m}.csv", table, style, "rejected")
    out.append((UNKNOWN_DEPARTMENT, f"admin_penalty_{ctx.as_of:%Y-%m}.csv", FILE_UNKNOWN_DEPARTMENT))

    table, style = penalty_table("sthj")
    missing = table.drop_columns(["legal_basis"])
    name = f"admin_penalty_{ctx.as_of:%Y-%m}_nobasis.csv"
    writer.emit(rt, "sthj", name, missing, style, "rejected")
    out.append(("sthj", name, FILE_MISSING_COLUMNS))

    # exported as UTF-16 without a BOM: neither UTF-8 nor GB18030
    lic = ctx.catalog.record_types["admin_license"]
    chunk = build_licences(ctx, "xzsp", 10, ctx.today - 100, ctx.today - 1)
    style = replace(writer.style("admin_license", 10, csv_only=True), serial=False, encoding="utf-8")
    table = _format_table(lic, chunk, style, ctx.rng)
    table = table.rename_columns([_header(lic, c, style) for c in table.column_names])
    buf = io.BytesIO()
    pacsv.write_csv(table, buf)
    data = buf.getvalue().decode("utf-8").encode("utf-16-le")
    for enc in ("utf-8", "gb18030"):
        try:
            data.decode(enc)
            data = b"\xff\xfe\xff" + data  # make sure: 0xFF starts nothing in either encoding
        except UnicodeDecodeError:
            pass
    name = f"admin_license_{ctx.as_of:%Y-%m}_export.csv"
    (writer.inbox / "xzsp").mkdir(parents=True, exist_ok=True)
    (writer.inbox / "xzsp" / name).write_bytes(data)
    writer.names["xzsp"].add(name)
    writer.record_file("xzsp", name, "admin_license", style, table.num_rows, "rejected", encoding="utf-16-le")
    out.append(("xzsp", name, FILE_ENCODING))
    return out


# ================================================================ entry point


def _error_rules(catalog: Catalog) -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for rt in catalog.record_types:
        suite = load_suite(rt)
        out[rt] = {e["meta"]["rule"]: e for e in suite["expectations"] if e["meta"]["severity"] == "error"}
    return out


def generate(home: Path, rows: int, as_of: dt.date, seed: int = 7) -> DemoSummary:
    """Write a city's worth of department submissions (about `rows` data rows) into home/inbox/, plus the
    manifests of deliberate faults in home/demo/. Deterministic for a given seed."""
    home = Path(home)
    rng = np.random.default_rng(seed)
    catalog = load_catalog()
    ctx = Context(home=home, rows=rows, as_of=as_of, rng=rng, catalog=catalog,
                  pool=_build_pool(rng, rows, as_of), debtors=_build_debtors(rng),
                  error_rules=_error_rules(catalog))
    writer = Writer(ctx)
    sizes = _group_sizes(ctx)
    breaks = _plan_breaks(ctx, sizes)
    # the file copied byte for byte must hold no faults (it is one batch with its original)
    licence_files = {d: _split(n) for d, n in sizes["admin_license"].items()}
    dup_dept = min(licence_files, key=lambda d: (min(licence_files[d]), d))
    dup_index = int(np.argmin(licence_files[dup_dept]))
    correction_dept = "scjg"
    correction_index = int(np.argmax(_split(sizes["admin_penalty"][correction_dept])))

    for rt in ORDER:
        if rt in PRIMARY_BUILDERS:
            for dept, n in sizes[rt].items():
                files = _split(n)
                blocked = {dup_index} if (rt == "admin_license" and dept == dup_dept) else set()
                shares = _spread(rng, breaks[rt].get(dept, []), files, blocked)
                span = ctx.today - ctx.first_day
                for i, size in enumerate(files):
                    lo = ctx.first_day + span * i // len(files)
                    hi = ctx.first_day + span * (i + 1) // len(files) - (0 if i == len(files) - 1 else 1)
                    chunk = PRIMARY_BUILDERS[rt](ctx, dept, size, lo, hi)
                    keep = (rt == "admin_license" and dept == dup_dept and i == dup_index) or (
                        rt == "admin_penalty" and dept == correction_dept and i == correction_index)
                    writer.write(rt, dept, chunk, shares[i], keep=keep,
                                 csv_only=rt == "admin_penalty" and keep)
        else:
            groups = DEPENDENT_BUILDERS[rt](ctx, sizes[rt]["*"])
            parts = [(dept, size) for dept, chunk in groups.items() for size in _split(chunk.n)]
            shares = _spread(rng, [b for bs in breaks[rt].values() for b in bs], [s for _, s in parts], set())
            start: dict[str, int] = defaultdict(int)
            for (dept, size), mine in zip(parts, shares, strict=True):
                writer.write(rt, dept, groups[dept].take(np.arange(start[dept], start[dept] + size)), mine)
                start[dept] += size

    _write_correction(writer, correction_dept)
    _write_duplicate(writer)
    rejected = _write_rejected(writer)
    return _write_manifests(writer, rejected)


def _write_manifests(writer: Writer, rejected: list[tuple[str, str, str]]) -> DemoSummary:
    home = writer.ctx.home
    demo = home / "demo"
    demo.mkdir(parents=True, exist_ok=True)
    quarantine = demo / "expected_quarantine.csv"
    with open(quarantine, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["department", "file_name", "row_number", "rule"])
        w.writerows(sorted(writer.quarantine))
    rejected_path = demo / "expected_rejected_files.csv"
    with open(rejected_path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["department", "file_name", "reason_kind"])
        w.writerows(sorted(rejected))
    with open(demo / "files.csv", "w", encoding="utf-8", newline="") as f:
        listing = csv.DictWriter(f, fieldnames=list(writer.files[0]))
        listing.writeheader()
        listing.writerows(sorted(writer.files, key=lambda r: (r["department"], r["file_name"])))
    per_type: dict[str, int] = defaultdict(int)
    for r in writer.files:
        if r["role"] in ("normal", "correction"):
            per_type[r["record_type"]] += r["rows"]
    paths = [home / "inbox" / r["department"] / r["file_name"] for r in writer.files]
    rejected_paths = [home / "inbox" / d / n for d, n, _ in rejected]
    return DemoSummary(files=sorted(paths), rows_per_record_type=dict(sorted(per_type.items())),
                       broken_rows=len(writer.quarantine), rejected_files=rejected_paths,
                       expected_quarantine=quarantine, expected_rejected_files=rejected_path)



