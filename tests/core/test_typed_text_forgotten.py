"""What Kivy's TextInput keeps of the text typed (a texture and a width per line, keyed by the text) does not
outlive the citizen's session."""
import os

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONFIG", "1")
os.environ.setdefault("KIVY_NO_FILELOG", "1")


def test_forget_typed_text_empties_textinputs_caches_and_nothing_else():
    from kivy.cache import Cache

    import kivy.uix.textinput  # noqa: F401  (registers its caches)
    from screens.base import TYPED_TEXT_CACHES, forget_typed_text

    Cache.register("test.other", timeout=60)
    for category in TYPED_TEXT_CACHES:
        Cache.append(category, "张三\0options", object())
    Cache.append("test.other", "icon", "kept")
    forget_typed_text()
    for category in TYPED_TEXT_CACHES:
        assert Cache.get(category, "张三\0options") is None
        assert not Cache._objects[category]
    assert Cache.get("test.other", "icon") == "kept"
