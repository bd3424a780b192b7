"""The journal viewer's model (console/journalview.py) on its own: filters,
order across hosts, the bound, pause and search."""

from __future__ import annotations

import time

import pytest

from console.journalview import JournalFilter, JournalView, parse_units
from console.model import JournalEntry

T0 = 1_700_000_000.0


def entry(n: float, message: str = "", *, priority: int = 6, unit: str | None = "app.service",
          identifier: str | None = "app", pid: int | None = 42, boot: str = "boot1") -> JournalEntry:
    return JournalEntry(cursor=f"c{n}", timestamp=T0 + n, priority=priority, message=message or f"line {n}",
                        unit=unit, identifier=identifier, pid=pid, boot_id=boot)


def messages(view: JournalView) -> list[str]:
    return [row.entry.message for row in view.visible]


# --- the filter -------------------------------------------------------------------------


def test_priority_means_this_level_and_more_severe() -> None:
    warning = JournalFilter(priority=4)
    assert [p for p in range(8) if warning.matches(entry(0, priority=p))] == [0, 1, 2, 3, 4]
    assert all(JournalFilter().matches(entry(0, priority=p)) for p in range(8))
    with pytest.raises(ValueError):
        JournalFilter(priority=8)


def test_units_match_any_of_them_and_names_get_service() -> None:
    assert parse_units("sshd, nginx.service  systemd-logind sshd") == (
        "sshd.service", "nginx.service", "systemd-logind.service")
    assert parse_units("  ") == ()
    assert parse_units("multi-user.target") == ("multi-user.target",)
    units = JournalFilter(units=parse_units("sshd nginx"))
    assert units.matches(entry(0, unit="nginx.service"))
    assert not units.matches(entry(0, unit="app.service"))
    assert not units.matches(entry(0, unit=None))


def test_text_is_found_in_message_unit_or_identifier_ignoring_case() -> None:
    search = JournalFilter(text="SSH")
    assert search.matches(entry(0, "Accepted publickey for root (ssh2)"))
    assert search.matches(entry(0, "listening", unit="sshd.service"))
    assert search.matches(entry(0, "listening", unit=None, identifier="sshd"))
    assert not search.matches(entry(0, "listening", unit=None, identifier=None))
    assert JournalFilter(text="a.c").matches(entry(0, "a.c")) and not JournalFilter(text="a.c").matches(entry(0, "abc"))


def test_match_spans_index_the_text_as_shown() -> None:
    spans = JournalFilter(text="err").match_spans("ERROR: an Err, err")
    assert spans == [(0, 3), (10, 13), (15, 18)]
    # "İ" lowers to two characters; spans must still index the original text.
    assert JournalFilter(text="x").match_spans("İx") == [(1, 2)]
    assert JournalFilter().match_spans("anything") == []


def test_a_filter_describes_itself_briefly() -> None:
    assert JournalFilter().describe() == ""
    assert JournalFilter(priority=3, units=("sshd.service",), text="fail").describe() == "≤err unit sshd.service “fail”"


# --- rows, order and the bound ------------------------------------------------------------


def test_rows_stay_in_timestamp_order_when_entries_come_out_of_order() -> None:
    view = JournalView(100, tag_width=5)
    view.add("alpha", [entry(1), entry(5), entry(9)])
    view.add("beta", [entry(3, "beta 3"), entry(7, "beta 7")])  # older than alpha's newest
    view.add("alpha", [entry(5, "alpha 5 again")])  # an equal timestamp goes after the first
    assert messages(view) == ["line 1", "beta 3", "line 5", "alpha 5 again", "beta 7", "line 9"]
    assert [row.host for row in view.visible] == ["alpha", "beta", "alpha", "alpha", "beta", "alpha"]


def test_the_oldest_rows_are_dropped_beyond_maxlen() -> None:
    view = JournalView(3)
    assert view.add("alpha", [entry(n) for n in range(5)])
    assert len(view) == 3 and messages(view) == ["line 2", "line 3", "line 4"]
    view.add("beta", [entry(0.5, "too old to keep")])
    assert messages(view) == ["line 2", "line 3", "line 4"]
    view.add("beta", [entry(3.5, "between")])
    assert messages(view) == ["line 3", "between", "line 4"]


def test_a_flood_never_holds_more_than_maxlen() -> None:
    view = JournalView(500)
    for batch in range(40):
        view.add("alpha", [entry(batch * 250 + n) for n in range(250)])
        assert len(view) <= 500 and len(view.visible) <= 500
    assert messages(view)[-1] == f"line {39 * 250 + 249}"


def test_replace_host_keeps_the_other_hosts() -> None:
    view = JournalView(100)
    view.add("alpha", [entry(1, "a1"), entry(3, "a3")])
    view.add("beta", [entry(2, "b2")])
    view.replace_host("alpha", [entry(4, "a4")])
    assert messages(view) == ["b2", "a4"]


def test_only_each_hosts_newest_boot_shows() -> None:
    view = JournalView(100)
    view.add("alpha", [entry(1, "old boot", boot="b0"), entry(2, "old crash", boot="b0")])
    view.add("beta", [entry(1.5, "beta", boot="x")])
    assert messages(view) == ["old boot", "beta", "old crash"]
    view.add("alpha", [entry(3, "new boot", boot="b1")])
    assert messages(view) == ["beta", "new boot"]
    assert len(view) == 4


# --- filters and pause ---------------------------------------------------------------------


def test_set_filter_shows_exactly_the_matching_rows() -> None:
    view = JournalView(100)
    view.add("alpha", [entry(1, "ok"), entry(2, "failed", priority=3), entry(3, "warned", priority=4, unit="x.service")])
    assert view.set_filter(JournalFilter(priority=4))
    assert messages(view) == ["failed", "warned"]
    view.set_filter(JournalFilter(priority=4, units=("x.service",)))
    assert messages(view) == ["warned"]
    assert not view.set_filter(JournalFilter(priority=4, units=("x.service",))), "the same filter changes nothing"
    view.add("alpha", [entry(4, "ok again"), entry(5, "warned again", priority=4, unit="x.service")])
    assert messages(view) == ["warned", "warned again"]


def test_paused_rows_wait_and_are_counted_then_resume_shows_them() -> None:
    view = JournalView(100, filter=JournalFilter(priority=4))
    view.add("alpha", [entry(1, "before", priority=3)])
    view.pause()
    assert not view.add("alpha", [entry(2, "while paused", priority=3), entry(3, "hidden by filter", priority=6)])
    view.add("alpha", [entry(4, "also while paused", priority=4)])
    assert messages(view) == ["before"] and view.pending == 2
    view.set_filter(JournalFilter())  # a new filter while paused still shows only what came before
    assert messages(view) == ["before"] and view.pending == 3
    assert view.resume()
    assert messages(view) == ["before", "while paused", "hidden by filter", "also while paused"]
    assert view.pending == 0 and not view.paused


def test_pending_counts_only_rows_still_kept() -> None:
    view = JournalView(10)
    view.add("alpha", [entry(n) for n in range(5)])
    view.pause()
    view.add("alpha", [entry(5 + n) for n in range(30)])
    assert view.pending == 10, "only the newest 10 are kept, so only they will show"
    assert messages(view) == [f"line {n}" for n in range(5)], "what was shown stays while paused"
    view.replace_host("alpha", [entry(100 + n) for n in range(4)])
    assert view.pending == 4
    view.resume()
    assert messages(view) == [f"line {100 + n}" for n in range(4)]


# --- lines and search ------------------------------------------------------------------------


def test_lines_are_journalctls_short_format_with_the_host_in_a_merged_view() -> None:
    stamp = time.strftime("%b %d %H:%M:%S", time.localtime(T0 + 1))
    single, merged = JournalView(10), JournalView(10, tag_width=5)
    for view in (single, merged):
        view.add("beta", [entry(1, "Started\tit\nnext\x1b[31m")])
    line = single.line(single.visible[0])
    assert line.text == f"{stamp} app[42]: Started it⏎next\ufffd[31m"
    assert line.text[line.message:].startswith("Started")
    assert line.host == line.body == len(stamp) + 1
    tagged = merged.line(merged.visible[0])
    assert tagged.text == f"{stamp} beta  app[42]: Started it⏎next\ufffd[31m"
    assert tagged.text[tagged.host:tagged.body] == "beta  "
    bare = JournalView(10)
    bare.add("alpha", [entry(2, "hello", identifier=None, pid=None)])
    assert bare.line(bare.visible[0]).text.endswith(" unknown: hello")


def test_head_width_and_body_measure_the_line_without_formatting_it() -> None:
    for view in (JournalView(10), JournalView(10, tag_width=7)):
        view.add("beta", [entry(1, "Started\tit\nnext\x1b[31m"), entry(2, "x", identifier=None, pid=None)])
        for row in view.visible:
            line = view.line(row)
            assert view.head_width == line.body
            assert line.text == line.text[:line.body] + view.body(row)


def test_newly_visible_names_the_rows_an_add_showed() -> None:
    view = JournalView(10, filter=JournalFilter(priority=4))
    view.add("alpha", [entry(1, priority=3), entry(2, priority=6), entry(3, priority=4)])
    assert [row.entry.timestamp - T0 for row in view.newly_visible] == [1, 3]
    view.add("alpha", [entry(4, boot="boot2")])  # a new boot: every row chosen afresh
    assert view.newly_visible is None


def test_spans_skip_the_time_and_host() -> None:
    view = JournalView(10, tag_width=5)
    view.add("alpha", [entry(1, "alpha said alpha", identifier="alpha")])
    view.set_filter(JournalFilter(text="alpha"))
    row = view.visible[0]
    line = view.line(row)
    assert [line.text[start:end] for start, end in view.spans(row)] == ["alpha"] * 3
    assert all(start >= line.body for start, _ in view.spans(row))


def test_next_and_previous_match_walk_every_occurrence_and_wrap_around() -> None:
    view = JournalView(10)
    view.add("alpha", [entry(1, "x one x"), entry(2, "none"), entry(3, "x three")])
    assert view.next_match(0) is None, "no search text, no matches"
    view.filter = JournalFilter(text="x")  # searching without hiding rows
    body = view.line(view.visible[0]).message
    first = view.next_match(0)
    assert first is not None and (first.index, first.start) == (0, body)
    second = view.next_match(first.index, first.start)
    assert second is not None and (second.index, second.start) == (0, body + 6)
    third = view.next_match(second.index, second.start)
    assert third is not None and third.index == 2
    again = view.next_match(third.index, third.start)
    assert again == first, "after the last match comes the first"
    assert view.previous_match(first.index, first.start) == third
    assert view.previous_match(third.index, third.start) == second
    assert view.previous_match(1) == second, "from a row without matches: the last one above"
