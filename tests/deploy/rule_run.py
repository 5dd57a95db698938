"""``yorisoi`` exactly as installed, but with the rule NLU instead of the trained model, so a server starts in seconds.

``python -m tests.deploy.rule_run run --port 8001`` is ``yorisoi run --port 8001`` (configuration from
``YORISOI_CONFIG`` and the environment, migrations at start-up, uvicorn with its access-log filter);
only :func:`bot.training.load_or_train_nlu` is replaced by :func:`bot.testing.standard_nlu`.
The multi-server test and ``bench/bench_servers.py`` start their API processes this way.
"""

from __future__ import annotations

import sys
from typing import Any

import bot.training
from bot.cli import main as yorisoi
from bot.testing import standard_nlu


def rule_nlu(*_args: Any, **_kwargs: Any) -> Any:
    """The standard rule NLU, whatever the configuration (no training, no encoder)."""
    return standard_nlu()


def main() -> int:
    """Run the ``yorisoi`` command line with the rule NLU."""
    setattr(bot.training, "load_or_train_nlu", rule_nlu)  # noqa: B010  (build_components imports it lazily)
    return yorisoi(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
