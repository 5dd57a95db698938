"""What changed in SQL since the last look, as live topics: the per-process fallback of :mod:`bot.live`.

A commit normally wakes connections itself (after commit, in-process or through Redis). What another
process wrote without reaching us — a second server or a worker without Redis, a command-line tool, a
publish lost while Redis was away — is found here instead: every server process asks SQL a few small
questions every couple of seconds, however many connections it holds (they used to ask once a second each).

* residents: out-of-turn messages with an id above the previous look (``bot.live.resident_topic``);
* the desk: the newest handoff change, note, and message in an open handoff's conversation.

Ids are handed out before commit, so a transaction may commit after a higher id was seen: each look
reads back :data:`LOOKBACK_IDS` ids and remembers which it has reported, so a late commit still counts.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.desk.store import OPEN_STATUSES
from bot.live import DESK_TOPIC, EVERYONE, resident_topic
from bot.storage import models

#: How far below the newest message id each look reads again (commits that arrive late).
LOOKBACK_IDS = 1000
#: Out-of-turn messages read per look at most; a bigger burst wakes everyone instead.
MAX_ROWS = 5000


class SqlChangeFeed:
    """``feed()`` → the topics changed since the previous call (nothing on the first: connections read SQL first)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._floor: int | None = None
        self._reported: set[int] = set()
        self._desk: tuple[object, ...] | None = None

    def __call__(self) -> set[str]:
        """Look once (a few indexed queries in one short read)."""
        with self._sessions() as session:
            newest = session.scalar(select(func.max(models.Message.id))) or 0
            if self._floor is None:  # the first look: connections read what is there already themselves
                self._floor = max(0, newest - LOOKBACK_IDS)
                self._residents(session)
                self._desk = self._desk_state(session)
                return set()
            topics = self._residents(session)
            desk = self._desk_state(session)
        if desk != self._desk:
            topics.add(DESK_TOPIC)
            self._desk = desk
        self._floor = max(self._floor, newest - LOOKBACK_IDS)
        self._reported = {message_id for message_id in self._reported if message_id > self._floor}
        return topics

    def _residents(self, session: Session) -> set[str]:
        assert self._floor is not None
        rows = session.execute(
            select(models.Message.id, models.Conversation.bot, models.Conversation.channel, models.Conversation.sender)
            .join(models.Conversation, models.Conversation.id == models.Message.conversation_id)
            .where(models.Message.id > self._floor, models.Message.out_of_turn.is_(True))
            .order_by(models.Message.id).limit(MAX_ROWS + 1)
        ).all()
        if len(rows) > MAX_ROWS:
            self._reported.update(row[0] for row in rows)
            return {EVERYONE}
        fresh = [row for row in rows if row[0] not in self._reported]
        self._reported.update(row[0] for row in fresh)
        return {resident_topic(bot, channel, sender) for _id, bot, channel, sender in fresh}

    @staticmethod
    def _desk_state(session: Session) -> tuple[object, ...]:
        """Changes whenever the console would show something new."""
        changed = session.scalar(select(func.max(models.HandoffRequest.updated_at)))
        notes = session.scalar(select(func.max(models.HandoffNote.id)))
        in_rooms = session.scalar(
            select(func.max(models.Message.id))
            .join(models.HandoffRequest, models.HandoffRequest.conversation_id == models.Message.conversation_id)
            .where(models.HandoffRequest.status.in_(OPEN_STATUSES)))
        return changed, notes, in_rooms
