"""A cache file left by a killed run does not stop the next one; passes are timed one by one."""

from __future__ import annotations

import pytest
import tensorflow as tf

from helpers.caches import (
    CacheGrowth,
    cache_growth,
    counting_cache,
    find_stale_cache,
    growth_table,
    kill_mid_write,
    pass_seconds,
    remove_stale_cache,
)
from helpers.pipelines import split
from helpers.scan import scan_folder


def killed_write(prefix) -> None:
    assert kill_mid_write(prefix) == -9


def test_a_killed_run_leaves_a_lockfile_that_stops_the_next_one(tmp_path):
    killed_write(tmp_path / "cache")
    stale = find_stale_cache(tmp_path / "cache")
    assert [p.name for p in stale.lockfiles] == ["cache_0.lockfile"] and stale.partial_files
    with pytest.raises(tf.errors.AlreadyExistsError, match="lockfile already exists"):
        next(iter(counting_cache(tmp_path / "cache")))


def test_removing_the_stale_files_lets_the_next_run_complete_the_cache(tmp_path):
    killed_write(tmp_path / "cache")
    removed = remove_stale_cache(tmp_path / "cache")
    assert removed and "1 lockfile(s) and 1 partial file(s)" in str(removed)
    assert sum(1 for _ in counting_cache(tmp_path / "cache")) == 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cache.data-00000-of-00001",
        "cache.index",
    ]
    assert not remove_stale_cache(tmp_path / "cache")  # a complete cache is left alone
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cache.data-00000-of-00001",
        "cache.index",
    ]


def test_other_prefixes_are_left_alone(tmp_path):
    killed_write(tmp_path / "cache_2")  # a cache whose own name ends in _2
    assert not find_stale_cache(tmp_path / "cache")
    assert find_stale_cache(tmp_path / "cache_2").lockfiles


def test_pass_seconds_times_every_full_pass(tmp_path):
    seconds = pass_seconds(counting_cache(tmp_path / "cache", elements=10), passes=2)
    assert len(seconds) == 2 and all(s > 0 for s in seconds)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cache.data-00000-of-00001",
        "cache.index",
    ]


def test_an_in_memory_cache_grows_the_peak_with_the_images_cached_and_a_file_cache_does_not(
    quick_dataset, tmp_path
):
    (paths, labels), _ = split(*scan_folder(quick_dataset, progress=False).good_files())
    in_memory = cache_growth(paths, labels, 256, 32)  # uint8 at 256 px: about 90 MiB in all
    in_file = cache_growth(paths, labels, 256, 32, tmp_path / "cache")
    assert in_memory.images == in_file.images and in_memory.images[-1] == len(paths)
    assert 0.8 < in_memory.growth < 2 and abs(in_file.growth) < 0.2
    assert in_memory.peak_after(len(paths)) - in_memory.peak_after(len(paths) // 4) > 45
    assert in_memory.final_mib >= in_memory.peak_mib[-1]  # a peak never goes down
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "cache.data-00000-of-00001",
        "cache.index",
    ]


def test_the_growth_is_the_median_rise_per_batch_after_the_first_quarter():
    growth = CacheGrowth((32, 64, 96, 128), (900.0, 500.0, 510.0, 520.0), 530.0, image_size=128)
    batch_mib = 32 * 128 * 128 * 3 / 2**20
    assert growth.growth == pytest.approx(10 / batch_mib)  # the first reading is left out
    jump = CacheGrowth((32, 64, 96, 128, 160), (0.0, 500.0, 510.0, 570.0, 580.0), 580, 128)
    assert jump.growth == pytest.approx(10 / batch_mib)  # one batch's jump does not set it
    assert growth.peak_after(60) == 500.0 and growth.peak_after(128) == 520.0
    assert growth_table({"memory": growth}).splitlines() == [
        "peak MiB after images       32     64     96    128   pass 2  MiB/MiB",
        "memory                     900    500    510    520      530     6.67",
    ]
