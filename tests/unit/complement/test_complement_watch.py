"""Telling a crashed homeserver from a stopped one, from docker's event stream."""

from __future__ import annotations

import json

from tasks.complement.watch import HomeserverWatch


def event(action: str, container: str = "c1", name: str = "complement_csapi_hs1", **attributes: str) -> str:
    attrs = {"name": name, "image": "bakehouse-complement-testee:run1", **attributes}
    return json.dumps(
        {"Type": "container", "Action": action, "Actor": {"ID": container, "Attributes": attrs}}
    )


def test_a_homeserver_that_dies_before_healthy_is_a_crash():
    watch = HomeserverWatch()
    assert watch.feed(event("create")) is None
    assert watch.feed(event("start")) is None
    assert watch.feed(event("health_status: starting")) is None
    crash = watch.feed(event("die", exitCode="2"))
    assert crash is not None
    assert crash.exit_code == "2"
    assert crash.describe() == (
        "homeserver container complement_csapi_hs1 (bakehouse-complement-testee:run1) exited with "
        "status 2 before it was healthy"
    )
    # Reported once: later deaths don't replace the first.
    assert watch.feed(event("start", container="c2")) is None
    assert watch.feed(event("die", container="c2", exitCode="1")) is None
    assert watch.crash == crash


def test_containers_complement_stops_are_not_crashes():
    watch = HomeserverWatch()
    for action in ("start", "health_status: healthy", "kill", "die", "stop"):
        assert watch.feed(event(action, exitCode="0")) is None
    # Stopped before it got healthy (a test ended early): the signal makes it Complement's doing.
    for action in ("start", "kill", "die"):
        assert watch.feed(event(action, container="c2", exitCode="137")) is None
    assert watch.crash is None


def test_a_healthy_homeserver_that_later_exits_is_not_this_guards_business():
    watch = HomeserverWatch()
    watch.feed(event("start"))
    watch.feed(event("health_status: healthy"))
    assert watch.feed(event("die", exitCode="1")) is None


def test_unhealthy_is_not_healthy():
    watch = HomeserverWatch()
    watch.feed(event("start"))
    watch.feed(event("health_status: unhealthy"))
    assert watch.feed(event("die", exitCode="1")) is not None


def test_a_restart_after_a_stop_is_judged_afresh():
    watch = HomeserverWatch()
    for action in ("start", "kill", "die", "start"):
        assert watch.feed(event(action)) is None
    assert watch.feed(event("die", exitCode="1")) is not None


def test_the_tester_and_noise_are_ignored():
    watch = HomeserverWatch(ignore_names=frozenset({"bakehouse-complement-run1-tester"}))
    assert watch.feed(event("die", name="bakehouse-complement-run1-tester", exitCode="1")) is None
    assert watch.feed("not json") is None
    assert watch.feed(json.dumps({"Type": "network", "Action": "destroy"})) is None
    assert watch.feed(json.dumps([1, 2])) is None
    assert watch.crash is None
