"""The domain of rtbook: storage, ledger, feed, auth. No web framework imports here."""
