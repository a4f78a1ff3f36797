"""In-process caches of presented answers, keyed by versions the database keeps.

An entry is never stale: its key holds a version read before the data, and the database
changes that version in the same transaction as any change to the data (migration 0005's
triggers). Entries under old versions are never asked for again and fall out of the LRU.
Each web process keeps its own; a miss costs what the answer costs without a cache.
"""

import threading

from cachetools import LRUCache


class VersionedCache:
    """A bounded, thread-safe map of ``key → bytes`` filled on demand; ``maxsize`` 0 keeps
    nothing (every answer is built)."""

    def __init__(self, maxsize):
        self._entries = LRUCache(maxsize) if maxsize else None
        self._lock = threading.Lock()

    def get_or_build(self, key, build):
        if self._entries is None:
            return build()
        with self._lock:
            body = self._entries.get(key)
        if body is None:
            # Built outside the lock: two threads may build the same answer once each.
            body = build()
            with self._lock:
                self._entries[key] = body
        return body


def includeme(config):
    config.registry["list_cache"] = VersionedCache(config.registry.catalogue.settings.list_cache_size)
