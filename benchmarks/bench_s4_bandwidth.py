"""How close the S4 layer comes to the memory-bandwidth limit of the device.

Usage::

    python benchmarks/bench_s4_bandwidth.py                      # CPU
    python benchmarks/bench_s4_bandwidth.py --device cuda --peak-gbps 3350   # e.g. H100 SXM

The S4 layer (:class:`ldns_sklearn._backend.s4.S4D`, bidirectional, as in the encoder and
the denoiser) does little arithmetic per value it reads, so its speed limit is memory
bandwidth. At the paper's Lorenz autoencoder size (batch 512, 256 channels, 256 bins) and
its denoiser size (batch 512, 64 channels, 256 bins), printed for the forward pass
(sampling, encoding) and forward + backward (training):

* time per call;
* effective bandwidth: the bytes the layer cannot avoid moving (forward: read the input and
  write the output, float32; backward: also read the output's gradient and write the
  input's; the kernel's few values are counted too) ÷ time;
* that as a fraction of the bandwidth of a plain device-to-device copy measured in the same
  run (what the memory system delivers to a simple kernel), and of ``--peak-gbps`` (the
  device's nominal figure, e.g. 3350 GB/s for an H100 SXM), when given.

A fused kernel could approach 100 % of the copy; ``torch.fft`` plus elementwise operations
move each value several times, which this fraction exposes.
"""

from __future__ import annotations

import argparse

import torch
from _common import add_run_options, apply_threads, seconds

from ldns_sklearn._backend.s4 import S4D

SIZES = {
    "autoencoder (paper Lorenz)": dict(batch=512, channels=256, length=256),
    "denoiser (paper Lorenz)": dict(batch=512, channels=64, length=256),
}


def _seconds(function, device, repeats):
    """The median wall-clock seconds of ``function()`` (see ``_common.seconds``)."""
    times = seconds(function, device, repeats)
    return sorted(times)[len(times) // 2]


def copy_bandwidth(device, n_bytes=2**30, repeats=5):
    """Bytes per second of a device-to-device copy (read + write) of ``n_bytes``."""
    source = torch.empty(n_bytes // 4, dtype=torch.float32, device=device).fill_(1.0)
    target = torch.empty_like(source)
    return 2 * n_bytes / _seconds(lambda: target.copy_(source), device, repeats)


def _measure_layer(size, device, repeats):
    """``(pass, seconds, bytes that cannot be avoided)`` for forward and forward+backward."""
    layer = S4D(size["channels"], bidirectional=True).to(device)
    u = torch.randn(size["batch"], size["channels"], size["length"], device=device,
                    requires_grad=True)
    grad = torch.randn_like(u)
    values = u.numel()
    kernel_bytes = 4 * sum(p.numel() for p in layer.parameters())

    def forward():
        with torch.no_grad():
            layer(u)

    def forward_backward():
        layer(u).backward(grad)

    return [
        ("forward", _seconds(forward, device, repeats), 2 * 4 * values + kernel_bytes),
        ("forward+backward", _seconds(forward_backward, device, repeats),
         4 * 4 * values + 2 * kernel_bytes),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_run_options(parser, device="cuda" if torch.cuda.is_available() else "cpu", seed=None)
    parser.add_argument("--peak-gbps", type=float, default=None,
                        help="the device's nominal memory bandwidth in GB/s")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    apply_threads(args)
    device = torch.device(args.device)
    torch.manual_seed(0)
    copy = copy_bandwidth(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device {name}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"device-to-device copy: {copy / 1e9:.1f} GB/s"
          + (f" ({copy / 1e9 / args.peak_gbps:.0%} of the nominal {args.peak_gbps:g} GB/s)"
             if args.peak_gbps else ""))
    header = f"{'':30s}{'pass':>16s}{'ms':>9s}{'GB/s':>9s}{'of copy':>9s}"
    print("\n" + header + (f"{'of peak':>9s}" if args.peak_gbps else ""))
    for label, size in SIZES.items():
        for pass_name, elapsed, n_bytes in _measure_layer(size, device, args.repeats):
            rate = n_bytes / elapsed
            row = (f"{label:30s}{pass_name:>16s}{elapsed * 1e3:9.2f}{rate / 1e9:9.1f}"
                   f"{rate / copy:9.0%}")
            if args.peak_gbps:
                row += f"{rate / 1e9 / args.peak_gbps:9.0%}"
            print(row)


if __name__ == "__main__":
    main()
