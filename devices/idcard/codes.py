"""Code tables printed on the card as codes: gender (GB/T 2261.1) and ethnicity (GB 3304) — reference §6.7."""
from __future__ import annotations

# GB/T 2261.1-2003 人的性别代码
GENDER = {"0": "未知", "1": "男", "2": "女", "9": "未说明"}

# GB 3304-1991 中国各民族名称的罗马字母拼写法和代码 (two-digit codes as stored on the card)
ETHNICITY = {
    "01": "汉", "02": "蒙古", "03": "回", "04": "藏", "05": "维吾尔", "06": "苗", "07": "彝", "08": "壮",
    "09": "布依", "10": "朝鲜", "11": "满", "12": "侗", "13": "瑶", "14": "白", "15": "土家", "16": "哈尼",
    "17": "哈萨克", "18": "傣", "19": "黎", "20": "傈僳", "21": "佤", "22": "畲", "23": "高山", "24": "拉祜",
    "25": "水", "26": "东乡", "27": "纳西", "28": "景颇", "29": "柯尔克孜", "30": "土", "31": "达斡尔", "32": "仫佬",
    "33": "羌", "34": "布朗", "35": "撒拉", "36": "毛南", "37": "仡佬", "38": "锡伯", "39": "阿昌", "40": "普米",
    "41": "塔吉克", "42": "怒", "43": "乌孜别克", "44": "俄罗斯", "45": "鄂温克", "46": "德昂", "47": "保安", "48": "裕固",
    "49": "京", "50": "塔塔尔", "51": "独龙", "52": "鄂伦春", "53": "赫哲", "54": "门巴", "55": "珞巴", "56": "基诺",
    "97": "其他", "98": "外国血统中国籍人士",
}
ETHNICITY_CODES = {name: code for code, name in ETHNICITY.items()}
GENDER_CODES = {name: code for code, name in GENDER.items()}


def gender_name(code: str) -> str:
    """The printed gender; an unknown code comes back as itself, never guessed."""
    return GENDER.get(code, code)


def ethnicity_name(code: str) -> str:
    return ETHNICITY.get(code, code)


# GB 11643-1999 公民身份号码, ISO 7064 MOD 11-2: weights for positions 1..17 and the check characters.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"


def id_check_char(first17: str) -> str:
    """The MOD 11-2 check character for the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit() or not first17.isascii():
        raise ValueError("need exactly 17 ASCII digits")
    return ID_CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS)) % 11]


def id_number_valid(number: str) -> bool:
    """True when an 18-character number carries the right MOD 11-2 check character."""
    if len(number) != 18 or not number[:17].isdigit() or not number[:17].isascii():
        return False
    return id_check_char(number[:17]) == number[17].upper()
