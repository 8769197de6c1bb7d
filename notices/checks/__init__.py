"""Liveness checker: GET each reported URL, classify the answer (INTERFACES.md "Check outcome").

`engine` does the network work in pure asyncio (no Django), so the Celery task, the benchmark and the tests
all drive the same code; `ssrf` keeps it away from loopback, private and metadata addresses (PRODUCT.md safety
rule 3); `classify` is the outcome table.
"""
