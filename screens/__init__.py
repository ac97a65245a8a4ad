"""Kivy screens of the kiosk and counter app: one `.py` + `.kv` per screen, the App, widgets and theme.

Importing this package does not import Kivy; `screens.kivy_setup.configure` must run before `screens.app`.
"""
