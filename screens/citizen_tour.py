"""Scripted steps of the citizen journeys beyond applying (finding, 一件事, 代办, progress, 好差评, 办不成事), shared by
`kiosk tour` and the UI tests like the steps in `screens/tour.py`."""
from __future__ import annotations


def ready_tap(driver, widget_id: str) -> None:
    """Tap a button once it is laid out and enabled (under load a frame can lag behind the screen change)."""
    driver.wait(lambda: (w := driver.widget(widget_id)).width > 40 and w.opacity > 0 and not w.disabled, 10,
                f"{widget_id} ready")
    driver.tap(widget_id)


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
    ready_tap(driver, "btn_search")
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


PHONE = "13712349050"


def _window_shot(driver, shot_path):
    """The whole window (the keyboard docks on the window, above the screen)."""
    from kivy.core.window import Window

    driver.frames(3)
    try:
        Window.screenshot(name=str(shot_path))
    except Exception:
        return None
    # Window.screenshot numbers the file (name0001.png): move it to the asked name.
    from pathlib import Path

    path = Path(shot_path)
    made = sorted(path.parent.glob(path.stem + "*" + path.suffix), key=lambda p: p.stat().st_mtime)
    if made and made[-1] != path:
        made[-1].replace(path)
    return path if path.exists() else None


def _scroll_top(driver) -> None:
    """Scroll the screen's scroll views back to the top, as the citizen saw it first (for the screenshot)."""
    from kivy.uix.recycleview import RecycleView
    from kivy.uix.scrollview import ScrollView

    for w in driver.app.screen(driver.app.current).walk():
        if isinstance(w, ScrollView) and not isinstance(w, RecycleView):
            w.scroll_y = 1
    driver.frames(3)


def _first_department(driver) -> None:
    """Show the first department's items (the 社保 list starts with an item open to 代办)."""
    scr = driver.app.screen("service_list")
    ready_tap(driver, "tab_department")
    scr.pick(scr.categories()[0][0])
    driver.frames(3)


def _card(driver, stack, screen: str) -> None:
    from kiosk.demo import sample_card

    driver.wait_screen("id_login")
    stack.reader.place(sample_card("resident"))
    driver.wait(lambda: driver.app.current == screen and not driver.app.busy, 60, f"{screen} after the card")


def _out(driver, stack) -> None:
    from screens.tour import swap_card_out

    app = driver.app
    if app.current != "home":
        app.end_session()
    driver.wait_screen("home")
    swap_card_out(driver, stack)


def citizen_journeys(driver, stack, shot, out_dir=None) -> None:
    """Every journey beyond applying, one screenshot per screen (`kiosk tour`): search with the keyboard, 一件事,
    我要代办, 进度查询, 好差评, 办不成事, and the hub, the reader and the idle timeout failing."""
    everyday_journeys(driver, stack, shot, out_dir)
    _failing_journeys(driver, stack, shot)


def everyday_journeys(driver, stack, shot=lambda name: None, out_dir=None) -> None:
    """Search with the keyboard, 一件事, 我要代办 with its 好差评, 进度查询 and 办不成事, everything answering
    (`benchmarks/ui_startup.py` times their screen changes)."""
    app = driver.app
    driver.wait_screen("home")
    # Finding an item without a card: categories, search on the keyboard, the full guide.
    ready_tap(driver, "btn_guide")
    driver.wait_screen("service_list", 60)
    shot("service_list_guides")

    def keyboard_shot(name):
        if out_dir is not None and _window_shot(driver, out_dir / f"{name}.png") is not None:
            return
        shot(name)

    to_search(driver, "ylbx", keyboard_shot)
    shot("search")
    scr = app.screen("search")
    tap_item(driver, scr.ids.results, scr.ids.results.data[0]["item_code"])
    driver.wait_screen("item_detail")
    shot("item_detail")
    _out(driver, stack)
    # 一件事 after the card: one question per screen, then the combined list.
    ready_tap(driver, "btn_start")
    _card(driver, stack, "service_list")
    ready_tap(driver, "tab_bundle")
    lst = app.screen("service_list").ids.service_items
    tap_item(driver, lst, lst.data[0]["item_code"])
    driver.wait_screen("bundle_questions")
    shot("bundle_questions")
    while app.current == "bundle_questions":
        driver.tap(list(reversed(app.screen("bundle_questions").ids.options.children))[0])
    driver.wait_screen("bundle_summary")
    shot("bundle_summary")
    _out(driver, stack)
    # 我要代办: 全程代办 with the 委托书 signed by finger, then 好差评 of it with a 差评's reason.
    ready_tap(driver, "btn_proxy")
    driver.wait_screen("proxy_intro")
    shot("proxy_intro")
    ready_tap(driver, "btn_next")
    _card(driver, stack, "service_list")
    _first_department(driver)
    lst = app.screen("service_list").ids.service_items
    tap_item(driver, lst, lst.data[0]["item_code"])
    driver.wait_screen("proxy_mode")
    ready_tap(driver, "mode_full_proxy")
    for ch in PHONE:
        driver.tap_text(ch, exact=True)
    _scroll_top(driver)
    shot("proxy_mode")
    ready_tap(driver, "btn_next")
    driver.wait_screen("proxy_consent")
    shot("proxy_consent")
    ready_tap(driver, "btn_next")
    driver.wait_screen("proxy_signature")
    pad = app.screen("proxy_signature").ids.pad
    pad.draw_strokes([[(60 + i * 9, 70 + 30 * ((i // 4) % 2) + (i % 4) * 6) for i in range(48)]])
    shot("proxy_signature")
    ready_tap(driver, "btn_next")
    driver.wait_screen("proxy_receipt", 60)
    shot("proxy_receipt")
    ready_tap(driver, "btn_rate")
    driver.wait_screen("evaluation")
    shot("evaluation")
    driver.tap(app.screen("evaluation").ids.face_2.children[-1])
    driver.wait_screen("evaluation_reason")
    ready_tap(driver, "btn_next")  # no reason yet: refused with words
    driver.tap_text(app.tr._("It took too long"))
    shot("evaluation_reason")
    ready_tap(driver, "btn_next")
    driver.wait_screen("home", 30)
    _out(driver, stack)
    # 进度查询 by card.
    ready_tap(driver, "btn_query")
    driver.wait_screen("query")
    shot("query")
    ready_tap(driver, "btn_by_card")
    _card(driver, stack, "query_result")
    driver.wait(lambda: bool(app.screen("query_result").results) or bool(app.screen("query_result").problem), 30,
                "query results")
    shot("query_result")
    _out(driver, stack)
    # 办不成事反映.
    ready_tap(driver, "btn_cannot")
    _card(driver, stack, "cannot_do")
    ready_tap(driver, "where_window")
    ready_tap(driver, "what_sent_back")
    for ch in PHONE:
        driver.tap_text(ch, exact=True)
    _scroll_top(driver)
    shot("cannot_do")
    ready_tap(driver, "btn_next")
    driver.idle(30)
    shot("cannot_do_number")
    _out(driver, stack)


def _failing_journeys(driver, stack, shot) -> None:
    app = driver.app
    # The hub away: a 代办 request cannot be sent, and the citizen is told so.
    ready_tap(driver, "btn_proxy")
    driver.wait_screen("proxy_intro")
    ready_tap(driver, "btn_next")
    _card(driver, stack, "service_list")
    stack.stop_process("hub")
    try:
        _first_department(driver)
        lst = app.screen("service_list").ids.service_items
        tap_item(driver, lst, lst.data[0]["item_code"])
        driver.wait_screen("proxy_mode")
        ready_tap(driver, "mode_remote_guidance")
        for ch in PHONE:
            driver.tap_text(ch, exact=True)
        ready_tap(driver, "btn_next")
        driver.idle(60)
        shot("hub_down")
    finally:
        stack.restart_hub()
    _out(driver, stack)
    # The reader unplugged while the card screen waits.
    ready_tap(driver, "btn_start")
    driver.wait_screen("id_login")
    stack.reader.unplug()
    driver.wait(lambda: app.terminal.card_reader_status == "no_device", 30, "reader reported missing")
    driver.frames(5)
    shot("reader_down")
    stack.reader.replug()
    driver.wait(lambda: app.terminal.card_reader_status == "online", 30, "reader back")
    # The idle warning on a journey screen.
    app.end_session()
    driver.wait_screen("home")
    saved = app.cfg.kiosk.idle_timeout_s
    app.cfg.kiosk.idle_timeout_s = 1.0
    try:
        ready_tap(driver, "btn_query")
        driver.wait_screen("query")
        driver.wait(lambda: app.idle_countdown > 0, 10, "idle warning")
        shot("idle_warning")
        driver.tap(app.root.ids.btn_continue)
    finally:
        app.cfg.kiosk.idle_timeout_s = saved
    app.keep_going()
    app.end_session()
    driver.wait_screen("home")
