"""Which conversation an event belongs to. One customer, one conversation: an event is keyed
on the customer's phone where it has one, else on their business-scoped user id (BSUID),
and an event that carries both links the BSUID to the phone's conversation, so that the
customer's later BSUID-only events meet there too. A changed number (a system notice) links
the new number to the conversation.

Links to a phone are few (changed numbers) and all kept in memory; links of BSUIDs are one
per customer, so only the recent ones are, and the others are read from the store.
"""

from __future__ import annotations

from collections import OrderedDict

from actors.conversation.keys import conversation_id
from actors.conversation.messages import Identity
from storage.rows import Alias
from storage.store import Store

RECENT_BSUIDS = 100_000


class Resolver:
    def __init__(self, store: Store, recent: int = RECENT_BSUIDS) -> None:
        self._store = store
        self._phones: dict[tuple[str, str], str] = {}
        self._bsuids: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._recent = recent

    async def start(self) -> None:
        for alias in await self._store.aliases("phone"):
            self._phones[(alias.business_id, alias.key)] = alias.conversation_id

    def for_phone(self, business_id: str, phone: str) -> str:
        return self._phones.get((business_id, phone)) or conversation_id(business_id, phone)

    async def conversation_of(self, who: Identity) -> tuple[str, list[Alias]]:
        """The event's conversation, and the links it teaches (to store with it)."""
        business = who.business_id
        if who.phone:
            cid = self.for_phone(business, who.phone)
            if who.bsuid and self._bsuids.get((business, who.bsuid)) != cid:
                return cid, [Alias(business, "bsuid", who.bsuid, cid)]
            return cid, []
        bsuid = who.bsuid or who.customer_id
        known = self._bsuids.get((business, bsuid))
        if known is None:
            known = await self._store.alias(business, "bsuid", bsuid)
            if known is not None:
                self._remember_bsuid(business, bsuid, known)
        return known or conversation_id(business, bsuid), []

    def learned(self, aliases: list[Alias]) -> None:
        """Links now stored: later events follow them."""
        for alias in aliases:
            if alias.kind == "phone":
                self._phones[(alias.business_id, alias.key)] = alias.conversation_id
            else:
                self._remember_bsuid(alias.business_id, alias.key, alias.conversation_id)

    def _remember_bsuid(self, business: str, bsuid: str, cid: str) -> None:
        self._bsuids[(business, bsuid)] = cid
        self._bsuids.move_to_end((business, bsuid))
        while len(self._bsuids) > self._recent:
            self._bsuids.popitem(last=False)
