"""Live services: plugins of the core that connect the bots to a city's own systems.

Each subpackage (``services.queue``: ward-office windows) registers its skills, effect handlers and
routes through the core's entry points (``yorisoi.skills``, ``yorisoi.effects``, ``yorisoi.channels``)
and is built with the deployment's :class:`bot.plugins.PluginContext`. The core never imports a
service; a service never imports a channel (``tests/test_architecture.py``).
"""
