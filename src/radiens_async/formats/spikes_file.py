"""``.spikes``, the spikes file set: a writer and a reader usable without any hub.

A set sits next to the recording its spikes were found in (``<dir>/<base>.xdat`` ->
``<dir>/<base>.spikes.json`` + binaries) and holds, per spike, its sample index, amplifier
channel (ntv index), unit label (0 = unlabeled) and waveform (µV)::

    <base>.spikes.json        metadata (SpikesFileMetadata)
    <base>_timestamp.spikes   int64    (n_spikes,)
    <base>_channel.spikes     int32    (n_spikes,)
    <base>_label.spikes       int32    (n_spikes,)
    <base>_waveform.spikes    float32  (n_spikes, n_pts), C order

Binaries are headerless little-endian; the metadata is rewritten atomically while writing, so a
set in progress (or left by a killed writer) always opens. See ``docs/spikes-format.md``; Kilosort /
phy output converts to a set with :func:`radiens_async.formats.kilosort.convert_kilosort_output`.

Examples
--------
>>> from radiens_async.formats.spikes_file import SpikesReader, SpikesWriter
>>> with SpikesWriter("/tmp/spk/rec_0.xdat", 30000.0, n_pts=60, pre_pts=20) as w:
... # doctest: +SKIP
...     w.append([100, 250], channel=[0, 3], label=[1, 0], waveform=np.zeros((2, 60)))
>>> with SpikesReader("/tmp/spk/rec_0.xdat") as r:  # doctest: +SKIP
...     r.timestamps(labeled_only=True)
array([100])
"""

from __future__ import annotations

from radiens_async.formats.spikes_metadata import (
    BINARY_DTYPES,
    SPIKES_SUFFIX,
    SpikesChannel,
    SpikesFileMetadata,
    SpikesPaths,
    SpikesProvenance,
    SpikesUnit,
    channels_from_xdat,
    load_spikes_metadata,
    spikes_paths,
)
from radiens_async.formats.spikes_reader import ChannelFilter, SpikesReader, TimeRange
from radiens_async.formats.spikes_writer import LIVE_SORTER_PROVENANCE, SpikesWriter

__all__ = [
    "BINARY_DTYPES",
    "LIVE_SORTER_PROVENANCE",
    "SPIKES_SUFFIX",
    "ChannelFilter",
    "SpikesChannel",
    "SpikesFileMetadata",
    "SpikesPaths",
    "SpikesProvenance",
    "SpikesReader",
    "SpikesUnit",
    "SpikesWriter",
    "TimeRange",
    "channels_from_xdat",
    "load_spikes_metadata",
    "spikes_paths",
]
