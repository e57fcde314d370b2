"""A plugin that implements a hook rtbook does not have (a typo in the hook name)."""

import rtbook


@rtbook.hookimpl
def rtbook_service_complete(event, city, config):  # the real hook ends in "completed"
    return None
