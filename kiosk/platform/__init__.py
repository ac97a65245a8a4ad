"""The provincial platform side: the adapter interface, the reference HTTP protocol and its simulator."""
