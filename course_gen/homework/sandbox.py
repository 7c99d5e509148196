"""Run the cells that grade one submission, in this process, contained; report each result as it comes.

The grader (:mod:`course_gen.homework.grading`) starts one process per submitted notebook::

    python -m course_gen.homework.sandbox GRADING_NOTEBOOK RESULTS_JSONL CELL_TIMEOUT

in a fresh working folder that holds only a copy of the cells to run. This process then

1. imports torch, matplotlib and the checkers (before any student code runs);
2. installs an audit hook (:pep:`578`, which code cannot remove) that refuses network access, new
   processes, signals to other processes, loading native libraries, and writing, renaming or deleting
   any file outside the working folder;
3. runs the cells one by one in an IPython shell, each with a time limit, and after each test cell
   appends ``{"grade_id", "passed", "message", ...}`` to ``RESULTS_JSONL`` (opened before step 2), so
   the exercises graded before a crash or an endless loop keep their result.

Before each test cell the checkers and the course's modules are restored to what they were before the
student's code ran, and the result is read from the cell's ``feedback`` variable only if it is a
genuine :class:`~course_gen.exercises.Feedback`. This contains accidents and casual tampering; it is
not a security boundary against a determined attacker (run the grader in a container for that).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

NETWORK_EVENTS = {
    "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
    "socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo",
}
PROCESS_EVENTS = {
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "os.startfile", "os.kill", "os.killpg", "signal.pthread_kill", "pty.spawn", "ctypes.dlopen", "ctypes.dlsym",
}
PATH_EVENTS = {  # event -> positions of the path arguments
    "os.remove": (0,), "os.rmdir": (0,), "os.rename": (0, 1), "shutil.rmtree": (0,), "os.truncate": (0,),
    "os.chmod": (0,), "os.chown": (0,), "os.link": (0, 1), "os.symlink": (0, 1), "os.mkdir": (0,),
    "os.utime": (0,), "os.chflags": (0,), "os.lchflags": (0,), "os.mkfifo": (0,), "os.mknod": (0,),
}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


class CellTimeout(BaseException):
    """A cell ran past its time limit (a BaseException, so ``except Exception`` does not hide it)."""


def _inside(path, folder: str) -> bool:
    if isinstance(path, int):  # an already open file descriptor
        return True
    resolved = os.path.realpath(os.fsdecode(path))
    return resolved == folder or resolved.startswith(folder + os.sep) or resolved == os.devnull


def install_guard(folder: Path) -> None:
    """Refuse, from now on and for good, what a graded notebook has no business doing."""
    folder = os.path.realpath(folder)

    def refuse(what: str):
        raise PermissionError(f"not allowed while grading: {what}")

    def hook(event: str, args: tuple) -> None:
        if event in NETWORK_EVENTS:
            refuse(f"network access ({event})")
        elif event == "socket.__new__" and args[1] != getattr(__import__("socket"), "AF_UNIX", None):
            refuse("network access (a new socket)")
        elif event in PROCESS_EVENTS:
            refuse(f"{event} (no new processes, signals or native libraries)")
        elif event == "open":
            path, mode, flags = args
            writes = any(c in (mode or "") for c in "wax+") or bool((flags or 0) & WRITE_FLAGS)
            if writes and path is not None and not _inside(path, folder):
                refuse(f"writing {os.fsdecode(path)} (only files in the working folder may change)")
        elif event in PATH_EVENTS:
            for position in PATH_EVENTS[event]:
                if position < len(args) and args[position] is not None and not _inside(args[position], folder):
                    refuse(f"{event} on {os.fsdecode(args[position])} (outside the working folder)")

    sys.addaudithook(hook)


def _snapshot(modules) -> list[tuple[dict, dict]]:
    return [(vars(module), dict(vars(module))) for module in modules]


def _restore(snapshot) -> None:
    """Put back every name the modules had (names added since, e.g. submodules imported, stay)."""
    for namespace, saved in snapshot:
        namespace.update(saved)


def _alarm(seconds: float):
    def ring(signum, frame):
        raise CellTimeout(f"this cell ran longer than its limit of {seconds:g} s (an endless loop?)")

    signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _error_text(result) -> str | None:
    error = result.error_before_exec or result.error_in_exec
    return None if error is None else f"{type(error).__name__}: {error}"


def run(notebook_path: Path, results_path: Path, cell_timeout: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401 - font cache loaded before the guard
    import torch
    from IPython.core.interactiveshell import InteractiveShell

    import course_gen.exercises as exercises
    from course_gen.exercises import Feedback
    from course_gen.homework.editions import is_setup, is_solution, is_test, nbgrader, source

    torch.set_num_threads(1)
    cells = json.loads(notebook_path.read_text(encoding="utf-8"))["cells"]
    results = open(results_path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the whole run
    shell = InteractiveShell.instance()
    checkers = {name: getattr(exercises, name) for name in exercises.__all__}
    guarded_modules = [m for n, m in sorted(sys.modules.items()) if n.split(".")[0] in ("course_gen", "torch", "math")
                       and m is not None and not n.startswith("torch._C")]
    snapshot = _snapshot(guarded_modules)
    profiler_functions = {name: getattr(sys, name) for name in ("setprofile", "getprofile", "settrace", "gettrace")}
    install_guard(Path.cwd())

    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code" or not (is_setup(cell) or is_solution(cell) or is_test(cell)):
            continue
        if is_test(cell):
            _restore(snapshot)
            for name, value in profiler_functions.items():
                setattr(sys, name, value)
            shell.user_ns.update({k: v for k, v in checkers.items() if k in shell.user_ns})
            shell.user_ns.pop("feedback", None)
        started = time.perf_counter()
        _alarm(cell_timeout)
        try:
            outcome = shell.run_cell(source(cell), store_history=False, silent=False)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        record = {"cell": index, "grade_id": nbgrader(cell).get("grade_id"), "error": _error_text(outcome),
                  "seconds": round(time.perf_counter() - started, 3),
                  "kind": "test" if is_test(cell) else "solution" if is_solution(cell) else "setup"}
        if is_test(cell):
            feedback = shell.user_ns.get("feedback")
            genuine = type(feedback) is Feedback
            record["passed"] = bool(genuine and feedback.passed and record["error"] is None)
            record["message"] = feedback.message if genuine else None
        results.write(json.dumps(record) + "\n")
        results.flush()
    results.close()
    sys.stdout.flush()


if __name__ == "__main__":
    run(Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]))
