"""The ledger: applying completed registry services, the RT feed, and reads."""
