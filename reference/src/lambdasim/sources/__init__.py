"""Event sources that Lambda polls for you (event source mappings), one module per service.

Each module holds the service's rules exactly once: how Lambda builds the event from what it
read, and how it settles a batch from the function's outcome. The simulator's pollers and the
lessons both use them.
"""
