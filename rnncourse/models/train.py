"""A small training loop for the course's notebooks: :func:`fit`.

::

    from rnncourse.models.train import fit

    history = fit(model, torch.nn.MSELoss(), loader, epochs=20, clip_norm=1.0)
    history.plot()

One step of :func:`fit`, for a batch ``(inputs, target)``::

    loss = loss_fn(model(inputs), target)         # model(*inputs) if inputs is a tuple
    loss.backward()                               # gradients g of every parameter
    ||g|| = sqrt(sum over parameters of ||g_p||^2)   recorded: grad_norm (before clipping)
    g <- clamp(g, -clip_value, clip_value)        if clip_value is given
    g <- g * min(1, clip_norm / (||g|| + 1e-6))   if clip_norm is given (clip_grad_norm_)
    optimizer.step()                              Adam(lr=1e-3) unless you give one

Gradient clipping by norm (Pascanu et al., 2013) keeps the direction of the
gradient and caps its length: the remedy for the exploding gradients of
recurrent networks. The loop works with any ``torch.nn.Module`` (the layers of
:mod:`rnncourse.torch` or of ``torch.nn``), moves the model and every tensor of
each batch to the chosen device, shows a progress bar (``tqdm.auto``: a widget
in a notebook, a text bar in a terminal) and returns a :class:`History` of the
epoch means (and of every step).

torch is imported when this module is; tqdm only when a progress bar is
shown, matplotlib only by :meth:`History.plot`.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["DEVICE_ENV", "History", "fit", "select_device"]

Batch = Any  # a pair (inputs, target) of tensors, tuples of tensors, ...
LossFn = Callable[[Any, Any], Tensor]


# --------------------------------------------------------------------------- the device


#: The environment variable through which a reader opts in to a GPU (or another device).
DEVICE_ENV = "RNNCOURSE_DEVICE"


def select_device(device: str | torch.device | None = None) -> torch.device:
    """The device to train on. ``None`` (the default everywhere in the course) is the CPU,
    unless the environment variable ``RNNCOURSE_DEVICE`` names another device
    (``RNNCOURSE_DEVICE=cuda`` or ``=auto``): the book's printed runs are CPU runs, and a
    reader opts in to a GPU. ``"auto"`` is ``cuda`` when a GPU is usable, else ``cpu``.

    Any other value (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``, a
    ``torch.device``) is checked: asking for a GPU that is not there raises a
    ``RuntimeError`` that says so, instead of failing later inside the model.
    """
    if device is None:
        device = os.environ.get(DEVICE_ENV, "").strip() or "cpu"
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda', 'cuda:K' or a torch.device, got {device!r}"
        ) from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = ("this torch build has no CUDA support" if torch.version.cuda is None
                   else "no GPU is visible")
            raise RuntimeError(
                f"device={str(device)!r} was asked for, but CUDA is not available "
                f"(torch {torch.__version__}: {why}); use device='cpu' or device='auto'"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise RuntimeError(
                f"device={str(device)!r} was asked for, but only "
                f"{torch.cuda.device_count()} GPU(s) are visible"
            )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError(f"device={str(device)!r} was asked for, but MPS is not available")
    return dev


# --------------------------------------------------------------------------- the history


@dataclass
class History:
    """What :func:`fit` measured; the epoch lists have one entry per finished epoch.

    Attributes:
        loss: mean training loss of each epoch (mean over its batches).
        grad_norm: mean total gradient norm of each epoch, before clipping.
        clipped_grad_norm: the same after clipping (equal to ``grad_norm``
            without clipping); never above ``clip_norm``.
        epoch_time: seconds per epoch.
        step_loss, step_grad_norm, step_clipped_grad_norm: the same for every
            optimisation step, in order.
        device: where the model was trained.
        clip_norm, clip_value: the clipping that was used (None: none).
    """

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    clipped_grad_norm: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    step_loss: list[float] = field(default_factory=list)
    step_grad_norm: list[float] = field(default_factory=list)
    step_clipped_grad_norm: list[float] = field(default_factory=list)
    device: str = "cpu"
    clip_norm: float | None = None
    clip_value: float | None = None

    @property
    def epochs(self) -> int:
        """Number of finished epochs."""
        return len(self.loss)

    def __len__(self) -> int:
        return self.epochs

    def __repr__(self) -> str:
        if not self.loss:
            return f"History(epochs=0, device={self.device!r})"
        clip = "".join(f", {name}={value:g}" for name, value in
                       (("clip_norm", self.clip_norm), ("clip_value", self.clip_value))
                       if value is not None)
        return (
            f"History(epochs={self.epochs}, loss {self.loss[0]:.4g} -> {self.loss[-1]:.4g}, "
            f"grad_norm {self.grad_norm[0]:.3g} -> {self.grad_norm[-1]:.3g}{clip}, "
            f"device={self.device!r}, {sum(self.epoch_time):.1f} s)"
        )

    def plot(self, ax: Any = None, *, log: bool = True) -> Any:
        """Plot the loss per epoch, and the gradient norm on a second axis.

        Args:
            ax: a matplotlib ``Axes`` to draw into (default: a new figure).
            log: logarithmic loss axis (when every loss is positive).

        Returns:
            The ``Axes`` of the loss.
        """
        import matplotlib.pyplot as plt  # only here: matplotlib is optional

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        epochs = range(1, self.epochs + 1)
        ax.plot(epochs, self.loss, marker="o", markersize=3, color="C0", label="loss")
        if log and self.loss and min(self.loss) > 0:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss (epoch mean)")
        if self.grad_norm:
            norms = ax.twinx()
            norms.plot(epochs, self.grad_norm, color="C1", linestyle="--",
                       label="gradient norm before clipping")
            if self.clip_norm is not None:
                norms.axhline(self.clip_norm, color="C1", linewidth=0.8, linestyle=":",
                              label=f"clip_norm = {self.clip_norm:g}")
            norms.set_ylabel("gradient norm")
            lines = ax.get_lines() + norms.get_lines()
            ax.legend(lines, [line.get_label() for line in lines], loc="upper right")
        return ax


# --------------------------------------------------------------------------- helpers


def _to(obj: Any, device: torch.device) -> Any:
    """``obj`` with every tensor in it (nested tuples, lists, dicts) moved to ``device``."""
    if isinstance(obj, Tensor):
        return obj.to(device)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a namedtuple
        return type(obj)(*(_to(o, device) for o in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(_to(o, device) for o in obj)
    if isinstance(obj, Mapping):
        return {k: _to(v, device) for k, v in obj.items()}
    return obj


def _total_norm(grads: list[Tensor]) -> Tensor:
    """``sqrt(sum_p ||g_p||^2)``, the norm that ``clip_grad_norm_`` uses (0 without grads)."""
    if not grads:
        return torch.zeros(())
    norms = [torch.linalg.vector_norm(g.detach(), 2.0) for g in grads]
    return torch.linalg.vector_norm(torch.stack([n.to(norms[0].device) for n in norms]), 2.0)


def _make_optimizer(optimizer: Any, params: list[nn.Parameter],
                    lr: float | None) -> torch.optim.Optimizer:
    if optimizer is None:
        return torch.optim.Adam(params, lr=1e-3 if lr is None else lr)
    if lr is not None:
        raise ValueError("lr sets the default optimizer's learning rate; with your own "
                         "optimizer, set it there")
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if callable(optimizer):  # a factory, e.g. functools.partial(torch.optim.SGD, lr=0.1)
        made = optimizer(params)
        if not isinstance(made, torch.optim.Optimizer):
            raise TypeError(f"optimizer(params) must return a torch.optim.Optimizer, "
                            f"got {type(made).__name__}")
        return made
    raise TypeError("optimizer must be None, a torch.optim.Optimizer or a function of the "
                    f"parameters returning one, got {type(optimizer).__name__}")


def _check_positive(name: str, value: Any, *, integer: bool = False) -> None:
    if value is None and not integer:
        return
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0 \
            or (not integer and not math.isfinite(value)):
        raise ValueError(f"{name} must be a positive {'int' if integer else 'number'}, "
                         f"got {value!r}")


def _epoch_batches(batches: Any, epoch: int) -> Iterator[Batch]:
    source = batches() if callable(batches) else batches
    try:
        return iter(source)
    except TypeError:
        raise TypeError(f"batches must be iterable, or a function returning an iterable; "
                        f"got {type(source).__name__} (epoch {epoch})") from None


def _step(model: nn.Module, loss_fn: LossFn, batch: Batch) -> Tensor:
    """Forward pass and loss of one batch ``(inputs, target)``."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError(
            "each batch must be a pair (inputs, target); loss_fn(model(inputs), target) is "
            f"minimised. Got {type(batch).__name__}"
            + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else "")
        )
    inputs, target = batch
    output = model(*inputs) if isinstance(inputs, (tuple, list)) else model(inputs)
    loss = loss_fn(output, target)
    if not isinstance(loss, Tensor) or loss.ndim != 0:
        shape = tuple(loss.shape) if isinstance(loss, Tensor) else type(loss).__name__
        raise ValueError(f"loss_fn must return a scalar tensor, got {shape}")
    return loss


# --------------------------------------------------------------------------- the loop


def fit(
    model: nn.Module,
    loss_fn: LossFn,
    batches: Iterable[Batch] | Callable[[], Iterable[Batch]],
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer | Callable[..., torch.optim.Optimizer] | None = None,
    lr: float | None = None,
    clip_norm: float | None = None,
    clip_value: float | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
    seed: int | None = None,
    on_epoch_end: Callable[[int, History], bool | None] | None = None,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``batches``; return the :class:`History`.

    Args:
        model: any ``torch.nn.Module``; moved to ``device`` (in place) and put in
            training mode for the loop (its mode is restored afterwards).
        loss_fn: ``loss_fn(output, target) -> scalar tensor``, e.g.
            ``torch.nn.MSELoss()``; ``output = model(inputs)``. A bare
            ``torch.nn.LSTM`` returns ``(output, h_n)``: then ``loss_fn`` gets
            that pair.
        batches: the batches of one epoch, each a pair ``(inputs, target)``
            (``inputs`` a tensor, or a tuple of the model's arguments), as a
            re-iterable (a list, a ``DataLoader``) or a function of no
            arguments that returns a fresh iterable per epoch. Tensors are
            moved to ``device``.
        epochs: number of passes.
        optimizer: None (``torch.optim.Adam`` with ``lr``), an optimizer over the
            model's parameters, or a function ``params -> optimizer``.
        lr: learning rate of the default optimizer (default 1e-3).
        clip_norm: rescale the gradient so that its total norm is at most this
            (as ``torch.nn.utils.clip_grad_norm_``).
        clip_value: clamp every gradient entry to ``[-clip_value, clip_value]``
            (as ``torch.nn.utils.clip_grad_value_``), before the norm clipping.
        device: None (the CPU, or ``$RNNCOURSE_DEVICE`` when set), ``"auto"``
            (``cuda`` if available), ``"cpu"``, ``"cuda"``, ... (see :func:`select_device`).
        progress: show a progress bar over the epochs (stderr, or a notebook
            widget); False prints nothing.
        seed: if given, ``torch.manual_seed(seed)`` before the first epoch, so
            that shuffling, dropout and other torch randomness repeat. (Seed
            before building the model to repeat its initialisation too.)
        on_epoch_end: called as ``on_epoch_end(epoch, history)`` after each
            epoch (``epoch`` counts from 0: ``history.loss[epoch]`` is its loss);
            returning True stops the training.

    Returns:
        The :class:`History`: per-epoch mean loss and gradient norms (before and
        after clipping), per-step values, and timings.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _check_positive("epochs", epochs, integer=True)
    _check_positive("lr", lr)
    _check_positive("clip_norm", clip_norm)
    _check_positive("clip_value", clip_value)
    if isinstance(batches, Iterator) and epochs > 1:
        raise TypeError(
            "batches is an iterator (e.g. a generator), which runs out after one epoch; "
            "pass a list, a DataLoader, or a function returning a fresh iterable per epoch"
        )
    dev = select_device(device)
    if seed is not None:
        torch.manual_seed(seed)
    model.to(dev)
    opt = _make_optimizer(optimizer, [p for p in model.parameters() if p.requires_grad], lr)
    params = [p for group in opt.param_groups for p in group["params"]]
    history = History(device=str(dev), clip_norm=clip_norm, clip_value=clip_value)

    bar = None
    if progress:
        from tqdm.auto import tqdm  # only here: tqdm is needed for the bar alone

        bar = tqdm(total=epochs, desc="fit", unit="epoch")
    clipping = clip_value is not None or clip_norm is not None
    warned = False
    was_training = model.training
    model.train()
    try:
        for epoch in range(epochs):
            start = time.perf_counter()
            # 0-d tensors, read back once per epoch: no GPU synchronisation per step
            losses: list[Tensor] = []
            norms: list[Tensor] = []
            clipped: list[Tensor] = []
            for batch in _epoch_batches(batches, epoch):
                opt.zero_grad(set_to_none=True)
                loss = _step(model, loss_fn, _to(batch, dev))
                loss.backward()
                grads = [p.grad for p in params if p.grad is not None]
                norm = _total_norm(grads)
                if clip_value is not None:
                    nn.utils.clip_grad_value_(params, clip_value)
                if clip_norm is not None:
                    nn.utils.clip_grad_norm_(params, clip_norm)
                clipped.append(_total_norm(grads) if clipping else norm)
                opt.step()
                losses.append(loss.detach())
                norms.append(norm)
            if not losses:
                raise ValueError(
                    f"batches gave no batch in epoch {epoch}; an iterator runs out after one "
                    "epoch: pass a list, a DataLoader, or a function returning a fresh iterable"
                )
            step_loss, step_norm, step_clipped = (
                torch.stack([v.to(dev, values[0].dtype) for v in values]).tolist()
                for values in (losses, norms, clipped))
            history.step_loss += step_loss
            history.step_grad_norm += step_norm
            history.step_clipped_grad_norm += step_clipped
            history.loss.append(math.fsum(step_loss) / len(step_loss))
            history.grad_norm.append(math.fsum(step_norm) / len(step_norm))
            history.clipped_grad_norm.append(math.fsum(step_clipped) / len(step_clipped))
            history.epoch_time.append(time.perf_counter() - start)
            if not math.isfinite(history.loss[-1]) and not warned:
                warned = True
                warnings.warn(f"fit: the loss is {history.loss[-1]} in epoch {epoch}; "
                              "try a smaller lr or clip_norm", RuntimeWarning, stacklevel=2)
            if bar is not None:
                bar.set_postfix(loss=f"{history.loss[-1]:.4g}",
                                grad_norm=f"{history.grad_norm[-1]:.3g}", refresh=False)
                bar.update(1)
            if on_epoch_end is not None and on_epoch_end(epoch, history):
                break
    finally:
        model.train(was_training)
        if bar is not None:
            bar.close()
    return history
