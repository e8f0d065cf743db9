"""The release's sequence, step by step and each failing step, against an engine and proxy double
(tests/integration runs the same code against the real engine, registry and Traefik)."""
from __future__ import annotations

import http.server
import threading
import typing as t
from dataclasses import replace

import pytest

from ansible_collections.berth.deploy.plugins.module_utils import _health, _image, _release
from ansible_collections.berth.deploy.plugins.module_utils._proxy import ErrorPages, Route, SwitchTimings

from tests.unit.plugins.module_utils.engine_double import Driver, Engine


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        status = 200 if self.path == "/up" else 503
        body = b"ok" if status == 200 else b"database unreachable"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: t.Any) -> None:
        pass


@pytest.fixture(autouse=True)
def image_pins(tmp_path, monkeypatch) -> _image.Pins:
    """Pins in a directory of this test, not the host's /run/berth."""
    monkeypatch.setattr(_image.Pins, "DIRECTORY", str(tmp_path / "image-pins"))
    return _image.Pins()


@pytest.fixture(scope="module")
def app_port() -> t.Iterator[int]:
    """Where every container of the engine double answers: /up 200, anything else 503."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def web(port: int, health_path: str = "/up", env: dict[str, str] | None = None) -> _release.RoleSpec:
    check = _health.ContainerCheck(mode="http", port=port, path=health_path, network="berth", interval=0.05,
                                   timeout=1, deadline=0.3)
    return _release.RoleSpec("web", {"env": env or {}, "secret_env": {"SECRET_KEY_BASE": "s3cret"},
                                     "network": "berth"}, check, stop_timeout=7,
                             route=Route("shop-web", (), hosts=("shop.test",)), app_port=port, health_path=health_path)


def job(env: dict[str, str] | None = None) -> _release.RoleSpec:
    check = _health.ContainerCheck(mode="running", interval=0.05, deadline=0.3)
    return _release.RoleSpec("job", {"env": env or {}, "network": "berth"}, check, stop_timeout=3)


def release(engine: Engine, driver: Driver, version: str, roles: list[_release.RoleSpec], **settings: t.Any
            ) -> dict[str, t.Any]:
    request = _release.Request(service="shop", version=version, image="registry.test/shop", roles=roles,
                               timings=SwitchTimings(1, 1, 0), **settings)
    return _release.Release(engine, request, driver).run()


def failing(engine: Engine, driver: Driver, version: str, roles: list[_release.RoleSpec],
            **settings: t.Any) -> _release.StepFailed:
    with pytest.raises(_release.StepFailed) as caught:
        release(engine, driver, version, roles, **settings)
    return caught.value


@pytest.fixture
def serving_v1(app_port: int) -> tuple[Engine, Driver]:
    engine, driver = Engine(), Driver()
    release(engine, driver, "v1", [web(app_port), job()])
    return engine, driver


def test_a_release_boots_checks_switches_and_retires(serving_v1, app_port):
    engine, driver = serving_v1
    result = release(engine, driver, "v2", [web(app_port), job()])
    web_report, job_report = result["roles"]["web"], result["roles"]["job"]
    assert web_report["container"].startswith("shop-web-v2-") and web_report["previous"] == ["v1"]
    assert web_report["previous_container"].startswith("shop-web-v1-")
    assert driver.served("shop-web") == [f"http://{web_report['container']}:{app_port}"]
    assert sorted(engine.running_names()) == sorted([web_report["container"], job_report["container"]])
    assert set(web_report["seconds"]) == set(_release.STEPS)
    assert [action.split()[0] for action in web_report["actions"]] == ["created", "started", "switched", "stopped"]
    old_web = next(item for item in engine.containers.items if item.name == web_report["previous_container"])
    assert old_web.stops == [7], "the old container is stopped gracefully with the role's stop_timeout"


def test_the_same_spec_again_changes_nothing(serving_v1, app_port):
    engine, driver = serving_v1
    before = sorted(engine.running_names())
    result = release(engine, driver, "v1", [web(app_port), job()])
    assert result["changed"] is False
    assert all(not report["actions"] for report in result["roles"].values())
    assert sorted(engine.running_names()) == before


def test_the_same_version_with_a_changed_env_is_a_blue_green_switch(serving_v1, app_port):
    engine, driver = serving_v1
    old = driver.served("shop-web")
    result = release(engine, driver, "v1", [web(app_port, env={"NOTE": "changed"}), job()])
    report = result["roles"]["web"]
    assert report["changed"] and report["previous"] == ["v1"]
    assert driver.served("shop-web") != old and report["container"].startswith("shop-web-v1-")
    assert len([name for name in engine.running_names() if name.startswith("shop-web-")]) == 1


def test_a_secret_change_under_the_same_spec_hash_gets_a_name_of_its_own(serving_v1, app_port):
    engine, driver = serving_v1
    role = web(app_port)
    role.container["secret_env"] = {"SECRET_KEY_BASE": "rotated"}
    old = driver.served("shop-web")[0]
    report = release(engine, driver, "v1", [role])["roles"]["web"]
    assert report["container"].endswith("-2") and old != driver.served("shop-web")[0]


def test_a_registry_that_is_down_fails_the_pull_and_changes_nothing(serving_v1, app_port):
    engine, driver = serving_v1
    engine.registry_down = True
    before, served = sorted(engine.running_names()), driver.served("shop-web")
    failure = failing(engine, driver, "v2", [web(app_port), job()])
    assert failure.step == "pull" and "connection refused" in str(failure) and "Nothing was changed" in str(failure)
    assert sorted(engine.running_names()) == before and driver.served("shop-web") == served


def test_a_host_another_route_on_the_proxy_takes_fails_before_anything_changes(serving_v1, app_port):
    engine, driver = serving_v1
    driver.routes["blog-web"] = Route("blog-web", (), hosts=("blog.test", "SHOP.test"))
    before, served = sorted(engine.running_names()), driver.served("shop-web")
    failure = failing(engine, driver, "v2", [web(app_port), job()])
    assert "would take requests another route on this proxy already takes (blog-web.yml routes shop.test/)" in str(failure)
    assert "Nothing was changed" in str(failure) and "registry.test/shop:v2" not in engine.image_ids
    assert sorted(engine.running_names()) == before and driver.served("shop-web") == served
    driver.routes["blog-web"] = Route("blog-web", (), hosts=("shop.test",), path_prefix="/blog")  # a prefix of its own
    assert release(engine, driver, "v2", [web(app_port), job()])["roles"]["web"]["version"] == "v2"


def test_a_boot_error_fails_the_boot_step(serving_v1, app_port):
    engine, driver = serving_v1
    engine.boot_fails = True
    failure = failing(engine, driver, "v2", [web(app_port)])
    assert failure.step == "boot" and "OCI runtime create failed" in str(failure)


def test_a_failed_health_check_stops_the_new_container_and_keeps_the_route(serving_v1, app_port):
    engine, driver = serving_v1
    served = driver.served("shop-web")
    failure = failing(engine, driver, "v2", [web(app_port, health_path="/down"), job()])
    assert failure.step == "health" and failure.role == "web"
    assert failure.health["status"] == 503 and failure.health["body"] == "database unreachable"
    assert failure.logs and failure.logs[0].startswith("log line of shop-web-v2-")
    assert "failed its health check, so traffic stays on shop-web-v1-" in str(failure)
    assert driver.served("shop-web") == served
    assert not [name for name in engine.running_names() if "-v2-" in name]
    assert [item.attrs["State"]["Status"] for item in engine.containers.items if "-v2-" in item.name] == ["exited"]


def test_an_unconfirmed_switch_puts_the_route_back(serving_v1, app_port):
    engine, driver = serving_v1
    served = driver.served("shop-web")
    driver.confirm_fails = True
    failure = failing(engine, driver, "v2", [web(app_port)])
    assert failure.step == "switch" and "could not be switched in" in str(failure)
    assert "previous route configuration was put back" in str(failure)
    assert driver.served("shop-web") == served and driver.restored == ["shop-web"]
    assert not [name for name in engine.running_names() if "-v2-" in name]


def test_a_later_role_failing_puts_back_the_roles_that_had_switched(serving_v1, app_port):
    engine, driver = serving_v1
    served = driver.served("shop-web")
    original = sorted(engine.running_names())
    release_ = _release.Release(engine, _release.Request(
        service="shop", version="v2", image="registry.test/shop", timings=SwitchTimings(1, 1, 0),
        roles=[web(app_port), job()]), driver)
    engine_start = engine.containers.create

    def create_failing_job(image: str, **kwargs: t.Any) -> t.Any:
        if kwargs["name"].startswith("shop-job-"):
            raise RuntimeError("no space left on device")
        return engine_start(image, **kwargs)

    engine.containers.create = create_failing_job  # type: ignore[method-assign]
    with pytest.raises(_release.StepFailed) as caught:
        release_.run()
    assert caught.value.step == "boot" and caught.value.role == "job"
    assert release_.reverted and release_.reverted[0].startswith("web: shop-web-v2-")
    assert driver.served("shop-web") == served
    assert sorted(engine.running_names()) == original


def test_restore_serves_a_retained_container_again_without_pulling(serving_v1, app_port):
    engine, driver = serving_v1
    first = release(engine, driver, "v2", [web(app_port), job()])
    engine.registry_down = True  # a rollback needs no registry
    previous = {role: report["previous_container"] for role, report in first["roles"].items()}
    result = release(engine, driver, "v2", [web(app_port), job()], restore=previous)
    assert {role: report["container"] for role, report in result["roles"].items()} == previous
    assert driver.served("shop-web") == [f"http://{previous['web']}:{app_port}"]
    assert sorted(engine.running_names()) == sorted(previous.values())


def test_check_mode_reports_and_changes_nothing(serving_v1, app_port):
    engine, driver = serving_v1
    before, served = sorted(engine.running_names()), driver.served("shop-web")
    result = release(engine, driver, "v2", [web(app_port), job()], check_mode=True)
    assert result["changed"] is True
    assert [action.split()[0] for action in result["roles"]["web"]["actions"]] == ["created", "started", "switched",
                                                                                   "stopped"]
    assert sorted(engine.running_names()) == before and driver.served("shop-web") == served


def test_the_audit_line_cannot_be_forged_with_a_newline():
    line = _release.audit_line(0, "alice@laptop", "v2", "ok", {"web": {"previous": ["v1"], "version": "v2"}},
                               "hotfix\n1970-01-01T00:00:00Z performer=mallory version=v666 result=ok")
    assert "\n" not in line
    assert line.startswith("1970-01-01T00:00:00Z performer=alice@laptop version=v2 result=ok web=v1->v2 message=")


def test_a_new_container_is_probed_as_soon_as_it_listens_not_an_interval_later(serving_v1, app_port):
    engine, driver = serving_v1
    role = web(app_port)
    role.check.interval = 1  # the address is only known after a reload: a first "no address" must not cost 1 s
    report = release(engine, driver, "v2", [role])["roles"]["web"]
    assert report["seconds"]["health"] < 0.5, report["seconds"]


def test_a_prune_keeps_what_another_destination_or_service_just_pulled(serving_v1, image_pins):
    """Production's release prunes after staging pulled v2 for its migration but before it created a container:
    v2 stays (pinned), while an image nothing uses or pinned goes; staging then releases v2 from the local copy."""
    engine, driver = serving_v1
    engine.images.pull("registry.test/shop", "v0")  # left over, unused
    _image.ensure(engine, "registry.test/shop:v2", "always", None, False, _image.Pins())  # staging: image module
    result = release(engine, driver, "v1", [job()])
    assert result["pruned_images"] == ["registry.test/shop:v0"]
    assert "registry.test/shop:v2" in engine.image_ids
    engine.registry_down = True  # staging's release must find v2 on the host
    staging = release(engine, driver, "v2", [job()], destination="staging", pull="missing")
    assert staging["roles"]["job"]["version"] == "v2"
    # the release's own pin is gone with its run; its container now keeps v2
    assert not image_pins._pins_of("registry.test/shop:v1")  # pylint: disable=protected-access


def test_a_release_never_prunes_while_another_run_pulls_the_repository(serving_v1, image_pins):
    engine, driver = serving_v1
    engine.images.pull("registry.test/shop", "v0")
    with image_pins.locked("registry.test/shop", exclusive=False):  # another destination's pull in progress
        result = release(engine, driver, "v1", [job()], pull="missing")
    assert result["pruned_images"] == [] and "registry.test/shop:v0" in engine.image_ids
    assert release(engine, driver, "v1", [job()], pull="missing")["pruned_images"] == ["registry.test/shop:v0"]


def weights_of(driver: Driver, name: str = "shop-web") -> dict[str, int]:
    return {target.url.split("//")[1].split("-")[2]: target.weight for target in driver.routes[name].targets}


def test_a_canary_takes_its_share_beside_the_serving_version_then_is_promoted(serving_v1, app_port):
    engine, driver = serving_v1
    jobs_before = [name for name in engine.running_names() if name.startswith("shop-job-")]
    result = release(engine, driver, "v2", [web(app_port), job()], canary="start", canary_percent=10)
    assert list(result["roles"]) == ["web"]  # other roles wait for the promotion
    assert weights_of(driver) == {"v1": 90, "v2": 10} and driver.routes["shop-web"].sticky
    canary = driver.canaries["shop-web"]
    assert canary.version == "v2" and canary.percent == 10 and canary.stable[0].startswith("shop-web-v1-")
    assert sorted(name.split("-")[2] for name in engine.running_names() if name.startswith("shop-web-")) == ["v1", "v2"]
    assert [name for name in engine.running_names() if name.startswith("shop-job-")] == jobs_before

    refused = failing(engine, driver, "v3", [web(app_port), job()])
    assert "A canary runs on this host (role web: v2 for 10% of clients): a deploy would end it unseen" in str(refused)
    other = failing(engine, driver, "v3", [web(app_port)], canary="start", canary_percent=10)
    assert "promote or abort it before a canary of v3" in str(other)
    release(engine, driver, "v2", [web(app_port), job()], canary="start", canary_percent=50)
    assert weights_of(driver) == {"v1": 50, "v2": 50} and driver.canaries["shop-web"].stable == canary.stable

    promoted = release(engine, driver, "", [web(app_port), job()], canary="promote")
    assert promoted["version"] == "v2" and promoted["roles"]["web"]["container"] == canary.container
    assert promoted["roles"]["web"]["previous_container"] == canary.stable[0]  # what a rollback serves again
    assert weights_of(driver) == {"v2": 1} and not driver.routes["shop-web"].sticky and not driver.canaries
    assert sorted(name.split("-")[2] for name in engine.running_names()) == ["v2", "v2"]
    assert release(engine, driver, "", [web(app_port), job()], canary="promote")["roles"] == {}


def test_an_aborted_canary_leaves_the_serving_version_alone_and_goes(serving_v1, app_port):
    engine, driver = serving_v1
    before = sorted(engine.running_names())
    release(engine, driver, "v2", [web(app_port), job()], canary="start", canary_percent=10)
    canary = driver.canaries["shop-web"]
    aborted = release(engine, driver, "", [web(app_port), job()], canary="abort")
    assert aborted["roles"]["web"]["container"] == canary.stable[0]
    assert f"removed {canary.container}" in aborted["roles"]["web"]["actions"]
    assert weights_of(driver) == {"v1": 1} and not driver.canaries
    assert sorted(engine.running_names()) == before
    assert canary.container not in [item.name for item in engine.containers.items]
    assert release(engine, driver, "", [web(app_port), job()], canary="abort")["roles"] == {}


def test_promote_deploys_the_canarys_version_on_a_host_without_a_canary():
    engine, driver = Engine(), Driver()
    release(engine, driver, "v1", [job()])
    promoted = release(engine, driver, "v2", [job()], canary="promote")
    assert promoted["roles"]["job"]["version"] == "v2"
    assert [name.split("-")[2] for name in engine.running_names()] == ["v2"]


def test_a_canary_needs_a_serving_version(app_port):
    engine, driver = Engine(), Driver()
    failure = failing(engine, driver, "v1", [web(app_port)], canary="start", canary_percent=10)
    assert "Nothing serves route shop-web yet: deploy a version first" in str(failure)


def api(port: int, env: dict[str, str] | None = None) -> _release.RoleSpec:
    return replace(web(port, env=env), name="api", route=Route("shop-api", (), hosts=("api.shop.test",)))


def fail_creating(engine: Engine, prefix: str) -> None:
    create = engine.containers.create

    def failing_create(image: str, **kwargs: t.Any) -> t.Any:
        if kwargs["name"].startswith(prefix):
            raise RuntimeError("no space left on device")
        return create(image, **kwargs)

    engine.containers.create = failing_create  # type: ignore[method-assign]


def test_a_new_split_failing_on_a_later_role_puts_the_previous_split_back(serving_v1, app_port):
    engine, driver = serving_v1
    release(engine, driver, "v1", [web(app_port), api(app_port), job()])
    release(engine, driver, "v2", [web(app_port), api(app_port)], canary="start", canary_percent=10)
    split, targets, running = driver.canaries["shop-web"], driver.routes["shop-web"].targets, sorted(engine.running_names())
    fail_creating(engine, "shop-api-")
    changed = {"FEATURE": "on"}  # a new container for each role: the web one switches, the api one fails to boot
    failure = failing(engine, driver, "v2", [web(app_port, env=changed), api(app_port, env=changed)], canary="start",
                      canary_percent=30)
    assert (failure.step, failure.role) == ("boot", "api")
    assert driver.canaries["shop-web"] == split and driver.routes["shop-web"].targets == targets
    assert weights_of(driver) == {"v1": 90, "v2": 10} and driver.routes["shop-web"].sticky
    assert sorted(engine.running_names()) == running  # the replaced canary runs again, the new one stopped


def test_a_promotion_failing_on_a_later_role_puts_the_split_back(serving_v1, app_port):
    engine, driver = serving_v1
    release(engine, driver, "v2", [web(app_port), job()], canary="start", canary_percent=10)
    split, running = driver.canaries["shop-web"], sorted(engine.running_names())
    fail_creating(engine, "shop-job-")
    failure = failing(engine, driver, "", [web(app_port), job()], canary="promote")
    assert (failure.step, failure.role) == ("boot", "job")
    assert driver.canaries["shop-web"] == split and weights_of(driver) == {"v1": 90, "v2": 10}
    assert sorted(engine.running_names()) == running  # the stable version started again beside the canary


def test_a_route_with_error_pages_needs_the_page_server_before_anything_changes(serving_v1, app_port):
    engine, driver = serving_v1
    served, running = driver.served("shop-web"), sorted(engine.running_names())
    paged = web(app_port)
    paged = replace(paged, route=replace(paged.route, error_pages=ErrorPages((502,), "http://berth-proxy-pages:8080",
                                                                             ((502, "<h1>down</h1>"),))))
    failure = failing(engine, driver, "v2", [paged, job()])
    assert "Route shop-web has error pages, which the page server berth-proxy-pages serves, and it does not run on " \
           "this host: run playbooks/setup.yml first. Nothing was changed on this host." in str(failure)
    assert driver.served("shop-web") == served and sorted(engine.running_names()) == running
    engine.containers.create("registry.test/shop:v1", name="berth-proxy-pages").start()
    assert release(engine, driver, "v2", [paged, job()])["roles"]["web"]["version"] == "v2"
