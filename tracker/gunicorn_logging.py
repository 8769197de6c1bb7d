"""gunicorn's logger with the redaction filter (tracker/redaction.py) on every handler of its access and error
logs: `--logger-class tracker.gunicorn_logging.RedactingLogger` (the supervisor starts web with it)."""

from __future__ import annotations

from gunicorn.glogging import Logger

from tracker.redaction import redact_handlers


class RedactingLogger(Logger):
    def setup(self, cfg) -> None:
        """gunicorn (re)builds its handlers here (at start and on reload): filter the new ones too."""
        super().setup(cfg)
        redact_handlers(self.error_log)
        redact_handlers(self.access_log)
