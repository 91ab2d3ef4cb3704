"""LV2 hosting end to end through ``mixcore render``, on real Debian plugins (none written here):

* x42 ``balance`` (``trim`` in dB: y = x * 10^(trim/20)),
* x42 ``nodelay`` (a mono delay line of ``delay`` samples that reports it as its latency, or not),
* LSP ``limiter_stereo`` (a lookahead limiter reporting its latency), ``sc_compressor_stereo``
  (a compressor with a sidechain input),
* Calf ``MonoCompressor`` (mono, with LV2 presets; its binary is a symlink to /usr/lib/<triplet>/calf),
* Dragonfly Hall Reverb (requires the worker extension), x42 ``fil4`` (State extension properties).

.ci/run installs them (liblilv-0-0 x42-plugins lsp-plugins-lv2 calf-plugins dragonfly-reverb-lv2).
"""
from __future__ import annotations

import shutil
import tomllib

import numpy as np
import pytest
from helpers import cli, noise, read, write

import mixcore
from mixcore.errors import MixcoreError
from mixcore.hosting import make_hosted
from mixcore.hosting.lv2 import BLOCK

SR = 48000
BALANCE = "http://gareus.org/oss/lv2/balance"
NODELAY = "http://gareus.org/oss/lv2/nodelay"
LIMITER = "http://lsp-plug.in/plugins/lv2/limiter_stereo"
SC_COMP = "http://lsp-plug.in/plugins/lv2/sc_compressor_stereo"
COMP = "http://calf.sourceforge.net/plugins/MonoCompressor"


def session(tracks: str, extra: str = "") -> str:
    return f"sample_rate = {SR}\ntail_s = 0.0\n{tracks}\n{extra}"


def track(name: str, source: str, chain: str = "", more: str = "") -> str:
    return f'[[tracks]]\nname = "{name}"\nsource = "{source}"\n{more}\nchain = [{chain}]\n'


def render(tmp_path, toml: str, *args: str, name: str = "s"):
    (tmp_path / f"{name}.toml").write_text(toml)
    r = cli("render", f"{name}.toml", "-o", f"{name}.wav", "-q", *args, cwd=tmp_path)
    return r


def rendered(tmp_path, toml: str, *args: str, name: str = "s") -> np.ndarray:
    r = render(tmp_path, toml, *args, name=name)
    assert r.returncode == 0, r.stderr
    return read(tmp_path / f"{name}.wav")


def test_gain_plugin_matches_its_formula(tmp_path):
    x = noise(SR // 4, 2, seed=1)
    write(tmp_path / "x.wav", x)
    dry = rendered(tmp_path, session(track("a", "x.wav")), name="dry")
    gain = f'{{ type = "lv2", uri = "{BALANCE}", params = {{ trim = -7.5 }} }}'
    wet = rendered(tmp_path, session(track("a", "x.wav", gain)))
    assert np.abs(dry).max() > 0.1
    np.testing.assert_allclose(wet, dry * 10 ** (-7.5 / 20), rtol=0, atol=2e-7)


def test_output_independent_of_block_size_and_threads(tmp_path):
    write(tmp_path / "x.wav", noise(SR // 3, 2, seed=2, level=0.9))
    write(tmp_path / "m.wav", noise(SR // 3, 1, seed=3, level=0.9))
    chain = (f'{{ type = "lv2", uri = "{LIMITER}", params = {{ th = 0.3 }} }}, '
             f'{{ type = "lv2", uri = "{BALANCE}", id = "b", params = {{ trim = 3.0 }} }}, '
             f'{{ type = "lv2", uri = "{NODELAY}", id = "d", params = {{ delay = 77 }} }}')
    toml = session(track("a", "x.wav", chain) + track("m", "m.wav", f'{{ type = "lv2", uri = "{COMP}" }}'))
    outs = []
    for bs, th in ((64, 1), (512, 2), (16384, 1), (100, 2)):
        r = render(tmp_path, toml, "--block-size", str(bs), "--threads", str(th), name=f"s{bs}")
        assert r.returncode == 0, r.stderr
        outs.append((tmp_path / f"s{bs}.wav").read_bytes())
    assert len(set(outs)) == 1


def test_reported_latency_is_compensated_against_a_dry_parallel_path(tmp_path):
    x = noise(SR // 4, 2, seed=4)
    write(tmp_path / "x.wav", x)
    # nodelay delays by 1234 samples and reports it: with the dry path inverted the mix is silence
    nd = (f'{{ type = "lv2", uri = "{NODELAY}", '
          f'params = {{ delay = 1234, report_latency = "Delay and report latency" }} }}')
    mix = rendered(tmp_path, session(track("wet", "x.wav", nd) + track("dry", "x.wav", more="polarity_invert = true")))
    assert np.abs(mix).max() == 0.0
    # the same delay not reported: a 1234-sample offset (the check would catch a wrong report)
    nd0 = nd.replace('"Delay and report latency"', "0")
    y = rendered(tmp_path, session(track("wet", "x.wav", nd0)), name="late")
    np.testing.assert_array_equal(y[:, 1234:], x[:, :-1234])
    # LSP's lookahead limiter below its threshold: the output lines up with the input to the sample
    lim = rendered(tmp_path, session(track("a", "x.wav", f'{{ type = "lv2", uri = "{LIMITER}" }}')), name="lim")
    c = [float(np.dot(lim[0, 2000:-2000], x[0, 2000 + k:x.shape[1] - 2000 + k])) for k in range(-300, 301)]
    assert int(np.argmax(c)) - 300 == 0
    p = make_hosted({"type": "lv2", "uri": LIMITER}, tmp_path, "t")
    p.prepare(mixcore.processors.ProcessSpec(SR, 512, 2))
    assert p.plugin_latency > 0 and p.latency_samples == p.plugin_latency + BLOCK


def test_mono_plugin_on_a_stereo_track_runs_dual_mono(tmp_path):
    x = noise(SR // 4, 2, seed=5)  # left and right differ
    write(tmp_path / "x.wav", x)
    nd = f'{{ type = "lv2", uri = "{NODELAY}", params = {{ delay = 50, report_latency = 0 }} }}'
    y = rendered(tmp_path, session(track("a", "x.wav", nd)))
    np.testing.assert_array_equal(y[:, 50:], x[:, :-50])  # each channel through its own instance
    np.testing.assert_array_equal(y[:, :50], 0.0)


def test_stereo_plugin_on_a_mono_track(tmp_path):
    x = noise(SR // 4, 1, seed=6)
    write(tmp_path / "m.wav", x)
    dry = rendered(tmp_path, session(track("a", "m.wav")), name="dry")
    gain = f'{{ type = "lv2", uri = "{BALANCE}", params = {{ trim = 6.0 }} }}'
    wet = rendered(tmp_path, session(track("a", "m.wav", gain)))
    np.testing.assert_allclose(wet, dry * 10 ** (6 / 20), rtol=0, atol=4e-7)


@pytest.mark.parametrize("entry, message", [
    (f'{{ type = "lv2", uri = "{BALANCE}", params = {{ trm = 1.0 }} }}',
     "tracks[0].chain[0].params.trm: 'Stereo Balance Control' has no control port 'trm' (did you mean 'trim'?)"),
    (f'{{ type = "lv2", uri = "{BALANCE}", params = {{ trim = 30.0 }} }}',
     "tracks[0].chain[0].params.trim: 30.0 is out of range, expected -20 .. 20 db"),
    ('{ type = "lv2", uri = "http://gareus.org/oss/lv2/balanse" }',
     f"tracks[0].chain[0].uri: no LV2 plugin 'http://gareus.org/oss/lv2/balanse' is installed in the LV2 "
     f"folders (did you mean '{BALANCE}'?)"),
    (f'{{ type = "lv2", uri = "{NODELAY}", params = {{ report_latency = "Delay and report" }} }}',
     "(did you mean 'Delay and report latency'?)"),
    (f'{{ type = "lv2", uri = "{NODELAY}", params = {{ delay = 2.5 }} }}', "expected a whole number"),
    (f'{{ type = "lv2", uri = "{BALANCE}", sidechain = "a" }}', "'Stereo Balance Control' has no sidechain input"),
    (f'{{ type = "lv2", uri = "{COMP}", preset = "Snare Mik" }}', "(did you mean 'Snare Mic'?)"),
    (f'{{ type = "lv2", url = "{BALANCE}" }}', "tracks[0].chain[0].url: unknown key (did you mean 'uri'?)"),
    ('{ type = "lv2", uri = "http://calf.sourceforge.net/plugins/XOver2Band" }',
     "tracks[0].chain[0]: 'Calf X-Over 2 Band' (http://calf.sourceforge.net/plugins/XOver2Band) has 2 audio "
     "input(s) and 4 output(s); mixcore hosts mono (1 in, 1 out) and stereo (2 in, 2 out) plugins"),
    (f'{{ type = "lv2", uri = "{NODELAY}", params = {{ latency = 3.0 }} }}', "has no control port 'latency'"),
])
def test_entry_errors_are_one_line(tmp_path, entry, message):
    write(tmp_path / "x.wav", noise(4800, 2))
    r = render(tmp_path, session(track("a", "x.wav", entry)))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mixcore: error: "), r.stderr
    assert message in lines[0], lines[0]


def test_plugin_whose_bundle_leads_outside_the_lv2_folders_is_refused(tmp_path):
    home = tmp_path / "home"
    (home / ".lv2").mkdir(parents=True)
    outside = tmp_path / "elsewhere" / "evil.lv2"
    shutil.copytree("/usr/lib/lv2/nodelay.lv2", outside)
    for ttl in outside.glob("*.ttl"):  # its own URI, so lilv does not take it for the real one
        ttl.write_text(ttl.read_text().replace(NODELAY, "urn:mixcore:test:evil"))
    (outside / "nodelay.so").write_bytes(b"not a library: loading it would fail differently")
    (home / ".lv2" / "evil.lv2").symlink_to(outside)
    write(tmp_path / "x.wav", noise(4800, 2))
    (tmp_path / "s.toml").write_text(session(track("a", "x.wav", '{ type = "lv2", uri = "urn:mixcore:test:evil" }')))
    import os
    import subprocess
    import sys

    env = dict(os.environ, HOME=str(home))
    env["PYTHONPATH"] = str(__import__("pathlib").Path(mixcore.__file__).resolve().parent.parent)
    r = subprocess.run([sys.executable, "-m", "mixcore", "render", "s.toml", "-o", "o.wav"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    line = r.stderr.strip()
    assert line.startswith("mixcore: error: s.toml: tracks[0].chain[0].uri: ") and "is not in a plugin folder" in line, line
    assert f"(it leads to {outside})" in line and "--plugin-path" in line


def test_automation_of_a_control_port(tmp_path):
    x = noise(SR // 2, 2, seed=7)
    write(tmp_path / "x.wav", x)
    dry = rendered(tmp_path, session(track("a", "x.wav")), name="dry")
    auto = '[[automation]]\ntarget = "a.g.trim"\npoints = [[0.0, 0.0], [0.25, -12.0]]\ncurve = "step"\n'
    y = rendered(tmp_path, session(track("a", "x.wav", f'{{ type = "lv2", uri = "{BALANCE}", id = "g" }}'), auto))
    at = SR // 4
    np.testing.assert_allclose(y[:, :at], dry[:, :at], rtol=0, atol=2e-7)  # unity up to the change
    assert np.abs(y[:, at:at + 32] - dry[:, at:at + 32]).max() > 1e-3  # the change starts exactly there
    late = slice(at + SR // 10, None)  # after the plugin's own smoothing
    np.testing.assert_allclose(y[:, late], dry[:, late] * 10 ** (-12 / 20), rtol=0, atol=2e-7)


def bursts(n: int, seed: int) -> np.ndarray:
    x = noise(n, 2, seed=seed, level=0.9)
    env = (np.arange(n) // 4800 % 2 == 0).astype(np.float32)  # 100 ms on, 100 ms off
    return np.ascontiguousarray(x * env)


def test_sidechain_compressor_ducks_under_the_kick(tmp_path):
    n = SR
    write(tmp_path / "kick.wav", bursts(n, 8))
    bass = noise(n, 2, seed=9, level=0.2)
    write(tmp_path / "bass.wav", bass)
    comp = (f'{{ type = "lv2", uri = "{SC_COMP}", sidechain = "kick", params = {{ sct = "External", al = 0.01, '
            f'cr = 20.0, at = 0.5, rt = 20.0 }} }}')
    toml = session(track("kick", "kick.wav") + track("bass", "bass.wav", comp))
    kick = rendered(tmp_path, toml.replace('name = "bass"', 'name = "bass"\nmute = true'), name="kickonly")
    y = rendered(tmp_path, toml) - kick  # the bass as the compressor left it
    on = (np.arange(n) // 4800 % 2 == 0)
    settled = np.arange(n) % 4800 > 1200

    def duck_db(z):
        rms_on, rms_off = (np.sqrt(np.mean(z[:, m & settled] ** 2)) for m in (on, ~on))
        return 20 * np.log10(rms_off / rms_on)

    assert duck_db(y) > 10  # ducked while the kick plays, not between
    # without the sidechain the compressor hears the (quiet, steady) bass: no pattern
    y2 = rendered(tmp_path, toml.replace('sidechain = "kick", ', ""), name="self") - kick
    assert abs(duck_db(y2)) < 1


def test_preset_by_label_and_by_uri(tmp_path):
    p = make_hosted({"type": "lv2", "uri": COMP, "preset": "Snare Mic"}, tmp_path, "t")
    # presets-MonoCompressor.ttl: level_in 1.05702, threshold 0.164939, ratio 3.00697, attack 3.50344
    assert (p.level_in, p.threshold, p.ratio, p.attack) == (1.05702, 0.164939, 3.00697, 3.50344)
    q = make_hosted({"type": "lv2", "uri": COMP, "preset": "http://calf.sourceforge.net/factory_presets#"
                     "monocompressor_SnareMic", "params": {"ratio": 4.0}}, tmp_path, "t")
    assert (q.attack, q.ratio) == (3.50344, 4.0)  # params after the preset


def test_state_round_trip_renders_the_same_bytes(tmp_path):
    write(tmp_path / "x.wav", noise(SR // 4, 1, seed=10, level=0.8))
    entry = f'{{ type = "lv2", uri = "{COMP}", preset = "Vocal Leveller", params = {{ release = 123.0 }} }}'
    (tmp_path / "s.toml").write_text(session(track("a", "x.wav", entry)))
    proc = make_hosted({"type": "lv2", "uri": COMP, "preset": "Vocal Leveller"}, tmp_path, "t")
    proc.set_param("release", 123.0)  # changed by hand after the preset
    s = mixcore.Session(sample_rate=SR, tail_s=0.0, base_dir=tmp_path)
    s.add_track("a", "x.wav", chain=[proc])
    s.save(tmp_path / "saved.toml")
    saved = tomllib.loads((tmp_path / "saved.toml").read_text())["tracks"][0]["chain"][0]
    assert saved["type"] == "lv2" and "preset" not in saved and saved["params"]["release"] == 123.0
    assert saved["params"] == {k: v for k, v in proc.parameters.items() if k != "sidechain"}
    assert cli("render", "s.toml", "-o", "a.wav", "-q", cwd=tmp_path).returncode == 0
    assert cli("render", "saved.toml", "-o", "b.wav", "-q", cwd=tmp_path).returncode == 0
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_python_api_one_shot_and_errors(tmp_path):
    p = make_hosted({"type": "lv2", "uri": BALANCE, "params": {"trim": -6.0}}, tmp_path, "t")
    x = noise(3000, 2, seed=11)
    np.testing.assert_allclose(p(x, SR, block_size=17), x * np.float32(10 ** (-6 / 20)), rtol=0, atol=1e-7)
    with pytest.raises(MixcoreError, match="expected true or false"):
        p.set_param("phaseL", 0.5)


def test_plugin_requiring_a_missing_feature_is_refused_naming_it(tmp_path):
    # every Debian plugin here asks only for features mixcore provides: this one (the crashing binary
    # below, never loaded: the refusal comes first) requires an invented one
    bundle = tmp_path / "lv2" / "needs.lv2"
    bundle.mkdir(parents=True)
    (bundle / "crash.c").write_text(CRASH_C)
    __import__("subprocess").run(["gcc", "-shared", "-fPIC", "-o", str(bundle / "crash.so"), str(bundle / "crash.c")],
                                 check=True)
    (bundle / "manifest.ttl").write_text(CRASH_TTL.replace(
        "lv2:binary <crash.so> ;", "lv2:binary <crash.so> ; lv2:requiredFeature <http://example.org/ns#teleport> ;"))
    write(tmp_path / "x.wav", noise(4800, 2))
    r = render(tmp_path, session(track("a", "x.wav", '{ type = "lv2", uri = "urn:mixcore:test:crash" }')),
               "--plugin-path", tmp_path / "lv2")
    assert r.returncode == 2
    assert r.stderr == ("mixcore: error: s.toml: tracks[0].chain[0].uri: 'Crasher' requires the LV2 feature "
                        "http://example.org/ns#teleport, which mixcore does not provide\n")


def test_without_liblilv_an_lv2_entry_says_how_to_install_it(tmp_path, monkeypatch):
    write(tmp_path / "x.wav", noise(4800, 2))
    (tmp_path / "s.toml").write_text(session(track("a", "x.wav", f'{{ type = "lv2", uri = "{BALANCE}" }}')))
    monkeypatch.setenv("MIXCORE_LIBLILV", "liblilv-not-installed.so.0")  # what a machine without it has
    r = cli("render", "s.toml", "-o", "o.wav", cwd=tmp_path)
    assert r.returncode == 2
    line = r.stderr.strip()
    assert line.startswith("mixcore: error: s.toml: tracks[0].chain[0]: LV2 hosting needs liblilv: apt-get install "
                           "liblilv-0-0 (liblilv-not-installed.so.0: cannot open shared object file"), line
    assert len(line.splitlines()) == 1
    # a session without lv2 entries does not need it
    (tmp_path / "t.toml").write_text(session(track("a", "x.wav", '{ type = "gain", gain_db = -1.0 }')))
    assert cli("render", "t.toml", "-o", "o.wav", "-q", cwd=tmp_path).returncode == 0


CRASH_C = r"""
#include <signal.h>
#include <stdint.h>
typedef struct D {
  const char* URI;
  void* (*instantiate)(const struct D*, double, const char*, const void* const*);
  void (*connect_port)(void*, uint32_t, void*);
  void (*activate)(void*);
  void (*run)(void*, uint32_t);
  void (*deactivate)(void*);
  void (*cleanup)(void*);
  const void* (*extension_data)(const char*);
} D;
static void* inst(const D* d, double r, const char* b, const void* const* f) { raise(SIGSEGV); return 0; }
static void conn(void* h, uint32_t p, void* d) {}
static void run(void* h, uint32_t n) {}
static void clean(void* h) {}
static const D desc = {"urn:mixcore:test:crash", inst, conn, 0, run, 0, clean, 0};
__attribute__((visibility("default"))) const D* lv2_descriptor(uint32_t i) { return i == 0 ? &desc : 0; }
"""
CRASH_TTL = """@prefix lv2: <http://lv2plug.in/ns/lv2core#> .
@prefix doap: <http://usefulinc.com/ns/doap#> .
<urn:mixcore:test:crash> a lv2:Plugin ; lv2:binary <crash.so> ; doap:name "Crasher" ;
  lv2:port [ a lv2:AudioPort, lv2:InputPort ; lv2:index 0 ; lv2:symbol "in" ; lv2:name "In" ] ,
           [ a lv2:AudioPort, lv2:OutputPort ; lv2:index 1 ; lv2:symbol "out" ; lv2:name "Out" ] .
"""


def test_a_crashing_plugin_is_named_then_denied_by_plugins_list(tmp_path, monkeypatch):
    import subprocess

    bundle = tmp_path / "lv2" / "crash.lv2"
    bundle.mkdir(parents=True)
    (bundle / "crash.c").write_text(CRASH_C)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(bundle / "crash.so"), str(bundle / "crash.c")], check=True)
    (bundle / "manifest.ttl").write_text(CRASH_TTL)
    monkeypatch.setenv("MIXCORE_CACHE_DIR", str(tmp_path / "cache"))
    write(tmp_path / "x.wav", noise(4800, 2))
    (tmp_path / "s.toml").write_text(session(track("a", "x.wav", '{ type = "lv2", uri = "urn:mixcore:test:crash" }')))
    # not in an LV2 folder: not in the world at all
    r = cli("render", "s.toml", "-o", "o.wav", cwd=tmp_path)
    assert r.returncode == 2 and "no LV2 plugin 'urn:mixcore:test:crash' is installed" in r.stderr
    # allowed, it crashes the render in-process: one line naming it and where it sits
    r = cli("render", "s.toml", "-o", "o.wav", "--plugin-path", tmp_path / "lv2", cwd=tmp_path)
    assert r.returncode != 0
    assert ("mixcore: error: tracks[0].chain[0] (track 'a'): plugin 'Crasher' crashed (SIGSEGV) while loading"
            in r.stderr), r.stderr
    # plugins list probes it in a subprocess, denies its bundle and lists the others
    r = cli("plugins", "list", "--format", "lv2", "--plugin-path", tmp_path / "lv2", "--json")
    assert r.returncode == 0, r.stderr
    found = __import__("json").loads(r.stdout)
    denied = [d for d in found if d["status"] == "denied"]
    assert denied == [{"format": "lv2", "path": str(bundle), "status": "denied",
                       "reason": f"{bundle}: plugin crashed while loading (SIGSEGV)"}]
    bal = next(d for d in found if d.get("uri") == BALANCE)
    assert (bal["inputs"], bal["outputs"], bal["latency_samples"]) == (2, 2, 0)
    lim = next(d for d in found if d.get("uri") == LIMITER)
    assert lim["latency_samples"] > 0
    sc = next(d for d in found if d.get("uri") == SC_COMP)
    assert sc["sidechain_inputs"] == 2
    # and a session naming it is refused before anything of it is loaded
    r = cli("render", "s.toml", "-o", "o.wav", "--plugin-path", tmp_path / "lv2", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.startswith("mixcore: error: s.toml: tracks[0].chain[0].uri: urn:mixcore:test:crash is on the plugin "
                               "deny-list (plugin crashed while loading (SIGSEGV))"), r.stderr


def test_isolated_plugin_renders_the_same_bytes_and_a_crash_is_contained(tmp_path):
    write(tmp_path / "x.wav", noise(SR // 4, 2, seed=12, level=0.8))
    chain = (f'{{ type = "lv2", uri = "{COMP}", preset = "Snare Mic"ISO }}, '
             f'{{ type = "lv2", uri = "{LIMITER}", id = "lim", params = {{ th = 0.5 }}ISO }}')
    a = rendered(tmp_path, session(track("a", "x.wav", chain.replace("ISO", ""))), name="inproc")
    b = rendered(tmp_path, session(track("a", "x.wav", chain.replace("ISO", ", isolate = true"))), name="iso")
    np.testing.assert_array_equal(a, b)
    assert np.abs(a).max() > 0.1
    # a plugin that crashes in its worker: one line, or bypassed with on_crash = "bypass"
    bundle = tmp_path / "lv2" / "crash.lv2"
    bundle.mkdir(parents=True)
    (bundle / "crash.c").write_text(CRASH_C)
    import subprocess

    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(bundle / "crash.so"), str(bundle / "crash.c")], check=True)
    (bundle / "manifest.ttl").write_text(CRASH_TTL)
    entry = '{ type = "lv2", uri = "urn:mixcore:test:crash", isolate = true }'
    r = render(tmp_path, session(track("a", "x.wav", entry)), "--plugin-path", tmp_path / "lv2", name="crash")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.startswith("mixcore: error: crash.toml: tracks[0].chain[0]") and "crashed" in r.stderr, r.stderr


def test_plugins_check_measures_latency_and_a_session_may_use_it(tmp_path, vst3_plugins):
    # nodelay delaying by 100 samples without reporting it: caught
    r = cli("plugins", "check", NODELAY, "--param", "delay=100", "--param", "report_latency=0", "--json")
    assert r.returncode == 1, r.stderr
    d = __import__("json").loads(r.stdout)
    assert (d["reported"], d["impulse"], d["sweep"], d["agrees"]) == (0, 100, 100, False)
    r = cli("plugins", "check", LIMITER)
    assert r.returncode == 0 and "latency reported 240 samples; measured 240 (impulse), 240 (sweep): agrees" in r.stdout
    effect = vst3_plugins["MixcoreTestEffect"]  # a VST3 reporting its latency truthfully
    r = cli("plugins", "check", effect, "--param", "latency_samples=300", "--json", "--plugin-path", effect.parent)
    assert r.returncode == 0, r.stderr
    d = __import__("json").loads(r.stdout)
    assert (d["reported"], d["impulse"], d["sweep"]) == (300, 300, 300)
    # a session entry using the measured latency lines up with the dry path although nothing is reported
    x = noise(SR // 4, 2, seed=13)
    write(tmp_path / "x.wav", x)
    nd = (f'{{ type = "lv2", uri = "{NODELAY}", latency_samples = "measured", '
          f'params = {{ delay = 321, report_latency = 0 }} }}')
    mix = rendered(tmp_path, session(track("wet", "x.wav", nd) + track("dry", "x.wav", more="polarity_invert = true")))
    assert np.abs(mix).max() == 0.0
    r = render(tmp_path, session(track("wet", "x.wav", nd.replace('"measured"', '"guess"'))), name="bad")
    assert r.returncode == 2 and "tracks[0].chain[0].latency_samples: expected \"reported\"" in r.stderr


def test_plugins_info_describes_an_lv2_plugin_by_uri():
    import json

    r = cli("plugins", "info", SC_COMP, "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert (d["name"], d["inputs"], d["outputs"], d["sidechain_inputs"]) == ("LSP Sidechain Compressor Stereo", 2, 2, 2)
    sct = next(p for p in d["parameters"] if p["symbol"] == "sct")
    assert sct["labels"] == {"Feed-forward": 0.0, "Feed-back": 1.0, "External": 2.0}
    r = cli("plugins", "info", NODELAY)
    assert r.returncode == 0 and "report_latency" in r.stdout and "0 .. 192000" in r.stdout


def test_state_extension_properties_round_trip_through_a_saved_session(tmp_path):
    fil4 = "http://gareus.org/oss/lv2/fil4#stereo"  # x42-eq keeps UI settings as State properties
    write(tmp_path / "x.wav", noise(SR // 4, 2, seed=14))
    p = make_hosted({"type": "lv2", "uri": fil4, "params": {"gain1": 6.0, "sec1": True}}, tmp_path, "t")
    p.prepare(mixcore.processors.ProcessSpec(SR, 512, 2))
    text = p.state_text()
    assert '<http://gareus.org/oss/lv2/fil4#kbtuning> "440.0"' in text
    changed = text.replace('"440.0"', '"432.5"')
    q = make_hosted({"type": "lv2", "uri": fil4, "state": changed, "params": {"gain1": 6.0, "sec1": True}},
                    tmp_path, "t")
    q.prepare(mixcore.processors.ProcessSpec(SR, 512, 2))
    assert '"432.5"' in q.state_text()  # restored into the plugin, read back from it
    s = mixcore.Session(sample_rate=SR, tail_s=0.0, base_dir=tmp_path)
    s.add_track("a", "x.wav", chain=[q])
    s.save(tmp_path / "saved.toml")
    saved = tomllib.loads((tmp_path / "saved.toml").read_text())["tracks"][0]["chain"][0]
    assert '"432.5"' in saved["state"] and saved["params"]["gain1"] == 6.0
    (tmp_path / "s.toml").write_text(session(track("a", "x.wav", f'{{ type = "lv2", uri = "{fil4}", '
                                                                  f'params = {{ gain1 = 6.0, sec1 = true }} }}')))
    assert cli("render", "s.toml", "-o", "a.wav", "-q", cwd=tmp_path).returncode == 0
    assert cli("render", "saved.toml", "-o", "b.wav", "-q", cwd=tmp_path).returncode == 0
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
    with pytest.raises(MixcoreError, match=r"t\.state: the state is for http://gareus.org/oss/lv2/fil4#stereo, not "):
        make_hosted({"type": "lv2", "uri": "http://gareus.org/oss/lv2/fil4#mono", "state": changed}, tmp_path, "t")


def test_a_plugin_requiring_the_worker_extension_runs(tmp_path):
    # Dragonfly Hall Reverb requires worker:schedule (mixcore does the work synchronously, after the run)
    x = np.zeros((2, SR // 2), np.float32)
    x[:, 100] = 0.5
    write(tmp_path / "x.wav", x)
    toml = session(track("a", "x.wav", '{ type = "lv2", uri = "https://github.com/michaelwillis/dragonfly-reverb" }'))
    outs = []
    for bs in (64, 4096):
        r = render(tmp_path, toml, "--block-size", str(bs), name=f"s{bs}")
        assert r.returncode == 0, r.stderr
        outs.append((tmp_path / f"s{bs}.wav").read_bytes())
    assert outs[0] == outs[1]
    y = read(tmp_path / "s64.wav")
    assert np.sqrt(np.mean(y[:, SR // 10:] ** 2)) > 1e-5  # a reverb tail long after the impulse


def test_midi_cc_maps_onto_a_control_port(tmp_path):
    import mido

    x = noise(SR // 2, 2, seed=15, level=0.05)
    write(tmp_path / "x.wav", x)
    mf = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mf.tracks.append(tr)
    tr.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120), time=0))
    tr.append(mido.Message("control_change", control=7, value=0, time=0))
    tr.append(mido.Message("control_change", control=7, value=127, time=240))  # 0.25 s
    mf.save(tmp_path / "m.mid")
    s = mixcore.Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0,
                        tracks=[{"name": "a", "source": "x.wav",
                                 "chain": [{"type": "lv2", "uri": BALANCE, "id": "g"}]}],
                        midi=[{"file": "m.mid", "map": [{"cc": 7, "target": "a.g.trim"}]}])
    _plan, lanes, _ = s.compile()
    lane = lanes[("a", 0, "trim")]
    assert (lane.at(0, SR), lane.at(SR // 2 - 1, SR)) == (-20.0, 20.0)  # the port's own range, linear
    s.render(tmp_path / "o.wav")
    y = read(tmp_path / "o.wav")
    settled = slice(SR // 4 - 2000, SR // 4 - 100)
    np.testing.assert_allclose(y[:, settled], x[:, settled] * 10 ** (-20 / 20), rtol=0, atol=2e-7)
