"""The ``email`` channel: notices by e-mail to residents who gave an address with their consent (``channel``)."""
