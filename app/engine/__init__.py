"""The engine: Elasticsearch and the event model, never HTTP."""
