"""A plugin whose import fails, as one with a missing dependency does."""

raise ImportError("rtbook_broken_plugin needs the library 'nonexistent_dependency'")
