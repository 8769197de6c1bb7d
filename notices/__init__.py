"""The domain app: reports, URLs, hosting traces, notices, checks, provider responses.

Import order (each layer imports only those below it; `lint-imports` enforces it, README "Architecture"):

    interfaces      api, portal, admin, management, tasks, templatetags, health, demo
    services        services/ — every state change; urls.py owns a URL's status, notices.py a notice's
    selectors       selectors/ — reads
    mechanisms      hosting, checks, delivery — return outcomes; never import services, selectors or tasks
    infrastructure  infra/ — claims, bulk writes, resolver, SSRF guard, HTTP client, events, enqueue by name
    models          models/
    base            enums (states and transition tables), errors, canonical
"""
