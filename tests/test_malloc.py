"""planseg's malloc settings keep freed memory mapped (no page faults to zero it again), reach
the processes planseg starts, and give way to the user's own malloc configuration."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from planseg.malloc import SETTINGS

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="glibc malloc settings")

# Allocate and free 80 MiB in 8 MiB blocks, 20 times, and count the page faults of the second
# pass: with glibc's defaults the freed blocks go back to the kernel and every page is
# faulted in (and zeroed) again.
PROBE = textwrap.dedent("""
    import os, resource, subprocess, sys
    if sys.argv[1] == "tune":
        from planseg.malloc import tune_malloc
        print(tune_malloc())
    else:
        print(None)
    def churn():
        for _ in range(20):
            blocks = [bytearray(8 * 2**20) for _ in range(10)]
            del blocks
    churn()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    churn()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    child = "import os; print(os.environ.get('MALLOC_TRIM_THRESHOLD_'))"
    print(subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                         check=True).stdout.strip())
""")
USER_CONFIG = (*SETTINGS, "GLIBC_TUNABLES")


def probe(mode: str, **env: str) -> tuple[str, int, str]:
    """(tune_malloc's answer, page faults of the second pass, a child's trim threshold)."""
    clean = {k: v for k, v in os.environ.items() if k not in USER_CONFIG}
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         check=True, env={**clean, **env}).stdout.split()
    return out[0], int(out[1]), out[2]


def test_tuned_malloc_keeps_freed_memory_mapped_and_reaches_children():
    _, default_faults, default_child = probe("plain")
    applied, tuned_faults, tuned_child = probe("tune")
    assert default_faults > 100_000  # 20 x 80 MiB of 4 KiB pages faulted again
    assert applied == "True"
    assert tuned_faults < default_faults / 100
    assert default_child == "None"
    assert tuned_child == str(SETTINGS["MALLOC_TRIM_THRESHOLD_"][1])


@pytest.mark.parametrize("name", USER_CONFIG)
def test_user_malloc_configuration_wins(name):
    value = "glibc.malloc.perturb=0" if name == "GLIBC_TUNABLES" else "131072"
    applied, faults, child = probe("tune", **{name: value})
    assert applied == "False"
    assert faults > 100_000
    expected = value if name == "MALLOC_TRIM_THRESHOLD_" else "None"
    assert child == expected


def test_cli_entry_point_applies_the_settings(monkeypatch, capsys):
    from planseg.cli import main

    for name in USER_CONFIG:  # absent during the test, restored afterwards
        monkeypatch.setenv(name, "x")
        monkeypatch.delenv(name)
    with pytest.raises(SystemExit):
        main(["--version"])
    assert "planseg" in capsys.readouterr().out
    for name, (_, value) in SETTINGS.items():
        assert os.environ[name] == str(value)
