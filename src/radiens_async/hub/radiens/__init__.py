"""The Radiens wire protocol (package ``allego``) served over the hub's domain objects.

With ``--radiens-ports`` the hub also listens where an Allego app does (localhost:50051-50055)
and answers the official services there, translated onto the same device, cache, sorter and
workspaces as our own ``radiens.v1`` services: one instrument, two protocols.
"""
