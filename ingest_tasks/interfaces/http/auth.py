"""API keys: each with a name and a scope, given to the server as SHA-256 digests only.

INGEST_API_KEYS lists NAME:SCOPE:SHA256 entries, comma-separated; `ingest apikey NAME
--scope SCOPE` makes a key and prints its entry. Scopes nest: read (search, status),
write (submit, delete, jobs) and admin (all). A request sends its key as
`Authorization: Bearer KEY` or `X-API-Key: KEY`; the status page keeps it in a cookie.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

READ, WRITE, ADMIN = "read", "write", "admin"
SCOPES = (READ, WRITE, ADMIN)
COOKIE = "ingest_key"
_DIGEST = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class ApiKey:
    """A key the server accepts: who holds it and what it may do."""

    name: str
    scope: str

    def allows(self, scope: str) -> bool:
        """True if this key's scope includes `scope`."""
        return SCOPES.index(self.scope) >= SCOPES.index(scope)


def digest(secret: str) -> str:
    """The SHA-256 hex digest a key is stored as."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_key(name: str, scope: str) -> tuple[str, str]:
    """A new secret key, and its INGEST_API_KEYS entry (the secret is not in it)."""
    entry = f"{name}:{scope}:"
    parse_keys(entry + "0" * 64)  # checks the name and the scope
    secret = "ik_" + secrets.token_urlsafe(32)
    return secret, entry + digest(secret)


def parse_keys(spec: str) -> dict[str, ApiKey]:
    """INGEST_API_KEYS as {digest: ApiKey}; a ValueError says which entry is wrong."""
    keys = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        name, _, rest = entry.partition(":")
        scope, _, hexdigest = rest.partition(":")
        if not _NAME.fullmatch(name):
            raise ValueError(f"API key entry {name!r}: a name is 1-64 letters, digits, _ . -")
        if scope not in SCOPES:
            raise ValueError(f"API key {name}: scope {scope!r} is none of {', '.join(SCOPES)}")
        if not _DIGEST.fullmatch(hexdigest):
            raise ValueError(f"API key {name}: give the SHA-256 hex digest of the key, "
                             "as `ingest apikey` prints it, never the key itself")
        keys[hexdigest] = ApiKey(name, scope)
    return keys


_bearer = HTTPBearer(auto_error=False, description="an API key: Authorization: Bearer KEY")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key")


def presented(request: Request, bearer: HTTPAuthorizationCredentials | None,
              header: str | None) -> str | None:
    """The key a request carries: bearer token, X-API-Key header, or the page's cookie."""
    return (bearer.credentials if bearer else None) or header or request.cookies.get(COOKIE)


def known(request: Request, secret: str | None) -> ApiKey | None:
    """The server's ApiKey for a presented secret; None for none or an unknown one."""
    return request.app.state.keys.get(digest(secret)) if secret else None


def require(scope: str):
    """A route dependency: the request's ApiKey, if it holds `scope`; else 401 or 403."""

    def check(request: Request,
              bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
              header: Annotated[str | None, Depends(_header)]) -> ApiKey:
        secret = presented(request, bearer, header)
        if not secret:
            raise HTTPException(401, "an API key is needed: Authorization: Bearer KEY",
                                headers={"WWW-Authenticate": "Bearer"})
        key = known(request, secret)
        if key is None:
            raise HTTPException(401, "unknown API key", headers={"WWW-Authenticate": "Bearer"})
        if not key.allows(scope):
            raise HTTPException(403, f"API key {key.name} has scope {key.scope}; "
                                     f"this needs {scope}")
        return key

    return check


Reader = Annotated[ApiKey, Depends(require(READ))]
Writer = Annotated[ApiKey, Depends(require(WRITE))]
