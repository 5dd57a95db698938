"""Sealed secrets: secret slot values (a PIN, a password, a registration number), encrypted at rest.

A resident types a secret on the one-time secure form (:mod:`bot.secure_forms`); the values
are sealed at once and only a ``sealed:<id>`` reference travels on, through the conversation
state and the effect, to the effect handler that unseals them for one call. The clear values
are never written to messages, state or logs, and the sealed row is discarded once its effect
ended (or purged when it expires unused).

Encryption is Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``). The key is:

- the environment variable ``YORISOI_SECRET_KEY`` when it is set (a Fernet key, e.g. the output of
  ``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``);
- else the file ``<data_dir>/secret.key``, created with mode 0600 on first use.

The key file is only right for a single server (or servers sharing one ``data_dir``): several
servers sharing one database must all be given the same ``YORISOI_SECRET_KEY``, otherwise a
value sealed by one cannot be unsealed by another. Changing the key makes the values sealed
before unreadable (:meth:`SecretVault.unseal` returns None), which only affects forms being
filled in at that moment: sealed values live for minutes.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import stat
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot.storage import models

log = logging.getLogger(__name__)

#: The environment variable holding the deployment's key (required when servers share a database).
KEY_ENV = "YORISOI_SECRET_KEY"
#: The key file's name in the data directory, used when :data:`KEY_ENV` is not set.
KEY_FILE = "secret.key"
#: Version of the sealed plaintext's layout.
_FORMAT = 1


class SecretVault:
    """Seals secret values into the ``sealed_secrets`` table and opens them again (``bot.protocols.SecretOpener``).

    Each sealed row holds one Fernet token; the plaintext inside also names the row's id, so a
    ciphertext copied onto another row does not open there.
    """

    def __init__(self, sessions: sessionmaker[Session], key: bytes | str) -> None:
        self._sessions = sessions
        self._fernet = Fernet(key)

    def seal(self, conversation_id: str, values: Mapping[str, str], ttl: timedelta) -> str:
        """Encrypt and store ``values`` of ``conversation_id`` for ``ttl``; returns the sealed id."""
        if ttl <= timedelta(0):
            raise ValueError("a sealed secret needs a positive lifetime")
        clear = {str(name): str(value) for name, value in values.items()}
        sealed_id = secrets.token_hex(16)
        plaintext = json.dumps({"v": _FORMAT, "id": sealed_id, "values": clear}, ensure_ascii=False)
        now = datetime.now(UTC)
        row = models.SealedSecret(
            id=sealed_id, conversation_id=conversation_id,
            ciphertext=self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii"),
            expires_at=now + ttl, created_at=now,
        )
        with self._sessions.begin() as session:
            session.add(row)
        log.debug("sealed %d secret value(s) for a conversation", len(clear))
        return sealed_id

    def unseal(self, sealed_id: str, conversation_id: str | None = None) -> dict[str, str] | None:
        """The values sealed as ``sealed_id`` (in ``conversation_id`` when given: a forged id from another
        conversation opens nothing); None when missing, expired or unreadable (another key)."""
        now = datetime.now(UTC)
        where = [models.SealedSecret.id == sealed_id, models.SealedSecret.expires_at > now]
        if conversation_id is not None:
            where.append(models.SealedSecret.conversation_id == conversation_id)
        with self._sessions() as session:
            ciphertext = session.scalar(select(models.SealedSecret.ciphertext).where(*where))
        if ciphertext is None:
            return None
        try:
            data = json.loads(self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8"))
        except (InvalidToken, ValueError):
            log.warning("a sealed secret could not be decrypted (was %s changed?)", KEY_ENV)
            return None
        values = data.get("values") if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("id") != sealed_id or not isinstance(values, dict):
            log.warning("a sealed secret does not belong to its row; ignored")
            return None
        return {str(name): str(value) for name, value in values.items()}

    def discard(self, sealed_id: str) -> None:
        """Delete the sealed values (after their effect ended); unknown ids are ignored."""
        with self._sessions.begin() as session:
            session.execute(delete(models.SealedSecret).where(models.SealedSecret.id == sealed_id))

    def purge_expired(self) -> int:
        """Delete every sealed row past its expiry; returns how many were deleted."""
        now = datetime.now(UTC)
        with self._sessions.begin() as session:
            result = session.execute(delete(models.SealedSecret).where(models.SealedSecret.expires_at <= now))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]


def load_key(data_dir: Path, environ: Mapping[str, str] | None = None) -> bytes:
    """The deployment's key: ``YORISOI_SECRET_KEY``, else ``<data_dir>/secret.key`` (created on first use).

    Raises ValueError when the configured key is not a Fernet key (the message never quotes it).
    """
    env = os.environ if environ is None else environ
    configured = env.get(KEY_ENV, "").strip()
    if configured:
        return _checked(configured, KEY_ENV)
    path = data_dir / KEY_FILE
    if not path.exists():
        _create_key_file(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s can be read by other users (mode %o): chmod 600 it", path, mode)
    return _checked(path.read_text(encoding="ascii"), str(path))


def _checked(key: str, source: str) -> bytes:
    try:
        encoded = key.strip().encode("ascii")
        Fernet(encoded)
    except ValueError:
        raise ValueError(f"{source} is not a Fernet key (32 url-safe base64-encoded bytes)") from None
    return encoded


def _create_key_file(path: Path) -> None:
    """Write a new key to ``path`` (mode 0600) unless another process just did: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(Fernet.generate_key() + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(draft, path)  # fails if the key exists: the first process to create it wins
        except FileExistsError:
            pass
        else:
            log.info("created a new secret key in %s (set %s when servers share a database)", path, KEY_ENV)
    finally:
        draft.unlink(missing_ok=True)
