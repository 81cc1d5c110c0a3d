"""One backend per wire protocol behind the same client methods.

A public client method validates its arguments and calls its backend; a backend builds the
requests of its protocol and converts the replies into the same pydantic models. The Allego
side's interface is :class:`~radiens_async.client.backends.allego_backend.AllegoBackend`;
``hub_allego`` speaks our ``radiens.v1`` hub protocol, ``radiens_allego`` the Radiens protocol
of the Allego app.
"""
