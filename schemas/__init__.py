"""Event records and the JSON Schemas published from them."""
