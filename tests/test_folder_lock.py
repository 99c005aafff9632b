"""One writer per output folder: a second holder is refused by name, a killed holder frees it."""
import os
import signal
import subprocess
import sys


import pytest

from escbench.harness.folder_lock import FolderInUseError, FolderLock

HOLD = ("import sys, time; from escbench.harness.folder_lock import FolderLock; "
        "lock = FolderLock(sys.argv[1], 'escbench run --out X').acquire(); print('held', flush=True); time.sleep(60)")


def _holder(folder):
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_second_process_is_refused_with_folder_and_holder(tmp_path):
    holder = _holder(tmp_path / "out")
    try:
        with pytest.raises(FolderInUseError) as error:
            FolderLock(tmp_path / "out").acquire()
        message = str(error.value)
        assert str(tmp_path / "out") in message
        assert f"pid {holder.pid}" in message and "escbench run --out X" in message
    finally:
        holder.kill()
        holder.wait()


def test_lock_of_a_killed_process_is_free_again(tmp_path):
    holder = _holder(tmp_path / "out")
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with FolderLock(tmp_path / "out") as lock:
        assert lock.folder == tmp_path / "out"
    assert (tmp_path / "out" / ".escbench.lock").exists()


def test_nested_lock_in_one_process_is_reentrant(tmp_path):
    with FolderLock(tmp_path):
        with FolderLock(tmp_path):
            pass
        # still held by the outer lock: another process is refused
        probe = subprocess.run([sys.executable, "-c", "import sys; from escbench.harness.folder_lock import FolderLock; "
                                "FolderLock(sys.argv[1]).acquire()", str(tmp_path)], capture_output=True, text=True)
        assert probe.returncode != 0 and "in use by another escbench process" in probe.stderr
    FolderLock(tmp_path).acquire().release()
