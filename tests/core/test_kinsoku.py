"""screens.kinsoku: a closing mark never begins a wrapped line; the character before it goes down with it."""
from __future__ import annotations

from screens.kinsoku import kinsoku_text


def test_the_character_before_a_stranded_mark_goes_down_with_it():
    text = "您的申请已保存在本机，网络恢复后自动上传。"
    lines = [("您的申请已保存在本机，网络恢复后自动上传", False), ("。", True)]
    assert kinsoku_text(text, lines) == "您的申请已保存在本机，网络恢复后自动上\n传。"


def test_lines_that_start_well_or_after_a_real_line_break_are_left_alone():
    text = "第一行\n。第二行"
    assert kinsoku_text(text, [("第一行", False), ("。第二行", False)]) is None  # a break of the text, not a wrap
    assert kinsoku_text("请带好身份证原件，到窗口办理。", [("请带好身份证原件", False), ("，到窗口办理。", True)]) == \
        "请带好身份证原\n件，到窗口办理。"
    assert kinsoku_text("请到窗口办理", [("请到窗", False), ("口办理", True)]) is None


def test_several_lines_and_spaces_at_the_wrap():
    text = "Waiting to upload (待上传): saved on this machine。 Sent later，automatically。"
    lines = [("Waiting to upload (待上传): saved on this machine", False), ("。 Sent later", True),
             ("，automatically。", True)]
    fixed = kinsoku_text(text, lines)
    assert fixed == "Waiting to upload (待上传): saved on this machin\ne。 Sent late\nr，automatically。"


def test_a_mark_after_a_one_character_line_or_a_layout_that_does_not_match_is_left():
    assert kinsoku_text("好\n是。", [("好", False), ("是", False), ("。", True)]) is None
    assert kinsoku_text("abc", [("xyz", False)]) is None
