"""Power spectral density of a window of signals, as ``signals().get_psd`` returns it."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from radiens_async.errors import InvalidArgument
from radiens_async.models.channel_metadata import ChannelMetadata
from radiens_async.models.dataset_metadata import DatasetMetadata, TimeRange, make_time_range
from radiens_async.utils.enums import FftWindow, PsdScaling, SignalType

__all__ = ["PSD"]


class PSD(BaseModel):
    """A PSD: ``psd`` is float64 ``(channels, frequency bins)`` in µV²/Hz.

    ``frequencies`` are the bin frequencies (Hz); ``freq_range`` is
    ``[first, last + freq_bin_width)``; ``samp_freq`` the rate the PSD was computed at.

    Examples
    --------
    >>> psd = await videre.signals().get_psd([0, 10], dataset_metadata=meta)  # doctest: +SKIP
    >>> psd.psd.shape, psd.freq_bin_width  # doctest: +SKIP
    ((32, 300), 1.0)
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    dsource_id: str
    window_type: FftWindow
    scaling: PsdScaling
    freq_bin_width: float
    channel_metadata: ChannelMetadata
    time_range: TimeRange
    psd: npt.NDArray[np.float64] = Field(repr=False)
    frequencies: npt.NDArray[np.float64] = Field(repr=False)
    samp_freq: float = 0.0

    @property
    def TR(self) -> TimeRange:
        """Alias of :attr:`time_range`."""
        return self.time_range

    @property
    def freq_range(self) -> npt.NDArray[np.float64]:
        """``[first frequency, last frequency + bin width)``."""
        return np.array([self.frequencies[0], self.frequencies[-1] + self.freq_bin_width])

    @property
    def units(self) -> dict[SignalType, str]:
        """``{SignalType.AMP: 'μV²/Hz', ...}``.

        Raises
        ------
        NotImplementedError
            For a scaling other than ABSOLUTE.
        """
        if self.scaling != PsdScaling.ABSOLUTE:
            raise NotImplementedError(f"units of {self.scaling} scaling")
        return {
            SignalType.AMP: "μV²/Hz",
            SignalType.AIN: "V²/Hz",
            SignalType.DIN: "Bin²/Hz",
            SignalType.DOUT: "Bin²/Hz",
        }

    @property
    def attributes(self) -> dict[str, Any]:
        return {
            "dsource_id": self.dsource_id,
            "window_type": self.window_type,
            "scaling": self.scaling,
            "freq_bin_width": self.freq_bin_width,
            "TR": self.time_range,
        }

    def save(self, file: str | Path) -> Path:
        """Write an ``.npz`` file (another suffix is replaced, with a warning).

        Keys: ``psd``, ``freq``, ``freq_range``, ``freq_bin_width``, ``dsource_id``, ``wdw_type``,
        ``scaling``, ``time_range_sec``, ``time_range_ts``.

        Returns
        -------
        Path
            The file written.

        Examples
        --------
        >>> psd.save('/tmp/psd.npz')  # doctest: +SKIP
        """
        path = Path(file).expanduser()
        if path.suffix != ".npz":
            warnings.warn(
                f"file extension {path.suffix} will be replaced with .npz",
                UserWarning,
                stacklevel=2,
            )
            path = path.with_suffix(".npz")
        with path.open("wb") as f:
            np.savez(
                f,
                psd=self.psd,
                freq=self.frequencies,
                freq_range=self.freq_range,
                freq_bin_width=self.freq_bin_width,
                dsource_id=self.dsource_id,
                wdw_type=int(self.window_type),
                scaling=int(self.scaling),
                time_range_sec=self.time_range.sec,
                time_range_ts=self.time_range.timestamp,
                fs=self.time_range.fs,
                samp_freq=self.samp_freq,
            )
        return path

    @classmethod
    def load(cls, file: str | Path, dataset_metadata: DatasetMetadata | None = None) -> PSD:
        """Read a PSD written by :meth:`save`, checking it against the dataset.

        Raises
        ------
        FileNotFoundError
            ``'file not found: <f>'``.
        InvalidArgument
            No dataset metadata, a different dataset ID, or inconsistent contents.

        Examples
        --------
        >>> PSD.load('/tmp/psd.npz', meta).psd.shape  # doctest: +SKIP
        (32, 300)
        """
        if dataset_metadata is None:
            raise InvalidArgument("videre: dataset_metadata must be provided to load from file")
        path = Path(file).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"file not found: {path}")
        with np.load(path) as z:
            if str(z["dsource_id"]) != dataset_metadata.id:
                raise InvalidArgument(
                    f"PSD file is of dataset {z['dsource_id']}, not {dataset_metadata.id}"
                )
            psd, freq, fr = z["psd"], z["freq"], z["freq_range"]
            if freq.size != psd.shape[1]:
                raise InvalidArgument("PSD file: freq.size does not match psd.shape[1]")
            if fr.size != 2:
                raise InvalidArgument("PSD file: freq_range must have 2 elements")
            if freq.size and (freq.min() < fr[0] or freq.max() >= fr[1]):
                raise InvalidArgument("PSD file: freq_range does not cover all frequencies")
            tr = make_time_range(timestamp=z["time_range_ts"], fs=float(z["fs"]))
            return cls(
                dsource_id=str(z["dsource_id"]),
                window_type=FftWindow(int(z["wdw_type"])),
                scaling=PsdScaling(int(z["scaling"])),
                freq_bin_width=float(z["freq_bin_width"]),
                channel_metadata=dataset_metadata.channel_metadata,
                time_range=tr,
                psd=psd,
                frequencies=freq,
                samp_freq=float(z["samp_freq"]),
            )
