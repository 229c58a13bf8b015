"""Numerical ONNX operators on numpy arrays (convolution, average pooling), used to lower them
to dense affine maps by pushing an identity basis through (see :mod:`reluregions.network.onnx`)."""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedLayerError

__all__ = ["conv", "avgpool"]


def _conv_pads(attrs: dict, spatial: tuple[int, ...], eff: list[int], strides: list[int]) -> list[int]:
    nsp = len(spatial)
    mode = attrs.get("auto_pad", b"NOTSET")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    if mode in ("NOTSET", ""):
        return list(attrs.get("pads", [0] * (2 * nsp)))
    if mode == "VALID":
        return [0] * (2 * nsp)
    begin, end = [], []
    for n, e, s in zip(spatial, eff, strides):
        total = max((-(-n // s) - 1) * s + e - n, 0)
        small = total // 2
        begin.append(small if mode == "SAME_UPPER" else total - small)
        end.append(total - begin[-1])
    return begin + end


def _windows(x: np.ndarray, kernel: list[int], attrs: dict, pad_value: float = 0.0):
    """Padded sliding windows of ``x`` (N, C, *spatial) -> (N, C, *out, *kernel)."""
    nsp = x.ndim - 2
    strides = list(attrs.get("strides", [1] * nsp))
    dil = list(attrs.get("dilations", [1] * nsp))
    eff = [d * (k - 1) + 1 for d, k in zip(dil, kernel)]
    pads = _conv_pads(attrs, x.shape[2:], eff, strides)
    xp = np.pad(x, [(0, 0), (0, 0)] + [(pads[i], pads[i + nsp]) for i in range(nsp)],
                constant_values=pad_value)
    win = np.lib.stride_tricks.sliding_window_view(xp, eff, axis=tuple(range(2, 2 + nsp)))
    sl = (slice(None),) * 2 + tuple(slice(None, None, s) for s in strides)
    return win[sl + tuple(slice(None, None, d) for d in dil)], pads, strides, eff


def conv(x: np.ndarray, w: np.ndarray, attrs: dict) -> np.ndarray:
    """ONNX Conv without bias on ``x`` of shape (N, C, *spatial)."""
    nsp = x.ndim - 2
    group = int(attrs.get("group", 1))
    win, *_ = _windows(x, list(w.shape[2:]), attrs)
    n, c = x.shape[:2]
    out_sp = win.shape[2:2 + nsp]
    m = w.shape[0]
    win = win.reshape((n, group, c // group, *out_sp, *w.shape[2:]))
    wg = w.reshape((group, m // group, c // group, *w.shape[2:]))
    sp, kk = "xyzw"[:nsp], "ijkl"[:nsp]
    y = np.einsum(f"ngc{sp}{kk},gmc{kk}->ngm{sp}", win, wg, optimize=True)
    return y.reshape((n, m, *out_sp))


def avgpool(x: np.ndarray, attrs: dict, label: str) -> np.ndarray:
    kernel = list(attrs["kernel_shape"])
    win, pads, strides, eff = _windows(x, kernel, attrs)
    if int(attrs.get("ceil_mode", 0)):
        nsp = x.ndim - 2
        for i in range(nsp):
            if (x.shape[2 + i] + pads[i] + pads[i + nsp] - eff[i]) % strides[i]:
                raise UnsupportedLayerError(f"{label}: ceil_mode=1 with partial windows is not "
                                            "supported; re-export with ceil_mode=0")
    axes = tuple(range(-len(kernel), 0))
    total = win.sum(axis=axes)
    if int(attrs.get("count_include_pad", 0)):
        return total / float(np.prod(kernel))
    ones = np.ones((1, 1) + x.shape[2:])
    count = _windows(ones, kernel, attrs)[0].sum(axis=axes)
    return total / count
