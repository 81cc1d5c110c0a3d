"""Record 3 s of simulated spikes, link the recording, and analyse it offline with Videre.

Shows the documented blocking API (``VidereClient``): link a file, read a window of signals,
its PSD (computed on the hub), signal metrics per packet, and a Summa session.

    python examples/videre_analysis.py
"""

from __future__ import annotations

import os
import tempfile
import time

import radiens_async as radiens
from radiens_async.utils import MetricName, make_signal_selector


def record(directory: str) -> str:
    allego = radiens.AllegoClient()
    allego.restart("sim-spikes")
    allego.set_recording_config(directory, "example", 0, False)
    allego.set_streaming("on")
    allego.set_recording("on")
    time.sleep(3.0)
    allego.set_recording("off")
    allego.set_streaming("off")
    name = next(f for f in os.listdir(directory) if f.endswith(".xdat.json"))
    return os.path.join(directory, name.removesuffix(".json"))


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = record(directory)
        videre = radiens.VidereClient()
        meta = videre.link_data_file(path, calc_metrics=False)
        print(meta)
        t0 = float(meta.TR.sec[0])
        sig = videre.signals().get_signals(
            [t0 + 1.0, t0 + 2.0], sig_sel=make_signal_selector(amp=[0, 1, 2]), dataset_metadata=meta
        )
        print("signals:", sig.signals.amp.shape, "µV, time range", sig.TR.sec.tolist())
        psd = videre.signals().get_psd([t0, t0 + 3.0], freq_range=[1, 300], dataset_metadata=meta)
        print("PSD:", psd.psd.shape, f"bins of {psd.freq_bin_width:g} Hz")
        metrics = videre.signal_metrics().get_metrics(
            metrics=[MetricName.RMS, MetricName.EVENT_RATE], plot=False, dataset_metadata=meta
        )
        print(metrics.to_dataframe().groupby("ntv_idx").mean().head())
        videre.summa_launch_session_analysis("example", [meta.id], 1.0)
        while not videre.summa_session_status("example").is_complete:
            time.sleep(0.1)
        print(videre.summa_get_session_aggregate_statistics("example").aggregate_table)
        videre.summa_clear_sessions()
        videre.clear_dataset(dataset_id=meta.id)


if __name__ == "__main__":
    main()
