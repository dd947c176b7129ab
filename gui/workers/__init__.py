"""Background work for the GUI: short tasks on the thread pool, long jobs in a child process.

Every page uses these two and nothing else: ``run_task`` for work of seconds (validate a
folder, read a file), ``JobRunner`` for work of minutes (convert, generate, train, export).
"""
