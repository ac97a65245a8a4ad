"""Scripted steps of the citizen journeys beyond applying (finding, 一件事, 代办, progress, 好差评, 办不成事), shared by
`kiosk tour` and the UI tests like the steps in `screens/tour.py`."""
from __future__ import annotations


def keyboard_type(driver, letters: str) -> None:
    """Type `letters` on the open on-screen keyboard (or the letter pad), key by key, like a finger."""
    from kivy.core.window import Window

    for ch in letters:
        key = _find_key(Window, ch)
        if key is None:
            driver.tap_text(ch, exact=True)  # the letter pad on the screen itself
        else:
            driver.tap(key)


def _find_key(window, ch: str):
    for child in window.children:
        for w in child.walk():
            if getattr(w, "key", None) == ch and w.__class__.__name__ == "KeyButton" and not w.disabled:
                return w
    return None


def close_keyboard(driver) -> None:
    try:
        from screens.keyboard import close_keyboard as close
    except Exception:
        return
    close()
    driver.frames(2)


def to_search(driver, query: str, shot=None) -> None:
    """From the item list, open the search, tap the field and type `query` on the keyboard."""
    shot = shot or (lambda name: None)
    driver.tap("btn_search")
    driver.wait_screen("search")
    scr = driver.app.screen("search")
    if scr.keyboard:
        driver.tap(scr.ids.search_field)
        driver.frames(3)
    keyboard_type(driver, query)
    driver.wait(lambda: bool(scr.ids.results.data), 10, "search results")
    shot("keyboard_pinyin")
    close_keyboard(driver)


def tap_item(driver, list_widget, item_code: str) -> None:
    list_widget.refresh_from_layout()
    driver.frames(2)
    row = list_widget.row_for(item_code)
    if row is None:
        index = next(i for i, d in enumerate(list_widget.data) if d["item_code"] == item_code)
        list_widget.show_index(index)
        driver.frames(4)
        row = list_widget.row_for(item_code)
    driver.tap(row)
