"""Values derived from parameters, each written once (pyx/coeffs.pxd) for every processor.

The Cython kernels cimport the same inline functions for their sample-accurate paths, so a
parameter held constant by automation gives exactly the output of the parameter set once. Each
function takes a float (returns a float) or an array of float64 (returns a new array): a constant
parameter is an array of one value. numpy's own exp/power may differ from libm's in the last bit,
so derive through these, never ``np.exp``/``np.power``.
"""
from __future__ import annotations

import numpy as np

from .._dsp.coeffs import gain_from_db_into, gain_from_db_of, one_pole_into, one_pole_of


def one_pole(ms, fs: float):
    """The one-pole smoothing coefficient ``exp(-1 / (ms 1e-3 fs))`` of time constant ``ms`` at ``fs``."""
    if isinstance(ms, np.ndarray):
        ms = np.asarray(ms, dtype=np.float64, order="C")
        out = np.empty_like(ms)
        one_pole_into(ms.reshape(-1), fs, out.reshape(-1))
        return out
    return one_pole_of(ms, fs)


def gain_from_db(db):
    """The linear gain ``10^(db / 20)`` of a level in dB (exact: libm pow)."""
    if isinstance(db, np.ndarray):
        db = np.asarray(db, dtype=np.float64, order="C")
        out = np.empty_like(db)
        gain_from_db_into(db.reshape(-1), out.reshape(-1))
        return out
    return gain_from_db_of(db)
