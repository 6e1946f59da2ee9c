"""The user's data as plain values for exports."""

from __future__ import annotations

from typing import Any

from paperreader.core.models import UserData


def user_dict(user: UserData | None) -> dict[str, Any] | None:
    if user is None or user.is_empty:
        return None
    out: dict[str, Any] = {
        "bookmarked": user.bookmarked,
        "state": user.state.value,
        "tags": user.tags,
    }
    if user.note and user.note.text.strip():
        out["note"] = {
            "text": user.note.text,
            "created": user.note.created.isoformat(),
            "updated": user.note.updated.isoformat(),
        }
    return out
