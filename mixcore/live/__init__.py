"""Live control: MIDI controllers moving parameters during a block-streamed render, learned maps,
recorded takes that re-render offline to the same bytes."""
from .player import LivePlayer, MidiFileInput, open_midi_input
from .profile import ControllerMap, load_profile, save_profile

__all__ = ["LivePlayer", "MidiFileInput", "open_midi_input", "ControllerMap", "load_profile", "save_profile"]
