"""The HTTP service (`gridlake serve`): routes, keys and the dashboard over warehouse/ reads."""
