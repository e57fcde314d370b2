"""Durable dispatch of feed events to the plugins enabled in each city (rtbook worker)."""
