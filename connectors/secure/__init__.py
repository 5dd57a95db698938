"""The secure form pages: one-time links where residents type secret slot values (``SecureFormPages``)."""

from connectors.secure.pages import SecureFormPages

__all__ = ["SecureFormPages"]
