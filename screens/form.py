"""The application form: the applicant (from the card, masked), a mobile number, how to receive the result (邮寄 to
the card's address or to an entered one), and the service item's own `form_fields`, each rendered by its type and
checked with the reason in words. Nothing entered is lost while a field is being corrected."""
from __future__ import annotations

from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.stacklayout import StackLayout
from kivy.uix.textinput import TextInput

from kiosk import form_fields
from kiosk.i18n import N_
from kiosk.session import DELIVERY_OPTIONS, MOBILE_RE
from screens.base import KioskScreen, load_kv
from screens.widgets import BigButton

DELIVERY_LABELS = {
    "自取": N_("Collect in person"),
    "邮寄": N_("By post"),
    "网点代发": N_("Collect at this outlet"),
}
NUMERIC_TYPES = ("digits", "number", "date")


def text_input_class():
    """The on-screen Chinese keyboard's text field when it is installed (screens/keyboard.py), else a TextInput."""
    try:
        from screens import keyboard  # noqa: PLC0415 - optional until the keyboard lands
    except Exception:
        return None
    return getattr(keyboard, "ChineseTextField", None)


def make_text_input(label: str = "", max_len: int = 0, hint: str = ""):
    """A text field that opens the on-screen Chinese keyboard (or a plain one-line input without it)."""
    cls = text_input_class()
    if cls is not None:
        return cls(size_hint_y=None, multiline=False, label=label, max_len=max_len, hint_text=hint)
    return FieldInput(multiline=False, size_hint_y=None, hint_text=hint)


class FieldInput(TextInput):
    """A one-line input the keypads write into (keyboard_mode 'managed': no system keyboard on a kiosk)."""

    max_digits = NumericProperty(64)
    allow_dot = BooleanProperty(False)
    allow_dash = BooleanProperty(False)


class FieldRow(BoxLayout):
    """Label, input and the reason it was refused, for one field."""

    label = StringProperty("")
    error = StringProperty("")
    required = BooleanProperty(False)
    key = StringProperty("")


class ChoiceGroup(StackLayout):
    value = StringProperty("")
    options = ListProperty([])  # [(value, label)]

    def on_options(self, *_):
        self.clear_widgets()
        for value, label in self.options:
            button = BigButton(text=label, size_hint=(None, None), kind="secondary")
            button.choice_value = value
            button.bind(on_release=lambda b: setattr(self, "value", b.choice_value))
            self.add_widget(button)
        self._paint()

    def on_value(self, *_):
        self._paint()

    def _paint(self) -> None:
        for b in self.children:
            b.kind = "primary" if getattr(b, "choice_value", None) == self.value else "secondary"


class FormScreen(KioskScreen):
    voice_prompt = N_("Please fill in the form: your mobile phone number, how to receive the result, and the fields of this service.")
    problem = StringProperty("")
    phone_error = StringProperty("")
    address_error = StringProperty("")
    delivery = StringProperty("自取")
    address_choice = StringProperty("card")  # card | other: where 邮寄 goes
    card_address = StringProperty("")  # masked, for the button
    applicant_line = StringProperty("")
    service_name = StringProperty("")
    allowed = ListProperty(list(DELIVERY_OPTIONS))  # what this service offers (办事指南)

    _built_for = None
    _rows: dict

    def on_kv_post(self, base_widget):
        self._rows = {}
        self.ids.phone.bind(focus=self._on_focus)
        self.mailing_input = make_text_input(max_len=100)
        self.mailing_input.height = self.ids.mailing_holder.height or 60
        self.ids.mailing_holder.bind(height=lambda w, h: setattr(self.mailing_input, "height", max(h, 1)))
        self.ids.mailing_holder.add_widget(self.mailing_input)

    # -- building ----------------------------------------------------------------------------
    def on_pre_enter(self, *args):
        s = self.app.session
        lang = self.app.language
        self.applicant_line = self._("{name}, ID {id_number}").format(name=s.greeting_name(lang), id_number=s.display_id_number)
        service = s.service or {}
        self.service_name = (service.get("name_en") if lang == "en" and service.get("name_en") else service.get("name", ""))
        offered = [o for o in service.get("delivery") or DELIVERY_OPTIONS if o in DELIVERY_OPTIONS]
        self.allowed = offered or list(DELIVERY_OPTIONS)
        if s.delivery not in self.allowed:
            s.delivery = self.allowed[0]
        self.card_address = s.display_address
        self.ids.phone.text = s.phone
        self.delivery = s.delivery
        card_address = s.card_address
        if s.mailing_address and s.mailing_address != card_address:
            self.address_choice = "other"
        else:
            self.address_choice = "card" if card_address else "other"
        self._build_fields((service.get("item_code") or service.get("code"), lang))
        self.problem = self.phone_error = self.address_error = ""
        self.ids.pad.target = self.ids.phone
        self.mailing_input.hint_text = self._("Mailing address: district, street, house number")
        if hasattr(self.mailing_input, "label"):
            self.mailing_input.label = self._("Mailing address")

    def _build_fields(self, build_key) -> None:
        s = self.app.session
        box = self.ids.fields_box
        if self._built_for != build_key:
            box.clear_widgets()
            self._rows = {}
            for field in s.form_fields:
                row = FieldRow(key=field["key"], required=bool(field.get("required")),
                               label=form_fields.label(field, self.app.language))
                widget = self._make_input(field)
                holder = row.ids.holder
                holder.add_widget(widget)
                holder.height = widget.height
                widget.bind(height=lambda w, h, holder=holder: setattr(holder, "height", h))
                box.add_widget(row)
                self._rows[field["key"]] = (field, row)
            self._built_for = build_key
        # Show what the session holds (a citizen coming back from scanning finds their values).
        for key, (field, row) in self._rows.items():
            self._set_value(row, s.form.get(key, ""))
            row.error = ""
        self.mailing_input.text = s.mailing_address if self.address_choice == "other" else ""

    def _make_input(self, field: dict):
        kind = field.get("type", "text")
        if kind == "choice":
            group = ChoiceGroup(size_hint_y=None)
            group.bind(minimum_height=group.setter("height"))
            group.options = form_fields.choice_labels(field, self.app.language)
            return group
        if kind in NUMERIC_TYPES:
            ti = FieldInput(multiline=False, keyboard_mode="managed", use_bubble=False, use_handles=False,
                            size_hint_y=None, hint_text=self._("YYYY-MM-DD") if kind == "date" else "")
            ti.allow_dot = kind == "number"
            ti.allow_dash = kind == "date"
            ti.max_digits = 10 if kind == "date" else int(field.get("max_len") or 30)
            ti.bind(focus=self._on_focus)
            return ti
        return make_text_input(form_fields.label(field, self.app.language), int(field.get("max_len") or 0))

    @staticmethod
    def _value(row) -> str:
        widget = row.ids.holder.children[0]
        return widget.value if isinstance(widget, ChoiceGroup) else widget.text

    @staticmethod
    def _set_value(row, value: str) -> None:
        widget = row.ids.holder.children[0]
        if isinstance(widget, ChoiceGroup):
            widget.value = value
        else:
            widget.text = value

    def field_widget(self, key: str):
        """The input of one of the item's fields (tests and the tour tap it)."""
        return self._rows[key][1].ids.holder.children[0]

    def _on_focus(self, widget, focused) -> None:
        if focused:
            self.ids.pad.target = widget

    def reset(self) -> None:
        self.applicant_line = self.service_name = self.card_address = ""
        self.ids.phone.text = ""
        self.mailing_input.text = ""
        self.delivery = "自取"
        self.address_choice = "card"
        self.problem = self.phone_error = self.address_error = ""
        for _field, row in self._rows.values():
            # Emptied before they are dropped: a removed field still redraws its text when a refresh was already
            # due on the clock, putting the citizen's value back into Kivy's text caches after the wipe.
            self._set_value(row, "")
        self.ids.fields_box.clear_widgets()
        self._rows = {}
        self._built_for = None

    # -- choices -----------------------------------------------------------------------------
    def delivery_label(self, option: str) -> str:
        return self._(DELIVERY_LABELS[option])

    def pick_delivery(self, option: str) -> None:
        if option in self.allowed:
            self.delivery = option
            if option == "邮寄" and not self.app.session.card_address:
                self.address_choice = "other"  # a card without an address (foreigners' cards): enter one

    def pick_address(self, choice: str) -> None:
        if choice == "card" and not self.app.session.card_address:
            return
        self.address_choice = choice

    # -- checking ----------------------------------------------------------------------------
    def keep_values(self) -> None:
        """Everything on the form into the session (also when it is not valid yet)."""
        s = self.app.session
        s.phone = self.ids.phone.text.strip()
        s.delivery = self.delivery
        if s.delivery == "邮寄":
            s.mailing_address = s.card_address if self.address_choice == "card" else self.mailing_input.text.strip()
        else:
            s.mailing_address = ""
        for key, (field, row) in self._rows.items():
            s.form[key] = self._value(row).strip()

    def next(self) -> None:
        self.keep_values()
        s = self.app.session
        self.phone_error = "" if MOBILE_RE.fullmatch(s.phone) else self._("Please enter your 11-digit mobile phone number.")
        self.address_error = ""
        if s.delivery == "邮寄" and len(s.mailing_address) < form_fields.ADDRESS_MIN:
            self.address_error = self._(form_fields.ADDRESS_TOO_SHORT).format(label=self._("Mailing address"))
        reasons = form_fields.errors(s.form_fields, s.form)
        for key, (field, row) in self._rows.items():
            problem = reasons.get(key)
            row.error = self._(problem[0]).format(label=row.label, **problem[1]) if problem else ""
        first = self.phone_error or self.address_error or next((row.error for _, row in self._rows.values() if row.error), "")
        if first:
            self.problem = self._("Please correct what is marked in red.")
            self.app.speak(first)
            wrong = next((row for _, row in self._rows.values() if row.error), None)
            if not (self.phone_error or self.address_error) and wrong is not None:
                self.ids.scroll.scroll_to(wrong, padding=20, animate=False)  # show the first field to fix
            return
        self.problem = ""
        self.app.go("scan")

    def back(self) -> None:
        self.keep_values()
        self.app.go("guide")


SCREEN_CLASS = FormScreen
load_kv("form")
