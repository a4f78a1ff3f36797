"""Domain logic, one module per domain: no HTTP and no broker calls, only models and ``defer``."""
