"""What the webhook decoders hand to intake: one item per event of a webhook."""

from __future__ import annotations

import msgspec

from actors.conversation.messages import InboundEvent
from storage.rows import StatusRow


class IntakeItem(msgspec.Struct, frozen=True):
    """One event of a webhook: for a conversation (`event`), a delivery `status` (merged
    into its message as it is stored), or ignored with a `note`."""

    dedupe_key: str
    source: str
    event: InboundEvent | None = None
    status: StatusRow | None = None
    note_step: str | None = None
    note_status: str | None = None
    note_detail: str | None = None


class IntakeResult(msgspec.Struct):
    """The webhook's answer: new events stored, duplicates dropped, events ignored."""

    accepted: int = 0
    duplicates: int = 0
    ignored: int = 0
