"""Records governance: classification of items (later retention, legal holds, disposal)."""
