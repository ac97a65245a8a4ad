"""Our own pinyin input method for the on-screen keyboard (no Kivy here): lexicon, engine, composition."""
