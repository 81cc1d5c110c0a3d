"""Radiens protocol spike-sorter messages (``Neurons1``) -> sorter params, state and dashboard.

Windows and the shadow travel in seconds (radiens-core); the documented tables give them in ms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import pandas as pd

from radiens_async._generated.allego import common_pb2, spikesorter_pb2
from radiens_async.models.spike_sorter import PARAMS_COLUMNS, Dashboard, PortSummary, SorterState
from radiens_async.utils.constants import SPIKE_SORTER_ID
from radiens_async.utils.enums import Port

__all__ = [
    "dashboard_to_model",
    "set_param_request",
    "sorter_params_frame",
    "state_to_model",
]


def set_param_request(
    command: int, values: Sequence[float], flags: Sequence[bool], ntv_idxs: Sequence[int]
) -> common_pb2.SpikeSorterSetParamsRequest:
    """One ``SpikeSorterSetParams`` request of the live sorter."""
    return common_pb2.SpikeSorterSetParamsRequest(
        params=[
            common_pb2.SpikeSorterSetParamRequest(
                spikeSorterID=SPIKE_SORTER_ID,
                cmd=cast("common_pb2.SpikeSorterParamCommand", int(command)),
                regFloat64=list(values),
                regBool=list(flags),
                ntvChanIdx=list(ntv_idxs),
            )
        ]
    )


def _ms(seconds: Sequence[float]) -> np.ndarray:
    return np.round(np.asarray(seconds, dtype=np.float64) * 1000.0, 5)


def sorter_params_frame(msg: spikesorter_pb2.GetSpikeSorterParamCommandReply) -> pd.DataFrame:
    """``SpikeSorterGetParam`` as the documented ``get_params()`` table (ms for windows)."""
    rows = [
        {
            "ntv_idx": r.ntvChanIdx,
            "chan_enabled": r.isEnabled,
            "thr_activated": np.array(r.isSetThr, dtype=bool),
            "thr": np.array(r.thr, dtype=np.float64),
            "thr_sd": np.array(r.thrSd, dtype=np.float64),
            "thr_wdw": _ms(r.thrWdw),
            "shadow": round(r.shadow * 1000.0, 5),
            "weak_thr": np.array(r.weakThr, dtype=np.float64),
            "thr_wdw_pts": np.array(r.thrWdwPts, dtype=np.int64),
            "shadow_pts": int(r.shadowPts),
            "weak_thr_activated": np.array(r.isSetWeakThr, dtype=bool),
            "weak_thr_sd": np.array(r.weakThrSd, dtype=np.float64),
        }
        for r in msg.rec
    ]
    return pd.DataFrame(rows, columns=list(PARAMS_COLUMNS))


def state_to_model(msg: spikesorter_pb2.SpikeSorterState) -> SorterState:
    """``SpikeSorterGetState`` as :class:`SorterState` (``mode`` is the ``SYS_*`` name).

    The Radiens state has no init/launch/session times: they read as 0 (never).
    """
    return SorterState(
        mode=spikesorter_pb2.SpikeSorterStateSystem.Name(msg.sys),
        frac_complete=msg.fracComplete,
        message=msg.msg,
        is_on=msg.isOn if msg.HasField("isOn") else msg.sys == spikesorter_pb2.SYS_ON,
        kernel_err_message=msg.errorMsg,
        kernel_warn_message=msg.warnMsg,
    )


def _stats(values: Sequence[float]) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def dashboard_to_model(msg: spikesorter_pb2.SpikeSorterDashboardReply) -> Dashboard:
    """``SpikeSorterGetDashboard`` (all elements asked for) as :class:`Dashboard`.

    Summary vectors are the 12-element SummaryStats vectors of ``siteStats`` (probe) and
    ``portStats`` (per port letter); ``neuronYield`` carries the unit counts.
    """
    g = msg.general
    tr = tuple(g.timeRange) if len(g.timeRange) >= 2 else (0.0, 0.0)
    site = msg.siteStats
    ports = tuple(Port(p).name for p in msg.enabledPorts)
    return Dashboard(
        ports=ports,
        time_range=(float(tr[0]), float(tr[1])),
        num_sites_total=g.numTotalSites,
        num_sites_enabled=g.numEnabledSites,
        num_sites_active=g.numActiveSites,
        num_units=g.numNeurons,
        num_spikes_processed=g.numSpikesProcessed,
        num_spikes_labeled=g.numSpikesLabeled,
        spikes_file_path=g.sinkDesc.path,
        spikes_file_base_name=g.sinkDesc.baseName,
        probe_snr=_stats(site.snr),
        probe_noise=_stats(site.noise),
        probe_units=_stats(site.neuronYield),
        port_stats=tuple(
            PortSummary(
                port=name,
                snr=_stats(p.snr),
                noise=_stats(p.noise),
                units=_stats(p.neuronYield),
            )
            for name, p in sorted(msg.portStats.items())
        ),
        sorter_state=state_to_model(g.state),
    )
