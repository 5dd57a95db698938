"""A server process for crash tests: the real app with a slow rule NLU, killable with SIGKILL.

``python -m tests.core.rule_server DATABASE_URL PORT DATA_DIR`` serves the app on 127.0.0.1:PORT.
Each turn takes about 0.2 s, so a burst is still being answered when the test kills the process.
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

import uvicorn

from bot.app import build_components, create_app
from bot.config import load_config
from nlu.types import NluResult
from tests.fakes import RuleNlu

TURN_SECONDS = 0.2


class SlowRuleNlu(RuleNlu):
    """The rule NLU, slowed down like a real model on a busy machine."""

    def parse(self, bot: str, text: str, *, preferred_language: str | None = None,
              today: date | None = None) -> NluResult:
        time.sleep(TURN_SECONDS)
        return super().parse(bot, text, preferred_language=preferred_language, today=today)


def main() -> None:
    database_url, port, data_dir = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    config = load_config(environ={"YORISOI_DATA_DIR": str(data_dir)})
    dialogue = config.dialogue.model_copy(update={"turn_lease_seconds": 2.0, "sweep_after_seconds": 1.0})
    config = config.model_copy(update={"database_url": database_url, "dialogue": dialogue})
    components = build_components(config, nlu=SlowRuleNlu().add("hello", "greet"))
    uvicorn.run(create_app(config, components=components), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
