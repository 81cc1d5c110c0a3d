"""Background jobs of the hub: the Curate job runner and the chunked file pipeline."""
