"""The keyboard's pinyin engine: syllables, initials, ranking of the service-hall words, choosing, bad input."""
import gzip

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.ime.composition import MAX_LETTERS, Composition
from kiosk.ime.engine import PinyinEngine
from kiosk.ime.lexicon import DATA_FILE, Lexicon, LexiconError
from kiosk.ime.punctuation import to_chinese


@pytest.fixture(scope="module")
def engine():
    return PinyinEngine()


def texts(engine, letters, n=10):
    return [c.text for c in engine.candidates(letters)[:n]]


def typed(engine, letters):
    comp = Composition(engine)
    for ch in letters:
        assert comp.type(ch)
    return comp


# -- full pinyin and segmentation -----------------------------------------------------------------
@pytest.mark.parametrize("letters, pieces", [
    ("zhongguo", ["zhong", "guo"]),
    ("xian", ["xian"]),
    ("xi'an", ["xi", "an"]),
    ("ylbx", ["y", "l", "b", "x"]),
    ("zhongg", ["zhong", "g"]),
    ("shenfenzheng", ["shen", "fen", "zheng"]),
    ("nver", ["nv", "er"]),
    ("zho", ["zho"]),
])
def test_segmentation(engine, letters, pieces):
    assert engine.segment(letters) == pieces


def test_full_pinyin_phrase_first(engine):
    assert texts(engine, "zhongguo", 1) == ["中国"]
    assert texts(engine, "shenfenzheng", 1) == ["身份证"]
    assert texts(engine, "nihao", 1) == ["你好"]


def test_xian_offers_both_readings(engine):
    first = texts(engine, "xian", 8)
    assert "西安" in first and "先" in first and "现" in first
    # With the apostrophe only the two-syllable reading covers everything.
    cands = engine.candidates("xi'an")
    assert cands[0].text == "西安" and cands[0].consumed == 5
    assert all(c.text not in ("先", "现") for c in cands)


def test_composition_display_follows_the_typing(engine):
    assert typed(engine, "xian").preedit == "xian"  # not xi'an, although 西安 comes first
    assert typed(engine, "changanlu").preedit == "chang'an'lu"  # the cut of 长安路
    assert typed(engine, "ylbx").preedit == "y'l'b'x"


def test_lue_and_lve_both_spell_lve(engine):
    assert texts(engine, "lue", 1) == texts(engine, "lve", 1) == ["略"]


def test_partial_last_syllable(engine):
    assert texts(engine, "zhongg", 1) == ["中国"]
    assert "中" in texts(engine, "zho", 5)
    assert texts(engine, "yanglaobaox", 1) == ["养老保险"]


# -- initials and ranking of the service-hall vocabulary -------------------------------------------
@pytest.mark.parametrize("letters, word", [
    ("ylbx", "养老保险"), ("sfz", "身份证"), ("jzz", "居住证"), ("gjj", "公积金"), ("bdc", "不动产"),
    ("yyzz", "营业执照"), ("sbk", "社保卡"), ("hkb", "户口簿"), ("yantaqu", "雁塔区"), ("beilinqu", "碑林区"),
    ("changanqu", "长安区"), ("xianshi", "西安市"), ("shanxi", "陕西"),
])
def test_domain_words_come_first(engine, letters, word):
    assert texts(engine, letters, 1) == [word]


def test_domain_words_on_the_first_page(engine):
    assert "户口簿" in texts(engine, "hukoubu", 3)
    assert "户口簿" in texts(engine, "hkb", 5)
    assert "西安" == texts(engine, "xian", 1)[0]


def test_candidates_ranked_by_frequency_within_the_same_spelling(engine):
    cands = engine.candidates("shi")
    singles = [c.text for c in cands if c.consumed == 3][:3]
    assert singles[0] == "是"
    lex = engine.lexicon
    freqs = [f for _, f in lex.lookup("shi")]
    assert freqs == sorted(freqs, reverse=True)


def test_longer_matches_before_shorter_ones(engine):
    consumed = [c.consumed for c in engine.candidates("ylbx")]
    assert consumed == sorted(consumed, reverse=True)


def test_initials_never_make_a_sentence(engine):
    # 句栉字比了 (j-z-z-b + l) would be a sentence of noise: initials give words, one at a time.
    assert texts(engine, "jzzbl", 1) == ["居住证"]
    assert texts(engine, "ylbxjf", 1) == ["养老保险"]
    assert texts(engine, "gjjtq", 1) == ["公积金"]


@pytest.mark.parametrize("letters, word", [("huyi", "鄠邑"), ("louhao", "楼号"), ("lantian", "蓝田")])
def test_xian_places_and_address_words(engine, letters, word):
    assert texts(engine, letters, 1) == [word]


def test_sentence_from_several_words(engine):
    first = engine.candidates("woyaobanliyanglaobaoxian")[0]
    assert first.text == "我要办理养老保险" and first.consumed == len("woyaobanliyanglaobaoxian")
    assert texts(engine, "xianshiyantaqu", 1) == ["西安市雁塔区"]


# -- choosing consumes the matched syllables -------------------------------------------------------
def test_choosing_a_word_continues_with_the_rest(engine):
    comp = typed(engine, "zhongguoren")
    assert comp.preedit == "zhong'guo'ren"
    idx = [c.text for c in comp.candidates].index("中")
    assert comp.choose(idx) is None
    assert comp.letters == "guoren" and comp.preedit == "中guo'ren"
    assert comp.candidates[0].text == "国人"
    assert comp.choose(0) == "中国人"
    assert not comp.active


def test_choosing_an_initials_word_then_the_rest(engine):
    comp = typed(engine, "ylbxjf")
    idx = [c.text for c in comp.candidates].index("养老保险")
    assert comp.choose(idx) is None and comp.letters == "jf"
    assert "缴费" in [c.text for c in comp.candidates[:3]]
    assert comp.choose([c.text for c in comp.candidates].index("缴费")) == "养老保险缴费"


def test_backspace_takes_back_a_choice_then_letters(engine):
    comp = typed(engine, "xian")
    comp.choose([c.text for c in comp.candidates].index("西"))
    assert comp.letters == "an"
    assert comp.backspace() and comp.letters == "xian" and comp.chosen == []
    assert comp.backspace() and comp.letters == "xia"
    comp.clear()
    assert not comp.backspace()


def test_space_and_enter(engine):
    assert typed(engine, "jzz").commit_first() == "居住证"
    assert typed(engine, "wangxiaoming").commit_raw() == "wangxiaoming"
    comp = typed(engine, "shebaok")
    comp.choose(1 + [c.text for c in comp.candidates[1:]].index("社保"))
    assert comp.commit_raw() == "社保k"


# -- punctuation and digits -----------------------------------------------------------------------
def test_full_width_punctuation():
    assert to_chinese(",") == "，" and to_chinese(".") == "。" and to_chinese("\\") == "、"
    assert to_chinese('"') == "“" and to_chinese('"', "他说“好") == "”"


def test_punctuation_converts_the_spelling_first(engine):
    comp = typed(engine, "xian")
    assert comp.punctuate(",") == "西安，"
    assert not comp.active
    assert comp.punctuate("3") == "3"
    assert comp.punctuate(",", chinese=False) == ","
    assert comp.punctuate("x") == ""  # a letter is not a punctuation key


# -- bad input ------------------------------------------------------------------------------------
def test_empty_and_separators_only(engine):
    assert engine.candidates("") == []
    assert engine.candidates("'''") == []
    comp = Composition(engine)
    assert not comp.type("'")  # no separator before any letter
    assert comp.candidates == [] and comp.preedit == ""
    assert comp.commit_first() == ""


def test_non_letters_are_refused(engine):
    comp = Composition(engine)
    for bad in ("1", " ", "中", "", "ab", "\n", "é"):
        assert not comp.type(bad)
    assert not comp.active
    # The engine itself drops anything that is not a letter.
    assert texts(engine, "Xi-An!", 1) == texts(engine, "xian", 1)


def test_not_pinyin_offers_the_letters(engine):
    assert [(c.text, c.consumed) for c in engine.candidates("iii")] == [("iii", 3)]
    comp = typed(engine, "iphone")
    assert comp.commit_first() == "iphone"


def test_very_long_input_is_capped(engine):
    comp = Composition(engine)
    accepted = sum(comp.type(ch) for ch in "ylbx" * 30)
    assert accepted == MAX_LETTERS
    assert comp.candidates[0].text  # still answers
    out = comp.commit_first()
    assert out and not comp.active


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz'", max_size=MAX_LETTERS))
def test_any_letters_give_consistent_candidates(letters):
    engine = _ENGINE()
    clean = letters
    cands = engine.candidates(clean)
    if not clean.strip("'"):
        assert cands == []
        return
    assert cands, clean
    for c in cands:
        assert c.text and 0 < c.consumed <= len(clean)
    comp = Composition(engine)
    for ch in clean:
        comp.type(ch)
    text = comp.commit_first()
    assert not comp.active
    assert text or not comp.letters


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["zhong", "guo", "xi", "an", "yang", "lao", "bao", "xian", "ju", "zhu", "zheng",
                                  "y", "l", "b", "x", "'"]), min_size=1, max_size=8))
def test_choosing_first_candidates_always_terminates(pieces):
    engine = _ENGINE()
    comp = Composition(engine)
    for ch in "".join(pieces):
        comp.type(ch)
    for _ in range(MAX_LETTERS + 1):
        if not comp.letters:
            break
        before = len(comp.letters)
        done = comp.choose(0)
        assert done is not None or len(comp.letters) < before
    assert not comp.letters


_cache = {}


def _ENGINE():
    if "e" not in _cache:
        _cache["e"] = PinyinEngine()
    return _cache["e"]


@pytest.mark.parametrize("letters", ["tmd", "tamade", "biaozi", "jiba", "shabi", "sb", "nmb"])
def test_no_insults_among_the_candidates(engine, letters):
    offered = "".join(texts(engine, letters, 300))
    for bad in ("他妈", "婊", "鸡巴", "几把", "煞笔", "傻逼", "沙比", "屌", "屄"):
        assert bad not in offered


def test_data_file_is_small_and_lexicon_compact(engine):
    assert DATA_FILE.stat().st_size < 4_000_000
    assert len(engine.lexicon) > 100_000
    assert "西安" in [w for w, _ in engine.lexicon.lookup("xi'an")]


def test_lexicon_holds_its_keys_packed():
    """The kiosk keeps the lexicon for good: its 117,000 keys as separate bytes objects took 5.6 MB of the 8.7 MB
    it held (tracemalloc counts what Python allocates, the same on every machine)."""
    import tracemalloc

    tracemalloc.start()
    try:
        lex = Lexicon()
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(lex.keys) > 100_000
    assert held < 5_000_000, f"the loaded lexicon holds {held / 1e6:.1f} MB"
    keys = [lex.keys[i] for i in range(len(lex.keys))]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert lex.keys[-1] == keys[-1] and lex.keys[0] == keys[0]


def test_lexicon_keys_out_of_order_are_refused(tmp_path):
    bad = tmp_path / "lexicon.tsv.gz"
    with gzip.open(bad, "wt", encoding="utf-8") as f:
        f.write("govkiosk-ime-lexicon 1\nan xi\nxi\t西\t9\nan\t安\t5\n")
    with pytest.raises(LexiconError, match="out of order"):
        Lexicon(bad)
    good = tmp_path / "good.tsv.gz"
    with gzip.open(good, "wt", encoding="utf-8") as f:
        f.write("govkiosk-ime-lexicon 1\nan xi\nan\t安\t5\nxi\t西,希\t9,3\nxi'an\t西安\t7\n")
    lex = Lexicon(good)
    assert lex.lookup("xi") == [("西", 9), ("希", 3)] and lex.lookup("xi'an") == [("西安", 7)]
    assert lex.has_prefix(lex.keys[1]) and lex.key_index(lex.keys[2]) == 2


def test_unreadable_lexicon_is_a_clear_error(tmp_path):
    bad = tmp_path / "lexicon.tsv.gz"
    bad.write_bytes(b"not gzip")
    with pytest.raises(LexiconError, match="cannot read"):
        Lexicon(bad)
    wrong = tmp_path / "wrong.tsv.gz"
    with gzip.open(wrong, "wt", encoding="utf-8") as f:
        f.write("something else\n")
    with pytest.raises(LexiconError, match="not a keyboard lexicon"):
        Lexicon(wrong)
    with pytest.raises(LexiconError):
        Lexicon(tmp_path / "missing.tsv.gz")


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(
    st.sampled_from(list("abcdefghijklmnopqrstuvwxyz'")),
    st.sampled_from(["<del>", "<clear>", "<choose0>", "<choose3>", "<space>", "<enter>", ",", "1", "中", " "]),
), max_size=60))
def test_any_key_sequence_keeps_the_composition_consistent(keys):
    engine = _ENGINE()
    comp = Composition(engine)
    out = ""
    for k in keys:
        if k == "<del>":
            comp.backspace()
        elif k == "<clear>":
            comp.clear()
        elif k.startswith("<choose"):
            out += comp.choose(int(k[7])) or ""
        elif k == "<space>":
            out += comp.commit_first()
        elif k == "<enter>":
            out += comp.commit_raw()
        elif len(k) == 1 and k in "abcdefghijklmnopqrstuvwxyz'":
            comp.type(k)
        else:
            out += comp.punctuate(k)
        spelled = len(comp.letters) + sum(len(p) for _, p in comp.chosen)
        assert spelled <= MAX_LETTERS
        assert not comp.letters.startswith("'")
        if comp.letters:
            assert comp.candidates and comp.preedit
        else:
            assert comp.candidates == []
    assert "'" not in out.replace("‘", "").replace("’", "")
