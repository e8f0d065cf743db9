from ansible_collections.berth.deploy.plugins.module_utils import _yaml
from ansible_collections.berth.deploy.plugins.module_utils._proxy import Route, Target
from ansible_collections.berth.deploy.plugins.module_utils._proxy.traefik import dynamic_config, rule_for

import yaml


def route(**overrides):
    settings = dict(name="myapp-web", targets=(Target("http://myapp-web-v2:3000"),), hosts=("app.example.com",))
    settings.update(overrides)
    return Route(**settings)


def test_rules():
    assert rule_for(route()) == "Host(`app.example.com`)"
    assert rule_for(route(hosts=("a.test", "b.test"), path_prefix="/api")) == \
        "(Host(`a.test`) || Host(`b.test`)) && PathPrefix(`/api`)"
    assert rule_for(route(hosts=(), path_prefix="/api")) == "PathPrefix(`/api`)"


def test_dynamic_config_round_trips_through_yaml():
    config = dynamic_config(route(targets=(Target("http://a:3000", 3), Target("http://b:3000", 1)),
                                  response_timeout=45, pass_host_header=False))
    assert yaml.safe_load(_yaml.dump(config, header="managed")) == config
    service = config["http"]["services"]["myapp-web"]["loadBalancer"]
    assert service["servers"] == [{"url": "http://a:3000", "weight": 3}, {"url": "http://b:3000", "weight": 1}]
    assert service["passHostHeader"] is False
    assert config["http"]["serversTransports"]["myapp-web"]["forwardingTimeouts"]["responseHeaderTimeout"] == "45s"


def test_yaml_quotes_anything_that_could_change_structure():
    tricky = {"on": "yes", "k": "a: b # c", "list": ["- x", True, None, 1.5], "empty": {}, "none": []}
    assert yaml.safe_load(_yaml.dump(tricky)) == tricky
