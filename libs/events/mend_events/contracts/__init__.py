"""Event contracts: the event models and their registry, the catalogue of every type, the
envelope, shared words and actors, and the JSON Schema / AsyncAPI export."""
