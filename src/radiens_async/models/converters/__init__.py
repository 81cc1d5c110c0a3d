"""Proto <-> model converters: the only code that touches both protobuf and the user models."""
