"""The pass runner and the state it keeps between passes, below the Kopf wiring.

``run.py`` runs one pass of any kind in either direction; ``kinds.py`` says what each
kind adds to it; the rest is what passes share across the process (``runtime.py``).
handlers/ only registers Kopf handlers that call into here.
"""
