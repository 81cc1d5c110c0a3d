"""XDAT, the native Radiens recording format: a reader and a writer usable without any hub.

One recording is three files in one directory:

* ``<base>.xdat.json``: metadata (:class:`XdatMetadata`),
* ``<base>_data.xdat``: headerless float32 little-endian, C order, shape
  ``(n_samples, n_channels)`` (all channels of sample 0, then sample 1, ...),
* ``<base>_timestamp.xdat``: headerless int64, the sample index of every sample.

Values are stored already scaled: amplifier channels in µV, analog in in V, digital in/out as 0/1.
Files written here open in neo's ``NeuroNexusRawIO`` and SpikeInterface's ``read_neuronexus``.
See ``docs/xdat-format.md``.

Examples
--------
>>> from radiens_async.formats.xdat import XdatChannel, XdatReader, XdatWriter
>>> chans = [XdatChannel(name=f"A-{i:03d}", ntv_name=f"A-{i:03d}", signal_type="amp",
...                      ntv_idx=i, sys_idx=i) for i in range(4)]
>>> with XdatWriter("/tmp/xdat-example/rec_0", 30000.0, chans) as w:  # doctest: +SKIP
...     w.append(np.zeros((4, 3000), np.float32))
>>> with XdatReader("/tmp/xdat-example/rec_0.xdat") as r:  # doctest: +SKIP
...     r.read(0, 100, channels=[1, 2]).shape
(2, 100)
"""

from __future__ import annotations

from radiens_async.formats.xdat_metadata import (
    CHAN_TYPE_CODES,
    SIGNAL_UNITS,
    SignalKind,
    XdatChannel,
    XdatMetadata,
    XdatPaths,
    format_start_time,
    parse_start_time,
    signal_kind_of_code,
    xdat_paths,
)
from radiens_async.formats.xdat_reader import ChannelSelection, Layout, XdatReader
from radiens_async.formats.xdat_writer import XdatWriter

__all__ = [
    "CHAN_TYPE_CODES",
    "SIGNAL_UNITS",
    "ChannelSelection",
    "Layout",
    "SignalKind",
    "XdatChannel",
    "XdatMetadata",
    "XdatPaths",
    "XdatReader",
    "XdatWriter",
    "format_start_time",
    "parse_start_time",
    "signal_kind_of_code",
    "xdat_paths",
]
