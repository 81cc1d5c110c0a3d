"""``allego.AllegoCore`` calls: GetSignalGroupIDs, GetSignalGroup, UpdateSignalGroup (a mixin of :class:`AllegoCoreService`)."""

from __future__ import annotations

from radiens_async.hub.radiens.radiens_domain import RadiensDomain


class SignalGroupCalls:
    """AllegoCore methods for GetSignalGroupIDs, GetSignalGroup, UpdateSignalGroup, over ``self.domain``."""

    domain: RadiensDomain
