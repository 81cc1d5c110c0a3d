"""Linked datasets: file sources (XDAT native, other vendors through neo), their description as
:class:`~radiens_async.models.dataset_metadata.DatasetMetadata`, the persistent catalog, signal
metrics and Summa sessions."""
