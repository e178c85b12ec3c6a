"""Training throughput and peak memory of the S4 autoencoder, against the paper's network.

Usage::

    python benchmarks/bench_autoencoder.py                 # paper's Lorenz setting + a small one
    python benchmarks/bench_autoencoder.py --config small  # quick
    python benchmarks/bench_autoencoder.py --device cuda
    python benchmarks/bench_autoencoder.py --paper-code PATH   # the paper's own network

For each configuration, two models take identical optimisation steps (AdamW, gradient
clipping, coordinated dropout p=0.2, the same latent penalties) on random Poisson counts:

* ``ldns_sklearn``: :class:`ldns_sklearn._backend.autoencoder_net.S4AutoencoderNet` with
  :func:`~ldns_sklearn._backend.autoencoder_net.autoencoder_loss`.
* ``paper (re-implementation)``: a re-implementation, written for this benchmark, of the
  autoencoder in the paper's code (``mackelab/LDNS``, ``ldns/networks/blocks.py``
  ``AutoEncoder`` + ``CountWrapper``, and the ``FFTConv`` of ``ldns/networks/s4.py`` with its
  default DPLR S4 kernel: HiPPO-LegS initialisation, naive Cauchy kernel, rank-1 Woodbury
  correction, bilinear transform) and its training step (``train_autoencoder_Lorenz``
  notebook). Same layer structure and kernel computation as their code; not their code.
  With ``--paper-code PATH`` (a checkout of ``mackelab/LDNS``, which needs ``einops``) the
  paper's own ``CountWrapper(AutoEncoder(...))`` is imported from there and measured
  instead, with the Lorenz configuration's arguments; nothing of it is copied here.

Each model is measured in its own subprocess so that the peak resident memory (CPU) is
its own; on CUDA the peak allocated memory is read from torch. Figures are printed, and
the ratio of the two throughputs measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F
from _common import add_run_options, apply_threads, paper_networks, seconds
from torch import nn

CONFIGS = {
    # The paper's Lorenz autoencoder (conf/autoencoder-Lorenz_z=8.yaml).
    "paper": dict(n_neurons=128, n_bins=256, hidden=256, n_blocks=4, n_latents=8, batch=512),
    "small": dict(n_neurons=64, n_bins=128, hidden=32, n_blocks=2, n_latents=8, batch=32),
}
MASK_PROB, L2, SMOOTH = 0.2, 0.01, 0.01


# ------------------------------------------------ re-implementation of the paper's network


def _hippo_legs_dplr(state_size: int):
    """Diagonal part, low-rank term and B of the HiPPO-LegS matrix (the paper's ``nplr``)."""
    q = np.arange(state_size, dtype=np.float64)
    col, row = np.meshgrid(q, q)
    r = 2 * q + 1
    M = -(np.where(row >= col, r, 0) - np.diag(q))
    T = np.sqrt(np.diag(2 * q + 1))
    A = T @ M @ np.linalg.inv(T)
    B = np.diag(T)[:, None].copy()
    A, B = torch.as_tensor(A), torch.as_tensor(B)[:, 0]
    P = torch.sqrt(0.5 + torch.arange(state_size, dtype=torch.float64)).unsqueeze(0)
    AP = A + torch.sum(P.unsqueeze(-2) * P.unsqueeze(-1), dim=-3)
    w_re = torch.mean(torch.diagonal(AP), -1, keepdim=True)
    w_im, V = torch.linalg.eigh(AP * -1j)
    W = w_re + 1j * w_im
    _, order = torch.sort(W.imag)
    W, V = W[order], V[:, order]
    V, W = V[:, : state_size // 2], W[: state_size // 2]
    V_inv = V.conj().transpose(-1, -2)
    B = torch.einsum("ij,j->i", V_inv, B.to(V))
    P = torch.einsum("ij,...j->...i", V_inv, P.to(V))
    B = B.real + 1j * torch.clamp(B.imag, min=-2.0, max=2.0)
    return W.to(torch.cfloat), P.to(torch.cfloat), B.to(torch.cfloat)


class PaperDPLRKernel(nn.Module):
    """S4 (DPLR) kernel computed as in the paper's ``SSMKernelDPLR.forward``."""

    def __init__(self, channels: int, n_kernels: int, state_size: int = 64):
        super().__init__()
        W, P, B = _hippo_legs_dplr(state_size)
        half = state_size // 2
        self.log_dt = nn.Parameter(
            torch.rand(channels, 1) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3)
        )
        self.C = nn.Parameter(
            torch.view_as_real(torch.randn(n_kernels, channels, half, dtype=torch.cfloat))
        )
        self.B = nn.Parameter(torch.view_as_real(B.repeat(channels, 1).unsqueeze(0).clone()))
        self.P = nn.Parameter(torch.view_as_real(P.unsqueeze(1).repeat(1, channels, 1).clone()))
        self.A_real = nn.Parameter(torch.log(-W.real).repeat(channels, 1).clone())
        self.A_imag = nn.Parameter((-W.imag).repeat(channels, 1).clone())

    def forward(self, length: int) -> torch.Tensor:
        dt = torch.exp(self.log_dt)
        A = -torch.exp(self.A_real) - 1j * self.A_imag
        B, C = torch.view_as_complex(self.B), torch.view_as_complex(self.C)
        P = torch.view_as_complex(self.P)
        Q = P.conj()
        omega = torch.tensor(np.exp(-2j * np.pi / length), dtype=torch.cfloat, device=A.device)
        omega = omega ** torch.arange(0, length // 2 + 1, device=A.device)
        z = 2 * (1 - omega) / (1 + omega)
        A = A * dt
        B = torch.cat([B, P], dim=-3)
        C = torch.cat([C, Q], dim=-3)
        v = B.unsqueeze(-3) * C.unsqueeze(-4) * dt
        # Naive Cauchy kernel over conjugate pairs, as the paper's cauchy_naive.
        v = torch.cat([v, v.conj()], dim=-1)
        w = torch.cat([A, A.conj()], dim=-1)
        r = torch.sum(v.unsqueeze(-1) / (z.unsqueeze(-2) - w.unsqueeze(-1)), dim=-2)
        k_f = r[:-1, :-1] - r[:-1, -1:] * r[-1:, :-1] / (1 + r[-1:, -1:])
        k_f = k_f * 2 / (1 + omega)
        return torch.fft.irfft(k_f, n=length)[..., :length][-1]  # (n_kernels, channels, L)


class PaperFFTConv(nn.Module):
    def __init__(self, channels: int, bidirectional: bool = True):
        super().__init__()
        self.bidirectional = bidirectional
        self.D = nn.Parameter(torch.randn(1, channels))
        self.kernel = PaperDPLRKernel(channels, 2 if bidirectional else 1)

    def forward(self, x):  # (B, H, L)
        length = x.shape[-1]
        x = x.float()  # the DPLR kernel and FFTs run in float32
        k = self.kernel(length)
        if self.bidirectional:
            k0, k1 = k[0:1], k[1:2]
            k = F.pad(k0, (0, length)) + F.pad(k1.flip(-1), (length, 0))
        k_f = torch.fft.rfft(k, n=2 * length)
        x_f = torch.fft.rfft(x, n=2 * length)
        y = torch.fft.irfft(torch.einsum("bhl,chl->bchl", x_f, k_f), n=2 * length)[..., :length]
        y = y + torch.einsum("bhl,ch->bchl", x, self.D)
        return y.reshape(y.shape[0], -1, length)


class PaperBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.time_mixer = PaperFFTConv(channels)
        self.post_tm_scale = nn.Conv1d(channels, channels, 1, groups=channels)
        self.mlp_in = nn.Linear(channels, 2 * channels, bias=False)
        self.mlp_out = nn.Linear(2 * channels, channels, bias=False)
        self.norm1 = nn.InstanceNorm1d(channels, affine=False)
        self.norm2 = nn.InstanceNorm1d(channels, affine=False)
        self.ada_ln = nn.Parameter(torch.zeros(1, channels * 6, 1))

    def forward(self, x):
        shift_tm, scale_tm, _, shift_cm, scale_cm, _ = self.ada_ln.expand(
            x.shape[0], -1, -1
        ).chunk(6, dim=1)
        y = self.norm1(x) * (1 + scale_tm) + shift_tm
        y = x + self.post_tm_scale(F.gelu(self.time_mixer(y)))
        x = y
        y = self.norm2(y) * (1 + scale_cm) + shift_cm
        y = self.mlp_out(F.gelu(self.mlp_in(y.transpose(1, 2)))).transpose(1, 2)
        return x + y


class PaperAutoencoder(nn.Module):
    """``CountWrapper(AutoEncoder(...))`` with ``num_blocks_decoder=0`` (Lorenz config)."""

    def __init__(self, n_neurons, hidden, n_latents, n_blocks):
        super().__init__()
        groups = n_latents if hidden % n_latents == 0 and hidden > n_latents else 1
        self.encoder_in = nn.Conv1d(n_neurons, hidden, 1)
        self.encoder = nn.ModuleList(PaperBlock(hidden) for _ in range(n_blocks))
        self.bottleneck = nn.Conv1d(hidden, n_latents, 1, groups=groups)
        self.unbottleneck = nn.Conv1d(n_latents, hidden, 1, groups=groups)
        self.decoder_out = nn.Conv1d(hidden, n_neurons, 1)

    def forward(self, x):  # (B, N, L)
        z = self.encoder_in(x)
        for block in self.encoder:
            z = block(z)
        z = self.bottleneck(z)
        rates = F.softplus(self.decoder_out(F.gelu(self.unbottleneck(z))).float())
        return rates, z


def _paper_loss(model, counts):
    """The notebook's step: mask, Poisson NLL on masked entries, latent regulariser."""
    mask = (torch.rand_like(counts) > MASK_PROB).float()
    rates, z = model(counts * (mask / (1 - MASK_PROB)))
    nll = F.poisson_nll_loss(rates, counts, log_input=False, full=True, reduction="none")
    numel = counts.numel()
    z = z.float()
    td = sum(((z[:, :, :-i] - z[:, :, i:]) ** 2 / (1 + i)).sum() for i in range(1, 6))
    latent = (z.square().sum() + td / L2 * SMOOTH) / numel
    return (nll * (1 - mask)).mean() + L2 * latent


# ------------------------------------------------------------------------- measurement


def _paper_network(config: dict, paper_code: str | None) -> nn.Module:
    """The paper's autoencoder: its own code from ``paper_code``, else the re-implementation."""
    if paper_code is None:
        return PaperAutoencoder(
            config["n_neurons"], config["hidden"], config["n_latents"], config["n_blocks"]
        )
    paper = paper_networks(paper_code)  # the paper's code, from its checkout
    AutoEncoder, CountWrapper = paper.AutoEncoder, paper.CountWrapper

    # conf/autoencoder-Lorenz_z=8.yaml of mackelab/LDNS: no decoder blocks, 2 linear per MLP.
    return CountWrapper(
        AutoEncoder(
            C_in=config["n_neurons"], C=config["hidden"], C_latent=config["n_latents"],
            L=config["n_bins"], num_blocks=config["n_blocks"], num_blocks_decoder=0,
            num_lin_per_mlp=2,
        )
    )


def _measure(which: str, config: dict, device: str, steps: int, paper_code=None) -> dict:
    from ldns_sklearn._backend.autoencoder_net import S4AutoencoderNet, autoencoder_loss
    from ldns_sklearn._backend.device import autocast, make_generator

    torch.manual_seed(0)
    dev = torch.device(device)
    shape = (config["batch"], config["n_bins"], config["n_neurons"])
    counts = torch.poisson(torch.full(shape, 0.3)).to(dev)
    if which == "ours":
        model = S4AutoencoderNet(
            config["n_neurons"], config["n_latents"], config["hidden"], config["n_blocks"]
        ).to(dev)
        lengths = torch.full((shape[0],), shape[1], device=dev)
        generator = make_generator(0)

        def loss_fn():
            return autoencoder_loss(
                model,
                (counts, lengths),
                generator,
                True,
                mask_prob=MASK_PROB,
                l2_penalty=L2,
                smoothness_penalty=SMOOTH,
            )
    else:
        model = _paper_network(config, paper_code).to(dev)
        counts_t = counts.transpose(1, 2).contiguous()

        def loss_fn():
            return _paper_loss(model, counts_t)

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)

    def step():
        optimizer.zero_grad(set_to_none=True)
        with autocast(dev):
            loss = loss_fn()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    step()  # warm-up (allocations, kernels)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    per_step = sum(seconds(step, dev, steps, warm_up=False)) / steps
    if dev.type == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"trials_per_s": config["batch"] / per_step, "s_per_step": per_step,
            "peak_mib": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=[*CONFIGS, "all"], default="all")
    add_run_options(parser, device="cuda" if torch.cuda.is_available() else "cpu", seed=None)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=None, help="override the batch size")
    parser.add_argument("--paper-code", default=None,
                        help="a checkout of mackelab/LDNS: measure its own network")
    parser.add_argument("--_child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    apply_threads(args)

    if args._child:
        which, name = args._child
        config = dict(CONFIGS[name], **({"batch": args.batch} if args.batch else {}))
        print(json.dumps(_measure(which, config, args.device, args.steps, args.paper_code)))
        return

    names = list(CONFIGS) if args.config == "all" else [args.config]
    print(f"device={args.device} torch={torch.__version__} threads={torch.get_num_threads()}")
    for name in names:
        config = dict(CONFIGS[name], **({"batch": args.batch} if args.batch else {}))
        print(f"\n[{name}] {config}")
        results = {}
        paper = "paper (re-implementation)" if args.paper_code is None else "paper (its code)"
        for which, label in (("ours", "ldns_sklearn"), ("paper", paper)):
            command = [sys.executable, __file__, "--device", args.device, "--steps"]
            command += [str(args.steps), "--_child", which, name]
            if args.paper_code is not None:
                command += ["--paper-code", args.paper_code]
            if args.batch:
                command += ["--batch", str(args.batch)]
            if args.threads:
                command += ["--threads", str(args.threads)]
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            results[which] = json.loads(out.strip().splitlines()[-1])
            r = results[which]
            print(
                f"  {label:<27} {r['trials_per_s']:9.1f} trials/s  "
                f"{r['s_per_step']:8.3f} s/step  peak {r['peak_mib']:8.0f} MiB"
            )
        ratio = results["ours"]["trials_per_s"] / results["paper"]["trials_per_s"]
        memory = results["ours"]["peak_mib"] / results["paper"]["peak_mib"]
        print(f"  speed-up ldns_sklearn / paper: {ratio:.2f}x   peak memory ratio: {memory:.2f}")


if __name__ == "__main__":
    main()
