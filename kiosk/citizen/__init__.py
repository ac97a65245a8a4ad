"""The citizen's journeys beyond applying: finding an item, 一件事, 代办, progress queries, 好差评, 办不成事.

Each capability is a small service the screens reach through `Services` (one per App); none imports Kivy.
"""
