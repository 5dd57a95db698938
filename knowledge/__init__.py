"""Curated answers per bot, the city profile, and retrieval over them."""
