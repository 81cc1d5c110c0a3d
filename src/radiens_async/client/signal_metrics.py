"""``client.signal_metrics()``: signal metrics (KPI) of linked datasets and of the live stream.

Metrics are computed on the hub per packet (``set_packet_duration``) of every amplifier channel,
with the event (spike) thresholds, window and shadow set here. On a Videre client they address a
dataset (``dataset_metadata``); on an Allego client the live cache, where ``time_range`` is a lag
in seconds from the cache head (default 5 s).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from radiens_async.client.backends.allego_backend import LiveSignalMetricsBackend
from radiens_async.client.backends.arguments import MetricsParam
from radiens_async.client.backends.hub_dataset_calls import HubDatasetCalls
from radiens_async.client.base import AsyncHubClient
from radiens_async.client.signals import dataset_id_of
from radiens_async.client.videre_calls import VidereCalls
from radiens_async.errors import FailedPrecondition, InvalidArgument
from radiens_async.models.channel_metadata import ChannelMetadata
from radiens_async.models.dataset_metadata import DatasetMetadata, TimeRange
from radiens_async.models.signal_metrics import MetricID, SignalMetrics, SignalMetricsStatus
from radiens_async.utils.enums import MetricMode, MetricName

__all__ = ["AsyncSignalMetricsClient"]

THR_LEVEL, THR_LEVEL_SD, THR_WDW = 1, 4, 8
WEAK_THR_LEVEL, WEAK_THR_LEVEL_SD, SHADOW = 10, 13, 17
THR_ACTIVATE, WEAK_THR_ACTIVATE = 19, 21
_LEVEL_COMMANDS = {
    ("uV", False): THR_LEVEL,
    ("sd", False): THR_LEVEL_SD,
    ("uV", True): WEAK_THR_LEVEL,
    ("sd", True): WEAK_THR_LEVEL_SD,
}


def _magnitude(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidArgument(f"{name} must be a finite number, got {value!r}")
    if value <= 0:
        raise InvalidArgument(
            f"{name} must be a positive magnitude, got {value!r} (neg_thr=85 sets a -85 threshold)"
        )
    return float(value)


def _on_off(name: str, value: Any) -> bool | None:
    if value is None:
        return None
    if value not in ("on", "off"):
        raise InvalidArgument(f"{name} must be ``on`` or ``off``")
    return bool(value == "on")


def _is_scalar(value: Any) -> bool:
    return (
        isinstance(value, int | float | np.number)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _metric_ids(metrics: Sequence[Any] | None) -> list[MetricID]:
    if metrics is None:
        return []
    out = []
    for m in metrics:
        if isinstance(m, MetricID) or (isinstance(m, tuple) and len(m) == 2):
            mode, name = MetricMode.parse(m[0]), MetricName.parse(m[1])
        else:
            mode, name = MetricMode.BASE, MetricName.parse(m)
        out.append(MetricID(mode, name))
    return out


class AsyncSignalMetricsClient:
    """Signal metrics (``AsyncVidereClient.signal_metrics()``, ``AsyncAllegoClient...()``).

    Examples
    --------
    >>> async with AsyncVidereClient() as videre:  # doctest: +SKIP
    ...     meta = await videre.link_data_file('/data/rec_0.xdat')
    ...     m = await videre.signal_metrics().get_metrics(dataset_metadata=meta, plot=False)
    """

    def __init__(
        self,
        parent: AsyncHubClient,
        live: Callable[[], Awaitable[LiveSignalMetricsBackend]] | None = None,
    ) -> None:
        # live: how an Allego client reaches its backend (None: a dataset client)
        self._parent = parent
        self._live = live

    def _dataset_id(self, dataset_metadata: Any) -> str:
        return dataset_id_of(self._live is not None, dataset_metadata)

    async def _call(self, method: str, request: Any) -> Any:
        """A raw call of the hub's ``radiens.v1`` SignalMetrics service (tests send requests
        the public methods would refuse)."""
        return await VidereCalls(self._parent._transport).call("metrics", method, request)

    def _datasets(self) -> HubDatasetCalls:
        # the datasets of our hub (a Videre backend of the Radiens protocol slots in here later)
        return HubDatasetCalls(self._parent._transport)

    async def _set(
        self,
        command: int,
        floats: Sequence[float],
        bools: Sequence[bool],
        ntv_idxs: Sequence[int],
        dataset_metadata: Any,
    ) -> pd.DataFrame:
        """Set one parameter; the parameters after it (one row per channel)."""
        dataset_id = self._dataset_id(dataset_metadata)
        if self._live is not None:
            backend = await self._live()
            return await backend.set_metrics_param(MetricsParam(command), floats, bools, ntv_idxs)
        return await self._datasets().set_metrics_param(
            dataset_id, command, floats, bools, ntv_idxs
        )

    @staticmethod
    def _ntv(ntv_idxs: Any) -> list[int]:
        if ntv_idxs is None:
            return []
        if isinstance(ntv_idxs, int | np.integer) and not isinstance(ntv_idxs, bool):
            return [int(ntv_idxs)]
        if isinstance(ntv_idxs, list | tuple | np.ndarray):
            return [int(i) for i in np.asarray(ntv_idxs).reshape(-1)]
        raise InvalidArgument(f"ntv_idxs must be a list, array or scalar, got {ntv_idxs!r}")

    # -- scans --------------------------------------------------------------------------
    async def clear(
        self, dataset_metadata: DatasetMetadata | None = None, hub_name: str = "default"
    ) -> None:
        """Clears the signal metrics of a dataset (its scan and parameters).

        Raises
        ------
        FailedPrecondition
            On an Allego client (``'metrics clear is not available for allego'``).

        Examples
        --------
        >>> await videre.signal_metrics().clear(meta)  # doctest: +SKIP
        """
        self._parent._check_hub(hub_name)
        if self._live is not None:
            raise FailedPrecondition("metrics clear is not available for allego")
        await self._datasets().metrics_clear(self._dataset_id(dataset_metadata))

    async def calculate(
        self,
        dataset_metadata: DatasetMetadata | None = None,
        hub_name: str = "default",
        cmd: str = "standard",
    ) -> None:
        """Calculates the signal metrics of a linked dataset in the background.

        Parameters
        ----------
        dataset_metadata : DatasetMetadata
        cmd : {'standard', 'custom'}
            ``standard`` resets the thresholds to ±2.0 x V_rms (both armed); ``custom`` uses the
            current parameters.

        Raises
        ------
        InvalidArgument
            ``cmd must be `standard` or `custom```.
        FailedPrecondition
            On an Allego client (metrics are computed on demand there).

        Examples
        --------
        >>> await videre.signal_metrics().calculate(meta)  # doctest: +SKIP
        """
        self._parent._check_hub(hub_name)
        if self._live is not None:
            raise FailedPrecondition("metrics calculate is not available for allego")
        if cmd not in ("standard", "custom"):
            raise InvalidArgument("cmd must be `standard` or `custom`")
        await self._datasets().metrics_calculate(self._dataset_id(dataset_metadata), cmd)

    # -- parameters ---------------------------------------------------------------------
    async def set_event_threshold_level(
        self,
        neg_thr: float | None = None,
        pos_thr: float | None = None,
        scale: str = "uV",
        ntv_idxs: Any = None,
        weak_thr: bool = False,
        dataset_metadata: DatasetMetadata | None = None,
        hub_name: str = "default",
        channel_meta: ChannelMetadata | None = None,
    ) -> str:
        """Sets the event (spike) threshold levels; does not arm or disarm them.

        Parameters
        ----------
        neg_thr, pos_thr : float, optional
            Magnitudes (> 0); ``neg_thr=85`` detects below -85. None keeps that level.
        scale : {'uV', 'sd'}
            µV, or multiples of each channel's noise (NOISE_UV) per packet.
        ntv_idxs : list, array or int, optional
            Amplifier native indices (default all).
        weak_thr : bool
            Set the weak (artifact-rejection) level instead.
        dataset_metadata : DatasetMetadata
            Required for Videre.
        channel_meta : ChannelMetadata, optional
            Unused (the hub knows the channels); accepted for compatibility.

        Returns
        -------
        str
            ``'[<N> channels] <detect|weak>: neg thr=<v|n/a> <scale>, pos thr=<v|n/a> <scale>'``.

        Examples
        --------
        >>> await videre.signal_metrics().set_event_threshold_level(
        ...     neg_thr=85, dataset_metadata=meta)  # doctest: +SKIP
        '[32 channels] detect: neg thr=85.00 uV, pos thr=n/a uV'
        """
        self._parent._check_hub(hub_name)
        if neg_thr is None and pos_thr is None:
            return "no new threshold levels were requested so none were changed"
        command = _LEVEL_COMMANDS.get((scale, weak_thr)) if isinstance(weak_thr, bool) else None
        if command is None:
            raise InvalidArgument("scale must be `uV` | `sd` and/or weak_thr must be True | False")
        neg, pos = _magnitude("neg_thr", neg_thr), _magnitude("pos_thr", pos_thr)
        idxs = self._ntv(ntv_idxs)
        reply = await self._set(
            command,
            [-(neg or 0.0), pos or 0.0],
            [neg is not None, pos is not None],
            idxs,
            dataset_metadata,
        )
        n = len(idxs) or len(reply)
        label = "weak" if weak_thr else "detect"
        fmt = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
        return f"[{n} channels] {label}: neg thr={fmt(neg)} {scale}, pos thr={fmt(pos)} {scale}"

    async def set_event_threshold(
        self,
        neg_thr: str | None = None,
        pos_thr: str | None = None,
        ntv_idxs: Any = None,
        weak_thr: bool = False,
        dataset_metadata: DatasetMetadata | None = None,
        hub_name: str = "default",
        channel_metadata: ChannelMetadata | None = None,
    ) -> str:
        """Arms (``'on'``) or disarms (``'off'``) the event thresholds.

        Returns
        -------
        str
            ``'[<N> channels] <detect|weak>: neg thr=<on|off|n/a>, pos thr=<on|off|n/a>'``.

        Raises
        ------
        InvalidArgument
            A value other than ``'on'`` / ``'off'``; ``weak_thr`` not a bool.

        Examples
        --------
        >>> metrics = videre.signal_metrics()
        >>> await metrics.set_event_threshold(neg_thr='on', dataset_metadata=meta)  # doctest: +SKIP
        '[32 channels] detect: neg thr=on, pos thr=n/a'
        """
        self._parent._check_hub(hub_name)
        if neg_thr is None and pos_thr is None:
            return "no new threshold states were requested so none were changed"
        neg, pos = _on_off("neg_thr", neg_thr), _on_off("pos_thr", pos_thr)
        if not isinstance(weak_thr, bool):
            raise InvalidArgument("weak_thr must be True | False")
        command = WEAK_THR_ACTIVATE if weak_thr else THR_ACTIVATE
        idxs = self._ntv(ntv_idxs)
        reply = await self._set(
            command,
            [1.0 if neg else 0.0, 1.0 if pos else 0.0],
            [neg is not None, pos is not None],
            idxs,
            dataset_metadata,
        )
        n = len(idxs) or len(reply)
        label = "weak" if weak_thr else "detect"
        return f"[{n} channels] {label}: neg thr={neg_thr or 'n/a'}, pos thr={pos_thr or 'n/a'}"

    async def set_event_window(
        self,
        pre_ms: float,
        post_ms: float,
        dataset_metadata: DatasetMetadata | None = None,
        hub_name: str = "default",
        channel_metadata: ChannelMetadata | None = None,
    ) -> str:
        """Sets the event window: ``pre_ms`` before and ``post_ms`` after the crossing.

        Returns
        -------
        str
            ``'[<N> channels] event window: pre-threshold=<pre> ms, post-threshold=<post> ms'``;
            ``'pre_ms and post_ms are required scalars'`` for non-scalar input (nothing is sent).

        Raises
        ------
        InvalidArgument
            A window outside [0, 10] ms.

        Examples
        --------
        >>> await videre.signal_metrics().set_event_window(2, 2, meta)  # doctest: +SKIP
        '[32 channels] event window: pre-threshold=2 ms, post-threshold=2 ms'
        """
        self._parent._check_hub(hub_name)
        if not (_is_scalar(pre_ms) and _is_scalar(post_ms)):
            return "pre_ms and post_ms are required scalars"
        reply = await self._set(
            THR_WDW, [pre_ms / 1e3, post_ms / 1e3], [True, True], [], dataset_metadata
        )
        return (
            f"[{len(reply)} channels] event window: pre-threshold={pre_ms:g} ms,"
            f" post-threshold={post_ms:g} ms"
        )

    async def set_event_shadow(
        self,
        shadow_ms: float,
        dataset_metadata: DatasetMetadata | None = None,
        channel_metadata: ChannelMetadata | None = None,
        hub_name: str = "default",
    ) -> str:
        """Sets the event shadow (dead time after an event) in milliseconds.

        Returns
        -------
        str
            ``'[<N> channels] event shadow <x> ms,'``; ``'shadow_ms is a required scalar'`` for
            non-scalar input.

        Raises
        ------
        InvalidArgument
            A shadow outside (0, 10] ms.

        Examples
        --------
        >>> await videre.signal_metrics().set_event_shadow(1, meta)  # doctest: +SKIP
        '[32 channels] event shadow 1 ms,'
        """
        self._parent._check_hub(hub_name)
        if not _is_scalar(shadow_ms):
            return "shadow_ms is a required scalar"
        reply = await self._set(SHADOW, [shadow_ms / 1e3, 0.0], [True, False], [], dataset_metadata)
        return f"[{len(reply)} channels] event shadow {shadow_ms:g} ms,"

    async def set_packet_duration(
        self,
        packet_dur_sec: float,
        dataset_metadata: DatasetMetadata | None = None,
        hub_name: str = "default",
    ) -> str:
        """Sets the signal metrics packet duration in seconds (a running scan restarts).

        Returns
        -------
        str
            ``'[<N> channels] packet duration <x> sec'``; ``'packet_dur_sec is a required
            scalar'`` for non-scalar input.

        Raises
        ------
        InvalidArgument
            A duration that is not in (0, 3600] s.

        Examples
        --------
        >>> await videre.signal_metrics().set_packet_duration(0.5, meta)  # doctest: +SKIP
        '[32 channels] packet duration 0.5 sec'
        """
        self._parent._check_hub(hub_name)
        if not _is_scalar(packet_dur_sec):
            return "packet_dur_sec is a required scalar"
        dataset_id = self._dataset_id(dataset_metadata)
        if self._live is not None:
            reply = await (await self._live()).set_metrics_packet_duration(float(packet_dur_sec))
        else:
            reply = await self._datasets().set_metrics_packet_duration(
                dataset_id, float(packet_dur_sec)
            )
        return f"[{len(reply)} channels] packet duration {packet_dur_sec:g} sec"

    async def get_params(
        self, dataset_metadata: DatasetMetadata | None = None, hub_name: str = "default"
    ) -> pd.DataFrame:
        """Returns the signal metrics parameters as a table (one row per amplifier channel).

        Examples
        --------
        >>> (await videre.signal_metrics().get_params(meta))[['ntv_idx', 'thr']]  # doctest: +SKIP
        """
        self._parent._check_hub(hub_name)
        dataset_id = self._dataset_id(dataset_metadata)
        if self._live is not None:
            return await (await self._live()).get_metrics_params()
        return await self._datasets().get_metrics_params(dataset_id)

    async def get_metrics_status(
        self, dataset_metadata: DatasetMetadata | None = None, hub_name: str = "default"
    ) -> SignalMetricsStatus:
        """Returns the status of the signal metrics of a dataset (or of the live cache).

        Examples
        --------
        >>> (await videre.signal_metrics().get_metrics_status(meta)).is_complete  # doctest: +SKIP
        True
        """
        self._parent._check_hub(hub_name)
        dataset_id = self._dataset_id(dataset_metadata)
        if self._live is not None:
            return await (await self._live()).get_metrics_status()
        return await self._datasets().get_metrics_status(dataset_id)

    async def get_metrics(
        self,
        time_range: float | Sequence[float] | npt.NDArray[Any] | TimeRange | None = None,
        metrics: Sequence[Any] | None = None,
        ntv_idxs: Any = None,
        tail: bool = True,
        plot: bool = True,
        file: str | Path | None = None,
        data: bool = True,
        dataset_metadata: DatasetMetadata | None = None,
        hub_name: str = "default",
        channel_metadata: ChannelMetadata | None = None,
    ) -> SignalMetrics:
        """Gets the requested signal metrics of every amplifier channel, packet by packet.

        Parameters
        ----------
        time_range : float, list, ndarray or TimeRange, optional
            Allego: a lag in seconds from the cache head (default 5 s). Videre: ``[start, end]``
            in seconds of dataset stream time (default the whole dataset).
        metrics : list, optional
            ``MetricID(mode, name)`` / ``(mode, name)`` tuples or ``MetricName`` (BASE mode).
            Default: BASE RMS, NOISE_UV, MAX_MIN_DIFF_ABS, SNR, EVENT_RATE,
            EVENT_MEAN_MAX_MIN_DIFF_ABS.
        ntv_idxs : ignored
            Metrics always cover every amplifier channel (as documented).
        tail : bool
            Include the last, partial packet (default True).
        plot : bool
            Draw the metrics (needs matplotlib; default True).
        file : str or Path, optional
            Save the plot to this image file (implies drawing it).
        data : bool
            Accepted for compatibility; the values are always returned.
        dataset_metadata : DatasetMetadata
            Required for Videre.

        Returns
        -------
        SignalMetrics
            ``val`` (packets x channels x metrics), ``metric_ids``, ``packet_idxs``, ``TR``.

        Raises
        ------
        InvalidArgument
            A malformed or out-of-data time range, an unknown metric.

        Examples
        --------
        >>> m = await videre.signal_metrics().get_metrics(
        ...     [0, 10], metrics=[MetricName.RMS], plot=False, dataset_metadata=meta)
        ... # doctest: +SKIP
        >>> m.val.shape  # doctest: +SKIP
        (10, 32, 1)
        """
        self._parent._check_hub(hub_name)
        live = self._live is not None
        dataset_id = self._dataset_id(dataset_metadata)
        sec: list[float] = []
        if time_range is not None:
            if live:
                if not _is_scalar(time_range):
                    raise InvalidArgument(
                        "allego: time_range must be None or scalar lag time (sec) from head of"
                        " primary cache"
                    )
                sec = [float(time_range)]  # type: ignore[arg-type]
            elif isinstance(time_range, TimeRange):
                sec = time_range.sec.tolist()
            else:
                if isinstance(time_range, list | np.ndarray):
                    sec = np.asarray(time_range, np.float64).reshape(-1).tolist()
                if len(sec) != 2:  # also any other type (sec stays empty)
                    raise InvalidArgument(
                        "videre: time_range must be None or [start, end] (sec) with respect to"
                        " datasource time range"
                    )
        if (
            live
            and channel_metadata is not None
            and not isinstance(channel_metadata, ChannelMetadata)
        ):
            raise InvalidArgument("allego: channel metadata must be None or a ChannelMetadata")
        metric_ids = _metric_ids(metrics)
        walltime = ""
        if isinstance(dataset_metadata, DatasetMetadata) and dataset_metadata.TR.walltime.year > 1:
            walltime = dataset_metadata.TR.walltime.isoformat()
        if self._live is not None:
            backend = await self._live()
            result = await backend.get_metrics(sec[0] if sec else None, metric_ids, bool(tail))
            if walltime:  # metadata given on an Allego client only dates the packets
                result = result.model_copy(update={"walltime": walltime})
        else:
            result = await self._datasets().get_metrics(
                dataset_id, sec, metric_ids, bool(tail), walltime
            )
        if plot or file is not None:
            try:
                result.plot(file=file)
            except ImportError:
                if file is not None:
                    raise
                warnings.warn(
                    "matplotlib is not installed: no plot drawn (pip install"
                    " 'radiens-async[plot]', or pass plot=False)",
                    UserWarning,
                    stacklevel=2,
                )
        return result
