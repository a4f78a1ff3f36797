"""Rules and state: no HTTP and no broker calls, only models and ``outbox.defer``.

The core's services are modules here (identity, admin accounts, audit, notifications, the
menu, operations, paging); each area has a package with one module per use case and its reads
in ``queries.py`` (``services/<area>/``).
"""
