"""Strategy detection picks a TPU, else the GPUs, else the CPU, and says what it passed over."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import tensorflow as tf

from helpers.strategy import StrategyInfo, describe, detect_strategy, fallback_strategy, tpu_addresses


class FakeStrategy:
    """Stands in for TPUStrategy / MirroredStrategy, which need the hardware to be built."""

    def __init__(self, target) -> None:
        self.target = target  # the resolver or the device list it was built for
        devices = target if isinstance(target, list) else [f"/job:worker/device:TPU:{i}" for i in range(8)]
        self.num_replicas_in_sync = len(devices)
        self.extended = SimpleNamespace(worker_devices=tuple(devices))


@pytest.fixture(autouse=True)
def fake_strategies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tf.distribute, "TPUStrategy", FakeStrategy)
    monkeypatch.setattr(tf.distribute, "MirroredStrategy", FakeStrategy)


def no_tpu(address):
    raise tf.errors.NotFoundError(None, None, f"TPUs not found at {address}. More detail")


def no_gpus():
    return []


def must_not_be_asked():
    raise AssertionError("GPUs were listed although a TPU was found")


def test_tpu_addresses_try_this_machine_first_then_a_named_node():
    assert tpu_addresses({}) == ["local"]
    assert tpu_addresses({"TPU_NAME": "my-tpu"}) == ["local", None]
    assert tpu_addresses({"COLAB_TPU_ADDR": "10.0.0.2:8470"}) == ["local", "grpc://10.0.0.2:8470"]


def test_a_tpu_vm_wins_and_the_gpus_are_not_asked():
    strategy, info = detect_strategy(connect=lambda address: f"resolver for {address}", gpus=must_not_be_asked,
                                     environ={})
    assert strategy.target == "resolver for local"
    assert info == StrategyInfo("TPU", 8, tuple(f"TPU:{i}" for i in range(8)), ())


def test_a_named_tpu_node_is_tried_after_the_tpu_vm():
    def node_only(address):
        return "node resolver" if address is None else no_tpu(address)

    strategy, info = detect_strategy(connect=node_only, gpus=must_not_be_asked, environ={"TPU_NAME": "my-tpu"})
    assert strategy.target == "node resolver"
    assert (info.kind, info.passed_over) == ("TPU", ("no TPU at 'local': TPUs not found at local",))


def test_without_a_tpu_every_gpu_gets_a_replica():
    gpus = ["/device:GPU:0", "/device:GPU:1"]
    strategy, info = detect_strategy(connect=no_tpu, gpus=lambda: gpus, environ={})
    assert strategy.target == gpus
    assert (info.kind, info.replicas, info.devices) == ("GPU", 2, ("GPU:0", "GPU:1"))


def test_errors_that_do_not_mean_no_tpu_are_raised():
    def broken(address):
        raise TypeError("a bug, not a missing TPU")

    with pytest.raises(TypeError):
        detect_strategy(connect=broken, gpus=no_gpus, environ={})


def test_this_machine_falls_back_to_the_cpu_through_the_real_tpu_probe():
    strategy, info = detect_strategy(gpus=no_gpus, environ={})  # the real TPUClusterResolver(tpu="local")
    assert strategy is tf.distribute.get_strategy()
    assert (info.kind, info.replicas, info.devices) == ("CPU", 1, ("CPU:0",))
    assert info.passed_over[0].startswith("no TPU at 'local': ")
    assert info.passed_over[-1] == "no GPU visible to TensorFlow"
    assert str(info).splitlines()[0] == "CPU strategy: 1 replica on CPU:0"


def test_describe_names_the_hardware_from_the_devices():
    assert describe(FakeStrategy("resolver")).kind == "TPU"
    assert describe(FakeStrategy(["/device:GPU:0"]), ["no TPU"]) == StrategyInfo("GPU", 1, ("GPU:0",), ("no TPU",))
    assert describe(tf.distribute.get_strategy()) == StrategyInfo("CPU", 1, ("CPU:0",), ())


def test_the_fallback_is_the_gpus_else_the_default_strategy():
    assert fallback_strategy(lambda: ["/device:GPU:0"]).target == ["/device:GPU:0"]
    assert fallback_strategy(no_gpus) is tf.distribute.get_strategy()
