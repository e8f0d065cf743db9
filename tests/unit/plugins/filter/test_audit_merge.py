from __future__ import annotations

from ansible_collections.berth.deploy.plugins.filter.audit_merge import audit_merge


def test_the_hosts_lines_merge_oldest_first_each_with_its_host():
    found = {"web2": ["2026-12-01T10:00:05Z performer=a version=v2 result=ok web=v1->v2",
                      "2026-12-01T11:00:00Z performer=a version=v1 result=rolled-back web=v2->v1"],
             "web1": ["2026-12-01T10:00:01Z performer=a version=v2 result=ok web=v1->v2"], "db": None}
    assert audit_merge(found) == [
        "2026-12-01T10:00:01Z web1 performer=a version=v2 result=ok web=v1->v2",
        "2026-12-01T10:00:05Z web2 performer=a version=v2 result=ok web=v1->v2",
        "2026-12-01T11:00:00Z web2 performer=a version=v1 result=rolled-back web=v2->v1"]
