from ansible_collections.berth.deploy.plugins.filter.status_table import status_table


def test_table_shows_running_health_and_retained():
    hostvars = {
        "app1": {"status_roles": {"results": [
            {"status_role": "web", "retained": ["v2", "v1"], "containers": [
                {"version": "v2", "status": "running", "health": "healthy"},
                {"version": "v1", "status": "exited", "health": None}]}]}},
        "app2": {"status_roles": {"results": [{"status_role": "web", "retained": ["v1"], "containers": [
            {"version": "v1", "status": "exited", "health": None}]}]}},
        "db1": {},
    }
    lines = status_table(["app1", "app2", "db1"], hostvars)
    assert lines[0].split()[:3] == ["HOST", "ROLE", "RUNNING"]
    assert lines[1].split() == ["app1", "web", "v2", "(healthy)", "v2", "v1"]
    assert lines[2].split() == ["app2", "web", "none", "v1"]
    assert len(lines) == 3


def test_accessories_follow_in_a_table_of_their_own():
    roles = {"results": [{"status_role": "web", "retained": ["v1"], "containers": [
        {"version": "v1", "status": "running", "health": None}]}]}
    accessories = {"results": [
        {"status_accessory": "db", "exists": True, "container": {
            "name": "shop-db", "image": "postgres:17", "status": "running", "health": "healthy"}},
        {"status_accessory": "redis", "exists": False, "container": {}}]}
    hostvars = {"app1": {"status_roles": roles, "status_accessories": accessories}}
    lines = status_table(["app1"], hostvars)
    assert lines[2].split() == ["HOST", "ACCESSORY", "STATUS", "IMAGE"]
    assert lines[3].split() == ["app1", "db", "running", "(healthy)", "postgres:17"]
    assert lines[4].split() == ["app1", "redis", "absent"]
    assert len(lines) == 5


def test_a_running_canary_shows_its_split():
    roles = {"results": [{"status_role": "web", "retained": ["v2", "v1"], "containers": [
        {"version": "v2", "status": "running", "health": None}, {"version": "v1", "status": "running", "health": None}]}]}
    canaries = {"canaries": {"shop-web": {"version": "v2", "percent": 10, "container": "shop-web-v2-ab",
                                          "stable": ["shop-web-v1-cd"]}}}
    lines = status_table(["app1"], {"app1": {"status_roles": roles, "status_canaries": canaries}})
    assert lines[2].split()[:3] == ["HOST", "CANARY", "ROUTE"]
    assert lines[3].split() == ["app1", "shop-web", "v2", "10%", "90%", "to", "shop-web-v1-cd"]
