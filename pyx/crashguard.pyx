# cython: language_level=3
"""One line on stderr when an in-process plugin crashes the process.

A plugin hosted in-process that crashes (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT) takes mixcore
with it; nothing can be rescued, but the user can be told which plugin it was. Before every call
into a hosted plugin the host claims a *slot* (:func:`enter`): the calling thread, a text naming the
plugin and where it sits (kept alive by the caller for the call), what it is doing and the position
in the song in samples. After the call it frees the slot (:func:`leave`). The signal handler looks
for an active slot of the crashing thread and writes::

    mixcore: error: tracks[0].chain[0] (track 'kick'): plugin 'MixcoreCrash' crashed (SIGSEGV) while
    processing at 0:01.500 in the song; set isolate = true on its chain entry to keep the render going
    or bypass it

(one line) with ``write(2)`` only: no allocation, no stdio, digits formatted by hand. Then it puts
back the handler it found when it was installed (Python's ``faulthandler``, or the default action)
and lets the signal take its course: a fault re-executes and faults again, a signal sent with
``kill``/``raise``/``abort`` is raised again. The process still dies of the signal (exit status
-11 for a subprocess, 139 in a shell): a crash stays a crash.

A crash outside any plugin call (or in a plugin's own background thread) writes nothing.
A slot costs two stores and a compare-and-swap per call; there are ``SLOTS`` of them for calls
running at the same time (the render's threads); a call that finds none is simply not described.
"""

cdef extern from "crashguard_handler.h":
    int mixcore_cg_enter(const char *text, int len, const char *tail, int tail_len, int what, long long pos,
                         double rate) nogil
    void mixcore_cg_leave(int i) nogil
    int mixcore_cg_install() nogil
    int mixcore_cg_uninstall() nogil
    int mixcore_cg_is_installed() nogil

#: What the plugin was doing, for :func:`enter`.
PROCESSING, PREPARING, SETTING, LOADING, PLAYING, STATE = 0, 1, 2, 3, 4, 5
#: The usual ``tail``: what a session can do about a plugin that crashes.
ISOLATE = b"; set isolate = true on its chain entry to keep the render going or bypass it"


cpdef int enter(bytes text, bytes tail, int what, long long pos, double rate):
    """Claim a slot before a call into a hosted plugin; returns its index for :func:`leave` (-1: none).

    ``text`` ("tracks[0].chain[0] (track 'kick'): plugin 'X'") and ``tail`` (what to do about it:
    "; set isolate = true ..."), UTF-8, must stay alive until :func:`leave`; ``what`` is one of
    PROCESSING .. PLAYING; ``pos`` is the song position in samples (-1: none) at ``rate`` Hz.
    """
    return mixcore_cg_enter(text, len(text), tail, len(tail), what, pos, rate)


cpdef void leave(int slot):
    """Free the slot claimed by :func:`enter` (after the plugin call returned or raised)."""
    mixcore_cg_leave(slot)


def install() -> None:
    """Install the handler for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT (once; later calls do nothing).

    The handlers found (Python's ``faulthandler``, or the defaults) run after the line is written.
    """
    if mixcore_cg_install() != 0:
        raise OSError("sigaction failed")


def uninstall() -> None:
    """Put back the handlers found by :func:`install` (where ours is still installed)."""
    mixcore_cg_uninstall()


def installed() -> bool:
    return bool(mixcore_cg_is_installed())
