"""The Litestar web app (JSON API now, pages later)."""
