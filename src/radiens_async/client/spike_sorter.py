"""``client.spike_sorter()``: the hub's live spike detector and sorter (async source of truth)."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

import pandas as pd

from radiens_async.client.backends.allego_backend import SpikeSorterBackend
from radiens_async.client.backends.arguments import SorterCommand, SorterParam
from radiens_async.errors import InvalidArgument
from radiens_async.models.channel_metadata import ChannelMetadata
from radiens_async.models.spike_sorter import Dashboard, SorterState
from radiens_async.utils.enums import SignalType

# documented command codes
CMD_ON: Final = 0
CMD_OFF: Final = 1
CMD_CLEAR_SORT: Final = 2
CMD_REBASE: Final = 4
CMD_INIT: Final = 5
THR_LEVEL: Final = 1
THR_LEVEL_SD: Final = 4
THR_WDW: Final = 8
WEAK_THR_LEVEL: Final = 10
WEAK_THR_LEVEL_SD: Final = 13
SHADOW: Final = 17
THR_ACTIVATE: Final = 19
WEAK_THR_ACTIVATE: Final = 21

_LEVEL_COMMANDS: Final = {
    ("uV", False): THR_LEVEL,
    ("sd", False): THR_LEVEL_SD,
    ("uV", True): WEAK_THR_LEVEL,
    ("sd", True): WEAK_THR_LEVEL_SD,
}


def _fmt_level(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _on_off(name: str, value: Any) -> bool | None:
    if value is None:
        return None
    if value not in ("on", "off"):
        raise InvalidArgument(f"{name} must be ``on`` or ``off``")
    return bool(value == "on")


def _magnitude(name: str, value: Any) -> float | None:
    """A threshold level as given: a finite magnitude > 0 (the sign comes from the slot)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidArgument(f"{name} must be a finite number, got {value!r}")
    if value <= 0:
        raise InvalidArgument(
            f"{name} must be a positive magnitude, got {value!r} "
            f"(neg_thr=85 sets a -85 threshold; pos_thr=85 a +85 one)"
        )
    return float(value)


class AsyncSpikeSorterClient:
    """The spike sorter of the hub's live stream (``AsyncAllegoClient.spike_sorter()``).

    Detection runs on every amplifier channel while streaming; the sorter assigns unit labels
    when sorting is on. Thresholds are set in µV or in multiples of each channel's robust noise
    SD, armed per channel; the spike window and the shadow (dead time) in ms.

    Examples
    --------
    >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
    ...     sorter = allego.spike_sorter()
    ...     await sorter.set_threshold_level(neg_thr=5, scale="sd")
    ...     await sorter.set_threshold(neg_thr="on")
    ...     await sorter.set_sorting("on")
    """

    def __init__(
        self,
        backend: Callable[[], Awaitable[SpikeSorterBackend]],
        channel_metadata: Callable[[], Awaitable[ChannelMetadata]],
    ) -> None:
        # the parent hands over how to reach its (opened) backend, not itself: the sub-client
        # needs nothing else of it
        self._backend = backend
        self._channel_metadata = channel_metadata

    async def _command(self, command: int) -> None:
        await (await self._backend()).sorter_command(SorterCommand(command))

    async def _param(
        self, command: int, floats: Sequence[float], bools: Sequence[bool], ntv_idxs: Sequence[int]
    ) -> None:
        backend = await self._backend()
        await backend.set_sorter_param(SorterParam(command), floats, bools, ntv_idxs)

    async def _amp_ntv_idxs(
        self, ntv_idxs: Sequence[int] | None, channel_meta: ChannelMetadata | None
    ) -> list[int]:
        if channel_meta is None:
            channel_meta = await self._channel_metadata()
        elif not isinstance(channel_meta, ChannelMetadata):
            raise InvalidArgument("channel metadata must be of type ChannelMetadata")
        if ntv_idxs is None:
            return list(channel_meta.index(SignalType.AMP).ntv)
        if not isinstance(ntv_idxs, list | tuple):
            raise InvalidArgument(f"ntv_idxs must be a list, got {type(ntv_idxs).__name__}")
        return [int(i) for i in ntv_idxs]

    async def initialize(self) -> None:
        """Stops, clears, and initializes the spike sorter to its default parameters.

        Examples
        --------
        >>> await allego.spike_sorter().initialize()  # doctest: +SKIP
        """
        await self._command(CMD_INIT)

    async def rebase(self) -> None:
        """Rebases the spike sorter, which clears all spike data and spike templates.

        Examples
        --------
        >>> await allego.spike_sorter().rebase()  # doctest: +SKIP
        """
        await self._command(CMD_REBASE)

    async def clear_spikes(self) -> None:
        """Clears all spike data, keeping the sorting settings and spike templates.

        Examples
        --------
        >>> await allego.spike_sorter().clear_spikes()  # doctest: +SKIP
        """
        await self._command(CMD_CLEAR_SORT)

    async def set_sorting(self, mode: str) -> None:
        """Sets spike sorting ``'on'`` or ``'off'`` (exact, lower case).

        Raises
        ------
        InvalidArgument
            (a ``ValueError``) ``"mode must be in ['on', 'off']"`` for anything else.

        Examples
        --------
        >>> await allego.spike_sorter().set_sorting("on")  # doctest: +SKIP
        """
        if mode not in ("on", "off"):
            raise InvalidArgument("mode must be in ['on', 'off']")
        await self._command(CMD_ON if mode == "on" else CMD_OFF)

    async def set_threshold_level(
        self,
        neg_thr: float | None = None,
        pos_thr: float | None = None,
        scale: str = "uV",
        ntv_idxs: list[int] | None = None,
        weak_thr: bool = False,
        channel_meta: ChannelMetadata | None = None,
    ) -> str:
        """Sets spike detection threshold levels; does not arm or disarm them.

        Parameters
        ----------
        neg_thr, pos_thr : float, optional
            Magnitudes (> 0) of the negative and positive thresholds; ``neg_thr=85`` detects
            below -85. None leaves that threshold unchanged.
        scale : {'uV', 'sd'}
            Levels in µV or in multiples of each channel's noise SD.
        ntv_idxs : list of int, optional
            Amplifier native indices (default all).
        weak_thr : bool
            Set the weak (artifact-rejection) threshold instead: a detected waveform that goes
            past it is discarded.
        channel_meta : ChannelMetadata, optional
            The connected channels (default: fetched).

        Returns
        -------
        str
            ``'[<N> channels] <detect|weak>: neg thr=<v|n/a> <scale>, pos thr=<v|n/a> <scale>'``.

        Examples
        --------
        >>> await allego.spike_sorter().set_threshold_level(neg_thr=85)  # doctest: +SKIP
        '[32 channels] detect: neg thr=85.00 uV, pos thr=n/a uV'
        """
        if neg_thr is None and pos_thr is None:
            return "no new threshold levels were requested so none were changed"
        command = _LEVEL_COMMANDS.get((scale, weak_thr)) if isinstance(weak_thr, bool) else None
        if command is None:
            raise InvalidArgument("scale must be `uV` | `sd` and/or weak_thr must be True | False")
        neg = _magnitude("neg_thr", neg_thr)
        pos = _magnitude("pos_thr", pos_thr)
        idxs = await self._amp_ntv_idxs(ntv_idxs, channel_meta)
        await self._param(
            command, [-(neg or 0.0), pos or 0.0], [neg is not None, pos is not None], idxs
        )
        label = "weak" if weak_thr else "detect"
        return (
            f"[{len(idxs)} channels] {label}: neg thr={_fmt_level(neg)} {scale}, "
            f"pos thr={_fmt_level(pos)} {scale}"
        )

    async def set_threshold(
        self,
        neg_thr: str | None = None,
        pos_thr: str | None = None,
        ntv_idxs: list[int] | None = None,
        weak_thr: bool = False,
        channel_meta: ChannelMetadata | None = None,
    ) -> str:
        """Arms (``'on'``) or disarms (``'off'``) the negative and/or positive threshold.

        Returns
        -------
        str
            ``'[<N> channels] <detect|weak>: neg thr=<on|off|n/a>, pos thr=<on|off|n/a>'``.

        Examples
        --------
        >>> await allego.spike_sorter().set_threshold(neg_thr="on")  # doctest: +SKIP
        '[32 channels] detect: neg thr=on, pos thr=n/a'
        """
        if neg_thr is None and pos_thr is None:
            return "no new threshold states were requested so none were changed"
        neg = _on_off("neg_thr", neg_thr)
        pos = _on_off("pos_thr", pos_thr)
        if not isinstance(weak_thr, bool):
            raise InvalidArgument("weak_thr must be True | False")
        idxs = await self._amp_ntv_idxs(ntv_idxs, channel_meta)
        command = WEAK_THR_ACTIVATE if weak_thr else THR_ACTIVATE
        await self._param(
            command, [float(bool(neg)), float(bool(pos))], [neg is not None, pos is not None], idxs
        )
        label = "weak" if weak_thr else "detect"
        states = f"neg thr={neg_thr or 'n/a'}, pos thr={pos_thr or 'n/a'}"
        return f"[{len(idxs)} channels] {label}: {states}"

    async def set_spike_window(
        self, pre_thr_ms: float | None = None, post_thr_ms: float | None = None
    ) -> str:
        """Sets the spike window: ms before and after the threshold crossing (each in (0, 10]).

        None keeps the current value.

        Returns
        -------
        str
            ``'[<N> channels] window: pre-thr=<ms>, post-thr=<ms>, total=<ms> ms [<n> points]'``.

        Examples
        --------
        >>> await allego.spike_sorter().set_spike_window(0.5, 1.0)  # doctest: +SKIP
        '[32 channels] window: pre-thr=0.50, post-thr=1.00, total=1.50 ms [45 points]'
        """
        params = await self.get_params()
        if params.empty:
            return "no connected channels, spike window was not changed"
        current = params.iloc[0]["thr_wdw"]
        pre = float(current[0]) if pre_thr_ms is None else _window_ms("pre_thr_ms", pre_thr_ms)
        post = float(current[1]) if post_thr_ms is None else _window_ms("post_thr_ms", post_thr_ms)
        await self._param(THR_WDW, [pre / 1000.0, post / 1000.0], [True, True], [])
        row = (await self.get_params()).iloc[0]
        total_ms = float(row["thr_wdw"][2])
        points = int(row["thr_wdw_pts"][2])
        return (
            f"[{len(params)} channels] window: pre-thr={pre:.2f}, post-thr={post:.2f}, "
            f"total={total_ms:.2f} ms [{points} points]"
        )

    async def set_spike_shadow(self, shadow_ms: float | None = None) -> str:
        """Sets the shadow window: the time skipped after each detection, in ms (0, 10].

        None keeps the current value.

        Returns
        -------
        str
            ``'[<N> channels] shadow window: <ms>  ms [<n> points]'``.

        Examples
        --------
        >>> await allego.spike_sorter().set_spike_shadow(1.5)  # doctest: +SKIP
        '[32 channels] shadow window: 1.50  ms [45 points]'
        """
        params = await self.get_params()
        if params.empty:
            return "no connected channels, spike shadow window was not changed"
        shadow = (
            float(params.iloc[0]["shadow"])
            if shadow_ms is None
            else _window_ms("shadow_ms", shadow_ms)
        )
        await self._param(SHADOW, [shadow / 1000.0, 0.0], [True, False], [])
        points = int((await self.get_params()).iloc[0]["shadow_pts"])
        return f"[{len(params)} channels] shadow window: {shadow:.2f}  ms [{points} points]"

    async def get_params(self) -> pd.DataFrame:
        """The sorter parameters, one row per amplifier channel.

        Columns: ``ntv_idx``, ``chan_enabled``, ``thr_activated`` ([neg, pos]), ``thr`` ([neg,
        pos] µV), ``thr_sd`` ([neg, pos] noise SDs), ``thr_wdw`` ([pre, post, total] ms),
        ``shadow`` (ms), ``weak_thr`` ([neg, pos] µV), ``thr_wdw_pts``, ``shadow_pts``,
        ``weak_thr_activated`` and ``weak_thr_sd``.

        Examples
        --------
        >>> (await allego.spike_sorter().get_params()).loc[0, "thr"]  # doctest: +SKIP
        array([-85.,  85.])
        """
        return await (await self._backend()).get_sorter_params()

    async def get_state(self) -> SorterState:
        """The sorter state; ``.state`` is the documented one-column table.

        Examples
        --------
        >>> (await allego.spike_sorter().get_state()).state  # doctest: +SKIP
        """
        return await (await self._backend()).get_sorter_state()

    async def get_dashboard(self) -> Dashboard:
        """The sorter dashboard: ``.general``, ``.summary_stats`` and ``.state`` tables.

        Examples
        --------
        >>> (await allego.spike_sorter().get_dashboard()).summary_stats  # doctest: +SKIP
        """
        return await (await self._backend()).get_sorter_dashboard()


def _window_ms(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidArgument(f"{name} must be a number of ms, got {value!r}")
    if not 0 < value <= 10:
        raise InvalidArgument(f"{name} must be in (0, 10] ms, got {value}")
    return float(value)
