"""Resource limits decided before work starts, atomic writes with clean failures (issue 12).

Tiny inputs must not exhaust the machine (a YAML alias bomb, a trillion members, a
billion steps are refused in seconds and a little memory); a write that fails or is
interrupted leaves no file, no temporary file and no traceback.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from simulator.cli import main
from simulator.core._atomic import WriteError, atomic_path
from simulator.core._budget import (
    BudgetError,
    Estimate,
    available_memory,
    check_budget,
    format_bytes,
    parse_memory,
)
from simulator.core._problems import InputError
from simulator.core._run import RunError, simulate
from simulator.files import _yaml
from simulator.files._loading import load_model
from simulator.files._yaml import YAMLLimitError, load_with_lines

ROOT = Path(__file__).resolve().parents[1]

BOMB = """upstream: model
kind: network
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""

#: run a command in a child process; print its exit status, output, CPU seconds and peak memory (MB)
#: (CPU seconds, not wall time: a test machine busy with other tests stretches the wall clock, not the
#: work a refusal does)
MEASURE = textwrap.dedent(
    """
    import json, resource, subprocess, sys
    p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"rc": p.returncode, "out": p.stdout + p.stderr,
                      "cpu": ru.ru_utime + ru.ru_stime, "mb": ru.ru_maxrss / 1024}))
    """
)

SCENARIO = """upstream: scenario
name: tiny sweep
model: england
months: 12
members: {members}
seed: 1
sampler: monte-carlo
uncertainty:
- name: anxiety
  parameter: g2c_pcnt
  select:
    condition: Anxiety
  apply: scale
  distribution:
    type: uniform
    low: 0.9
    high: 1.1
  source: a test range
"""


def measured(*args: str) -> dict:
    """Run ``upstream ARGS`` in a fresh process: exit status, output, CPU seconds and peak memory."""
    cmd = [sys.executable, "-c", MEASURE, sys.executable, "-m", "simulator.cli", *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    return json.loads(p.stdout)


def assert_clean_refusal(res: dict, *words: str) -> None:
    assert res["rc"] == 2, res["out"]
    assert "Traceback" not in res["out"], res["out"]
    for w in words:
        assert w in res["out"], res["out"]


# --- YAML -----------------------------------------------------------------------------------


def test_yaml_alias_bomb_is_refused_fast_and_small(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB, encoding="utf-8")
    assert bomb.stat().st_size < 600
    res = measured("validate", str(bomb))
    assert_clean_refusal(res, "too many aliases", "bomb.yaml")
    # the interpreter with numpy, pandas and xarray takes most of it (about 1.5 CPU seconds)
    assert res["cpu"] < 5 and res["mb"] < 200, res


def test_yaml_limits_name_the_problem(monkeypatch):
    with pytest.raises(YAMLLimitError, match="too many aliases") as err:
        load_with_lines(BOMB)
    assert err.value.problem_mark is not None  # the line of the alias
    assert isinstance(err.value, yaml.YAMLError)  # readers that catch YAML errors catch it
    with pytest.raises(YAMLLimitError, match="contains it"):
        load_with_lines("a: &a [1, *a]\n")
    with pytest.raises(YAMLLimitError, match="nested more than"):
        load_with_lines("[" * 5000 + "]" * 5000)
    monkeypatch.setattr(_yaml, "MAX_CHARS", 100)
    with pytest.raises(YAMLLimitError, match="document too large"):
        load_with_lines("a: 1\n" * 50)
    monkeypatch.undo()
    monkeypatch.setattr(_yaml, "MAX_VALUES", 1000)
    with pytest.raises(YAMLLimitError, match="document too large"):
        load_with_lines(yaml.safe_dump({"x": list(range(2000))}))
    # aliases that repeat a value a few times are fine, and read as before
    doc = load_with_lines("base: &b {x: 1, y: [1, 2]}\nother: *b\nthird: *b\n")
    assert doc.value["third"] == {"x": 1, "y": [1, 2]}


# --- resources ------------------------------------------------------------------------------


def test_trillion_members_are_refused_fast_and_small(tmp_path):
    sc = tmp_path / "huge.yaml"
    sc.write_text(SCENARIO.format(members=1_000_000_000_000), encoding="utf-8")
    res = measured("sweep", str(sc), "--quiet")
    assert_clean_refusal(res, "refused before starting", "memory", "To proceed", "1,000,000,000,000 members")
    # importing the analyses (scipy among them) and loading England take ~200 MB before any
    # ensemble work: the refusal may add almost nothing to a 2-member sweep of the same scenario
    small = tmp_path / "small.yaml"
    small.write_text(SCENARIO.format(members=2), encoding="utf-8")
    base = measured("sweep", str(small), "--quiet")
    assert base["rc"] == 0, base
    assert res["cpu"] < base["cpu"] + 3 and res["mb"] < max(200, base["mb"] + 20), (res, base)


def test_tiny_dt_and_long_horizons_are_refused_fast():
    res = measured("run", "england", "--dt", "1e-9", "--quiet")
    assert_clean_refusal(res, "at most 1,000,000 steps", "use a larger dt")
    assert res["cpu"] < 5, res  # a billion steps would take hours
    r = CliRunner().invoke(main, ["run", "england", "--months", "2000000", "--quiet"])
    assert r.exit_code == 2 and "at most 1,000,000 steps" in r.output, r.output
    with pytest.raises(RunError, match="steps"):
        simulate(load_model("england"), dt=1e-300)


def test_kept_ensemble_over_the_limit_is_refused_with_the_ways_to_proceed(tmp_path):
    sc = tmp_path / "kept.yaml"
    sc.write_text(SCENARIO.format(members=20_000), encoding="utf-8")
    r = CliRunner().invoke(main, ["sweep", str(sc), "--max-memory", "50MB", "--verbose", "--quiet"])
    assert r.exit_code == 2, r.output
    assert "estimate for ensemble tiny sweep: 20,000 members" in r.output
    assert "allowed by --max-memory" in r.output and "stream the members" in r.output
    assert "raise the limit (--max-memory" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(main, ["compare", str(sc), str(sc), "--max-memory", "lots"])
    assert r.exit_code == 2 and "not a size" in r.output, r.output


def test_verbose_prints_the_estimate_and_a_small_limit_refuses_a_run(tmp_path):
    r = CliRunner().invoke(main, ["run", "england", "--verbose", "--quiet"])
    assert r.exit_code == 0, r.output
    assert "estimate for run of England: 1 member x 35 steps" in r.output
    r = CliRunner().invoke(main, ["run", "england", "--max-memory", "10KB", "-o", str(tmp_path / "o.csv")])
    assert r.exit_code == 2 and "record less" in r.output and "Traceback" not in r.output
    assert list(tmp_path.iterdir()) == []


def test_budget_api():
    assert parse_memory("8GB") == 8 * 2**30 and parse_memory("512m") == 512 * 2**20
    assert parse_memory(1000) == 1000 and parse_memory("1.5 KiB") == 1536
    with pytest.raises(ValueError, match="not a size"):
        parse_memory("-3GB")
    assert format_bytes(512) == "512 B" and format_bytes(3 * 2**30) == "3 GB"
    free, source = available_memory()
    assert free > 0 and source
    est = Estimate("test", 10, 100, 2**20, 2**20, 2**20, 1.0)
    check_budget(est, 4 * 2**20)
    with pytest.raises(BudgetError, match=r"3 MB of memory, more than the 2 MB allowed.*record less"):
        check_budget(est, 2 * 2**20, advice=["record less"])
    m = load_model("england")
    seen: list[Estimate] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        simulate(m, months=12, on_estimate=seen.append)
    assert seen[0].members == 1 and seen[0].steps == 11 and seen[0].total_bytes > 0
    with pytest.raises(BudgetError, match="record less"):
        simulate(m, months=12, max_memory="1KB")


# --- writes ---------------------------------------------------------------------------------


def _no_traceback(r) -> None:
    assert "Traceback" not in r.output, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)


def test_unwritable_and_impossible_locations_leave_nothing(tmp_path):
    runner = CliRunner()
    a_file = tmp_path / "a.txt"
    a_file.write_text("x", encoding="utf-8")
    cases = [
        (a_file / "out.csv", "is a file, not a folder"),
        (tmp_path / "a.txt" / "deeper" / "out.csv", "is a file, not a folder"),
        (Path("/proc/upstream-test/out.csv"), "cannot write"),
    ]
    for out, words in cases:
        r = runner.invoke(main, ["run", "england", "--quiet", "-o", str(out)])
        assert r.exit_code == 2, r.output
        assert words in r.output and str(out) in r.output, r.output
        assert len(r.output.strip().splitlines()) == 1, r.output
        _no_traceback(r)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        r = runner.invoke(main, ["run", "england", "--quiet", "-o", str(locked / "out.csv")])
        assert r.exit_code == 2 and "permission denied" in r.output, r.output
        assert list(locked.iterdir()) == []


def test_a_folder_given_as_the_file_is_a_clean_error(tmp_path, england_run):
    from simulator.files._writers import write_results

    with pytest.raises(WriteError, match="it is a folder; give a file name"):
        write_results(england_run, tmp_path, "csv")
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_leaves_no_file_and_no_traceback(tmp_path, monkeypatch):
    def full(self, path, *args, **kwargs):
        Path(path).write_bytes(b"x" * 1000)  # part of the file made it to disk
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    out = tmp_path / "new" / "out.csv"
    r = CliRunner().invoke(main, ["run", "england", "--quiet", "-o", str(out)])
    assert r.exit_code == 2, r.output
    assert r.output.strip() == f"error: cannot write {str(out)!r}: the disk is full", r.output
    _no_traceback(r)
    assert list(tmp_path.iterdir()) == []  # neither the file, its .part, nor the folder made for it

    def full_nc(self, path, *args, **kwargs):
        Path(path).write_bytes(b"x" * 1000)
        raise OSError(errno.ENOSPC, "No space left on device")

    import xarray as xr

    monkeypatch.setattr(xr.Dataset, "to_netcdf", full_nc)
    r = CliRunner().invoke(main, ["run", "england", "--quiet", "-o", str(tmp_path / "out.nc")])
    assert r.exit_code == 2 and "the disk is full" in r.output, r.output
    assert list(tmp_path.iterdir()) == []


def test_a_failed_second_table_leaves_neither(tmp_path, monkeypatch):
    calls = []
    real = pd.DataFrame.to_csv

    def second_fails(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", second_fails)
    r = CliRunner().invoke(main, ["summary", "england-capacity", "--quiet", "-o", str(tmp_path / "s.csv")])
    assert r.exit_code == 2 and "the disk is full" in r.output, r.output
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_restores_signal_handlers_and_removes_made_folders(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "a" / "b" / "out.txt") as tmp:
            tmp.write_text("partial", encoding="utf-8")
            assert signal.getsignal(signal.SIGTERM) is not before
            raise RuntimeError("boom")
    assert signal.getsignal(signal.SIGTERM) is before
    assert list(tmp_path.iterdir()) == []
    with atomic_path(tmp_path / "a" / "out.txt") as tmp:
        tmp.write_text("whole", encoding="utf-8")
    assert (tmp_path / "a" / "out.txt").read_text(encoding="utf-8") == "whole"


SLOW_SWEEP = textwrap.dedent(
    """
    import signal, sys, time
    import pandas as pd
    from pathlib import Path

    # Ctrl-C as in a terminal: a runner started in the background (nohup, `&` without job
    # control) passes SIGINT on as ignored, and Python then never raises KeyboardInterrupt
    signal.signal(signal.SIGINT, signal.default_int_handler)

    def slow(self, path, *args, **kwargs):
        Path(path).write_bytes(b"x" * 10_000_000)  # a large output, half written
        print("writing", flush=True)
        time.sleep(60)

    pd.DataFrame.to_csv = slow
    from simulator.cli import main
    main(sys.argv[1:])
    """
)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_a_sweep_write_leaves_nothing(tmp_path, sig):
    sc = tmp_path / "sc.yaml"
    sc.write_text(SCENARIO.format(members=20), encoding="utf-8")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = ["sweep", str(sc), "--quiet", "-o", str(out_dir / "sweep.csv")]
    p = subprocess.Popen(
        [sys.executable, "-c", SLOW_SWEEP, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert p.stdout is not None
        deadline = time.monotonic() + 120
        line = ""
        while "writing" not in line and time.monotonic() < deadline and p.poll() is None:
            line = p.stdout.readline()
        assert "writing" in line, p.stderr.read() if p.stderr else ""
        assert [f.suffix for f in out_dir.iterdir()] == [".part"]
        p.send_signal(sig)
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode in (-sig, 128 + sig), p.returncode
    assert list(out_dir.iterdir()) == []


# --- messages -------------------------------------------------------------------------------


def test_extends_a_folder_is_a_clean_error(tmp_path):
    (tmp_path / "sub").mkdir()
    f = tmp_path / "local.yaml"
    f.write_text("upstream: model\nkind: surge\nname: local\nextends: sub\n", encoding="utf-8")
    with pytest.raises(InputError, match="extends 'sub': is a folder, not a model file") as err:
        load_model(f)
    assert any(p.line == 4 and "is a folder" in p.message for p in err.value.problems)
    r = CliRunner().invoke(main, ["validate", str(f)])
    assert r.exit_code == 2 and "is a folder" in r.output, r.output
    _no_traceback(r)
    r = CliRunner().invoke(main, ["run", str(tmp_path / "sub")])
    assert r.exit_code == 2 and "is a folder, not a model file" in r.output, r.output


def test_a_garbage_mdl_is_not_a_vensim_model(tmp_path):
    junk = tmp_path / "junk.mdl"
    junk.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(InputError, match="not a Vensim model: it is not a text file"):
        load_model(junk)
    prose = tmp_path / "prose.mdl"
    prose.write_text("This is a letter, not a model.\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a Vensim model: no equations found"):
        load_model(prose)
    r = CliRunner().invoke(main, ["run", str(junk), "-o", str(tmp_path / "r.csv")])
    assert r.exit_code == 2 and "not a Vensim model" in r.output, r.output
    assert "decode() argument" not in r.output
    _no_traceback(r)
    assert not (tmp_path / "r.csv").exists()


def test_a_disk_without_room_is_refused_before_writing(tmp_path, monkeypatch, england_run):
    import shutil

    from simulator.files import _writers

    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**12, 10**12 - 1000, 1000))
    with pytest.raises(WriteError, match=r"the disk is full \(the results take at least .*; 1,000 B free\)"):
        _writers.write_results(england_run, tmp_path / "out.nc")
    assert list(tmp_path.iterdir()) == []
