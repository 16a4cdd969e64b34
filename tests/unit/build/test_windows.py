"""plugins/filter/windows.py: inside / outside a maintenance window, crossing midnight, time zones, override."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.stratum.ops.plugins.filter.windows import maintenance_window

SUNDAY_NIGHT = [{"days": ["sun"], "start": "02:00", "end": "05:00", "tz": "UTC"}]
# Saturday 23:00 to Sunday 01:00, Berlin time
ACROSS_MIDNIGHT_BERLIN = [{"days": ["sat"], "start": "23:00", "end": "01:00", "tz": "Europe/Berlin"}]


@pytest.mark.parametrize(
    ("now", "inside"),
    [
        ("2026-11-29T02:00:00Z", True),  # a Sunday, at the start
        ("2026-11-29T04:59:00+00:00", True),
        ("2026-11-29T05:00:00Z", False),  # the end is exclusive
        ("2026-11-29T01:59:00Z", False),
        ("2026-11-30T03:00:00Z", False),  # Monday
    ],
)
def test_inside_and_outside_a_simple_window(now, inside):
    decision = maintenance_window(SUNDAY_NIGHT, now=now, name="db_maintenance")
    assert decision["inside"] is inside and decision["allowed"] is inside and decision["configured"] is True
    assert decision["window"] == ("sun 02:00-05:00 UTC" if inside else "")


def test_outside_names_the_windows_the_next_start_and_the_override():
    decision = maintenance_window(SUNDAY_NIGHT, now="2026-11-30T03:00:00Z", name="db_maintenance")
    assert decision["next_start"] == "2026-12-06T02:00:00+00:00"
    assert "stratum_maintenance_windows.db_maintenance (sun 02:00-05:00 UTC)" in decision["reason"]
    assert "-e stratum_outside_window=true" in decision["reason"]


@pytest.mark.parametrize(
    ("now_utc", "inside"),
    [
        ("2026-11-28T22:30:00Z", True),  # Sat 23:30 in Berlin (UTC+1 in winter)
        ("2026-11-28T23:59:00Z", True),  # Sun 00:59 in Berlin: after midnight, still Saturday's window
        ("2026-11-29T00:00:00Z", False),  # Sun 01:00 in Berlin: closed
        ("2026-11-28T21:59:00Z", False),  # Sat 22:59 in Berlin: not open yet
        ("2026-11-29T22:30:00Z", False),  # Sun 23:30 in Berlin: the window is on Saturdays only
    ],
)
def test_window_crossing_midnight_in_its_own_time_zone(now_utc, inside):
    assert maintenance_window(ACROSS_MIDNIGHT_BERLIN, now=now_utc)["inside"] is inside


def test_daylight_saving_time_is_the_zones():
    # Saturday 23:30 in Berlin is 21:30 UTC in summer (UTC+2) and 22:30 UTC in winter (UTC+1)
    assert maintenance_window(ACROSS_MIDNIGHT_BERLIN, now="2026-06-27T21:30:00Z")["inside"] is True
    assert maintenance_window(ACROSS_MIDNIGHT_BERLIN, now="2026-06-27T22:30:00Z")["inside"] is True
    assert maintenance_window(ACROSS_MIDNIGHT_BERLIN, now="2026-06-27T20:59:00Z")["inside"] is False


def test_several_windows_any_one_counts():
    windows = [*SUNDAY_NIGHT, {"days": ["wed", "thu"], "start": "12:00", "end": "13:00", "tz": "America/New_York"}]
    assert maintenance_window(windows, now="2026-12-03T17:30:00Z")["window"].startswith("wed,thu 12:00-13:00")


def test_override_allows_outside_and_says_so():
    decision = maintenance_window(SUNDAY_NIGHT, now="2026-11-30T03:00:00Z", override="true")
    assert decision["inside"] is False and decision["allowed"] is True and decision["override"] is True
    assert "run anyway: stratum_outside_window=true" in decision["reason"]


def test_override_false_string_does_not_override():
    assert maintenance_window(SUNDAY_NIGHT, now="2026-11-30T03:00:00Z", override="false")["allowed"] is False


def test_no_windows_declared_is_not_configured_and_allowed():
    decision = maintenance_window(None, name="db_resize")
    assert decision == {**decision, "configured": False, "allowed": True, "inside": False}
    assert decision["reason"].startswith("not configured: set stratum_maintenance_windows.db_resize")


@pytest.mark.parametrize(
    ("windows", "fragment"),
    [
        ([{"days": ["someday"], "start": "02:00", "end": "03:00"}], "days must be among"),
        ([{"days": [], "start": "02:00", "end": "03:00"}], "non-empty list"),
        ([{"days": ["sun"], "start": "2am", "end": "03:00"}], "start must be HH:MM"),
        ([{"days": ["sun"], "start": "02:00", "end": "03:00", "tz": "Mars/Olympus"}], "not a time zone name"),
        ({"days": ["sun"]}, "must be a list"),
    ],
)
def test_bad_windows_fail_naming_the_problem(windows, fragment):
    with pytest.raises(AnsibleFilterError, match=fragment):
        maintenance_window(windows, now="2026-11-30T03:00:00Z")
