"""Start the TPU the environment announces, or say there is none: never a silent fallback.

Notebook 09 teaches both roads to a TPU. Keras 3 on the JAX backend (Colab's and Kaggle's TPU
runtimes) trains on ``jax_devices()``. TensorFlow's ``TPUStrategy`` (a Cloud TPU VM with
``tensorflow-tpu``) comes from ``detect_strategy()``, which returns the strategy and a short
description of it (kind, replicas, devices, and why faster hardware was passed over); build and
compile the model under ``strategy.scope()``. Either way, when the environment announces a TPU
(``tpu_announced``: TPU variables, ``/dev/accel*``, libtpu installed) and it does not start (a
TensorFlow without TPU kernels, a TPU held by another process), they raise ``TPUNotStarted`` with
the reason instead of training on the CPU; without any sign of a TPU they fall back and say so.

How TensorFlow reaches a TPU depends on where the TPU sits:

- A TPU VM (Colab's and Kaggle's TPU runtimes, Cloud TPU VMs): the TPU is attached to the
  machine that runs Python. ``TPUClusterResolver(tpu="local")`` finds it, with no name or
  address to read from the environment, and the input pipeline can read local files.
- A TPU node (the older Cloud TPU architecture): the TPU hangs off another host, reached over
  gRPC. ``TPUClusterResolver()`` reads its name or address from ``TPU_NAME`` (on GKE,
  ``KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS``); Colab's former TPU-node runtime set ``COLAB_TPU_ADDR``. That
  host runs the input pipeline, so it cannot see the notebook's disk: data comes from gs://.

Either way ``initialize_tpu_system`` runs once per process, before the TPU computes anything;
it is where a TPU that cannot start fails, and it fails fast.
"""

from __future__ import annotations

import glob
import importlib.util
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import tensorflow as tf

TPU_VM = "local"  # TPUClusterResolver's name for a TPU attached to this machine
# Where a TPU node is named; TPUClusterResolver() reads them itself.
TPU_NODE_VARIABLES = ("TPU_NAME", "KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS", "TPU_CONFIG")
# host:port of the TPU node behind Colab's former TPU runtime
COLAB_TPU_NODE_VARIABLE = "COLAB_TPU_ADDR"
# How a TPU that does not start shows: none found (NotFoundError), none named (ValueError), unreachable
# (OSError...), no TPU kernels in this TensorFlow (NotFoundError: "No OpKernel was registered ...").
NO_TPU_ERRORS = (ValueError, RuntimeError, OSError, tf.errors.OpError)
# What announces a TPU: TPU VMs and GKE set TPU_ACCELERATOR_TYPE; a TPU node is named by the variables above.
TPU_VARIABLES = ("TPU_ACCELERATOR_TYPE", *TPU_NODE_VARIABLES, COLAB_TPU_NODE_VARIABLE)
# a TPU VM's chips; where they show otherwise, libtpu is installed
TPU_DEVICE_FILES = ("/dev/accel*",)
LIBTPU = "libtpu"  # the TPU runtime library's Python package, which JAX and tensorflow-tpu load


class TPUNotStarted(RuntimeError):
    """The environment announces a TPU, and it did not start: training on the CPU instead would be silent."""

    def __init__(self, announced: Sequence[str], reason: str) -> None:
        super().__init__(
            f"A TPU is announced ({'; '.join(announced)}) but did not start: {reason}. "
            "Free it (is another process holding it?) or install what it needs; "
            "this notebook does not train on the CPU in its place."
        )


@dataclass(frozen=True)
class StrategyInfo:
    """What a strategy runs on."""

    kind: str  # "TPU", "GPU" or "CPU"
    replicas: int  # strategy.num_replicas_in_sync: how many parts each global batch is split into
    devices: tuple[str, ...]  # where the replicas run, e.g. ("TPU:0", ..., "TPU:7")
    passed_over: tuple[str, ...]  # why each faster option was not used

    def __str__(self) -> str:
        replicas = f"{self.replicas} replica" + "s" * (self.replicas != 1)
        return "\n".join(
            [
                f"{self.kind} strategy: {replicas} on {', '.join(self.devices)}",
                *(f"  passed over: {reason}" for reason in self.passed_over),
            ]
        )


def tpu_announced(
    environ: Mapping[str, str] = os.environ,
    device_files: Sequence[str] = TPU_DEVICE_FILES,
    installed: Callable[[str], object] = importlib.util.find_spec,
) -> list[str]:
    """What says a TPU is here: TPU variables set, TPU device files, libtpu installed; [] when nothing does."""
    signs = [f"{name} is set" for name in TPU_VARIABLES if environ.get(name)]
    signs += [
        f"{path} exists" for pattern in device_files for path in sorted(glob.glob(pattern))[:1]
    ]
    return signs + ([f"{LIBTPU} is installed"] if installed(LIBTPU) else [])


def jax_devices(announced: Sequence[str] | None = None) -> list:
    """The devices Keras' JAX backend trains on: the TPU's cores when a TPU is announced, else JAX's default.

    Taught in notebook 09. When its TPU does not start, JAX itself computes on the CPU and says so
    only in its log; here that raises ``TPUNotStarted`` with JAX's reason. ``announced``:
    ``tpu_announced()``.
    """
    import jax  # here, not at the top: only the JAX road needs it

    announced = tpu_announced() if announced is None else announced
    if not announced:
        # no TPU here: the CPU (its simulated devices, if XLA_FLAGS asks for some)
        return jax.devices()
    try:
        return jax.devices("tpu")
    # "Unknown backend tpu", "Backend 'tpu' failed to initialize: ..."
    except RuntimeError as error:
        raise TPUNotStarted(announced, first_sentence(error)) from error


def tpu_addresses(environ: Mapping[str, str] = os.environ) -> list[str | None]:
    """The TPUs to try, nearest first: this machine's own, then a TPU node the environment names.

    ``None`` stands for "the one ``TPUClusterResolver()`` finds in the environment".
    """
    addresses: list[str | None] = [TPU_VM]
    if COLAB_TPU_NODE_VARIABLE in environ:
        addresses.append("grpc://" + environ[COLAB_TPU_NODE_VARIABLE])
    elif any(name in environ for name in TPU_NODE_VARIABLES):
        addresses.append(None)
    return addresses


def connect_tpu(address: str | None) -> tf.distribute.cluster_resolver.TPUClusterResolver:
    """Find the TPU at ``address``, connect to it and initialise it, once, before it computes.

    ``"local"``: the TPU of this VM. Raises one of ``NO_TPU_ERRORS`` if it does not start. Notebook 09
    shows it (the TensorFlow road).
    """
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
    tf.config.experimental_connect_to_cluster(resolver)  # a TPU node's host; a no-op on a TPU VM
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return resolver


def gpu_names() -> list[str]:
    """The GPUs TensorFlow sees."""
    return [device.name for device in tf.config.list_logical_devices("GPU")]


def detect_strategy(
    connect: Callable[[str | None], object] = connect_tpu,
    gpus: Callable[[], Sequence[str]] = gpu_names,
    environ: Mapping[str, str] = os.environ,
    announced: Sequence[str] | None = None,
) -> tuple[tf.distribute.Strategy, StrategyInfo]:
    """``TPUStrategy`` when a TPU is announced, else ``MirroredStrategy`` over the GPUs, else the default.

    Notebook 09 shows it (the TensorFlow road). A TPU announced (``announced``, default
    ``tpu_announced(environ)``) is tried at each of ``tpu_addresses``; if none starts, this raises
    ``TPUNotStarted`` with the reasons. Call it once, early: a TPU must be initialised before anything
    runs on it. ``connect`` and ``gpus`` are there to be replaced in tests.
    """
    announced = tpu_announced(environ) if announced is None else announced
    passed_over = []
    for address in tpu_addresses(environ) if announced else []:
        try:
            resolver = connect(address)
        except NO_TPU_ERRORS as error:
            where = repr(address) if address else "the TPU node named in the environment"
            passed_over.append(f"no TPU at {where}: {first_sentence(error)}")
            continue
        strategy = tf.distribute.TPUStrategy(resolver)
        return strategy, describe(strategy, passed_over)
    if announced:
        raise TPUNotStarted(announced, "; ".join(passed_over))
    passed_over.append("no TPU announced (no TPU variable, device file or libtpu)")
    devices = list(gpus())
    if not devices:
        passed_over.append("no GPU visible to TensorFlow")
    strategy = fallback_strategy(lambda: devices)
    return strategy, describe(strategy, passed_over)


def fallback_strategy(gpus: Callable[[], Sequence[str]] = gpu_names) -> tf.distribute.Strategy:
    """Without a TPU: ``MirroredStrategy`` over the GPUs (one replica each), else the default strategy (the CPU)."""
    if devices := list(gpus()):
        return tf.distribute.MirroredStrategy(devices)
    return tf.distribute.get_strategy()  # the default: no distribution, TensorFlow's own placement


def describe(strategy: tf.distribute.Strategy, passed_over: Sequence[str] = ()) -> StrategyInfo:
    """What ``strategy`` runs on: TPU, GPU or CPU, its replicas and devices; ``passed_over`` says why not faster."""
    try:
        devices = list(strategy.extended.worker_devices)
    # the default strategy has no worker devices: it runs where TensorFlow places ops
    except RuntimeError:
        devices = [device.name for device in tf.config.list_logical_devices("CPU")]
    # "/job:.../device:TPU:0" -> "TPU:0"
    short = tuple(name.rsplit("device:", 1)[-1] for name in devices)
    kind = next(
        (kind for kind in ("TPU", "GPU") if any(name.startswith(kind) for name in short)), "CPU"
    )
    return StrategyInfo(kind, strategy.num_replicas_in_sync, short, tuple(passed_over))


def first_sentence(error: Exception) -> str:
    """The first sentence of an error's message: why there is no TPU, without the op's details."""
    message = getattr(error, "message", None) or str(error)  # OpError: without the op's context
    return message.strip().split("\n")[0].split(". ")[0].rstrip(".")
