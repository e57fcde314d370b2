"""Server-rendered phone pages (Jinja + HTMX) for RT heads, health workers and admins."""
