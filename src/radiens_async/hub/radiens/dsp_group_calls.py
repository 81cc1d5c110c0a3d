"""``allego.AllegoCore`` calls: GetDSPGroup, SetDSPGroup (a mixin of :class:`AllegoCoreService`)."""

from __future__ import annotations

from radiens_async.hub.radiens.radiens_domain import RadiensDomain


class DspGroupCalls:
    """AllegoCore methods for GetDSPGroup, SetDSPGroup, over ``self.domain``."""

    domain: RadiensDomain
