"""The fast batch path: dispatch cycles (and bulk re-notices) create and queue thousands of notices at once.

Only `notices.services.dispatch` and the benchmark of that path use it; the admin, the API and single notices
go through the plain ORM path in `notices.services.notices`. Both write the same rows and events
(tests/notices/services/test_paths.py). What makes it fast, and lives only here: rows written as array INSERTs
on a write-behind thread (`notices.infra.write_behind`) while the next mails render, model instances built
without `__init__`, and the worker task pausing the garbage collector (`tasks.dispatch_notices`)."""
