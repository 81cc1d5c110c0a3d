"""``allego.AllegoCore`` over the hub's domain (to be filled in)."""

from __future__ import annotations

from radiens_async._generated.allego import allegoserver_pb2_grpc
from radiens_async.hub.radiens.radiens_domain import RadiensDomain


class AllegoCoreService(allegoserver_pb2_grpc.AllegoCoreServicer):
    """``allego.AllegoCore`` of an Allego app, translated onto the hub's domain objects."""

    def __init__(self, domain: RadiensDomain) -> None:
        self.domain = domain
