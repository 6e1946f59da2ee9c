"""The Textual reader: `create_app` builds it, `run_tui` runs it on a library folder."""
