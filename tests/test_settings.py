"""Numeric settings from the environment: a value typed wrong is logged and the default serves, never a crash at
import (``SEGDEMO_QUEUE_SIZE="16 visitors"`` raised ValueError) nor a queue of 0 that refuses every visitor."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
from conftest import ROOT

from segdemo.settings import number_setting

# each numeric variable: where its value lands, what that is from the default, and a value out of its range
SETTINGS = {
    "SEGDEMO_QUEUE_SIZE": ("segdemo.ui", "QUEUE_SIZE", 16, "0"),
    "SEGDEMO_MEMORY_HEADROOM_MB": ("segdemo.memory", "HEADROOM_MB", 192, "-5"),
    "SEGDEMO_KEEP_RESULTS_HOURS": ("segdemo.imagefiles", "RESULTS_KEPT_SECONDS", 24 * 3600, "0"),
    "SEGDEMO_RESULTS_MAX_GB": ("segdemo.imagefiles", "RESULTS_MAX_BYTES", 10 * 10**9, "-1"),
    "SEGDEMO_DISK_FREE_GB": ("segdemo.imagefiles", "DISK_KEPT_FREE_BYTES", 2 * 10**9, "-0.5"),
}
DEFAULTS = {"SEGDEMO_QUEUE_SIZE": 16, "SEGDEMO_MEMORY_HEADROOM_MB": 192.0, "SEGDEMO_KEEP_RESULTS_HOURS": 24,
            "SEGDEMO_RESULTS_MAX_GB": 10, "SEGDEMO_DISK_FREE_GB": 2}


def imported_with(values: dict[str, str]) -> tuple[dict[str, float], str]:
    """Import the modules that read the settings with ``values`` in the environment: their constants and stderr."""
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    env.update(values)
    script = ("import importlib, json; settings = " + json.dumps(SETTINGS) + "\n"
              "print(json.dumps({name: getattr(importlib.import_module(module), attribute)"
              " for name, (module, attribute, _, _) in settings.items()}))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


@pytest.mark.parametrize("wrong", ["no number", "out of range"])
def test_each_variable_typed_wrong_gives_its_default_and_one_error_line(wrong):
    values = {name: "16 visitors" if wrong == "no number" else spec[3] for name, spec in SETTINGS.items()}
    constants, stderr = imported_with(values)
    assert constants == {name: spec[2] for name, spec in SETTINGS.items()}
    for name, value in values.items():
        lines = [line for line in stderr.splitlines() if f"ignoring {name}={value!r}" in line]
        assert len(lines) == 1, stderr
        assert f"using the default, {DEFAULTS[name]}" in lines[0]


def test_right_values_are_taken():
    constants, stderr = imported_with({"SEGDEMO_QUEUE_SIZE": "32", "SEGDEMO_MEMORY_HEADROOM_MB": "0",
                                       "SEGDEMO_KEEP_RESULTS_HOURS": "0.5", "SEGDEMO_RESULTS_MAX_GB": "1.5",
                                       "SEGDEMO_DISK_FREE_GB": "0"})
    assert constants == {"SEGDEMO_QUEUE_SIZE": 32, "SEGDEMO_MEMORY_HEADROOM_MB": 0.0,
                         "SEGDEMO_KEEP_RESULTS_HOURS": 1800, "SEGDEMO_RESULTS_MAX_GB": 1_500_000_000,
                         "SEGDEMO_DISK_FREE_GB": 0}
    assert "ignoring" not in stderr


@pytest.mark.parametrize(
    "text,said",
    [
        ("16 visitors", "a whole number from 1 to 10000"),
        ("0", "a whole number from 1 to 10000"),
        ("10001", "a whole number from 1 to 10000"),
        ("2.5", "a whole number from 1 to 10000"),
        ("nan", "a whole number from 1 to 10000"),
        ("inf", "a whole number from 1 to 10000"),
    ],
)
def test_a_whole_number_out_of_its_range_is_refused(monkeypatch, caplog, text, said):
    monkeypatch.setenv("SEGDEMO_TEST_SETTING", text)
    with caplog.at_level(logging.ERROR, logger="segdemo.settings"):
        assert number_setting("SEGDEMO_TEST_SETTING", 16, low=1, high=10_000, whole=True) == 16
    assert caplog.messages == [f"ignoring SEGDEMO_TEST_SETTING={text!r}: it must be {said}; using the default, 16"]


@pytest.mark.parametrize("text,value", [("12", 12), (" 8 ", 8), ("1e3", 1000), ("", 16)])
def test_a_whole_number_in_range_is_read(monkeypatch, caplog, text, value):
    monkeypatch.setenv("SEGDEMO_TEST_SETTING", text)
    with caplog.at_level(logging.ERROR, logger="segdemo.settings"):
        got = number_setting("SEGDEMO_TEST_SETTING", 16, low=1, high=10_000, whole=True)
    assert got == value and isinstance(got, int) and not caplog.messages


def test_a_bound_left_out_is_said_so(monkeypatch, caplog):
    monkeypatch.setenv("SEGDEMO_TEST_SETTING", "0")
    with caplog.at_level(logging.ERROR, logger="segdemo.settings"):
        assert number_setting("SEGDEMO_TEST_SETTING", 24, low=0, low_included=False) == 24
    assert caplog.messages == ["ignoring SEGDEMO_TEST_SETTING='0': it must be a number above 0; using the default, 24"]


def test_the_server_says_the_settings_it_took_in_one_line_at_start():
    """After weeks, an operator read nothing in the Space's log of how it was set (helper-42's audit)."""
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    env.update({"SEGDEMO_QUEUE_SIZE": "5", "SEGDEMO_KEEP_RESULTS_HOURS": "0.5", "SEGDEMO_RESULTS_MAX_GB": "1.5"})
    done = subprocess.run([sys.executable, "-c", "from segdemo.ui import serving_settings; print(serving_settings())"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip().splitlines()[-1]
    assert line.startswith("queue: 1 at a time, 5 waiting; results kept 0.5 h, up to 1.5 GB, 2 GB of disk kept free")
    assert "GB free now, cache " in line and "memory headroom 192 MB; sessions kept 10,000" in line
