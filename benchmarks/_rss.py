"""Peak resident memory of this process (VmHWM), in MB.

ru_maxrss is not used: on Linux it survives exec, so a child started from a large parent
reports the parent's size. VmHWM belongs to the process image and starts afresh at exec.
"""


def peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")
