"""A cache file left by a killed run does not stop the next one; passes are timed one by one."""

from __future__ import annotations

import pytest
import tensorflow as tf

from helpers.caches import (
    cache_peak_mib,
    counting_cache,
    find_stale_cache,
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


def test_an_in_memory_cache_raises_the_peak_by_about_its_size_and_a_file_cache_does_not(
    quick_dataset, tmp_path
):
    (paths, labels), _ = split(*scan_folder(quick_dataset, progress=False).good_files())
    cache_mib = len(paths) * 256 * 256 * 3 / 2**20  # uint8 at 256 px: about 90 MiB
    in_memory = cache_peak_mib(paths, labels, 256, 32)
    in_file = cache_peak_mib(paths, labels, 256, 32, tmp_path / "cache")
    assert 0.5 * cache_mib < in_memory - in_file < 2 * cache_mib
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "cache.data-00000-of-00001",
        "cache.index",
    ]
