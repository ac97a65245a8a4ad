"""Build the on-screen keyboard's pinyin lexicon, kiosk/ime/lexicon.tsv.gz (committed; the kiosk never runs this).

Sources, both kept packages: pypinyin (its phrase and single-character pinyin data, and the pinyin of every word)
and jieba's dictionary (word frequencies). Run after changing either package or the domain list below:

    .venv/bin/pip install jieba==0.42.1   # build-time only (the `imedata` extra)
    .venv/bin/python tools/build_ime_data.py

Output: gzip'd UTF-8 text. Line 1 is a header, line 2 the syllables, then one line per pinyin key (syllables
joined by "'", sorted): key TAB words joined by "," TAB frequencies joined by ",", words in descending frequency.
The build is deterministic (same packages → same bytes).
"""
from __future__ import annotations

import argparse
import gzip
import math
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "kiosk" / "ime" / "lexicon.tsv.gz"
HEADER = "govkiosk-ime-lexicon 1"

MIN_WORD_FREQ = 5  # jieba words rarer than this are mostly names and noise
MAX_WORD_CHARS = 6
PHRASE_ONLY_FREQ = 2  # a pypinyin phrase that jieba does not count
DOMAIN_FREQ = 60000  # above 先 (25 558) and 县 (25 322): a service-hall word comes first for its pinyin
PLACE_FREQ = 30000

# Government-service vocabulary the citizen types at a kiosk. "word" or "word|pin yin" where pypinyin would
# guess a reading wrong.
DOMAIN_WORDS = """
养老保险 医疗保险 失业保险 工伤保险 生育保险 社会保险 社保 社保卡 医保 医保卡 公积金 住房公积金 不动产 不动产登记
营业执照 身份证 居民身份证 临时身份证 居住证 户口 户口簿 户口本 户籍 结婚证 离婚证 出生证明 出生医学证明 驾驶证 行驶证
护照 港澳通行证 台湾通行证 残疾证 老年证 低保 最低生活保障 退休 退休金 养老金 缴费 缴费档次 申领 补领 换领 补办
办理 登记 变更 注销 备案 审批 申请 申请人 代办 代办人 委托 委托书 邮寄 自取 地址 居住地址 联系电话 手机号码
工作单位 单位名称 企业名称 统一社会信用代码 法定代表人 经营范围 注册资本 个体工商户 有限公司 有限责任公司 税务 发票
纳税 个人所得税 房产证 产权证 租赁合同 购房合同 学历证明 毕业证 学位证 政务服务 便民服务中心 社区 村委会 居委会
街道办 街道办事处 派出所 公安局 人社局 民政局 税务局 市场监管局 不动产登记中心 政务服务中心 新生儿 独生子女
申领事由 遗失 损坏 到期换领 有效期 签发机关 好差评 投诉 建议 楼号 门牌号 单元号 房间号 小区 邮政编码
""".split()

SHAANXI_PLACES = """
西安 西安市 陕西 陕西省 宝鸡 宝鸡市 咸阳 咸阳市 铜川 铜川市 渭南 渭南市 延安 延安市 榆林 榆林市 汉中 汉中市 安康 安康市
商洛 商洛市 杨凌 西咸新区
新城区 碑林区 莲湖区 雁塔区 未央区 灞桥区 长安区|chang an qu 临潼区 阎良区 高陵区 鄠邑区 鄠邑 户县 蓝田县 蓝田 周至县 高新区 曲江新区
浐灞 经开区 国际港务区 航天基地 沣东新城 沣西新城
长安|chang an 长安路|chang an lu 长安街道|chang an jie dao 东大街 西大街 南大街 北大街 钟楼 鼓楼 大雁塔 小雁塔 小寨 曲江
含光路 朱雀大街 太白路 友谊路 科技路 高新路 唐延路 丈八路 凤城一路 凤城二路 凤城三路 凤城四路 凤城五路 未央路 太华路
长乐路|chang le lu 咸宁路 东二环 西二环 南二环 北二环 三环 电子正街 翠华路 雁塔路 文艺路 南稍门 北关 土门 纺织城 韦曲
郭杜 大明宫 张家堡 北大街街道 小寨路街道 长延堡街道 电子城街道 等驾坡街道 曲江街道 大雁塔街道 丈八沟街道 鱼化寨街道
张家堡街道 未央宫街道 谭家街道 纺织城街道 解放门街道 西一路街道 柏树林街道 南院门街道 太乙路街道 文艺路街道
长安路街道|chang an lu jie dao 张家村街道 含光路 劳动路 桃园路 枣园 红庙坡 汉城街道 六村堡街道 徐家湾街道
""".split()

# A government kiosk never offers an insult as a candidate: words containing these are left out of the lexicon.
BLOCKED = ("他妈", "妈的", "妈逼", "婊", "鸡巴", "几把", "煞笔", "傻逼", "傻比", "沙比", "操你", "草你", "日你", "狗日",
           "屌", "屄", "王八蛋", "贱人", "杂种", "滚蛋", "尼玛", "你妹")


def _blocked(word: str) -> bool:
    return any(b in word for b in BLOCKED)


def _gb_chars() -> set[str]:
    chars = set()
    for hi in range(0xB0, 0xF8):  # GB 2312 level 1 and 2 hanzi rows
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes((hi, lo)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def _jieba_freqs() -> dict[str, int]:
    try:
        import jieba
    except ImportError:
        sys.exit("jieba is needed to build the lexicon: .venv/bin/pip install jieba==0.42.1")
    path = Path(jieba.__file__).with_name("dict.txt")
    freqs: dict[str, int] = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                freqs[parts[0]] = max(freqs.get(parts[0], 0), int(parts[1]))
    return freqs


def build(out: Path) -> dict:
    from pypinyin import Style, lazy_pinyin
    from pypinyin.phrases_dict import phrases_dict
    from pypinyin.pinyin_dict import pinyin_dict

    gb = _gb_chars()
    jieba = _jieba_freqs()

    def parse(item: str) -> tuple[str, list[str] | None]:
        word, _, py = item.partition("|")
        return word, (py.split() if py else None)

    domain = [parse(x) for x in DOMAIN_WORDS] + [parse(x) for x in SHAANXI_PLACES]
    allowed = gb | {ch for word, _ in domain for ch in word}

    # Valid syllables: every normal-style reading of an allowed character (without the interjections m, n, ng…).
    def char_readings(ch: str) -> list[str]:
        code = pinyin_dict.get(ord(ch))
        if not code:
            return []
        out = []
        for r in code.split(","):
            plain = _strip_tone(r)
            if plain and plain not in out:
                out.append(plain)
        return out

    readings = {ch: char_readings(ch) for ch in sorted(allowed)}
    syllables = sorted({s for rs in readings.values() for s in rs if _plausible(s)})
    syl_set = set(syllables)

    words: dict[tuple[str, ...], dict[str, int]] = defaultdict(dict)
    char_reading_weight: dict[tuple[str, str], float] = defaultdict(float)

    def add(word: str, key: list[str], freq: int) -> None:
        if not key or len(key) != len(word) or any(s not in syl_set for s in key) or _blocked(word):
            return
        bucket = words[tuple(key)]
        bucket[word] = max(bucket.get(word, 0), freq)

    candidates = {w: f for w, f in jieba.items() if 2 <= len(w) <= MAX_WORD_CHARS and f >= MIN_WORD_FREQ}
    for phrase in phrases_dict:
        if 2 <= len(phrase) <= MAX_WORD_CHARS and phrase not in candidates:
            candidates[phrase] = max(jieba.get(phrase, 0), PHRASE_ONLY_FREQ)
    for word in sorted(candidates):
        if not all(ch in gb for ch in word):
            continue
        key = lazy_pinyin(word, style=Style.NORMAL, errors="ignore")
        freq = candidates[word]
        add(word, key, freq)
        if len(key) == len(word):
            for ch, s in zip(word, key):
                char_reading_weight[(ch, s)] += math.log1p(freq)

    places = {parse(x)[0] for x in SHAANXI_PLACES}
    for rank, (word, fixed) in enumerate(domain):
        key = fixed or lazy_pinyin(word, style=Style.NORMAL, errors="ignore")
        base = (PLACE_FREQ if word in places else DOMAIN_FREQ) - rank  # earlier in the list ranks higher
        add(word, key, max(base, jieba.get(word, 0)))

    # Single characters: the character's own count, shared between its readings as the words use them.
    for ch, rs in readings.items():
        rs = [r for r in rs if r in syl_set]
        if not rs:
            continue
        base = jieba.get(ch, 1)
        weights = [char_reading_weight.get((ch, r), 0.0) for r in rs]
        total = sum(weights)
        for i, r in enumerate(rs):
            if total > 0:
                share = weights[i] / total
            else:
                share = 1.0 if i == 0 else 0.1  # pypinyin lists the common reading first
            add(ch, [r], max(1, int(base * max(share, 0.02))))

    lines = [HEADER, " ".join(syllables)]
    n_words = 0
    order = {s: i for i, s in enumerate(syllables)}
    for key in sorted(words, key=lambda k: [order[s] for s in k]):
        bucket = sorted(words[key].items(), key=lambda kv: (-kv[1], kv[0]))
        n_words += len(bucket)
        lines.append("'".join(key) + "\t" + ",".join(w for w, _ in bucket) + "\t" + ",".join(str(f) for _, f in bucket))
    data = ("\n".join(lines) + "\n").encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0, filename="") as gz:
        gz.write(data)
    tmp.replace(out)
    return {"syllables": len(syllables), "keys": len(words), "entries": n_words, "bytes": out.stat().st_size}


_TONES = str.maketrans({
    "ā": "a", "á": "a", "ǎ": "a", "à": "a", "ē": "e", "é": "e", "ě": "e", "è": "e", "ī": "i", "í": "i", "ǐ": "i",
    "ì": "i", "ō": "o", "ó": "o", "ǒ": "o", "ò": "o", "ū": "u", "ú": "u", "ǔ": "u", "ù": "u", "ǖ": "v", "ǘ": "v",
    "ǚ": "v", "ǜ": "v", "ü": "v", "ń": "n", "ň": "n", "ǹ": "n", "ḿ": "m", "ê": "e", "ế": "e", "ề": "e",
})


def _strip_tone(reading: str) -> str:
    plain = reading.translate(_TONES)
    return plain if plain.isascii() and plain.isalpha() else ""


def _plausible(syllable: str) -> bool:
    # Interjection readings (m, n, ng, hm, hng) have no vowel and would turn initials into whole syllables.
    return any(v in syllable for v in "aeiouv")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    stats = build(args.out)
    print(stats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
