"""Tugi: the application-support and access-administration desk."""

__version__ = "0.1.0"
