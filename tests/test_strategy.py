"""Strategy detection picks a TPU, else the GPUs, else the CPU, says what it passed over, and never
falls back silently from a TPU the environment announces."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import tensorflow as tf

from helpers.strategy import (
    StrategyInfo,
    TPUNotStarted,
    describe,
    detect_strategy,
    fallback_strategy,
    jax_devices,
    tpu_addresses,
    tpu_announced,
)


class FakeStrategy:
    """Stands in for TPUStrategy / MirroredStrategy, which need the hardware to be built."""

    def __init__(self, target) -> None:
        self.target = target  # the resolver or the device list it was built for
        devices = (
            target
            if isinstance(target, list)
            else [f"/job:worker/device:TPU:{i}" for i in range(8)]
        )
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


ANNOUNCED = ["/dev/accel0 exists"]


def test_a_tpu_vm_wins_and_the_gpus_are_not_asked():
    strategy, info = detect_strategy(
        connect=lambda address: f"resolver for {address}",
        gpus=must_not_be_asked,
        environ={},
        announced=ANNOUNCED,
    )
    assert strategy.target == "resolver for local"
    assert info == StrategyInfo("TPU", 8, tuple(f"TPU:{i}" for i in range(8)), ())


def test_a_named_tpu_node_is_tried_after_the_tpu_vm():
    def node_only(address):
        return "node resolver" if address is None else no_tpu(address)

    strategy, info = detect_strategy(
        connect=node_only,
        gpus=must_not_be_asked,
        environ={"TPU_NAME": "my-tpu"},
        announced=["TPU_NAME is set"],
    )
    assert strategy.target == "node resolver"
    assert (info.kind, info.passed_over) == ("TPU", ("no TPU at 'local': TPUs not found at local",))


def test_without_a_tpu_every_gpu_gets_a_replica():
    gpus = ["/device:GPU:0", "/device:GPU:1"]
    strategy, info = detect_strategy(
        connect=must_not_be_asked, gpus=lambda: gpus, environ={}, announced=[]
    )
    assert strategy.target == gpus
    assert (info.kind, info.replicas, info.devices) == ("GPU", 2, ("GPU:0", "GPU:1"))


def test_errors_that_do_not_mean_no_tpu_are_raised():
    def broken(address):
        raise TypeError("a bug, not a missing TPU")

    with pytest.raises(TypeError):
        detect_strategy(connect=broken, gpus=no_gpus, environ={}, announced=ANNOUNCED)


def test_this_machine_announces_no_tpu_and_falls_back_to_the_cpu_saying_so():
    assert tpu_announced({}) == []
    strategy, info = detect_strategy(gpus=no_gpus, environ={})
    assert strategy is tf.distribute.get_strategy()
    assert (info.kind, info.replicas, info.devices) == ("CPU", 1, ("CPU:0",))
    assert info.passed_over == (
        "no TPU announced (no TPU variable, device file or libtpu)",
        "no GPU visible to TensorFlow",
    )
    assert str(info).splitlines()[0] == "CPU strategy: 1 replica on CPU:0"


def test_what_announces_a_tpu(tmp_path):
    (tmp_path / "accel0").touch()
    signs = tpu_announced(
        {"TPU_NAME": "my-tpu", "HOME": "/root"},
        [str(tmp_path / "accel*")],
        installed=lambda name: name == "libtpu",
    )
    assert signs == ["TPU_NAME is set", f"{tmp_path / 'accel0'} exists", "libtpu is installed"]


def test_an_announced_tpu_that_does_not_start_stops_with_its_reason():
    # The real TPUClusterResolver on this machine, told by the environment that a TPU is here.
    with pytest.raises(
        TPUNotStarted,
        match=r"A TPU is announced \(TPU_ACCELERATOR_TYPE is set\) but did not "
        r"start: no TPU at 'local': .+; no TPU at the TPU node",
    ):
        detect_strategy(
            gpus=must_not_be_asked,
            environ={"TPU_ACCELERATOR_TYPE": "v5litepod-8", "TPU_NAME": "x"},
            announced=["TPU_ACCELERATOR_TYPE is set"],
        )


def test_jax_stops_rather_than_train_on_the_cpu_in_place_of_an_announced_tpu():
    with pytest.raises(TPUNotStarted, match=r"\(libtpu is installed\) but did not start: .*tpu"):
        jax_devices(announced=["libtpu is installed"])  # this machine's JAX has no TPU backend
    assert {device.platform for device in jax_devices(announced=[])} == {"cpu"}


def test_describe_names_the_hardware_from_the_devices():
    assert describe(FakeStrategy("resolver")).kind == "TPU"
    assert describe(FakeStrategy(["/device:GPU:0"]), ["no TPU"]) == StrategyInfo(
        "GPU", 1, ("GPU:0",), ("no TPU",)
    )
    assert describe(tf.distribute.get_strategy()) == StrategyInfo("CPU", 1, ("CPU:0",), ())


def test_the_fallback_is_the_gpus_else_the_default_strategy():
    assert fallback_strategy(lambda: ["/device:GPU:0"]).target == ["/device:GPU:0"]
    assert fallback_strategy(no_gpus) is tf.distribute.get_strategy()
