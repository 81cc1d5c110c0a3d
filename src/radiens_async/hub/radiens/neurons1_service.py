"""``allego.Neurons1`` over the hub's domain (to be filled in)."""

from __future__ import annotations

from radiens_async._generated.allego import allegoserver_pb2_grpc
from radiens_async.hub.radiens.radiens_domain import RadiensDomain


class Neurons1Service(allegoserver_pb2_grpc.Neurons1Servicer):
    """``allego.Neurons1`` of an Allego app, translated onto the hub's domain objects."""

    def __init__(self, domain: RadiensDomain) -> None:
        self.domain = domain
