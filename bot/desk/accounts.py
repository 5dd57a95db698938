"""Staff-console accounts and login sessions.

Passwords are hashed with Argon2id; a session token is random and only its SHA-256 is
stored, so a leaked database does not let anyone log in. Tokens work as a bearer token
and as the console's cookie.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.desk.views import LoginSession, StaffUser
from bot.enums import ACCOUNT_ROLES, Role
from bot.storage import models
from bot.types import DeskError

__all__ = ["AccountError", "Accounts", "LoginSession", "StaffUser"]

#: The account roles in the order messages list them.
ROLES = tuple(role for role in Role if role in ACCOUNT_ROLES)
SESSION_HOURS = 12
#: Wrong passwords in a row before the account must wait ``LOCK_MINUTES`` (guessing gets slow).
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
MIN_PASSWORD_CHARS = 8
_hasher = PasswordHasher()
#: Verified against when the user does not exist, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class AccountError(ValueError):
    """A user could not be created or changed (the message says why)."""


class Accounts:
    """Users and sessions in SQL (``bot.protocols.StaffAuth``)."""

    def __init__(self, sessions: sessionmaker[Session], *, languages: tuple[str, ...]) -> None:
        self._sessions = sessions
        self._languages = languages

    def create_user(
        self, username: str, password: str, role: Role | str, *, display_name: str | None = None,
        language: str = "ja", interprets: tuple[str, ...] = (), replace: bool = False,
    ) -> StaffUser:
        """Create (or with ``replace`` reset) an account; AccountError for bad values or a taken name.

        ``role`` is one of :data:`bot.enums.ACCOUNT_ROLES` (or its string, as typed on the command line).
        """
        username = username.strip()
        if not username or len(username) > 64 or not username.replace("_", "").replace("-", "").isalnum():
            raise AccountError("a username is 1-64 letters, digits, '-' or '_'")
        if role not in ACCOUNT_ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD_CHARS:
            raise AccountError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
        unknown = [code for code in (language, *interprets) if code not in self._languages]
        if unknown:
            raise AccountError(f"unknown language {unknown[0]!r}; use one of {', '.join(self._languages)}")
        values = {"display_name": (display_name or username)[:64], "password_hash": _hasher.hash(password),
                  "role": Role(role), "language": language, "interprets": list(interprets), "active": True,
                  "failed_logins": 0, "locked_until": None}
        with self._sessions.begin() as session:
            row = session.scalar(select(models.User).where(models.User.username == username))
            if row is not None and not replace:
                raise AccountError(f"the user {username!r} exists already")
            if row is None:
                row = models.User(username=username, **values)
                session.add(row)
            else:
                for name, value in values.items():
                    setattr(row, name, value)
                session.execute(delete(models.StaffSession).where(models.StaffSession.user_id == row.id))
            try:
                session.flush()
            except IntegrityError:
                raise AccountError(f"the user {username!r} exists already") from None
            return _user(row)

    def login(self, username: str, password: str) -> LoginSession | None:
        """A new session for the right password; None otherwise (same time either way).

        After ``MAX_FAILED_LOGINS`` wrong passwords in a row the account refuses every login for
        ``LOCK_MINUTES`` (DeskError 429), so a password cannot be guessed quickly.
        """
        now = datetime.now(UTC)
        with self._sessions.begin() as session:
            row = session.scalar(select(models.User).where(models.User.username == username.strip()))
            if row is None or not row.active:
                _verify(_DUMMY_HASH, password)
                return None
            if row.locked_until is not None and _aware(row.locked_until) > now:
                raise DeskError(429, "too_many_attempts",
                                f"too many wrong passwords: try again after {LOCK_MINUTES} minutes")
            if not _verify(row.password_hash, password):
                row.failed_logins = (row.failed_logins or 0) + 1
                if row.failed_logins >= MAX_FAILED_LOGINS:
                    row.failed_logins, row.locked_until = 0, now + timedelta(minutes=LOCK_MINUTES)
                return None
            row.failed_logins, row.locked_until = 0, None
            if _hasher.check_needs_rehash(row.password_hash):
                row.password_hash = _hasher.hash(password)
            token = secrets.token_urlsafe(32)
            expires = datetime.now(UTC) + timedelta(hours=SESSION_HOURS)
            session.add(models.StaffSession(token_hash=_token_hash(token), user_id=row.id, expires_at=expires))
            return LoginSession(token, _user(row), expires)

    def user_for_token(self, token: str) -> StaffUser | None:
        """The user of a valid, unexpired session token."""
        if not token or len(token) > 200:
            return None
        with self._sessions() as session:
            found = session.execute(
                select(models.User, models.StaffSession.expires_at)
                .join(models.StaffSession, models.StaffSession.user_id == models.User.id)
                .where(models.StaffSession.token_hash == _token_hash(token))
            ).first()
            if found is None:
                return None
            user, expires = found
            expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
            if expires <= datetime.now(UTC) or not user.active:
                return None
            return _user(user)

    def logout(self, token: str) -> None:
        """End a session (unknown tokens are ignored)."""
        with self._sessions.begin() as session:
            session.execute(delete(models.StaffSession).where(models.StaffSession.token_hash == _token_hash(token)))

    def user(self, username: str) -> StaffUser | None:
        """The active user called ``username``."""
        with self._sessions() as session:
            row = session.scalar(select(models.User).where(models.User.username == username,
                                                           models.User.active.is_(True)))
            return None if row is None else _user(row)

    def users(self, role: Role | None = None) -> list[StaffUser]:
        """Active users, optionally of one role, by username."""
        with self._sessions() as session:
            query = select(models.User).where(models.User.active.is_(True)).order_by(models.User.username)
            if role is not None:
                query = query.where(models.User.role == role)
            return [_user(row) for row in session.scalars(query)]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _user(row: models.User) -> StaffUser:
    return StaffUser(row.id, row.username, row.display_name, Role(row.role), row.language,
                     tuple(row.interprets or ()))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
