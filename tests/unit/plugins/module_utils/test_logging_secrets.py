"""berth_logging.options values that may be secrets stay out of berth_plan (issue 12, item 3)."""
import json

from ansible_collections.berth.deploy.plugins.filter.log_secret_options import log_secret_options
from ansible_collections.berth.deploy.plugins.module_utils._config import build_plan
from ansible_collections.berth.deploy.plugins.module_utils._container import build_spec

MINIMAL = {
    "berth_service": "myapp",
    "berth_image": "registry.example.com/acme/myapp",
    "berth_version": "v1",
    "berth_roles": {"web": {"proxy": {"host": "app.example.com", "app_port": 3000}}},
}
TOKEN = "splunk-token-0123456789abcdef"
LOGGING = {"driver": "splunk", "options": {
    "splunk-token": TOKEN, "splunk-url": "https://splunk.example.com:8088", "max-size": "20m", "tag": "{{.Name}}"}}


def test_the_plan_keeps_the_names_of_secret_log_options_only():
    plan = build_plan({**MINIMAL, "berth_logging": LOGGING})
    assert plan["logging"] == {"driver": "splunk", "options": {"max-size": "20m", "tag": "{{.Name}}"},
                               "secret_option_names": ["splunk-token", "splunk-url"]}
    assert TOKEN not in json.dumps(plan) and "splunk.example.com" not in json.dumps(plan)


def test_the_filter_reads_the_values_the_plan_names():
    names = build_plan({**MINIMAL, "berth_logging": LOGGING})["logging"]["secret_option_names"]
    assert log_secret_options(LOGGING, names) == {"splunk-token": TOKEN, "splunk-url": "https://splunk.example.com:8088"}
    assert log_secret_options({}, names) == {} and log_secret_options(None, []) == {}
    assert log_secret_options({"options": {"retries": 3}}, ["retries"]) == {"retries": "3"}


def test_the_container_gets_plain_and_secret_options_together():
    spec = build_spec({"name": "myapp-web-v1", "image": "registry.example.com/acme/myapp:v1", "log_driver": "splunk",
                       "log_options": {"max-size": "20m"}, "log_secret_options": {"splunk-token": TOKEN}})
    assert spec.log_options == {"max-size": "20m", "splunk-token": TOKEN}
