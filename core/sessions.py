"""Sessions in the database, as Django's own, but a session cookie Django could never have issued
is no session at all.

Django takes any cookie value of 8 characters or more as a key to look up; one holding NUL (a
cookie may carry it quoted: ``sessionid="\\000…"``) makes PostgreSQL refuse the query, and every
page and API call of that client answered 500. Keys Django issues are 32 characters of [a-z0-9].
"""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key: str | None) -> bool:
        # Django's own rule (SessionBase._validate_session_key), and only [a-z0-9].
        if key is None:
            return False
        return len(key) >= 8 and key.isascii() and key.isalnum()
