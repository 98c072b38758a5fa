"""Module 0, Lambda realities: the order handlers, the order messages and the cost models."""
