"""The Python client against a real daqd (started by test/integration/python-client.test.ts, which
sets DAQD_SOCKET and DAQD_HTTP_URL): every public method, an error kind, a subscription."""
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from daqd_client import Daqd, DaqdError, find_socket  # noqa: E402

SOCKET = os.environ["DAQD_SOCKET"]
URL = os.environ.get("DAQD_HTTP_URL")


@pytest.fixture
def d():
    with Daqd() as c:
        yield c


def wait_ready(d, id, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if d.get(id)["state"] == "ready":
            return
        time.sleep(0.05)
    raise AssertionError(f"{id} never ready")


def test_finds_the_socket_like_daqctl():
    assert find_socket() == SOCKET


def test_status_instruments_get(d):
    assert "instruments" in d.status() or d.status()
    ids = [i["id"] for i in d.instruments()]
    assert "pm" in ids
    wait_ready(d, "pm")
    pm = d.get("pm")
    assert pm["id"] == "pm" and pm["driver"] == "newport_1830c"


def test_set_is_confirmed_and_errors_have_a_kind(d):
    wait_ready(d, "pm")
    d.set("pm", wavelength_nm=830, persist=False)
    assert d.get("pm")["device"]["wavelength_nm"] == 830
    with pytest.raises(DaqdError) as e:
        d.get("nope")
    assert e.value.kind == "not_found"
    with pytest.raises(DaqdError) as e:
        d.call("no.such.method")
    assert e.value.kind == "method_not_found"


def test_add_abort_remove(d):
    r = d.add("pm9", config={"driver": "newport_1830c", "port": "sim"}, persist=False)
    assert r["state"] == "ready" or d.get("pm9")
    d.abort("pm9")
    d.remove("pm9", persist=False)
    assert "pm9" not in [i["id"] for i in d.instruments()]


def test_subscribe_yields_readings(d):
    seen = []
    for ev in d.subscribe(types=["reading"], instruments=["pm"], timeout=5):
        seen.append(ev)
        if len(seen) >= 3:
            break
    assert all(e["method"] == "reading" and e["params"]["instrument"] == "pm" for e in seen)
    # The connection is usable again after the generator ends.
    assert d.get("pm")["id"] == "pm"


def test_readings_rows(d):
    rows = d.readings("pm", 0.5)
    n = len(rows)
    assert n >= 2
    first = rows.iloc[0].to_dict() if hasattr(rows, "iloc") else rows[0]
    assert "seq" in first and "power" in first


@pytest.mark.skipif(not URL, reason="no DAQD_HTTP_URL")
def test_over_http_the_same_methods_and_events():
    h = Daqd(url=URL)
    assert h.get("pm")["id"] == "pm"
    with pytest.raises(DaqdError) as e:
        h.get("nope")
    assert e.value.kind == "not_found"
    evs = []
    for ev in h.subscribe(types=["reading"], instruments=["pm"], timeout=5):
        evs.append(ev)
        if len(evs) >= 2:
            break
    assert evs[0]["method"] == "reading"
