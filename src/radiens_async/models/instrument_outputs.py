"""Results of the instrument-output calls that closed-loop code measures itself with.

The documented getters return plain dicts (``get_stim_params``, ``get_digital_out_states``,
``get_analog_out_settings``); the calls that *act* report the stream sample at which their effect
starts, so a controller can compute its reaction latency in samples.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StimTrigger(BaseModel):
    """What ``set_manual_stim_trigger`` did.

    Attributes
    ----------
    sample_index : int
        The stream sample at which the trigger was applied (the first sample acquired after
        the call reached the device).
    fired_sys_chan_idxs : tuple of int
        Stim channels whose stimulus starts from this trigger.
    first_pulse_sample : tuple of int
        For each fired channel, the first sample of its first pulse (after the post-trigger
        delay).
    refractory_sys_chan_idxs : tuple of int
        Channels armed for this trigger that ignored it (train running or refractory period).
    trigger_level : bool
        The keypress level after this toggle.
    stream_epoch : int
        Which stream the sample index belongs to (it restarts at 0 with every stream).
    """

    model_config = ConfigDict(frozen=True)

    sample_index: int
    fired_sys_chan_idxs: tuple[int, ...]
    first_pulse_sample: tuple[int, ...]
    refractory_sys_chan_idxs: tuple[int, ...]
    trigger_level: bool
    stream_epoch: int
