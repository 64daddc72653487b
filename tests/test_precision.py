"""bf16 training: autocast for the forward, fp32 spectral convolutions, fp32 monitor norms."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import torch
from neuralop.losses import LpLoss
from neuralop.models import FNO
from torch import nn

from fnosweep.history import EpochRecord
from fnosweep.monitor import StabilityMonitor
from fnosweep.trial.precision import forward_precision, keep_spectral_fp32

N, BATCH = 16, 8


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_fno() -> FNO:
    torch.manual_seed(0)
    return FNO(n_modes=(4, 4), hidden_channels=8, in_channels=1, out_channels=1, n_layers=2)


def data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(N, 1, 8, 8, generator=g), torch.randn(N, 1, 8, 8, generator=g)


def fp32_total_norm(model: nn.Module) -> float:
    """The gradient's total L2 norm, computed directly in float64 (complex: both parts)."""
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    flat = torch.cat([(torch.view_as_real(g) if g.is_complex() else g).double().reshape(-1) for g in grads])
    return float(flat.norm())


@pytest.fixture
def ffts_as_on_cuda() -> Iterator[None]:
    """CPU autocast runs torch.fft in fp32; CUDA autocast lists no FFT and passes bf16 on.
    Make the CPU do what CUDA does: autocast falls through for the FFTs neuralop calls."""
    lib = torch.library.Library("aten", "IMPL")
    for op in ("fft_rfftn", "fft_irfftn", "fft_fftn", "fft_ifftn"):
        lib.impl(op, torch.library.fallthrough_kernel, "AutocastCPU")
    try:
        yield
    finally:
        lib._destroy()


@pytest.mark.filterwarnings("ignore:Warning only once")
def test_spectral_convs_get_fp32_inputs_where_autocast_would_give_them_bf16(ffts_as_on_cuda):
    x = data()[0][:2]
    model = tiny_fno()
    with pytest.raises(RuntimeError, match="Unsupported dtype BFloat16"), forward_precision("bf16", "cpu"):
        model(x)  # what neuralop does under CUDA bf16 autocast
    keep_spectral_fp32(model)
    with forward_precision("bf16", "cpu"):
        out = model(x)
    assert out.dtype == torch.bfloat16 and torch.isfinite(out.float()).all()


def test_bf16_forward_stays_close_to_fp32():
    x = data()[0][:4]
    model = tiny_fno()
    keep_spectral_fp32(model)
    with torch.no_grad():
        ref = model(x)
        with forward_precision("bf16", "cpu"):
            low = model(x)
    assert low.dtype == torch.bfloat16
    assert float((low.float() - ref).norm() / ref.norm()) < 3e-2  # bf16: ~3 significant digits


def test_forward_precision_refuses_an_unknown_name():
    with pytest.raises(ValueError, match="fp32 or bf16"), forward_precision("fp16", "cpu"):  # type: ignore[arg-type]
        pass


def train_epoch(model: nn.Module, precision: str, clip: float | None) -> tuple[EpochRecord, list[float]]:
    """One epoch under the monitor; returns its record and the direct fp32 norm of each step."""
    x, y = data()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    monitor = StabilityMonitor(model, optimizer, clip_threshold=clip)
    loss_fn = LpLoss(d=2, p=2, reduction="sum")
    direct = []
    for i in range(0, N, BATCH):
        optimizer.zero_grad()
        with forward_precision(precision, "cpu"):  # type: ignore[arg-type]
            out = model(x[i : i + BATCH])
        loss = loss_fn(out.float(), y[i : i + BATCH])
        loss.backward()  # outside autocast
        direct.append(fp32_total_norm(model))
        monitor.observe(loss, batch_size=BATCH)
        optimizer.step()
    record = monitor.end_epoch(eval={"8_l2": 0.5})
    monitor.close()
    return record, direct


def test_a_bf16_epoch_has_the_fp32_metric_set_with_finite_values_and_exact_norms():
    fp32, _ = train_epoch(tiny_fno(), "fp32", clip=0.3)
    model = tiny_fno()
    keep_spectral_fp32(model)
    bf16, direct = train_epoch(model, "bf16", clip=0.3)
    assert all(p.dtype in (torch.float32, torch.complex64) for p in model.parameters())  # weights stay fp32
    assert set(bf16.to_dict()) == set(fp32.to_dict()) and set(bf16.groups) == set(fp32.groups)
    numbers = [bf16.train_loss, bf16.weight_norm, bf16.update_ratio, *bf16.grad_norm.values()]
    numbers += [v for g in bf16.groups.values() for v in g.values()]
    assert all(math.isfinite(v) for v in numbers) and bf16.nonfinite_steps == 0
    assert bf16.grad_norm["first"] == pytest.approx(direct[0], rel=1e-5)
    assert bf16.grad_norm["max"] == pytest.approx(max(direct), rel=1e-5)
    assert bf16.clip_fraction == sum(d > 0.3 for d in direct) / len(direct)


def test_bf16_gradients_are_measured_and_clipped_in_fp32():
    """A model cast to bf16 (a user's own loop): its grads are bf16; the monitor's norms are
    the fp32 norms of those bf16 values, not a bf16 reduction (~3 digits)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 256), nn.Tanh(), nn.Linear(256, 64)).to(torch.bfloat16)
    x = torch.randn(32, 64, dtype=torch.bfloat16)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: the weights stay put
    monitor = StabilityMonitor(model, optimizer, clip_threshold=1e-3)
    loss = model(x).float().square().sum()
    loss.backward()
    direct = fp32_total_norm(model)
    in_bf16 = float(torch.stack(torch._foreach_norm([p.grad for p in model.parameters()])).float().norm())
    assert abs(in_bf16 - direct) / direct > 1e-4  # the bf16 reduction is off by ~7e-4 here
    grads = [p.grad.float().clone() for p in model.parameters()]
    monitor.observe(loss, batch_size=32)
    optimizer.step()
    record = monitor.end_epoch()
    monitor.close()
    assert record.grad_norm["first"] == pytest.approx(direct, rel=1e-5)  # fp32 rounding only
    weights = torch.cat([p.detach().double().reshape(-1) for p in model.parameters()])
    assert record.weight_norm == pytest.approx(float(weights.norm()), rel=1e-5)
    coef = 1e-3 / (direct + 1e-6)
    for g, p in zip(grads, model.parameters(), strict=True):  # clipped in place, in the grads' bf16
        torch.testing.assert_close(p.grad.float(), (g * coef).bfloat16().float(), rtol=1e-2, atol=0)
    assert record.clip_fraction == 1.0


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_bf16_fno_trains_on_cuda_with_fp32_norms():
    x, y = (t.cuda() for t in data())
    model = tiny_fno().cuda()
    keep_spectral_fp32(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    monitor = StabilityMonitor(model, optimizer, clip_threshold=0.3)
    loss_fn = LpLoss(d=2, p=2, reduction="sum")
    direct = []
    for i in range(0, N, BATCH):
        optimizer.zero_grad()
        with forward_precision("bf16", "cuda"):
            out = model(x[i : i + BATCH])
        assert out.dtype == torch.bfloat16
        loss = loss_fn(out.float(), y[i : i + BATCH])
        loss.backward()
        direct.append(fp32_total_norm(model))
        monitor.observe(loss, batch_size=BATCH)
        optimizer.step()
    record = monitor.end_epoch()
    monitor.close()
    assert record.nonfinite_steps == 0 and math.isfinite(record.train_loss)
    assert record.grad_norm["first"] == pytest.approx(direct[0], rel=1e-5)
