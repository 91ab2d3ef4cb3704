/* crashguard_handler.h -- pyx/crashguard.pyx's slots and signal handler: one line on stderr naming the
   hosted plugin that crashed the process (see crashguard.pyx's docstring). Inside the handler:
   write(2) only. */
#ifndef MIXCORE_CRASHGUARD_HANDLER_H
#define MIXCORE_CRASHGUARD_HANDLER_H

#include <signal.h>
#include <unistd.h>
#include <pthread.h>
#include <string.h>

#define MIXCORE_CG_SLOTS 64
#define MIXCORE_CG_NSIG 5

typedef struct {
    volatile int used;        /* claimed (compare-and-swap) */
    pthread_t owner;          /* the thread inside the plugin call */
    const char *text;         /* "tracks[0].chain[0] (track 'kick'): plugin 'X'" */
    int len;
    const char *tail;         /* "; set isolate = true ..." (what to do about it) */
    int tail_len;
    int what;                 /* index into mixcore_cg_what */
    long long pos;            /* song position in samples (< 0: none) */
    double rate;
} mixcore_cg_slot;

static mixcore_cg_slot mixcore_cg_slots[MIXCORE_CG_SLOTS];
static const int mixcore_cg_signals[MIXCORE_CG_NSIG] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
static const char *mixcore_cg_names[MIXCORE_CG_NSIG] = {"SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT"};
static const char *mixcore_cg_what[] = {"processing", "preparing", "setting a parameter", "loading",
                                        "playing", "loading its state"};
static struct sigaction mixcore_cg_old[MIXCORE_CG_NSIG];
static int mixcore_cg_installed = 0;

static int mixcore_cg_enter(const char *text, int len, const char *tail, int tail_len, int what,
                            long long pos, double rate) {
    int i;
    for (i = 0; i < MIXCORE_CG_SLOTS; i++) {
        if (!mixcore_cg_slots[i].used && __sync_bool_compare_and_swap(&mixcore_cg_slots[i].used, 0, 1)) {
            mixcore_cg_slot *s = &mixcore_cg_slots[i];
            s->owner = pthread_self();
            s->text = text;
            s->len = len;
            s->tail = tail;
            s->tail_len = tail_len;
            s->what = what;
            s->pos = pos;
            s->rate = rate;
            return i;
        }
    }
    return -1;
}

static void mixcore_cg_leave(int i) {
    if (i >= 0 && i < MIXCORE_CG_SLOTS) {
        mixcore_cg_slots[i].text = NULL;
        __sync_lock_release(&mixcore_cg_slots[i].used);
    }
}

/* -- inside the handler: write(2) only ---------------------------------------------- */
static void mixcore_cg_put(char *buf, int *n, int cap, const char *s, int len) {
    int k;
    if (len < 0) { len = 0; while (s[len]) len++; }
    for (k = 0; k < len && *n < cap; k++) buf[(*n)++] = s[k];
}

static void mixcore_cg_digits(char *buf, int *n, int cap, long long v, int width) {
    char tmp[24];
    int k = 0;
    if (v < 0) v = 0;
    do { tmp[k++] = (char)('0' + v % 10); v /= 10; } while (v && k < 20);
    while (k < width) tmp[k++] = '0';
    while (k > 0 && *n < cap) buf[(*n)++] = tmp[--k];
}

static void mixcore_cg_handler(int sig, siginfo_t *info, void *uctx) {
    int k, i, n = 0, cap = 1024;
    char buf[1024];
    pthread_t me = pthread_self();
    (void)uctx;
    for (k = 0; k < MIXCORE_CG_NSIG && mixcore_cg_signals[k] != sig; k++) {}
    for (i = 0; i < MIXCORE_CG_SLOTS; i++) {
        mixcore_cg_slot *s = &mixcore_cg_slots[i];
        if (s->used && s->text != NULL && pthread_equal(s->owner, me)) {
            mixcore_cg_put(buf, &n, cap, "mixcore: error: ", -1);
            mixcore_cg_put(buf, &n, cap, s->text, s->len);
            mixcore_cg_put(buf, &n, cap, " crashed (", -1);
            mixcore_cg_put(buf, &n, cap, k < MIXCORE_CG_NSIG ? mixcore_cg_names[k] : "signal", -1);
            mixcore_cg_put(buf, &n, cap, ") while ", -1);
            mixcore_cg_put(buf, &n, cap, mixcore_cg_what[s->what], -1);
            if (s->pos >= 0 && s->rate > 0) {
                long long ms = (long long)((double)s->pos * 1000.0 / s->rate + 0.5);
                mixcore_cg_put(buf, &n, cap, " at ", -1);
                mixcore_cg_digits(buf, &n, cap, ms / 60000, 1);
                mixcore_cg_put(buf, &n, cap, ":", 1);
                mixcore_cg_digits(buf, &n, cap, (ms / 1000) % 60, 2);
                mixcore_cg_put(buf, &n, cap, ".", 1);
                mixcore_cg_digits(buf, &n, cap, ms % 1000, 3);
                mixcore_cg_put(buf, &n, cap, " in the song", -1);
            }
            mixcore_cg_put(buf, &n, cap, s->tail, s->tail_len);
            if (n >= cap) n = cap - 1;
            buf[n++] = '\n';
            {
                int off = 0;
                while (off < n) {
                    ssize_t w = write(2, buf + off, (size_t)(n - off));
                    if (w <= 0) break;
                    off += (int)w;
                }
            }
            break;
        }
    }
    /* the handler found at installation takes over: faulthandler's traceback, or the default death */
    if (k < MIXCORE_CG_NSIG)
        sigaction(sig, &mixcore_cg_old[k], NULL);
    else
        signal(sig, SIG_DFL);
    if (info == NULL || info->si_code <= 0)
        raise(sig);  /* sent by kill/raise/abort: a return would not repeat it (pending until we return) */
    /* a fault: returning re-executes the faulting instruction */
}

static int mixcore_cg_install(void) {
    struct sigaction sa;
    int k;
    if (mixcore_cg_installed) return 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = mixcore_cg_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (k = 0; k < MIXCORE_CG_NSIG; k++)
        if (sigaction(mixcore_cg_signals[k], &sa, &mixcore_cg_old[k]) != 0) return -1;
    mixcore_cg_installed = 1;
    return 0;
}

static int mixcore_cg_uninstall(void) {
    int k;
    if (!mixcore_cg_installed) return 0;
    for (k = 0; k < MIXCORE_CG_NSIG; k++) {
        struct sigaction cur;
        /* only where ours is still the handler (a later faulthandler.enable() chains to ours) */
        if (sigaction(mixcore_cg_signals[k], NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO)
                && cur.sa_sigaction == mixcore_cg_handler)
            sigaction(mixcore_cg_signals[k], &mixcore_cg_old[k], NULL);
    }
    mixcore_cg_installed = 0;
    return 0;
}

static int mixcore_cg_is_installed(void) { return mixcore_cg_installed; }

#endif /* MIXCORE_CRASHGUARD_HANDLER_H */
