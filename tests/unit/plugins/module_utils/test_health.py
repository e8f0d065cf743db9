from ansible_collections.berth.deploy.plugins.module_utils._health import Probe, wait_until


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_wait_until_healthy_counts_attempts():
    clock = FakeClock()
    answers = iter([Probe(False, 503), Probe(False, 503), Probe(True, 200)])
    result = wait_until(lambda: next(answers), interval=1, deadline=10, clock=clock, sleep=clock.sleep)
    assert result.healthy and result.attempts == 3 and result.elapsed == 2.0 and result.last.status == 200


def test_wait_until_stops_at_deadline_with_last_probe():
    clock = FakeClock()
    result = wait_until(lambda: Probe(False, 503, "database unreachable"), interval=1, deadline=3.5,
                        clock=clock, sleep=clock.sleep)
    assert not result.healthy
    assert result.elapsed == 3.5 and result.attempts == 5
    assert result.last.detail == "database unreachable"


def test_final_probe_ends_the_wait_early():
    clock = FakeClock()
    answers = iter([Probe(False, "unreachable"), Probe(False, "exited", final=True)])
    result = wait_until(lambda: next(answers), interval=1, deadline=30, clock=clock, sleep=clock.sleep)
    assert not result.healthy and result.attempts == 2 and result.last.status == "exited"


def test_a_container_not_listening_yet_is_asked_again_soon_not_after_an_interval():
    clock = FakeClock()
    answers = iter([Probe(False, "unreachable", not_listening=True)] * 4 + [Probe(True, 200)])
    result = wait_until(lambda: next(answers), interval=1, deadline=10, clock=clock, sleep=clock.sleep)
    assert result.healthy and result.elapsed == 0.2 and result.attempts == 2  # the first refusal and the answer


def test_a_refused_connection_is_not_listening():
    import socket

    from ansible_collections.berth.deploy.plugins.module_utils._health import http_probe

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    probe = http_probe(f"http://127.0.0.1:{port}/up", timeout=1)
    assert not probe.healthy and probe.not_listening and probe.status == "unreachable"
