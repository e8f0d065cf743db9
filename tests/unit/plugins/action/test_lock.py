"""The controller side of the deploy lock: is the holder's run gone?"""
import os
import subprocess

from ansible_collections.berth.deploy.plugins.action import lock


def test_this_process_is_alive_and_a_finished_one_is_gone():
    here = lock.controller_id()
    me = {"controller_id": here, "pid": os.getpid(), "pid_started": lock.process_started(os.getpid())}
    assert not lock.run_is_gone(me, here)
    child = subprocess.Popen(["true"])
    child.wait()
    assert lock.run_is_gone({"controller_id": here, "pid": child.pid, "pid_started": "1"}, here)


def test_a_reused_process_id_is_not_the_holder():
    here = lock.controller_id()
    reused = {"controller_id": here, "pid": os.getpid(), "pid_started": "1"}  # another start time
    assert lock.run_is_gone(reused, here)


def test_a_run_of_another_controller_is_never_judged_here():
    assert not lock.run_is_gone({"controller_id": "elsewhere", "pid": 999999, "pid_started": ""}, lock.controller_id())
    assert not lock.run_is_gone({"performer": "old holder without process"}, lock.controller_id())
