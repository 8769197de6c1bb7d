"""The domain app: reports, URLs, hosting traces, notices, checks, provider responses."""
