"""``mixcore play SESSION --midi-in PORT [-o OUT] [--profile P] [--learn TARGET] [--record NEW.toml]``."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import MixcoreError
from . import plugin_path

NAME = "play"
HELP = "block-streamed render while a MIDI controller moves parameters; learn maps, record the moves"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("session", type=Path)
    p.add_argument("--midi-in", required=True, metavar="PORT", help="MIDI input port name")
    p.add_argument("-o", "--output", type=Path,
                   help="write the performance to this file (default: the sound card, needs 'sounddevice')")
    p.add_argument("--profile", type=Path, help="controller profile (TOML [[map]] entries)")
    p.add_argument("--learn", action="append", default=[], metavar="TARGET",
                   help="map the next moved control to TARGET (e.g. vocal.gain_db); repeatable")
    p.add_argument("--save-profile", type=Path, help="write the maps (profile + learned) to this TOML file")
    p.add_argument("--record", type=Path, metavar="NEW.toml",
                   help="write the session with the moves as automation lanes (renders to the same bytes)")
    p.add_argument("--block-size", type=int, default=512)
    p.add_argument("--no-realtime", action="store_true", help="do not pace the render to the clock")
    plugin_path.add_argument(p)


def run(args: argparse.Namespace) -> int:
    from ..live import LivePlayer, load_profile, open_midi_input, save_profile
    from ..session import load_session

    plugin_path.apply(args)
    session = load_session(args.session)
    maps = load_profile(args.profile) if args.profile else []
    if args.record is not None and args.record.resolve() == args.session.resolve():
        raise MixcoreError(f"--record: {args.record} is the session being played; choose a new file")
    port = open_midi_input(args.midi_in)
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
        port.close()
    if args.save_profile is not None:
        save_profile(args.save_profile, player.maps)
    if args.record is not None:
        player.recorded_session().save(args.record)
        print(f"recorded {sum(len(v) - 1 for v in player.points.values())} moves into {args.record}")
    return 0
