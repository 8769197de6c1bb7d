"""Infrastructure: database helpers (claims, bulk writes), the network (SSRF guard, resolver, HTTP client),
the event writer and enqueueing by task name. Imports only models, enums, errors and canonical; never a
mechanism, a service, a selector or a task."""
