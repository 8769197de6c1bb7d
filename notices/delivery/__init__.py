"""Delivery: composing notice mails (text, HTML, X-ARF, CSV) and the transactional outbox."""
