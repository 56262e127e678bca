"""The web UI (``brewslm ui``): the import wizard, the audit log, training, evaluation reports and
a playground, as server-rendered pages over the same services as the CLI.

Modules: ``app`` (``create_ui_app``, ``mount_ui``, ``render``, ``require_access``, ``PAGES``),
``settings`` (``UISettings``), ``access`` (API key, host/origin checks, allowed roots, uploads),
``jobs`` (background jobs in the database) and ``worker`` (the process that runs one job),
``pages`` (one router per tab). Nothing is imported here, so a job's worker process starts
without loading the web stack.
"""
