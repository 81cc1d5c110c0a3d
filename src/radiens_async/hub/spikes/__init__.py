"""Live spike detection and online sorting for the hub (pure numpy; no gRPC, no asyncio).

The hub builds one :class:`SpikeEngine` per stream, feeds it every acquired block from one
thread, and serves the spike-sorter and spikes APIs from it:

======================  ==========================================================
module                  job
======================  ==========================================================
``spike_engine``        the facade: :class:`SpikeEngine`, :class:`SpikeBatch`
``spike_params``        parameter snapshot, validation, server defaults, get_params
``spike_band_filter``   causal 300-3000 Hz band-pass for all channels at once
``noise_estimator``     robust (MAD) noise SD, tracked online
``spike_detector``      threshold crossings, peak alignment, shadow, artifact rejection
``online_sorter``       per-channel template matching and template discovery
``waveform_shifts``     comparing waveforms at sub-sample shifts
``spike_clustering``    the offline clustering used to discover templates
``spike_store``         the numbered ring buffer of recent spikes
======================  ==========================================================
"""

from __future__ import annotations

from radiens_async.hub.spikes.spike_engine import SpikeBatch, SpikeEngine

__all__ = ["SpikeBatch", "SpikeEngine"]
