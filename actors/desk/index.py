"""The desk's index of open sessions: the queue (oldest first, ties by arrival), who holds
which chat, and who handled each last. It takes news of sessions in any order and keeps the
newest (by `rev`), and an ended session never comes back."""

from __future__ import annotations

from datetime import datetime

import msgspec

from storage.views import SessionView

RECENT_ENDS = 50_000


class _Entry(msgspec.Struct):
    arrival: int  # ties of `state_since` go by the order the desk learnt of the sessions
    session: SessionView


class SessionIndex:
    def __init__(self) -> None:
        self._open: dict[str, _Entry] = {}
        self._arrivals = 0
        self._ended: dict[str, None] = {}  # recent ends, so that late news cannot revive them

    def __len__(self) -> int:
        return len(self._open)

    def __contains__(self, session_id: str) -> bool:
        return session_id in self._open

    def get(self, session_id: str) -> SessionView | None:
        entry = self._open.get(session_id)
        return None if entry is None else entry.session

    def clear(self) -> None:
        self._open.clear()

    def apply(self, session: SessionView) -> None:
        """Take news of a session, unless it is older than what the index knows."""
        known = self._open.get(session.id)
        if known is not None and known.session.rev > session.rev:
            return
        if session.status == "ended":
            self._open.pop(session.id, None)
            self._ended[session.id] = None
            if len(self._ended) > RECENT_ENDS:
                del self._ended[next(iter(self._ended))]
            return
        if session.id in self._ended:
            return
        if known is None:
            self._arrivals += 1
            self._open[session.id] = _Entry(self._arrivals, session)
        else:
            known.session = session

    def forget(self, session_id: str) -> None:
        self._open.pop(session_id, None)

    def held_by(self, operator_id: str) -> list[str]:
        return [sid for sid, e in self._open.items() if e.session.agent_id == operator_id]

    def waiting(self) -> list[SessionView]:
        """The queue: sessions waiting for an operator, oldest first."""
        entries: list[tuple[datetime, int, SessionView]] = [
            (e.session.state_since, e.arrival, e.session)
            for e in self._open.values()
            if e.session.chat_state == "waiting_assignment"
        ]
        entries.sort(key=lambda t: (t[0], t[1]))
        return [s for _, _, s in entries]
