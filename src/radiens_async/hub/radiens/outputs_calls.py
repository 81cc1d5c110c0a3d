"""``allego.AllegoCore`` calls: stimulation, recording triggers, digital and analog outputs (a mixin of :class:`AllegoCoreService`)."""

from __future__ import annotations

from radiens_async.hub.radiens.radiens_domain import RadiensDomain


class InstrumentOutputCalls:
    """AllegoCore methods for stimulation, recording triggers, digital and analog outputs, over ``self.domain``."""

    domain: RadiensDomain
