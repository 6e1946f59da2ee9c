"""The library core: models, index, store and importers. Never imports Textual."""
