"""bench.load's reading of the machine's CPU time: how busy it was, and what the hypervisor took."""

from tooling.processes import machine_cpu_of


def test_a_proc_stat_line_is_read_as_busy_idle_and_stolen():
    reading = machine_cpu_of("cpu  100 5 20 1000 30 1 2 7 40 0")
    assert (reading.busy, reading.idle, reading.stolen) == (128, 1030, 7)


def test_shares_are_of_the_time_between_two_readings():
    before = machine_cpu_of("cpu  100 0 0 900 0 0 0 0 0 0")
    after = machine_cpu_of("cpu  160 0 20 1000 0 0 0 20 0 0")
    # 200 ticks went by: 80 busy, 100 idle, 20 stolen.
    assert after.share_busy_since(before) == 0.4
    assert after.share_stolen_since(before) == 0.1


def test_no_time_between_readings_is_no_share():
    same = machine_cpu_of("cpu  1 2 3 4 5 6 7 8 0 0")
    assert same.share_stolen_since(same) == 0.0
    assert same.share_busy_since(same) == 0.0
