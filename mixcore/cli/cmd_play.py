"""``mixcore play SESSION [--midi-in PORT | --midi-file FILE] [-o OUT] [--profile P] [--learn TARGET]
[--record NEW.toml]``: without --midi-in or --midi-file the session just plays."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import MixcoreError
from . import plugin_path

NAME = "play"
HELP = "block-streamed render while a MIDI controller moves parameters; learn maps, record the moves"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("session", type=Path, help="the session file (TOML) to play")
    p.add_argument("--midi-in", metavar="PORT", help="MIDI input port name (leave out to play without one)")
    p.add_argument("-o", "--output", type=Path,
                   help="write the performance to this file (default: the sound card, needs 'sounddevice')")
    p.add_argument("--profile", type=Path, help="controller profile (TOML [[map]] entries)")
    p.add_argument("--learn", action="append", default=[], metavar="TARGET",
                   help="map the next moved control to TARGET (e.g. vocal.gain_db); repeatable")
    p.add_argument("--save-profile", type=Path, help="write the maps (profile + learned) to this TOML file")
    p.add_argument("--record", type=Path, metavar="NEW.toml",
                   help="write the session with the moves as automation lanes (renders to the same bytes)")
    p.add_argument("--block-size", type=int, default=512,
                   help="samples per block (default 512); controller moves apply at block starts")
    p.add_argument("--no-realtime", action="store_true", help="do not pace the render to the clock")
    p.add_argument("--midi-file", type=Path, metavar="FILE",
                   help="a MIDI file as the controller: its messages arrive at their times in the song "
                        "(no MIDI system needed)")
    plugin_path.add_argument(p)


def run(args: argparse.Namespace) -> int:
    from ..live import LivePlayer, load_profile, open_midi_input, save_profile
    from ..session import load_session

    plugin_path.apply(args)
    session = load_session(args.session)
    maps = load_profile(args.profile) if args.profile else []
    if args.record is not None and args.record.resolve() == args.session.resolve():
        raise MixcoreError(f"--record: {args.record} is the session being played; choose a new file")
    if args.midi_in is not None and args.midi_file is not None:
        raise MixcoreError("--midi-file: give --midi-in or --midi-file, not both")
    if args.midi_file is not None:
        from ..live import MidiFileInput

        port = MidiFileInput(args.midi_file, session.model.tempo_bpm)
    elif args.midi_in is not None:
        port = open_midi_input(args.midi_in)
    else:
        port = None
        if args.learn:
            raise MixcoreError("--learn: needs a controller: --midi-in PORT or --midi-file FILE")
    player = LivePlayer(session, port, maps, learn=args.learn, block_size=args.block_size,
                        realtime=not args.no_realtime)
    try:
        if args.output is not None:
            player.render(args.output)
        else:
            try:
                import sounddevice as sd
            except ImportError:
                raise MixcoreError("no -o given and 'sounddevice' is not installed: pip install sounddevice, "
                                   "or write to a file with -o") from None
            with sd.OutputStream(samplerate=session.sample_rate, channels=2, dtype="float32",
                                 blocksize=args.block_size) as out:
                for block in player.stream():
                    out.write(block.T.copy())
    finally:
        if port is not None:
            port.close()
    if args.save_profile is not None:
        save_profile(args.save_profile, player.maps)
    if args.record is not None:
        player.recorded_session().save(args.record)
        print(f"recorded {sum(len(v) - 1 for v in player.points.values())} moves into {args.record}")
    return 0
